//! `GlueJobOperator`: creates (or updates) a Glue job, starts a run, and by default waits for
//! it; XCom is the run id (also pushed under `glue_job_run_id`, as the provider does).

use std::collections::HashMap;
use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::permissions::global_arn;
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_glue::Client;
use serde_json::json;

use crate::job_config::{Command, JobConfig, RunConfig};
use crate::job_logs::JobLogs;
use crate::perms;
use crate::run_state::{self, RunEnd};
use airtask_core::kwargs;

/// Where a local `script_location` is uploaded, under `s3_bucket`.
const ARTIFACTS_PREFIX: &str = "artifacts/glue-scripts/";

/// The provider's `job_poll_interval` default, in seconds.
const JOB_POLL_INTERVAL: f64 = 6.0;

/// The job's execution role.
#[derive(Debug, Clone, PartialEq)]
enum Role {
    Name(String),
    Arn(String),
    Unset,
}

/// A configured `GlueJobOperator`.
#[derive(Debug)]
pub struct GlueJobOperator {
    aws: AwsParams,
    job_name: String,
    job_desc: String,
    script_location: Option<String>,
    concurrent_run_limit: i32,
    script_args: HashMap<String, String>,
    retry_limit: i32,
    num_of_dpus: Option<f64>,
    s3_bucket: Option<String>,
    role: Role,
    create: JobConfig,
    run: RunConfig,
    wait: WaitSettings,
    verbose: bool,
    replace_script_file: bool,
    update_config: bool,
    stop_job_run_on_kill: bool,
    sleep_before_return: f64,
    /// The run started by `execute`, for `on_kill`.
    started: Option<(Client, String)>,
}

impl Operator for GlueJobOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue.GlueJobOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "create_job_kwargs",
            "iam_role_arn",
            "iam_role_name",
            "job_name",
            "region_name",
            "run_job_kwargs",
            "s3_bucket",
            "script_args",
            "script_location",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_name = p
            .str("job_name")?
            .unwrap_or_else(|| "aws_glue_default_job".to_owned());
        let job_desc = p
            .str("job_desc")?
            .unwrap_or_else(|| "AWS Glue Job with Airflow".to_owned());
        let script_location = p.str("script_location")?;
        // The provider's `concurrent_run_limit or 1`: None and 0 mean 1.
        let concurrent_run_limit = p
            .i64("concurrent_run_limit", 0..=i64::from(i32::MAX))?
            .filter(|n| *n > 0)
            .map_or(1, |n| i32::try_from(n).unwrap_or(i32::MAX));
        let script_args: HashMap<String, String> = p
            .str_map("script_args")?
            .unwrap_or_default()
            .into_iter()
            .collect();
        let retry_limit = p
            .i64("retry_limit", 0..=i64::from(i32::MAX))?
            .map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX));
        let num_of_dpus = p.optional_seconds("num_of_dpus").map_err(|_| {
            ParamError::at(
                "num_of_dpus",
                "GlueJobOperator parameter `num_of_dpus` must be a number of DPUs (0.0625, 1, \
                 10, ...)",
            )
        })?;
        let s3_bucket = p.str("s3_bucket")?;
        let role = match (p.str("iam_role_name")?, p.str("iam_role_arn")?) {
            (Some(_), Some(_)) => {
                return Err(ParamError::at(
                    "iam_role_arn",
                    "Cannot set iam_role_arn and iam_role_name simultaneously: GlueJobOperator \
                     takes one of them",
                ));
            }
            (Some(name), None) => Role::Name(name),
            (None, Some(arn)) => Role::Arn(arn),
            (None, None) => Role::Unset,
        };
        let rendered = p.rendered();
        let create = JobConfig::read(kwargs::mapping(p, "create_job_kwargs"), rendered)
            .map_err(|e| kwargs::param_error(p, "create_job_kwargs", e))?;
        let run = RunConfig::read(kwargs::mapping(p, "run_job_kwargs"), rendered)
            .map_err(|e| kwargs::param_error(p, "run_job_kwargs", e))?;
        // The provider's hook checks: WorkerType and NumberOfWorkers go together, and exclude
        // num_of_dpus.
        match (
            create.worker_type.is_some(),
            create.number_of_workers.is_some(),
        ) {
            (true, true) if num_of_dpus.is_some() => {
                return Err(ParamError::new(
                    "Cannot specify num_of_dpus with custom WorkerType (GlueJobOperator: \
                     create_job_kwargs has WorkerType and NumberOfWorkers)",
                ));
            }
            (false, true) => {
                return Err(ParamError::new(
                    "Need to specify custom WorkerType when specifying NumberOfWorkers \
                     (GlueJobOperator create_job_kwargs)",
                ));
            }
            (true, false) => {
                return Err(ParamError::new(
                    "Need to specify NumberOfWorkers when specifying custom WorkerType \
                     (GlueJobOperator create_job_kwargs)",
                ));
            }
            _ => {}
        }
        if script_location
            .as_deref()
            .is_some_and(|s| !s.starts_with("s3://"))
            && s3_bucket.is_none()
            && !p.is_templated(script_location.as_deref().unwrap_or_default())
        {
            return Err(ParamError::new(
                "GlueJobOperator needs `s3_bucket` when `script_location` is a local file: the \
                 script is uploaded to s3://<s3_bucket>/artifacts/glue-scripts/<file name>",
            ));
        }
        let job_poll_interval = p.seconds("job_poll_interval", JOB_POLL_INTERVAL)?;
        let mut wait = WaitSettings::read(p, 60, 75)?;
        if !wait.deferrable {
            // The provider's synchronous wait polls every job_poll_interval with no cap on the
            // number of polls (waiter_delay and waiter_max_attempts are for deferrable).
            wait.waiter_delay = Duration::from_secs_f64(job_poll_interval);
            wait.waiter_max_attempts = u32::MAX;
        }
        let verbose = p.bool("verbose", false)?;
        let replace_script_file = p.bool("replace_script_file", false)?;
        let update_config = p.bool("update_config", false)?;
        let stop_job_run_on_kill = p.bool("stop_job_run_on_kill", false)?;
        let sleep_before_return = p.seconds("sleep_before_return", 0.0)?;
        // Accepted, nothing to do here: OpenLineage is not part of this runtime, and a retry
        // starts a new run (the provider's default).
        p.accept("openlineage_inject_parent_job_info");
        p.accept("openlineage_inject_transport_info");
        p.accept("resume_glue_job_on_retry");
        p.accept("durable");
        Ok(GlueJobOperator {
            aws,
            job_name,
            job_desc,
            script_location,
            concurrent_run_limit,
            script_args,
            retry_limit,
            num_of_dpus,
            s3_bucket,
            role,
            create,
            run,
            wait,
            verbose,
            replace_script_file,
            update_config,
            stop_job_run_on_kill,
            sleep_before_return,
            started: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        ctx.info(&format!(
            "Initializing AWS Glue Job: {}. Wait for completion: {}",
            self.job_name,
            if self.wait.wait_for_completion {
                "True"
            } else {
                "False"
            }
        ));
        let script = self.script_in_s3(ctx).await?;
        let glue = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glue))?;
        self.initialize_job(ctx, &glue, script).await?;
        let mut start = glue
            .start_job_run()
            .job_name(&self.job_name)
            .set_arguments(Some(self.script_args.clone()));
        start = self.run.apply(start);
        let run_id = match start.send().await {
            Ok(out) => out.job_run_id.unwrap_or_default(),
            Err(e) => {
                let err = airtask_aws::error::task_error(
                    &format!("Starting a run of Glue job {}", self.job_name),
                    &e,
                );
                ctx.error(&format!(
                    "Failed to run aws glue job, error: {}",
                    err.message
                ));
                return Err(err);
            }
        };
        self.started = Some((glue.clone(), run_id.clone()));
        let region = glue
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        ctx.xcom_push("glue_job_run_id", json!(run_id));
        ctx.xcom_push(
            "glue_job_run_details",
            json!({
                "region_name": region,
                "aws_domain": "aws.amazon.com",
                "job_name": quote(&self.job_name),
                "job_run_id": run_id,
            }),
        );
        ctx.info(&format!(
            "You can monitor this Glue Job run at: https://console.aws.amazon.com/gluestudio/home?region={region}#/job/{}/run/{run_id}",
            quote(&self.job_name)
        ));
        if !self.wait.wait_for_completion {
            ctx.info(&format!(
                "AWS Glue Job: {}. Run Id: {run_id}",
                self.job_name
            ));
            return Ok(Outcome::Success(Some(json!(run_id))));
        }
        let logs = if self.verbose {
            Some(tokio::sync::Mutex::new(JobLogs::new(
                airtask_aws::client_in(
                    ctx,
                    self.aws.region(),
                    airtask_aws::sdk!(aws_sdk_cloudwatchlogs),
                )?,
            )))
        } else {
            None
        };
        let job_name = self.job_name.as_str();
        let run_id_ref = run_id.as_str();
        let glue_ref = &glue;
        let logs_ref = logs.as_ref();
        let end = wait::until_terminal(
            ctx,
            &self.wait,
            &format!("Glue job run {run_id}"),
            || async move {
                let run = run_state::get(glue_ref, job_name, run_id_ref).await?;
                if let Some(logs) = logs_ref {
                    logs.lock().await.print(ctx, &run).await?;
                }
                Ok(run_state::classify(&run))
            },
        )
        .await?;
        match end {
            RunEnd::Succeeded => {
                ctx.info(&format!("Exiting Job {run_id} Run State: SUCCEEDED"));
            }
            RunEnd::Failed { state, message } => {
                let err = run_state::failure(&run_id, &state, message.as_deref());
                ctx.info(&err.message);
                return Err(err);
            }
        }
        if self.sleep_before_return > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(self.sleep_before_return)).await;
        }
        ctx.info(&format!(
            "AWS Glue Job: {} status: SUCCEEDED. Run Id: {run_id}",
            self.job_name
        ));
        Ok(Outcome::Success(Some(json!(run_id))))
    }

    /// GetJob, then CreateJob for a job that does not exist (UpdateJob too with
    /// `update_config`), StartJobRun; GetJobRun with `wait_for_completion` (and the driver
    /// logs with `verbose`); BatchStopJobRun with `stop_job_run_on_kill`. The job's role:
    /// `iam:PassRole` on it, and `iam:GetRole` for an `iam_role_name`. A local
    /// `script_location` is uploaded to `s3_bucket` (HeadObject first unless
    /// `replace_script_file`).
    fn permissions(&self) -> Vec<Permission> {
        let mut out = Vec::new();
        if let (Some(location), Some(bucket)) =
            (self.script_location.as_deref(), self.s3_bucket.as_deref())
            && !location.starts_with("s3://")
        {
            let name = std::path::Path::new(location)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = global_arn("s3", &format!("{bucket}/{ARTIFACTS_PREFIX}{name}"));
            if !self.replace_script_file {
                out.push(Permission::new(
                    &["s3:ListBucket"],
                    [global_arn("s3", bucket)],
                ));
                out.push(Permission::new(&["s3:GetObject"], [key.clone()]));
            }
            out.push(Permission::new(&["s3:PutObject"], [key]));
        }
        let mut actions = vec!["glue:GetJob", "glue:CreateJob"];
        if self.update_config {
            actions.push("glue:UpdateJob");
        }
        actions.push("glue:StartJobRun");
        if self.wait.wait_for_completion {
            actions.push("glue:GetJobRun");
        }
        if self.stop_job_run_on_kill {
            actions.push("glue:BatchStopJobRun");
        }
        out.push(Permission::new(
            &actions,
            [perms::glue(&self.aws, &format!("job/{}", self.job_name))],
        ));
        match (&self.create.role, &self.role) {
            (Some(role), _) | (None, Role::Arn(role)) => out.push(perms::pass_role(role)),
            (None, Role::Name(name)) => out.push(Permission::new(
                &["iam:GetRole", "iam:PassRole"],
                [perms::role_arn(name)],
            )),
            (None, Role::Unset) => {}
        }
        if self.wait.wait_for_completion && self.verbose {
            out.push(perms::job_logs(&self.aws));
        }
        out
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        if !self.stop_job_run_on_kill {
            return;
        }
        let Some((glue, run_id)) = self.started.as_ref() else {
            return;
        };
        ctx.info(&format!(
            "Stopping AWS Glue Job: {}. Run Id: {run_id}",
            self.job_name
        ));
        match glue
            .batch_stop_job_run()
            .job_name(&self.job_name)
            .job_run_ids(run_id)
            .send()
            .await
        {
            Ok(out) if !out.successful_submissions().is_empty() => {}
            Ok(out) => {
                let why = out
                    .errors()
                    .iter()
                    .filter_map(|e| e.error_detail())
                    .map(|d| {
                        format!(
                            "{}: {}",
                            d.error_code().unwrap_or("error"),
                            d.error_message().unwrap_or_default()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                ctx.error(&format!(
                    "Failed to stop AWS Glue Job: {}. Run Id: {run_id} ({why})",
                    self.job_name
                ));
            }
            Err(e) => {
                let err = airtask_aws::error::task_error("BatchStopJobRun", &e);
                ctx.error(&format!(
                    "Failed to stop AWS Glue Job: {}. Run Id: {run_id} ({})",
                    self.job_name, err.message
                ));
            }
        }
    }
}

impl GlueJobOperator {
    /// The script's S3 location: `script_location` itself, or where a local file was uploaded.
    async fn script_in_s3(&self, ctx: &TaskContext) -> Result<Option<String>, TaskError> {
        let Some(location) = self.script_location.as_deref() else {
            return Ok(None);
        };
        if location.starts_with("s3://") {
            return Ok(Some(location.to_owned()));
        }
        // from_params made sure there is a bucket for a local script.
        let bucket = self.s3_bucket.as_deref().unwrap_or_default();
        let name = std::path::Path::new(location)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                TaskError::fatal(format!(
                    "GlueJobOperator `script_location` '{location}' names no file"
                ))
            })?;
        let key = format!("{ARTIFACTS_PREFIX}{name}");
        let url = format!("s3://{bucket}/{key}");
        let s3 = airtask_aws::client(ctx, airtask_aws::s3_operator_client)?;
        if !self.replace_script_file {
            match s3.head_object().bucket(bucket).key(&key).send().await {
                Ok(_) => {
                    ctx.warning(&format!(
                        "The key {key} already exists in bucket {bucket}; the Glue job runs the \
                         script already there (set replace_script_file: true to upload {location} \
                         again)"
                    ));
                    return Ok(Some(url));
                }
                Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {}
                Err(e) => {
                    return Err(airtask_aws::error::task_error(
                        &format!("Checking for the Glue script at {url}"),
                        &e,
                    ));
                }
            }
        }
        let body = std::fs::read(location).map_err(|e| {
            TaskError::fatal(format!(
                "GlueJobOperator cannot read the local script_location '{location}': {e}"
            ))
        })?;
        s3.put_object()
            .bucket(bucket)
            .key(&key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("Uploading the Glue script to {url}"), &e)
            })?;
        ctx.info(&format!("Uploaded the Glue script {location} to {url}"));
        Ok(Some(url))
    }

    /// The job's definition, as the provider's `create_glue_job_config`.
    async fn config(
        &self,
        ctx: &TaskContext,
        script: Option<String>,
    ) -> Result<JobConfig, TaskError> {
        let mut config = self.create.clone();
        if config.role.is_none() {
            config.role = Some(self.role_arn(ctx).await?);
        }
        config
            .description
            .get_or_insert_with(|| self.job_desc.clone());
        config
            .max_concurrent_runs
            .get_or_insert(self.concurrent_run_limit);
        config.max_retries.get_or_insert(self.retry_limit);
        if config.command.is_none() {
            config.command = Some(Command {
                name: Some("glueetl".to_owned()),
                script_location: script,
                ..Command::default()
            });
        }
        if config.worker_type.is_none() {
            config.max_capacity = Some(self.num_of_dpus.unwrap_or(10.0));
        }
        if let Some(bucket) = &self.s3_bucket {
            config.log_uri = Some(format!("s3://{bucket}/logs/glue-logs/{}", self.job_name));
        }
        Ok(config)
    }

    /// The role's ARN: `iam_role_arn`, or GetRole of `iam_role_name`.
    async fn role_arn(&self, ctx: &TaskContext) -> Result<String, TaskError> {
        match &self.role {
            Role::Arn(arn) => Ok(arn.clone()),
            Role::Unset => Err(TaskError::fatal(format!(
                "GlueJobOperator needs `iam_role_name` or `iam_role_arn` to create or update Glue \
                 job {}: the job's execution role",
                self.job_name
            ))),
            Role::Name(name) => {
                let iam = airtask_aws::client(ctx, airtask_aws::sdk!(aws_sdk_iam))?;
                match iam.get_role().role_name(name).send().await {
                    Ok(out) => {
                        ctx.hook_info(
                            crate::job_logs::HOOK_LOGGER,
                            &format!("Iam Role Name: {name}"),
                        );
                        Ok(out.role.map(|r| r.arn).unwrap_or_default())
                    }
                    Err(e) => {
                        let err = airtask_aws::error::task_error(
                            &format!("Getting the ARN of IAM role {name} (iam_role_name)"),
                            &e,
                        );
                        ctx.error(&format!(
                            "Failed to create aws glue job, error: {}",
                            err.message
                        ));
                        Err(err)
                    }
                }
            }
        }
    }

    /// The provider's `get_or_create_glue_job` / `create_or_update_glue_job`.
    async fn initialize_job(
        &self,
        ctx: &TaskContext,
        glue: &Client,
        script: Option<String>,
    ) -> Result<(), TaskError> {
        ctx.hook_info(
            crate::job_logs::HOOK_LOGGER,
            &format!("Checking if job already exists: {}", self.job_name),
        );
        let exists = match glue.get_job().job_name(&self.job_name).send().await {
            Ok(_) => true,
            Err(e) if airtask_aws::error::code(&e) == Some("EntityNotFoundException") => false,
            Err(e) => {
                return Err(airtask_aws::error::task_error(
                    &format!("GetJob {}", self.job_name),
                    &e,
                ));
            }
        };
        if exists && !self.update_config {
            return Ok(());
        }
        let config = self.config(ctx, script).await?;
        if exists {
            ctx.hook_info(
                crate::job_logs::HOOK_LOGGER,
                &format!("Updating job: {}", self.job_name),
            );
            glue.update_job()
                .job_name(&self.job_name)
                .job_update(config.update())
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("Updating Glue job {}", self.job_name),
                        &e,
                    )
                })?;
        } else {
            ctx.hook_info(
                crate::job_logs::HOOK_LOGGER,
                &format!("Creating job: {}", self.job_name),
            );
            config
                .create(glue.create_job().name(&self.job_name))
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("Creating Glue job {}", self.job_name),
                        &e,
                    )
                })?;
        }
        Ok(())
    }
}

/// Python's `urllib.parse.quote(s, safe="")`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params};
    use aws_sdk_glue::operation::batch_stop_job_run::BatchStopJobRunOutput;
    use aws_sdk_glue::types::{
        BatchStopJobRunError, BatchStopJobRunSuccessfulSubmission, ErrorDetail,
    };
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    /// The log lines of a try.
    struct Lines(Mutex<Vec<(Level, String)>>);

    impl LogSink for Lines {
        fn line(&self, level: Level, _logger: &str, message: &str) {
            self.0
                .lock()
                .expect("the lines")
                .push((level, message.to_owned()));
        }
    }

    fn operator(params: serde_json::Value) -> GlueJobOperator {
        let params: Params = serde_json::from_value(params).expect("an object");
        let mut p = ParamReader::new("GlueJobOperator", &params);
        GlueJobOperator::from_params(&mut p).expect("valid parameters")
    }

    fn new_ctx() -> (TaskContext, Arc<Lines>) {
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(&GlueJobOperator::SPEC, "run_job", 1, lines.clone());
        (ctx, lines)
    }

    #[tokio::test]
    async fn on_kill_stops_the_run_and_reports_a_stop_glue_refused() {
        let refused = mock!(Client::batch_stop_job_run)
            .match_requests(|r| r.job_name() == Some("etl") && r.job_run_ids() == ["jr_1"])
            .then_output(|| {
                BatchStopJobRunOutput::builder()
                    .errors(
                        BatchStopJobRunError::builder()
                            .job_name("etl")
                            .job_run_id("jr_1")
                            .error_detail(
                                ErrorDetail::builder()
                                    .error_code("InvalidInputException")
                                    .error_message("the run has finished")
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            });
        let glue = mock_client!(aws_sdk_glue, [&refused]);
        let mut op = operator(serde_json::json!({"job_name": "etl", "stop_job_run_on_kill": true}));
        op.started = Some((glue, "jr_1".to_owned()));
        let (ctx, lines) = new_ctx();
        op.on_kill(&ctx).await;
        assert_eq!(refused.num_calls(), 1);
        let lines = lines.0.lock().expect("the lines").clone();
        assert!(
            lines.contains(&(
                Level::Info,
                "Stopping AWS Glue Job: etl. Run Id: jr_1".to_owned()
            )),
            "{lines:?}"
        );
        assert!(
            lines.contains(&(
                Level::Error,
                "Failed to stop AWS Glue Job: etl. Run Id: jr_1 (InvalidInputException: the run \
                 has finished)"
                    .to_owned()
            )),
            "{lines:?}"
        );

        let stopped = mock!(Client::batch_stop_job_run).then_output(|| {
            BatchStopJobRunOutput::builder()
                .successful_submissions(
                    BatchStopJobRunSuccessfulSubmission::builder()
                        .job_name("etl")
                        .job_run_id("jr_2")
                        .build(),
                )
                .build()
        });
        let glue = mock_client!(aws_sdk_glue, [&stopped]);
        op.started = Some((glue, "jr_2".to_owned()));
        let (ctx, lines) = new_ctx();
        op.on_kill(&ctx).await;
        assert_eq!(stopped.num_calls(), 1);
        let lines = lines.0.lock().expect("the lines").clone();
        assert!(lines.iter().all(|(l, _)| *l != Level::Error), "{lines:?}");
    }

    #[tokio::test]
    async fn on_kill_leaves_the_run_alone_unless_asked() {
        let stop = mock!(Client::batch_stop_job_run)
            .then_output(|| BatchStopJobRunOutput::builder().build());
        let glue = mock_client!(aws_sdk_glue, [&stop]);
        let mut op = operator(serde_json::json!({"job_name": "etl"}));
        op.started = Some((glue, "jr_1".to_owned()));
        let (ctx, _) = new_ctx();
        op.on_kill(&ctx).await;
        assert_eq!(
            stop.num_calls(),
            0,
            "stop_job_run_on_kill is false by default"
        );
    }

    #[test]
    fn the_synchronous_wait_polls_every_job_poll_interval_and_deferrable_the_waiter() {
        let op = operator(serde_json::json!({"job_poll_interval": 2}));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(2));
        assert_eq!(op.wait.waiter_max_attempts, u32::MAX);
        let op = operator(serde_json::json!({"deferrable": true, "job_poll_interval": 2}));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.wait.waiter_max_attempts, 75);
    }

    #[test]
    fn unrendered_templates_pass_validation_where_a_number_is_expected() {
        let params: Params = serde_json::from_value(serde_json::json!({
            "create_job_kwargs": {"Timeout": "{{ params.timeout }}", "GlueVersion": "4.0"},
            "run_job_kwargs": "{{ params.run_kwargs }}",
            "script_location": "{{ params.script }}"
        }))
        .expect("an object");
        let mut p = ParamReader::unrendered("GlueJobOperator", &params);
        assert!(GlueJobOperator::from_params(&mut p).is_ok());
        let mut p = ParamReader::new("GlueJobOperator", &params);
        let e = GlueJobOperator::from_params(&mut p).expect_err("rendered, they must fit");
        assert!(
            e.message().contains("create_job_kwargs.Timeout"),
            "{}",
            e.message()
        );
    }

    #[test]
    fn quote_is_pythons_with_nothing_safe() {
        assert_eq!(quote("my job/é"), "my%20job%2F%C3%A9");
        assert_eq!(quote("a-b_c.d~e"), "a-b_c.d~e");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::GlueJobOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<GlueJobOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn waiting_and_verbose_add_the_run_and_its_logs() {
        assert_eq!(
            perms(json!({
                "job_name": "etl", "script_location": "s3://b/etl.py",
                "iam_role_name": "glue-role", "verbose": true,
            })),
            [
                Permission::new(
                    &[
                        "glue:GetJob",
                        "glue:CreateJob",
                        "glue:StartJobRun",
                        "glue:GetJobRun"
                    ],
                    ["arn:aws:glue:{region}:{account}:job/etl"]
                ),
                Permission::new(
                    &["iam:GetRole", "iam:PassRole"],
                    ["arn:aws:iam::{account}:role/glue-role"]
                ),
                Permission::new(
                    &["logs:FilterLogEvents"],
                    ["arn:aws:logs:{region}:{account}:log-group:/aws-glue/jobs*"]
                ),
            ]
        );
    }

    #[test]
    fn without_waiting_only_the_job_is_started_and_a_local_script_uploaded() {
        assert_eq!(
            perms(json!({
                "job_name": "etl", "script_location": "/dags/etl.py", "s3_bucket": "art",
                "iam_role_arn": "arn:aws:iam::1:role/r", "wait_for_completion": false,
                "update_config": true, "replace_script_file": true, "region_name": "eu-west-1",
            })),
            [
                Permission::new(
                    &["s3:PutObject"],
                    ["arn:aws:s3:::art/artifacts/glue-scripts/etl.py"]
                ),
                Permission::new(
                    &[
                        "glue:GetJob",
                        "glue:CreateJob",
                        "glue:UpdateJob",
                        "glue:StartJobRun"
                    ],
                    ["arn:aws:glue:eu-west-1:{account}:job/etl"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
            ]
        );
    }
}
