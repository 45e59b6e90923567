//! The Redshift cluster operators: create, pause, resume and delete a provisioned cluster, and
//! create and delete a manual snapshot of one. None of them pushes an XCom (their `execute`
//! returns nothing). Each waits as the provider does: with botocore's or the provider's waiter
//! when `wait_for_completion` (or `deferrable`, which runs the same wait in the process) asks
//! for it; pause, resume and delete are sent again, 15 s apart and 10 times at most, while the
//! cluster's state refuses them (InvalidClusterStateFault).

use airtask_aws::AwsParams;
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_redshift::Client;
use aws_sdk_redshift::types::Tag;

use crate::cluster::{
    self, CallError, ClusterWaiter, HOOK_LOGGER, NOT_FOUND, str_list, wait_cluster, wait_settings,
    while_state_refuses,
};

/// The ARN of a Redshift resource (`cluster:ID`, `snapshot:CLUSTER/SNAPSHOT`) in the
/// operator's region.
fn rs_arn(aws: &AwsParams, resource: &str) -> String {
    airtask_core::permissions::arn("redshift", aws.region(), resource)
}

/// DescribeClusters on one cluster (its status: the waits, and the state checks).
fn describe_cluster(aws: &AwsParams, id: &str) -> Permission {
    Permission::new(
        &["redshift:DescribeClusters"],
        [rs_arn(aws, &format!("cluster:{id}"))],
    )
}

/// The call's error: a refusal by the cluster's state, or another failure.
fn call_error<E>(
    what: &str,
    e: &aws_sdk_redshift::error::SdkError<E, aws_sdk_redshift::config::http::HttpResponse>,
    invalid_state: bool,
) -> CallError
where
    E: aws_sdk_redshift::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let err = airtask_aws::error::task_error(what, e);
    if invalid_state {
        CallError::InvalidState(err)
    } else {
        CallError::Other(err)
    }
}

/// A configured `RedshiftCreateClusterOperator`.
#[derive(Debug)]
pub struct RedshiftCreateClusterOperator {
    aws: AwsParams,
    cluster_identifier: String,
    node_type: String,
    master_username: String,
    master_user_password: String,
    cluster_type: Option<String>,
    db_name: Option<String>,
    number_of_nodes: i32,
    cluster_security_groups: Option<Vec<String>>,
    vpc_security_group_ids: Option<Vec<String>>,
    cluster_subnet_group_name: Option<String>,
    availability_zone: Option<String>,
    preferred_maintenance_window: Option<String>,
    cluster_parameter_group_name: Option<String>,
    automated_snapshot_retention_period: i32,
    manual_snapshot_retention_period: Option<i32>,
    port: i32,
    cluster_version: Option<String>,
    allow_version_upgrade: bool,
    publicly_accessible: bool,
    encrypted: bool,
    hsm_client_certificate_identifier: Option<String>,
    hsm_configuration_identifier: Option<String>,
    elastic_ip: Option<String>,
    tags: Option<Vec<Tag>>,
    kms_key_id: Option<String>,
    enhanced_vpc_routing: bool,
    additional_info: Option<String>,
    iam_roles: Option<Vec<String>>,
    maintenance_track_name: Option<String>,
    snapshot_schedule_identifier: Option<String>,
    availability_zone_relocation: bool,
    aqua_configuration_status: Option<String>,
    default_iam_role_arn: Option<String>,
    wait: WaitSettings,
}

/// An optional whole number in `range`, as an `i32`.
fn int(
    p: &mut ParamReader<'_>,
    name: &'static str,
    range: std::ops::RangeInclusive<i32>,
) -> Result<Option<i32>, ParamError> {
    let wide = i64::from(*range.start())..=i64::from(*range.end());
    Ok(p.i64(name, wide)?.and_then(|n| i32::try_from(n).ok()))
}

/// A string the provider leaves out when it is empty (`if self.x:`).
fn nonempty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.is_empty())
}

/// A list the provider leaves out when it is empty.
fn nonempty_list<T>(v: Option<Vec<T>>) -> Option<Vec<T>> {
    v.filter(|l| !l.is_empty())
}

impl Operator for RedshiftCreateClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftCreateClusterOperator",
        aliases: &[],
        template_fields: &[
            "additional_info",
            "allow_version_upgrade",
            "aqua_configuration_status",
            "automated_snapshot_retention_period",
            "availability_zone",
            "availability_zone_relocation",
            "aws_conn_id",
            "cluster_identifier",
            "cluster_parameter_group_name",
            "cluster_security_groups",
            "cluster_subnet_group_name",
            "cluster_type",
            "cluster_version",
            "db_name",
            "default_iam_role_arn",
            "elastic_ip",
            "encrypted",
            "enhanced_vpc_routing",
            "hsm_client_certificate_identifier",
            "hsm_configuration_identifier",
            "iam_roles",
            "kms_key_id",
            "maintenance_track_name",
            "manual_snapshot_retention_period",
            "master_user_password",
            "master_username",
            "node_type",
            "number_of_nodes",
            "port",
            "preferred_maintenance_window",
            "publicly_accessible",
            "region_name",
            "snapshot_schedule_identifier",
            "tags",
            "verify",
            "vpc_security_group_ids",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_identifier = p.required_str(
            "cluster_identifier",
            "the identifier of the cluster to create (lower-case letters, digits and hyphens)",
        )?;
        let node_type = p.required_str(
            "node_type",
            "the node type to provision (ra3.xlplus, ra3.4xlarge, dc2.large...)",
        )?;
        let master_username =
            p.required_str("master_username", "the name of the cluster's admin user")?;
        let master_user_password = p.required_str(
            "master_user_password",
            "the password of the cluster's admin user",
        )?;
        let cluster_type = match p.str("cluster_type")? {
            None => Some("multi-node".to_owned()),
            Some(t) if t.is_empty() => None,
            Some(t) => Some(t),
        };
        if let Some(t) = &cluster_type
            && t != "multi-node"
            && t != "single-node"
            && !p.is_templated(t)
        {
            return Err(ParamError::at(
                "cluster_type",
                format!(
                    "RedshiftCreateClusterOperator parameter `cluster_type` must be multi-node \
                     or single-node, not '{t}'"
                ),
            ));
        }
        let db_name = match p.str("db_name")? {
            None => Some("dev".to_owned()),
            Some(d) => nonempty(Some(d)),
        };
        let number_of_nodes = int(p, "number_of_nodes", 0..=i32::MAX)?.unwrap_or(1);
        let cluster_security_groups = str_list(p, "cluster_security_groups")?;
        let vpc_security_group_ids = str_list(p, "vpc_security_group_ids")?;
        let cluster_subnet_group_name = p.str("cluster_subnet_group_name")?;
        let availability_zone = p.str("availability_zone")?;
        let preferred_maintenance_window = p.str("preferred_maintenance_window")?;
        let cluster_parameter_group_name = p.str("cluster_parameter_group_name")?;
        let automated_snapshot_retention_period =
            int(p, "automated_snapshot_retention_period", 0..=35)?.unwrap_or(1);
        let manual_snapshot_retention_period =
            int(p, "manual_snapshot_retention_period", -1..=3653)?;
        let port = int(p, "port", 0..=65_535)?.unwrap_or(5439);
        let cluster_version = match p.str("cluster_version")? {
            None => Some("1.0".to_owned()),
            Some(v) => nonempty(Some(v)),
        };
        let allow_version_upgrade = p.bool("allow_version_upgrade", true)?;
        let publicly_accessible = p.bool("publicly_accessible", true)?;
        let encrypted = p.bool("encrypted", false)?;
        let hsm_client_certificate_identifier = p.str("hsm_client_certificate_identifier")?;
        let hsm_configuration_identifier = p.str("hsm_configuration_identifier")?;
        let elastic_ip = p.str("elastic_ip")?;
        let tags = cluster::tags(p)?;
        let kms_key_id = p.str("kms_key_id")?;
        let enhanced_vpc_routing = p.bool("enhanced_vpc_routing", false)?;
        let additional_info = p.str("additional_info")?;
        let iam_roles = str_list(p, "iam_roles")?;
        let maintenance_track_name = p.str("maintenance_track_name")?;
        let snapshot_schedule_identifier = p.str("snapshot_schedule_identifier")?;
        let availability_zone_relocation = p.bool("availability_zone_relocation", false)?;
        let aqua_configuration_status = p.str("aqua_configuration_status")?;
        let default_iam_role_arn = p.str("default_iam_role_arn")?;
        let wait_for_completion = p.bool("wait_for_completion", false)?;
        let deferrable = p.bool("deferrable", false)?;
        let wait = wait_settings(
            p,
            wait_for_completion || deferrable,
            deferrable,
            60.0,
            "max_attempt",
            5,
        )?;
        Ok(RedshiftCreateClusterOperator {
            aws,
            cluster_identifier,
            node_type,
            master_username,
            master_user_password,
            cluster_type,
            db_name,
            number_of_nodes,
            cluster_security_groups: nonempty_list(cluster_security_groups),
            vpc_security_group_ids: nonempty_list(vpc_security_group_ids),
            cluster_subnet_group_name: nonempty(cluster_subnet_group_name),
            availability_zone: nonempty(availability_zone),
            preferred_maintenance_window: nonempty(preferred_maintenance_window),
            cluster_parameter_group_name: nonempty(cluster_parameter_group_name),
            automated_snapshot_retention_period,
            manual_snapshot_retention_period,
            port,
            cluster_version,
            allow_version_upgrade,
            publicly_accessible,
            encrypted,
            hsm_client_certificate_identifier: nonempty(hsm_client_certificate_identifier),
            hsm_configuration_identifier: nonempty(hsm_configuration_identifier),
            elastic_ip: nonempty(elastic_ip),
            tags: nonempty_list(tags),
            kms_key_id: nonempty(kms_key_id),
            enhanced_vpc_routing,
            additional_info: nonempty(additional_info),
            iam_roles: nonempty_list(iam_roles),
            maintenance_track_name: nonempty(maintenance_track_name),
            snapshot_schedule_identifier: nonempty(snapshot_schedule_identifier),
            availability_zone_relocation,
            aqua_configuration_status: nonempty(aqua_configuration_status),
            default_iam_role_arn: nonempty(default_iam_role_arn),
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rs =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let id = self.cluster_identifier.as_str();
        ctx.info(&format!("Creating Redshift cluster {id}"));
        // As the provider: a value that is false, 0 or empty is left out (AWS's default
        // applies), except PubliclyAccessible, always sent.
        let truthy = |b: bool| b.then_some(true);
        let positive = |n: i32| (n != 0).then_some(n);
        let multi = self.cluster_type.as_deref() == Some("multi-node");
        let out = rs
            .create_cluster()
            .cluster_identifier(id)
            .node_type(&self.node_type)
            .master_username(&self.master_username)
            .master_user_password(&self.master_user_password)
            .set_db_name(self.db_name.clone())
            .set_cluster_type(self.cluster_type.clone())
            .set_number_of_nodes(multi.then_some(self.number_of_nodes))
            .set_cluster_security_groups(self.cluster_security_groups.clone())
            .set_vpc_security_group_ids(self.vpc_security_group_ids.clone())
            .set_cluster_subnet_group_name(self.cluster_subnet_group_name.clone())
            .set_availability_zone(self.availability_zone.clone())
            .set_preferred_maintenance_window(self.preferred_maintenance_window.clone())
            .set_cluster_parameter_group_name(self.cluster_parameter_group_name.clone())
            .set_automated_snapshot_retention_period(positive(
                self.automated_snapshot_retention_period,
            ))
            .set_manual_snapshot_retention_period(
                self.manual_snapshot_retention_period.and_then(positive),
            )
            .set_port(positive(self.port))
            .set_cluster_version(self.cluster_version.clone())
            .set_allow_version_upgrade(truthy(self.allow_version_upgrade))
            .set_encrypted(truthy(self.encrypted))
            .set_hsm_client_certificate_identifier(self.hsm_client_certificate_identifier.clone())
            .set_hsm_configuration_identifier(self.hsm_configuration_identifier.clone())
            .set_elastic_ip(self.elastic_ip.clone())
            .set_tags(self.tags.clone())
            .set_kms_key_id(self.kms_key_id.clone())
            .set_enhanced_vpc_routing(truthy(self.enhanced_vpc_routing))
            .set_additional_info(self.additional_info.clone())
            .set_iam_roles(self.iam_roles.clone())
            .set_maintenance_track_name(self.maintenance_track_name.clone())
            .set_snapshot_schedule_identifier(self.snapshot_schedule_identifier.clone())
            .set_availability_zone_relocation(truthy(self.availability_zone_relocation))
            .set_aqua_configuration_status(
                self.aqua_configuration_status
                    .as_deref()
                    .map(aws_sdk_redshift::types::AquaConfigurationStatus::from),
            )
            .set_default_iam_role_arn(self.default_iam_role_arn.clone())
            .publicly_accessible(self.publicly_accessible)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("CreateCluster {id}"), &e))?;
        if self.wait.wait_for_completion {
            wait_cluster(ctx, &rs, id, ClusterWaiter::Available, &self.wait).await?;
        }
        ctx.info(&format!("Created Redshift cluster {id}"));
        if let Some(c) = out.cluster() {
            // The provider logs the whole answer; its useful part, without secrets.
            ctx.info(&format!(
                "Cluster {}: status {}, node type {}, {} node(s), database {}",
                c.cluster_identifier().unwrap_or(id),
                c.cluster_status().unwrap_or("unknown"),
                c.node_type().unwrap_or("unknown"),
                c.number_of_nodes().unwrap_or_default(),
                c.db_name().unwrap_or("unknown"),
            ));
        }
        Ok(Outcome::Success(None))
    }

    /// CreateCluster, with `iam:PassRole` on `iam_roles` and `default_iam_role_arn`, and the
    /// KMS grants Redshift makes with `kms_key_id`; DescribeClusters with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["redshift:CreateCluster"];
        if self.wait.wait_for_completion {
            actions.push("redshift:DescribeClusters");
        }
        let mut out = vec![Permission::new(
            &actions,
            [rs_arn(
                &self.aws,
                &format!("cluster:{}", self.cluster_identifier),
            )],
        )];
        let roles: Vec<String> = self
            .iam_roles
            .iter()
            .flatten()
            .chain(self.default_iam_role_arn.iter())
            .cloned()
            .collect();
        if !roles.is_empty() {
            out.push(Permission::new(&["iam:PassRole"], roles));
        }
        if let Some(key) = &self.kms_key_id {
            let key = if key.starts_with("arn:") {
                key.clone()
            } else {
                airtask_core::permissions::arn("kms", self.aws.region(), &format!("key/{key}"))
            };
            out.push(Permission::new(
                &[
                    "kms:CreateGrant",
                    "kms:Decrypt",
                    "kms:DescribeKey",
                    "kms:GenerateDataKey",
                    "kms:RetireGrant",
                ],
                [key],
            ));
        }
        out
    }
}

/// A configured `RedshiftCreateClusterSnapshotOperator`.
#[derive(Debug)]
pub struct RedshiftCreateClusterSnapshotOperator {
    aws: AwsParams,
    snapshot_identifier: String,
    cluster_identifier: String,
    retention_period: i32,
    tags: Vec<Tag>,
    wait: WaitSettings,
}

impl Operator for RedshiftCreateClusterSnapshotOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftCreateClusterSnapshotOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "cluster_identifier",
            "region_name",
            "snapshot_identifier",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let snapshot_identifier = p.required_str(
            "snapshot_identifier",
            "the identifier of the manual snapshot to create",
        )?;
        let cluster_identifier = p.required_str(
            "cluster_identifier",
            "the identifier of the cluster to snapshot (it must be available)",
        )?;
        let retention_period = int(p, "retention_period", -1..=3653)?.unwrap_or(-1);
        let tags = cluster::tags(p)?.unwrap_or_default();
        let wait_for_completion = p.bool("wait_for_completion", false)?;
        let deferrable = p.bool("deferrable", false)?;
        let wait = wait_settings(
            p,
            wait_for_completion || deferrable,
            deferrable,
            15.0,
            "max_attempt",
            20,
        )?;
        Ok(RedshiftCreateClusterSnapshotOperator {
            aws,
            snapshot_identifier,
            cluster_identifier,
            retention_period,
            tags,
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rs =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let id = self.cluster_identifier.as_str();
        let state = cluster::cluster_status(&rs, id).await?;
        if state != "available" {
            return Err(TaskError::retryable(format!(
                "Redshift cluster must be in available state. Redshift cluster current state is \
                 {state} (cluster {id})"
            )));
        }
        rs.create_cluster_snapshot()
            .snapshot_identifier(&self.snapshot_identifier)
            .cluster_identifier(id)
            .manual_snapshot_retention_period(self.retention_period)
            .set_tags(Some(self.tags.clone()))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!(
                        "CreateClusterSnapshot {} of cluster {id}",
                        self.snapshot_identifier
                    ),
                    &e,
                )
            })?;
        if self.wait.wait_for_completion {
            cluster::wait_snapshots(ctx, &rs, id, &self.wait).await?;
            if self.wait.deferrable {
                ctx.info("Cluster snapshot created.");
            }
        }
        Ok(Outcome::Success(None))
    }

    /// DescribeClusters (the cluster must be available), CreateClusterSnapshot on the
    /// snapshot; DescribeClusterSnapshots (not scoped) with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let id = &self.cluster_identifier;
        let mut out = vec![
            describe_cluster(&self.aws, id),
            Permission::new(
                &["redshift:CreateClusterSnapshot"],
                [rs_arn(
                    &self.aws,
                    &format!("snapshot:{id}/{}", self.snapshot_identifier),
                )],
            ),
        ];
        if self.wait.wait_for_completion {
            out.push(Permission::on_any(&["redshift:DescribeClusterSnapshots"]));
        }
        out
    }
}

/// A configured `RedshiftDeleteClusterSnapshotOperator`.
#[derive(Debug)]
pub struct RedshiftDeleteClusterSnapshotOperator {
    aws: AwsParams,
    snapshot_identifier: String,
    cluster_identifier: String,
    wait_for_completion: bool,
    poll_interval: std::time::Duration,
}

impl Operator for RedshiftDeleteClusterSnapshotOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftDeleteClusterSnapshotOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "cluster_identifier",
            "region_name",
            "snapshot_identifier",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let snapshot_identifier = p.required_str(
            "snapshot_identifier",
            "the identifier of the manual snapshot to delete",
        )?;
        let cluster_identifier = p.required_str(
            "cluster_identifier",
            "the identifier of the cluster the snapshot was created from",
        )?;
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let poll_interval = std::time::Duration::from_secs_f64(p.seconds("poll_interval", 10.0)?);
        Ok(RedshiftDeleteClusterSnapshotOperator {
            aws,
            snapshot_identifier,
            cluster_identifier,
            wait_for_completion,
            poll_interval,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rs =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let snap = self.snapshot_identifier.as_str();
        rs.delete_cluster_snapshot()
            .snapshot_cluster_identifier(&self.cluster_identifier)
            .snapshot_identifier(snap)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!(
                        "DeleteClusterSnapshot {snap} of cluster {}",
                        self.cluster_identifier
                    ),
                    &e,
                )
            })?;
        if self.wait_for_completion {
            // The provider polls until the snapshot is gone, with no attempt limit:
            // execution_timeout bounds it.
            let settings = WaitSettings {
                wait_for_completion: true,
                waiter_delay: self.poll_interval,
                waiter_max_attempts: u32::MAX,
                deferrable: false,
            };
            let rs = &rs;
            airtask_core::wait::until_terminal(
                ctx,
                &settings,
                &format!("the deletion of Redshift snapshot {snap}"),
                || async move {
                    match rs
                        .describe_cluster_snapshots()
                        .snapshot_identifier(snap)
                        .send()
                        .await
                    {
                        Ok(out) => Ok(airtask_core::wait::Poll::Pending {
                            state: out
                                .snapshots()
                                .first()
                                .and_then(|s| s.status())
                                .unwrap_or("None")
                                .to_owned(),
                        }),
                        Err(e)
                            if e.as_service_error()
                                .is_some_and(|se| se.is_cluster_snapshot_not_found_fault()) =>
                        {
                            Ok(airtask_core::wait::Poll::Done(()))
                        }
                        Err(e) => Err(airtask_aws::error::task_error(
                            &format!("DescribeClusterSnapshots {snap}"),
                            &e,
                        )),
                    }
                },
            )
            .await?;
        }
        Ok(Outcome::Success(None))
    }

    /// DeleteClusterSnapshot on the snapshot; DescribeClusterSnapshots (not scoped) with
    /// `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &["redshift:DeleteClusterSnapshot"],
            [rs_arn(
                &self.aws,
                &format!(
                    "snapshot:{}/{}",
                    self.cluster_identifier, self.snapshot_identifier
                ),
            )],
        )];
        if self.wait_for_completion {
            out.push(Permission::on_any(&["redshift:DescribeClusterSnapshots"]));
        }
        out
    }
}

/// What pausing and resuming share.
#[derive(Debug)]
struct PauseOrResume {
    aws: AwsParams,
    cluster_identifier: String,
    wait: WaitSettings,
}

impl PauseOrResume {
    /// `call` on the cluster, and DescribeClusters with `wait_for_completion`.
    fn permissions(&self, call: &'static str) -> Vec<Permission> {
        let mut actions = vec![call];
        if self.wait.wait_for_completion {
            actions.push("redshift:DescribeClusters");
        }
        vec![Permission::new(
            &actions,
            [rs_arn(
                &self.aws,
                &format!("cluster:{}", self.cluster_identifier),
            )],
        )]
    }

    fn read(p: &mut ParamReader<'_>) -> Result<PauseOrResume, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_identifier =
            p.required_str("cluster_identifier", "the identifier of the cluster")?;
        let wait_for_completion = p.bool("wait_for_completion", false)?;
        let deferrable = p.bool("deferrable", false)?;
        let wait = wait_settings(p, wait_for_completion, deferrable, 30.0, "max_attempts", 30)?;
        Ok(PauseOrResume {
            aws,
            cluster_identifier,
            wait,
        })
    }

    /// The wait after the call: with `deferrable`, the provider first reads the status (done
    /// at `target`, a failure at deleting), then waits with `waiter`.
    async fn wait(
        &self,
        ctx: &TaskContext,
        rs: &Client,
        target: &str,
        verb: &str,
        waiter: ClusterWaiter,
    ) -> Result<(), TaskError> {
        if !self.wait.wait_for_completion {
            return Ok(());
        }
        let id = self.cluster_identifier.as_str();
        if self.wait.deferrable {
            let state = cluster::cluster_status(rs, id).await?;
            if state == target {
                ctx.info(&format!("{verb} cluster successfully"));
                return Ok(());
            }
            if state == "deleting" {
                return Err(TaskError::retryable(format!(
                    "Unable to {} cluster since cluster is currently in status: {state} \
                     (cluster {id})",
                    if waiter == ClusterWaiter::Paused {
                        "pause"
                    } else {
                        "resume"
                    }
                )));
            }
        }
        wait_cluster(ctx, rs, id, waiter, &self.wait).await?;
        if self.wait.deferrable {
            ctx.info(&format!("{verb} cluster successfully"));
        }
        Ok(())
    }
}

/// A configured `RedshiftPauseClusterOperator`.
#[derive(Debug)]
pub struct RedshiftPauseClusterOperator(PauseOrResume);

impl Operator for RedshiftPauseClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftPauseClusterOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.redshift_pause_cluster.\
             RedshiftPauseClusterOperator",
        ],
        template_fields: &["aws_conn_id", "cluster_identifier", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        PauseOrResume::read(p).map(RedshiftPauseClusterOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let op = &self.0;
        let rs = airtask_aws::client_in(ctx, op.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let id = op.cluster_identifier.as_str();
        let rs_ref = &rs;
        while_state_refuses(
            || async move {
                match rs_ref.pause_cluster().cluster_identifier(id).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let refused = e
                            .as_service_error()
                            .is_some_and(|se| se.is_invalid_cluster_state_fault());
                        Err(call_error(&format!("PauseCluster {id}"), &e, refused))
                    }
                }
            },
            |left| async move {
                ctx.error(&format!(
                    "Unable to pause cluster. {left} attempts remaining."
                ));
            },
        )
        .await?;
        op.wait(ctx, &rs, "paused", "Paused", ClusterWaiter::Paused)
            .await?;
        Ok(Outcome::Success(None))
    }

    /// PauseCluster on the cluster; DescribeClusters with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("redshift:PauseCluster")
    }
}

/// A configured `RedshiftResumeClusterOperator`.
#[derive(Debug)]
pub struct RedshiftResumeClusterOperator(PauseOrResume);

impl Operator for RedshiftResumeClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftResumeClusterOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.redshift_resume_cluster.\
             RedshiftResumeClusterOperator",
        ],
        template_fields: &["aws_conn_id", "cluster_identifier", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        PauseOrResume::read(p).map(RedshiftResumeClusterOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let op = &self.0;
        let rs = airtask_aws::client_in(ctx, op.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let id = op.cluster_identifier.as_str();
        ctx.info("Starting resume cluster");
        let rs_ref = &rs;
        while_state_refuses(
            || async move {
                match rs_ref.resume_cluster().cluster_identifier(id).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let refused = e
                            .as_service_error()
                            .is_some_and(|se| se.is_invalid_cluster_state_fault());
                        Err(call_error(&format!("ResumeCluster {id}"), &e, refused))
                    }
                }
            },
            |left| async move {
                ctx.error(&format!(
                    "Unable to resume cluster. {left} attempts remaining."
                ));
            },
        )
        .await?;
        op.wait(ctx, &rs, "available", "Resumed", ClusterWaiter::Resumed)
            .await?;
        Ok(Outcome::Success(None))
    }

    /// ResumeCluster on the cluster; DescribeClusters with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("redshift:ResumeCluster")
    }
}

/// A configured `RedshiftDeleteClusterOperator`.
#[derive(Debug)]
pub struct RedshiftDeleteClusterOperator {
    aws: AwsParams,
    cluster_identifier: String,
    skip_final_cluster_snapshot: bool,
    final_cluster_snapshot_identifier: Option<String>,
    wait: WaitSettings,
}

impl Operator for RedshiftDeleteClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_cluster.\
                     RedshiftDeleteClusterOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "cluster_identifier", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_identifier = p.required_str(
            "cluster_identifier",
            "the identifier of the cluster to delete",
        )?;
        let skip_final_cluster_snapshot = p.bool("skip_final_cluster_snapshot", true)?;
        let final_cluster_snapshot_identifier =
            nonempty(p.str("final_cluster_snapshot_identifier")?);
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let deferrable = p.bool("deferrable", false)?;
        let wait = wait_settings(p, wait_for_completion, deferrable, 30.0, "max_attempts", 30)?;
        Ok(RedshiftDeleteClusterOperator {
            aws,
            cluster_identifier,
            skip_final_cluster_snapshot,
            final_cluster_snapshot_identifier,
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rs =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let id = self.cluster_identifier.as_str();
        let (rs_ref, skip, last) = (
            &rs,
            self.skip_final_cluster_snapshot,
            self.final_cluster_snapshot_identifier.as_deref(),
        );
        while_state_refuses(
            || async move {
                match rs_ref
                    .delete_cluster()
                    .cluster_identifier(id)
                    .skip_final_cluster_snapshot(skip)
                    .set_final_cluster_snapshot_identifier(last.map(str::to_owned))
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let refused = e
                            .as_service_error()
                            .is_some_and(|se| se.is_invalid_cluster_state_fault());
                        Err(call_error(&format!("DeleteCluster {id}"), &e, refused))
                    }
                }
            },
            |left| async move {
                let state = cluster::cluster_status(rs_ref, id)
                    .await
                    .unwrap_or_else(|e| format!("an unknown ({e})"));
                ctx.error(&format!(
                    "Cluster in {state} state, unable to delete. {left} attempts remaining."
                ));
            },
        )
        .await?;
        if self.wait.deferrable {
            // As the provider: deferrable waits whatever wait_for_completion says.
            let state = cluster::cluster_status(&rs, id).await?;
            if state == NOT_FOUND {
                ctx.info("Cluster deleted successfully");
                return Ok(Outcome::Success(None));
            }
            if state == "creating" || state == "modifying" {
                return Err(TaskError::retryable(format!(
                    "Unable to delete cluster since cluster is currently in status: {state} \
                     (cluster {id})"
                )));
            }
            let settings = WaitSettings {
                wait_for_completion: true,
                ..self.wait.clone()
            };
            wait_cluster(ctx, &rs, id, ClusterWaiter::Deleted, &settings).await?;
            ctx.info("Cluster deleted successfully");
        } else if self.wait.wait_for_completion {
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("Waiting for cluster {id} to be deleted"),
            );
            wait_cluster(ctx, &rs, id, ClusterWaiter::Deleted, &self.wait).await?;
        }
        Ok(Outcome::Success(None))
    }

    /// DeleteCluster and DescribeClusters (the state while DeleteCluster is refused, and the
    /// wait) on the cluster; with `skip_final_cluster_snapshot: false`, CreateClusterSnapshot
    /// on the final snapshot.
    fn permissions(&self) -> Vec<Permission> {
        let id = &self.cluster_identifier;
        let mut out = vec![Permission::new(
            &["redshift:DeleteCluster", "redshift:DescribeClusters"],
            [rs_arn(&self.aws, &format!("cluster:{id}"))],
        )];
        if !self.skip_final_cluster_snapshot {
            let snapshot = self
                .final_cluster_snapshot_identifier
                .as_deref()
                .unwrap_or("*");
            out.push(Permission::new(
                &["redshift:CreateClusterSnapshot"],
                [rs_arn(&self.aws, &format!("snapshot:{id}/{snapshot}"))],
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_redshift::operation::describe_clusters::DescribeClustersOutput;
    use aws_sdk_redshift::operation::pause_cluster::{PauseClusterError, PauseClusterOutput};
    use aws_sdk_redshift::types::Cluster;
    use aws_sdk_redshift::types::error::InvalidClusterStateFault;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::{Value, json};

    use super::*;

    fn build<O: Operator>(v: Value) -> Result<O, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<O>(&p)
    }

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    #[test]
    fn create_cluster_defaults_follow_the_provider() {
        let op: RedshiftCreateClusterOperator = build(json!({
            "cluster_identifier": "c", "node_type": "dc2.large",
            "master_username": "admin", "master_user_password": "Secret1!",
        }))
        .unwrap();
        assert_eq!(op.cluster_type.as_deref(), Some("multi-node"));
        assert_eq!(op.db_name.as_deref(), Some("dev"));
        assert_eq!(op.number_of_nodes, 1);
        assert_eq!(op.port, 5439);
        assert_eq!(op.automated_snapshot_retention_period, 1);
        assert!(op.allow_version_upgrade && op.publicly_accessible && !op.encrypted);
        assert!(!op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.wait.waiter_max_attempts, 5);
        // deferrable waits even without wait_for_completion, as the provider's trigger does.
        let op: RedshiftCreateClusterOperator = build(json!({
            "cluster_identifier": "c", "node_type": "dc2.large", "master_username": "a",
            "master_user_password": "p", "deferrable": true, "tags": [{"Key": "k", "Value": "v"}],
        }))
        .unwrap();
        assert!(op.wait.wait_for_completion && op.wait.deferrable);
        assert_eq!(op.tags.map(|t| t.len()), Some(1));
        let e = build::<RedshiftCreateClusterOperator>(json!({
            "cluster_identifier": "c", "node_type": "dc2.large", "master_username": "a",
            "master_user_password": "p", "cluster_type": "two-node",
        }))
        .unwrap_err();
        assert!(e.message().contains("multi-node or single-node"), "{e}");
        let e =
            build::<RedshiftCreateClusterOperator>(json!({"cluster_identifier": "c"})).unwrap_err();
        assert!(e.message().contains("needs `node_type`"), "{e}");
        let e = build::<RedshiftCreateClusterOperator>(json!({
            "cluster_identifier": "c", "node_type": "dc2.large", "master_username": "a",
            "master_user_password": "p", "tags": [{"Name": "k"}],
        }))
        .unwrap_err();
        assert!(e.message().contains("unknown key `Name`"), "{e}");
    }

    #[test]
    fn other_operators_defaults_follow_the_provider() {
        let op: RedshiftCreateClusterSnapshotOperator =
            build(json!({"snapshot_identifier": "s", "cluster_identifier": "c"})).unwrap();
        assert_eq!(op.retention_period, -1);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(15));
        assert_eq!(op.wait.waiter_max_attempts, 20);
        assert!(!op.wait.wait_for_completion);
        let op: RedshiftDeleteClusterSnapshotOperator =
            build(json!({"snapshot_identifier": "s", "cluster_identifier": "c"})).unwrap();
        assert!(op.wait_for_completion);
        assert_eq!(op.poll_interval, Duration::from_secs(10));
        // It takes no deferrable (the provider's has none).
        let e = build::<RedshiftDeleteClusterSnapshotOperator>(
            json!({"snapshot_identifier": "s", "cluster_identifier": "c", "deferrable": true}),
        )
        .unwrap_err();
        assert!(e.is_unknown_parameter(), "{e}");
        let op: RedshiftPauseClusterOperator = build(json!({"cluster_identifier": "c"})).unwrap();
        assert!(!op.0.wait.wait_for_completion);
        assert_eq!(op.0.wait.waiter_delay, Duration::from_secs(30));
        assert_eq!(op.0.wait.waiter_max_attempts, 30);
        let op: RedshiftDeleteClusterOperator = build(json!({"cluster_identifier": "c"})).unwrap();
        assert!(op.wait.wait_for_completion && op.skip_final_cluster_snapshot);
        let e = build::<RedshiftResumeClusterOperator>(
            json!({"cluster_identifier": "c", "max_attempt": 3}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("max_attempt"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_the_cluster_state_refuses_is_sent_again_then_waited_for() {
        let refused = mock!(Client::pause_cluster)
            .sequence()
            .error(|| {
                PauseClusterError::InvalidClusterStateFault(
                    InvalidClusterStateFault::builder()
                        .message("There is an operation running on the cluster")
                        .build(),
                )
            })
            .times(2)
            .output(|| PauseClusterOutput::builder().build())
            .build();
        let describe = mock!(Client::describe_clusters)
            .sequence()
            .output(|| {
                DescribeClustersOutput::builder()
                    .clusters(Cluster::builder().cluster_status("pausing").build())
                    .build()
            })
            .output(|| {
                DescribeClustersOutput::builder()
                    .clusters(Cluster::builder().cluster_status("paused").build())
                    .build()
            })
            .build();
        let rs = mock_client!(aws_sdk_redshift, RuleMode::MatchAny, [&refused, &describe]);
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(
            &RedshiftPauseClusterOperator::SPEC,
            "pause",
            1,
            lines.clone(),
        );
        let t0 = tokio::time::Instant::now();
        let id = "c";
        let rs_ref = &rs;
        while_state_refuses(
            || async move {
                match rs_ref.pause_cluster().cluster_identifier(id).send().await {
                    Ok(_) => Ok(()),
                    Err(e) => {
                        let refused = e
                            .as_service_error()
                            .is_some_and(|se| se.is_invalid_cluster_state_fault());
                        Err(call_error("PauseCluster c", &e, refused))
                    }
                }
            },
            |left| {
                let ctx = &ctx;
                async move {
                    ctx.error(&format!(
                        "Unable to pause cluster. {left} attempts remaining."
                    ));
                }
            },
        )
        .await
        .unwrap();
        assert_eq!(t0.elapsed(), Duration::from_secs(30));
        let op: RedshiftPauseClusterOperator = build(json!({
            "cluster_identifier": "c", "wait_for_completion": true, "poll_interval": 5,
        }))
        .unwrap();
        op.0.wait(&ctx, &rs, "paused", "Paused", ClusterWaiter::Paused)
            .await
            .unwrap();
        let lines = lines.0.lock().unwrap();
        assert_eq!(
            lines[..2],
            [
                "Unable to pause cluster. 9 attempts remaining.",
                "Unable to pause cluster. 8 attempts remaining."
            ]
        );
        assert!(
            lines[2].starts_with("Redshift cluster c (cluster_paused): pausing (poll 1 of 30"),
            "{lines:?}"
        );
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::RedshiftPauseClusterOperator;

    #[test]
    fn pausing_describes_the_cluster_only_when_it_waits() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<RedshiftPauseClusterOperator>(&p)
                .expect("valid parameters")
                .permissions()
        };
        let cluster = ["arn:aws:redshift:{region}:{account}:cluster:c1"];
        assert_eq!(
            perms(json!({"cluster_identifier": "c1"})),
            [Permission::new(&["redshift:PauseCluster"], cluster)]
        );
        assert_eq!(
            perms(json!({"cluster_identifier": "c1", "wait_for_completion": true})),
            [Permission::new(
                &["redshift:PauseCluster", "redshift:DescribeClusters"],
                cluster
            )]
        );
    }
}
