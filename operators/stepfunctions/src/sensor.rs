//! `StepFunctionExecutionSensor`: DescribeExecution per poke. RUNNING is not met; SUCCEEDED
//! is met and pushes the output (parsed JSON) as the XCom `output`; FAILED, TIMED_OUT and
//! ABORTED fail the task.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::Value;

use crate::execution::{self, Group};

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A configured `StepFunctionExecutionSensor`.
#[derive(Debug)]
pub struct StepFunctionExecutionSensor {
    aws: AwsParams,
    execution_arn: String,
    settings: SensorSettings,
}

/// The output's JSON, or null.
fn parsed(arn: &str, output: Option<&str>) -> Result<Value, TaskError> {
    output.map_or(Ok(Value::Null), |o| {
        serde_json::from_str(o).map_err(|e| {
            TaskError::fatal(format!(
                "the output of execution {arn} is not JSON ({e}): {o}"
            ))
        })
    })
}

impl Operator for StepFunctionExecutionSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.step_function.StepFunctionExecutionSensor",
        aliases: &[
            "airflow.providers.amazon.aws.sensors.step_function_execution.StepFunctionExecutionSensor",
        ],
        template_fields: &["aws_conn_id", "execution_arn", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let execution_arn = p.required_str(
            "execution_arn",
            "the ARN of the execution to wait for (a StepFunctionStartExecutionOperator's XCom)",
        )?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(StepFunctionExecutionSensor {
            aws,
            execution_arn,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sfn = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sfn))?;
        let (sfn, arn) = (&sfn, self.execution_arn.as_str());
        sensor::run(&self.settings, ctx, || async move {
            let d = execution::describe(sfn, arn).await?;
            match d.group() {
                Group::Running => Ok(false),
                Group::Failed => {
                    let output = parsed(arn, d.output.as_deref())?;
                    let shown = if output.is_null() {
                        "None".to_owned()
                    } else {
                        output.to_string()
                    };
                    Err(TaskError::retryable(format!(
                        "Step Function sensor failed. State Machine Output: {shown} (execution \
                         {arn} is {}, {})",
                        d.status,
                        d.why()
                    )))
                }
                Group::Succeeded => {
                    let output = parsed(arn, d.output.as_deref())?;
                    ctx.info("Doing xcom_push of output");
                    ctx.xcom_push("output", output);
                    Ok(true)
                }
            }
        })
        .await
    }

    /// DescribeExecution on the execution.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["states:DescribeExecution"],
            [self.execution_arn.clone()],
        )]
    }
}
