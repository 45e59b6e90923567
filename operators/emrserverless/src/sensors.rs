//! `EmrServerlessApplicationSensor` (GetApplication per poke: STOPPED and TERMINATED fail, a
//! state in `target_states`, CREATED or STARTED by default, is met) and
//! `EmrServerlessJobSensor` (GetJobRun per poke: FAILED, CANCELLING and CANCELLED fail, a state
//! in `target_states`, SUCCESS by default, is met).

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{
    APP_FAILURE, APP_SUCCESS, JOB_FAILURE, JOB_SUCCESS, application_arn, get_application,
    get_job_run, job_runs_arn, states,
};

/// BaseSensorOperator's default `poke_interval`.
const POKE_INTERVAL: f64 = 60.0;

fn own(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The message of a failure state: `stateDetails`, or None.
fn details(d: &str) -> &str {
    if d.is_empty() { "None" } else { d }
}

/// A configured `EmrServerlessApplicationSensor`.
#[derive(Debug)]
pub struct EmrServerlessApplicationSensor {
    aws: AwsParams,
    application_id: String,
    target_states: Vec<String>,
    settings: SensorSettings,
}

impl Operator for EmrServerlessApplicationSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrServerlessApplicationSensor",
        aliases: &[],
        template_fields: &["application_id", "aws_conn_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_id =
            p.required_str("application_id", "the id of the application to watch")?;
        let target_states = states(p, "target_states")?.unwrap_or_else(|| own(APP_SUCCESS));
        let settings = SensorSettings::read(p, POKE_INTERVAL)?;
        Ok(EmrServerlessApplicationSensor {
            aws,
            application_id,
            target_states,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["emr-serverless:GetApplication"],
            [application_arn(self.aws.region(), &self.application_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        let (emr, id, targets) = (&emr, self.application_id.as_str(), &self.target_states);
        sensor::run(&self.settings, ctx, || async move {
            let s = get_application(emr, id).await?;
            if APP_FAILURE.contains(&s.state.as_str()) {
                return Err(TaskError::retryable(format!(
                    "EMR Serverless application failed: {} (application {id} is {})",
                    details(&s.details),
                    s.state
                )));
            }
            Ok(targets.contains(&s.state))
        })
        .await
    }
}

/// A configured `EmrServerlessJobSensor`.
#[derive(Debug)]
pub struct EmrServerlessJobSensor {
    aws: AwsParams,
    application_id: String,
    job_run_id: String,
    target_states: Vec<String>,
    settings: SensorSettings,
}

impl Operator for EmrServerlessJobSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrServerlessJobSensor",
        aliases: &[],
        template_fields: &[
            "application_id",
            "aws_conn_id",
            "job_run_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_id =
            p.required_str("application_id", "the id of the application of the job run")?;
        let job_run_id = p.required_str("job_run_id", "the id of the job run to watch")?;
        let target_states = states(p, "target_states")?.unwrap_or_else(|| own(JOB_SUCCESS));
        let settings = SensorSettings::read(p, POKE_INTERVAL)?;
        Ok(EmrServerlessJobSensor {
            aws,
            application_id,
            job_run_id,
            target_states,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["emr-serverless:GetJobRun"],
            [job_runs_arn(self.aws.region(), &self.application_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        let (emr, app, job, targets) = (
            &emr,
            self.application_id.as_str(),
            self.job_run_id.as_str(),
            &self.target_states,
        );
        sensor::run(&self.settings, ctx, || async move {
            let s = get_job_run(emr, app, job).await?;
            if JOB_FAILURE.contains(&s.state.as_str()) {
                return Err(TaskError::retryable(format!(
                    "EMR Serverless job failed: {} (job run {job} is {})",
                    details(&s.details),
                    s.state
                )));
            }
            Ok(targets.contains(&s.state))
        })
        .await
    }
}
