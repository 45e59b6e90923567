//! DB instances and clusters: `RdsCreateDbInstanceOperator`, `RdsDeleteDbInstanceOperator`
//! (with `rds_kwargs` passed to the call), `RdsStartDbOperator` and `RdsStopDbOperator` (an
//! instance or a cluster by `db_type`). Each calls RDS once and by default waits for the
//! state the provider waits for; the XCom value is the answer as a JSON string.

use airtask_aws::AwsParams;
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use serde_json::Value;

use crate::common::{
    self, AVAILABLE, CLUSTER_STOPPED, DELETED, DbType, INSTANCE_STOPPED, Obj, Resource, db_cluster,
    db_instance,
};
use crate::kwargs::Kwargs;
use crate::snapshot::aws_fields;

/// The CreateDBInstance arguments airtask passes from `rds_kwargs`.
const CREATE_KEYS: &[&str] = &[
    "DBName",
    "AllocatedStorage",
    "MasterUsername",
    "MasterUserPassword",
    "DBSecurityGroups",
    "VpcSecurityGroupIds",
    "AvailabilityZone",
    "DBSubnetGroupName",
    "PreferredMaintenanceWindow",
    "DBParameterGroupName",
    "BackupRetentionPeriod",
    "PreferredBackupWindow",
    "Port",
    "MultiAZ",
    "EngineVersion",
    "AutoMinorVersionUpgrade",
    "LicenseModel",
    "Iops",
    "StorageThroughput",
    "OptionGroupName",
    "CharacterSetName",
    "NcharCharacterSetName",
    "PubliclyAccessible",
    "Tags",
    "DBClusterIdentifier",
    "StorageType",
    "StorageEncrypted",
    "KmsKeyId",
    "CopyTagsToSnapshot",
    "MonitoringInterval",
    "MonitoringRoleArn",
    "PromotionTier",
    "Timezone",
    "EnableIAMDatabaseAuthentication",
    "EnablePerformanceInsights",
    "PerformanceInsightsKMSKeyId",
    "PerformanceInsightsRetentionPeriod",
    "EnableCloudwatchLogsExports",
    "DeletionProtection",
    "MaxAllocatedStorage",
    "NetworkType",
    "CACertificateIdentifier",
    "ManageMasterUserPassword",
    "MasterUserSecretKmsKeyId",
    "DedicatedLogVolume",
    "MultiTenant",
];

/// The DeleteDBInstance arguments airtask passes from `rds_kwargs`.
const DELETE_KEYS: &[&str] = &[
    "SkipFinalSnapshot",
    "FinalDBSnapshotIdentifier",
    "DeleteAutomatedBackups",
];

/// The CreateDBInstance arguments of `rds_kwargs`, read once (checked at validation).
#[derive(Debug, Clone, Default)]
struct CreateArgs {
    strings: Vec<(&'static str, String)>,
    ints: Vec<(&'static str, i32)>,
    bools: Vec<(&'static str, bool)>,
    lists: Vec<(&'static str, Vec<String>)>,
    tags: Option<Vec<aws_sdk_rds::types::Tag>>,
}

impl CreateArgs {
    fn read(k: &Kwargs<'_>) -> Result<CreateArgs, ParamError> {
        k.only(CREATE_KEYS, "CreateDBInstance")?;
        let mut a = CreateArgs::default();
        for &key in CREATE_KEYS {
            match key {
                "AllocatedStorage"
                | "BackupRetentionPeriod"
                | "Port"
                | "Iops"
                | "StorageThroughput"
                | "MonitoringInterval"
                | "PromotionTier"
                | "PerformanceInsightsRetentionPeriod"
                | "MaxAllocatedStorage" => {
                    if let Some(v) = k.int(key)? {
                        a.ints.push((key, v));
                    }
                }
                "MultiAZ"
                | "AutoMinorVersionUpgrade"
                | "PubliclyAccessible"
                | "StorageEncrypted"
                | "CopyTagsToSnapshot"
                | "EnableIAMDatabaseAuthentication"
                | "EnablePerformanceInsights"
                | "DeletionProtection"
                | "ManageMasterUserPassword"
                | "DedicatedLogVolume"
                | "MultiTenant" => {
                    if let Some(v) = k.bool(key)? {
                        a.bools.push((key, v));
                    }
                }
                "DBSecurityGroups" | "VpcSecurityGroupIds" | "EnableCloudwatchLogsExports" => {
                    if let Some(v) = k.list(key)? {
                        a.lists.push((key, v));
                    }
                }
                "Tags" => a.tags = k.tags(key)?,
                _ => {
                    if let Some(v) = k.str(key)? {
                        a.strings.push((key, v));
                    }
                }
            }
        }
        Ok(a)
    }

    /// Sets the arguments on the call.
    fn apply(&self, mut b: CreateDBInstanceFluentBuilder) -> CreateDBInstanceFluentBuilder {
        for (k, v) in &self.strings {
            let v = v.clone();
            b = match *k {
                "DBName" => b.db_name(v),
                "MasterUsername" => b.master_username(v),
                "MasterUserPassword" => b.master_user_password(v),
                "AvailabilityZone" => b.availability_zone(v),
                "DBSubnetGroupName" => b.db_subnet_group_name(v),
                "PreferredMaintenanceWindow" => b.preferred_maintenance_window(v),
                "DBParameterGroupName" => b.db_parameter_group_name(v),
                "PreferredBackupWindow" => b.preferred_backup_window(v),
                "EngineVersion" => b.engine_version(v),
                "LicenseModel" => b.license_model(v),
                "OptionGroupName" => b.option_group_name(v),
                "CharacterSetName" => b.character_set_name(v),
                "NcharCharacterSetName" => b.nchar_character_set_name(v),
                "DBClusterIdentifier" => b.db_cluster_identifier(v),
                "StorageType" => b.storage_type(v),
                "KmsKeyId" => b.kms_key_id(v),
                "MonitoringRoleArn" => b.monitoring_role_arn(v),
                "Timezone" => b.timezone(v),
                "PerformanceInsightsKMSKeyId" => b.performance_insights_kms_key_id(v),
                "NetworkType" => b.network_type(v),
                "CACertificateIdentifier" => b.ca_certificate_identifier(v),
                "MasterUserSecretKmsKeyId" => b.master_user_secret_kms_key_id(v),
                _ => b,
            };
        }
        for (k, v) in &self.ints {
            let v = *v;
            b = match *k {
                "AllocatedStorage" => b.allocated_storage(v),
                "BackupRetentionPeriod" => b.backup_retention_period(v),
                "Port" => b.port(v),
                "Iops" => b.iops(v),
                "StorageThroughput" => b.storage_throughput(v),
                "MonitoringInterval" => b.monitoring_interval(v),
                "PromotionTier" => b.promotion_tier(v),
                "PerformanceInsightsRetentionPeriod" => b.performance_insights_retention_period(v),
                "MaxAllocatedStorage" => b.max_allocated_storage(v),
                _ => b,
            };
        }
        for (k, v) in &self.bools {
            let v = *v;
            b = match *k {
                "MultiAZ" => b.multi_az(v),
                "AutoMinorVersionUpgrade" => b.auto_minor_version_upgrade(v),
                "PubliclyAccessible" => b.publicly_accessible(v),
                "StorageEncrypted" => b.storage_encrypted(v),
                "CopyTagsToSnapshot" => b.copy_tags_to_snapshot(v),
                "EnableIAMDatabaseAuthentication" => b.enable_iam_database_authentication(v),
                "EnablePerformanceInsights" => b.enable_performance_insights(v),
                "DeletionProtection" => b.deletion_protection(v),
                "ManageMasterUserPassword" => b.manage_master_user_password(v),
                "DedicatedLogVolume" => b.dedicated_log_volume(v),
                "MultiTenant" => b.multi_tenant(v),
                _ => b,
            };
        }
        for (k, v) in &self.lists {
            let v = Some(v.clone());
            b = match *k {
                "DBSecurityGroups" => b.set_db_security_groups(v),
                "VpcSecurityGroupIds" => b.set_vpc_security_group_ids(v),
                "EnableCloudwatchLogsExports" => b.set_enable_cloudwatch_logs_exports(v),
                _ => b,
            };
        }
        b.set_tags(self.tags.clone())
    }
}

/// Reads `wait_for_completion`, `waiter_delay`, `waiter_max_attempts` and `deferrable`; with
/// `deferrable` the operator waits in the process (the provider defers to a trigger that
/// waits the same way).
fn wait_settings(p: &mut ParamReader<'_>, attempts: u32) -> Result<WaitSettings, ParamError> {
    let mut w = WaitSettings::read(p, 30, attempts)?;
    if w.deferrable {
        w.wait_for_completion = true;
    }
    Ok(w)
}

/// `{"DBInstance": ...}` or `{"DBCluster": ...}`.
fn wrap(key: &str, v: Option<Value>) -> Value {
    let mut o = Obj::default();
    if let Some(v) = v {
        o = o.v(key, v);
    }
    o.value()
}

/// A configured `RdsCreateDbInstanceOperator`.
#[derive(Debug)]
pub struct RdsCreateDbInstanceOperator {
    aws: AwsParams,
    db_instance_identifier: String,
    db_instance_class: String,
    engine: String,
    args: CreateArgs,
    wait: WaitSettings,
}

impl Operator for RdsCreateDbInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsCreateDbInstanceOperator",
        aliases: &[],
        template_fields: aws_fields!(
            "db_instance_identifier",
            "db_instance_class",
            "engine",
            "rds_kwargs",
        ),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let db_instance_identifier = p.required_str(
            "db_instance_identifier",
            "the DB instance identifier (a letter, then up to 62 letters, digits or hyphens)",
        )?;
        let db_instance_class = p.required_str(
            "db_instance_class",
            "the compute and memory capacity of the instance, e.g. db.t4g.micro",
        )?;
        let engine = p.required_str("engine", "the database engine, e.g. postgres")?;
        let args = CreateArgs::read(&Kwargs::new(p.operator(), p.map("rds_kwargs")?))?;
        Ok(RdsCreateDbInstanceOperator {
            aws,
            db_instance_identifier,
            db_instance_class,
            engine,
            args,
            wait: wait_settings(p, 60)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.db_instance_identifier;
        ctx.info(&format!("Creating new DB instance {id}"));
        let call = rds
            .create_db_instance()
            .db_instance_identifier(id)
            .db_instance_class(&self.db_instance_class)
            .engine(&self.engine);
        let out =
            self.args.apply(call).send().await.map_err(|e| {
                airtask_aws::error::task_error(&format!("CreateDBInstance {id}"), &e)
            })?;
        let answer = wrap("DBInstance", out.db_instance().map(db_instance));
        if self.wait.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::Instance,
                id,
                AVAILABLE,
                &self.wait,
                "DB instance creation failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// CreateDBInstance on the instance and the groups it is created in (the parameter,
    /// option and subnet groups of `rds_kwargs`, every one where the default applies; and
    /// `DBClusterIdentifier`'s cluster), with what `rds_kwargs` adds: `rds:AddTagsToResource`
    /// for `Tags`, `iam:PassRole` for `MonitoringRoleArn` and `DomainIAMRoleName`, the KMS
    /// grant for `KmsKeyId`, the master password's secret for `ManageMasterUserPassword`.
    /// DescribeDBInstances with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let arg = |k: &str| {
            self.args
                .strings
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.as_str())
        };
        let rds = |r: &str| airtask_core::permissions::arn("rds", self.aws.region(), r);
        let id = &self.db_instance_identifier;
        let mut create = vec![
            Resource::Instance.arn(&self.aws, id),
            rds(&format!(
                "pg:{}",
                arg("DBParameterGroupName").unwrap_or("*")
            )),
            rds(&format!("og:{}", arg("OptionGroupName").unwrap_or("*"))),
            rds(&format!(
                "subgrp:{}",
                arg("DBSubnetGroupName").unwrap_or("*")
            )),
        ];
        if let Some(c) = arg("DBClusterIdentifier") {
            create.push(Resource::Cluster.arn(&self.aws, c));
        }
        let mut out = vec![Permission::new(&["rds:CreateDBInstance"], create)];
        if self.args.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            out.push(Resource::Instance.permission(&self.aws, id, &["rds:AddTagsToResource"]));
        }
        let mut roles = Vec::new();
        if let Some(r) = arg("MonitoringRoleArn") {
            roles.push(r.to_owned());
        }
        if let Some(r) = arg("DomainIAMRoleName") {
            roles.push(airtask_core::permissions::arn(
                "iam",
                Some(""),
                &format!("role/{r}"),
            ));
        }
        if !roles.is_empty() {
            out.push(Permission::new(&["iam:PassRole"], roles));
        }
        if let Some(key) = arg("KmsKeyId") {
            out.push(Permission::new(
                &["kms:CreateGrant", "kms:DescribeKey"],
                [common::kms_key_arn(&self.aws, key)],
            ));
        }
        if self
            .args
            .bools
            .iter()
            .any(|(k, v)| *k == "ManageMasterUserPassword" && *v)
        {
            out.push(Permission::new(
                &["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
                [airtask_core::permissions::arn(
                    "secretsmanager",
                    self.aws.region(),
                    "secret:rds!*",
                )],
            ));
        }
        if self.wait.wait_for_completion {
            out.push(Resource::Instance.permission(&self.aws, id, &["rds:DescribeDBInstances"]));
        }
        out
    }
}

/// A configured `RdsDeleteDbInstanceOperator`.
#[derive(Debug)]
pub struct RdsDeleteDbInstanceOperator {
    aws: AwsParams,
    db_instance_identifier: String,
    skip_final_snapshot: Option<bool>,
    final_db_snapshot_identifier: Option<String>,
    delete_automated_backups: Option<bool>,
    wait: WaitSettings,
}

impl Operator for RdsDeleteDbInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsDeleteDbInstanceOperator",
        aliases: &[],
        template_fields: aws_fields!("db_instance_identifier", "rds_kwargs"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let db_instance_identifier = p.required_str(
            "db_instance_identifier",
            "the identifier of the DB instance to delete",
        )?;
        let k = Kwargs::new(p.operator(), p.map("rds_kwargs")?);
        k.only(DELETE_KEYS, "DeleteDBInstance")?;
        Ok(RdsDeleteDbInstanceOperator {
            aws,
            db_instance_identifier,
            skip_final_snapshot: k.bool("SkipFinalSnapshot")?,
            final_db_snapshot_identifier: k.str("FinalDBSnapshotIdentifier")?,
            delete_automated_backups: k.bool("DeleteAutomatedBackups")?,
            wait: wait_settings(p, 60)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.db_instance_identifier;
        ctx.info(&format!("Deleting DB instance {id}"));
        let out = rds
            .delete_db_instance()
            .db_instance_identifier(id)
            .set_skip_final_snapshot(self.skip_final_snapshot)
            .set_final_db_snapshot_identifier(self.final_db_snapshot_identifier.clone())
            .set_delete_automated_backups(self.delete_automated_backups)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("DeleteDBInstance {id}"), &e))?;
        let answer = wrap("DBInstance", out.db_instance().map(db_instance));
        if self.wait.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::Instance,
                id,
                DELETED,
                &self.wait,
                "DB instance deletion failed",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// DeleteDBInstance on the instance, and CreateDBSnapshot on the final snapshot unless
    /// `rds_kwargs` says `SkipFinalSnapshot: true`; DescribeDBInstances with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let id = &self.db_instance_identifier;
        let mut actions = vec!["rds:DeleteDBInstance"];
        if self.wait.wait_for_completion {
            actions.push("rds:DescribeDBInstances");
        }
        let mut out = vec![Resource::Instance.permission(&self.aws, id, &actions)];
        if self.skip_final_snapshot != Some(true) {
            let snapshot = self.final_db_snapshot_identifier.as_deref().unwrap_or("*");
            out.push(Resource::Snapshot.permission(&self.aws, snapshot, &["rds:CreateDBSnapshot"]));
        }
        out
    }
}

/// A configured `RdsStartDbOperator`.
#[derive(Debug)]
pub struct RdsStartDbOperator {
    aws: AwsParams,
    db_identifier: String,
    db_type: DbType,
    wait: WaitSettings,
}

impl Operator for RdsStartDbOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsStartDbOperator",
        aliases: &[],
        template_fields: aws_fields!("db_identifier", "db_type"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsStartDbOperator {
            aws: AwsParams::read(p)?,
            db_identifier: p.required_str(
                "db_identifier",
                "the identifier of the DB instance or cluster to start",
            )?,
            db_type: common::db_type(p, Some(DbType::Instance))?,
            wait: wait_settings(p, 40)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.db_identifier;
        ctx.info(&format!("Starting DB {} '{id}'", self.db_type.as_str()));
        let answer = match self.db_type {
            DbType::Instance => {
                let out = rds
                    .start_db_instance()
                    .db_instance_identifier(id)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("StartDBInstance {id}"), &e)
                    })?;
                wrap("DBInstance", out.db_instance().map(db_instance))
            }
            DbType::Cluster => {
                let out = rds
                    .start_db_cluster()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("StartDBCluster {id}"), &e)
                    })?;
                wrap("DBCluster", out.db_cluster().map(db_cluster))
            }
        };
        if self.wait.wait_for_completion {
            ctx.info(&format!(
                "Waiting for DB {} to reach 'available' state",
                self.db_type.as_str()
            ));
            common::wait_for(
                ctx,
                &rds,
                Resource::db_of(self.db_type),
                id,
                AVAILABLE,
                &self.wait,
                "Failed to start DB",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// StartDBInstance or StartDBCluster (`db_type`) on the database; its Describe call with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::db_of(self.db_type);
        let mut actions = vec![match self.db_type {
            DbType::Instance => "rds:StartDBInstance",
            DbType::Cluster => "rds:StartDBCluster",
        }];
        if self.wait.wait_for_completion {
            actions.push(kind.describe_action());
        }
        vec![kind.permission(&self.aws, &self.db_identifier, &actions)]
    }
}

/// A configured `RdsStopDbOperator`.
#[derive(Debug)]
pub struct RdsStopDbOperator {
    aws: AwsParams,
    db_identifier: String,
    db_type: DbType,
    db_snapshot_identifier: Option<String>,
    wait: WaitSettings,
}

impl Operator for RdsStopDbOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.rds.RdsStopDbOperator",
        aliases: &[],
        template_fields: aws_fields!("db_identifier", "db_snapshot_identifier", "db_type"),
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(RdsStopDbOperator {
            aws: AwsParams::read(p)?,
            db_identifier: p.required_str(
                "db_identifier",
                "the identifier of the DB instance or cluster to stop",
            )?,
            db_type: common::db_type(p, Some(DbType::Instance))?,
            db_snapshot_identifier: common::non_empty(p.str("db_snapshot_identifier")?),
            wait: wait_settings(p, 40)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rds = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_rds))?;
        let id = &self.db_identifier;
        ctx.info(&format!("Stopping DB {} '{id}'", self.db_type.as_str()));
        let (answer, target) = match self.db_type {
            DbType::Instance => {
                let out = rds
                    .stop_db_instance()
                    .db_instance_identifier(id)
                    .set_db_snapshot_identifier(self.db_snapshot_identifier.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("StopDBInstance {id}"), &e)
                    })?;
                (
                    wrap("DBInstance", out.db_instance().map(db_instance)),
                    INSTANCE_STOPPED,
                )
            }
            DbType::Cluster => {
                if self.db_snapshot_identifier.is_some() {
                    ctx.warning(
                        "'db_snapshot_identifier' does not apply to db clusters. Remove it to \
                         silence this warning.",
                    );
                }
                let out = rds
                    .stop_db_cluster()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("StopDBCluster {id}"), &e)
                    })?;
                (
                    wrap("DBCluster", out.db_cluster().map(db_cluster)),
                    CLUSTER_STOPPED,
                )
            }
        };
        if self.wait.wait_for_completion {
            common::wait_for(
                ctx,
                &rds,
                Resource::db_of(self.db_type),
                id,
                target,
                &self.wait,
                "Failed to stop DB",
            )
            .await?;
        }
        Ok(Outcome::Success(Some(common::xcom(&answer))))
    }

    /// StopDBInstance or StopDBCluster (`db_type`) on the database (for an instance with
    /// `db_snapshot_identifier`, CreateDBSnapshot and StopDBInstance on that snapshot too); its
    /// Describe call with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let kind = Resource::db_of(self.db_type);
        let mut actions = vec![match self.db_type {
            DbType::Instance => "rds:StopDBInstance",
            DbType::Cluster => "rds:StopDBCluster",
        }];
        if self.wait.wait_for_completion {
            actions.push(kind.describe_action());
        }
        let mut out = vec![kind.permission(&self.aws, &self.db_identifier, &actions)];
        if let (DbType::Instance, Some(snapshot)) =
            (self.db_type, self.db_snapshot_identifier.as_deref())
        {
            out.push(Resource::Snapshot.permission(
                &self.aws,
                snapshot,
                &["rds:StopDBInstance", "rds:CreateDBSnapshot"],
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn rds_kwargs_are_read_with_boto3_types() {
        let op = build_operator::<RdsCreateDbInstanceOperator>(&params(json!({
            "db_instance_identifier": "db1",
            "db_instance_class": "db.t4g.micro",
            "engine": "postgres",
            "rds_kwargs": {"MasterUsername": "u", "AllocatedStorage": 20, "PubliclyAccessible": false,
                           "Tags": [{"Key": "k", "Value": "v"}]},
        })))
        .unwrap();
        assert_eq!(op.args.ints, [("AllocatedStorage", 20)]);
        assert_eq!(op.args.bools, [("PubliclyAccessible", false)]);
        assert_eq!(op.wait.waiter_max_attempts, 60);
        let e = build_operator::<RdsCreateDbInstanceOperator>(&params(json!({
            "db_instance_identifier": "db1", "db_instance_class": "c", "engine": "postgres",
            "rds_kwargs": {"Bogus": 1},
        })))
        .unwrap_err();
        assert!(e.message().contains("`Bogus`"), "{e}");
        assert_eq!(e.param(), Some("rds_kwargs"));
        let e = build_operator::<RdsCreateDbInstanceOperator>(&params(json!({
            "db_instance_identifier": "db1", "db_instance_class": "c", "engine": "postgres",
            "rds_kwargs": {"AllocatedStorage": "lots"},
        })))
        .unwrap_err();
        assert!(
            e.message()
                .contains("`AllocatedStorage` must be a whole number"),
            "{e}"
        );
    }

    #[test]
    fn db_type_must_be_instance_or_cluster() {
        let e = build_operator::<RdsStartDbOperator>(&params(json!({
            "db_identifier": "db1", "db_type": "table",
        })))
        .unwrap_err();
        assert!(e.message().contains("not a valid RdsDbType"), "{e}");
        let op =
            build_operator::<RdsStopDbOperator>(&params(json!({"db_identifier": "db1"}))).unwrap();
        assert_eq!(op.db_type, DbType::Instance);
        assert_eq!(op.wait.waiter_max_attempts, 40);
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::{RdsDeleteDbInstanceOperator, RdsStartDbOperator};

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn starting_a_cluster_or_an_instance_with_or_without_the_wait() {
        let start = |v| {
            build_operator::<RdsStartDbOperator>(&params(v))
                .expect("valid parameters")
                .permissions()
        };
        assert_eq!(
            start(json!({"db_identifier": "db1"})),
            [Permission::new(
                &["rds:StartDBInstance", "rds:DescribeDBInstances"],
                ["arn:aws:rds:{region}:{account}:db:db1"]
            )]
        );
        assert_eq!(
            start(
                json!({"db_identifier": "c1", "db_type": "cluster", "wait_for_completion": false})
            ),
            [Permission::new(
                &["rds:StartDBCluster"],
                ["arn:aws:rds:{region}:{account}:cluster:c1"]
            )]
        );
    }

    #[test]
    fn deleting_an_instance_takes_its_final_snapshot_unless_skipped() {
        let delete = |v| {
            build_operator::<RdsDeleteDbInstanceOperator>(&params(v))
                .expect("valid parameters")
                .permissions()
        };
        assert_eq!(
            delete(json!({
                "db_instance_identifier": "db1",
                "rds_kwargs": {"FinalDBSnapshotIdentifier": "last"},
                "wait_for_completion": false,
            })),
            [
                Permission::new(
                    &["rds:DeleteDBInstance"],
                    ["arn:aws:rds:{region}:{account}:db:db1"]
                ),
                Permission::new(
                    &["rds:CreateDBSnapshot"],
                    ["arn:aws:rds:{region}:{account}:snapshot:last"]
                ),
            ]
        );
        assert_eq!(
            delete(json!({
                "db_instance_identifier": "db1", "rds_kwargs": {"SkipFinalSnapshot": true},
            })),
            [Permission::new(
                &["rds:DeleteDBInstance", "rds:DescribeDBInstances"],
                ["arn:aws:rds:{region}:{account}:db:db1"]
            )]
        );
    }
}
