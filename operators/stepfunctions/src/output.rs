//! `StepFunctionGetExecutionOutputOperator`: DescribeExecution; XCom is the output (parsed
//! JSON), else the error, else nothing.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::Value;

use crate::execution;

/// A configured `StepFunctionGetExecutionOutputOperator`.
#[derive(Debug)]
pub struct StepFunctionGetExecutionOutputOperator {
    aws: AwsParams,
    execution_arn: String,
}

impl Operator for StepFunctionGetExecutionOutputOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.step_function.StepFunctionGetExecutionOutputOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.step_function_get_execution_output.StepFunctionGetExecutionOutputOperator",
        ],
        template_fields: &["aws_conn_id", "execution_arn", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(StepFunctionGetExecutionOutputOperator {
            aws: AwsParams::read(p)?,
            execution_arn: p.required_str(
                "execution_arn",
                "the ARN of the execution (a StepFunctionStartExecutionOperator's XCom)",
            )?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sfn = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sfn))?;
        let d = execution::describe(&sfn, &self.execution_arn).await?;
        let arn = &self.execution_arn;
        let response = match (&d.output, &d.error) {
            (Some(output), _) => Some(serde_json::from_str::<Value>(output).map_err(|e| {
                TaskError::fatal(format!(
                    "the output of execution {arn} is not JSON ({e}): {output}"
                ))
            })?),
            // An error is a code (States.TaskFailed), seldom JSON: it is returned as text.
            (None, Some(error)) => Some(
                serde_json::from_str::<Value>(error)
                    .unwrap_or_else(|_| Value::String(error.clone())),
            ),
            (None, None) => None,
        };
        ctx.info(&format!("Got State Machine Execution output for {arn}"));
        Ok(Outcome::Success(response))
    }

    /// DescribeExecution on the execution.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["states:DescribeExecution"],
            [self.execution_arn.clone()],
        )]
    }
}
