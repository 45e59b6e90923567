//! `verbose`: a Glue job run's CloudWatch output in the task log, as the provider's
//! `GlueJobHook.print_job_logs` prints it. Glue writes a run's driver output to
//! `<LogGroupName>/output` and `<LogGroupName>/error`, one stream per run (named by the run id);
//! each call prints what arrived since the previous one.

use airtask_core::{TaskContext, TaskError};
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_glue::types::JobRun;

/// The logger of the Glue hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.glue.GlueJobHook";

/// Where the reading of a run's two log groups stopped.
pub(crate) struct JobLogs {
    client: Client,
    /// The continuation tokens of `<group>/output` and `<group>/error`.
    tokens: [Option<String>; 2],
}

impl JobLogs {
    /// Reads with `client` (CloudWatch Logs, the task's identity).
    pub(crate) fn new(client: Client) -> JobLogs {
        JobLogs {
            client,
            tokens: [None, None],
        }
    }

    /// Prints the lines of `run` that arrived since the previous call.
    ///
    /// # Errors
    /// A CloudWatch Logs error other than a log group or stream that does not exist yet.
    pub(crate) async fn print(&mut self, ctx: &TaskContext, run: &JobRun) -> Result<(), TaskError> {
        let Some(run_id) = run.id() else {
            return Ok(());
        };
        let prefix = run.log_group_name().unwrap_or("/aws-glue/jobs");
        let start_ms = run.started_on().map(|t| {
            t.secs()
                .saturating_mul(1000)
                .saturating_add(i64::from(t.subsec_nanos() / 1_000_000))
        });
        for (i, suffix) in ["output", "error"].into_iter().enumerate() {
            let group = format!("{prefix}/{suffix}");
            let mut lines = Vec::new();
            let mut token = self.tokens[i].clone();
            loop {
                let answer = self
                    .client
                    .filter_log_events()
                    .log_group_name(&group)
                    .log_stream_names(run_id)
                    .set_start_time(start_ms)
                    .set_next_token(token.clone())
                    .send()
                    .await;
                let page = match answer {
                    Ok(page) => page,
                    Err(e) if airtask_aws::error::code(&e) == Some("ResourceNotFoundException") => {
                        ctx.warning(&format!(
                            "No new Glue driver logs so far.\nIf this persists, check the \
                             CloudWatch dashboard at: 'https://{}.console.aws.amazon.com/cloudwatch/home'.",
                            self.client
                                .config()
                                .region()
                                .map(|r| r.as_ref())
                                .unwrap_or("us-east-1")
                        ));
                        break;
                    }
                    Err(e) => {
                        return Err(airtask_aws::error::task_error(
                            &format!("Reading the Glue job run's log group {group}"),
                            &e,
                        ));
                    }
                };
                lines.extend(
                    page.events()
                        .iter()
                        .filter_map(|e| e.message())
                        .map(|m| format!("{}\n", m.trim_end())),
                );
                // As the provider's paginator: follow nextToken while there is one, and keep
                // the last one seen to resume from at the next call.
                match page.next_token() {
                    Some(next) if Some(next) != token.as_deref() => token = Some(next.to_owned()),
                    _ => break,
                }
            }
            self.tokens[i] = token;
            if lines.is_empty() {
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!("No new log from the Glue Job in {group}"),
                );
            } else {
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!("Glue Job Run {group} Logs:\n\t{}", lines.join("\t")),
                );
            }
        }
        Ok(())
    }
}
