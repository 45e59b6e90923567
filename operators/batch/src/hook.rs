//! The provider's `BatchClientHook`: job descriptions (with `status_retries`), the polling of
//! `wait_for_job` with its random back-off (with `max_retries`), `check_job_success`, and the
//! CloudWatch log streams of a job (`get_job_all_awslogs_info`).

use std::time::Duration;

use airtask_awsjson::logs::{self, TaskLogFetcher};
use airtask_awsjson::{RawJson, show};
use airtask_core::{TaskContext, TaskError};
use aws_sdk_batch::Client;
use serde_json::{Value, json};

use crate::{call, uniform};

/// The logger of the hook's lines.
pub(crate) const LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.batch_client.BatchClientHook";

/// `SUCCESS_STATE`.
pub(crate) const SUCCEEDED: &str = "SUCCEEDED";
/// `FAILURE_STATE`.
pub(crate) const FAILED: &str = "FAILED";
/// `INTERMEDIATE_STATES`.
pub(crate) const INTERMEDIATE: &[&str] =
    &["SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"];

/// `exponential_delay`: a pause after `tries` tries, from a third of
/// `min(600, 1 + (0.6 tries)^2)` seconds to all of it.
pub(crate) fn exponential_delay(tries: u32) -> f64 {
    let delay = (1.0 + (f64::from(tries) * 0.6).powi(2)).min(600.0);
    uniform(delay / 3.0, delay)
}

/// `delay(None)`: a pause of 1 to 10 seconds.
fn default_delay() -> f64 {
    uniform(1.0, 10.0)
}

/// The hook of one job (its client and retry limits).
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) batch: Client,
    pub(crate) max_retries: u32,
    pub(crate) status_retries: u32,
}

/// The description of `job_id` in a DescribeJobs answer (`parse_job_description`).
fn parse_description(job_id: &str, answer: &Value) -> Result<Value, String> {
    let matching: Vec<&Value> = answer["jobs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|j| j["jobId"] == job_id)
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(format!(
            "AWS Batch job ({job_id}) description error: response: {}",
            show(answer)
        )),
    }
}

/// `check_job_success` on a description.
pub(crate) fn job_success(job_id: &str, job: &Value) -> Result<(), TaskError> {
    let status = job["status"].as_str().unwrap_or_default();
    if status == SUCCEEDED {
        return Ok(());
    }
    let why = if status == FAILED {
        "failed"
    } else if INTERMEDIATE.contains(&status) {
        "is not complete"
    } else {
        "has unknown status"
    };
    Err(TaskError::retryable(format!(
        "AWS Batch job ({job_id}) {why}: {}",
        show(job)
    )))
}

/// One CloudWatch stream of a job: (stream, group, region).
pub(crate) type AwsLogs = (String, String, String);

/// `get_job_all_awslogs_info` on a description: every (attempt stream, node log options)
/// pair; empty (with a warning) when a log driver is not awslogs or there is no stream yet.
pub(crate) fn all_awslogs(
    ctx: &TaskContext,
    job_id: &str,
    job: &Value,
    region: &str,
) -> Result<Vec<AwsLogs>, TaskError> {
    let node_properties = job.get("nodeProperties").filter(|v| is_truthy(v));
    let container = job.get("container").filter(|v| is_truthy(v));
    let (configs, streams): (Vec<&Value>, Vec<&str>) = if let Some(nodes) = node_properties {
        let configs = nodes["nodeRangeProperties"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| &p["container"]["logConfiguration"])
            .collect();
        let streams = job["attempts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["container"]["logStreamName"].as_str())
            .collect();
        (configs, streams)
    } else if let Some(container) = container {
        (
            vec![&container["logConfiguration"]],
            container["logStreamName"].as_str().into_iter().collect(),
        )
    } else {
        return Err(TaskError::retryable(format!(
            "AWS Batch job ({job_id}) is not a supported job type. Supported job types: \
             container, array, multinode."
        )));
    };
    if configs
        .iter()
        .any(|c| c["logDriver"].as_str().is_some_and(|d| d != "awslogs"))
    {
        ctx.line(
            airtask_core::Level::Warning,
            LOGGER,
            &format!(
                "AWS Batch job ({job_id}) uses non-aws log drivers. AWS CloudWatch logging \
                 disabled."
            ),
        );
        return Ok(Vec::new());
    }
    if streams.is_empty() {
        ctx.line(
            airtask_core::Level::Warning,
            LOGGER,
            &format!("AWS Batch job ({job_id}) doesn't have any AWS CloudWatch Stream."),
        );
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for stream in &streams {
        for config in &configs {
            let options = &config["options"];
            out.push((
                (*stream).to_owned(),
                options["awslogs-group"]
                    .as_str()
                    .unwrap_or("/aws/batch/job")
                    .to_owned(),
                options["awslogs-region"]
                    .as_str()
                    .unwrap_or(region)
                    .to_owned(),
            ));
        }
    }
    Ok(out)
}

/// Python's truthiness of a JSON value (an empty mapping or list is false).
fn is_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Bool(b) => *b,
        Value::String(s) => !s.is_empty(),
        Value::Number(_) => true,
    }
}

impl Hook {
    fn info(ctx: &TaskContext, message: &str) {
        ctx.hook_info(LOGGER, message);
    }

    fn warn(ctx: &TaskContext, message: &str) {
        ctx.line(airtask_core::Level::Warning, LOGGER, message);
    }

    async fn pause(seconds: f64) {
        tokio::time::sleep(Duration::from_secs_f64(seconds.max(0.0))).await;
    }

    /// `get_job_description`: DescribeJobs, retried `status_retries` times (with the
    /// exponential back-off) when the job is not in the answer or AWS throttles.
    pub(crate) async fn description(
        &self,
        ctx: &TaskContext,
        job_id: &str,
    ) -> Result<Value, TaskError> {
        for retries in 0..self.status_retries {
            if retries > 0 {
                let pause = exponential_delay(retries);
                Self::info(
                    ctx,
                    &format!(
                        "AWS Batch job ({job_id}) description retry ({retries} of {}) in the \
                         next {pause:.2} seconds",
                        self.status_retries
                    ),
                );
                Self::pause(pause).await;
            }
            let raw = RawJson::answer_only();
            let sent = self
                .batch
                .describe_jobs()
                .jobs(job_id)
                .customize()
                .interceptor(raw.clone())
                .send()
                .await;
            match sent {
                Ok(_) => {}
                Err(e) if airtask_aws::error::code(&e) == Some("TooManyRequestsException") => {
                    Self::warn(
                        ctx,
                        &format!(
                            "Ignored TooManyRequestsException error, original message: '{}'. \
                             Please consider to setup retries mode in boto3, check Amazon \
                             Provider AWS Connection documentation for more details.",
                            airtask_aws::error::text(&e)
                        ),
                    );
                    continue;
                }
                Err(e) => {
                    return Err(airtask_aws::error::task_error(
                        &format!("DescribeJobs {job_id}"),
                        &e,
                    ));
                }
            }
            let answer = raw.response()?;
            match parse_description(job_id, &answer) {
                Ok(job) => return Ok(job),
                Err(e) => Self::warn(ctx, &e),
            }
        }
        Err(TaskError::retryable(format!(
            "AWS Batch job ({job_id}) description error: exceeded status_retries ({})",
            self.status_retries
        )))
    }

    /// `poll_job_status`: describes the job until its status is one of `wanted`, pausing with
    /// the exponential back-off between checks, at most `max_retries` more times.
    async fn poll_status(
        &self,
        ctx: &TaskContext,
        job_id: &str,
        wanted: &[&str],
    ) -> Result<(), TaskError> {
        let wanted_text = format!(
            "[{}]",
            wanted
                .iter()
                .map(|s| format!("'{s}'"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for retries in 0..=self.max_retries {
            if retries > 0 {
                let pause = exponential_delay(retries);
                Self::info(
                    ctx,
                    &format!(
                        "AWS Batch job ({job_id}) status check ({retries} of {}) in the next \
                         {pause:.2} seconds",
                        self.max_retries
                    ),
                );
                Self::pause(pause).await;
            }
            let job = self.description(ctx, job_id).await?;
            let status = job["status"].as_str().unwrap_or_default();
            Self::info(
                ctx,
                &format!("AWS Batch job ({job_id}) check status ({status}) in {wanted_text}"),
            );
            if wanted.contains(&status) {
                return Ok(());
            }
        }
        Err(TaskError::retryable(format!(
            "AWS Batch job ({job_id}) status checks exceed max_retries"
        )))
    }

    /// `get_job_awslogs_info`: the first CloudWatch stream of the job, if any.
    pub(crate) async fn awslogs(
        &self,
        ctx: &TaskContext,
        job_id: &str,
    ) -> Result<Option<AwsLogs>, TaskError> {
        let job = self.description(ctx, job_id).await?;
        let mut all = all_awslogs(ctx, job_id, &job, &crate::region_of(&self.batch))?;
        if all.len() > 1 {
            Self::warn(
                ctx,
                &format!(
                    "AWS Batch job ({job_id}) has more than one log stream, only returning the \
                     first one."
                ),
            );
        }
        Ok((!all.is_empty()).then(|| all.swap_remove(0)))
    }

    /// `wait_for_job`: a random pause, the job RUNNING (or ended), then the job SUCCEEDED or
    /// FAILED; with `logs_every` the job's first log stream is followed meanwhile
    /// (`_get_batch_log_fetcher`).
    pub(crate) async fn wait_for_job(
        &self,
        ctx: &TaskContext,
        job_id: &str,
        logs_every: Option<Duration>,
    ) -> Result<(), TaskError> {
        Self::pause(default_delay()).await;
        Self::pause(default_delay()).await;
        self.poll_status(ctx, job_id, &["RUNNING", SUCCEEDED, FAILED])
            .await?;
        let mut fetcher = match logs_every {
            Some(interval) => match self.awslogs(ctx, job_id).await? {
                Some((stream, group, region)) => Some((
                    TaskLogFetcher::new(logs::client(ctx, Some(&region))?, group, stream),
                    interval.max(Duration::from_millis(100)),
                )),
                None => None,
            },
            None => None,
        };
        let complete = async {
            Self::pause(default_delay()).await;
            self.poll_status(ctx, job_id, &[SUCCEEDED, FAILED]).await
        };
        match fetcher.as_mut() {
            Some((f, interval)) => f.follow(ctx, *interval, complete).await?,
            None => complete.await?,
        }
        Self::info(ctx, &format!("AWS Batch job ({job_id}) has completed"));
        Ok(())
    }

    /// `check_job_success`.
    pub(crate) async fn check_job_success(
        &self,
        ctx: &TaskContext,
        job_id: &str,
    ) -> Result<(), TaskError> {
        let job = self.description(ctx, job_id).await?;
        job_success(job_id, &job)?;
        Self::info(
            ctx,
            &format!("AWS Batch job ({job_id}) succeeded: {}", show(&job)),
        );
        Ok(())
    }

    /// TerminateJob.
    pub(crate) async fn terminate(&self, job_id: &str, reason: &str) -> Result<Value, TaskError> {
        call!(
            format!("TerminateJob {job_id}"),
            self.batch.terminate_job().job_id(job_id).reason(reason),
            RawJson::new(&json!({"jobId": job_id, "reason": reason}))
        )
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, OperatorSpec};

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            if let Ok(mut l) = self.0.lock() {
                l.push(message.to_owned());
            }
        }
    }

    fn ctx() -> (TaskContext, Arc<Lines>) {
        const SPEC: OperatorSpec = OperatorSpec {
            class_path: "x.BatchOperator",
            aliases: &[],
            template_fields: &[],
            calls_aws: true,
        };
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        (TaskContext::new(&SPEC, "t", 1, lines.clone()), lines)
    }

    #[test]
    fn descriptions_and_outcomes() {
        let answer = json!({"jobs": [{"jobId": "j1", "status": "SUCCEEDED"}, {"jobId": "j2"}]});
        assert_eq!(
            parse_description("j1", &answer).unwrap()["status"],
            "SUCCEEDED"
        );
        assert!(
            parse_description("j3", &answer)
                .unwrap_err()
                .starts_with("AWS Batch job (j3) description error: response: {")
        );
        assert!(job_success("j1", &json!({"status": "SUCCEEDED"})).is_ok());
        let e = job_success("j1", &json!({"status": "FAILED", "statusReason": "x"})).unwrap_err();
        assert!(e.message.starts_with("AWS Batch job (j1) failed: {"), "{e}");
        assert!(e.retryable);
        assert!(
            job_success("j1", &json!({"status": "RUNNING"}))
                .unwrap_err()
                .message
                .contains("is not complete")
        );
        assert!(
            job_success("j1", &json!({"status": "WEIRD"}))
                .unwrap_err()
                .message
                .contains("has unknown status")
        );
    }

    #[test]
    fn back_off_stays_in_the_providers_bounds() {
        for tries in 1..50 {
            let d = exponential_delay(tries);
            let top = (1.0 + (f64::from(tries) * 0.6).powi(2)).min(600.0);
            assert!(d >= top / 3.0 && d <= top, "{tries}: {d}");
        }
        for _ in 0..100 {
            assert!((1.0..=10.0).contains(&default_delay()));
        }
    }

    #[test]
    fn log_streams_of_container_and_multinode_jobs() {
        let (ctx, lines) = ctx();
        let job = json!({"container": {"logStreamName": "jd/default/j1",
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/g"}}}});
        assert_eq!(
            all_awslogs(&ctx, "j1", &job, "us-east-1").unwrap(),
            vec![(
                "jd/default/j1".to_owned(),
                "/g".to_owned(),
                "us-east-1".to_owned()
            )]
        );
        let job = json!({"container": {"logStreamName": "s"}});
        assert_eq!(
            all_awslogs(&ctx, "j1", &job, "eu-west-1").unwrap(),
            vec![(
                "s".to_owned(),
                "/aws/batch/job".to_owned(),
                "eu-west-1".to_owned()
            )]
        );
        let job = json!({"nodeProperties": {"nodeRangeProperties": [
                {"container": {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-region": "us-west-2"}}}},
                {"container": {}}]},
            "attempts": [{"container": {"logStreamName": "a1"}}]});
        assert_eq!(all_awslogs(&ctx, "j1", &job, "r").unwrap().len(), 2);
        let job = json!({"container": {"logStreamName": "s", "logConfiguration": {"logDriver": "splunk"}}});
        assert!(all_awslogs(&ctx, "j1", &job, "r").unwrap().is_empty());
        let job = json!({"container": {"command": []}});
        assert!(all_awslogs(&ctx, "j1", &job, "r").unwrap().is_empty());
        assert!(all_awslogs(&ctx, "j1", &json!({"ecsProperties": {}}), "r").is_err());
        let lines = lines.0.lock().unwrap();
        assert!(lines[0].contains("uses non-aws log drivers"), "{lines:?}");
        assert!(
            lines[1].contains("doesn't have any AWS CloudWatch Stream"),
            "{lines:?}"
        );
    }
}
