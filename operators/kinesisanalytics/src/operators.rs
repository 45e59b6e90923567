//! The three operators. Create: CreateApplication, XCom `{"ApplicationARN": ...}`. Start and
//! stop: StartApplication / StopApplication, then DescribeApplication for the ARN (the XCom),
//! then by default the wait for RUNNING / READY (`deferrable: true` waits the same way, in the
//! process).

use airtask_aws::AwsParams;
use airtask_core::kwargs;
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_kinesisanalyticsv2::types::{RunConfiguration, RuntimeEnvironment};
use serde_json::json;

use crate::app::{self, MSG, Op};
use crate::config::{self, CreateKwargs};

/// The provider's default description.
const DEFAULT_DESCRIPTION: &str =
    "Managed Service for Apache Flink application created from Airflow";

/// The XCom of every operator here.
fn arn_xcom(arn: String) -> Outcome {
    Outcome::Success(Some(json!({ "ApplicationARN": arn })))
}

/// A configured `KinesisAnalyticsV2CreateApplicationOperator`.
#[derive(Debug)]
pub struct KinesisAnalyticsV2CreateApplicationOperator {
    aws: AwsParams,
    application_name: String,
    runtime_environment: String,
    service_execution_role: String,
    kwargs: CreateKwargs,
    application_description: String,
}

impl Operator for KinesisAnalyticsV2CreateApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.kinesis_analytics.KinesisAnalyticsV2CreateApplicationOperator",
        aliases: &[],
        template_fields: &[
            "application_description",
            "application_name",
            "aws_conn_id",
            "create_application_kwargs",
            "region_name",
            "runtime_environment",
            "service_execution_role",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_name =
            p.required_str("application_name", "the name of the application to create")?;
        let runtime_environment = p.required_str(
            "runtime_environment",
            "the application's runtime, e.g. FLINK-1_20",
        )?;
        let service_execution_role = p.required_str(
            "service_execution_role",
            "the ARN of the IAM role the application runs with",
        )?;
        let rendered = p.rendered();
        let kwargs = CreateKwargs::read(kwargs::mapping(p, "create_application_kwargs"), rendered)
            .map_err(|e| kwargs::param_error(p, "create_application_kwargs", e))?;
        let application_description = p
            .str("application_description")?
            .unwrap_or_else(|| DEFAULT_DESCRIPTION.to_owned());
        Ok(KinesisAnalyticsV2CreateApplicationOperator {
            aws,
            application_name,
            runtime_environment,
            service_execution_role,
            kwargs,
            application_description,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let kda = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_kinesisanalyticsv2),
        )?;
        let name = &self.application_name;
        ctx.info(&format!("Creating {MSG} {name}."));
        let k = self.kwargs.clone();
        let out = kda
            .create_application()
            .application_name(name)
            .application_description(&self.application_description)
            .runtime_environment(RuntimeEnvironment::from(self.runtime_environment.as_str()))
            .service_execution_role(&self.service_execution_role)
            .set_application_configuration(k.application_configuration)
            .set_cloud_watch_logging_options(k.cloud_watch_logging_options)
            .set_tags(k.tags)
            .set_application_mode(k.application_mode)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("{MSG} creation failed: CreateApplication {name}"),
                    &e,
                )
            })?;
        let arn = out
            .application_detail()
            .map(|d| d.application_arn().to_owned())
            .ok_or_else(|| {
                TaskError::retryable(format!(
                    "CreateApplication {name} answered without ApplicationDetail"
                ))
            })?;
        ctx.info(&format!("{MSG} created successfully {name}."));
        Ok(arn_xcom(arn))
    }

    /// CreateApplication (which IAM does not scope to an application), and `iam:PassRole` on
    /// `service_execution_role`.
    fn permissions(&self) -> Vec<Permission> {
        vec![
            Permission::on_any(&["kinesisanalytics:CreateApplication"]),
            Permission::new(&["iam:PassRole"], [self.service_execution_role.clone()]),
        ]
    }
}

/// Reads the waiting parameters of start and stop (defaults: every 60 s, 20 attempts).
fn read_wait(p: &mut ParamReader<'_>) -> Result<WaitSettings, ParamError> {
    let mut w = WaitSettings::read(p, 60, 20)?;
    // `deferrable` implies waiting for completion.
    w.wait_for_completion |= w.deferrable;
    Ok(w)
}

/// A configured `KinesisAnalyticsV2StartApplicationOperator`.
#[derive(Debug)]
pub struct KinesisAnalyticsV2StartApplicationOperator {
    aws: AwsParams,
    application_name: String,
    run_configuration: RunConfiguration,
    wait: WaitSettings,
}

impl Operator for KinesisAnalyticsV2StartApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.kinesis_analytics.KinesisAnalyticsV2StartApplicationOperator",
        aliases: &[],
        template_fields: &[
            "application_name",
            "aws_conn_id",
            "region_name",
            "run_configuration",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_name =
            p.required_str("application_name", "the name of the application to start")?;
        let rendered = p.rendered();
        let run_configuration =
            config::run_configuration(kwargs::mapping(p, "run_configuration"), rendered)
                .map_err(|e| kwargs::param_error(p, "run_configuration", e))?;
        let wait = read_wait(p)?;
        Ok(KinesisAnalyticsV2StartApplicationOperator {
            aws,
            application_name,
            run_configuration,
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let kda = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_kinesisanalyticsv2),
        )?;
        let name = &self.application_name;
        ctx.info(&format!("Starting {MSG} {name}."));
        kda.start_application()
            .application_name(name)
            .run_configuration(self.run_configuration.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("Failed to start {MSG} {name}: StartApplication"),
                    &e,
                )
            })?;
        let (arn, _) = app::describe(&kda, name).await?;
        if self.wait.wait_for_completion {
            ctx.info(&format!("Waiting for {MSG} to start: {name}."));
            app::wait_for(ctx, &kda, name, Op::Start, &self.wait).await?;
        }
        ctx.info(&format!("{MSG} started successfully {name}."));
        Ok(arn_xcom(arn))
    }

    /// StartApplication, then DescribeApplication (its ARN, and the wait), on the application.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &[
                "kinesisanalytics:StartApplication",
                "kinesisanalytics:DescribeApplication",
            ],
            [airtask_core::permissions::arn(
                "kinesisanalytics",
                self.aws.region(),
                &format!("application/{}", self.application_name),
            )],
        )]
    }
}

/// A configured `KinesisAnalyticsV2StopApplicationOperator`.
#[derive(Debug)]
pub struct KinesisAnalyticsV2StopApplicationOperator {
    aws: AwsParams,
    application_name: String,
    force: bool,
    wait: WaitSettings,
}

impl Operator for KinesisAnalyticsV2StopApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.kinesis_analytics.KinesisAnalyticsV2StopApplicationOperator",
        aliases: &[],
        template_fields: &[
            "application_name",
            "aws_conn_id",
            "force",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_name =
            p.required_str("application_name", "the name of the application to stop")?;
        let force = p.bool("force", false)?;
        let wait = read_wait(p)?;
        Ok(KinesisAnalyticsV2StopApplicationOperator {
            aws,
            application_name,
            force,
            wait,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let kda = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_kinesisanalyticsv2),
        )?;
        let name = &self.application_name;
        ctx.info(&format!("Stopping {MSG} {name}."));
        kda.stop_application()
            .application_name(name)
            .force(self.force)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("Failed to stop {MSG} {name}: StopApplication"),
                    &e,
                )
            })?;
        let (arn, _) = app::describe(&kda, name).await?;
        if self.wait.wait_for_completion {
            ctx.info(&format!("Waiting for {MSG} to stop: {name}."));
            app::wait_for(ctx, &kda, name, Op::Stop, &self.wait).await?;
        }
        ctx.info(&format!("{MSG} stopped successfully {name}."));
        Ok(arn_xcom(arn))
    }

    /// StopApplication, then DescribeApplication (its ARN, and the wait), on the application.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &[
                "kinesisanalytics:StopApplication",
                "kinesisanalytics:DescribeApplication",
            ],
            [airtask_core::permissions::arn(
                "kinesisanalytics",
                self.aws.region(),
                &format!("application/{}", self.application_name),
            )],
        )]
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use airtask_core::{Params, build_operator};
    use serde_json::{Value, json};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn create_needs_its_three_names() {
        let e = build_operator::<KinesisAnalyticsV2CreateApplicationOperator>(&params(
            json!({"application_name": "a", "runtime_environment": "FLINK-1_20"}),
        ))
        .unwrap_err();
        assert!(
            e.message().contains("`service_execution_role`"),
            "{}",
            e.message()
        );
        let op = build_operator::<KinesisAnalyticsV2CreateApplicationOperator>(&params(json!({
            "application_name": "a", "runtime_environment": "FLINK-1_20",
            "service_execution_role": "arn:aws:iam::1:role/r",
        })))
        .unwrap();
        assert_eq!(op.application_description, DEFAULT_DESCRIPTION);
        let e = build_operator::<KinesisAnalyticsV2CreateApplicationOperator>(&params(json!({
            "application_name": "a", "runtime_environment": "FLINK-1_20",
            "service_execution_role": "r", "create_application_kwargs": {"Bad": 1},
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("create_application_kwargs"));
    }

    #[test]
    fn start_and_stop_defaults_follow_the_provider() {
        let op = build_operator::<KinesisAnalyticsV2StartApplicationOperator>(&params(
            json!({"application_name": "a"}),
        ))
        .unwrap();
        assert!(op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.wait.waiter_max_attempts, 20);
        let op = build_operator::<KinesisAnalyticsV2StopApplicationOperator>(&params(
            json!({"application_name": "a", "wait_for_completion": false, "deferrable": true}),
        ))
        .unwrap();
        assert!(!op.force);
        assert!(op.wait.wait_for_completion, "deferrable implies waiting");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::{
        KinesisAnalyticsV2CreateApplicationOperator, KinesisAnalyticsV2StopApplicationOperator,
    };

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn creating_passes_the_role_and_stopping_describes_the_application() {
        let role = "arn:aws:iam::1:role/flink";
        let create = build_operator::<KinesisAnalyticsV2CreateApplicationOperator>(&params(
            json!({"application_name": "a", "runtime_environment": "FLINK-1_20", "service_execution_role": role}),
        ))
        .expect("valid parameters");
        assert_eq!(
            create.permissions(),
            [
                Permission::on_any(&["kinesisanalytics:CreateApplication"]),
                Permission::new(&["iam:PassRole"], [role]),
            ]
        );
        let stop = build_operator::<KinesisAnalyticsV2StopApplicationOperator>(&params(
            json!({"application_name": "a"}),
        ))
        .expect("valid parameters");
        assert_eq!(
            stop.permissions(),
            [Permission::new(
                &[
                    "kinesisanalytics:StopApplication",
                    "kinesisanalytics:DescribeApplication"
                ],
                ["arn:aws:kinesisanalytics:{region}:{account}:application/a"]
            )]
        );
    }
}
