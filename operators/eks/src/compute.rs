//! The provider's `_create_compute` (a managed node group or a Fargate profile for a cluster,
//! and with `wait_for_completion` the wait until it is active), shared by
//! `EksCreateClusterOperator`, `EksCreateNodegroupOperator` and
//! `EksCreateFargateProfileOperator`; and the node group and Fargate profile operators.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_eks::Client;
use aws_sdk_eks::operation::create_fargate_profile::builders::CreateFargateProfileInputBuilder;
use aws_sdk_eks::operation::create_nodegroup::builders::CreateNodegroupInputBuilder;
use serde_json::Value;

use crate::common::{self, HOOK_LOGGER, Target, Waiting, deprecated_region, eks};
use crate::kwargs;

/// The provider's default node group name.
pub(crate) const DEFAULT_NODEGROUP_NAME: &str = "nodegroup";
/// The provider's default Fargate profile name.
pub(crate) const DEFAULT_FARGATE_PROFILE_NAME: &str = "profile";

/// The logger of `waiter_with_logging.wait`'s lines.
const WAIT_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.utils.waiter_with_logging";

/// A node group to create: the request (cluster, name, subnets, role and the kwargs) and the
/// tags given, to which the hook adds `kubernetes.io/cluster/<cluster>: owned`.
#[derive(Debug, Clone)]
pub(crate) struct NodegroupRequest {
    pub(crate) request: CreateNodegroupInputBuilder,
    pub(crate) tags: Vec<(String, String)>,
}

impl NodegroupRequest {
    /// Reads `create_nodegroup_kwargs` (parameter `param`) onto the request.
    pub(crate) fn read(p: &mut ParamReader<'_>, param: &'static str) -> Result<Self, ParamError> {
        let rendered = p.rendered();
        match airtask_core::kwargs::mapping(p, param) {
            None => Ok(NodegroupRequest {
                request: CreateNodegroupInputBuilder::default(),
                tags: Vec::new(),
            }),
            Some(v) => {
                let (request, tags) =
                    kwargs::nodegroup_kwargs(v, rendered, CreateNodegroupInputBuilder::default())
                        .map_err(|e| airtask_core::kwargs::param_error(p, param, e))?;
                Ok(NodegroupRequest { request, tags })
            }
        }
    }
}

/// A Fargate profile to create (without its cluster, name and role, which the caller sets).
#[derive(Debug, Clone)]
pub(crate) struct FargateRequest {
    pub(crate) request: CreateFargateProfileInputBuilder,
}

impl FargateRequest {
    /// Reads `selectors` (parameter `selectors_param`, `default` when absent) and
    /// `create_fargate_profile_kwargs`.
    pub(crate) fn read(
        p: &mut ParamReader<'_>,
        selectors_param: &'static str,
        default_selectors: Option<Value>,
    ) -> Result<Self, ParamError> {
        let rendered = p.rendered();
        let mut request = CreateFargateProfileInputBuilder::default();
        let selectors = match airtask_core::kwargs::mapping(p, selectors_param) {
            // An empty list is falsy: the provider then uses its default too.
            Some(Value::Array(a)) if a.is_empty() => default_selectors,
            Some(v) => Some(v.clone()),
            None => default_selectors,
        };
        if let Some(v) = selectors {
            let s = kwargs::selectors(selectors_param, &v, rendered)
                .map_err(|e| airtask_core::kwargs::param_error(p, selectors_param, e))?;
            request = request.set_selectors(Some(s));
        }
        if let Some(v) = airtask_core::kwargs::mapping(p, "create_fargate_profile_kwargs") {
            request = kwargs::fargate_kwargs(v, rendered, request).map_err(|e| {
                airtask_core::kwargs::param_error(p, "create_fargate_profile_kwargs", e)
            })?;
        }
        Ok(FargateRequest { request })
    }
}

/// What `_create_compute` creates.
#[derive(Debug, Clone)]
pub(crate) enum Compute {
    /// A managed node group.
    Nodegroup {
        /// Its name.
        name: String,
        /// Its node role.
        role_arn: String,
        /// Its subnets.
        subnets: Vec<String>,
        /// The rest of the request (boxed: the builder is large).
        request: Box<NodegroupRequest>,
        /// Delete it (best effort) when the wait for it fails.
        delete_on_failure: bool,
    },
    /// A Fargate profile.
    Fargate {
        /// Its name.
        name: String,
        /// Its pod execution role.
        role_arn: String,
        /// The rest of the request.
        request: FargateRequest,
    },
}

impl Compute {
    /// The resource, in `cluster`.
    pub(crate) fn target(&self, cluster: &str) -> Target {
        match self {
            Compute::Nodegroup { name, .. } => Target::Nodegroup {
                cluster: cluster.to_owned(),
                name: name.clone(),
            },
            Compute::Fargate { name, .. } => Target::FargateProfile {
                cluster: cluster.to_owned(),
                name: name.clone(),
            },
        }
    }

    /// The permissions creating it needs (and waiting for it, with `wait`).
    pub(crate) fn permissions(
        &self,
        cluster: &str,
        region: Option<&str>,
        wait: bool,
    ) -> Vec<Permission> {
        let target = self.target(cluster);
        let cluster_arn = Target::Cluster(cluster.to_owned()).arn(region);
        let (create, role, tag) = match self {
            Compute::Nodegroup { role_arn, .. } => ("eks:CreateNodegroup", role_arn, true),
            Compute::Fargate { role_arn, .. } => ("eks:CreateFargateProfile", role_arn, false),
        };
        let mut out = vec![
            Permission::new(&[create], [cluster_arn.clone()]),
            Permission::new(&["iam:PassRole"], [role.clone()]),
        ];
        if tag {
            // The hook always tags a node group (kubernetes.io/cluster/<name>: owned).
            out.push(Permission::new(&["eks:TagResource"], [target.arn(region)]));
        }
        if wait {
            out.push(Permission::new(
                &[target.describe_action()],
                [target.arn(region)],
            ));
            if let Compute::Nodegroup {
                delete_on_failure: true,
                ..
            } = self
            {
                out.push(Permission::new(
                    &["eks:DeleteNodegroup"],
                    [target.arn(region)],
                ));
            }
        }
        out
    }

    /// Creates it in `cluster`, and with `wait` waits until it is active, as the provider's
    /// `waiter_with_logging.wait` does ("Nodegroup status is: CREATING").
    pub(crate) async fn create(
        &self,
        ctx: &TaskContext,
        eks: &Client,
        cluster: &str,
        wait_for: Option<(Duration, u32)>,
    ) -> Result<(), TaskError> {
        match self {
            Compute::Nodegroup {
                name,
                role_arn,
                subnets,
                request,
                delete_on_failure,
            } => {
                let owned = format!("kubernetes.io/cluster/{cluster}");
                let mut tags: std::collections::HashMap<String, String> =
                    request.tags.iter().cloned().collect();
                tags.entry(owned).or_insert_with(|| "owned".to_owned());
                let out = request
                    .request
                    .clone()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .set_subnets(Some(subnets.clone()))
                    .node_role(role_arn)
                    .set_tags(Some(tags))
                    .send_with(eks)
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CreateNodegroup {name} in EKS cluster {cluster}"),
                            &e,
                        )
                    })?;
                let ng = out.nodegroup();
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!(
                        "Created an Amazon EKS managed node group named {} in Amazon EKS cluster {}",
                        ng.and_then(|n| n.nodegroup_name()).unwrap_or(name),
                        ng.and_then(|n| n.cluster_name()).unwrap_or(cluster)
                    ),
                );
                let Some((delay, attempts)) = wait_for else {
                    return Ok(());
                };
                ctx.info("Waiting for nodegroup to provision. This will take some time.");
                let target = self.target(cluster);
                let waited = wait_logged(
                    ctx,
                    eks,
                    &target,
                    &common::NODEGROUP_ACTIVE,
                    "Nodegroup creation failed",
                    "Nodegroup status is",
                    delay,
                    attempts,
                )
                .await;
                if let Err(e) = waited {
                    ctx.error(&format!(
                        "Nodegroup '{name}' in cluster '{cluster}' failed after creation during \
                         wait phase: {e}"
                    ));
                    if *delete_on_failure {
                        let deleted = common::retry_in_use(
                            ctx,
                            &format!("DeleteNodegroup {name} of EKS cluster {cluster}"),
                            || {
                                eks.delete_nodegroup()
                                    .cluster_name(cluster)
                                    .nodegroup_name(name)
                                    .send()
                            },
                        )
                        .await;
                        match deleted {
                            Ok(_) => ctx.info(&format!(
                                "Issued delete request for nodegroup '{name}' in cluster \
                                 '{cluster}' after failure."
                            )),
                            Err(d) => ctx.error(&format!(
                                "Failed to cleanup nodegroup '{name}' in cluster '{cluster}' \
                                 after failure; manual cleanup may be required: {d}"
                            )),
                        }
                    }
                    return Err(e);
                }
                Ok(())
            }
            Compute::Fargate {
                name,
                role_arn,
                request,
            } => {
                let out = request
                    .request
                    .clone()
                    .cluster_name(cluster)
                    .fargate_profile_name(name)
                    .pod_execution_role_arn(role_arn)
                    .send_with(eks)
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("CreateFargateProfile {name} in EKS cluster {cluster}"),
                            &e,
                        )
                    })?;
                let fp = out.fargate_profile();
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!(
                        "Created AWS Fargate profile with the name {} for Amazon EKS cluster {}.",
                        fp.and_then(|f| f.fargate_profile_name()).unwrap_or(name),
                        fp.and_then(|f| f.cluster_name()).unwrap_or(cluster)
                    ),
                );
                let Some((delay, attempts)) = wait_for else {
                    return Ok(());
                };
                ctx.info("Waiting for Fargate profile to provision.  This will take some time.");
                wait_logged(
                    ctx,
                    eks,
                    &self.target(cluster),
                    &common::FARGATE_PROFILE_ACTIVE,
                    "Fargate profile creation failed",
                    "Fargate profile status is",
                    delay,
                    attempts,
                )
                .await
            }
        }
    }
}

/// The provider's `waiter_with_logging.wait`: the waiter's polls with a status line each
/// ("Nodegroup status is: CREATING"), a failure state as "`failure_message`: <waiter error>",
/// and "Waiter error: max attempts reached" after `attempts` polls.
#[allow(clippy::too_many_arguments)]
async fn wait_logged(
    ctx: &TaskContext,
    eks: &Client,
    target: &Target,
    waiter: &common::Waiter,
    failure_message: &str,
    status_message: &str,
    delay: Duration,
    attempts: u32,
) -> Result<(), TaskError> {
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: delay,
        waiter_max_attempts: attempts,
        deferrable: false,
    };
    let what = format!("{} (waiter {})", target.what(), waiter.name);
    wait::until_terminal(ctx, &settings, &what, || async move {
        let status = target.status(eks).await?;
        if let Some(s) = &status {
            ctx.hook_info(WAIT_LOGGER, &format!("{status_message}: {s}"));
        }
        waiter
            .judge(target, status.as_deref())
            .map_err(|e| TaskError::fatal(format!("{failure_message}: {e}")))
    })
    .await
}

/// `nodegroup_subnets`: a list, or a string holding a Python list (`"['subnet-1']"`, what a
/// template of a list renders to); a string that is neither gives no subnets, with the
/// provider's warning.
fn subnets_of(ctx: &TaskContext, given: &Value) -> Vec<String> {
    match given {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        Value::String(s) if s.is_empty() => Vec::new(),
        Value::String(s) => {
            let parsed = serde_json::from_str::<Vec<String>>(s)
                .or_else(|_| serde_json::from_str::<Vec<String>>(&s.replace('\'', "\"")));
            match parsed {
                Ok(list) => list,
                Err(_) => {
                    ctx.warning(&format!(
                        "The nodegroup_subnets should be List or string representing Python list \
                         and is {s}. Defaulting to []"
                    ));
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    }
}

/// A configured `EksCreateNodegroupOperator`.
#[derive(Debug)]
pub struct EksCreateNodegroupOperator {
    aws: AwsParams,
    cluster_name: String,
    nodegroup_name: String,
    subnets: Value,
    role_arn: String,
    request: NodegroupRequest,
    waiting: Waiting,
    delete_on_failure: bool,
}

impl Operator for EksCreateNodegroupOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksCreateNodegroupOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "nodegroup_subnets",
            "nodegroup_role_arn",
            "nodegroup_name",
            "create_nodegroup_kwargs",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let cluster_name = p.required_str(
            "cluster_name",
            "the name of the EKS cluster to create the node group in",
        )?;
        let subnets = match p.value("nodegroup_subnets") {
            Some(v @ (Value::Array(_) | Value::String(_))) => v.clone(),
            Some(other) => {
                return Err(ParamError::at(
                    "nodegroup_subnets",
                    format!(
                        "EksCreateNodegroupOperator parameter `nodegroup_subnets` must be a list \
                         of subnet ids, not {}",
                        airtask_core::params::describe(other)
                    ),
                ));
            }
            None => {
                return Err(ParamError::at(
                    "nodegroup_subnets",
                    "EksCreateNodegroupOperator needs `nodegroup_subnets`: the subnets of the \
                     node group's Auto Scaling group (a list of subnet ids)",
                ));
            }
        };
        let role_arn = p.required_str(
            "nodegroup_role_arn",
            "the ARN of the IAM role of the node group's instances",
        )?;
        let nodegroup_name = p
            .str("nodegroup_name")?
            .unwrap_or_else(|| DEFAULT_NODEGROUP_NAME.to_owned());
        let request = NodegroupRequest::read(p, "create_nodegroup_kwargs")?;
        let waiting = Waiting::read(p, 30.0, 80)?;
        let delete_on_failure = p.bool("delete_nodegroup_on_failure", true)?;
        Ok(EksCreateNodegroupOperator {
            aws,
            cluster_name,
            nodegroup_name,
            subnets,
            role_arn,
            request,
            waiting,
            delete_on_failure,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        self.compute(Vec::new()).permissions(
            &self.cluster_name,
            self.aws.region(),
            self.waiting.wait,
        )
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        ctx.info(ctx.task_id());
        let subnets = subnets_of(ctx, &self.subnets);
        self.waiting.note_deferrable(ctx);
        let compute = self.compute(subnets);
        let wait = self
            .waiting
            .wait
            .then_some((self.waiting.delay, self.waiting.max_attempts));
        compute
            .create(ctx, &client, &self.cluster_name, wait)
            .await?;
        Ok(Outcome::Success(None))
    }
}

impl EksCreateNodegroupOperator {
    fn compute(&self, subnets: Vec<String>) -> Compute {
        Compute::Nodegroup {
            name: self.nodegroup_name.clone(),
            role_arn: self.role_arn.clone(),
            subnets,
            request: Box::new(self.request.clone()),
            delete_on_failure: self.delete_on_failure,
        }
    }
}

/// A configured `EksCreateFargateProfileOperator`.
#[derive(Debug)]
pub struct EksCreateFargateProfileOperator {
    aws: AwsParams,
    cluster_name: String,
    compute: Compute,
    waiting: Waiting,
}

impl Operator for EksCreateFargateProfileOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksCreateFargateProfileOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "pod_execution_role_arn",
            "selectors",
            "fargate_profile_name",
            "create_fargate_profile_kwargs",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let cluster_name = p.required_str(
            "cluster_name",
            "the name of the EKS cluster to create the Fargate profile for",
        )?;
        let role_arn = p.required_str(
            "pod_execution_role_arn",
            "the ARN of the pod execution role of the pods the profile selects",
        )?;
        if !p.contains("selectors") {
            return Err(ParamError::at(
                "selectors",
                "EksCreateFargateProfileOperator needs `selectors`: the pods the profile runs \
                 (a list of {namespace: ..., labels: {...}})",
            ));
        }
        let name = p
            .str("fargate_profile_name")?
            .unwrap_or_else(|| DEFAULT_FARGATE_PROFILE_NAME.to_owned());
        let request = FargateRequest::read(p, "selectors", None)?;
        let waiting = Waiting::read(p, 10.0, 60)?;
        Ok(EksCreateFargateProfileOperator {
            aws,
            cluster_name,
            compute: Compute::Fargate {
                name,
                role_arn,
                request,
            },
            waiting,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        self.compute
            .permissions(&self.cluster_name, self.aws.region(), self.waiting.wait)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        self.waiting.note_deferrable(ctx);
        let wait = self
            .waiting
            .wait
            .then_some((self.waiting.delay, self.waiting.max_attempts));
        self.compute
            .create(ctx, &client, &self.cluster_name, wait)
            .await?;
        if self.waiting.wait {
            ctx.info("Fargate profile created successfully");
        }
        Ok(Outcome::Success(None))
    }
}

/// A configured `EksDeleteNodegroupOperator`.
#[derive(Debug)]
pub struct EksDeleteNodegroupOperator {
    aws: AwsParams,
    target: Target,
    waiting: Waiting,
}

impl Operator for EksDeleteNodegroupOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksDeleteNodegroupOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "nodegroup_name",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let cluster = p.required_str("cluster_name", "the name of the node group's EKS cluster")?;
        let name = p.required_str("nodegroup_name", "the name of the node group to delete")?;
        let waiting = Waiting::read(p, 30.0, 40)?;
        Ok(EksDeleteNodegroupOperator {
            aws,
            target: Target::Nodegroup { cluster, name },
            waiting,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["eks:DeleteNodegroup"];
        if self.waiting.wait {
            actions.push("eks:DescribeNodegroup");
        }
        vec![Permission::new(
            &actions,
            [self.target.arn(self.aws.region())],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        let Target::Nodegroup { cluster, name } = &self.target else {
            return Err(TaskError::fatal("internal: not a node group"));
        };
        let out = common::retry_in_use(
            ctx,
            &format!("DeleteNodegroup {name} of EKS cluster {cluster}"),
            || {
                client
                    .delete_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name)
                    .send()
            },
        )
        .await?;
        let ng = out.nodegroup();
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "Deleted Amazon EKS managed node group named {} from Amazon EKS cluster {}.",
                ng.and_then(|n| n.nodegroup_name()).unwrap_or(name),
                ng.and_then(|n| n.cluster_name()).unwrap_or(cluster)
            ),
        );
        if self.waiting.wait {
            self.waiting.note_deferrable(ctx);
            ctx.info("Waiting for nodegroup to delete.  This will take some time.");
            common::NODEGROUP_DELETED
                .wait(
                    ctx,
                    &client,
                    &self.target,
                    self.waiting.delay,
                    self.waiting.max_attempts,
                )
                .await?;
        }
        Ok(Outcome::Success(None))
    }
}

/// A configured `EksDeleteFargateProfileOperator`.
#[derive(Debug)]
pub struct EksDeleteFargateProfileOperator {
    aws: AwsParams,
    target: Target,
    waiting: Waiting,
}

impl Operator for EksDeleteFargateProfileOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksDeleteFargateProfileOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "fargate_profile_name",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let cluster = p.required_str(
            "cluster_name",
            "the name of the Fargate profile's EKS cluster",
        )?;
        let name = p.required_str(
            "fargate_profile_name",
            "the name of the Fargate profile to delete",
        )?;
        let waiting = Waiting::read(p, 30.0, 60)?;
        Ok(EksDeleteFargateProfileOperator {
            aws,
            target: Target::FargateProfile { cluster, name },
            waiting,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["eks:DeleteFargateProfile"];
        if self.waiting.wait {
            actions.push("eks:DescribeFargateProfile");
        }
        vec![Permission::new(
            &actions,
            [self.target.arn(self.aws.region())],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        let Target::FargateProfile { cluster, name } = &self.target else {
            return Err(TaskError::fatal("internal: not a Fargate profile"));
        };
        delete_fargate_profile(ctx, &client, cluster, name).await?;
        if self.waiting.wait {
            self.waiting.note_deferrable(ctx);
            ctx.info("Waiting for Fargate profile to delete.  This will take some time.");
            common::FARGATE_PROFILE_DELETED
                .wait(
                    ctx,
                    &client,
                    &self.target,
                    self.waiting.delay,
                    self.waiting.max_attempts,
                )
                .await?;
            ctx.info("Fargate profile deleted successfully");
        }
        Ok(Outcome::Success(None))
    }
}

/// DeleteFargateProfile (retried while the cluster is in use), with the hook's line.
pub(crate) async fn delete_fargate_profile(
    ctx: &TaskContext,
    client: &Client,
    cluster: &str,
    name: &str,
) -> Result<(), TaskError> {
    let out = common::retry_in_use(
        ctx,
        &format!("DeleteFargateProfile {name} of EKS cluster {cluster}"),
        || {
            client
                .delete_fargate_profile()
                .cluster_name(cluster)
                .fargate_profile_name(name)
                .send()
        },
    )
    .await?;
    let fp = out.fargate_profile();
    ctx.hook_info(
        HOOK_LOGGER,
        &format!(
            "Deleted AWS Fargate profile with the name {} from Amazon EKS cluster {}.",
            fp.and_then(|f| f.fargate_profile_name()).unwrap_or(name),
            fp.and_then(|f| f.cluster_name()).unwrap_or(cluster)
        ),
    );
    Ok(())
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
    fn create_nodegroup_permissions_follow_the_parameters() {
        let op = build_operator::<EksCreateNodegroupOperator>(&params(json!({
            "cluster_name": "c1", "nodegroup_subnets": ["s-1"],
            "nodegroup_role_arn": "arn:aws:iam::123456789012:role/nodes",
            "region_name": "eu-west-1",
        })))
        .unwrap();
        assert_eq!(op.nodegroup_name, "nodegroup");
        assert_eq!(op.waiting.max_attempts, 80);
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["eks:CreateNodegroup"],
                    ["arn:aws:eks:eu-west-1:{account}:cluster/c1"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::123456789012:role/nodes"]),
                Permission::new(
                    &["eks:TagResource"],
                    ["arn:aws:eks:eu-west-1:{account}:nodegroup/c1/nodegroup/*"]
                ),
            ]
        );
        let op = build_operator::<EksCreateNodegroupOperator>(&params(json!({
            "cluster_name": "c1", "nodegroup_subnets": "['s-1']",
            "nodegroup_role_arn": "arn:aws:iam::123456789012:role/nodes",
            "wait_for_completion": true,
        })))
        .unwrap();
        let p = op.permissions();
        assert!(
            p.iter().any(|p| p.actions == ["eks:DescribeNodegroup"]),
            "{p:?}"
        );
        assert!(
            p.iter().any(|p| p.actions == ["eks:DeleteNodegroup"]),
            "{p:?}"
        );
    }

    #[test]
    fn required_parameters_are_named() {
        let e = build_operator::<EksCreateNodegroupOperator>(&params(json!({
            "cluster_name": "c1", "nodegroup_role_arn": "arn:aws:iam::1:role/r",
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("nodegroup_subnets"));
        let e = build_operator::<EksCreateFargateProfileOperator>(&params(json!({
            "cluster_name": "c1", "pod_execution_role_arn": "arn:aws:iam::1:role/r",
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("selectors"));
        let e = build_operator::<EksDeleteNodegroupOperator>(&params(json!({"cluster_name": "c"})))
            .unwrap_err();
        assert!(e.message().contains("needs `nodegroup_name`"), "{e}");
    }

    #[test]
    fn deferrable_waits_and_defaults_follow_the_provider() {
        let op = build_operator::<EksDeleteFargateProfileOperator>(&params(json!({
            "cluster_name": "c1", "fargate_profile_name": "fp", "deferrable": true,
        })))
        .unwrap();
        assert!(op.waiting.wait);
        assert_eq!(op.waiting.delay, Duration::from_secs(30));
        assert_eq!(op.waiting.max_attempts, 60);
        let op = build_operator::<EksCreateFargateProfileOperator>(&params(json!({
            "cluster_name": "c1", "pod_execution_role_arn": "arn:aws:iam::1:role/r",
            "selectors": [{"namespace": "default"}],
        })))
        .unwrap();
        assert!(!op.waiting.wait);
        assert_eq!(op.waiting.delay, Duration::from_secs(10));
    }
}
