//! The Batch sensors: `BatchSensor` (a job SUCCEEDED; FAILED or an unknown status fails the
//! task; with `deferrable` the `batch_job_complete` waiter every `poke_interval`, at most
//! `max_retries` polls), `BatchComputeEnvironmentSensor` and `BatchJobQueueSensor` (VALID or
//! DELETED is met, CREATING/UPDATING/DELETING waits, anything else fails).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_awsjson::RawJson;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::Value;

use crate::call;
use crate::hook::{FAILED, Hook, INTERMEDIATE, SUCCEEDED};

/// `COMPUTE_ENVIRONMENT_TERMINAL_STATUS` and `JOB_QUEUE_TERMINAL_STATUS`.
const TERMINAL: &[&str] = &["VALID", "DELETED"];
/// `COMPUTE_ENVIRONMENT_INTERMEDIATE_STATUS` and `JOB_QUEUE_INTERMEDIATE_STATUS`.
const PENDING: &[&str] = &["CREATING", "UPDATING", "DELETING"];

/// A configured `BatchSensor`.
#[derive(Debug)]
pub struct BatchSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    job_id: String,
    max_retries: u32,
}

/// The poke of `BatchSensor` on a job's status.
fn job_poke(status: &str) -> Result<bool, TaskError> {
    if status == SUCCEEDED {
        return Ok(true);
    }
    if INTERMEDIATE.contains(&status) {
        return Ok(false);
    }
    Err(TaskError::retryable(format!(
        "Batch sensor failed. AWS Batch job status: {status}"
    )))
}

impl Operator for BatchSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.batch.BatchSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "job_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, 30.0)?;
        let job_id = p.required_str("job_id", "the id of the Batch job to watch")?;
        let max_retries = p.u32("max_retries", 0..=u32::MAX)?.unwrap_or(4200);
        Ok(BatchSensor {
            aws,
            sensor,
            job_id,
            max_retries,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let hook = Hook {
            batch: crate::client(ctx, &self.aws)?,
            max_retries: self.max_retries,
            status_retries: 10,
        };
        let job_id = self.job_id.as_str();
        if !self.sensor.deferrable {
            return sensor::run(&self.sensor, ctx, || async {
                let job = hook.description(ctx, job_id).await?;
                job_poke(job["status"].as_str().unwrap_or_default())
            })
            .await;
        }
        // The trigger's batch_job_complete waiter.
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: Duration::from_secs_f64(self.sensor.poke_interval.trunc())
                .max(Duration::from_millis(100)),
            waiter_max_attempts: self.max_retries.max(1),
            deferrable: true,
        };
        wait::until_terminal(
            ctx,
            &settings,
            &format!("AWS Batch job {job_id}"),
            || async {
                let job = hook.description(ctx, job_id).await?;
                match job["status"].as_str().unwrap_or_default() {
                    SUCCEEDED => Ok(Poll::Done(())),
                    FAILED => Err(TaskError::retryable(format!(
                        "Error while running job: AWS Batch job {job_id} is FAILED ({})",
                        job["statusReason"].as_str().unwrap_or("no reason given")
                    ))),
                    other => Ok(Poll::Pending {
                        state: other.to_owned(),
                    }),
                }
            },
        )
        .await?;
        ctx.info(&format!("Batch Job {job_id} complete"));
        Ok(Outcome::Success(None))
    }

    /// DescribeJobs (not scoped to a resource).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["batch:DescribeJobs"])]
    }
}

/// The poke of the compute environment and job queue sensors: `what` names the resource in
/// messages ("compute environment", "job queue").
fn status_poke(what: &str, status: &str) -> Result<bool, TaskError> {
    if TERMINAL.contains(&status) {
        return Ok(true);
    }
    if PENDING.contains(&status) {
        return Ok(false);
    }
    Err(TaskError::retryable(format!(
        "AWS Batch {what} failed. AWS Batch {what} status: {status}"
    )))
}

/// A configured `BatchComputeEnvironmentSensor`.
#[derive(Debug)]
pub struct BatchComputeEnvironmentSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    compute_environment: String,
}

impl Operator for BatchComputeEnvironmentSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.batch.BatchComputeEnvironmentSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "compute_environment",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, 60.0)?;
        let compute_environment = p.required_str(
            "compute_environment",
            "the compute environment to watch (name or ARN)",
        )?;
        Ok(BatchComputeEnvironmentSensor {
            aws,
            sensor,
            compute_environment,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let batch = crate::client(ctx, &self.aws)?;
        let name = self.compute_environment.as_str();
        sensor::run(&self.sensor, ctx, || async {
            let answer = call!(
                format!("DescribeComputeEnvironments {name}"),
                batch
                    .describe_compute_environments()
                    .compute_environments(name),
                RawJson::answer_only()
            )?;
            let Some(status) = first_status(&answer, "computeEnvironments") else {
                return Err(TaskError::retryable(format!(
                    "AWS Batch compute environment {name} not found"
                )));
            };
            status_poke("compute environment", &status)
        })
        .await
    }

    /// DescribeComputeEnvironments (not scoped to a resource).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["batch:DescribeComputeEnvironments"])]
    }
}

/// The status of the first entry of `list` in an answer; `None` when the list is empty.
fn first_status(answer: &Value, list: &str) -> Option<String> {
    answer[list]
        .as_array()
        .and_then(|l| l.first())
        .map(|e| e["status"].as_str().unwrap_or_default().to_owned())
}

/// A configured `BatchJobQueueSensor`.
#[derive(Debug)]
pub struct BatchJobQueueSensor {
    aws: AwsParams,
    sensor: SensorSettings,
    job_queue: String,
    treat_non_existing_as_deleted: bool,
}

impl Operator for BatchJobQueueSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.batch.BatchJobQueueSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "job_queue", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sensor = SensorSettings::read(p, 60.0)?;
        let job_queue = p.required_str("job_queue", "the job queue to watch (name or ARN)")?;
        let treat_non_existing_as_deleted = p.bool("treat_non_existing_as_deleted", false)?;
        Ok(BatchJobQueueSensor {
            aws,
            sensor,
            job_queue,
            treat_non_existing_as_deleted,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let batch = crate::client(ctx, &self.aws)?;
        let name = self.job_queue.as_str();
        let missing_is_deleted = self.treat_non_existing_as_deleted;
        sensor::run(&self.sensor, ctx, || async {
            let answer = call!(
                format!("DescribeJobQueues {name}"),
                batch.describe_job_queues().job_queues(name),
                RawJson::answer_only()
            )?;
            let Some(status) = first_status(&answer, "jobQueues") else {
                if missing_is_deleted {
                    return Ok(true);
                }
                return Err(TaskError::retryable(format!(
                    "AWS Batch job queue {name} not found"
                )));
            };
            status_poke("job queue", &status)
        })
        .await
    }

    /// DescribeJobQueues (not scoped to a resource).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["batch:DescribeJobQueues"])]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pokes_follow_the_provider() {
        assert_eq!(job_poke("SUCCEEDED"), Ok(true));
        assert_eq!(job_poke("RUNNABLE"), Ok(false));
        assert_eq!(
            job_poke("FAILED").unwrap_err().message,
            "Batch sensor failed. AWS Batch job status: FAILED"
        );
        assert_eq!(status_poke("job queue", "VALID"), Ok(true));
        assert_eq!(status_poke("job queue", "DELETED"), Ok(true));
        assert_eq!(status_poke("job queue", "UPDATING"), Ok(false));
        assert_eq!(
            status_poke("compute environment", "INVALID")
                .unwrap_err()
                .message,
            "AWS Batch compute environment failed. AWS Batch compute environment status: INVALID"
        );
        assert_eq!(
            first_status(&json!({"jobQueues": [{"status": "VALID"}]}), "jobQueues").as_deref(),
            Some("VALID")
        );
        assert_eq!(first_status(&json!({"jobQueues": []}), "jobQueues"), None);
    }
}
