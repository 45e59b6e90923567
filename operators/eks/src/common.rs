//! What the EKS operators and sensors share: the client, the state of a cluster, node group or
//! Fargate profile (the hook's `get_*_state`, NONEXISTENT when EKS does not know it), boto3's
//! EKS waiters with their acceptors, the provider's custom `all_nodegroups_deleted` waiter,
//! the listings, and the retry of a delete that EKS refuses with ResourceInUseException.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{ParamError, ParamReader, TaskContext, TaskError};
use aws_sdk_eks::Client;

/// The logger of the EKS hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.eks.EksHook";

/// The error code of a resource EKS does not know.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// The error code of a delete EKS refuses while something still uses the resource.
const IN_USE: &str = "ResourceInUseException";

/// The state the hook reports for a resource EKS does not know.
pub(crate) const NONEXISTENT: &str = "NONEXISTENT";

/// An EKS client for the task's identity, in the operator's region.
pub(crate) fn eks(ctx: &TaskContext, aws: &AwsParams) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_eks))
}

/// An EKS resource: a cluster, one of its managed node groups or one of its Fargate profiles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// A cluster.
    Cluster(String),
    /// A managed node group of a cluster.
    Nodegroup {
        /// The cluster.
        cluster: String,
        /// The node group.
        name: String,
    },
    /// A Fargate profile of a cluster.
    FargateProfile {
        /// The cluster.
        cluster: String,
        /// The profile.
        name: String,
    },
}

impl Target {
    /// The resource for messages: `EKS cluster c1`, `node group ng of EKS cluster c1`.
    pub(crate) fn what(&self) -> String {
        match self {
            Target::Cluster(c) => format!("EKS cluster {c}"),
            Target::Nodegroup { cluster, name } => {
                format!("managed node group {name} of EKS cluster {cluster}")
            }
            Target::FargateProfile { cluster, name } => {
                format!("Fargate profile {name} of EKS cluster {cluster}")
            }
        }
    }

    /// The ARN IAM scopes the resource's actions to.
    pub(crate) fn arn(&self, region: Option<&str>) -> String {
        let resource = match self {
            Target::Cluster(c) => format!("cluster/{c}"),
            Target::Nodegroup { cluster, name } => format!("nodegroup/{cluster}/{name}/*"),
            Target::FargateProfile { cluster, name } => {
                format!("fargateprofile/{cluster}/{name}/*")
            }
        };
        airtask_core::permissions::arn("eks", region, &resource)
    }

    /// The status EKS reports (`CREATING`, `ACTIVE`...), `None` when EKS does not know the
    /// resource.
    ///
    /// # Errors
    /// Any other error of the Describe call.
    pub(crate) async fn status(&self, eks: &Client) -> Result<Option<String>, TaskError> {
        macro_rules! read {
            ($call:expr, $name:literal, $field:ident) => {
                match $call.send().await {
                    Ok(out) => Ok(Some(
                        out.$field()
                            .and_then(|r| r.status())
                            .map_or("UNKNOWN", |s| s.as_str())
                            .to_owned(),
                    )),
                    Err(e) if airtask_aws::error::code(&e) == Some(NOT_FOUND) => Ok(None),
                    Err(e) => Err(airtask_aws::error::task_error(
                        &format!("{} of {}", $name, self.what()),
                        &e,
                    )),
                }
            };
        }
        match self {
            Target::Cluster(c) => read!(eks.describe_cluster().name(c), "DescribeCluster", cluster),
            Target::Nodegroup { cluster, name } => read!(
                eks.describe_nodegroup()
                    .cluster_name(cluster)
                    .nodegroup_name(name),
                "DescribeNodegroup",
                nodegroup
            ),
            Target::FargateProfile { cluster, name } => read!(
                eks.describe_fargate_profile()
                    .cluster_name(cluster)
                    .fargate_profile_name(name),
                "DescribeFargateProfile",
                fargate_profile
            ),
        }
    }

    /// The hook's `get_*_state`: the status, or NONEXISTENT when EKS does not know it.
    pub(crate) async fn state(&self, eks: &Client) -> Result<String, TaskError> {
        Ok(self
            .status(eks)
            .await?
            .unwrap_or_else(|| NONEXISTENT.to_owned()))
    }

    /// The IAM action of the Describe call.
    pub(crate) fn describe_action(&self) -> &'static str {
        match self {
            Target::Cluster(_) => "eks:DescribeCluster",
            Target::Nodegroup { .. } => "eks:DescribeNodegroup",
            Target::FargateProfile { .. } => "eks:DescribeFargateProfile",
        }
    }
}

/// One of boto3's EKS waiters: its name, the status path it reads, and its acceptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Waiter {
    /// The waiter's name as botocore prints it (`ClusterActive`).
    pub(crate) name: &'static str,
    /// The JMESPath botocore prints in a failure (`cluster.status`).
    path: &'static str,
    /// The status that is success; `None` for the waiters whose success is the resource gone.
    success: Option<&'static str>,
    /// The statuses that end the wait in failure.
    failure: &'static [&'static str],
}

/// `cluster_active`.
pub(crate) const CLUSTER_ACTIVE: Waiter = Waiter {
    name: "ClusterActive",
    path: "cluster.status",
    success: Some("ACTIVE"),
    failure: &["DELETING", "FAILED"],
};
/// `cluster_deleted`.
pub(crate) const CLUSTER_DELETED: Waiter = Waiter {
    name: "ClusterDeleted",
    path: "cluster.status",
    success: None,
    failure: &["ACTIVE", "CREATING", "PENDING"],
};
/// `nodegroup_active`.
pub(crate) const NODEGROUP_ACTIVE: Waiter = Waiter {
    name: "NodegroupActive",
    path: "nodegroup.status",
    success: Some("ACTIVE"),
    failure: &["CREATE_FAILED"],
};
/// `nodegroup_deleted`.
pub(crate) const NODEGROUP_DELETED: Waiter = Waiter {
    name: "NodegroupDeleted",
    path: "nodegroup.status",
    success: None,
    failure: &["DELETE_FAILED"],
};
/// `fargate_profile_active`.
pub(crate) const FARGATE_PROFILE_ACTIVE: Waiter = Waiter {
    name: "FargateProfileActive",
    path: "fargateProfile.status",
    success: Some("ACTIVE"),
    failure: &["CREATE_FAILED"],
};
/// `fargate_profile_deleted`.
pub(crate) const FARGATE_PROFILE_DELETED: Waiter = Waiter {
    name: "FargateProfileDeleted",
    path: "fargateProfile.status",
    success: None,
    failure: &["DELETE_FAILED"],
};

impl Waiter {
    /// What one Describe answer (`None`: ResourceNotFoundException) means to the waiter.
    pub(crate) fn judge(
        &self,
        target: &Target,
        status: Option<&str>,
    ) -> Result<Poll<()>, TaskError> {
        let Some(status) = status else {
            // The "deleted" waiters succeed on ResourceNotFoundException; the others have no
            // acceptor for it, and botocore ends the wait with the error.
            return if self.success.is_none() {
                Ok(Poll::Done(()))
            } else {
                Err(TaskError::fatal(format!(
                    "Waiter {} failed: An error occurred ({NOT_FOUND}): {} does not exist",
                    self.name,
                    target.what()
                )))
            };
        };
        if self.success == Some(status) {
            return Ok(Poll::Done(()));
        }
        if self.failure.contains(&status) {
            return Err(TaskError::fatal(format!(
                "Waiter {} failed: Waiter encountered a terminal failure state: For expression \
                 \"{}\" we matched expected path: \"{status}\" ({} is {status})",
                self.name,
                self.path,
                target.what()
            )));
        }
        Ok(Poll::Pending {
            state: status.to_owned(),
        })
    }

    /// Waits as `client.get_waiter(name).wait(..., WaiterConfig={"Delay": delay,
    /// "MaxAttempts": max_attempts})` does: Describe at once, then every `delay`.
    ///
    /// # Errors
    /// A failure state, another Describe error, `max_attempts` polls without success, or the
    /// try's time budget.
    pub(crate) async fn wait(
        &self,
        ctx: &TaskContext,
        eks: &Client,
        target: &Target,
        delay: Duration,
        max_attempts: u32,
    ) -> Result<(), TaskError> {
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: delay,
            waiter_max_attempts: max_attempts,
            deferrable: false,
        };
        let what = format!("{} (waiter {})", target.what(), self.name);
        wait::until_terminal(ctx, &settings, &what, || async move {
            let status = target.status(eks).await?;
            self.judge(target, status.as_deref())
        })
        .await
    }
}

/// The names of a cluster's managed node groups (ListNodegroups, every page).
pub(crate) async fn list_nodegroups(eks: &Client, cluster: &str) -> Result<Vec<String>, TaskError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = eks
            .list_nodegroups()
            .cluster_name(cluster)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("ListNodegroups of EKS cluster {cluster}"),
                    &e,
                )
            })?;
        names.extend(out.nodegroups().iter().filter(|n| !n.is_empty()).cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(names),
        }
    }
}

/// The names of a cluster's Fargate profiles (ListFargateProfiles, every page).
pub(crate) async fn list_fargate_profiles(
    eks: &Client,
    cluster: &str,
) -> Result<Vec<String>, TaskError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = eks
            .list_fargate_profiles()
            .cluster_name(cluster)
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("ListFargateProfiles of EKS cluster {cluster}"),
                    &e,
                )
            })?;
        names.extend(
            out.fargate_profile_names()
                .iter()
                .filter(|n| !n.is_empty())
                .cloned(),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(names),
        }
    }
}

/// The provider's custom `all_nodegroups_deleted` waiter: ListNodegroups until the cluster has
/// none.
pub(crate) async fn wait_all_nodegroups_deleted(
    ctx: &TaskContext,
    eks: &Client,
    cluster: &str,
    delay: Duration,
    max_attempts: u32,
) -> Result<(), TaskError> {
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: delay,
        waiter_max_attempts: max_attempts,
        deferrable: false,
    };
    let what =
        format!("the managed node groups of EKS cluster {cluster} (waiter all_nodegroups_deleted)");
    wait::until_terminal(ctx, &settings, &what, || async move {
        let left = list_nodegroups(eks, cluster).await?;
        Ok(if left.is_empty() {
            Poll::Done(())
        } else {
            Poll::Pending {
                state: format!("{} left ({})", left.len(), left.join(", ")),
            }
        })
    })
    .await
}

/// How long deletes refused with ResourceInUseException are retried, at most.
const IN_USE_RETRY_FOR: Duration = Duration::from_secs(600);
/// The longest wait between two tries of such a delete.
const IN_USE_MAX_WAIT: Duration = Duration::from_secs(30);

/// Runs `call` (a Delete call) and retries it while EKS refuses it with
/// ResourceInUseException, as the provider's tenacity retry (`build_resource_in_use_retry_args`)
/// does: waits of 1, 2, 4... s (at most 30 s) for up to 10 minutes, never past the try's time
/// budget. Other errors end it at once.
///
/// # Errors
/// The last error, as a task error naming `what`.
pub(crate) async fn retry_in_use<T, E, F, Fut>(
    ctx: &TaskContext,
    what: &str,
    mut call: F,
) -> Result<T, TaskError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<
            Output = Result<
                T,
                aws_sdk_eks::error::SdkError<E, aws_sdk_eks::config::http::HttpResponse>,
            >,
        >,
    E: aws_sdk_eks::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_secs(1);
    let mut tries: u32 = 1;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if airtask_aws::error::code(&e) == Some(IN_USE) => {
                let budget_left = ctx.time_budget().unwrap_or(Duration::MAX);
                if started.elapsed() + wait > IN_USE_RETRY_FOR || wait >= budget_left {
                    let mut err = airtask_aws::error::task_error(what, &e);
                    err.message = format!(
                        "{} (tried {tries} times over {:.0} s; the resource stayed in use)",
                        err.message,
                        started.elapsed().as_secs_f64()
                    );
                    err.retryable = true;
                    return Err(err);
                }
                ctx.warning(&format!(
                    "{what}: {}; trying again in {} s",
                    airtask_aws::error::text(&e),
                    wait.as_secs()
                ));
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(IN_USE_MAX_WAIT);
                tries += 1;
            }
            Err(e) => return Err(airtask_aws::error::task_error(what, &e)),
        }
    }
}

/// The waiting parameters of the create and delete operators: `wait_for_completion` (default
/// false), `waiter_delay`, `waiter_max_attempts` and `deferrable` (which waits too: the
/// provider's trigger waits, airtask waits in the process).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Waiting {
    /// Wait for the end state.
    pub(crate) wait: bool,
    /// `deferrable` was asked for.
    pub(crate) deferrable: bool,
    /// The time between two polls.
    pub(crate) delay: Duration,
    /// The number of polls.
    pub(crate) max_attempts: u32,
}

impl Waiting {
    /// Reads the waiting parameters with the operator's defaults.
    pub(crate) fn read(
        p: &mut ParamReader<'_>,
        default_delay: f64,
        default_max_attempts: u32,
    ) -> Result<Waiting, ParamError> {
        let wait_for_completion = p.bool("wait_for_completion", false)?;
        let delay = Duration::from_secs_f64(p.seconds("waiter_delay", default_delay)?);
        let max_attempts = p
            .u32("waiter_max_attempts", 1..=u32::MAX)?
            .unwrap_or(default_max_attempts);
        let deferrable = p.bool("deferrable", false)?;
        Ok(Waiting {
            wait: wait_for_completion || deferrable,
            deferrable,
            delay,
            max_attempts,
        })
    }

    /// Logs that `deferrable` runs as an in-process wait, when it was asked for.
    pub(crate) fn note_deferrable(&self, ctx: &TaskContext) {
        if self.deferrable {
            ctx.info(
                "deferrable is set: airtask waits in the task's process (there is no \
                 triggerer), with the same result",
            );
        }
    }
}

/// Reads the deprecated `region` parameter into `aws` (the provider passes it on as
/// `region_name`, with a deprecation warning).
pub(crate) fn deprecated_region(
    p: &mut ParamReader<'_>,
    aws: &mut AwsParams,
) -> Result<(), ParamError> {
    if let Some(r) = p.str("region")?.filter(|r| !r.is_empty()) {
        aws.region_name = Some(r);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Target {
        Target::Cluster("c1".into())
    }

    #[test]
    fn waiters_follow_the_botocore_acceptors() {
        let t = cluster();
        assert_eq!(CLUSTER_ACTIVE.judge(&t, Some("ACTIVE")), Ok(Poll::Done(())));
        assert_eq!(
            CLUSTER_ACTIVE.judge(&t, Some("CREATING")),
            Ok(Poll::Pending {
                state: "CREATING".into()
            })
        );
        let e = CLUSTER_ACTIVE.judge(&t, Some("FAILED")).unwrap_err();
        assert!(
            e.message.starts_with(
                "Waiter ClusterActive failed: Waiter encountered a terminal failure state: For \
                 expression \"cluster.status\" we matched expected path: \"FAILED\""
            ),
            "{e}"
        );
        assert!(CLUSTER_ACTIVE.judge(&t, None).is_err());
        assert_eq!(CLUSTER_DELETED.judge(&t, None), Ok(Poll::Done(())));
        assert!(CLUSTER_DELETED.judge(&t, Some("ACTIVE")).is_err());
        assert!(matches!(
            CLUSTER_DELETED.judge(&t, Some("DELETING")),
            Ok(Poll::Pending { .. })
        ));
        let ng = Target::Nodegroup {
            cluster: "c1".into(),
            name: "ng".into(),
        };
        assert!(NODEGROUP_ACTIVE.judge(&ng, Some("CREATE_FAILED")).is_err());
        assert!(NODEGROUP_DELETED.judge(&ng, Some("DELETE_FAILED")).is_err());
        assert_eq!(NODEGROUP_DELETED.judge(&ng, None), Ok(Poll::Done(())));
        assert!(matches!(
            FARGATE_PROFILE_ACTIVE.judge(&ng, Some("CREATING")),
            Ok(Poll::Pending { .. })
        ));
        assert!(
            FARGATE_PROFILE_DELETED
                .judge(&ng, Some("DELETE_FAILED"))
                .is_err()
        );
    }

    #[test]
    fn targets_name_themselves_and_their_arns() {
        let fp = Target::FargateProfile {
            cluster: "c1".into(),
            name: "fp".into(),
        };
        assert_eq!(fp.what(), "Fargate profile fp of EKS cluster c1");
        assert_eq!(
            fp.arn(Some("eu-west-1")),
            "arn:aws:eks:eu-west-1:{account}:fargateprofile/c1/fp/*"
        );
        assert_eq!(
            cluster().arn(None),
            "arn:aws:eks:{region}:{account}:cluster/c1"
        );
    }
}
