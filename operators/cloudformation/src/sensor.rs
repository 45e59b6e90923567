//! `CloudFormationCreateStackSensor` and `CloudFormationDeleteStackSensor`: each poke is the
//! provider's `CloudFormationHook.get_stack_status` (DescribeStacks of the stack; a stack that
//! "does not exist" has no status). The create sensor is met at CREATE_COMPLETE and waits
//! while CREATE_IN_PROGRESS or absent; the delete sensor is met at DELETE_COMPLETE or when the
//! stack is gone and waits while DELETE_IN_PROGRESS. Any other state fails the task ("Stack
//! <name> in bad state: <state>", with the stack's StackStatusReason when it has one).

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_cloudformation::Client;

use crate::HOOK_LOGGER;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// The sensors' shared template fields (`aws_template_fields("stack_name")`).
const TEMPLATE_FIELDS: &[&str] = &["aws_conn_id", "region_name", "stack_name", "verify"];

/// A stack's state as one DescribeStacks found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Status {
    /// The stack does not exist (never created, or deleted and looked up by name).
    Absent,
    /// Its StackStatus, and StackStatusReason when it has one.
    Is(String, Option<String>),
}

/// The hook's `get_stack_status`.
///
/// # Errors
/// Any error of DescribeStacks but "does not exist", classified by the AWS toolbox.
pub(crate) async fn status(
    cfn: &Client,
    ctx: &TaskContext,
    stack_name: &str,
) -> Result<Status, TaskError> {
    ctx.hook_info(HOOK_LOGGER, &format!("Poking for stack {stack_name}"));
    match cfn.describe_stacks().stack_name(stack_name).send().await {
        Ok(out) => {
            let Some(stack) = out.stacks().first() else {
                return Ok(Status::Absent);
            };
            Ok(Status::Is(
                stack
                    .stack_status()
                    .map_or("UNKNOWN", |s| s.as_str())
                    .to_owned(),
                stack.stack_status_reason().map(str::to_owned),
            ))
        }
        Err(e) if airtask_aws::error::text(&e).contains("does not exist") => Ok(Status::Absent),
        Err(e) => Err(airtask_aws::error::task_error(
            &format!("DescribeStacks {stack_name}"),
            &e,
        )),
    }
}

/// The failure of a poke that found the stack in a state it cannot leave for the awaited one.
fn bad_state(stack_name: &str, state: &str, reason: Option<&str>) -> TaskError {
    let reason = reason.map(|r| format!(" ({r})")).unwrap_or_default();
    TaskError::retryable(format!("Stack {stack_name} in bad state: {state}{reason}"))
}

/// The ARN of the stack `name` (a stack name, or a stack id, which is its ARN).
pub(crate) fn stack_arn(aws: &AwsParams, name: &str) -> String {
    if name.starts_with("arn:") {
        name.to_owned()
    } else {
        airtask_core::permissions::arn("cloudformation", aws.region(), &format!("stack/{name}/*"))
    }
}

/// What both sensors read.
fn read(p: &mut ParamReader<'_>) -> Result<(AwsParams, String, SensorSettings), ParamError> {
    let aws = AwsParams::read(p)?;
    let stack_name = p.required_str("stack_name", "the name or id of the stack to wait for")?;
    let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
    Ok((aws, stack_name, settings))
}

/// A configured `CloudFormationCreateStackSensor`.
#[derive(Debug)]
pub struct CloudFormationCreateStackSensor {
    aws: AwsParams,
    stack_name: String,
    settings: SensorSettings,
}

impl Operator for CloudFormationCreateStackSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.cloud_formation.CloudFormationCreateStackSensor",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, stack_name, settings) = read(p)?;
        Ok(CloudFormationCreateStackSensor {
            aws,
            stack_name,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let cfn = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_cloudformation),
        )?;
        let (cfn, name) = (&cfn, self.stack_name.as_str());
        sensor::run(&self.settings, ctx, || async move {
            match status(cfn, ctx, name).await? {
                Status::Is(s, _) if s == "CREATE_COMPLETE" => Ok(true),
                Status::Absent => Ok(false),
                Status::Is(s, _) if s == "CREATE_IN_PROGRESS" => Ok(false),
                Status::Is(s, reason) => Err(bad_state(name, &s, reason.as_deref())),
            }
        })
        .await
    }

    /// DescribeStacks on the stack.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["cloudformation:DescribeStacks"],
            [stack_arn(&self.aws, &self.stack_name)],
        )]
    }
}

/// A configured `CloudFormationDeleteStackSensor`.
#[derive(Debug)]
pub struct CloudFormationDeleteStackSensor {
    aws: AwsParams,
    stack_name: String,
    settings: SensorSettings,
}

impl Operator for CloudFormationDeleteStackSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.cloud_formation.CloudFormationDeleteStackSensor",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, stack_name, settings) = read(p)?;
        Ok(CloudFormationDeleteStackSensor {
            aws,
            stack_name,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let cfn = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_cloudformation),
        )?;
        let (cfn, name) = (&cfn, self.stack_name.as_str());
        sensor::run(&self.settings, ctx, || async move {
            match status(cfn, ctx, name).await? {
                Status::Absent => Ok(true),
                Status::Is(s, _) if s == "DELETE_COMPLETE" => Ok(true),
                Status::Is(s, _) if s == "DELETE_IN_PROGRESS" => Ok(false),
                Status::Is(s, reason) => Err(bad_state(name, &s, reason.as_deref())),
            }
        })
        .await
    }

    /// DescribeStacks on the stack.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["cloudformation:DescribeStacks"],
            [stack_arn(&self.aws, &self.stack_name)],
        )]
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_cloudformation::operation::describe_stacks::{
        DescribeStacksError, DescribeStacksOutput,
    };
    use aws_sdk_cloudformation::types::{Stack, StackStatus};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    use super::*;

    struct Quiet;
    impl LogSink for Quiet {
        fn line(&self, _: Level, _: &str, _: &str) {}
    }

    fn ctx() -> TaskContext {
        TaskContext::new(
            &CloudFormationCreateStackSensor::SPEC,
            "wait",
            1,
            Arc::new(Quiet),
        )
    }

    #[test]
    fn defaults_follow_the_provider() {
        let p: Params = json!({"stack_name": "s"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<CloudFormationDeleteStackSensor>(&p).unwrap();
        assert_eq!(s.settings.poke_interval, 60.0);
        assert_eq!(s.stack_name, "s");
        let p: Params = json!({}).as_object().cloned().unwrap_or_default();
        let e = build_operator::<CloudFormationCreateStackSensor>(&p).unwrap_err();
        assert!(e.message().contains("needs `stack_name`"), "{e}");
    }

    #[tokio::test]
    async fn a_missing_stack_has_no_status_and_other_errors_fail() {
        let gone = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("ValidationError")
                    .message("Stack with id s does not exist")
                    .build(),
            )
        });
        let failed = mock!(Client::describe_stacks).then_output(|| {
            DescribeStacksOutput::builder()
                .stacks(
                    Stack::builder()
                        .stack_name("s")
                        .stack_status(StackStatus::RollbackComplete)
                        .stack_status_reason("The following resource(s) failed to create: [B].")
                        .build(),
                )
                .build()
        });
        let denied = mock!(Client::describe_stacks).then_error(|| {
            DescribeStacksError::generic(
                aws_sdk_cloudformation::error::ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message("not allowed")
                    .build(),
            )
        });
        let cfn = mock_client!(
            aws_sdk_cloudformation,
            RuleMode::Sequential,
            [&gone, &failed, &denied]
        );
        let ctx = ctx();
        assert_eq!(status(&cfn, &ctx, "s").await, Ok(Status::Absent));
        let Ok(Status::Is(state, reason)) = status(&cfn, &ctx, "s").await else {
            panic!("a status");
        };
        assert_eq!(state, "ROLLBACK_COMPLETE");
        let e = bad_state("s", &state, reason.as_deref());
        assert_eq!(
            e.message,
            "Stack s in bad state: ROLLBACK_COMPLETE (The following resource(s) failed to \
             create: [B].)"
        );
        let e = status(&cfn, &ctx, "s").await.unwrap_err();
        assert!(
            e.message
                .starts_with("DescribeStacks s failed: AccessDenied"),
            "{e}"
        );
    }
}
