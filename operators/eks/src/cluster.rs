//! `EksCreateClusterOperator` (CreateCluster; with compute, or when waiting, boto3's
//! `cluster_active` waiter, a cluster that fails torn down again; then the node group or
//! Fargate profile `compute` asks for) and `EksDeleteClusterOperator` (with
//! `force_delete_compute` its node groups and Fargate profiles first; DeleteCluster; with
//! `wait_for_completion` the `cluster_deleted` waiter).

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_eks::operation::create_cluster::builders::CreateClusterInputBuilder;
use serde_json::json;

use crate::common::{self, HOOK_LOGGER, Target, Waiting, deprecated_region, eks};
use crate::compute::{
    Compute, DEFAULT_FARGATE_PROFILE_NAME, DEFAULT_NODEGROUP_NAME, FargateRequest, NodegroupRequest,
};
use crate::kwargs;

/// The provider's names of the compute kinds, for messages.
const NODEGROUP_FULL_NAME: &str = "Amazon EKS managed node groups";
const FARGATE_FULL_NAME: &str = "AWS Fargate profiles";

/// A configured `EksCreateClusterOperator`.
#[derive(Debug)]
pub struct EksCreateClusterOperator {
    aws: AwsParams,
    cluster_name: String,
    role_arn: String,
    request: CreateClusterInputBuilder,
    /// The compute to create, or why the parameters allow none (raised by `execute`).
    compute: Result<Option<Compute>, String>,
    /// The subnets of `resources_vpc_config`, which a node group gets too.
    subnets: Vec<String>,
    waiting: Waiting,
}

impl Operator for EksCreateClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksCreateClusterOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "cluster_role_arn",
            "resources_vpc_config",
            "create_cluster_kwargs",
            "compute",
            "nodegroup_name",
            "nodegroup_role_arn",
            "create_nodegroup_kwargs",
            "fargate_profile_name",
            "fargate_pod_execution_role_arn",
            "fargate_selectors",
            "create_fargate_profile_kwargs",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let rendered = p.rendered();
        let cluster_name =
            p.required_str("cluster_name", "the name to give to the new EKS cluster")?;
        let role_arn = p.required_str(
            "cluster_role_arn",
            "the ARN of the IAM role the Kubernetes control plane calls AWS with",
        )?;
        let mut request = CreateClusterInputBuilder::default()
            .name(&cluster_name)
            .role_arn(&role_arn);
        let mut subnets = Vec::new();
        match airtask_core::kwargs::mapping(p, "resources_vpc_config") {
            Some(v) => {
                let vpc = kwargs::vpc_config(v, rendered)
                    .map_err(|e| airtask_core::kwargs::param_error(p, "resources_vpc_config", e))?;
                subnets = vpc.subnet_ids().to_vec();
                request = request.resources_vpc_config(vpc);
            }
            None if p.contains("resources_vpc_config") => {}
            None => {
                return Err(ParamError::at(
                    "resources_vpc_config",
                    "EksCreateClusterOperator needs `resources_vpc_config`: the VPC \
                     configuration of the control plane ({subnetIds: [...], \
                     securityGroupIds: [...], ...})",
                ));
            }
        }
        if let Some(v) = airtask_core::kwargs::mapping(p, "create_cluster_kwargs") {
            request = kwargs::cluster_kwargs(v, rendered, request)
                .map_err(|e| airtask_core::kwargs::param_error(p, "create_cluster_kwargs", e))?;
        }
        // `compute: null` (or empty) creates no compute; absent means the default, nodegroup.
        let compute_given = p.contains("compute");
        let compute = match p.str("compute")? {
            Some(c) if c.is_empty() => None,
            Some(c) => Some(c),
            None if compute_given => None,
            None => Some("nodegroup".to_owned()),
        };
        let nodegroup_name = p
            .str("nodegroup_name")?
            .unwrap_or_else(|| DEFAULT_NODEGROUP_NAME.to_owned());
        let nodegroup_role_arn = p.str("nodegroup_role_arn")?.filter(|s| !s.is_empty());
        let nodegroup_request = NodegroupRequest::read(p, "create_nodegroup_kwargs")?;
        let fargate_profile_name = p
            .str("fargate_profile_name")?
            .unwrap_or_else(|| DEFAULT_FARGATE_PROFILE_NAME.to_owned());
        let fargate_role_arn = p
            .str("fargate_pod_execution_role_arn")?
            .filter(|s| !s.is_empty());
        let fargate_request = FargateRequest::read(
            p,
            "fargate_selectors",
            Some(json!([{"namespace": "default"}])),
        )?;
        let waiting = Waiting::read(p, 30.0, 40)?;
        let delete_on_failure = p.bool("delete_nodegroup_on_failure", true)?;
        // The provider checks `compute` and its role at the start of `execute` (a ValueError
        // before any call); so does airtask, so that `validate` accepts what Airflow loads.
        let missing = |compute: &str, requirement: &str| {
            format!(
                "EksCreateClusterOperator: Creating an {compute} requires {requirement} to be \
                 passed in."
            )
        };
        let compute = match compute.as_deref() {
            None => Ok(None),
            Some(c) if p.is_templated(c) => Ok(None),
            Some("nodegroup") => match nodegroup_role_arn {
                Some(role_arn) => Ok(Some(Compute::Nodegroup {
                    name: nodegroup_name,
                    role_arn,
                    subnets: Vec::new(),
                    request: Box::new(nodegroup_request),
                    delete_on_failure,
                })),
                None => Err(missing(NODEGROUP_FULL_NAME, "nodegroup_role_arn")),
            },
            Some("fargate") => match fargate_role_arn {
                Some(role_arn) => Ok(Some(Compute::Fargate {
                    name: fargate_profile_name,
                    role_arn,
                    request: fargate_request,
                })),
                None => Err(missing(FARGATE_FULL_NAME, "fargate_pod_execution_role_arn")),
            },
            Some(other) => Err(format!(
                "EksCreateClusterOperator parameter `compute` is '{other}': Provided compute \
                 type is not supported. It must be nodegroup, fargate, or null for none."
            )),
        };
        Ok(EksCreateClusterOperator {
            aws,
            cluster_name,
            role_arn,
            request,
            compute,
            subnets,
            waiting,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let cluster = Target::Cluster(self.cluster_name.clone());
        let mut create = vec!["eks:CreateCluster"];
        if self.request.get_tags().is_some() {
            create.push("eks:TagResource");
        }
        let mut out = vec![
            Permission::new(&create, [cluster.arn(region)]),
            Permission::new(&["iam:PassRole"], [self.role_arn.clone()]),
        ];
        let compute = self.compute.as_ref().ok().and_then(Option::as_ref);
        if compute.is_some() || self.waiting.wait {
            // cluster_active, and on its failure DeleteCluster and cluster_deleted.
            out.push(Permission::new(
                &["eks:DescribeCluster", "eks:DeleteCluster"],
                [cluster.arn(region)],
            ));
        }
        if let Some(c) = compute {
            out.extend(c.permissions(&self.cluster_name, region, self.waiting.wait));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let compute = self.compute.clone().map_err(TaskError::fatal)?;
        let client = eks(ctx, &self.aws)?;
        let name = &self.cluster_name;
        let out =
            self.request.clone().send_with(&client).await.map_err(|e| {
                airtask_aws::error::task_error(&format!("CreateCluster {name}"), &e)
            })?;
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "Created Amazon EKS cluster with the name {}.",
                out.cluster().and_then(|c| c.name()).unwrap_or(name)
            ),
        );
        if compute.is_none() && !self.waiting.wait {
            return Ok(Outcome::Success(None));
        }
        self.waiting.note_deferrable(ctx);
        ctx.info("Waiting for EKS Cluster to provision. This will take some time.");
        let target = Target::Cluster(name.clone());
        let (delay, attempts) = (self.waiting.delay, self.waiting.max_attempts);
        if let Err(e) = common::CLUSTER_ACTIVE
            .wait(ctx, &client, &target, delay, attempts)
            .await
        {
            ctx.error(&format!(
                "Cluster failed to start and will be torn down.\n {e}"
            ));
            client
                .delete_cluster()
                .name(name)
                .send()
                .await
                .map_err(|d| {
                    airtask_aws::error::task_error(
                        &format!("{e}; then DeleteCluster {name} (tearing it down)"),
                        &d,
                    )
                })?;
            common::CLUSTER_DELETED
                .wait(ctx, &client, &target, delay, attempts)
                .await
                .map_err(|d| {
                    TaskError::fatal(format!("{e}; then the teardown of the cluster: {d}"))
                })?;
            ctx.info("Cluster deleted");
            return Err(e);
        }
        if let Some(mut compute) = compute {
            if self.waiting.deferrable {
                ctx.info("Cluster is ready to provision compute.");
            }
            if let Compute::Nodegroup { subnets, .. } = &mut compute {
                subnets.clone_from(&self.subnets);
            }
            let wait = self.waiting.wait.then_some((delay, attempts));
            compute.create(ctx, &client, name, wait).await?;
            if self.waiting.deferrable {
                let resource = match compute {
                    Compute::Nodegroup { .. } => "nodegroup",
                    Compute::Fargate { .. } => "fargate profile",
                };
                ctx.info(&format!("{resource} created successfully"));
            }
        }
        Ok(Outcome::Success(None))
    }
}

/// A configured `EksDeleteClusterOperator`.
#[derive(Debug)]
pub struct EksDeleteClusterOperator {
    aws: AwsParams,
    cluster_name: String,
    force_delete_compute: bool,
    waiting: Waiting,
}

impl Operator for EksDeleteClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.eks.EksDeleteClusterOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "force_delete_compute",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let mut aws = AwsParams::read(p)?;
        deprecated_region(p, &mut aws)?;
        let cluster_name =
            p.required_str("cluster_name", "the name of the EKS cluster to delete")?;
        let force_delete_compute = p.bool("force_delete_compute", false)?;
        let waiting = Waiting::read(p, 30.0, 40)?;
        Ok(EksDeleteClusterOperator {
            aws,
            cluster_name,
            force_delete_compute,
            waiting,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let c = &self.cluster_name;
        let cluster = Target::Cluster(c.clone()).arn(region);
        let mut actions = vec!["eks:DeleteCluster"];
        if self.waiting.wait {
            actions.push("eks:DescribeCluster");
        }
        let mut out = vec![Permission::new(&actions, [cluster.clone()])];
        if self.force_delete_compute {
            out.push(Permission::new(
                &["eks:ListNodegroups", "eks:ListFargateProfiles"],
                [cluster],
            ));
            out.push(Permission::new(
                &["eks:DeleteNodegroup"],
                [airtask_core::permissions::arn(
                    "eks",
                    region,
                    &format!("nodegroup/{c}/*"),
                )],
            ));
            out.push(Permission::new(
                &["eks:DeleteFargateProfile", "eks:DescribeFargateProfile"],
                [airtask_core::permissions::arn(
                    "eks",
                    region,
                    &format!("fargateprofile/{c}/*"),
                )],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        let name = &self.cluster_name;
        let (delay, attempts) = (self.waiting.delay, self.waiting.max_attempts);
        self.waiting.note_deferrable(ctx);
        if self.force_delete_compute {
            let nodegroups = common::list_nodegroups(&client, name).await?;
            if !nodegroups.is_empty() {
                ctx.info(&format!(
                    "A cluster can not be deleted with attached {NODEGROUP_FULL_NAME}.  \
                     Deleting {} {NODEGROUP_FULL_NAME}.",
                    nodegroups.len()
                ));
                for group in &nodegroups {
                    common::retry_in_use(
                        ctx,
                        &format!("DeleteNodegroup {group} of EKS cluster {name}"),
                        || {
                            client
                                .delete_nodegroup()
                                .cluster_name(name)
                                .nodegroup_name(group)
                                .send()
                        },
                    )
                    .await?;
                }
                ctx.info("Waiting for all nodegroups to delete.  This will take some time.");
                common::wait_all_nodegroups_deleted(ctx, &client, name, delay, attempts).await?;
            }
            ctx.info(&format!(
                "No {NODEGROUP_FULL_NAME} remain, deleting cluster."
            ));
            let profiles = common::list_fargate_profiles(&client, name).await?;
            if !profiles.is_empty() {
                ctx.info(&format!(
                    "A cluster can not be deleted with attached {FARGATE_FULL_NAME}.  Deleting \
                     {} {FARGATE_FULL_NAME}.",
                    profiles.len()
                ));
                ctx.info("Waiting for Fargate profiles to delete.  This will take some time.");
                for profile in &profiles {
                    crate::compute::delete_fargate_profile(ctx, &client, name, profile).await?;
                    let target = Target::FargateProfile {
                        cluster: name.clone(),
                        name: profile.clone(),
                    };
                    common::FARGATE_PROFILE_DELETED
                        .wait(ctx, &client, &target, delay, attempts)
                        .await?;
                }
            }
            ctx.info(&format!("No {FARGATE_FULL_NAME} remain, deleting cluster."));
        }
        let out = common::retry_in_use(ctx, &format!("DeleteCluster {name}"), || {
            client.delete_cluster().name(name).send()
        })
        .await?;
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "Deleted Amazon EKS cluster with the name {}.",
                out.cluster().and_then(|c| c.name()).unwrap_or(name)
            ),
        );
        if self.waiting.wait {
            ctx.info("Waiting for cluster to delete.  This will take some time.");
            common::CLUSTER_DELETED
                .wait(
                    ctx,
                    &client,
                    &Target::Cluster(name.clone()),
                    delay,
                    attempts,
                )
                .await?;
            if self.waiting.deferrable {
                ctx.info("Cluster deleted successfully.");
            }
        }
        Ok(Outcome::Success(None))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::Value;

    use super::*;

    /// `resources_vpc_config` as a JSON value.
    fn vpc(subnets: &[&str]) -> Value {
        json!({ "subnetIds": subnets })
    }

    fn build(v: Value) -> Result<EksCreateClusterOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EksCreateClusterOperator>(&p)
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/eks";

    #[test]
    fn compute_defaults_to_a_nodegroup_that_needs_its_role() {
        let op = build(json!({"cluster_name": "c1", "cluster_role_arn": ROLE,
                               "resources_vpc_config": vpc(&["s-1"])}))
        .unwrap();
        let e = op.compute.clone().unwrap_err();
        assert!(
            e.contains("Creating an Amazon EKS managed node groups requires nodegroup_role_arn"),
            "{e}"
        );
        let op = build(
            json!({"cluster_name": "c1", "cluster_role_arn": ROLE, "compute": null,
                               "resources_vpc_config": vpc(&["s-1"])}),
        )
        .unwrap();
        assert!(matches!(op.compute, Ok(None)));
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["eks:CreateCluster"],
                    ["arn:aws:eks:{region}:{account}:cluster/c1"]
                ),
                Permission::new(&["iam:PassRole"], [ROLE]),
            ]
        );
        let op = build(
            json!({"cluster_name": "c1", "cluster_role_arn": ROLE, "compute": "ec2",
                               "resources_vpc_config": vpc(&[])}),
        )
        .unwrap();
        let e = op.compute.unwrap_err();
        assert!(e.contains("Provided compute type is not supported"), "{e}");
        let op = build(json!({"cluster_name": "c1", "cluster_role_arn": ROLE,
                               "compute": "fargate", "resources_vpc_config": vpc(&[])}))
        .unwrap();
        assert!(
            op.compute
                .unwrap_err()
                .contains("fargate_pod_execution_role_arn")
        );
    }

    #[test]
    fn fargate_compute_gets_the_default_selector_and_permissions() {
        let op = build(json!({"cluster_name": "c1", "cluster_role_arn": ROLE,
                               "compute": "fargate", "resources_vpc_config": vpc(&["s-1"]),
                               "fargate_pod_execution_role_arn": "arn:aws:iam::1:role/pods"}))
        .unwrap();
        let Ok(Some(Compute::Fargate { name, request, .. })) = &op.compute else {
            panic!("{:?}", op.compute);
        };
        assert_eq!(name, "profile");
        let selectors = request.request.get_selectors().clone().unwrap_or_default();
        assert_eq!(selectors[0].namespace(), Some("default"));
        let p = op.permissions();
        assert!(p.contains(&Permission::new(
            &["iam:PassRole"],
            ["arn:aws:iam::1:role/pods"]
        )));
        assert!(p.iter().any(|p| p.actions == ["eks:CreateFargateProfile"]));
        assert!(
            p.iter()
                .any(|p| p.actions == ["eks:DescribeCluster", "eks:DeleteCluster"])
        );
    }

    #[test]
    fn delete_permissions_widen_with_force_delete_compute() {
        let p: Params = json!({"cluster_name": "c1", "force_delete_compute": true,
                                "wait_for_completion": true})
        .as_object()
        .cloned()
        .unwrap_or_default();
        let op = build_operator::<EksDeleteClusterOperator>(&p).unwrap();
        let perms = op.permissions();
        assert_eq!(
            perms[0].actions,
            ["eks:DeleteCluster", "eks:DescribeCluster"]
        );
        assert!(
            perms
                .iter()
                .any(|p| p.resources == ["arn:aws:eks:{region}:{account}:nodegroup/c1/*"])
        );
        assert_eq!(perms.len(), 4);
    }
}
