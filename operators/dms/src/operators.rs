//! The DMS replication-task operators: create (and wait until ready), delete (and wait until
//! gone), describe, start and stop. Their waits are the hook's boto3 waiters
//! (`replication_task_ready`, `replication_task_deleted`: a read every 15 s, 60 reads), which
//! the provider does not let a task configure.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_databasemigration::types::{
    Filter, MigrationTypeValue, StartReplicationTaskTypeValue, Tag,
};
use aws_smithy_types::DateTime;
use serde_json::{Value, json};

use crate::kwargs::Kwargs;
use crate::task::{self, Found, HOOK_LOGGER};

/// The boto3 DMS waiters' delay and attempts.
const WAITER: WaitSettings = WaitSettings {
    wait_for_completion: true,
    waiter_delay: Duration::from_secs(15),
    waiter_max_attempts: 60,
    deferrable: false,
};

/// The statuses that fail the `replication_task_ready` waiter.
const NOT_READY: &[&str] = &[
    "starting",
    "running",
    "stopping",
    "stopped",
    "failed",
    "modifying",
    "testing",
    "deleting",
];

/// The statuses that fail the `replication_task_deleted` waiter.
const NOT_DELETED: &[&str] = &["ready", "creating", "stopped", "running", "failed"];

/// ` (reason)` when there is one.
fn because(reason: Option<&str>) -> String {
    reason.map(|r| format!(": {r}")).unwrap_or_default()
}

/// The `replication_task_arn` every operator but create and describe takes.
fn task_arn(p: &mut ParamReader<'_>) -> Result<String, ParamError> {
    p.required_str(
        "replication_task_arn",
        "the ARN of the DMS replication task (a DmsCreateTaskOperator's XCom)",
    )
}

/// A configured `DmsCreateTaskOperator`.
#[derive(Debug)]
pub struct DmsCreateTaskOperator {
    aws: AwsParams,
    replication_task_id: String,
    source_endpoint_arn: String,
    target_endpoint_arn: String,
    replication_instance_arn: String,
    table_mappings: String,
    migration_type: String,
    settings: Option<String>,
    cdc_start_time: Option<DateTime>,
    cdc_start_position: Option<String>,
    cdc_stop_position: Option<String>,
    tags: Option<Vec<Tag>>,
    task_data: Option<String>,
    resource_identifier: Option<String>,
}

/// The keys of CreateReplicationTask the operator passes itself.
const CREATE_TAKEN: &[&str] = &[
    "ReplicationTaskIdentifier",
    "SourceEndpointArn",
    "TargetEndpointArn",
    "ReplicationInstanceArn",
    "MigrationType",
    "TableMappings",
];

/// The other keys of CreateReplicationTask (`create_task_kwargs`).
const CREATE_KEYS: &[&str] = &[
    "ReplicationTaskSettings",
    "CdcStartTime",
    "CdcStartPosition",
    "CdcStopPosition",
    "Tags",
    "TaskData",
    "ResourceIdentifier",
];

impl Operator for DmsCreateTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.dms.DmsCreateTaskOperator",
        aliases: &["airflow.providers.amazon.aws.operators.dms_create_task.DmsCreateTaskOperator"],
        template_fields: &[
            "aws_conn_id",
            "create_task_kwargs",
            "migration_type",
            "region_name",
            "replication_instance_arn",
            "replication_task_id",
            "source_endpoint_arn",
            "table_mappings",
            "target_endpoint_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let replication_task_id = p.required_str(
            "replication_task_id",
            "the identifier of the new replication task",
        )?;
        let source_endpoint_arn =
            p.required_str("source_endpoint_arn", "the ARN of the source endpoint")?;
        let target_endpoint_arn =
            p.required_str("target_endpoint_arn", "the ARN of the target endpoint")?;
        let replication_instance_arn = p.required_str(
            "replication_instance_arn",
            "the ARN of the replication instance",
        )?;
        // The hook sends json.dumps(table_mappings), whatever it is.
        let table_mappings = match p.value("table_mappings") {
            Some(v) => task::python_json(v),
            None => {
                return Err(ParamError::at(
                    "table_mappings",
                    "DmsCreateTaskOperator needs `table_mappings`: the task's table mappings \
                     as a mapping ({rules: [...]}), sent as JSON",
                ));
            }
        };
        let migration_type = p
            .str("migration_type")?
            .unwrap_or_else(|| "full-load".to_owned());
        let empty = serde_json::Map::new();
        let kwargs = p.map("create_task_kwargs")?.unwrap_or(&empty);
        let k = Kwargs::new(
            "DmsCreateTaskOperator",
            "create_task_kwargs",
            kwargs,
            CREATE_KEYS,
            CREATE_TAKEN,
        )?;
        Ok(DmsCreateTaskOperator {
            aws,
            replication_task_id,
            source_endpoint_arn,
            target_endpoint_arn,
            replication_instance_arn,
            table_mappings,
            migration_type,
            settings: k.str("ReplicationTaskSettings")?,
            cdc_start_time: k.timestamp("CdcStartTime")?,
            cdc_start_position: k.str("CdcStartPosition")?,
            cdc_stop_position: k.str("CdcStopPosition")?,
            tags: k.tags("Tags")?,
            task_data: k.str("TaskData")?,
            resource_identifier: k.str("ResourceIdentifier")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let out = dms
            .create_replication_task()
            .replication_task_identifier(&self.replication_task_id)
            .source_endpoint_arn(&self.source_endpoint_arn)
            .target_endpoint_arn(&self.target_endpoint_arn)
            .replication_instance_arn(&self.replication_instance_arn)
            .migration_type(MigrationTypeValue::from(self.migration_type.as_str()))
            .table_mappings(&self.table_mappings)
            .set_replication_task_settings(self.settings.clone())
            .set_cdc_start_time(self.cdc_start_time)
            .set_cdc_start_position(self.cdc_start_position.clone())
            .set_cdc_stop_position(self.cdc_stop_position.clone())
            .set_tags(self.tags.clone())
            .set_task_data(self.task_data.clone())
            .set_resource_identifier(self.resource_identifier.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("CreateReplicationTask {}", self.replication_task_id),
                    &e,
                )
            })?;
        let arn = out
            .replication_task()
            .and_then(|t| t.replication_task_arn())
            .unwrap_or_default()
            .to_owned();
        if arn.is_empty() {
            return Err(TaskError::retryable(
                "CreateReplicationTask answered without a ReplicationTaskArn",
            ));
        }
        let (dms_ref, arn_ref) = (&dms, arn.as_str());
        wait::until_terminal(
            ctx,
            &WAITER,
            &format!("DMS replication task {arn}"),
            || async move {
                match task::find(dms_ref, arn_ref).await? {
                    Found::Missing => Ok(Poll::Pending {
                        state: "not found yet".to_owned(),
                    }),
                    Found::Task { status, .. } if status == "ready" => Ok(Poll::Done(())),
                    Found::Task { status, reason } if NOT_READY.contains(&status.as_str()) => {
                        Err(TaskError::retryable(format!(
                            "DMS replication task {arn_ref} did not become ready: its status is \
                             {status}{} (Waiter ReplicationTaskReady failed: Waiter encountered \
                             a terminal failure state)",
                            because(reason.as_deref())
                        )))
                    }
                    Found::Task { status, .. } => Ok(Poll::Pending { state: status }),
                }
            },
        )
        .await?;
        ctx.info(&format!(
            "DMS replication task({}) is ready.",
            self.replication_task_id
        ));
        Ok(Outcome::Success(Some(json!(arn))))
    }

    /// CreateReplicationTask on the endpoints and the replication instance, then
    /// DescribeReplicationTasks (not scoped) until the task is ready.
    fn permissions(&self) -> Vec<Permission> {
        vec![
            Permission::new(
                &["dms:CreateReplicationTask"],
                [
                    self.source_endpoint_arn.clone(),
                    self.target_endpoint_arn.clone(),
                    self.replication_instance_arn.clone(),
                ],
            ),
            Permission::on_any(&["dms:DescribeReplicationTasks"]),
        ]
    }
}

/// A configured `DmsDeleteTaskOperator`.
#[derive(Debug)]
pub struct DmsDeleteTaskOperator {
    aws: AwsParams,
    replication_task_arn: String,
}

impl Operator for DmsDeleteTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.dms.DmsDeleteTaskOperator",
        aliases: &["airflow.providers.amazon.aws.operators.dms_delete_task.DmsDeleteTaskOperator"],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "replication_task_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(DmsDeleteTaskOperator {
            aws: AwsParams::read(p)?,
            replication_task_arn: task_arn(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let arn = self.replication_task_arn.as_str();
        dms.delete_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("DeleteReplicationTask {arn}"), &e)
            })?;
        let dms_ref = &dms;
        wait::until_terminal(
            ctx,
            &WAITER,
            &format!("Deletion of DMS replication task {arn}"),
            || async move {
                match task::find(dms_ref, arn).await? {
                    Found::Missing => Ok(Poll::Done(())),
                    Found::Task { status, reason } if NOT_DELETED.contains(&status.as_str()) => {
                        Err(TaskError::retryable(format!(
                            "DMS replication task {arn} was not deleted: its status is \
                             {status}{} (Waiter ReplicationTaskDeleted failed: Waiter \
                             encountered a terminal failure state)",
                            because(reason.as_deref())
                        )))
                    }
                    Found::Task { status, .. } => Ok(Poll::Pending { state: status }),
                }
            },
        )
        .await?;
        ctx.info(&format!("DMS replication task({arn}) has been deleted."));
        Ok(Outcome::Success(None))
    }

    /// DeleteReplicationTask on the task, then DescribeReplicationTasks (not scoped) until it
    /// is gone.
    fn permissions(&self) -> Vec<Permission> {
        vec![
            Permission::new(
                &["dms:DeleteReplicationTask"],
                [self.replication_task_arn.clone()],
            ),
            Permission::on_any(&["dms:DescribeReplicationTasks"]),
        ]
    }
}

/// A configured `DmsDescribeTasksOperator`.
#[derive(Debug)]
pub struct DmsDescribeTasksOperator {
    aws: AwsParams,
    filters: Option<Vec<Filter>>,
    max_records: Option<i32>,
    marker: Option<String>,
    without_settings: Option<bool>,
}

impl Operator for DmsDescribeTasksOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.dms.DmsDescribeTasksOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.dms_describe_tasks.DmsDescribeTasksOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "describe_tasks_kwargs",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let empty = serde_json::Map::new();
        let kwargs = p.map("describe_tasks_kwargs")?.unwrap_or(&empty);
        let k = Kwargs::new(
            "DmsDescribeTasksOperator",
            "describe_tasks_kwargs",
            kwargs,
            &["Filters", "MaxRecords", "Marker", "WithoutSettings"],
            &[],
        )?;
        Ok(DmsDescribeTasksOperator {
            aws,
            filters: k.filters("Filters")?,
            max_records: k.i32("MaxRecords")?,
            marker: k.str("Marker")?,
            without_settings: k.bool("WithoutSettings")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let out = dms
            .describe_replication_tasks()
            .set_filters(self.filters.clone())
            .set_max_records(self.max_records)
            .set_marker(self.marker.clone())
            .set_without_settings(self.without_settings)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error("DescribeReplicationTasks", &e))?;
        let tasks: Vec<Value> = out
            .replication_tasks()
            .iter()
            .map(task::task_json)
            .collect();
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Described {} DMS replication task(s).", tasks.len()),
        );
        // The provider returns the tuple (Marker, ReplicationTasks): a list in XCom.
        Ok(Outcome::Success(Some(json!([out.marker(), tasks]))))
    }

    /// DescribeReplicationTasks (not scoped).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["dms:DescribeReplicationTasks"])]
    }
}

/// A configured `DmsStartTaskOperator`.
#[derive(Debug)]
pub struct DmsStartTaskOperator {
    aws: AwsParams,
    replication_task_arn: String,
    start_replication_task_type: String,
    cdc_start_time: Option<DateTime>,
    cdc_start_position: Option<String>,
    cdc_stop_position: Option<String>,
}

impl Operator for DmsStartTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.dms.DmsStartTaskOperator",
        aliases: &["airflow.providers.amazon.aws.operators.dms_start_task.DmsStartTaskOperator"],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "replication_task_arn",
            "start_replication_task_type",
            "start_task_kwargs",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let replication_task_arn = task_arn(p)?;
        let start_replication_task_type = p
            .str("start_replication_task_type")?
            .unwrap_or_else(|| "start-replication".to_owned());
        let empty = serde_json::Map::new();
        let kwargs = p.map("start_task_kwargs")?.unwrap_or(&empty);
        let k = Kwargs::new(
            "DmsStartTaskOperator",
            "start_task_kwargs",
            kwargs,
            &["CdcStartTime", "CdcStartPosition", "CdcStopPosition"],
            &["ReplicationTaskArn", "StartReplicationTaskType"],
        )?;
        Ok(DmsStartTaskOperator {
            aws,
            replication_task_arn,
            start_replication_task_type,
            cdc_start_time: k.timestamp("CdcStartTime")?,
            cdc_start_position: k.str("CdcStartPosition")?,
            cdc_stop_position: k.str("CdcStopPosition")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let arn = self.replication_task_arn.as_str();
        dms.start_replication_task()
            .replication_task_arn(arn)
            .start_replication_task_type(StartReplicationTaskTypeValue::from(
                self.start_replication_task_type.as_str(),
            ))
            .set_cdc_start_time(self.cdc_start_time)
            .set_cdc_start_position(self.cdc_start_position.clone())
            .set_cdc_stop_position(self.cdc_stop_position.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StartReplicationTask {arn}"), &e)
            })?;
        ctx.info(&format!("DMS replication task({arn}) is starting."));
        Ok(Outcome::Success(None))
    }

    /// StartReplicationTask on the task.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["dms:StartReplicationTask"],
            [self.replication_task_arn.clone()],
        )]
    }
}

/// A configured `DmsStopTaskOperator`.
#[derive(Debug)]
pub struct DmsStopTaskOperator {
    aws: AwsParams,
    replication_task_arn: String,
}

impl Operator for DmsStopTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.dms.DmsStopTaskOperator",
        aliases: &["airflow.providers.amazon.aws.operators.dms_stop_task.DmsStopTaskOperator"],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "replication_task_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(DmsStopTaskOperator {
            aws: AwsParams::read(p)?,
            replication_task_arn: task_arn(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let dms = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_databasemigration),
        )?;
        let arn = self.replication_task_arn.as_str();
        dms.stop_replication_task()
            .replication_task_arn(arn)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StopReplicationTask {arn}"), &e)
            })?;
        ctx.info(&format!("DMS replication task({arn}) is stopping."));
        Ok(Outcome::Success(None))
    }

    /// StopReplicationTask on the task.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["dms:StopReplicationTask"],
            [self.replication_task_arn.clone()],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn create_reads_the_provider_parameters() {
        let op = build_operator::<DmsCreateTaskOperator>(&params(json!({
            "replication_task_id": "t1",
            "source_endpoint_arn": "arn:s",
            "target_endpoint_arn": "arn:t",
            "replication_instance_arn": "arn:i",
            "table_mappings": {"rules": []},
            "create_task_kwargs": {"Tags": [{"Key": "k", "Value": "v"}], "TaskData": "d"},
        })))
        .unwrap();
        assert_eq!(op.migration_type, "full-load");
        assert_eq!(op.table_mappings, r#"{"rules": []}"#);
        assert_eq!(op.task_data.as_deref(), Some("d"));
        assert_eq!(op.tags.as_ref().map(Vec::len), Some(1));
        let e = build_operator::<DmsCreateTaskOperator>(&params(json!({
            "replication_task_id": "t1",
            "source_endpoint_arn": "arn:s",
            "target_endpoint_arn": "arn:t",
            "replication_instance_arn": "arn:i",
            "table_mappings": {},
            "create_task_kwargs": {"MigrationType": "cdc"},
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("create_task_kwargs"));
        assert!(
            e.message()
                .contains("`MigrationType` is set by the operator"),
            "{e}"
        );
        let e = build_operator::<DmsCreateTaskOperator>(&params(json!({
            "replication_task_id": "t1",
            "source_endpoint_arn": "arn:s",
            "target_endpoint_arn": "arn:t",
            "replication_instance_arn": "arn:i",
        })))
        .unwrap_err();
        assert!(e.message().contains("needs `table_mappings`"), "{e}");
    }

    #[test]
    fn start_and_describe_read_their_kwargs() {
        let op = build_operator::<DmsStartTaskOperator>(&params(json!({
            "replication_task_arn": "arn:x",
            "start_task_kwargs": {"CdcStartPosition": "checkpoint:1"},
        })))
        .unwrap();
        assert_eq!(op.start_replication_task_type, "start-replication");
        assert_eq!(op.cdc_start_position.as_deref(), Some("checkpoint:1"));
        let e = build_operator::<DmsStartTaskOperator>(&params(json!({
            "replication_task_arn": "arn:x",
            "start_task_kwargs": {"Bogus": 1},
        })))
        .unwrap_err();
        assert!(e.message().contains("unknown key `Bogus`"), "{e}");
        let op = build_operator::<DmsDescribeTasksOperator>(&params(json!({
            "describe_tasks_kwargs": {"Filters": [{"Name": "replication-task-id", "Values": ["a"]}], "MaxRecords": 20},
        })))
        .unwrap();
        assert_eq!(op.max_records, Some(20));
        assert_eq!(op.filters.as_ref().map(Vec::len), Some(1));
        let e = build_operator::<DmsStopTaskOperator>(&params(json!({}))).unwrap_err();
        assert!(e.message().contains("needs `replication_task_arn`"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::{DmsCreateTaskOperator, DmsStartTaskOperator};

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn tasks_are_created_on_their_endpoints_and_started_by_arn() {
        let (src, dst, rep) = (
            "arn:aws:dms:us-east-1:1:endpoint:SRC",
            "arn:aws:dms:us-east-1:1:endpoint:DST",
            "arn:aws:dms:us-east-1:1:rep:REP",
        );
        let create = build_operator::<DmsCreateTaskOperator>(&params(json!({
            "replication_task_id": "t", "source_endpoint_arn": src,
            "target_endpoint_arn": dst, "replication_instance_arn": rep,
            "table_mappings": {"rules": []},
        })))
        .expect("valid parameters");
        assert_eq!(
            create.permissions(),
            [
                Permission::new(&["dms:CreateReplicationTask"], [src, dst, rep]),
                Permission::on_any(&["dms:DescribeReplicationTasks"]),
            ]
        );
        let task = "arn:aws:dms:us-east-1:1:task:T";
        let start =
            build_operator::<DmsStartTaskOperator>(&params(json!({"replication_task_arn": task})))
                .expect("valid parameters");
        assert_eq!(
            start.permissions(),
            [Permission::new(&["dms:StartReplicationTask"], [task])]
        );
    }
}
