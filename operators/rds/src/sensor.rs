//! The RDS sensors: `RdsSnapshotExistenceSensor` (a DB or DB cluster snapshot in one of
//! `target_statuses`, default `available`), `RdsExportTaskExistenceSensor` (an export task in
//! one of `target_statuses`; fails at one of `error_statuses`, default `failed`) and
//! `RdsDbSensor` (a DB instance or cluster in one of `target_statuses`, default `available`).
//! A resource that does not exist (yet) is a poke that is not met.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_rds::Client;

use crate::common::{self, DbType, Resource};
use crate::snapshot::aws_fields;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// Python's repr of a list of strings (`['available']`), for the poke line.
fn py_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items
            .iter()
            .map(|s| format!("'{s}'"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// What every RDS sensor reads: the AWS parameters, `hook_params` (accepted; the task's
/// identity and region come from the AWS parameters) and the sensor settings.
fn base(p: &mut ParamReader<'_>) -> Result<(AwsParams, SensorSettings), ParamError> {
    let aws = AwsParams::read(p)?;
    p.map("hook_params")?;
    Ok((aws, SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?))
}

/// One poke: the resource's state is in `targets` (false when it does not exist); a state in
/// `errors` fails the sensor.
async fn poke(
    ctx: &TaskContext,
    rds: &Client,
    kind: Resource,
    id: &str,
    targets: &[String],
    errors: &[String],
) -> Result<bool, TaskError> {
    let Some(state) = common::state(rds, kind, id).await? else {
        ctx.info(&format!("The {} {id} was not found", kind.noun()));
        return Ok(false);
    };
    if errors.contains(&state) {
        return Err(TaskError::fatal(format!(
            "Export task {id} failed with status {state}"
        )));
    }
    ctx.info(&format!("The {} {id} is '{state}'", kind.noun()));
    Ok(targets.contains(&state))
}

/// A configured `RdsSnapshotExistenceSensor`.
#[derive(Debug)]
pub struct RdsSnapshotExistenceSensor {
    aws: AwsParams,
    db_type: DbType,
    db_snapshot_identifier: String,
    target_statuses: Vec<String>,
    settings: SensorSettings,
}

impl Operator for RdsSnapshotExistenceSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.rds.RdsSnapshotExistenceSensor",
        aliases: &[],
        template_fields: aws_fields!("db_snapshot_identifier", "target_statuses"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, settings) = base(p)?;
        Ok(RdsSnapshotExistenceSensor {
            aws,
            db_type: common::db_type(p, None)?,
            db_snapshot_identifier: p.required_str(
                "db_snapshot_identifier",
                "the identifier of the DB snapshot to wait for",
            )?,
            target_statuses: common::str_list(p, "target_statuses")?
                .unwrap_or_else(|| vec!["available".to_owned()]),
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let (id, targets) = (&self.db_snapshot_identifier, &self.target_statuses);
        let kind = Resource::snapshot_of(self.db_type);
        let rds = &rds;
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!(
                "Poking for statuses : {}\nfor snapshot {id}",
                py_list(targets)
            ));
            poke(ctx, rds, kind, id, targets, &[]).await
        })
        .await
    }

    /// DescribeDBSnapshots or DescribeDBClusterSnapshots (`db_type`) on the snapshot.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::snapshot_of(self.db_type);
        vec![kind.permission(
            &self.aws,
            &self.db_snapshot_identifier,
            &[kind.describe_action()],
        )]
    }
}

/// A configured `RdsExportTaskExistenceSensor`.
#[derive(Debug)]
pub struct RdsExportTaskExistenceSensor {
    aws: AwsParams,
    export_task_identifier: String,
    target_statuses: Vec<String>,
    error_statuses: Vec<String>,
    settings: SensorSettings,
}

impl Operator for RdsExportTaskExistenceSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.rds.RdsExportTaskExistenceSensor",
        aliases: &[],
        template_fields: aws_fields!(
            "export_task_identifier",
            "target_statuses",
            "error_statuses"
        ),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, settings) = base(p)?;
        let defaults = [
            "starting",
            "in_progress",
            "complete",
            "canceling",
            "canceled",
        ];
        Ok(RdsExportTaskExistenceSensor {
            aws,
            export_task_identifier: p.required_str(
                "export_task_identifier",
                "the identifier of the snapshot export task to wait for",
            )?,
            target_statuses: common::str_list(p, "target_statuses")?
                .unwrap_or_else(|| defaults.iter().map(|s| (*s).to_owned()).collect()),
            error_statuses: common::str_list(p, "error_statuses")?
                .unwrap_or_else(|| vec!["failed".to_owned()]),
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.export_task_identifier;
        let (targets, errors) = (&self.target_statuses, &self.error_statuses);
        let rds = &rds;
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!(
                "Poking for statuses : {}\nfor export task {id}",
                py_list(targets)
            ));
            poke(ctx, rds, Resource::ExportTask, id, targets, errors).await
        })
        .await
    }

    /// DescribeExportTasks (not scoped to the task).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["rds:DescribeExportTasks"])]
    }
}

/// A configured `RdsDbSensor`.
#[derive(Debug)]
pub struct RdsDbSensor {
    aws: AwsParams,
    db_identifier: String,
    db_type: DbType,
    target_statuses: Vec<String>,
    settings: SensorSettings,
}

impl Operator for RdsDbSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.rds.RdsDbSensor",
        aliases: &[],
        template_fields: aws_fields!("db_identifier", "db_type", "target_statuses"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, settings) = base(p)?;
        Ok(RdsDbSensor {
            aws,
            db_identifier: p.required_str(
                "db_identifier",
                "the identifier of the DB instance or cluster to wait for",
            )?,
            db_type: common::db_type(p, Some(DbType::Instance))?,
            target_statuses: common::str_list(p, "target_statuses")?
                .unwrap_or_else(|| vec!["available".to_owned()]),
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let (id, targets) = (&self.db_identifier, &self.target_statuses);
        let kind = Resource::db_of(self.db_type);
        let rds = &rds;
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!(
                "Poking for statuses : {}\nfor db instance {id}",
                py_list(targets)
            ));
            poke(ctx, rds, kind, id, targets, &[]).await
        })
        .await
    }

    /// DescribeDBInstances or DescribeDBClusters (`db_type`) on the database.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::db_of(self.db_type);
        vec![kind.permission(&self.aws, &self.db_identifier, &[kind.describe_action()])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_follow_the_provider() {
        let p: Params = json!({"export_task_identifier": "e1", "hook_params": {}})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<RdsExportTaskExistenceSensor>(&p).unwrap();
        assert_eq!(s.target_statuses.len(), 5);
        assert_eq!(s.error_statuses, ["failed"]);
        assert_eq!(s.settings.poke_interval, 60.0);
        let p: Params = json!({"db_identifier": "d", "target_statuses": []})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<RdsDbSensor>(&p).unwrap();
        assert_eq!(s.target_statuses, ["available"]);
        assert_eq!(py_list(&s.target_statuses), "['available']");
        let p: Params = json!({"db_snapshot_identifier": "s"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<RdsSnapshotExistenceSensor>(&p).unwrap_err();
        assert!(e.message().contains("needs `db_type`"), "{e}");
    }
}
