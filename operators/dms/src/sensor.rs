//! `DmsTaskCompletedSensor`: pokes a replication task until it is `stopped` (a full-load task
//! stops by itself when the load is done). It fails when the task is missing, or in one of the
//! provider's termination statuses (`creating`, `deleting`, `failed`, `failed-move`,
//! `modifying`, `moving`, `ready`, `testing`).

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::task::{self, Found, HOOK_LOGGER};

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// The status the sensor waits for.
const TARGET_STATUSES: &[&str] = &["stopped"];

/// The statuses that fail the sensor.
const TERMINATION_STATUSES: &[&str] = &[
    "creating",
    "deleting",
    "failed",
    "failed-move",
    "modifying",
    "moving",
    "ready",
    "testing",
];

/// A configured `DmsTaskCompletedSensor`.
#[derive(Debug)]
pub struct DmsTaskCompletedSensor {
    aws: AwsParams,
    replication_task_arn: String,
    settings: SensorSettings,
}

impl Operator for DmsTaskCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.dms.DmsTaskCompletedSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.dms_task.DmsTaskCompletedSensor"],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "replication_task_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let replication_task_arn = p.required_str(
            "replication_task_arn",
            "the ARN of the DMS replication task to wait for",
        )?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(DmsTaskCompletedSensor {
            aws,
            replication_task_arn,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let (dms, arn) = (&dms, self.replication_task_arn.as_str());
        sensor::run(&self.settings, ctx, || async move {
            let (status, reason) = match task::find(dms, arn).await? {
                Found::Task { status, reason } => (status, reason),
                Found::Missing => {
                    ctx.hook_info(
                        HOOK_LOGGER,
                        &format!("Replication task with ARN({arn}) is not found."),
                    );
                    return Err(TaskError::fatal(format!(
                        "Failed to read task status, task with ARN {arn} not found"
                    )));
                }
            };
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("Replication task with ARN({arn}) has status \"{status}\"."),
            );
            ctx.info(&format!(
                "DMS Replication task ({arn}) has status: {status}"
            ));
            if TARGET_STATUSES.contains(&status.as_str()) {
                return Ok(true);
            }
            if TERMINATION_STATUSES.contains(&status.as_str()) {
                return Err(TaskError::retryable(format!(
                    "Unexpected status: {status}{}",
                    reason.map(|r| format!(" ({r})")).unwrap_or_default()
                )));
            }
            Ok(false)
        })
        .await
    }

    /// DescribeReplicationTasks (not scoped).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["dms:DescribeReplicationTasks"])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_arn_and_the_sensor_settings() {
        let p: Params = json!({"replication_task_arn": "arn:x", "poke_interval": 5})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<DmsTaskCompletedSensor>(&p).unwrap();
        assert_eq!(s.settings.poke_interval, 5.0);
        let p: Params = json!({}).as_object().cloned().unwrap_or_default();
        let e = build_operator::<DmsTaskCompletedSensor>(&p).unwrap_err();
        assert!(e.message().contains("needs `replication_task_arn`"), "{e}");
    }
}
