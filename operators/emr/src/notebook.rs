//! The EMR notebook execution operators: `EmrStartNotebookExecutionOperator`
//! (StartNotebookExecution on a cluster; XCom is the execution id; with
//! `wait_for_completion` the provider's `notebook_running` waiter, then FAILED fails the task)
//! and `EmrStopNotebookExecutionOperator` (StopNotebookExecution; with `wait_for_completion` the
//! `notebook_stopped` waiter).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emr::Client;
use aws_sdk_emr::types::{ExecutionEngineConfig, ExecutionEngineType, Tag};
use serde_json::{Value, json};

use crate::common::{cluster_arn, role_arn, uuid4, wild};

/// The ARN of notebook execution `id`.
pub(crate) fn notebook_arn(region: Option<&str>, id: &str) -> String {
    airtask_core::permissions::arn(
        "elasticmapreduce",
        region,
        &format!("notebook-execution/{}", wild(id)),
    )
}

/// What DescribeNotebookExecution says of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Notebook {
    /// START_PENDING, STARTING, RUNNING, FINISHING, FINISHED, FAILING, FAILED,
    /// STOP_PENDING, STOPPING, STOPPED.
    pub(crate) status: String,
    /// LastStateChangeReason.
    pub(crate) reason: Option<String>,
}

/// DescribeNotebookExecution of `id`.
pub(crate) async fn describe_notebook(emr: &Client, id: &str) -> Result<Notebook, TaskError> {
    let out = emr
        .describe_notebook_execution()
        .notebook_execution_id(id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeNotebookExecution {id}"), &e)
        })?;
    let n = out.notebook_execution();
    Ok(Notebook {
        status: n
            .and_then(|n| n.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: n
            .and_then(|n| n.last_state_change_reason())
            .map(str::to_owned),
    })
}

/// One poll of the provider's notebook waiters: `success` states are done, FAILED fails.
async fn poll_notebook(
    emr: &Client,
    id: &str,
    waiter: &str,
    success: &[&str],
) -> Result<Poll<()>, TaskError> {
    let n = describe_notebook(emr, id).await?;
    if success.contains(&n.status.as_str()) {
        Ok(Poll::Done(()))
    } else if n.status == "FAILED" {
        Err(TaskError::retryable(format!(
            "Waiter {waiter} failed: notebook execution {id} is FAILED ({})",
            n.reason.as_deref().unwrap_or("no reason given")
        )))
    } else {
        Ok(Poll::Pending {
            state: format!("Notebook execution status is {}", n.status),
        })
    }
}

/// `waiter_delay or 60`, `waiter_max_attempts or 25`, and `wait_for_completion` (false).
fn notebook_wait(p: &mut ParamReader<'_>) -> Result<WaitSettings, ParamError> {
    let delay = p.seconds("waiter_delay", 0.0)?;
    let max = p
        .u32("waiter_max_attempts", 0..=u32::MAX)?
        .filter(|n| *n > 0);
    Ok(WaitSettings {
        wait_for_completion: p.bool("wait_for_completion", false)?,
        waiter_delay: Duration::from_secs_f64(if delay > 0.0 { delay } else { 60.0 }),
        waiter_max_attempts: max.unwrap_or(25),
        deferrable: false,
    })
}

/// A configured `EmrStartNotebookExecutionOperator`.
#[derive(Debug)]
pub struct EmrStartNotebookExecutionOperator {
    aws: AwsParams,
    editor_id: String,
    relative_path: String,
    cluster_id: String,
    service_role: String,
    notebook_execution_name: String,
    notebook_params: String,
    notebook_instance_security_group_id: String,
    master_instance_security_group_id: Option<String>,
    tags: Vec<Tag>,
    wait: WaitSettings,
}

const START: &str = "EmrStartNotebookExecutionOperator";

impl Operator for EmrStartNotebookExecutionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrStartNotebookExecutionOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "cluster_id",
            "editor_id",
            "master_instance_security_group_id",
            "notebook_execution_name",
            "notebook_instance_security_group_id",
            "notebook_params",
            "region_name",
            "relative_path",
            "service_role",
            "tags",
            "verify",
            "waiter_delay",
            "waiter_max_attempts",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let editor_id = p.required_str("editor_id", "the id of the EMR notebook to run")?;
        let relative_path = p.required_str(
            "relative_path",
            "the notebook file's path, relative to the notebook's path",
        )?;
        let cluster_id = p.required_str("cluster_id", "the id of the cluster to run it on")?;
        let service_role = p.required_str(
            "service_role",
            "the name or ARN of the EMR service role of the execution",
        )?;
        let notebook_execution_name = p
            .str("notebook_execution_name")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| format!("emr_notebook_{}", uuid4()));
        let notebook_params = p.str("notebook_params")?.unwrap_or_default();
        let notebook_instance_security_group_id = p
            .str("notebook_instance_security_group_id")?
            .unwrap_or_default();
        let master_instance_security_group_id = p.str("master_instance_security_group_id")?;
        let tags = match p.list("tags")? {
            None => Vec::new(),
            Some(items) => items
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let (Some(k), v) = (
                        t.get("Key").and_then(Value::as_str),
                        t.get("Value").and_then(Value::as_str),
                    ) else {
                        return Err(ParamError::at(
                            "tags",
                            format!(
                                "{START} parameter `tags[{i}]` must be a mapping with a string \
                                 Key (and Value), not {}",
                                airtask_core::params::describe(t)
                            ),
                        ));
                    };
                    Ok(Tag::builder()
                        .key(k)
                        .set_value(v.map(str::to_owned))
                        .build())
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let wait = notebook_wait(p)?;
        Ok(EmrStartNotebookExecutionOperator {
            aws,
            editor_id,
            relative_path,
            cluster_id,
            service_role,
            notebook_execution_name,
            notebook_params,
            notebook_instance_security_group_id,
            master_instance_security_group_id,
            tags,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut p = vec![
            Permission::new(
                &["elasticmapreduce:StartNotebookExecution"],
                [
                    airtask_core::permissions::arn(
                        "elasticmapreduce",
                        region,
                        &format!("editor/{}", wild(&self.editor_id)),
                    ),
                    cluster_arn(region, &self.cluster_id),
                ],
            ),
            Permission::new(&["iam:PassRole"], [role_arn(&self.service_role)]),
        ];
        if !self.tags.is_empty() {
            p.push(Permission::on_any(&["elasticmapreduce:AddTags"]));
        }
        if self.wait.wait_for_completion {
            p.push(Permission::new(
                &["elasticmapreduce:DescribeNotebookExecution"],
                [notebook_arn(region, "*")],
            ));
        }
        p
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let engine = ExecutionEngineConfig::builder()
            .id(&self.cluster_id)
            .r#type(ExecutionEngineType::Emr)
            .master_instance_security_group_id(
                self.master_instance_security_group_id
                    .clone()
                    .unwrap_or_default(),
            )
            .build();
        let out = emr
            .start_notebook_execution()
            .editor_id(&self.editor_id)
            .relative_path(&self.relative_path)
            .notebook_execution_name(&self.notebook_execution_name)
            .notebook_params(&self.notebook_params)
            .execution_engine(engine)
            .service_role(&self.service_role)
            .notebook_instance_security_group_id(&self.notebook_instance_security_group_id)
            .set_tags(Some(self.tags.clone()))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!(
                        "StartNotebookExecution of {} on cluster {}",
                        self.editor_id, self.cluster_id
                    ),
                    &e,
                )
            })?;
        let id = out.notebook_execution_id().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(TaskError::retryable(
                "Starting notebook execution failed: the answer has no NotebookExecutionId",
            ));
        }
        ctx.info(&format!("Notebook execution started: {id}"));
        if self.wait.wait_for_completion {
            let (emr_ref, id_ref) = (&emr, id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("EMR notebook execution {id}"),
                || {
                    poll_notebook(
                        emr_ref,
                        id_ref,
                        "notebook_running",
                        &["RUNNING", "FINISHED"],
                    )
                },
            )
            .await?;
            let n = describe_notebook(&emr, &id).await?;
            if n.status == "FAILED" {
                return Err(TaskError::retryable(format!(
                    "Notebook Execution reached failure state {}.",
                    n.status
                )));
            }
        }
        Ok(Outcome::Success(Some(json!(id))))
    }
}

/// A configured `EmrStopNotebookExecutionOperator`.
#[derive(Debug)]
pub struct EmrStopNotebookExecutionOperator {
    aws: AwsParams,
    notebook_execution_id: String,
    wait: WaitSettings,
}

impl Operator for EmrStopNotebookExecutionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrStopNotebookExecutionOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "notebook_execution_id",
            "region_name",
            "verify",
            "waiter_delay",
            "waiter_max_attempts",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let notebook_execution_id = p.required_str(
            "notebook_execution_id",
            "the id of the notebook execution to stop",
        )?;
        let wait = notebook_wait(p)?;
        Ok(EmrStopNotebookExecutionOperator {
            aws,
            notebook_execution_id,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["elasticmapreduce:StopNotebookExecution"];
        if self.wait.wait_for_completion {
            actions.push("elasticmapreduce:DescribeNotebookExecution");
        }
        vec![Permission::new(
            &actions,
            [notebook_arn(self.aws.region(), &self.notebook_execution_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_emr))?;
        let id = self.notebook_execution_id.clone();
        emr.stop_notebook_execution()
            .notebook_execution_id(&id)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StopNotebookExecution {id}"), &e)
            })?;
        ctx.info(&format!("Stopping notebook execution {id}"));
        if self.wait.wait_for_completion {
            let (emr_ref, id_ref) = (&emr, id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("EMR notebook execution {id}"),
                || {
                    poll_notebook(
                        emr_ref,
                        id_ref,
                        "notebook_stopped",
                        &["STOPPED", "FINISHED"],
                    )
                },
            )
            .await?;
        }
        Ok(Outcome::Success(None))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn start(v: Value) -> Result<EmrStartNotebookExecutionOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrStartNotebookExecutionOperator>(&p)
    }

    #[test]
    fn start_defaults_follow_the_provider() {
        let base = json!({"editor_id": "e-1", "relative_path": "n.ipynb", "cluster_id": "j-1",
            "service_role": "EMR_Notebooks_DefaultRole", "notebook_params": "", "tags": [],
            "notebook_instance_security_group_id": "", "waiter_delay": 60, "waiter_max_attempts": 25});
        let op = start(base.clone()).unwrap();
        assert!(op.notebook_execution_name.starts_with("emr_notebook_"));
        assert!(!op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_max_attempts, 25);
        assert_eq!(
            op.permissions()[1],
            Permission::new(
                &["iam:PassRole"],
                ["arn:aws:iam::{account}:role/EMR_Notebooks_DefaultRole"]
            )
        );
        let mut bad = base;
        bad["tags"] = json!(["x"]);
        assert_eq!(start(bad).unwrap_err().param(), Some("tags"));
        assert!(start(json!({"editor_id": "e-1"})).is_err());
    }
}
