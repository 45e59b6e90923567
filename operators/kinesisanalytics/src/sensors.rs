//! The two sensors: each poke is DescribeApplication; the application's status is met, a
//! failure (the provider's `FAILURE_MESSAGE`) or not met yet, by the start or stop groups.
//! With `deferrable: true` the provider's trigger runs the start or stop waiter (every
//! `poke_interval` seconds, at most `max_retries` polls), which runs here as an in-process
//! wait with the same result.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::WaitSettings;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::json;

use crate::app::{self, Group, MSG, Op};

/// What both sensors read.
#[derive(Debug)]
struct Settings {
    aws: AwsParams,
    application_name: String,
    settings: SensorSettings,
    max_retries: u32,
    deferrable: bool,
}

impl Settings {
    fn read(p: &mut ParamReader<'_>) -> Result<Settings, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_name =
            p.required_str("application_name", "the name of the application to watch")?;
        let settings = SensorSettings::read(p, 120.0)?;
        let max_retries = p.u32("max_retries", 1..=u32::MAX)?.unwrap_or(75);
        let deferrable = p.bool("deferrable", false)?;
        Ok(Settings {
            aws,
            application_name,
            settings,
            max_retries,
            deferrable,
        })
    }

    /// DescribeApplication on the application.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["kinesisanalytics:DescribeApplication"],
            [airtask_core::permissions::arn(
                "kinesisanalytics",
                self.aws.region(),
                &format!("application/{}", self.application_name),
            )],
        )]
    }

    async fn run(&self, ctx: &TaskContext, op: Op) -> Result<Outcome, TaskError> {
        let kda = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_kinesisanalyticsv2),
        )?;
        let (kda, name) = (&kda, self.application_name.as_str());
        if self.deferrable {
            let wait = WaitSettings {
                wait_for_completion: true,
                waiter_delay: Duration::from_secs_f64(self.settings.poke_interval),
                waiter_max_attempts: self.max_retries,
                deferrable: true,
            };
            app::wait_for(ctx, kda, name, op, &wait).await?;
            // The trigger resumes in `poke`, whose true is the XCom.
            return Ok(Outcome::Success(Some(json!(true))));
        }
        sensor::run(&self.settings, ctx, move || async move {
            let (_, status) = app::describe(kda, name).await?;
            ctx.info(&format!("Poking for {MSG}: {name} status: {status}"));
            match op.group(&status) {
                Group::Failed => Err(TaskError::retryable(format!(
                    "{MSG} {} failed. ({name} is {status})",
                    op.verb()
                ))),
                Group::Success => {
                    let done = match op {
                        Op::Start => "started",
                        Op::Stop => "stopped",
                    };
                    ctx.info(&format!("{MSG} {done} successfully `{name}`."));
                    Ok(true)
                }
                Group::Pending => Ok(false),
            }
        })
        .await
    }
}

/// A configured `KinesisAnalyticsV2StartApplicationCompletedSensor`.
#[derive(Debug)]
pub struct KinesisAnalyticsV2StartApplicationCompletedSensor(Settings);

/// A configured `KinesisAnalyticsV2StopApplicationCompletedSensor`.
#[derive(Debug)]
pub struct KinesisAnalyticsV2StopApplicationCompletedSensor(Settings);

/// The sensors' template fields (`aws_template_fields("application_name")`).
const TEMPLATE_FIELDS: &[&str] = &["application_name", "aws_conn_id", "region_name", "verify"];

impl Operator for KinesisAnalyticsV2StartApplicationCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.kinesis_analytics.KinesisAnalyticsV2StartApplicationCompletedSensor",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Settings::read(p).map(Self)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx, Op::Start).await
    }

    /// DescribeApplication on the application.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

impl Operator for KinesisAnalyticsV2StopApplicationCompletedSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.kinesis_analytics.KinesisAnalyticsV2StopApplicationCompletedSensor",
        aliases: &[],
        template_fields: TEMPLATE_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Settings::read(p).map(Self)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx, Op::Stop).await
    }

    /// DescribeApplication on the application.
    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_follow_the_provider() {
        let p: Params = json!({"application_name": "a"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<KinesisAnalyticsV2StopApplicationCompletedSensor>(&p).unwrap();
        assert_eq!(s.0.settings.poke_interval, 120.0);
        assert_eq!(s.0.max_retries, 75);
        assert!(!s.0.deferrable);
    }
}
