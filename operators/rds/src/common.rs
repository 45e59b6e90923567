//! What every RDS operator and sensor shares: `db_type`, tags and string lists as the
//! provider reads them, the states of RDS resources (one Describe call each, "not found" told
//! apart), the waits of the provider's hook and boto3 waiters, and the XCom value (the
//! response as `json.dumps(response, default=str)` writes it).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{ParamError, ParamReader, Permission, TaskContext, TaskError};
use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::Tag;
use serde_json::{Map, Value};

/// The logger of the RDS hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.rds.RdsHook";

/// The hook's default wait for snapshots and event subscriptions (`check_interval=30`,
/// `max_attempts=40`), which those operators do not let a task change.
pub(crate) const HOOK_DELAY: Duration = Duration::from_secs(30);
/// See [`HOOK_DELAY`].
pub(crate) const HOOK_MAX_ATTEMPTS: u32 = 40;

/// The provider's `RdsDbType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DbType {
    /// A DB instance.
    Instance,
    /// A DB cluster (Aurora, Multi-AZ DB cluster).
    Cluster,
}

impl DbType {
    /// The member's value (`instance`, `cluster`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            DbType::Instance => "instance",
            DbType::Cluster => "cluster",
        }
    }
}

/// Reads `db_type` (required when `default` is None). An unrendered template reads as an
/// instance: only the try can know it, and it is checked then.
pub(crate) fn db_type(
    p: &mut ParamReader<'_>,
    default: Option<DbType>,
) -> Result<DbType, ParamError> {
    let given = match (p.str("db_type")?, default) {
        (Some(s), _) => s,
        (None, Some(d)) => return Ok(d),
        (None, None) => {
            return Err(ParamError::at(
                "db_type",
                format!(
                    "{} needs `db_type`: instance or cluster (the provider's RdsDbType)",
                    p.operator()
                ),
            ));
        }
    };
    match given.as_str() {
        "instance" => Ok(DbType::Instance),
        "cluster" => Ok(DbType::Cluster),
        s if p.is_templated(s) => Ok(DbType::Instance),
        other => Err(ParamError::at(
            "db_type",
            format!(
                "{} parameter `db_type` is '{other}', which is not a valid RdsDbType; it must \
                 be instance or cluster",
                p.operator()
            ),
        )),
    }
}

/// An optional list of strings (`export_only`, `target_statuses`...); `None` when absent or
/// empty (the provider's `x or default`).
pub(crate) fn str_list(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<Option<Vec<String>>, ParamError> {
    let Some(items) = p.list(name)? else {
        return Ok(None);
    };
    let list = items
        .iter()
        .map(|i| match i {
            Value::String(s) => Ok(s.clone()),
            other => Err(ParamError::at(
                name,
                format!(
                    "{} parameter `{name}` must be a list of strings; it holds {}",
                    p.operator(),
                    airtask_core::params::describe(other)
                ),
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(list).filter(|l| !l.is_empty()))
}

/// `tags` as the provider's `format_tags` takes them: a mapping of names to values, or a list
/// of `{Key, Value}` mappings.
pub(crate) fn tags(p: &mut ParamReader<'_>) -> Result<Vec<Tag>, ParamError> {
    let op = p.operator();
    let bad = |what: String| {
        ParamError::at(
            "tags",
            format!(
                "{op} parameter `tags` must be a mapping of tag names to values or a list of \
                 {{Key: ..., Value: ...}} mappings; {what}"
            ),
        )
    };
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        _ => None,
    };
    match p.value("tags") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) if p.is_templated(s) => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                let value = text(v).ok_or_else(|| {
                    bad(format!("`{k}` is {}", airtask_core::params::describe(v)))
                })?;
                Ok(Tag::builder().key(k).value(value).build())
            })
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let Value::Object(m) = item else {
                    return Err(bad(format!(
                        "an item is {}",
                        airtask_core::params::describe(item)
                    )));
                };
                if let Some(k) = m.keys().find(|k| *k != "Key" && *k != "Value") {
                    return Err(bad(format!("an item has the unknown key `{k}`")));
                }
                Ok(Tag::builder()
                    .set_key(m.get("Key").and_then(text))
                    .set_value(m.get("Value").and_then(text))
                    .build())
            })
            .collect(),
        Some(other) => Err(bad(format!(
            "it is {}",
            airtask_core::params::describe(other)
        ))),
    }
}

/// An empty string as absent: the provider passes `""` defaults straight to boto3, which
/// sends nothing for them either way that matters here.
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// The RDS resources whose state the operators and sensors read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    /// DescribeDBInstances, `DBInstanceStatus`.
    Instance,
    /// DescribeDBClusters, `Status`.
    Cluster,
    /// DescribeDBSnapshots, `Status`.
    Snapshot,
    /// DescribeDBClusterSnapshots, `Status`.
    ClusterSnapshot,
    /// DescribeExportTasks, `Status`.
    ExportTask,
    /// DescribeEventSubscriptions, `Status`.
    EventSubscription,
}

impl Resource {
    /// What the resource is called in lines and errors.
    pub(crate) fn noun(self) -> &'static str {
        match self {
            Resource::Instance => "DB instance",
            Resource::Cluster => "DB cluster",
            Resource::Snapshot => "DB snapshot",
            Resource::ClusterSnapshot => "DB cluster snapshot",
            Resource::ExportTask => "export task",
            Resource::EventSubscription => "event subscription",
        }
    }

    /// The snapshot of a `db_type`.
    pub(crate) fn snapshot_of(t: DbType) -> Resource {
        match t {
            DbType::Instance => Resource::Snapshot,
            DbType::Cluster => Resource::ClusterSnapshot,
        }
    }

    /// The database of a `db_type`.
    pub(crate) fn db_of(t: DbType) -> Resource {
        match t {
            DbType::Instance => Resource::Instance,
            DbType::Cluster => Resource::Cluster,
        }
    }
}

/// Whether an error code means the resource does not exist (the hook's
/// `AirflowNotFoundException` cases, and the boto3 waiters' "not found" acceptors).
impl Resource {
    /// The IAM action of the Describe call that reads this kind of resource's state.
    pub(crate) fn describe_action(self) -> &'static str {
        match self {
            Resource::Instance => "rds:DescribeDBInstances",
            Resource::Cluster => "rds:DescribeDBClusters",
            Resource::Snapshot => "rds:DescribeDBSnapshots",
            Resource::ClusterSnapshot => "rds:DescribeDBClusterSnapshots",
            Resource::ExportTask => "rds:DescribeExportTasks",
            Resource::EventSubscription => "rds:DescribeEventSubscriptions",
        }
    }

    /// The ARN of the resource `id` of this kind in the operator's region (`id` itself when it
    /// is an ARN). An export task has no ARN of its own: `*`.
    pub(crate) fn arn(self, aws: &AwsParams, id: &str) -> String {
        if id.starts_with("arn:") {
            return id.to_owned();
        }
        let kind = match self {
            Resource::Instance => "db",
            Resource::Cluster => "cluster",
            Resource::Snapshot => "snapshot",
            Resource::ClusterSnapshot => "cluster-snapshot",
            Resource::EventSubscription => "es",
            Resource::ExportTask => return "*".to_owned(),
        };
        airtask_core::permissions::arn("rds", aws.region(), &format!("{kind}:{id}"))
    }

    /// `actions` on the resource `id`.
    pub(crate) fn permission(
        self,
        aws: &AwsParams,
        id: &str,
        actions: &[&'static str],
    ) -> Permission {
        Permission::new(actions, [self.arn(aws, id)])
    }
}

/// The ARN of a KMS key given as an ARN, a key id or an alias (an alias widens to every key:
/// IAM authorizes KMS calls on the key).
pub(crate) fn kms_key_arn(aws: &AwsParams, key: &str) -> String {
    if key.starts_with("arn:") {
        key.to_owned()
    } else if key.starts_with("alias/") {
        airtask_core::permissions::arn("kms", aws.region(), "key/*")
    } else {
        airtask_core::permissions::arn("kms", aws.region(), &format!("key/{key}"))
    }
}

fn not_found(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.ends_with("NotFound") || c.ends_with("NotFoundFault") || c == "SubscriptionNotFound"
    })
}

/// Maps a Describe call's error: `Ok(None)` when the resource does not exist.
fn describe_error<E>(
    what: &str,
    e: aws_sdk_rds::error::SdkError<E, aws_sdk_rds::config::http::HttpResponse>,
) -> Result<Option<String>, TaskError>
where
    E: aws_sdk_rds::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    if not_found(airtask_aws::error::code(&e)) {
        Ok(None)
    } else {
        Err(airtask_aws::error::task_error(what, &e))
    }
}

/// The state of `id` in lower case (the hook's `get_*_state`), `None` when it does not exist.
///
/// # Errors
/// Another error of the Describe call.
pub(crate) async fn state(
    rds: &Client,
    kind: Resource,
    id: &str,
) -> Result<Option<String>, TaskError> {
    let status = match kind {
        Resource::Instance => match rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(o) => o
                .db_instances()
                .first()
                .map(|d| d.db_instance_status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeDBInstances {id}"), e),
        },
        Resource::Cluster => match rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(o) => o
                .db_clusters()
                .first()
                .map(|d| d.status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeDBClusters {id}"), e),
        },
        Resource::Snapshot => match rds
            .describe_db_snapshots()
            .db_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(o) => o
                .db_snapshots()
                .first()
                .map(|d| d.status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeDBSnapshots {id}"), e),
        },
        Resource::ClusterSnapshot => match rds
            .describe_db_cluster_snapshots()
            .db_cluster_snapshot_identifier(id)
            .send()
            .await
        {
            Ok(o) => o
                .db_cluster_snapshots()
                .first()
                .map(|d| d.status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeDBClusterSnapshots {id}"), e),
        },
        Resource::ExportTask => match rds
            .describe_export_tasks()
            .export_task_identifier(id)
            .send()
            .await
        {
            Ok(o) => o
                .export_tasks()
                .first()
                .map(|d| d.status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeExportTasks {id}"), e),
        },
        Resource::EventSubscription => match rds
            .describe_event_subscriptions()
            .subscription_name(id)
            .send()
            .await
        {
            Ok(o) => o
                .event_subscriptions_list()
                .first()
                .map(|d| d.status().unwrap_or_default().to_owned()),
            Err(e) => return describe_error(&format!("DescribeEventSubscriptions {id}"), e),
        },
    };
    Ok(status.map(|s| s.to_lowercase()))
}

/// What a wait accepts: a boto3 waiter's acceptors, or the hook's `_wait_for_state`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target {
    /// The state waited for.
    pub(crate) success: &'static str,
    /// States that end the wait with a failure.
    pub(crate) failure: &'static [&'static str],
    /// Whether "not found" is the success (the `*_deleted` waiters) rather than an error.
    pub(crate) gone_is_success: bool,
    /// The waiter's name, for the failure message (boto3's `Waiter <name> failed`).
    pub(crate) waiter: &'static str,
}

/// boto3's `db_instance_available`, `db_snapshot_available`, `db_cluster_available` and
/// `db_cluster_snapshot_available` failure states.
const AVAILABLE_FAILURES: &[&str] = &[
    "deleted",
    "deleting",
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
];

/// boto3's `*_deleted` waiters' failure states.
const DELETED_FAILURES: &[&str] = &[
    "creating",
    "modifying",
    "rebooting",
    "resetting-master-credentials",
];

/// Waits for `available` (boto3's `db_*_available` waiters).
pub(crate) const AVAILABLE: Target = Target {
    success: "available",
    failure: AVAILABLE_FAILURES,
    gone_is_success: false,
    waiter: "available",
};

/// Waits for the resource to be gone (boto3's `db_*_deleted` waiters).
pub(crate) const DELETED: Target = Target {
    success: "deleted",
    failure: DELETED_FAILURES,
    gone_is_success: true,
    waiter: "deleted",
};

/// The provider's `db_instance_stopped` waiter (waiters/rds.json).
pub(crate) const INSTANCE_STOPPED: Target = Target {
    success: "stopped",
    failure: &[
        "available",
        "delete-precheck",
        "deleting",
        "failed",
        "inaccessible-encryption-credentials",
        "inaccessible-encryption-credentials-recoverable",
        "incompatible-network",
        "incompatible-option-group",
        "incompatible-parameters",
        "incompatible-restore",
        "insufficient-capacity",
        "restore-error",
        "storage-full",
    ],
    gone_is_success: false,
    waiter: "stopped",
};

/// The provider's `db_cluster_stopped` waiter: its failure acceptors look at DB instances, so
/// for a cluster only `stopped` ends the wait.
pub(crate) const CLUSTER_STOPPED: Target = Target {
    success: "stopped",
    failure: &[],
    gone_is_success: false,
    waiter: "stopped",
};

/// The hook's `_wait_for_state(target)`: any other state is polled again.
pub(crate) const fn until(state: &'static str, failure: &'static [&'static str]) -> Target {
    Target {
        success: state,
        failure,
        gone_is_success: false,
        waiter: state,
    }
}

/// Waits until `id` reaches `target`; `failure_message` opens the error of a failure state
/// (the provider's `failure_message`).
///
/// # Errors
/// A failure state, the resource missing (unless that is the success), a Describe error, or
/// no terminal state after the settings' attempts.
pub(crate) async fn wait_for(
    ctx: &TaskContext,
    rds: &Client,
    kind: Resource,
    id: &str,
    target: Target,
    settings: &WaitSettings,
    failure_message: &str,
) -> Result<(), TaskError> {
    let what = format!("RDS {} {id}", kind.noun());
    wait::until_terminal(ctx, settings, &what, move || async move {
        match state(rds, kind, id).await? {
            None if target.gone_is_success => Ok(Poll::Done(())),
            None => Err(TaskError::fatal(format!(
                "{failure_message}: the {} {id} was not found",
                kind.noun()
            ))),
            Some(s) if s == target.success => Ok(Poll::Done(())),
            Some(s) if target.failure.contains(&s.as_str()) => Err(TaskError::fatal(format!(
                "{failure_message}: the {} {id} is '{s}', a state from which it cannot become \
                 '{}' (waiter {}: terminal failure state)",
                kind.noun(),
                target.success,
                target.waiter
            ))),
            Some(s) => Ok(Poll::Pending { state: s }),
        }
    })
    .await?;
    ctx.hook_info(
        HOOK_LOGGER,
        &format!(
            "{} '{id}' reached the '{}' state",
            kind.noun(),
            target.success
        ),
    );
    Ok(())
}

/// The hook's fixed wait (30 s apart, 40 polls) as settings.
pub(crate) fn hook_wait() -> WaitSettings {
    WaitSettings {
        wait_for_completion: true,
        waiter_delay: HOOK_DELAY,
        waiter_max_attempts: HOOK_MAX_ATTEMPTS,
        deferrable: false,
    }
}

/// A JSON object of an answer's fields, leaving out the absent ones as boto3 does.
#[derive(Debug, Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    /// A string field.
    pub(crate) fn s(mut self, key: &str, v: Option<&str>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A whole-number field.
    pub(crate) fn i(mut self, key: &str, v: Option<i32>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A boolean field.
    pub(crate) fn b(mut self, key: &str, v: Option<bool>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(v));
        }
        self
    }

    /// A time field, as Python's `str(datetime)` writes it (`default=str`).
    pub(crate) fn t(mut self, key: &str, v: Option<&DateTime>) -> Obj {
        if let Some(v) = v {
            self.0.insert(key.to_owned(), Value::from(python_time(v)));
        }
        self
    }

    /// A list of strings (left out when empty, as boto3 leaves out absent lists).
    pub(crate) fn list(mut self, key: &str, v: &[String]) -> Obj {
        if !v.is_empty() {
            self.0.insert(key.to_owned(), Value::from(v.to_vec()));
        }
        self
    }

    /// A tag list.
    pub(crate) fn tags(mut self, key: &str, v: &[Tag]) -> Obj {
        if !v.is_empty() {
            let tags = v
                .iter()
                .map(|t| {
                    Obj::default()
                        .s("Key", t.key())
                        .s("Value", t.value())
                        .value()
                })
                .collect::<Vec<_>>();
            self.0.insert(key.to_owned(), Value::from(tags));
        }
        self
    }

    /// Any value.
    pub(crate) fn v(mut self, key: &str, v: Value) -> Obj {
        self.0.insert(key.to_owned(), v);
        self
    }

    /// The object.
    pub(crate) fn value(self) -> Value {
        Value::Object(self.0)
    }
}

/// A time as Python's `str()` of a UTC datetime: `2025-03-09 12:00:00+00:00`, with
/// microseconds when there are any.
pub(crate) fn python_time(t: &DateTime) -> String {
    let iso = t
        .fmt(aws_sdk_rds::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    let iso = iso.trim_end_matches('Z').replacen('T', " ", 1);
    match iso.split_once('.') {
        Some((secs, frac)) => format!("{secs}.{frac:0<6}+00:00"),
        None => format!("{iso}+00:00"),
    }
}

/// The XCom value: the answer as `json.dumps(response, default=str)` writes it (a string;
/// Python's separators `, ` and `: `).
pub(crate) fn xcom(v: &Value) -> Value {
    Value::String(python_json(v))
}

/// `json.dumps` of a value, with Python's default separators.
pub(crate) fn python_json(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", Value::from(k.as_str()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A DB snapshot as the answers carry it.
pub(crate) fn db_snapshot(s: &aws_sdk_rds::types::DbSnapshot) -> Value {
    Obj::default()
        .s("DBSnapshotIdentifier", s.db_snapshot_identifier())
        .s("DBInstanceIdentifier", s.db_instance_identifier())
        .t("SnapshotCreateTime", s.snapshot_create_time())
        .s("Engine", s.engine())
        .i("AllocatedStorage", s.allocated_storage())
        .s("Status", s.status())
        .i("Port", s.port())
        .s("AvailabilityZone", s.availability_zone())
        .s("VpcId", s.vpc_id())
        .t("InstanceCreateTime", s.instance_create_time())
        .s("MasterUsername", s.master_username())
        .s("EngineVersion", s.engine_version())
        .s("LicenseModel", s.license_model())
        .s("SnapshotType", s.snapshot_type())
        .s("OptionGroupName", s.option_group_name())
        .i("PercentProgress", s.percent_progress())
        .s("SourceRegion", s.source_region())
        .s(
            "SourceDBSnapshotIdentifier",
            s.source_db_snapshot_identifier(),
        )
        .s("StorageType", s.storage_type())
        .b("Encrypted", s.encrypted())
        .s("KmsKeyId", s.kms_key_id())
        .s("DBSnapshotArn", s.db_snapshot_arn())
        .b(
            "IAMDatabaseAuthenticationEnabled",
            s.iam_database_authentication_enabled(),
        )
        .s("DbiResourceId", s.dbi_resource_id())
        .tags("TagList", s.tag_list())
        .value()
}

/// A DB cluster snapshot as the answers carry it.
pub(crate) fn db_cluster_snapshot(s: &aws_sdk_rds::types::DbClusterSnapshot) -> Value {
    Obj::default()
        .list("AvailabilityZones", s.availability_zones())
        .s(
            "DBClusterSnapshotIdentifier",
            s.db_cluster_snapshot_identifier(),
        )
        .s("DBClusterIdentifier", s.db_cluster_identifier())
        .t("SnapshotCreateTime", s.snapshot_create_time())
        .s("Engine", s.engine())
        .i("AllocatedStorage", s.allocated_storage())
        .s("Status", s.status())
        .i("Port", s.port())
        .s("VpcId", s.vpc_id())
        .t("ClusterCreateTime", s.cluster_create_time())
        .s("MasterUsername", s.master_username())
        .s("EngineVersion", s.engine_version())
        .s("LicenseModel", s.license_model())
        .s("SnapshotType", s.snapshot_type())
        .i("PercentProgress", s.percent_progress())
        .b("StorageEncrypted", s.storage_encrypted())
        .s("KmsKeyId", s.kms_key_id())
        .s("DBClusterSnapshotArn", s.db_cluster_snapshot_arn())
        .s(
            "SourceDBClusterSnapshotArn",
            s.source_db_cluster_snapshot_arn(),
        )
        .b(
            "IAMDatabaseAuthenticationEnabled",
            s.iam_database_authentication_enabled(),
        )
        .tags("TagList", s.tag_list())
        .value()
}

/// A DB instance as the answers carry it (its main fields).
pub(crate) fn db_instance(d: &aws_sdk_rds::types::DbInstance) -> Value {
    let endpoint = d.endpoint().map(|e| {
        Obj::default()
            .s("Address", e.address())
            .i("Port", e.port())
            .s("HostedZoneId", e.hosted_zone_id())
            .value()
    });
    let mut o = Obj::default()
        .s("DBInstanceIdentifier", d.db_instance_identifier())
        .s("DBInstanceClass", d.db_instance_class())
        .s("Engine", d.engine())
        .s("DBInstanceStatus", d.db_instance_status())
        .s("MasterUsername", d.master_username())
        .s("DBName", d.db_name());
    if let Some(e) = endpoint {
        o = o.v("Endpoint", e);
    }
    o.i("AllocatedStorage", d.allocated_storage())
        .t("InstanceCreateTime", d.instance_create_time())
        .s("PreferredBackupWindow", d.preferred_backup_window())
        .i("BackupRetentionPeriod", d.backup_retention_period())
        .s("AvailabilityZone", d.availability_zone())
        .s(
            "PreferredMaintenanceWindow",
            d.preferred_maintenance_window(),
        )
        .b("MultiAZ", d.multi_az())
        .s("EngineVersion", d.engine_version())
        .b("AutoMinorVersionUpgrade", d.auto_minor_version_upgrade())
        .s("LicenseModel", d.license_model())
        .b("PubliclyAccessible", d.publicly_accessible())
        .s("StorageType", d.storage_type())
        .i("DbInstancePort", d.db_instance_port())
        .s("DBClusterIdentifier", d.db_cluster_identifier())
        .b("StorageEncrypted", d.storage_encrypted())
        .s("KmsKeyId", d.kms_key_id())
        .s("DbiResourceId", d.dbi_resource_id())
        .s("DBInstanceArn", d.db_instance_arn())
        .b("DeletionProtection", d.deletion_protection())
        .tags("TagList", d.tag_list())
        .value()
}

/// A DB cluster as the answers carry it (its main fields).
pub(crate) fn db_cluster(c: &aws_sdk_rds::types::DbCluster) -> Value {
    Obj::default()
        .i("AllocatedStorage", c.allocated_storage())
        .list("AvailabilityZones", c.availability_zones())
        .i("BackupRetentionPeriod", c.backup_retention_period())
        .s("DatabaseName", c.database_name())
        .s("DBClusterIdentifier", c.db_cluster_identifier())
        .s("DBClusterParameterGroup", c.db_cluster_parameter_group())
        .s("DBSubnetGroup", c.db_subnet_group())
        .s("Status", c.status())
        .s("Endpoint", c.endpoint())
        .s("ReaderEndpoint", c.reader_endpoint())
        .b("MultiAZ", c.multi_az())
        .s("Engine", c.engine())
        .s("EngineVersion", c.engine_version())
        .i("Port", c.port())
        .s("MasterUsername", c.master_username())
        .b("StorageEncrypted", c.storage_encrypted())
        .s("KmsKeyId", c.kms_key_id())
        .s("DbClusterResourceId", c.db_cluster_resource_id())
        .s("DBClusterArn", c.db_cluster_arn())
        .t("ClusterCreateTime", c.cluster_create_time())
        .b("DeletionProtection", c.deletion_protection())
        .tags("TagList", c.tag_list())
        .value()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_is_written_as_python_writes_it() {
        let v = json!({"DBSnapshot": {"Status": "available", "Port": 5432, "TagList": [{"Key": "a", "Value": "b"}]}});
        assert_eq!(
            python_json(&v),
            r#"{"DBSnapshot": {"Status": "available", "Port": 5432, "TagList": [{"Key": "a", "Value": "b"}]}}"#
        );
    }

    #[test]
    fn times_are_written_as_python_str_of_a_utc_datetime() {
        assert_eq!(
            python_time(&DateTime::from_secs(1_741_521_600)),
            "2025-03-09 12:00:00+00:00"
        );
        assert_eq!(
            python_time(&DateTime::from_millis(1_741_521_600_250)),
            "2025-03-09 12:00:00.250000+00:00"
        );
    }

    #[test]
    fn not_found_codes() {
        for c in [
            "DBInstanceNotFound",
            "DBSnapshotNotFound",
            "DBClusterSnapshotNotFoundFault",
            "ExportTaskNotFoundFault",
            "SubscriptionNotFound",
        ] {
            assert!(not_found(Some(c)), "{c}");
        }
        assert!(!not_found(Some("InvalidDBInstanceState")));
        assert!(!not_found(None));
    }
}
