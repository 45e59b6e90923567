//! `EmrServerlessStartJobOperator`: starts the application when it is not CREATED or STARTED
//! (and waits for STARTED), StartJobRun, then with `wait_for_completion` the
//! `serverless_job_completed` wait (SUCCESS; FAILED and CANCELLED fail the task; running out of
//! attempts cancels the job). XCom is the job run id; on_kill cancels the job run and waits for
//! a terminal state.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emrserverless::Client;
use aws_sdk_emrserverless::operation::start_job_run::builders::StartJobRunInputBuilder;
use serde_json::json;

use crate::application::{start_application, wait_settings};
use crate::common::{
    APP_STARTED, APP_SUCCESS, JOB_FAILURE, JOB_SUCCESS, application_arn, get_application,
    get_job_run, job_runs_arn, poll_job, role_arn, uuid4,
};
use crate::kwargs;

/// A configured `EmrServerlessStartJobOperator`.
#[derive(Debug)]
pub struct EmrServerlessStartJobOperator {
    aws: AwsParams,
    application_id: String,
    execution_role_arn: String,
    request: StartJobRunInputBuilder,
    name: Option<String>,
    wait: WaitSettings,
    /// The job run started, for on_kill.
    started: Option<(Client, String)>,
}

const OP: &str = "EmrServerlessStartJobOperator";

impl Operator for EmrServerlessStartJobOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrServerlessStartJobOperator",
        aliases: &[],
        template_fields: &[
            "application_id",
            "aws_conn_id",
            "config",
            "configuration_overrides",
            "execution_role_arn",
            "job_driver",
            "name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_id =
            p.required_str("application_id", "the id of the EMR Serverless application")?;
        let execution_role_arn =
            p.required_str("execution_role_arn", "the ARN of the job run's IAM role")?;
        let rendered = p.rendered();
        let driver = match airtask_core::kwargs::mapping(p, "job_driver") {
            Some(v) => Some(
                kwargs::job_driver(v, rendered)
                    .map_err(|e| airtask_core::kwargs::param_error(p, "job_driver", e))?,
            ),
            None if rendered => {
                return Err(ParamError::at(
                    "job_driver",
                    format!("{OP} needs `job_driver`: the job's sparkSubmit or hive driver"),
                ));
            }
            None => None,
        };
        let overrides =
            match airtask_core::kwargs::mapping(p, "configuration_overrides") {
                Some(v) => Some(kwargs::configuration_overrides(v, rendered).map_err(|e| {
                    airtask_core::kwargs::param_error(p, "configuration_overrides", e)
                })?),
                None => None,
            };
        let token = p
            .str("client_request_token")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(uuid4);
        let mut request = StartJobRunInputBuilder::default()
            .client_token(token)
            .application_id(&application_id)
            .execution_role_arn(&execution_role_arn)
            .set_job_driver(driver)
            .set_configuration_overrides(overrides);
        let mut config_name = None;
        if let Some(v) = airtask_core::kwargs::mapping(p, "config") {
            let (b, n) = kwargs::start_config(v, rendered, request)
                .map_err(|e| airtask_core::kwargs::param_error(p, "config", e))?;
            request = b;
            config_name = n;
        }
        let name = p.str("name")?.filter(|s| !s.is_empty()).or(config_name);
        let wait = wait_settings(p)?;
        p.bool("enable_application_ui_links", false)?;
        p.bool("cancel_on_kill", true)?;
        p.accept("openlineage_inject_parent_job_info");
        p.accept("openlineage_inject_transport_info");
        Ok(EmrServerlessStartJobOperator {
            aws,
            application_id,
            execution_role_arn,
            request,
            name,
            wait,
            started: None,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let app = application_arn(region, &self.application_id);
        let mut start = vec!["emr-serverless:StartJobRun"];
        if self.request.get_tags().is_some() {
            start.push("emr-serverless:TagResource");
        }
        vec![
            Permission::new(
                &[
                    "emr-serverless:GetApplication",
                    "emr-serverless:StartApplication",
                ],
                [app.clone()],
            ),
            Permission::new(&start, [app]),
            Permission::new(&["iam:PassRole"], [role_arn(&self.execution_role_arn)]),
            // GetJobRun for the wait and on_kill's wait; CancelJobRun for on_kill and for the
            // wait that runs out of attempts.
            Permission::new(
                &["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
                [job_runs_arn(region, &self.application_id)],
            ),
        ]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        let app = self.application_id.clone();
        let state = get_application(&emr, &app).await?;
        if !APP_SUCCESS.contains(&state.state.as_str()) {
            ctx.info(&format!("Application state is {}", state.state));
            ctx.info(&format!("Starting application {app}"));
            start_application(&emr, &app).await?;
            let mut started = self.wait.clone();
            started.wait_for_completion = true;
            let (emr_ref, app_ref) = (&emr, app.as_str());
            wait::until_terminal(
                ctx,
                &started,
                &format!("EMR Serverless application {app}"),
                || APP_STARTED.poll(emr_ref, app_ref),
            )
            .await?;
        }
        ctx.info(&format!("Starting job on Application: {app}"));
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("emr_serverless_job_airflow_{}", uuid4()));
        let out = self
            .request
            .clone()
            .name(&name)
            .send_with(&emr)
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("StartJobRun '{name}' on application {app}"),
                    &e,
                )
            })?;
        let job = out.job_run_id().to_owned();
        ctx.info(&format!("EMR serverless job started: {job}"));
        self.started = Some((emr.clone(), job.clone()));
        if self.wait.wait_for_completion || self.wait.deferrable {
            let (emr_ref, app_ref, job_ref) = (&emr, app.as_str(), job.as_str());
            let mut settings = self.wait.clone();
            settings.wait_for_completion = true;
            let waited = wait::until_terminal(
                ctx,
                &settings,
                &format!("EMR Serverless job run {job}"),
                || poll_job(emr_ref, app_ref, job_ref),
            )
            .await;
            if let Err(e) = waited {
                if e.message.contains("Waiter error: max attempts reached") {
                    ctx.info(&format!(
                        "Cancelling EMR Serverless job {job} due to max waiter attempts reached"
                    ));
                    if let Err(c) = cancel(&emr, &app, &job).await {
                        ctx.error(&format!(
                            "Failed to cancel EMR Serverless job {job} after waiter timeout: {c}"
                        ));
                    }
                }
                self.started = None;
                return Err(e);
            }
            if self.wait.deferrable {
                ctx.info("Serverless job completed");
            }
        }
        self.started = None;
        Ok(Outcome::Success(Some(json!(job))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((emr, job)) = self.started.take() else {
            return;
        };
        let app = self.application_id.clone();
        ctx.info(&format!("Stopping job run with jobId - {job}"));
        if let Err(e) = cancel(&emr, &app, &job).await {
            ctx.error(&format!(
                "Unable to request query cancel on EMR Serverless. Exiting ({e})"
            ));
            return;
        }
        ctx.info(&format!(
            "Polling EMR Serverless for query with id {job} to reach final state"
        ));
        // The provider's waiter: every waiter_delay, for waiter_delay * waiter_max_attempts.
        for _ in 0..self.wait.waiter_max_attempts.max(1) {
            match get_job_run(&emr, &app, &job).await {
                Ok(s)
                    if JOB_SUCCESS.contains(&s.state.as_str())
                        || JOB_FAILURE.contains(&s.state.as_str()) =>
                {
                    ctx.info(&format!("Job run {job} is {}", s.state));
                    return;
                }
                Ok(_) => {
                    ctx.info("Waiting for job to be cancelled.");
                    tokio::time::sleep(self.wait.waiter_delay.max(Duration::from_millis(100)))
                        .await;
                }
                Err(e) => {
                    ctx.error(&format!("Unable to read the state of job run {job}: {e}"));
                    return;
                }
            }
        }
        ctx.error("Job still not cancelled after the allocated time limit.");
    }
}

/// CancelJobRun of `job`.
async fn cancel(emr: &Client, app: &str, job: &str) -> Result<(), TaskError> {
    emr.cancel_job_run()
        .application_id(app)
        .job_run_id(job)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| airtask_aws::error::task_error(&format!("CancelJobRun {job}"), &e))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_emrserverless::operation::cancel_job_run::CancelJobRunOutput;
    use aws_sdk_emrserverless::operation::get_job_run::GetJobRunOutput;
    use aws_sdk_emrserverless::primitives::DateTime;
    use aws_sdk_emrserverless::types::{JobDriver, JobRun, JobRunState, SparkSubmit};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::Value;

    use super::*;

    fn build(v: Value) -> Result<EmrServerlessStartJobOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrServerlessStartJobOperator>(&p)
    }

    fn base() -> Value {
        json!({"application_id": "app1", "execution_role_arn": "arn:aws:iam::123456789012:role/r",
            "job_driver": {"sparkSubmit": {"entryPoint": "s3://b/x.py"}},
            "config": {"name": "from-config"}})
    }

    #[test]
    fn name_comes_from_config_and_defaults_follow_the_provider() {
        let op = build(base()).unwrap();
        assert_eq!(op.name.as_deref(), Some("from-config"));
        assert!(op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        let mut v = base();
        v["name"] = json!("own");
        assert_eq!(build(v).unwrap().name.as_deref(), Some("own"));
        let mut v = base();
        v["job_driver"] = json!({});
        assert_eq!(build(v).unwrap_err().param(), Some("job_driver"));
    }

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            if let Ok(mut l) = self.0.lock() {
                l.push(message.to_owned());
            }
        }
    }

    fn run(state: JobRunState) -> GetJobRunOutput {
        GetJobRunOutput::builder()
            .job_run(
                JobRun::builder()
                    .application_id("app1")
                    .job_run_id("jr1")
                    .arn("arn")
                    .created_by("me")
                    .created_at(DateTime::from_secs(0))
                    .updated_at(DateTime::from_secs(0))
                    .execution_role("r")
                    .state(state)
                    .state_details("")
                    .release_label("emr-7.0.0")
                    .job_driver(JobDriver::SparkSubmit(
                        SparkSubmit::builder().entry_point("x").build().unwrap(),
                    ))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[tokio::test(start_paused = true)]
    async fn on_kill_cancels_the_job_and_waits_for_a_terminal_state() {
        let cancel = mock!(Client::cancel_job_run)
            .match_requests(|r| r.job_run_id() == Some("jr1") && r.application_id() == Some("app1"))
            .then_output(|| {
                CancelJobRunOutput::builder()
                    .application_id("app1")
                    .job_run_id("jr1")
                    .build()
                    .unwrap()
            });
        let cancelling = mock!(Client::get_job_run).then_output(|| run(JobRunState::Cancelling));
        let emr = mock_client!(
            aws_sdk_emrserverless,
            RuleMode::Sequential,
            [&cancel, &cancelling]
        );
        let mut op = build(base()).unwrap();
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(&EmrServerlessStartJobOperator::SPEC, "t", 1, lines.clone());
        op.on_kill(&ctx).await;
        assert_eq!(cancel.num_calls(), 0);
        op.started = Some((emr, "jr1".to_owned()));
        op.on_kill(&ctx).await;
        assert_eq!(cancel.num_calls(), 1);
        let lines = lines.0.lock().unwrap();
        assert_eq!(lines[0], "Stopping job run with jobId - jr1");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Job run jr1 is CANCELLING")
        );
    }
}
