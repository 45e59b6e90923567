//! The provider's SageMaker sensors (`SageMakerBaseSensor.poke`): describe, log
//! "<resource> currently <state>", not met while the state is not terminal, fail with
//! "Sagemaker <resource> failed for the following reason: <reason>" in a failed state, met
//! otherwise. No XCom.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::Value;

use crate::hook::{
    self, ENDPOINT_NON_TERMINAL, FAILED, FAILED_OR_STOPPED, HOOK, Kind, NON_TERMINAL,
    PIPELINE_NON_TERMINAL, text,
};
use crate::pipeline;
use crate::training_logs::{self, Tail};

/// BaseSensorOperator's default `poke_interval`.
const POKE_INTERVAL: f64 = 60.0;

/// How one sensor judges a state.
struct Judge {
    /// "job", "pipeline", "autoML job" (the provider's `resource_type`, for the lines).
    resource: &'static str,
    non_terminal: &'static [&'static str],
    failed: &'static [&'static str],
    /// Whether the failure reason is the answer's FailureReason (else "Unknown").
    reason: bool,
}

impl Judge {
    /// The poke's verdict on `response` (under `key`).
    fn verdict(&self, ctx: &TaskContext, response: &Value, key: &str) -> Result<bool, TaskError> {
        let state = text(response, key);
        ctx.info(&format!("{} currently {state}", self.resource));
        if self.non_terminal.contains(&state) {
            return Ok(false);
        }
        if self.failed.contains(&state) {
            let reason = if self.reason {
                hook::failure_reason(response)
            } else {
                "Unknown".to_owned()
            };
            return Err(TaskError::retryable(format!(
                "Sagemaker {} failed for the following reason: {reason}",
                self.resource
            )));
        }
        Ok(true)
    }
}

/// The template fields of the job sensors (`aws_template_fields("job_name")`).
const JOB_FIELDS: &[&str] = &["aws_conn_id", "job_name", "region_name", "verify"];

macro_rules! job_sensor {
    ($(#[$doc:meta])* $ty:ident, $path:literal, $alias:literal, $kind:expr, $poking:literal, $judge:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $ty {
            aws: AwsParams,
            job_name: String,
            settings: SensorSettings,
        }

        impl Operator for $ty {
            const SPEC: OperatorSpec = OperatorSpec {
                class_path: $path,
                aliases: &[$alias],
                template_fields: JOB_FIELDS,
                calls_aws: true,
            };

            fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
                Ok($ty {
                    aws: AwsParams::read(p)?,
                    job_name: p.required_str("job_name", "the name of the job to watch")?,
                    settings: SensorSettings::read(p, POKE_INTERVAL)?,
                })
            }

            fn permissions(&self) -> Vec<Permission> {
                vec![Permission::new(
                    &[$kind.describe_action()],
                    [$kind.arn(self.aws.region(), &self.job_name)],
                )]
            }

            async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
                let sm = hook::client(ctx, &self.aws)?;
                let (sm, name) = (&sm, self.job_name.as_str());
                let judge: Judge = $judge;
                let judge = &judge;
                sensor::run(&self.settings, ctx, || async move {
                    ctx.info(&format!("{} {name}", $poking));
                    let d = hook::describe(sm, $kind, name).await?;
                    if $kind == Kind::AutoMl {
                        ctx.hook_info(
                            HOOK,
                            &format!("{name}'s current step: {}", text(&d, "AutoMLJobSecondaryStatus")),
                        );
                    }
                    judge.verdict(ctx, &d, $kind.status_key())
                })
                .await
            }
        }
    };
}

job_sensor!(
    /// A configured `SageMakerTransformSensor`.
    SageMakerTransformSensor,
    "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerTransformSensor",
    "airflow.providers.amazon.aws.sensors.sagemaker_transform.SageMakerTransformSensor",
    Kind::Transform,
    "Poking Sagemaker Transform Job",
    Judge { resource: "job", non_terminal: NON_TERMINAL, failed: FAILED, reason: true }
);

job_sensor!(
    /// A configured `SageMakerTuningSensor`.
    SageMakerTuningSensor,
    "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerTuningSensor",
    "airflow.providers.amazon.aws.sensors.sagemaker_tuning.SageMakerTuningSensor",
    Kind::Tuning,
    "Poking Sagemaker Tuning Job",
    Judge { resource: "job", non_terminal: NON_TERMINAL, failed: FAILED, reason: true }
);

job_sensor!(
    /// A configured `SageMakerProcessingSensor`.
    SageMakerProcessingSensor,
    "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerProcessingSensor",
    "airflow.providers.amazon.aws.sensors.sagemaker_processing.SageMakerProcessingSensor",
    Kind::Processing,
    "Poking Sagemaker ProcessingJob",
    Judge { resource: "job", non_terminal: NON_TERMINAL, failed: FAILED_OR_STOPPED, reason: false }
);

job_sensor!(
    /// A configured `SageMakerAutoMLSensor`.
    SageMakerAutoMLSensor,
    "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerAutoMLSensor",
    "airflow.providers.amazon.aws.sensors.sagemaker_automl.SageMakerAutoMLSensor",
    Kind::AutoMl,
    "Poking Sagemaker AutoML Execution",
    Judge { resource: "autoML job", non_terminal: NON_TERMINAL, failed: FAILED, reason: false }
);

/// A configured `SageMakerEndpointSensor`.
#[derive(Debug)]
pub struct SageMakerEndpointSensor {
    aws: AwsParams,
    endpoint_name: String,
    settings: SensorSettings,
}

impl Operator for SageMakerEndpointSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerEndpointSensor",
        aliases: &[
            "airflow.providers.amazon.aws.sensors.sagemaker_endpoint.SageMakerEndpointSensor",
        ],
        template_fields: &["aws_conn_id", "endpoint_name", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(SageMakerEndpointSensor {
            aws: AwsParams::read(p)?,
            endpoint_name: p.required_str("endpoint_name", "the name of the endpoint to watch")?,
            settings: SensorSettings::read(p, POKE_INTERVAL)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &[Kind::Endpoint.describe_action()],
            [Kind::Endpoint.arn(self.aws.region(), &self.endpoint_name)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let (sm, name) = (&sm, self.endpoint_name.as_str());
        let judge = &Judge {
            resource: "job",
            non_terminal: ENDPOINT_NON_TERMINAL,
            failed: FAILED,
            reason: true,
        };
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking Sagemaker Endpoint {name}"));
            let d = hook::describe(sm, Kind::Endpoint, name).await?;
            judge.verdict(ctx, &d, "EndpointStatus")
        })
        .await
    }
}

/// A configured `SageMakerPipelineSensor`.
#[derive(Debug)]
pub struct SageMakerPipelineSensor {
    aws: AwsParams,
    pipeline_exec_arn: String,
    verbose: bool,
    settings: SensorSettings,
}

impl Operator for SageMakerPipelineSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerPipelineSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "pipeline_exec_arn", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(SageMakerPipelineSensor {
            aws: AwsParams::read(p)?,
            pipeline_exec_arn: p.required_str(
                "pipeline_exec_arn",
                "the ARN of the pipeline execution to watch",
            )?,
            verbose: p.bool("verbose", true)?,
            settings: SensorSettings::read(p, POKE_INTERVAL)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        pipeline::describe_permissions(&self.pipeline_exec_arn, self.verbose)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let (sm, arn, verbose) = (&sm, self.pipeline_exec_arn.as_str(), self.verbose);
        let judge = &Judge {
            resource: "pipeline",
            non_terminal: PIPELINE_NON_TERMINAL,
            failed: FAILED,
            reason: false,
        };
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking Sagemaker Pipeline Execution {arn}"));
            let d = pipeline::describe(ctx, sm, arn, verbose).await?;
            judge.verdict(ctx, &d, "PipelineExecutionStatus")
        })
        .await
    }
}

/// A configured `SageMakerTrainingSensor`.
#[derive(Debug)]
pub struct SageMakerTrainingSensor {
    aws: AwsParams,
    job_name: String,
    print_log: bool,
    settings: SensorSettings,
}

impl Operator for SageMakerTrainingSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.sagemaker.SageMakerTrainingSensor",
        aliases: &[
            "airflow.providers.amazon.aws.sensors.sagemaker_training.SageMakerTrainingSensor",
        ],
        template_fields: JOB_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(SageMakerTrainingSensor {
            aws: AwsParams::read(p)?,
            job_name: p.required_str("job_name", "the name of the training job to watch")?,
            print_log: p.bool("print_log", true)?,
            settings: SensorSettings::read(p, POKE_INTERVAL)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &[Kind::Training.describe_action()],
            [Kind::Training.arn(self.aws.region(), &self.job_name)],
        )];
        if self.print_log {
            out.push(training_logs::permissions(self.aws.region()));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let name = self.job_name.clone();
        let judge = Judge {
            resource: "job",
            non_terminal: NON_TERMINAL,
            failed: FAILED_OR_STOPPED,
            reason: true,
        };
        let tail = if self.print_log {
            Some(Tail::new(ctx, &self.aws, &name)?)
        } else {
            None
        };
        // The log position and the last answer, kept from poke to poke.
        let state = tokio::sync::Mutex::new((tail, None::<Value>));
        let (sm, name, judge, state) = (&sm, name.as_str(), &judge, &state);
        sensor::run(&self.settings, ctx, || async move {
            let d = hook::describe(sm, Kind::Training, name).await?;
            let mut g = state.lock().await;
            let (tail, last) = &mut *g;
            if let Some(t) = tail.as_mut() {
                let instances = d
                    .pointer("/ResourceConfig/InstanceCount")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                t.print(ctx, instances).await?;
                if let Some(prev) = last.as_ref()
                    && training_logs::secondary_status_changed(&d, prev)
                {
                    ctx.hook_info(
                        HOOK,
                        &training_logs::secondary_status_message(&d, Some(prev)),
                    );
                }
            }
            *last = Some(d.clone());
            let status = text(&d, "TrainingJobStatus");
            if !NON_TERMINAL.contains(&status)
                && !FAILED_OR_STOPPED.contains(&status)
                && let Some(s) = training_logs::billable_seconds(&d)
            {
                ctx.info(&format!("Billable seconds: {s}"));
            }
            judge.verdict(ctx, &d, "TrainingJobStatus")
        })
        .await
    }
}
