//! Snapshot exports to S3: `RdsStartExportTaskOperator` (StartExportTask, by default waits for
//! `complete`) and `RdsCancelExportTaskOperator` (CancelExportTask, by default waits for
//! `canceled`). The XCom value is the answer as a JSON string.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{self, Obj, Resource, non_empty};
use crate::snapshot::aws_fields;

/// Reads a wait's delay and attempts under the provider's names for them.
fn wait(
    p: &mut ParamReader<'_>,
    delay: &'static str,
    attempts: &'static str,
) -> Result<WaitSettings, ParamError> {
    Ok(WaitSettings {
        wait_for_completion: p.bool("wait_for_completion", true)?,
        waiter_delay: Duration::from_secs_f64(p.seconds(delay, 30.0)?),
        waiter_max_attempts: p.u32(attempts, 1..=u32::MAX)?.unwrap_or(40),
        deferrable: false,
    })
}

/// An export task as StartExportTask and CancelExportTask answer.
macro_rules! export_json {
    ($o:expr) => {
        Obj::default()
            .s("ExportTaskIdentifier", $o.export_task_identifier())
            .s("SourceArn", $o.source_arn())
            .list("ExportOnly", $o.export_only())
            .t("SnapshotTime", $o.snapshot_time())
            .t("TaskStartTime", $o.task_start_time())
            .t("TaskEndTime", $o.task_end_time())
            .s("S3Bucket", $o.s3_bucket())
            .s("S3Prefix", $o.s3_prefix())
            .s("IamRoleArn", $o.iam_role_arn())
            .s("KmsKeyId", $o.kms_key_id())
            .s("Status", $o.status())
            .i("PercentProgress", $o.percent_progress())
            .i("TotalExtractedDataInGB", $o.total_extracted_data_in_gb())
            .s("FailureCause", $o.failure_cause())
            .s("WarningMessage", $o.warning_message())
            .s("SourceType", $o.source_type().map(|t| t.as_str()))
            .value()
    };
}

/// A configured `RdsStartExportTaskOperator`.
#[derive(Debug)]
pub struct RdsStartExportTaskOperator {
    aws: AwsParams,
    export_task_identifier: String,
    source_arn: String,
    s3_bucket_name: String,
    iam_role_arn: String,
    kms_key_id: String,
    s3_prefix: Option<String>,
    export_only: Vec<String>,
    wait: WaitSettings,
}

impl Operator for RdsStartExportTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsStartExportTaskOperator",
        aliases: &[],
        template_fields: aws_fields!(
            "export_task_identifier",
            "source_arn",
            "s3_bucket_name",
            "iam_role_arn",
            "kms_key_id",
            "s3_prefix",
            "export_only",
        ),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsStartExportTaskOperator {
            aws: AwsParams::read(p)?,
            export_task_identifier: p.required_str(
                "export_task_identifier",
                "a unique identifier for the snapshot export task",
            )?,
            source_arn: p.required_str(
                "source_arn",
                "the ARN of the snapshot to export to Amazon S3",
            )?,
            s3_bucket_name: p
                .required_str("s3_bucket_name", "the S3 bucket to export the snapshot to")?,
            iam_role_arn: p.required_str(
                "iam_role_arn",
                "the IAM role RDS uses to write to the bucket",
            )?,
            kms_key_id: p
                .required_str("kms_key_id", "the KMS key that encrypts the exported data")?,
            s3_prefix: non_empty(p.str("s3_prefix")?),
            export_only: common::str_list(p, "export_only")?.unwrap_or_default(),
            wait: wait(p, "waiter_interval", "waiter_max_attempts")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.export_task_identifier;
        ctx.info(&format!(
            "Starting export task {id} for snapshot {}",
            self.source_arn
        ));
        let out = rds
            .start_export_task()
            .export_task_identifier(id)
            .source_arn(&self.source_arn)
            .s3_bucket_name(&self.s3_bucket_name)
            .iam_role_arn(&self.iam_role_arn)
            .kms_key_id(&self.kms_key_id)
            .set_s3_prefix(self.s3_prefix.clone())
            .set_export_only(Some(self.export_only.clone()).filter(|l| !l.is_empty()))
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("StartExportTask {id}"), &e))?;
        let answer = export_json!(out);
        if self.wait.wait_for_completion {
            // The hook polls until `complete` whatever else it sees; a failed or canceled
            // export never gets there, so airtask stops at once (see docs/operators/rds.md).
            common::wait_for(
                ctx,
                &rds,
                Resource::ExportTask,
                id,
                common::until("complete", &["failed", "canceled", "canceling"]),
                &self.wait,
                "Export task failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// StartExportTask on the snapshot (`source_arn`), `iam:PassRole` on `iam_role_arn`, the
    /// KMS grant on `kms_key_id`; DescribeExportTasks (not scoped to the task) with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![
            Permission::new(&["rds:StartExportTask"], [self.source_arn.clone()]),
            Permission::new(&["iam:PassRole"], [self.iam_role_arn.clone()]),
            Permission::new(
                &["kms:CreateGrant", "kms:DescribeKey"],
                [common::kms_key_arn(&self.aws, &self.kms_key_id)],
            ),
        ];
        if self.wait.wait_for_completion {
            out.push(Permission::on_any(&["rds:DescribeExportTasks"]));
        }
        out
    }
}

/// A configured `RdsCancelExportTaskOperator`.
#[derive(Debug)]
pub struct RdsCancelExportTaskOperator {
    aws: AwsParams,
    export_task_identifier: String,
    wait: WaitSettings,
}

impl Operator for RdsCancelExportTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsCancelExportTaskOperator",
        aliases: &[],
        template_fields: aws_fields!("export_task_identifier"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsCancelExportTaskOperator {
            aws: AwsParams::read(p)?,
            export_task_identifier: p.required_str(
                "export_task_identifier",
                "the identifier of the snapshot export task to cancel",
            )?,
            wait: wait(p, "check_interval", "max_attempts")?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.export_task_identifier;
        ctx.info(&format!("Canceling export task {id}"));
        let out = rds
            .cancel_export_task()
            .export_task_identifier(id)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("CancelExportTask {id}"), &e))?;
        let answer = export_json!(out);
        if self.wait.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::ExportTask,
                id,
                common::until("canceled", &["complete", "failed"]),
                &self.wait,
                "Export task cancellation failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// CancelExportTask, and DescribeExportTasks with `wait_for_completion` (neither scoped to
    /// the task).
    fn permissions(&self) -> Vec<Permission> {
        if self.wait.wait_for_completion {
            vec![Permission::on_any(&[
                "rds:CancelExportTask",
                "rds:DescribeExportTasks",
            ])]
        } else {
            vec![Permission::on_any(&["rds:CancelExportTask"])]
        }
    }
}
