//! The job operators: `SageMakerTrainingOperator`, `SageMakerProcessingOperator`,
//! `SageMakerTransformOperator` and `SageMakerTuningOperator`. Each takes the boto3 request as
//! `config`, creates the job, waits as the provider's hook does (`check_status`, or for
//! training with `print_log` the log-tailing loop), and returns the describe answer under the
//! provider's key (`{"Training": ...}`). `deferrable` runs the provider's trigger wait in the
//! process (its waiter: Failed and Stopped fail, `max_attempts` polls).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sagemaker::Client;
use serde_json::{Map, Value, json};

use crate::config::{self, name_of};
use crate::hook::{
    self, CheckStatus, FAILED_OR_STOPPED, HOOK, Kind, NON_TERMINAL, failure_reason, text,
};
use crate::training_logs::{self, Tail};
use crate::wire::call;

/// The waiting parameters every job operator takes.
#[derive(Debug, Clone)]
pub(crate) struct JobWait {
    pub(crate) wait_for_completion: bool,
    pub(crate) check_interval: Duration,
    pub(crate) max_attempts: u32,
    pub(crate) max_ingestion_time: Option<f64>,
    pub(crate) deferrable: bool,
}

impl JobWait {
    fn read(p: &mut ParamReader<'_>, with_attempts: bool) -> Result<JobWait, ParamError> {
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let check_interval = hook::check_interval(p)?;
        let max_attempts = if with_attempts {
            p.u32("max_attempts", 0..=u32::MAX)?
                .filter(|n| *n > 0)
                .unwrap_or(60)
        } else {
            60
        };
        let max_ingestion_time = hook::max_ingestion_time(p)?;
        let deferrable = p.bool("deferrable", false)?;
        Ok(JobWait {
            wait_for_completion,
            check_interval,
            max_attempts,
            max_ingestion_time,
            deferrable,
        })
    }

    /// What the hook is asked to wait for: the deferrable run waits after the hook.
    fn hook_waits(&self) -> bool {
        self.wait_for_completion && !self.deferrable
    }

    fn check<'a>(&self, name: &'a str) -> CheckStatus<'a> {
        CheckStatus {
            name,
            check_interval: self.check_interval,
            max_ingestion_time: self.max_ingestion_time,
            non_terminal: NON_TERMINAL,
        }
    }

    fn warn_deferrable(&self, ctx: &TaskContext) {
        if self.deferrable && !self.wait_for_completion {
            ctx.warning(
                "Setting deferrable to True does not have effect when wait_for_completion is set \
                 to False.",
            );
        }
    }
}

/// The trigger's wait (`SageMakerTrigger`: the provider's `<Kind>JobComplete` waiter): every
/// `check_interval` seconds, `max_attempts` polls (cut to `max_ingestion_time`); Completed is
/// done, Failed and Stopped fail the task.
async fn trigger_wait(
    ctx: &TaskContext,
    sm: &Client,
    kind: Kind,
    name: &str,
    w: &JobWait,
) -> Result<(), TaskError> {
    let mut attempts = w.max_attempts.max(1);
    if let Some(max) = w.max_ingestion_time {
        let delay = w.check_interval.as_secs_f64().max(0.001);
        attempts = attempts.min(((max / delay).ceil() as u32).max(1));
    }
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: w.check_interval,
        waiter_max_attempts: attempts,
        deferrable: true,
    };
    let key = kind.status_key();
    let job = match kind {
        Kind::Tuning => "tuning",
        Kind::Processing => "Processing",
        Kind::Transform => "Transform",
        _ => "Training",
    };
    wait::until_terminal(
        ctx,
        &settings,
        &format!("SageMaker {job} job {name}"),
        || async move {
            let d = hook::describe(sm, kind, name).await?;
            let status = text(&d, key).to_owned();
            if status == "Completed" {
                Ok(Poll::Done(()))
            } else if FAILED_OR_STOPPED.contains(&status.as_str()) {
                Err(TaskError::retryable(format!(
                    "Error while running job: {{'status': 'error', 'message': 'SageMaker {job} job \
                 {name} is {status}: {}'}}",
                    failure_reason(&d)
                )))
            } else {
                Ok(Poll::Pending { state: status })
            }
        },
    )
    .await
}

/// The roles a request passes (for iam:PassRole) at `pointers`.
fn roles(v: Option<&Value>, pointers: &[&str]) -> Vec<String> {
    let Some(v) = v else {
        return Vec::new();
    };
    pointers
        .iter()
        .filter_map(|p| v.pointer(p))
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Sets `key` of `v` (a mapping) to `value`.
fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.to_owned(), value);
    }
}

/// Expands the role at `key` of `v` (`expand_role`).
async fn expand_at(
    ctx: &TaskContext,
    aws: &AwsParams,
    v: &mut Value,
    key: &str,
) -> Result<(), TaskError> {
    if let Some(role) = v.get(key).and_then(Value::as_str).map(str::to_owned) {
        let arn = hook::expand_role(ctx, aws, &role).await?;
        set(v, key, Value::String(arn));
    }
    Ok(())
}

/// Logs the config after preprocessing, as the provider does.
fn log_config(ctx: &TaskContext, config: &Value) {
    ctx.info(&format!(
        "After preprocessing the config is:\n {}",
        serde_json::to_string_pretty(config).unwrap_or_default()
    ));
}

/// The template fields of the config-based operators (`aws_template_fields("config")`).
const CONFIG_FIELDS: &[&str] = &["aws_conn_id", "config", "region_name", "verify"];

/// Whether the request has tags (which need sagemaker:AddTags).
fn tags(v: &Value) -> bool {
    v.get("Tags")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty())
}

// ---------------------------------------------------------------------------------------------

/// A configured `SageMakerTrainingOperator`.
#[derive(Debug)]
pub struct SageMakerTrainingOperator {
    aws: AwsParams,
    config: Value,
    wait: JobWait,
    print_log: bool,
    check_if_job_exists: bool,
    fail_if_exists: bool,
}

impl Operator for SageMakerTrainingOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerTrainingOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_training.SageMakerTrainingOperator",
        ],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let config = match config::read(p)? {
            Some(m) => config::check(p, "CreateTrainingJob", "config", &Value::Object(m))?,
            None => Value::Object(Map::new()),
        };
        Ok(SageMakerTrainingOperator {
            aws,
            config,
            print_log: p.bool("print_log", true)?,
            check_if_job_exists: p.bool("check_if_job_exists", true)?,
            fail_if_exists: hook::fail_if_exists(p, "action_if_job_exists")?,
            wait: JobWait::read(p, true)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let name = name_of(&self.config, "TrainingJobName");
        let job = format!("{}*", Kind::Training.arn(region, &name));
        let mut actions = vec![
            "sagemaker:CreateTrainingJob",
            Kind::Training.describe_action(),
        ];
        if tags(&self.config) {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(&actions, [job])];
        out.extend(hook::pass_role(&roles(Some(&self.config), &["/RoleArn"])));
        out.extend(hook::s3_check_permissions(&hook::s3_channels(
            self.config.get("InputDataConfig"),
        )));
        if self.print_log {
            out.push(training_logs::permissions(region));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let mut config = self.config.clone();
        expand_at(ctx, &self.aws, &mut config, "RoleArn").await?;
        log_config(ctx, &config);
        let mut name = name_of(&config, "TrainingJobName");
        if self.check_if_job_exists {
            name = hook::unique_name(ctx, &sm, Kind::Training, &name, self.fail_if_exists, "job")
                .await?;
            set(&mut config, "TrainingJobName", json!(name));
        }
        ctx.info(&format!("Creating SageMaker training job {name}."));
        self.wait.warn_deferrable(ctx);
        for url in hook::s3_channels(config.get("InputDataConfig")) {
            hook::check_s3_url(ctx, &self.aws, &url).await?;
        }
        call!(sm.create_training_job(), Some(&config))
            .map_err(|e| hook::failed(&format!("CreateTrainingJob {name}"), &e))?;
        let waits = self.wait.hook_waits();
        if self.print_log {
            self.status_with_log(ctx, &sm, &name, waits).await?;
        } else if waits {
            let d = hook::check_status(
                ctx,
                &self.wait.check(&name),
                Kind::Training.status_key(),
                || hook::describe(&sm, Kind::Training, &name),
            )
            .await?;
            if let Some(s) = training_logs::billable_seconds(&d) {
                ctx.hook_info(HOOK, &format!("Billable seconds: {s}"));
            }
        }
        if self.wait.deferrable && self.wait.wait_for_completion {
            let d = hook::describe(&sm, Kind::Training, &name).await?;
            let status = text(&d, "TrainingJobStatus");
            if FAILED_OR_STOPPED.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "SageMaker job failed because {}",
                    failure_reason(&d)
                )));
            }
            if status == "Completed" {
                ctx.info(&format!("{} completed successfully.", ctx.task_id()));
                return Ok(Outcome::Success(Some(json!({"Training": d}))));
            }
            trigger_wait(ctx, &sm, Kind::Training, &name, &self.wait).await?;
            ctx.info(&format!("SageMaker job {name} completed."));
        }
        let d = hook::describe(&sm, Kind::Training, &name).await?;
        Ok(Outcome::Success(Some(json!({"Training": d}))))
    }
}

impl SageMakerTrainingOperator {
    /// `check_training_status_with_log`: print the job's logs every `check_interval`; with
    /// `wait`, describe the job every 30 s (as the provider) until it is terminal, read the logs
    /// once more, then fail on Failed or Stopped.
    async fn status_with_log(
        &self,
        ctx: &TaskContext,
        sm: &Client,
        name: &str,
        wait: bool,
    ) -> Result<(), TaskError> {
        #[derive(PartialEq)]
        enum State {
            Tailing,
            JobComplete,
            Complete,
        }
        let mut last = hook::describe(sm, Kind::Training, name).await?;
        let msg = training_logs::secondary_status_message(&last, None);
        ctx.hook_info(HOOK, &msg);
        let instances = last
            .pointer("/ResourceConfig/InstanceCount")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let done = !NON_TERMINAL.contains(&text(&last, "TrainingJobStatus"));
        let mut state = if wait && !done {
            State::Tailing
        } else {
            State::Complete
        };
        let mut tail = Tail::new(ctx, &self.aws, name)?;
        let mut last_describe = tokio::time::Instant::now();
        let mut sec = 0.0;
        loop {
            let mut delay = self.wait.check_interval;
            if let Some(left) = ctx.time_budget() {
                delay = delay.min(left);
            }
            tokio::time::sleep(delay).await;
            sec += self.wait.check_interval.as_secs_f64();
            tail.print(ctx, instances).await?;
            match state {
                State::Complete => break,
                State::JobComplete => state = State::Complete,
                State::Tailing => {
                    if last_describe.elapsed() >= Duration::from_secs(30) {
                        let d = hook::describe(sm, Kind::Training, name).await?;
                        last_describe = tokio::time::Instant::now();
                        if training_logs::secondary_status_changed(&d, &last) {
                            ctx.hook_info(
                                HOOK,
                                &training_logs::secondary_status_message(&d, Some(&last)),
                            );
                        }
                        if !NON_TERMINAL.contains(&text(&d, "TrainingJobStatus")) {
                            state = State::JobComplete;
                        }
                        last = d;
                    }
                }
            }
            if state == State::Complete {
                tail.print(ctx, instances).await?;
                break;
            }
            if let Some(max) = self.wait.max_ingestion_time
                && max > 0.0
                && sec > max
            {
                return Err(TaskError::retryable(format!(
                    "SageMaker job took more than {} seconds",
                    hook::seconds(max)
                )));
            }
        }
        if wait {
            let status = text(&last, "TrainingJobStatus");
            if FAILED_OR_STOPPED.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "Error training {name}: {status} Reason: {}",
                    failure_reason(&last)
                )));
            }
            if let Some(s) = training_logs::billable_seconds(&last) {
                ctx.hook_info(HOOK, &format!("Billable seconds: {s}"));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------

/// One entry of `output_files_to_xcom`.
#[derive(Debug, Clone)]
struct OutputFile {
    output_name: String,
    file_name: String,
    result_name: String,
}

/// A configured `SageMakerProcessingOperator`.
#[derive(Debug)]
pub struct SageMakerProcessingOperator {
    aws: AwsParams,
    config: Value,
    wait: JobWait,
    fail_if_exists: bool,
    output_files: Vec<OutputFile>,
}

fn output_files(p: &mut ParamReader<'_>) -> Result<Vec<OutputFile>, ParamError> {
    let Some(items) = p.list("output_files_to_xcom")? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let get = |k: &str| item.get(k).and_then(Value::as_str).map(str::to_owned);
        match (get("output_name"), get("file_name"), get("result_name")) {
            (Some(output_name), Some(file_name), Some(result_name)) => out.push(OutputFile {
                output_name,
                file_name,
                result_name,
            }),
            _ if !p.rendered() && airtask_core::params::holds_template(item) => {}
            _ => {
                return Err(ParamError::at(
                    "output_files_to_xcom",
                    format!(
                        "{} parameter `output_files_to_xcom[{i}]` must be a mapping with the \
                         strings 'result_name', 'output_name', and 'file_name', not {item}",
                        p.operator()
                    ),
                ));
            }
        }
    }
    Ok(out)
}

impl Operator for SageMakerProcessingOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerProcessingOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_processing.SageMakerProcessingOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "config",
            "region_name",
            "verify",
            "output_files_to_xcom",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let config = match config::read(p)? {
            Some(m) => config::check(p, "CreateProcessingJob", "config", &Value::Object(m))?,
            None => Value::Object(Map::new()),
        };
        p.accept("print_log");
        let op = SageMakerProcessingOperator {
            aws,
            config,
            fail_if_exists: hook::fail_if_exists(p, "action_if_job_exists")?,
            output_files: output_files(p)?,
            wait: JobWait::read(p, true)?,
        };
        Ok(op)
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let name = name_of(&self.config, "ProcessingJobName");
        let job = format!("{}*", Kind::Processing.arn(region, &name));
        let mut actions = vec![
            "sagemaker:CreateProcessingJob",
            Kind::Processing.describe_action(),
        ];
        if tags(&self.config) {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(&actions, [job])];
        out.extend(hook::pass_role(&roles(Some(&self.config), &["/RoleArn"])));
        if !self.output_files.is_empty() {
            let outputs = self.output_files.iter().filter_map(|f| {
                self.output_uri(&f.output_name)
                    .map(|u| object_arn(&format!("{}/{}", u.trim_end_matches('/'), f.file_name)))
            });
            out.push(Permission::new(&["s3:GetObject"], outputs));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        if !self.output_files.is_empty() && !self.wait.wait_for_completion {
            return Err(TaskError::fatal(
                "output_files_to_xcom requires wait_for_completion=True. Output files cannot be \
                 read before the job completes.",
            ));
        }
        let sm = hook::client(ctx, &self.aws)?;
        let mut config = self.config.clone();
        expand_at(ctx, &self.aws, &mut config, "RoleArn").await?;
        log_config(ctx, &config);
        let name = hook::unique_name(
            ctx,
            &sm,
            Kind::Processing,
            &name_of(&config, "ProcessingJobName"),
            self.fail_if_exists,
            "job",
        )
        .await?;
        set(&mut config, "ProcessingJobName", json!(name));
        self.wait.warn_deferrable(ctx);
        call!(sm.create_processing_job(), Some(&config))
            .map_err(|e| hook::failed(&format!("CreateProcessingJob {name}"), &e))?;
        if self.wait.hook_waits() {
            hook::check_status(
                ctx,
                &self.wait.check(&name),
                Kind::Processing.status_key(),
                || hook::describe(&sm, Kind::Processing, &name),
            )
            .await?;
        }
        if self.wait.deferrable && self.wait.wait_for_completion {
            let d = hook::describe(&sm, Kind::Processing, &name).await?;
            let status = text(&d, "ProcessingJobStatus");
            if FAILED_OR_STOPPED.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "SageMaker job failed because {}",
                    failure_reason(&d)
                )));
            }
            if status != "Completed" {
                trigger_wait(ctx, &sm, Kind::Processing, &name, &self.wait).await?;
                ctx.info(&format!("SageMaker job {name} completed."));
            } else {
                ctx.info(&format!("{} completed successfully.", ctx.task_id()));
            }
        }
        let d = hook::describe(&sm, Kind::Processing, &name).await?;
        let mut result = json!({"Processing": d});
        if let Some(files) = self.read_output_files(ctx).await? {
            set(&mut result, "OutputFiles", files);
        }
        Ok(Outcome::Success(Some(result)))
    }
}

/// The S3 object ARN of an s3:// URL.
fn object_arn(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    if airtask_core::params::is_template(url) {
        "arn:aws:s3:::*".to_owned()
    } else {
        format!("arn:aws:s3:::{rest}")
    }
}

impl SageMakerProcessingOperator {
    /// The S3 URI of the processing output `name`.
    fn output_uri(&self, name: &str) -> Option<String> {
        self.config
            .pointer("/ProcessingOutputConfig/Outputs")
            .and_then(Value::as_array)?
            .iter()
            .find(|o| o.get("OutputName").and_then(Value::as_str) == Some(name))?
            .pointer("/S3Output/S3Uri")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    /// `_read_output_files`: the JSON of each configured output file, by its result name; a
    /// missing or unreadable file gives `{"_error": ...}`, an unknown output is skipped.
    async fn read_output_files(&self, ctx: &TaskContext) -> Result<Option<Value>, TaskError> {
        if self.output_files.is_empty() {
            return Ok(None);
        }
        let s3 = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::s3_operator_client)?;
        let mut data = Map::new();
        for f in &self.output_files {
            let Some(uri) = self.output_uri(&f.output_name) else {
                ctx.warning(&format!(
                    "output_files_to_xcom '{}': no matching output '{}' found.",
                    f.result_name, f.output_name
                ));
                continue;
            };
            let full = format!("{}/{}", uri.trim_end_matches('/'), f.file_name);
            let rest = full.trim_start_matches("s3://");
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            let value = match s3.get_object().bucket(bucket).key(key).send().await {
                Ok(out) => match out.body.collect().await {
                    Ok(bytes) => match serde_json::from_slice::<Value>(&bytes.into_bytes()) {
                        Ok(v) => {
                            ctx.info(&format!(
                                "Output file '{}' loaded from {full}",
                                f.result_name
                            ));
                            v
                        }
                        Err(e) => {
                            ctx.error(&format!(
                                "Output file '{}' at {full} is not valid JSON: {e}",
                                f.result_name
                            ));
                            json!({"_error": format!("Invalid JSON at {full}")})
                        }
                    },
                    Err(_) => json!({"_error": format!("Failed to read from {full}")}),
                },
                Err(e) if airtask_aws::error::code(&e) == Some("NoSuchKey") => {
                    ctx.warning(&format!(
                        "Output file '{}' not found at {full}",
                        f.result_name
                    ));
                    json!({"_error": format!("File not found: {full}")})
                }
                Err(e) => {
                    ctx.error(&format!(
                        "Failed to read output file '{}' from {full}: {}",
                        f.result_name,
                        airtask_aws::error::text(&e)
                    ));
                    json!({"_error": format!("Failed to read from {full}")})
                }
            };
            data.insert(f.result_name.clone(), value);
        }
        Ok((!data.is_empty()).then_some(Value::Object(data)))
    }
}

// ---------------------------------------------------------------------------------------------

/// A configured `SageMakerTransformOperator`.
#[derive(Debug)]
pub struct SageMakerTransformOperator {
    aws: AwsParams,
    /// The CreateModel request, when the config has one.
    model: Option<Value>,
    /// The CreateTransformJob request.
    transform: Value,
    wait: JobWait,
    check_if_job_exists: bool,
    fail_if_job_exists: bool,
    check_if_model_exists: bool,
    fail_if_model_exists: bool,
}

impl Operator for SageMakerTransformOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerTransformOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_transform.SageMakerTransformOperator",
        ],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let (model, transform) = match config::read(p)? {
            None => (None, Value::Object(Map::new())),
            Some(m) if m.contains_key("Transform") || m.contains_key("Model") => {
                let mut rest = m.clone();
                let model = rest.remove("Model");
                let Some(transform) = rest.remove("Transform") else {
                    return Err(ParamError::at(
                        "config",
                        format!(
                            "{} parameter `config` has `Model` but no `Transform`: write \
                             {{Model: <CreateModel request>, Transform: <CreateTransformJob \
                             request>}}, or the CreateTransformJob request alone",
                            p.operator()
                        ),
                    ));
                };
                if let Some(k) = rest.keys().next() {
                    return Err(ParamError::at(
                        "config",
                        format!(
                            "{} parameter `config.{k}` is not allowed beside Model and Transform",
                            p.operator()
                        ),
                    ));
                }
                let model = model
                    .map(|m| config::check(p, "CreateModel", "config.Model", &m))
                    .transpose()?;
                let transform =
                    config::check(p, "CreateTransformJob", "config.Transform", &transform)?;
                (model, transform)
            }
            Some(m) => (
                None,
                config::check(p, "CreateTransformJob", "config", &Value::Object(m))?,
            ),
        };
        Ok(SageMakerTransformOperator {
            aws,
            model,
            transform,
            check_if_job_exists: p.bool("check_if_job_exists", true)?,
            fail_if_job_exists: hook::fail_if_exists(p, "action_if_job_exists")?,
            check_if_model_exists: p.bool("check_if_model_exists", true)?,
            fail_if_model_exists: hook::fail_if_exists(p, "action_if_model_exists")?,
            wait: JobWait::read(p, true)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let name = name_of(&self.transform, "TransformJobName");
        let mut actions = vec![
            "sagemaker:CreateTransformJob",
            Kind::Transform.describe_action(),
        ];
        if tags(&self.transform) {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(
            &actions,
            [format!("{}*", Kind::Transform.arn(region, &name))],
        )];
        let model_name = self
            .model
            .as_ref()
            .map(|m| name_of(m, "ModelName"))
            .unwrap_or_else(|| name_of(&self.transform, "ModelName"));
        let mut model_actions = vec![Kind::Model.describe_action()];
        if let Some(m) = &self.model {
            model_actions.push("sagemaker:CreateModel");
            if tags(m) {
                model_actions.push("sagemaker:AddTags");
            }
        }
        // The final describe reads the model the job names, which the config may not name.
        out.push(Permission::new(
            &model_actions,
            [format!("{}*", Kind::Model.arn(region, &model_name))],
        ));
        out.extend(hook::pass_role(&roles(
            self.model.as_ref(),
            &["/ExecutionRoleArn"],
        )));
        let input: Vec<String> = self
            .transform
            .pointer("/TransformInput/DataSource/S3DataSource/S3Uri")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .into_iter()
            .collect();
        out.extend(hook::s3_check_permissions(&input));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let mut transform = self.transform.clone();
        let mut model = self.model.clone();
        if let Some(m) = model.as_mut() {
            expand_at(ctx, &self.aws, m, "ExecutionRoleArn").await?;
        }
        let mut shown = json!({"Transform": transform});
        if let Some(m) = &model {
            set(&mut shown, "Model", m.clone());
        }
        log_config(ctx, &shown);
        let mut name = name_of(&transform, "TransformJobName");
        if self.check_if_job_exists {
            name = hook::unique_name(
                ctx,
                &sm,
                Kind::Transform,
                &name,
                self.fail_if_job_exists,
                "job",
            )
            .await?;
            set(&mut transform, "TransformJobName", json!(name));
        }
        if let Some(m) = model.as_mut() {
            let mut model_name = name_of(m, "ModelName");
            if self.check_if_model_exists {
                model_name = hook::unique_name(
                    ctx,
                    &sm,
                    Kind::Model,
                    &model_name,
                    self.fail_if_model_exists,
                    "model",
                )
                .await?;
                set(m, "ModelName", json!(model_name));
                if transform.get("ModelName").is_some() {
                    set(&mut transform, "ModelName", json!(model_name));
                }
            }
            ctx.info(&format!(
                "Creating SageMaker Model {model_name} for transform job"
            ));
            call!(sm.create_model(), Some(&*m))
                .map_err(|e| hook::failed(&format!("CreateModel {model_name}"), &e))?;
        }
        ctx.info(&format!("Creating SageMaker transform Job {name}."));
        self.wait.warn_deferrable(ctx);
        if let Some(url) = transform
            .pointer("/TransformInput/DataSource/S3DataSource/S3Uri")
            .and_then(Value::as_str)
        {
            hook::check_s3_url(ctx, &self.aws, url).await?;
        }
        call!(sm.create_transform_job(), Some(&transform))
            .map_err(|e| hook::failed(&format!("CreateTransformJob {name}"), &e))?;
        let region = self.aws.region().unwrap_or("us-east-1");
        ctx.info(&format!(
            "You can monitor this SageMaker Transform job at https://console.aws.amazon.com/sagemaker/home?region={region}#/transform-jobs/{name}"
        ));
        if self.wait.hook_waits() {
            hook::check_status(
                ctx,
                &self.wait.check(&name),
                Kind::Transform.status_key(),
                || hook::describe(&sm, Kind::Transform, &name),
            )
            .await?;
        }
        if self.wait.deferrable && self.wait.wait_for_completion {
            let d = hook::describe(&sm, Kind::Transform, &name).await?;
            let status = text(&d, "TransformJobStatus");
            if hook::FAILED.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "SageMaker job failed because {}",
                    failure_reason(&d)
                )));
            }
            if status != "Completed" {
                trigger_wait(ctx, &sm, Kind::Transform, &name, &self.wait).await?;
            }
        }
        let job = hook::describe(&sm, Kind::Transform, &name).await?;
        let model = hook::describe(&sm, Kind::Model, text(&job, "ModelName")).await?;
        Ok(Outcome::Success(Some(
            json!({"Model": model, "Transform": job}),
        )))
    }
}

// ---------------------------------------------------------------------------------------------

/// A configured `SageMakerTuningOperator`.
#[derive(Debug)]
pub struct SageMakerTuningOperator {
    aws: AwsParams,
    config: Value,
    wait: JobWait,
}

impl Operator for SageMakerTuningOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerTuningOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.sagemaker_tuning.SageMakerTuningOperator",
        ],
        template_fields: CONFIG_FIELDS,
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let config = match config::read(p)? {
            Some(m) => config::check(
                p,
                "CreateHyperParameterTuningJob",
                "config",
                &Value::Object(m),
            )?,
            None => Value::Object(Map::new()),
        };
        Ok(SageMakerTuningOperator {
            aws,
            config,
            wait: JobWait::read(p, false)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let name = name_of(&self.config, "HyperParameterTuningJobName");
        let mut actions = vec![
            "sagemaker:CreateHyperParameterTuningJob",
            Kind::Tuning.describe_action(),
        ];
        if tags(&self.config) {
            actions.push("sagemaker:AddTags");
        }
        let mut out = vec![Permission::new(&actions, [Kind::Tuning.arn(region, &name)])];
        // One training definition, or several (TrainingJobDefinitions), each with its role.
        let mut passed = roles(Some(&self.config), &["/TrainingJobDefinition/RoleArn"]);
        if let Some(defs) = self
            .config
            .get("TrainingJobDefinitions")
            .and_then(Value::as_array)
        {
            passed.extend(defs.iter().flat_map(|d| roles(Some(d), &["/RoleArn"])));
        }
        out.extend(hook::pass_role(&passed));
        out.extend(hook::s3_check_permissions(&hook::s3_channels(
            self.config
                .pointer("/TrainingJobDefinition/InputDataConfig"),
        )));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let mut config = self.config.clone();
        if let Some(def) = config.get_mut("TrainingJobDefinition") {
            expand_at(ctx, &self.aws, def, "RoleArn").await?;
        }
        log_config(ctx, &config);
        let name = name_of(&config, "HyperParameterTuningJobName");
        ctx.info(&format!(
            "Creating SageMaker Hyper-Parameter Tuning Job {name}"
        ));
        for url in hook::s3_channels(config.pointer("/TrainingJobDefinition/InputDataConfig")) {
            hook::check_s3_url(ctx, &self.aws, &url).await?;
        }
        call!(sm.create_hyper_parameter_tuning_job(), Some(&config))
            .map_err(|e| hook::failed(&format!("CreateHyperParameterTuningJob {name}"), &e))?;
        let d = if self.wait.deferrable {
            trigger_wait(ctx, &sm, Kind::Tuning, &name, &self.wait).await?;
            hook::describe(&sm, Kind::Tuning, &name).await?
        } else if self.wait.wait_for_completion {
            hook::check_status(
                ctx,
                &self.wait.check(&name),
                Kind::Tuning.status_key(),
                || hook::describe(&sm, Kind::Tuning, &name),
            )
            .await?
        } else {
            hook::describe(&sm, Kind::Tuning, &name).await?
        };
        Ok(Outcome::Success(Some(json!({"Tuning": d}))))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    fn training() -> Value {
        json!({
            "TrainingJobName": "Train-1",
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "RoleArn": "sm-role",
            "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://data/train/"}}}],
            "OutputDataConfig": {"S3OutputPath": "s3://out/"},
            "ResourceConfig": {"InstanceCount": "1", "InstanceType": "ml.m5.large", "VolumeSizeInGB": 10},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "Tags": [{"Key": "team", "Value": "ml"}]
        })
    }

    #[test]
    fn training_declares_its_calls_on_its_resources() {
        let op = build_operator::<SageMakerTrainingOperator>(&params(
            json!({"config": training(), "region_name": "eu-west-1"}),
        ))
        .expect("valid");
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &[
                        "sagemaker:CreateTrainingJob",
                        "sagemaker:DescribeTrainingJob",
                        "sagemaker:AddTags"
                    ],
                    ["arn:aws:sagemaker:eu-west-1:{account}:training-job/train-1*"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::{account}:role/sm-role"]),
                Permission::new(&["iam:GetRole"], ["arn:aws:iam::{account}:role/sm-role"]),
                Permission::new(&["s3:ListBucket"], ["arn:aws:s3:::data"]),
                Permission::new(
                    &["logs:DescribeLogStreams", "logs:GetLogEvents"],
                    ["arn:aws:logs:eu-west-1:{account}:log-group:/aws/sagemaker/TrainingJobs:*"]
                ),
            ]
        );
    }

    #[test]
    fn parameters_are_checked_as_the_provider_checks_them() {
        let e = build_operator::<SageMakerTrainingOperator>(&params(
            json!({"config": training(), "action_if_job_exists": "increment"}),
        ))
        .unwrap_err();
        assert_eq!(e.param(), Some("action_if_job_exists"));
        assert!(
            e.message().contains("accepts only 'timestamp' and 'fail'"),
            "{e}"
        );
        let mut c = training();
        c["ResourceConfig"]["Count"] = json!(1);
        let e =
            build_operator::<SageMakerTrainingOperator>(&params(json!({"config": c}))).unwrap_err();
        assert_eq!(e.param(), Some("config"));
        assert!(
            e.message().starts_with(
                "SageMakerTrainingOperator parameter `config.ResourceConfig.Count` is not a key"
            ),
            "{e}"
        );
        let e = build_operator::<SageMakerTransformOperator>(&params(
            json!({"config": {"Model": {"ModelName": "m"}}}),
        ))
        .unwrap_err();
        assert!(
            e.message().contains("has `Model` but no `Transform`"),
            "{e}"
        );
        let e = build_operator::<SageMakerProcessingOperator>(&params(json!({
            "config": {"ProcessingJobName": "p", "RoleArn": "r", "AppSpecification": {"ImageUri": "i"},
                       "ProcessingResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.t3.medium", "VolumeSizeInGB": 1}}},
            "output_files_to_xcom": [{"output_name": "o"}]
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("output_files_to_xcom"));
        let e = build_operator::<SageMakerTrainingOperator>(&params(json!({
            "config": {"TrainingJobName": "t", "S3Operations": {}}
        })))
        .unwrap_err();
        assert!(
            e.message().contains("S3Operations` is not supported"),
            "{e}"
        );
    }
}
