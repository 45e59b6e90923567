//! What the provider's `SageMakerHook` does for the operators and sensors: the describe calls
//! (answers as JSON, see [`crate::wire`]), the state sets, `check_status`, the unique job
//! names, `expand_role`, `check_s3_url`, and the IAM resources of each kind of resource.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::{ParamError, ParamReader, Permission, TaskContext, TaskError};
use aws_sdk_sagemaker::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use serde_json::Value;

use crate::wire::call;

/// The logger of the hook's lines.
pub(crate) const HOOK: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.sagemaker.SageMakerHook";

/// The provider's `CHECK_INTERVAL_SECOND`.
pub(crate) const CHECK_INTERVAL: f64 = 30.0;

/// `SageMakerHook.non_terminal_states`.
pub(crate) const NON_TERMINAL: &[&str] = &["InProgress", "Stopping"];
/// `SageMakerHook.endpoint_non_terminal_states`.
pub(crate) const ENDPOINT_NON_TERMINAL: &[&str] = &[
    "Creating",
    "Updating",
    "SystemUpdating",
    "RollingBack",
    "Deleting",
];
/// `SageMakerHook.pipeline_non_terminal_states`.
pub(crate) const PIPELINE_NON_TERMINAL: &[&str] = &["Executing", "Stopping"];
/// `SageMakerHook.failed_states`.
pub(crate) const FAILED: &[&str] = &["Failed"];
/// `SageMakerHook.training_failed_states` and `processing_job_failed_states`.
pub(crate) const FAILED_OR_STOPPED: &[&str] = &["Failed", "Stopped"];

/// A SageMaker client for the task's identity.
pub(crate) fn client(ctx: &TaskContext, aws: &AwsParams) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_sagemaker))
}

/// A failed call: the service's error code (to branch on) and the task's error.
#[derive(Debug)]
pub(crate) struct CallError {
    /// `ValidationException`, `ConflictException`...
    pub(crate) code: Option<String>,
    /// The service's message.
    pub(crate) message: String,
    /// "`what` failed: code: message".
    pub(crate) error: TaskError,
}

impl From<CallError> for TaskError {
    fn from(e: CallError) -> TaskError {
        e.error
    }
}

/// The [`CallError`] of an SDK error of the call `what`.
pub(crate) fn failed<E>(what: &str, e: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    CallError {
        code: airtask_aws::error::code(e).map(str::to_owned),
        message: e.message().unwrap_or_default().to_owned(),
        error: airtask_aws::error::task_error(what, e),
    }
}

/// The kinds of resources the operators describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A training job.
    Training,
    /// A processing job.
    Processing,
    /// A transform job.
    Transform,
    /// A hyperparameter tuning job.
    Tuning,
    /// An AutoML job.
    AutoMl,
    /// An endpoint.
    Endpoint,
    /// An endpoint configuration.
    EndpointConfig,
    /// A model.
    Model,
    /// A notebook instance.
    Notebook,
}

impl Kind {
    /// The describe call's name.
    pub(crate) fn describe_op(self) -> &'static str {
        match self {
            Kind::Training => "DescribeTrainingJob",
            Kind::Processing => "DescribeProcessingJob",
            Kind::Transform => "DescribeTransformJob",
            Kind::Tuning => "DescribeHyperParameterTuningJob",
            Kind::AutoMl => "DescribeAutoMLJob",
            Kind::Endpoint => "DescribeEndpoint",
            Kind::EndpointConfig => "DescribeEndpointConfig",
            Kind::Model => "DescribeModel",
            Kind::Notebook => "DescribeNotebookInstance",
        }
    }

    /// The describe call's IAM action.
    pub(crate) fn describe_action(self) -> &'static str {
        match self {
            Kind::Training => "sagemaker:DescribeTrainingJob",
            Kind::Processing => "sagemaker:DescribeProcessingJob",
            Kind::Transform => "sagemaker:DescribeTransformJob",
            Kind::Tuning => "sagemaker:DescribeHyperParameterTuningJob",
            Kind::AutoMl => "sagemaker:DescribeAutoMLJob",
            Kind::Endpoint => "sagemaker:DescribeEndpoint",
            Kind::EndpointConfig => "sagemaker:DescribeEndpointConfig",
            Kind::Model => "sagemaker:DescribeModel",
            Kind::Notebook => "sagemaker:DescribeNotebookInstance",
        }
    }

    /// The key of the answer that holds the state.
    pub(crate) fn status_key(self) -> &'static str {
        match self {
            Kind::Training => "TrainingJobStatus",
            Kind::Processing => "ProcessingJobStatus",
            Kind::Transform => "TransformJobStatus",
            Kind::Tuning => "HyperParameterTuningJobStatus",
            Kind::AutoMl => "AutoMLJobStatus",
            Kind::Endpoint => "EndpointStatus",
            Kind::EndpointConfig | Kind::Model => "",
            Kind::Notebook => "NotebookInstanceStatus",
        }
    }

    /// The ARN of the resource `name` (SageMaker writes names in ARNs in lower case).
    pub(crate) fn arn(self, region: Option<&str>, name: &str) -> String {
        let kind = match self {
            Kind::Training => "training-job",
            Kind::Processing => "processing-job",
            Kind::Transform => "transform-job",
            Kind::Tuning => "hyper-parameter-tuning-job",
            Kind::AutoMl => "automl-job",
            Kind::Endpoint => "endpoint",
            Kind::EndpointConfig => "endpoint-config",
            Kind::Model => "model",
            Kind::Notebook => "notebook-instance",
        };
        resource_arn(region, kind, name)
    }
}

/// `arn:aws:sagemaker:REGION:ACCOUNT:KIND/name`, the name in lower case; a templated or empty
/// name widens to `*`.
pub(crate) fn resource_arn(region: Option<&str>, kind: &str, name: &str) -> String {
    let name = if name.is_empty() || airtask_core::params::is_template(name) {
        "*".to_owned()
    } else {
        name.to_ascii_lowercase()
    };
    arn("sagemaker", region, &format!("{kind}/{name}"))
}

/// The describe answer of `name`, as JSON.
pub(crate) async fn describe(sm: &Client, kind: Kind, name: &str) -> Result<Value, CallError> {
    let what = format!("{} {name}", kind.describe_op());
    match kind {
        Kind::Training => call!(sm.describe_training_job().training_job_name(name), None)
            .map_err(|e| failed(&what, &e)),
        Kind::Processing => call!(sm.describe_processing_job().processing_job_name(name), None)
            .map_err(|e| failed(&what, &e)),
        Kind::Transform => call!(sm.describe_transform_job().transform_job_name(name), None)
            .map_err(|e| failed(&what, &e)),
        Kind::Tuning => call!(
            sm.describe_hyper_parameter_tuning_job()
                .hyper_parameter_tuning_job_name(name),
            None
        )
        .map_err(|e| failed(&what, &e)),
        Kind::AutoMl => call!(sm.describe_auto_ml_job().auto_ml_job_name(name), None)
            .map_err(|e| failed(&what, &e)),
        Kind::Endpoint => {
            call!(sm.describe_endpoint().endpoint_name(name), None).map_err(|e| failed(&what, &e))
        }
        Kind::EndpointConfig => call!(
            sm.describe_endpoint_config().endpoint_config_name(name),
            None
        )
        .map_err(|e| failed(&what, &e)),
        Kind::Model => {
            call!(sm.describe_model().model_name(name), None).map_err(|e| failed(&what, &e))
        }
        Kind::Notebook => call!(
            sm.describe_notebook_instance().notebook_instance_name(name),
            None
        )
        .map_err(|e| failed(&what, &e)),
    }
}

/// The answer's `key` as text (`""` when absent).
pub(crate) fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Whether `name` exists (`_check_if_resource_exists`: a ValidationException means it does
/// not; any other error fails).
pub(crate) async fn exists(
    ctx: &TaskContext,
    sm: &Client,
    kind: Kind,
    name: &str,
    what: &str,
) -> Result<bool, TaskError> {
    match describe(sm, kind, name).await {
        Ok(_) => {
            ctx.info(&format!("Found existing {what} with name '{name}'."));
            Ok(true)
        }
        Err(e) if e.code.as_deref() == Some("ValidationException") => Ok(false),
        Err(e) => Err(e.error),
    }
}

/// `_get_unique_name`: `proposed` when no resource has it, else a failure with
/// `fail_if_exists`, else `proposed` (cut to fit 63 characters) with `-<epoch seconds>`.
pub(crate) async fn unique_name(
    ctx: &TaskContext,
    sm: &Client,
    kind: Kind,
    proposed: &str,
    fail_if_exists: bool,
    what: &str,
) -> Result<String, TaskError> {
    let mut name = proposed.to_owned();
    while exists(ctx, sm, kind, &name, what).await? {
        if fail_if_exists {
            return Err(TaskError::fatal(format!(
                "A SageMaker {what} with name {name} already exists."
            )));
        }
        // The provider's suffix is the wall clock's epoch seconds (`time.time_ns() // 10**9`):
        // a name, not a measurement of time, so it does not go through a clock module.
        #[allow(clippy::disallowed_methods)]
        let stamp = jiff::Timestamp::now().as_second().to_string();
        let keep = 63usize.saturating_sub(stamp.len() + 1);
        let base: String = proposed.chars().take(keep).collect();
        let next = format!("{base}-{stamp}");
        if next == name {
            // The same second as the name just taken: wait for the next one.
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        name = next;
        ctx.info(&format!(
            "Changed {what} name to '{name}' to avoid collision."
        ));
    }
    Ok(name)
}

/// The provider's `action_if_job_exists` / `action_if_model_exists`: true for `fail`.
pub(crate) fn fail_if_exists(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<bool, ParamError> {
    match p.str(name)?.as_deref() {
        None | Some("timestamp") => Ok(false),
        Some("fail") => Ok(true),
        Some(other) if p.is_templated(other) => Ok(false),
        Some(other) => Err(ParamError::at(
            name,
            format!(
                "{} parameter `{name}` accepts only 'timestamp' and 'fail', not '{other}' \
                 (the provider's 'increment' was removed in its 8.x releases)",
                p.operator()
            ),
        )),
    }
}

/// Whether `role` is a role name that `expand_role` turns into an ARN with iam:GetRole.
pub(crate) fn is_role_name(role: &str) -> bool {
    !role.contains('/') && !role.starts_with("arn:") && !airtask_core::params::is_template(role)
}

/// `AwsBaseHook.expand_role`: an ARN (or a path) as it is; a role name becomes its ARN.
pub(crate) async fn expand_role(
    ctx: &TaskContext,
    aws: &AwsParams,
    role: &str,
) -> Result<String, TaskError> {
    if !is_role_name(role) {
        return Ok(role.to_owned());
    }
    let iam = airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_iam))?;
    let out = iam
        .get_role()
        .role_name(role)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("GetRole {role}"), &e))?;
    Ok(out.role().map(|r| r.arn().to_owned()).unwrap_or_default())
}

/// The IAM ARN of a role the config names (for iam:PassRole): an ARN as it is, a name as the
/// ARN of that role in the account; a template widens to every role.
pub(crate) fn role_arn(role: &str) -> String {
    if airtask_core::params::is_template(role) || role.is_empty() {
        "arn:aws:iam::{account}:role/*".to_owned()
    } else if role.starts_with("arn:") {
        role.to_owned()
    } else {
        format!(
            "arn:aws:iam::{{account}}:role/{}",
            role.trim_start_matches('/')
        )
    }
}

/// iam:PassRole on `roles` (and iam:GetRole on those given by name), or nothing.
pub(crate) fn pass_role(roles: &[String]) -> Vec<Permission> {
    let mut out = Vec::new();
    if roles.is_empty() {
        return out;
    }
    out.push(Permission::new(
        &["iam:PassRole"],
        roles.iter().map(|r| role_arn(r)),
    ));
    let names: Vec<String> = roles
        .iter()
        .filter(|r| is_role_name(r))
        .map(|r| role_arn(r))
        .collect();
    if !names.is_empty() {
        out.push(Permission::new(&["iam:GetRole"], names));
    }
    out
}

/// `SageMakerHook.check_s3_url`: the bucket must exist, and the key (or prefix) in it.
pub(crate) async fn check_s3_url(
    ctx: &TaskContext,
    aws: &AwsParams,
    url: &str,
) -> Result<(), TaskError> {
    let rest = url
        .strip_prefix("s3://")
        .or_else(|| url.strip_prefix("s3a://"))
        .or_else(|| url.strip_prefix("s3n://"))
        .ok_or_else(|| {
            TaskError::fatal(format!(
                "Please provide a bucket name using a valid format: {url}"
            ))
        })?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    let s3 = airtask_aws::client_in(ctx, aws.region(), airtask_aws::s3_operator_client)?;
    if let Err(e) = s3.head_bucket().bucket(bucket).send().await {
        return match airtask_aws::error::status(&e) {
            Some(404) | Some(403) => Err(TaskError::fatal(format!(
                "The input S3 Bucket {bucket} does not exist "
            ))),
            _ => Err(airtask_aws::error::task_error(
                &format!("HeadBucket {bucket}"),
                &e,
            )),
        };
    }
    if key.is_empty() {
        return Ok(());
    }
    let found = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(key)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("ListObjectsV2 {url}"), &e))?;
    if found.key_count().unwrap_or_default() == 0 && found.contents().is_empty() {
        return Err(TaskError::fatal(format!(
            "The input S3 Key or Prefix {url} does not exist in the Bucket {bucket}"
        )));
    }
    Ok(())
}

/// The S3 URIs of the channels of a training config whose data source is S3
/// (`check_training_config`).
pub(crate) fn s3_channels(channels: Option<&Value>) -> Vec<String> {
    channels
        .and_then(Value::as_array)
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c.pointer("/DataSource/S3DataSource/S3Uri"))
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// s3:ListBucket on the buckets of `urls` (what `check_s3_url` calls).
pub(crate) fn s3_check_permissions(urls: &[String]) -> Vec<Permission> {
    if urls.is_empty() {
        return Vec::new();
    }
    let buckets: Vec<String> = urls
        .iter()
        .map(|u| {
            let rest = u.split_once("://").map_or(u.as_str(), |(_, r)| r);
            let bucket = rest.split('/').next().unwrap_or_default();
            if bucket.is_empty() || airtask_core::params::is_template(u) {
                "arn:aws:s3:::*".to_owned()
            } else {
                format!("arn:aws:s3:::{bucket}")
            }
        })
        .collect();
    vec![Permission::new(&["s3:ListBucket"], buckets)]
}

/// What `check_status` needs to know of the wait.
pub(crate) struct CheckStatus<'a> {
    /// The resource's name (or ARN).
    pub(crate) name: &'a str,
    /// The seconds slept before each describe.
    pub(crate) check_interval: Duration,
    /// Fail once this many seconds have passed (`None`: never).
    pub(crate) max_ingestion_time: Option<f64>,
    /// The states that are not terminal.
    pub(crate) non_terminal: &'a [&'a str],
}

/// `SageMakerHook.check_status`: sleep `check_interval`, describe, log; `Failed` fails the
/// task with the FailureReason, a state outside `non_terminal` ends the wait (its answer is
/// returned), and more than `max_ingestion_time` seconds fail it. A try's
/// `execution_timeout` is never slept past.
pub(crate) async fn check_status<F, Fut>(
    ctx: &TaskContext,
    c: &CheckStatus<'_>,
    key: &str,
    mut describe: F,
) -> Result<Value, TaskError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Value, CallError>>,
{
    let mut sec = 0.0;
    loop {
        let mut delay = c.check_interval;
        if let Some(left) = ctx.time_budget() {
            if left.is_zero() {
                return Err(TaskError::retryable(format!(
                    "the try's execution_timeout ran out while waiting for SageMaker resource {}",
                    c.name
                )));
            }
            delay = delay.min(left);
        }
        tokio::time::sleep(delay).await;
        sec += c.check_interval.as_secs_f64();
        let response = match describe().await {
            Ok(r) => r,
            Err(e) => {
                ctx.error(&e.error.message);
                return Err(TaskError::retryable(
                    "AWS request failed, check logs for more info",
                ));
            }
        };
        let Some(status) = response.get(key).and_then(Value::as_str) else {
            return Err(TaskError::retryable(
                "Could not get status of the SageMaker resource",
            ));
        };
        ctx.hook_info(
            HOOK,
            &format!(
                "Resource still running for {} seconds... current status is {status}",
                sec.round()
            ),
        );
        if FAILED.contains(&status) {
            return Err(TaskError::retryable(format!(
                "SageMaker resource failed because {}",
                failure_reason(&response)
            )));
        }
        if !c.non_terminal.contains(&status) {
            ctx.hook_info(HOOK, "SageMaker resource completed");
            return Ok(response);
        }
        if let Some(max) = c.max_ingestion_time
            && max > 0.0
            && sec > max
        {
            return Err(TaskError::retryable(format!(
                "SageMaker resource took more than {} seconds",
                seconds(max)
            )));
        }
    }
}

/// A whole number of seconds as Python prints the int the provider holds.
pub(crate) fn seconds(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}", s as i64)
    } else {
        format!("{s}")
    }
}

/// The answer's FailureReason (`None` as Python prints a missing one... the provider indexes
/// it, so a missing one is a KeyError there; here it reads "(No reason provided)").
pub(crate) fn failure_reason(v: &Value) -> String {
    v.get("FailureReason")
        .and_then(Value::as_str)
        .unwrap_or("(No reason provided)")
        .to_owned()
}

/// Reads `check_interval` (seconds; default 30).
pub(crate) fn check_interval(p: &mut ParamReader<'_>) -> Result<Duration, ParamError> {
    Ok(Duration::from_secs_f64(
        p.seconds("check_interval", CHECK_INTERVAL)?,
    ))
}

/// Reads `max_ingestion_time` (seconds; `None`: no limit).
pub(crate) fn max_ingestion_time(p: &mut ParamReader<'_>) -> Result<Option<f64>, ParamError> {
    p.optional_seconds("max_ingestion_time")
}
