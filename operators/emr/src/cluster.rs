//! The job flow (cluster) operators: `EmrCreateJobFlowOperator` (RunJobFlow, then with a wait
//! policy the provider's `job_flow_waiting` or `job_flow_terminated` waiter; a failed wait
//! terminates the cluster with `terminate_job_flow_on_failure`; on_kill terminates it),
//! `EmrModifyClusterOperator` (ModifyCluster's StepConcurrencyLevel) and
//! `EmrTerminateJobFlowOperator` (TerminateJobFlows, with `deferrable` a wait for TERMINATED).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emr::Client;
use aws_sdk_emr::operation::run_job_flow::builders::RunJobFlowInputBuilder;
use serde_json::json;

use crate::common::{cluster_arn, literal_param, role_arn, wild};
use crate::job_flow;

/// What DescribeCluster says of a cluster's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClusterState {
    /// STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING, TERMINATED,
    /// TERMINATED_WITH_ERRORS.
    pub(crate) state: String,
    /// The state change reason's code, when there is one.
    pub(crate) code: Option<String>,
    /// The state change reason's message, when there is one.
    pub(crate) message: Option<String>,
}

impl ClusterState {
    /// The provider's `failure_message_from_response` of the job flow sensor.
    pub(crate) fn failure_message(&self) -> String {
        if self.code.is_none() && self.message.is_none() {
            return "None".to_owned();
        }
        format!(
            "for code: {} with message {}",
            self.code.as_deref().unwrap_or("No code"),
            self.message.as_deref().unwrap_or("Unknown")
        )
    }
}

/// DescribeCluster of `id`.
pub(crate) async fn describe_cluster(emr: &Client, id: &str) -> Result<ClusterState, TaskError> {
    let out = emr
        .describe_cluster()
        .cluster_id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeCluster {id}"), &e))?;
    let status = out.cluster().and_then(|c| c.status());
    let reason = status.and_then(|s| s.state_change_reason());
    Ok(ClusterState {
        state: status
            .and_then(|s| s.state())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        code: reason.and_then(|r| r.code()).map(|c| c.as_str().to_owned()),
        message: reason.and_then(|r| r.message()).map(str::to_owned),
    })
}

/// The provider's job flow waiters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClusterWaiter {
    /// `job_flow_waiting`: WAITING, RUNNING or TERMINATED; TERMINATED_WITH_ERRORS fails.
    Waiting,
    /// `job_flow_terminated`: TERMINATED; TERMINATED_WITH_ERRORS fails.
    Terminated,
}

impl ClusterWaiter {
    fn name(self) -> &'static str {
        match self {
            ClusterWaiter::Waiting => "job_flow_waiting",
            ClusterWaiter::Terminated => "job_flow_terminated",
        }
    }

    /// One poll of the waiter on `id`.
    pub(crate) async fn poll(self, emr: &Client, id: &str) -> Result<Poll<()>, TaskError> {
        let s = describe_cluster(emr, id).await?;
        let done = match self {
            ClusterWaiter::Waiting => {
                ["WAITING", "RUNNING", "TERMINATED"].contains(&s.state.as_str())
            }
            ClusterWaiter::Terminated => s.state == "TERMINATED",
        };
        if done {
            Ok(Poll::Done(()))
        } else if s.state == "TERMINATED_WITH_ERRORS" {
            Err(TaskError::retryable(format!(
                "Waiter {} failed: cluster {id} is TERMINATED_WITH_ERRORS ({})",
                self.name(),
                s.failure_message()
            )))
        } else {
            Ok(Poll::Pending {
                state: format!("JobFlow status is {}", s.state),
            })
        }
    }
}

/// A configured `EmrCreateJobFlowOperator`.
#[derive(Debug)]
pub struct EmrCreateJobFlowOperator {
    aws: AwsParams,
    emr_conn_id: Option<String>,
    request: RunJobFlowInputBuilder,
    waiter: Option<ClusterWaiter>,
    wait: WaitSettings,
    terminate_job_flow_on_failure: bool,
    /// The cluster created, for on_kill.
    created: Option<(Client, String)>,
}

const CREATE: &str = "EmrCreateJobFlowOperator";

impl Operator for EmrCreateJobFlowOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrCreateJobFlowOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.emr_create_job_flow.EmrCreateJobFlowOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "job_flow_overrides",
            "region_name",
            "verify",
            "waiter_delay",
            "waiter_max_attempts",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let emr_conn_id = if p.contains("emr_conn_id") {
            p.str("emr_conn_id")?
        } else {
            Some("emr_default".to_owned())
        };
        let rendered = p.rendered();
        let request = match literal_param(p, "job_flow_overrides")? {
            None => RunJobFlowInputBuilder::default(),
            Some(v) => job_flow::run_job_flow(&v, rendered)
                .map_err(|e| airtask_core::kwargs::param_error(p, "job_flow_overrides", e))?,
        };
        let wait_for_completion = if p.contains("wait_for_completion") {
            Some(p.bool("wait_for_completion", false)?)
        } else {
            None
        };
        let policy = match p.str("wait_policy")?.as_deref() {
            None => None,
            Some(
                "wait_for_completion" | "WaitPolicy.WAIT_FOR_COMPLETION" | "WAIT_FOR_COMPLETION",
            ) => Some(ClusterWaiter::Waiting),
            Some(
                "wait_for_steps_completion"
                | "WaitPolicy.WAIT_FOR_STEPS_COMPLETION"
                | "WAIT_FOR_STEPS_COMPLETION",
            ) => Some(ClusterWaiter::Terminated),
            Some(s) if p.is_templated(s) => None,
            Some(other) => {
                return Err(ParamError::at(
                    "wait_policy",
                    format!(
                        "{CREATE} parameter `wait_policy` is '{other}'; it must be \
                         wait_for_completion (wait until the cluster runs) or \
                         wait_for_steps_completion (wait until it terminates)"
                    ),
                ));
            }
        };
        // The provider: a wait policy means waiting; wait_for_completion alone means the
        // job_flow_waiting waiter.
        let waiter = match (policy, wait_for_completion) {
            (Some(w), _) => Some(w),
            (None, Some(true)) => Some(ClusterWaiter::Waiting),
            (None, _) => None,
        };
        // `waiter_max_attempts or 60`, `waiter_delay or 60`: 0 means the default.
        let max = p
            .u32("waiter_max_attempts", 0..=u32::MAX)?
            .filter(|n| *n > 0);
        let delay = p.seconds("waiter_delay", 0.0)?;
        let deferrable = p.bool("deferrable", false)?;
        let terminate_job_flow_on_failure = p.bool("terminate_job_flow_on_failure", true)?;
        Ok(EmrCreateJobFlowOperator {
            aws,
            emr_conn_id,
            request,
            waiter,
            wait: WaitSettings {
                wait_for_completion: waiter.is_some(),
                waiter_delay: Duration::from_secs_f64(if delay > 0.0 { delay } else { 60.0 }),
                waiter_max_attempts: max.unwrap_or(60),
                deferrable,
            },
            terminate_job_flow_on_failure,
            created: None,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut p = vec![Permission::on_any(&["elasticmapreduce:RunJobFlow"])];
        let roles: Vec<String> = job_flow::passed_roles(&self.request)
            .iter()
            .map(|r| role_arn(r.as_str()))
            .collect();
        if !roles.is_empty() {
            p.push(Permission::new(&["iam:PassRole"], roles));
        }
        if self.request.get_tags().is_some() {
            p.push(Permission::on_any(&["elasticmapreduce:AddTags"]));
        }
        let mut cluster = vec!["elasticmapreduce:TerminateJobFlows"];
        if self.waiter.is_some() {
            cluster.push("elasticmapreduce:DescribeCluster");
        }
        p.push(Permission::new(&cluster, [cluster_arn(region, "*")]));
        p
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        ctx.info(&format!(
            "Creating job flow using aws_conn_id: aws_default, emr_conn_id: {}",
            self.emr_conn_id.as_deref().unwrap_or("None")
        ));
        if let Some(conn) = &self.emr_conn_id {
            ctx.warning(&format!(
                "There are no Airflow connections here: emr_conn_id '{conn}' gives no initial \
                 configuration, so job_flow_overrides is the whole RunJobFlow request (Airflow \
                 does the same when the connection does not exist)."
            ));
        }
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let name = self.request.get_name().clone().unwrap_or_default();
        let out = self
            .request
            .clone()
            .send_with(&emr)
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("RunJobFlow '{name}'"), &e))?;
        let id = out.job_flow_id().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(TaskError::retryable(format!(
                "Job flow creation failed: RunJobFlow '{name}' answered without a JobFlowId"
            )));
        }
        ctx.info(&format!("Job flow with id {id} created"));
        self.created = Some((emr.clone(), id.clone()));
        if let Some(waiter) = self.waiter {
            let (emr_ref, id_ref) = (&emr, id.as_str());
            let waited =
                wait::until_terminal(ctx, &self.wait, &format!("EMR job flow {id}"), || {
                    waiter.poll(emr_ref, id_ref)
                })
                .await;
            if let Err(e) = waited {
                if self.terminate_job_flow_on_failure {
                    ctx.warning(&format!("Task failed after creating EMR job flow {id}."));
                    ctx.info(&format!("Attempting termination of EMR job flow {id}."));
                    if let Err(t) = terminate(&emr, &id).await {
                        ctx.error(&format!(
                            "Failed to terminate EMR job flow {id} after task failure: {t}"
                        ));
                    }
                }
                self.created = None;
                return Err(e);
            }
        }
        Ok(Outcome::Success(Some(json!(id))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((emr, id)) = self.created.take() else {
            return;
        };
        ctx.info(&format!("Terminating job flow {id}"));
        if let Err(e) = terminate(&emr, &id).await {
            ctx.error(&format!("Unable to terminate job flow {id}: {e}"));
        }
    }
}

/// TerminateJobFlows of `id`.
async fn terminate(emr: &Client, id: &str) -> Result<(), TaskError> {
    emr.terminate_job_flows()
        .job_flow_ids(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| airtask_aws::error::task_error(&format!("TerminateJobFlows {id}"), &e))
}

/// A configured `EmrModifyClusterOperator`.
#[derive(Debug)]
pub struct EmrModifyClusterOperator {
    aws: AwsParams,
    cluster_id: String,
    step_concurrency_level: i32,
}

impl Operator for EmrModifyClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrModifyClusterOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.emr_modify_cluster.EmrModifyClusterOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "cluster_id",
            "region_name",
            "step_concurrency_level",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_id = p.required_str("cluster_id", "the id of the cluster to modify")?;
        let level = p.i64("step_concurrency_level", 1..=256)?;
        let step_concurrency_level = match level {
            Some(n) => i32::try_from(n).unwrap_or(1),
            None if p.rendered() => {
                return Err(ParamError::at(
                    "step_concurrency_level",
                    "EmrModifyClusterOperator needs `step_concurrency_level`: the number of \
                     steps the cluster may run at once (1 to 256)",
                ));
            }
            None => 1,
        };
        Ok(EmrModifyClusterOperator {
            aws,
            cluster_id,
            step_concurrency_level,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["elasticmapreduce:ModifyCluster"],
            [cluster_arn(self.aws.region(), &self.cluster_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let id = &self.cluster_id;
        ctx.xcom_push("cluster_id", json!(id));
        ctx.info(&format!("Modifying cluster {id}"));
        let out = emr
            .modify_cluster()
            .cluster_id(id)
            .step_concurrency_level(self.step_concurrency_level)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("ModifyCluster {id}"), &e))?;
        let level = out.step_concurrency_level().ok_or_else(|| {
            TaskError::retryable(format!(
                "Modify cluster failed: ModifyCluster {id} answered without a StepConcurrencyLevel"
            ))
        })?;
        ctx.info(&format!("Steps concurrency level {level}"));
        Ok(Outcome::Success(Some(json!(level))))
    }
}

/// A configured `EmrTerminateJobFlowOperator`.
#[derive(Debug)]
pub struct EmrTerminateJobFlowOperator {
    aws: AwsParams,
    job_flow_id: String,
    wait: WaitSettings,
}

impl Operator for EmrTerminateJobFlowOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrTerminateJobFlowOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.emr_terminate_job_flow.EmrTerminateJobFlowOperator",
        ],
        template_fields: &["aws_conn_id", "job_flow_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_flow_id = p.required_str("job_flow_id", "the id of the job flow to terminate")?;
        let delay = p.seconds("waiter_delay", 60.0)?;
        let max = p.u32("waiter_max_attempts", 1..=u32::MAX)?.unwrap_or(20);
        let deferrable = p.bool("deferrable", false)?;
        Ok(EmrTerminateJobFlowOperator {
            aws,
            job_flow_id,
            wait: WaitSettings {
                // The provider waits only in the trigger, i.e. with deferrable.
                wait_for_completion: deferrable,
                waiter_delay: Duration::from_secs_f64(delay),
                waiter_max_attempts: max,
                deferrable,
            },
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["elasticmapreduce:TerminateJobFlows"];
        if self.wait.wait_for_completion {
            actions.push("elasticmapreduce:DescribeCluster");
        }
        vec![Permission::new(
            &actions,
            [cluster_arn(self.aws.region(), wild(&self.job_flow_id))],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let id = self.job_flow_id.clone();
        ctx.info(&format!("Terminating JobFlow {id}"));
        terminate(&emr, &id).await?;
        ctx.info(&format!("Terminating JobFlow with id {id}"));
        if self.wait.wait_for_completion {
            let (emr_ref, id_ref) = (&emr, id.as_str());
            wait::until_terminal(ctx, &self.wait, &format!("EMR job flow {id}"), || {
                ClusterWaiter::Terminated.poll(emr_ref, id_ref)
            })
            .await
            .map_err(|e| TaskError {
                message: format!("Error terminating JobFlow: {}", e.message),
                retryable: e.retryable,
            })?;
            ctx.info("Jobflow terminated successfully.");
        }
        Ok(Outcome::Success(None))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::Value;

    use super::*;

    fn create(v: Value) -> Result<EmrCreateJobFlowOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrCreateJobFlowOperator>(&p)
    }

    #[test]
    fn wait_policy_and_defaults_follow_the_provider() {
        let op = create(json!({})).unwrap();
        assert_eq!(op.waiter, None);
        assert_eq!(op.emr_conn_id.as_deref(), Some("emr_default"));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.wait.waiter_max_attempts, 60);
        let op = create(json!({"wait_for_completion": true, "waiter_delay": 0})).unwrap();
        assert_eq!(op.waiter, Some(ClusterWaiter::Waiting));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        let op = create(
            json!({"wait_for_completion": false, "wait_policy": "wait_for_steps_completion"}),
        )
        .unwrap();
        assert_eq!(op.waiter, Some(ClusterWaiter::Terminated));
        let e = create(json!({"wait_policy": "forever"})).unwrap_err();
        assert_eq!(e.param(), Some("wait_policy"));
        let op = create(json!({"job_flow_overrides": "{'Name': 'x', 'Instances': {'KeepJobFlowAliveWhenNoSteps': True}}"}))
            .unwrap();
        assert_eq!(op.request.get_name().as_deref(), Some("x"));
        let e = create(json!({"job_flow_overrides": {"Name": 1}})).unwrap_err();
        assert!(
            e.message().starts_with(
                "EmrCreateJobFlowOperator parameter `job_flow_overrides.Name` must be a string"
            ),
            "{e}"
        );
    }

    #[test]
    fn create_permissions_name_the_roles_it_passes() {
        let op = create(json!({
            "job_flow_overrides": {"Name": "c", "JobFlowRole": "EMR_EC2_DefaultRole",
                "ServiceRole": "arn:aws:iam::123456789012:role/EMR_DefaultRole"},
            "wait_for_completion": true,
            "region_name": "eu-west-1",
        }))
        .unwrap();
        assert_eq!(
            op.permissions(),
            vec![
                Permission::on_any(&["elasticmapreduce:RunJobFlow"]),
                Permission::new(
                    &["iam:PassRole"],
                    [
                        "arn:aws:iam::{account}:role/EMR_EC2_DefaultRole",
                        "arn:aws:iam::123456789012:role/EMR_DefaultRole"
                    ]
                ),
                Permission::new(
                    &[
                        "elasticmapreduce:TerminateJobFlows",
                        "elasticmapreduce:DescribeCluster"
                    ],
                    ["arn:aws:elasticmapreduce:eu-west-1:{account}:cluster/*"]
                ),
            ]
        );
    }

    #[test]
    fn failure_messages_follow_the_sensor() {
        let s = ClusterState {
            state: "TERMINATED_WITH_ERRORS".into(),
            code: Some("BOOTSTRAP_FAILURE".into()),
            message: None,
        };
        assert_eq!(
            s.failure_message(),
            "for code: BOOTSTRAP_FAILURE with message Unknown"
        );
    }
}
