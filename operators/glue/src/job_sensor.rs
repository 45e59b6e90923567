//! `GlueJobSensor`: waits until a Glue job run succeeds; a run that ends otherwise fails the
//! task with its state and Glue's error message.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::Poll;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::job_logs::JobLogs;
use crate::perms;
use crate::run_state::{self, RunEnd};

/// A configured `GlueJobSensor`.
#[derive(Debug)]
pub struct GlueJobSensor {
    aws: AwsParams,
    settings: SensorSettings,
    job_name: String,
    run_id: String,
    verbose: bool,
}

impl Operator for GlueJobSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glue.GlueJobSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "job_name", "region_name", "run_id", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let settings = SensorSettings::read(p, 120.0)?;
        let job_name = p.required_str("job_name", "the Glue job's name")?;
        let run_id = p.required_str("run_id", "the id of the job run to wait for")?;
        let verbose = p.bool("verbose", false)?;
        // The provider's cap on deferrable polls; a poke-mode sensor is bounded by `timeout`.
        p.u32("max_retries", 0..=u32::MAX)?;
        p.accept("deferrable");
        Ok(GlueJobSensor {
            aws,
            settings,
            job_name,
            run_id,
            verbose,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glue))?;
        let logs = if self.verbose {
            Some(tokio::sync::Mutex::new(JobLogs::new(
                airtask_aws::client_in(
                    ctx,
                    self.aws.region(),
                    airtask_aws::sdk!(aws_sdk_cloudwatchlogs),
                )?,
            )))
        } else {
            None
        };
        let (glue, logs, job, run_id) = (
            &glue,
            logs.as_ref(),
            self.job_name.as_str(),
            self.run_id.as_str(),
        );
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!(
                "Poking for job run status :for Glue Job {job} and ID {run_id}"
            ));
            let run = run_state::get(glue, job, run_id).await?;
            let verdict = match run_state::classify(&run) {
                Poll::Done(RunEnd::Succeeded) => {
                    ctx.info(&format!("Exiting Job {run_id} Run State: SUCCEEDED"));
                    Ok(true)
                }
                Poll::Done(RunEnd::Failed { state, message }) => {
                    let err = run_state::failure(run_id, &state, message.as_deref());
                    ctx.info(&err.message);
                    Err(err)
                }
                Poll::Pending { .. } => Ok(false),
            };
            // As the provider: the run's new log lines after every poke, whatever its result.
            if let Some(logs) = logs {
                logs.lock().await.print(ctx, &run).await?;
            }
            verdict
        })
        .await
    }
    /// GetJobRun on the job, and with `verbose` the run's driver logs.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &["glue:GetJobRun"],
            [perms::glue(&self.aws, &format!("job/{}", self.job_name))],
        )];
        if self.verbose {
            out.push(perms::job_logs(&self.aws));
        }
        out
    }
}
