//! `BatchCreateComputeEnvironmentOperator`: CreateComputeEnvironment; with `deferrable` the
//! `compute_env_ready` waiter (VALID succeeds, INVALID or DELETED fails) every `poll_interval`,
//! at most `max_retries` polls. XCom: the compute environment's ARN.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_awsjson::{RawJson, pass_roles, trim_none};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_batch::Client;
use aws_sdk_batch::types::CeType;
use serde_json::{Value, json};

use crate::{call, member_param, resource_arn};

/// A configured `BatchCreateComputeEnvironmentOperator`.
#[derive(Debug)]
pub struct BatchCreateComputeEnvironmentOperator {
    aws: AwsParams,
    compute_environment_name: String,
    environment_type: String,
    state: String,
    compute_resources: Value,
    unmanaged_v_cpus: Option<i64>,
    service_role: Option<String>,
    tags: Value,
    poll_interval: Duration,
    max_retries: u32,
    deferrable: bool,
}

/// One poll of `compute_env_ready` on a DescribeComputeEnvironments answer.
fn ready(answer: &Value, name: &str) -> Result<Poll<()>, TaskError> {
    let statuses: Vec<&str> = answer["computeEnvironments"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["status"].as_str())
        .collect();
    if let Some(bad) = statuses
        .iter()
        .find(|s| matches!(**s, "INVALID" | "DELETED"))
    {
        let reason = answer["computeEnvironments"][0]["statusReason"]
            .as_str()
            .unwrap_or("no reason given");
        return Err(TaskError::retryable(format!(
            "Error while waiting for the compute environment to be ready: Waiter \
             compute_env_ready failed: Waiter encountered a terminal failure state: compute \
             environment {name} is {bad} ({reason})"
        )));
    }
    if !statuses.is_empty() && statuses.iter().all(|s| *s == "VALID") {
        return Ok(Poll::Done(()));
    }
    Ok(Poll::Pending {
        state: if statuses.is_empty() {
            "not found".to_owned()
        } else {
            statuses.join(", ")
        },
    })
}

impl BatchCreateComputeEnvironmentOperator {
    fn body(&self) -> Value {
        trim_none(json!({
            "computeEnvironmentName": self.compute_environment_name,
            "type": self.environment_type,
            "state": self.state,
            "unmanagedvCpus": self.unmanaged_v_cpus,
            "computeResources": self.compute_resources,
            "serviceRole": self.service_role,
            "tags": self.tags,
        }))
    }

    async fn wait_ready(
        &self,
        ctx: &TaskContext,
        batch: &Client,
        arn: &str,
    ) -> Result<(), TaskError> {
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: self.poll_interval,
            waiter_max_attempts: self.max_retries.max(1),
            deferrable: true,
        };
        wait::until_terminal(
            ctx,
            &settings,
            &format!("AWS Batch compute environment {arn}"),
            || async {
                let answer = call!(
                    format!("DescribeComputeEnvironments {arn}"),
                    batch
                        .describe_compute_environments()
                        .compute_environments(arn),
                    RawJson::answer_only()
                )?;
                ready(&answer, arn)
            },
        )
        .await
    }
}

impl Operator for BatchCreateComputeEnvironmentOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.batch.BatchCreateComputeEnvironmentOperator",
        aliases: &[],
        // aws_template_fields("compute_environment_name", "compute_resources", "service_role"),
        // sorted.
        template_fields: &[
            "aws_conn_id",
            "compute_environment_name",
            "compute_resources",
            "region_name",
            "service_role",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let compute_environment_name = p.required_str(
            "compute_environment_name",
            "the name of the compute environment to create",
        )?;
        let environment_type = p.required_str(
            "environment_type",
            "the environment's type: MANAGED or UNMANAGED",
        )?;
        let state = p.required_str("state", "the environment's state: ENABLED or DISABLED")?;
        let compute_resources = member_param(
            p,
            "compute_resources",
            "CreateComputeEnvironment",
            "computeResources",
        )?
        .ok_or_else(|| {
            ParamError::at(
                "compute_resources",
                "BatchCreateComputeEnvironmentOperator needs `compute_resources`: the \
                 computeResources of the environment (type, maxvCpus, subnets, ...)",
            )
        })?;
        let unmanaged_v_cpus = p.i64("unmanaged_v_cpus", 0..=i64::from(i32::MAX))?;
        let service_role = p.str("service_role")?;
        let tags = member_param(p, "tags", "CreateComputeEnvironment", "tags")?
            .unwrap_or_else(|| json!({}));
        let poll_interval = Duration::from_secs_f64(p.seconds("poll_interval", 30.0)?);
        let max_retries = p
            .u32("max_retries", 0..=u32::MAX)?
            .filter(|n| *n > 0)
            .unwrap_or(120);
        let deferrable = p.bool("deferrable", false)?;
        Ok(BatchCreateComputeEnvironmentOperator {
            aws,
            compute_environment_name,
            environment_type,
            state,
            compute_resources,
            unmanaged_v_cpus,
            service_role,
            tags,
            poll_interval,
            max_retries,
            deferrable,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let batch = crate::client(ctx, &self.aws)?;
        let answer = call!(
            format!("CreateComputeEnvironment {}", self.compute_environment_name),
            batch
                .create_compute_environment()
                .compute_environment_name(&self.compute_environment_name)
                .r#type(CeType::from(self.environment_type.as_str())),
            RawJson::new(&self.body())
        )?;
        let arn = answer["computeEnvironmentArn"]
            .as_str()
            .ok_or_else(|| {
                TaskError::retryable(format!(
                    "CreateComputeEnvironment answered no computeEnvironmentArn: {answer}"
                ))
            })?
            .to_owned();
        if self.deferrable {
            self.wait_ready(ctx, &batch, &arn).await?;
        } else {
            ctx.info("AWS Batch compute environment created successfully");
        }
        Ok(Outcome::Success(Some(json!(arn))))
    }

    /// CreateComputeEnvironment on the environment (`batch:TagResource` too with tags);
    /// `iam:PassRole` on the service role and the fleet/instance roles of
    /// `compute_resources`; DescribeComputeEnvironments with `deferrable`.
    fn permissions(&self) -> Vec<Permission> {
        let env = resource_arn(
            &self.aws,
            "compute-environment",
            &self.compute_environment_name,
        );
        let mut out = vec![Permission::new(
            &["batch:CreateComputeEnvironment"],
            [env.clone()],
        )];
        if self.tags.as_object().is_some_and(|t| !t.is_empty()) {
            out.push(Permission::new(&["batch:TagResource"], [env]));
        }
        let mut roles: Vec<&str> = self.service_role.as_deref().into_iter().collect();
        roles.extend(airtask_awsjson::strings_named(
            &self.compute_resources,
            &["spotIamFleetRole", "instanceRole"],
        ));
        // An instance profile named by ARN passes the role of the same name.
        let roles: Vec<String> = roles
            .into_iter()
            .map(|r| r.replace(":instance-profile/", ":role/"))
            .collect();
        out.extend(pass_roles(roles.iter().map(String::as_str)));
        if self.deferrable {
            out.push(Permission::on_any(&["batch:DescribeComputeEnvironments"]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<BatchCreateComputeEnvironmentOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<BatchCreateComputeEnvironmentOperator>(&p)
    }

    #[test]
    fn request_permissions_and_waiter() {
        let op = build(json!({
            "compute_environment_name": "ce", "environment_type": "MANAGED", "state": "ENABLED",
            "compute_resources": {"type": "FARGATE", "maxvCpus": "4", "subnets": ["s"], "securityGroupIds": ["g"]},
            "service_role": "arn:aws:iam::1:role/batch", "tags": {"a": "b"}, "deferrable": true
        }))
        .unwrap();
        assert_eq!(
            op.body(),
            json!({"computeEnvironmentName": "ce", "type": "MANAGED", "state": "ENABLED",
                "computeResources": {"type": "FARGATE", "maxvCpus": 4, "subnets": ["s"], "securityGroupIds": ["g"]},
                "serviceRole": "arn:aws:iam::1:role/batch", "tags": {"a": "b"}})
        );
        assert_eq!(op.max_retries, 120);
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["batch:CreateComputeEnvironment"],
                    ["arn:aws:batch:{region}:{account}:compute-environment/ce"]
                ),
                Permission::new(
                    &["batch:TagResource"],
                    ["arn:aws:batch:{region}:{account}:compute-environment/ce"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/batch"]),
                Permission::on_any(&["batch:DescribeComputeEnvironments"]),
            ]
        );
        assert_eq!(
            ready(&json!({"computeEnvironments": [{"status": "VALID"}]}), "ce").unwrap(),
            Poll::Done(())
        );
        assert_eq!(
            ready(
                &json!({"computeEnvironments": [{"status": "CREATING"}]}),
                "ce"
            )
            .unwrap(),
            Poll::Pending {
                state: "CREATING".into()
            }
        );
        let e = ready(
            &json!({"computeEnvironments": [{"status": "INVALID", "statusReason": "bad subnet"}]}),
            "ce",
        )
        .unwrap_err();
        assert!(
            e.message
                .ends_with("compute environment ce is INVALID (bad subnet)"),
            "{e}"
        );
        let e = build(json!({"compute_environment_name": "ce", "environment_type": "MANAGED", "state": "ENABLED",
            "compute_resources": {"type": "FARGATE", "maxvCpu": 4}}))
        .unwrap_err();
        assert!(e.message().contains("unknown key `maxvCpu`"), "{e}");
    }
}
