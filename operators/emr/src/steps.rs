//! `EmrAddStepsOperator`: AddJobFlowSteps on a cluster named by id, or by name among the
//! clusters in `cluster_states` (ListClusters; exactly one must match). XCom is the list of step
//! ids, and the cluster id under `job_flow_id`. With `wait_for_completion` (or `deferrable`)
//! each step is waited for in turn (boto3's `step_complete` waiter: COMPLETED; FAILED and
//! CANCELLED fail the task).

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emr::Client;
use aws_sdk_emr::types::{ClusterState, StepConfig};
use serde_json::json;

use crate::common::{EMR_HOOK, cluster_arn, literal_param, role_arn, wild};
use crate::job_flow;

/// What DescribeStep says of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepState {
    /// PENDING, CANCEL_PENDING, RUNNING, COMPLETED, CANCELLED, FAILED, INTERRUPTED.
    pub(crate) state: String,
    /// FailureDetails: reason, message, log file.
    pub(crate) failure: Option<(Option<String>, Option<String>, Option<String>)>,
}

impl StepState {
    /// The provider's `failure_message_from_response` of the step sensor.
    pub(crate) fn failure_message(&self) -> String {
        match &self.failure {
            None => "None".to_owned(),
            Some((reason, message, log)) => format!(
                "for reason {} with message {} and log file {}",
                reason.as_deref().unwrap_or("None"),
                message.as_deref().unwrap_or("None"),
                log.as_deref().unwrap_or("None")
            ),
        }
    }
}

/// DescribeStep of `step` on cluster `cluster`.
pub(crate) async fn describe_step(
    emr: &Client,
    cluster: &str,
    step: &str,
) -> Result<StepState, TaskError> {
    let out = emr
        .describe_step()
        .cluster_id(cluster)
        .step_id(step)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeStep {step} of cluster {cluster}"), &e)
        })?;
    let status = out.step().and_then(|s| s.status());
    Ok(StepState {
        state: status
            .and_then(|s| s.state())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        failure: status.and_then(|s| s.failure_details()).map(|f| {
            (
                f.reason().map(str::to_owned),
                f.message().map(str::to_owned),
                f.log_file().map(str::to_owned),
            )
        }),
    })
}

/// A configured `EmrAddStepsOperator`.
#[derive(Debug)]
pub struct EmrAddStepsOperator {
    aws: AwsParams,
    job_flow_id: Option<String>,
    job_flow_name: Option<String>,
    cluster_states: Vec<String>,
    steps: Vec<StepConfig>,
    execution_role_arn: Option<String>,
    wait: WaitSettings,
}

const OP: &str = "EmrAddStepsOperator";

impl Operator for EmrAddStepsOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrAddStepsOperator",
        aliases: &["airflow.providers.amazon.aws.operators.emr_add_steps.EmrAddStepsOperator"],
        template_fields: &[
            "aws_conn_id",
            "cluster_states",
            "execution_role_arn",
            "job_flow_id",
            "job_flow_name",
            "region_name",
            "steps",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_flow_id = p.str("job_flow_id")?;
        let job_flow_name = p.str("job_flow_name")?;
        if job_flow_id.is_some() == job_flow_name.is_some() {
            return Err(ParamError::at(
                "job_flow_id",
                format!(
                    "{OP}: Exactly one of job_flow_id or job_flow_name must be specified (the \
                     cluster to add the steps to, by id or by name)"
                ),
            ));
        }
        let cluster_states = crate::common::states(p, "cluster_states")?.unwrap_or_default();
        let rendered = p.rendered();
        let steps = match literal_param(p, "steps")? {
            None => Vec::new(),
            Some(v) => job_flow::steps(&v, rendered)
                .map_err(|e| airtask_core::kwargs::param_error(p, "steps", e))?,
        };
        let execution_role_arn = p.str("execution_role_arn")?.filter(|s| !s.is_empty());
        let mut wait = WaitSettings::read(p, 30, 60)?;
        if !p.contains("wait_for_completion") {
            wait.wait_for_completion = false;
        }
        // deferrable waits in the trigger; here, in the process.
        wait.wait_for_completion |= wait.deferrable;
        p.accept("openlineage_inject_parent_job_info");
        Ok(EmrAddStepsOperator {
            aws,
            job_flow_id,
            job_flow_name,
            cluster_states,
            steps,
            execution_role_arn,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let cluster = cluster_arn(region, self.job_flow_id.as_deref().map_or("*", wild));
        let mut actions = vec!["elasticmapreduce:AddJobFlowSteps"];
        if self.wait.wait_for_completion {
            actions.push("elasticmapreduce:DescribeStep");
        }
        let mut p = vec![Permission::new(&actions, [cluster])];
        if self.job_flow_name.is_some() {
            p.push(Permission::on_any(&["elasticmapreduce:ListClusters"]));
        }
        if let Some(role) = &self.execution_role_arn {
            p.push(Permission::new(&["iam:PassRole"], [role_arn(role)]));
        }
        p
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let id = match (&self.job_flow_id, &self.job_flow_name) {
            (Some(id), _) => id.clone(),
            (None, Some(name)) => cluster_by_name(ctx, &emr, name, &self.cluster_states).await?,
            (None, None) => return Err(TaskError::fatal(format!("{OP}: no cluster named"))),
        };
        ctx.xcom_push("job_flow_id", json!(id));
        ctx.info(&format!("Adding steps to {id}"));
        let out = emr
            .add_job_flow_steps()
            .job_flow_id(&id)
            .set_steps(Some(self.steps.clone()))
            .set_execution_role_arn(self.execution_role_arn.clone())
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("AddJobFlowSteps to {id}"), &e))?;
        let step_ids: Vec<String> = out.step_ids().to_vec();
        ctx.hook_info(EMR_HOOK, &format!("Steps {step_ids:?} added to JobFlow"));
        if self.wait.wait_for_completion {
            for step in &step_ids {
                let (emr_ref, id_ref) = (&emr, id.as_str());
                wait::until_terminal(ctx, &self.wait, &format!("EMR step {step}"), || {
                    poll_step(emr_ref, id_ref, step)
                })
                .await?;
            }
            if self.wait.deferrable {
                ctx.info("Steps completed successfully");
            }
        }
        Ok(Outcome::Success(Some(json!(step_ids))))
    }
}

/// One poll of boto3's `step_complete` waiter.
async fn poll_step(emr: &Client, cluster: &str, step: &str) -> Result<Poll<()>, TaskError> {
    let s = describe_step(emr, cluster, step).await?;
    match s.state.as_str() {
        "COMPLETED" => Ok(Poll::Done(())),
        "FAILED" | "CANCELLED" => Err(TaskError::retryable(format!(
            "EMR Steps failed: {step} is {} (FailureDetails: {})",
            s.state,
            s.failure_message()
        ))),
        other => Ok(Poll::Pending {
            state: format!("EMR Step status is {other}"),
        }),
    }
}

/// The id of the one cluster named `name` in `states` (the hook's `get_cluster_id_by_name`).
async fn cluster_by_name(
    ctx: &TaskContext,
    emr: &Client,
    name: &str,
    states: &[String],
) -> Result<String, TaskError> {
    let mut pages = emr
        .list_clusters()
        .set_cluster_states(Some(
            states
                .iter()
                .map(|s| ClusterState::from(s.as_str()))
                .collect(),
        ))
        .into_paginator()
        .send();
    let mut found = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| airtask_aws::error::task_error("ListClusters", &e))?;
        found.extend(
            page.clusters()
                .iter()
                .filter(|c| c.name() == Some(name))
                .filter_map(|c| c.id().map(str::to_owned)),
        );
    }
    match found.as_slice() {
        [id] => {
            ctx.hook_info(EMR_HOOK, &format!("Found cluster name = {name} id = {id}"));
            Ok(id.clone())
        }
        [] => {
            ctx.hook_info(EMR_HOOK, &format!("No cluster found for name {name}"));
            Err(TaskError::retryable(format!(
                "No cluster found for name: {name} (in the states {})",
                if states.is_empty() {
                    "any".to_owned()
                } else {
                    states.join(", ")
                }
            )))
        }
        _ => Err(TaskError::retryable(format!(
            "More than one cluster found for name {name}: {}",
            found.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use airtask_core::{Params, build_operator};
    use serde_json::Value;

    use super::*;

    fn build(v: Value) -> Result<EmrAddStepsOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrAddStepsOperator>(&p)
    }

    #[test]
    fn exactly_one_cluster_and_the_provider_defaults() {
        let e = build(json!({})).unwrap_err();
        assert!(
            e.message()
                .contains("Exactly one of job_flow_id or job_flow_name"),
            "{e}"
        );
        assert!(build(json!({"job_flow_id": "j-1", "job_flow_name": "n"})).is_err());
        let op = build(json!({"job_flow_id": "j-1", "steps": "[{'Name': 's'}]"})).unwrap();
        assert!(!op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(30));
        assert_eq!(op.wait.waiter_max_attempts, 60);
        assert_eq!(op.steps[0].name(), Some("s"));
        let op =
            build(json!({"job_flow_name": "n", "deferrable": true, "execution_role_arn": "r"}))
                .unwrap();
        assert!(op.wait.wait_for_completion);
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &[
                        "elasticmapreduce:AddJobFlowSteps",
                        "elasticmapreduce:DescribeStep"
                    ],
                    ["arn:aws:elasticmapreduce:{region}:{account}:cluster/*"]
                ),
                Permission::on_any(&["elasticmapreduce:ListClusters"]),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::{account}:role/r"]),
            ]
        );
    }
}
