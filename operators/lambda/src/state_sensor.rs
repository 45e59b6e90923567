//! `LambdaFunctionStateSensor`: waits until a function's state is one of `target_states`.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{client, function_arn, function_state};

/// A configured `LambdaFunctionStateSensor`.
#[derive(Debug)]
pub struct LambdaFunctionStateSensor {
    aws: AwsParams,
    settings: SensorSettings,
    function_name: String,
    qualifier: Option<String>,
    target_states: Vec<String>,
}

impl Operator for LambdaFunctionStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.lambda_function.LambdaFunctionStateSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "function_name",
            "qualifier",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let settings = SensorSettings::read(p, 60.0)?;
        let function_name = p.required_str(
            "function_name",
            "the name, ARN or partial ARN of the Lambda function to watch",
        )?;
        let qualifier = p.str("qualifier")?;
        let target_states = p
            .str_or_list("target_states")?
            .unwrap_or_else(|| vec!["Active".to_owned()]);
        // The provider's sensor has no deferrable mode but its base class takes the argument.
        p.accept("deferrable");
        Ok(LambdaFunctionStateSensor {
            aws,
            settings,
            function_name,
            qualifier,
            target_states,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let lambda = client(ctx, self.aws.region())?;
        let (name, qualifier, targets) = (
            &self.function_name,
            self.qualifier.as_deref(),
            &self.target_states,
        );
        let lambda = &lambda;
        sensor::run(&self.settings, ctx, move || async move {
            let s = function_state(lambda, name, qualifier).await?;
            if s.state == "Failed" {
                return Err(TaskError::fatal(format!(
                    "Lambda function state sensor failed because the Lambda is in a failed \
                     state: {name} is Failed ({})",
                    s.reason.as_deref().unwrap_or("AWS gives no reason")
                )));
            }
            ctx.info(&format!(
                "Lambda function {name} is in state {} (waiting for {})",
                s.state,
                targets.join(", ")
            ));
            Ok(targets.contains(&s.state))
        })
        .await
    }

    /// GetFunction on the function, at `qualifier` when given.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["lambda:GetFunction"],
            [function_arn(
                &self.aws,
                &self.function_name,
                self.qualifier.as_deref(),
            )],
        )]
    }
}
