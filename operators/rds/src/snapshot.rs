//! The snapshot operators: `RdsCreateDbSnapshotOperator`, `RdsCopyDbSnapshotOperator` and
//! `RdsDeleteDbSnapshotOperator`, for DB instance snapshots (`db_type: instance`) and DB
//! cluster snapshots (`db_type: cluster`). Each calls RDS once and by default waits as the
//! hook does (boto3's `db_snapshot_available`/`_deleted` waiters and their cluster twins, 30 s
//! apart, 40 polls); the XCom value is the answer as a JSON string.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_rds::types::Tag;

use crate::common::{
    self, AVAILABLE, DELETED, DbType, Obj, Resource, db_cluster_snapshot, db_snapshot, non_empty,
};

/// The provider's template fields for AWS operators, before each operator's own.
macro_rules! aws_fields {
    ($($f:literal),* $(,)?) => {
        &["aws_conn_id", "region_name", "verify", $($f),*]
    };
}
pub(crate) use aws_fields;

/// A configured `RdsCreateDbSnapshotOperator`.
#[derive(Debug)]
pub struct RdsCreateDbSnapshotOperator {
    aws: AwsParams,
    db_type: DbType,
    db_identifier: String,
    db_snapshot_identifier: String,
    tags: Vec<Tag>,
    wait_for_completion: bool,
}

impl Operator for RdsCreateDbSnapshotOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsCreateDbSnapshotOperator",
        aliases: &[],
        template_fields: aws_fields!("db_snapshot_identifier", "db_identifier", "tags"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsCreateDbSnapshotOperator {
            aws: AwsParams::read(p)?,
            db_type: common::db_type(p, None)?,
            db_identifier: p.required_str(
                "db_identifier",
                "the identifier of the DB instance or cluster to snapshot",
            )?,
            db_snapshot_identifier: p.required_str(
                "db_snapshot_identifier",
                "the identifier of the new snapshot",
            )?,
            tags: common::tags(p)?,
            wait_for_completion: p.bool("wait_for_completion", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let (db, snap) = (&self.db_identifier, &self.db_snapshot_identifier);
        ctx.info(&format!(
            "Starting to create snapshot of RDS {} '{db}': {snap}",
            self.db_type.as_str()
        ));
        let answer = match self.db_type {
            DbType::Instance => {
                let out = rds
                    .create_db_snapshot()
                    .db_instance_identifier(db)
                    .db_snapshot_identifier(snap)
                    .set_tags(Some(self.tags.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CreateDBSnapshot {snap} of {db}"),
                            &e,
                        )
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_snapshot() {
                    o = o.v("DBSnapshot", db_snapshot(s));
                }
                o.value()
            }
            DbType::Cluster => {
                let out = rds
                    .create_db_cluster_snapshot()
                    .db_cluster_identifier(db)
                    .db_cluster_snapshot_identifier(snap)
                    .set_tags(Some(self.tags.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CreateDBClusterSnapshot {snap} of {db}"),
                            &e,
                        )
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_cluster_snapshot() {
                    o = o.v("DBClusterSnapshot", db_cluster_snapshot(s));
                }
                o.value()
            }
        };
        if self.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::snapshot_of(self.db_type),
                snap,
                AVAILABLE,
                &common::hook_wait(),
                "DB snapshot creation failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// CreateDBSnapshot (instance) or CreateDBClusterSnapshot (cluster) on the database and the
    /// new snapshot (`rds:AddTagsToResource` on it with `tags`); its Describe call with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let (db, snap) = (&self.db_identifier, &self.db_snapshot_identifier);
        let kind = Resource::snapshot_of(self.db_type);
        let create = match self.db_type {
            DbType::Instance => "rds:CreateDBSnapshot",
            DbType::Cluster => "rds:CreateDBClusterSnapshot",
        };
        let mut on_snapshot = vec![create];
        if !self.tags.is_empty() {
            on_snapshot.push("rds:AddTagsToResource");
        }
        if self.wait_for_completion {
            on_snapshot.push(kind.describe_action());
        }
        vec![
            Resource::db_of(self.db_type).permission(&self.aws, db, &[create]),
            kind.permission(&self.aws, snap, &on_snapshot),
        ]
    }
}

/// A configured `RdsCopyDbSnapshotOperator`.
#[derive(Debug)]
pub struct RdsCopyDbSnapshotOperator {
    aws: AwsParams,
    db_type: DbType,
    source: String,
    target: String,
    kms_key_id: Option<String>,
    tags: Vec<Tag>,
    copy_tags: bool,
    pre_signed_url: Option<String>,
    option_group_name: Option<String>,
    target_custom_availability_zone: Option<String>,
    source_region: Option<String>,
    wait_for_completion: bool,
}

impl Operator for RdsCopyDbSnapshotOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsCopyDbSnapshotOperator",
        aliases: &[],
        template_fields: aws_fields!(
            "source_db_snapshot_identifier",
            "target_db_snapshot_identifier",
            "tags",
            "pre_signed_url",
            "option_group_name",
        ),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsCopyDbSnapshotOperator {
            aws: AwsParams::read(p)?,
            db_type: common::db_type(p, None)?,
            source: p.required_str(
                "source_db_snapshot_identifier",
                "the identifier (or ARN) of the snapshot to copy",
            )?,
            target: p.required_str(
                "target_db_snapshot_identifier",
                "the identifier of the copy",
            )?,
            kms_key_id: non_empty(p.str("kms_key_id")?),
            tags: common::tags(p)?,
            copy_tags: p.bool("copy_tags", false)?,
            pre_signed_url: non_empty(p.str("pre_signed_url")?),
            option_group_name: non_empty(p.str("option_group_name")?),
            target_custom_availability_zone: non_empty(p.str("target_custom_availability_zone")?),
            source_region: non_empty(p.str("source_region")?),
            wait_for_completion: p.bool("wait_for_completion", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let (src, dst) = (&self.source, &self.target);
        ctx.info(&format!("Starting to copy snapshot '{src}' as '{dst}'"));
        if self.source_region.is_some() {
            ctx.warning(
                "source_region is not sent: airtask does not presign a cross-region copy as \
                 boto3 does; give pre_signed_url for an encrypted cross-region copy",
            );
        }
        let answer = match self.db_type {
            DbType::Instance => {
                let out = rds
                    .copy_db_snapshot()
                    .source_db_snapshot_identifier(src)
                    .target_db_snapshot_identifier(dst)
                    .set_kms_key_id(self.kms_key_id.clone())
                    .set_tags(Some(self.tags.clone()))
                    .copy_tags(self.copy_tags)
                    .set_pre_signed_url(self.pre_signed_url.clone())
                    .set_option_group_name(self.option_group_name.clone())
                    .set_target_custom_availability_zone(
                        self.target_custom_availability_zone.clone(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CopyDBSnapshot {src} to {dst}"),
                            &e,
                        )
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_snapshot() {
                    o = o.v("DBSnapshot", db_snapshot(s));
                }
                o.value()
            }
            DbType::Cluster => {
                let out = rds
                    .copy_db_cluster_snapshot()
                    .source_db_cluster_snapshot_identifier(src)
                    .target_db_cluster_snapshot_identifier(dst)
                    .set_kms_key_id(self.kms_key_id.clone())
                    .set_tags(Some(self.tags.clone()))
                    .copy_tags(self.copy_tags)
                    .set_pre_signed_url(self.pre_signed_url.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CopyDBClusterSnapshot {src} to {dst}"),
                            &e,
                        )
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_cluster_snapshot() {
                    o = o.v("DBClusterSnapshot", db_cluster_snapshot(s));
                }
                o.value()
            }
        };
        if self.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::snapshot_of(self.db_type),
                dst,
                AVAILABLE,
                &common::hook_wait(),
                "DB snapshot copy failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// CopyDBSnapshot or CopyDBClusterSnapshot (`db_type`) on the source and the copy
    /// (`rds:AddTagsToResource` on the copy with `tags` or `copy_tags`, the KMS grant with
    /// `kms_key_id`); the copy's Describe call with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::snapshot_of(self.db_type);
        let copy = match self.db_type {
            DbType::Instance => "rds:CopyDBSnapshot",
            DbType::Cluster => "rds:CopyDBClusterSnapshot",
        };
        let mut on_target = vec![copy];
        if !self.tags.is_empty() || self.copy_tags {
            on_target.push("rds:AddTagsToResource");
        }
        if self.wait_for_completion {
            on_target.push(kind.describe_action());
        }
        let mut out = vec![
            kind.permission(&self.aws, &self.source, &[copy]),
            kind.permission(&self.aws, &self.target, &on_target),
        ];
        if let Some(key) = &self.kms_key_id {
            out.push(Permission::new(
                &["kms:CreateGrant", "kms:DescribeKey"],
                [common::kms_key_arn(&self.aws, key)],
            ));
        }
        out
    }
}

/// A configured `RdsDeleteDbSnapshotOperator`.
#[derive(Debug)]
pub struct RdsDeleteDbSnapshotOperator {
    aws: AwsParams,
    db_type: DbType,
    db_snapshot_identifier: String,
    wait_for_completion: bool,
}

impl Operator for RdsDeleteDbSnapshotOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsDeleteDbSnapshotOperator",
        aliases: &[],
        template_fields: aws_fields!("db_snapshot_identifier"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsDeleteDbSnapshotOperator {
            aws: AwsParams::read(p)?,
            db_type: common::db_type(p, None)?,
            db_snapshot_identifier: p.required_str(
                "db_snapshot_identifier",
                "the identifier of the snapshot to delete",
            )?,
            wait_for_completion: p.bool("wait_for_completion", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let snap = &self.db_snapshot_identifier;
        ctx.info(&format!("Starting to delete snapshot '{snap}'"));
        let answer = match self.db_type {
            DbType::Instance => {
                let out = rds
                    .delete_db_snapshot()
                    .db_snapshot_identifier(snap)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("DeleteDBSnapshot {snap}"), &e)
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_snapshot() {
                    o = o.v("DBSnapshot", db_snapshot(s));
                }
                o.value()
            }
            DbType::Cluster => {
                let out = rds
                    .delete_db_cluster_snapshot()
                    .db_cluster_snapshot_identifier(snap)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("DeleteDBClusterSnapshot {snap}"),
                            &e,
                        )
                    })?;
                let mut o = Obj::default();
                if let Some(s) = out.db_cluster_snapshot() {
                    o = o.v("DBClusterSnapshot", db_cluster_snapshot(s));
                }
                o.value()
            }
        };
        if self.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::snapshot_of(self.db_type),
                snap,
                DELETED,
                &common::hook_wait(),
                "DB snapshot deletion failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// DeleteDBSnapshot or DeleteDBClusterSnapshot (`db_type`) on the snapshot; its Describe
    /// call with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::snapshot_of(self.db_type);
        let mut actions = vec![match self.db_type {
            DbType::Instance => "rds:DeleteDBSnapshot",
            DbType::Cluster => "rds:DeleteDBClusterSnapshot",
        }];
        if self.wait_for_completion {
            actions.push(kind.describe_action());
        }
        vec![kind.permission(&self.aws, &self.db_snapshot_identifier, &actions)]
    }
}
