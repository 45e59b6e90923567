//! `NeptuneStartDbClusterOperator` and `NeptuneStopDbClusterOperator`: read the cluster's
//! status (done at once when it is already available / stopped, a failure in an error state),
//! send StartDBCluster / StopDBCluster, and by default wait with the provider's
//! `cluster_available` / `cluster_stopped` waiter. A call refused because the cluster or one
//! of its instances is in the wrong state is waited out (the hook's `cluster_available` or
//! botocore's `db_instance_available`, 30 s apart, 60 polls at most) and then sent once more.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_neptune::Client;
use aws_sdk_neptune::types::Filter;
use serde_json::json;

/// The logger of the Neptune hook's lines.
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.neptune.NeptuneHook";

/// The hook's `ERROR_STATES`: a cluster in one of them can be neither started nor stopped.
const ERROR_STATES: &[&str] = &[
    "cloning-failed",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "migration-failed",
];

/// The failure states of the provider's `cluster_available` and `cluster_stopped` waiters.
const WAITER_FAILURES: &[&str] = &[
    "deleting",
    "inaccessible-encryption-credentials",
    "inaccessible-encryption-credentials-recoverable",
    "migration-failed",
];

/// The failure states of botocore's `db_instance_available` waiter.
const INSTANCE_FAILURES: &[&str] = &[
    "deleted",
    "deleting",
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
];

/// The hook's defaults for the waits after a refused call (the operator passes none).
const HOOK_DELAY: Duration = Duration::from_secs(30);
const HOOK_MAX_ATTEMPTS: u32 = 60;

/// Start or stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Stop,
}

impl Action {
    /// The status the action leads to.
    fn target(self) -> &'static str {
        match self {
            Action::Start => "available",
            Action::Stop => "stopped",
        }
    }

    /// The verb, for messages ("start", "stop").
    fn verb(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }

    /// The error codes of a refusal that a wait can cure (the provider's lists).
    fn waitable(self, code: &str) -> bool {
        let codes: &[&str] = match self {
            Action::Start => &[
                "InvalidDBInstanceState",
                "InvalidClusterState",
                "InvalidDBClusterStateFault",
            ],
            Action::Stop => &[
                "InvalidDBInstanceState",
                "InvalidDBInstanceStateFault",
                "InvalidClusterState",
                "InvalidDBClusterStateFault",
            ],
        };
        codes.contains(&code)
    }
}

/// What both operators take.
#[derive(Debug)]
struct ClusterAction {
    aws: AwsParams,
    cluster_id: String,
    wait: WaitSettings,
}

impl ClusterAction {
    fn read(p: &mut ParamReader<'_>) -> Result<ClusterAction, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_id = p.required_str(
            "db_cluster_id",
            "the DB cluster identifier of the Neptune cluster",
        )?;
        let mut wait = WaitSettings::read(p, 30, 60)?;
        // deferrable implies waiting for completion (the provider's trigger waits).
        wait.wait_for_completion |= wait.deferrable;
        Ok(ClusterAction {
            aws,
            cluster_id,
            wait,
        })
    }

    /// DescribeDBClusters and `call` on the cluster (Neptune's management API is authorized
    /// as RDS's), and DescribeDBInstances of its instances, which the wait for them reads
    /// after a refusal (`db:*`: the instances are not parameters).
    fn permissions(&self, call: &'static str) -> Vec<Permission> {
        let rds = |r: &str| airtask_core::permissions::arn("rds", self.aws.region(), r);
        vec![
            Permission::new(
                &[call, "rds:DescribeDBClusters"],
                [rds(&format!("cluster:{}", self.cluster_id))],
            ),
            Permission::new(&["rds:DescribeDBInstances"], [rds("db:*")]),
        ]
    }

    async fn run(&self, ctx: &TaskContext, action: Action) -> Result<Outcome, TaskError> {
        let neptune =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_neptune))?;
        self.run_with(ctx, &neptune, action).await
    }

    async fn run_with(
        &self,
        ctx: &TaskContext,
        neptune: &Client,
        action: Action,
    ) -> Result<Outcome, TaskError> {
        let id = self.cluster_id.as_str();
        let xcom = Outcome::Success(Some(json!({"db_cluster_id": id})));
        ctx.info(&format!(
            "{} Neptune cluster: {id}",
            match action {
                Action::Start => "Starting",
                Action::Stop => "Stopping",
            }
        ));
        // The first round, and one more after a refusal was waited out.
        for round in 0..2 {
            let status = cluster_status(neptune, id).await?.to_lowercase();
            if action == Action::Stop {
                ctx.info(&format!("Current status: {status}"));
            }
            if status == action.target() {
                ctx.info(&format!(
                    "Neptune cluster {id} is already {}.",
                    match action {
                        Action::Start => "available",
                        Action::Stop => "stopped",
                    }
                ));
                return Ok(xcom);
            }
            if ERROR_STATES.contains(&status.as_str()) {
                ctx.error(&format!(
                    "Neptune cluster {id} is in error state {status} and cannot be {}",
                    match action {
                        Action::Start => "started",
                        Action::Stop => "stopped",
                    }
                ));
                return Err(TaskError::fatal(format!(
                    "Neptune cluster {id} is in error state {status}"
                )));
            }
            let sent = match action {
                Action::Start => neptune
                    .start_db_cluster()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            airtask_aws::error::code(&e).map(str::to_owned),
                            airtask_aws::error::task_error(&format!("StartDBCluster {id}"), &e),
                        )
                    }),
                Action::Stop => neptune
                    .stop_db_cluster()
                    .db_cluster_identifier(id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        (
                            airtask_aws::error::code(&e).map(str::to_owned),
                            airtask_aws::error::task_error(&format!("StopDBCluster {id}"), &e),
                        )
                    }),
            };
            match sent {
                Ok(()) => break,
                Err((Some(code), err)) if action.waitable(&code) => {
                    ctx.warning(&format!(
                        "Received client error when attempting to {} the cluster: {code}",
                        action.verb()
                    ));
                    if round == 1 {
                        return Err(err);
                    }
                    wait_out_refusal(ctx, neptune, id, &code, self.wait.deferrable).await?;
                }
                Err((_, err)) => return Err(err),
            }
        }
        if self.wait.wait_for_completion {
            ctx.info(&format!(
                "Waiting for Neptune cluster {id} to {}.",
                action.verb()
            ));
            wait_cluster(ctx, neptune, id, action.target(), &self.wait).await?;
        }
        Ok(xcom)
    }
}

/// The provider's `handle_waitable_exception`: an instance in the wrong state is waited for
/// with `db_instance_available`, a cluster in the wrong state with `cluster_available`, both
/// with the hook's defaults.
async fn wait_out_refusal(
    ctx: &TaskContext,
    neptune: &Client,
    id: &str,
    code: &str,
    deferrable: bool,
) -> Result<(), TaskError> {
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: HOOK_DELAY,
        waiter_max_attempts: HOOK_MAX_ATTEMPTS,
        deferrable,
    };
    if code.starts_with("InvalidDBInstanceState") {
        ctx.info(&format!(
            "Need to wait for instances to become available: {id}"
        ));
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Waiting for instances in cluster {id}."),
        );
        wait::until_terminal(
            ctx,
            &settings,
            &format!("the instances of Neptune cluster {id} (db_instance_available)"),
            || instances_poll(neptune, id),
        )
        .await?;
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Finished waiting for instances in cluster {id}."),
        );
    } else {
        ctx.info(&format!(
            "Need to wait for cluster to become available: {id}"
        ));
        wait_cluster(ctx, neptune, id, "available", &settings).await?;
    }
    Ok(())
}

/// The hook's `get_cluster_status`: DescribeDBClusters, the first cluster's Status.
async fn cluster_status(neptune: &Client, id: &str) -> Result<String, TaskError> {
    let out = neptune
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeDBClusters {id}"), &e))?;
    out.db_clusters()
        .first()
        .and_then(|c| c.status())
        .map(str::to_owned)
        .ok_or_else(|| {
            TaskError::retryable(format!(
                "DescribeDBClusters {id} answered no cluster with a status"
            ))
        })
}

/// What the `cluster_available` (target `available`) or `cluster_stopped` (target
/// `stopped`) waiter makes of `status`.
fn judge(id: &str, target: &str, status: &str) -> Result<Poll<()>, TaskError> {
    if status == target {
        return Ok(Poll::Done(()));
    }
    if WAITER_FAILURES.contains(&status) {
        let waiter = if target == "available" {
            "cluster_available"
        } else {
            "cluster_stopped"
        };
        return Err(TaskError::retryable(format!(
            "Neptune cluster {id}: waiter {waiter} failed: the cluster is {status}, a terminal \
             failure state for it"
        )));
    }
    Ok(Poll::Pending {
        state: status.to_owned(),
    })
}

/// Waits until the cluster's status is `target`; logs the hook's closing line.
async fn wait_cluster(
    ctx: &TaskContext,
    neptune: &Client,
    id: &str,
    target: &str,
    settings: &WaitSettings,
) -> Result<(), TaskError> {
    let waiter = if target == "available" {
        "cluster_available"
    } else {
        "cluster_stopped"
    };
    wait::until_terminal(
        ctx,
        settings,
        &format!("Neptune cluster {id} ({waiter})"),
        || async move {
            let status = cluster_status(neptune, id).await?;
            judge(id, target, &status)
        },
    )
    .await?;
    ctx.hook_info(
        HOOK_LOGGER,
        &format!("Finished waiting for cluster {id}. Status is now {target}"),
    );
    Ok(())
}

/// One poll of `db_instance_available` over the cluster's instances.
async fn instances_poll(neptune: &Client, id: &str) -> Result<Poll<()>, TaskError> {
    let filter = Filter::builder().name("db-cluster-id").values(id).build();
    let out = neptune
        .describe_db_instances()
        .filters(filter)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeDBInstances of cluster {id}"), &e)
        })?;
    let states: Vec<(&str, &str)> = out
        .db_instances()
        .iter()
        .map(|i| {
            (
                i.db_instance_identifier().unwrap_or_default(),
                i.db_instance_status().unwrap_or_default(),
            )
        })
        .collect();
    if let Some((name, s)) = states.iter().find(|(_, s)| INSTANCE_FAILURES.contains(s)) {
        return Err(TaskError::retryable(format!(
            "Neptune cluster {id}: waiter db_instance_available failed: instance {name} is {s}"
        )));
    }
    if !states.is_empty() && states.iter().all(|(_, s)| *s == "available") {
        return Ok(Poll::Done(()));
    }
    Ok(Poll::Pending {
        state: states
            .iter()
            .find(|(_, s)| *s != "available")
            .map_or_else(|| "no instances".to_owned(), |(n, s)| format!("{n} {s}")),
    })
}

/// The template fields of both operators. The provider names the attribute (`cluster_id`);
/// here a template field is the parameter it renders (`db_cluster_id`).
const TEMPLATE_FIELDS: &[&str] = &["aws_conn_id", "db_cluster_id", "region_name", "verify"];

/// A configured `NeptuneStartDbClusterOperator`.
#[derive(Debug)]
pub struct NeptuneStartDbClusterOperator(ClusterAction);

impl Operator for NeptuneStartDbClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.neptune.NeptuneStartDbClusterOperator",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        ClusterAction::read(p).map(NeptuneStartDbClusterOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx, Action::Start).await
    }

    /// StartDBCluster and DescribeDBClusters on the cluster, DescribeDBInstances.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("rds:StartDBCluster")
    }
}

/// A configured `NeptuneStopDbClusterOperator`.
#[derive(Debug)]
pub struct NeptuneStopDbClusterOperator(ClusterAction);

impl Operator for NeptuneStopDbClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.neptune.NeptuneStopDbClusterOperator",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        ClusterAction::read(p).map(NeptuneStopDbClusterOperator)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx, Action::Stop).await
    }

    /// StopDBCluster and DescribeDBClusters on the cluster, DescribeDBInstances.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions("rds:StopDBCluster")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_neptune::error::ErrorMetadata;
    use aws_sdk_neptune::operation::describe_db_clusters::DescribeDbClustersOutput;
    use aws_sdk_neptune::operation::describe_db_instances::DescribeDbInstancesOutput;
    use aws_sdk_neptune::operation::stop_db_cluster::{StopDBClusterError, StopDbClusterOutput};
    use aws_sdk_neptune::types::error::InvalidDbClusterStateFault;
    use aws_sdk_neptune::types::{DbCluster, DbInstance};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    fn cluster(status: &'static str) -> DescribeDbClustersOutput {
        DescribeDbClustersOutput::builder()
            .db_clusters(DbCluster::builder().status(status).build())
            .build()
    }

    #[test]
    fn defaults_follow_the_provider() {
        let p: Params = json!({"db_cluster_id": "c"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let op = build_operator::<NeptuneStopDbClusterOperator>(&p).unwrap();
        assert!(op.0.wait.wait_for_completion);
        assert_eq!(op.0.wait.waiter_delay, Duration::from_secs(30));
        assert_eq!(op.0.wait.waiter_max_attempts, 60);
        let p: Params =
            json!({"db_cluster_id": "c", "wait_for_completion": false, "deferrable": true})
                .as_object()
                .cloned()
                .unwrap_or_default();
        let op = build_operator::<NeptuneStartDbClusterOperator>(&p).unwrap();
        assert!(op.0.wait.wait_for_completion, "deferrable implies waiting");
        let p: Params = json!({"cluster_id": "c"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<NeptuneStartDbClusterOperator>(&p).unwrap_err();
        assert!(e.message().contains("needs `db_cluster_id`"), "{e}");
    }

    #[test]
    fn waiters_judge_as_the_provider_s() {
        assert_eq!(judge("c", "available", "available"), Ok(Poll::Done(())));
        assert!(matches!(
            judge("c", "available", "stopped"),
            Ok(Poll::Pending { .. })
        ));
        let e = judge("c", "stopped", "migration-failed").unwrap_err();
        assert_eq!(
            e.message,
            "Neptune cluster c: waiter cluster_stopped failed: the cluster is migration-failed, \
             a terminal failure state for it"
        );
        assert!(judge("c", "available", "deleting").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_the_cluster_state_refuses_waits_for_availability_and_is_sent_again() {
        let describe = mock!(Client::describe_db_clusters)
            .sequence()
            // The status check, then the cluster_available wait (starting, available).
            .output(|| cluster("starting"))
            .output(|| cluster("starting"))
            .output(|| cluster("available"))
            // The second round's status check, then the cluster_stopped wait.
            .output(|| cluster("available"))
            .output(|| cluster("stopping"))
            .output(|| cluster("stopped"))
            .build();
        let stop = mock!(Client::stop_db_cluster)
            .sequence()
            .error(|| {
                StopDBClusterError::InvalidDbClusterStateFault(
                    InvalidDbClusterStateFault::builder()
                        .meta(
                            ErrorMetadata::builder()
                                .code("InvalidDBClusterStateFault")
                                .message("DbCluster c is in starting state")
                                .build(),
                        )
                        .build(),
                )
            })
            .output(|| StopDbClusterOutput::builder().build())
            .build();
        let neptune = mock_client!(aws_sdk_neptune, RuleMode::MatchAny, [&describe, &stop]);
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(
            &NeptuneStopDbClusterOperator::SPEC,
            "stop",
            1,
            lines.clone(),
        );
        let p: Params = json!({"db_cluster_id": "c", "waiter_delay": 1})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let op = build_operator::<NeptuneStopDbClusterOperator>(&p).unwrap();
        let t0 = tokio::time::Instant::now();
        let out = op.0.run_with(&ctx, &neptune, Action::Stop).await;
        assert_eq!(
            out,
            Ok(Outcome::Success(Some(json!({"db_cluster_id": "c"}))))
        );
        // One hook-default delay (30 s) in the refusal's wait, one waiter_delay after.
        assert_eq!(t0.elapsed(), Duration::from_secs(31));
        assert_eq!(stop.num_calls(), 2);
        let lines = lines.0.lock().unwrap();
        assert!(
            lines.contains(
                &"Received client error when attempting to stop the cluster: \
                  InvalidDBClusterStateFault"
                    .to_owned()
            ),
            "{lines:?}"
        );
        assert!(
            lines.contains(&"Need to wait for cluster to become available: c".to_owned()),
            "{lines:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn instances_are_waited_for_until_all_are_available() {
        let instances = mock!(Client::describe_db_instances)
            .sequence()
            .output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("i1")
                            .db_instance_status("starting")
                            .build(),
                    )
                    .build()
            })
            .output(|| {
                DescribeDbInstancesOutput::builder()
                    .db_instances(
                        DbInstance::builder()
                            .db_instance_identifier("i1")
                            .db_instance_status("failed")
                            .build(),
                    )
                    .build()
            })
            .build();
        let neptune = mock_client!(aws_sdk_neptune, RuleMode::Sequential, [&instances]);
        assert_eq!(
            instances_poll(&neptune, "c").await,
            Ok(Poll::Pending {
                state: "i1 starting".into()
            })
        );
        let e = instances_poll(&neptune, "c").await.unwrap_err();
        assert!(e.message.contains("instance i1 is failed"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::NeptuneStopDbClusterOperator;

    #[test]
    fn the_cluster_is_stopped_as_an_rds_cluster() {
        let p: Params = json!({"db_cluster_id": "n1", "region_name": "us-west-2"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            build_operator::<NeptuneStopDbClusterOperator>(&p)
                .expect("valid parameters")
                .permissions(),
            [
                Permission::new(
                    &["rds:StopDBCluster", "rds:DescribeDBClusters"],
                    ["arn:aws:rds:us-west-2:{account}:cluster:n1"]
                ),
                Permission::new(
                    &["rds:DescribeDBInstances"],
                    ["arn:aws:rds:us-west-2:{account}:db:*"]
                ),
            ]
        );
    }
}
