//! EMR on EKS: `EmrContainerOperator` (StartJobRun on a virtual cluster; XCom is the job run
//! id; with `wait_for_completion` the hook's `poll_query_status`, then a FAILED, CANCELLED or
//! CANCEL_PENDING job fails the task with its failure reason; on_kill cancels the job run),
//! `EmrContainerSensor` (DescribeJobRun until the job leaves PENDING, SUBMITTED and RUNNING) and
//! `EmrEksCreateClusterOperator` (CreateVirtualCluster; XCom is the virtual cluster id).

use std::collections::HashMap;
use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::kwargs::Obj;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emrcontainers::Client;
use aws_sdk_emrcontainers::error::ProvideErrorMetadata;
use aws_sdk_emrcontainers::types::{
    CloudWatchMonitoringConfiguration, Configuration, ConfigurationOverrides, ContainerInfo,
    ContainerLogRotationConfiguration, ContainerProvider, ContainerProviderType, EksInfo,
    JobDriver, MonitoringConfiguration, PersistentAppUi, RetryPolicyConfiguration,
    S3MonitoringConfiguration, SparkSqlJobDriver, SparkSubmitJobDriver,
};
use serde_json::{Value, json};

use crate::common::{CONTAINER_HOOK, role_arn, uuid4, wild};

/// The job run states the hook names.
const INTERMEDIATE: &[&str] = &["PENDING", "SUBMITTED", "RUNNING"];
const FAILURE: &[&str] = &["FAILED", "CANCELLED", "CANCEL_PENDING"];
const TERMINAL: &[&str] = &["COMPLETED", "FAILED", "CANCELLED", "CANCEL_PENDING"];

/// The ARN of virtual cluster `id`.
fn virtual_cluster_arn(region: Option<&str>, id: &str) -> String {
    airtask_core::permissions::arn(
        "emr-containers",
        region,
        &format!("/virtualclusters/{}", wild(id)),
    )
}

/// The ARN of the job runs of virtual cluster `id`.
fn job_runs_arn(region: Option<&str>, id: &str) -> String {
    format!("{}/jobruns/*", virtual_cluster_arn(region, id))
}

/// The hook's `check_query_status`: the job run's state; `None` on an AWS error other than
/// ResourceNotFoundException (logged), which ends the wait.
async fn check_status(
    ctx: &TaskContext,
    emr: &Client,
    cluster: &str,
    job: &str,
) -> Result<Option<String>, TaskError> {
    match emr
        .describe_job_run()
        .virtual_cluster_id(cluster)
        .id(job)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .job_run()
            .and_then(|j| j.state())
            .map(|s| s.as_str().to_owned())),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Err(TaskError::fatal(format!(
            "Job ID {job} not found on Virtual Cluster {cluster}"
        ))),
        Err(e) => {
            let err = airtask_aws::error::task_error(&format!("DescribeJobRun {job}"), &e);
            ctx.hook_info(
                CONTAINER_HOOK,
                &format!(
                    "AWS request failed, check logs for more info: {}",
                    err.message
                ),
            );
            Ok(None)
        }
    }
}

/// The hook's `poll_query_status`: polls until a terminal state, or `max_attempts` polls.
async fn poll_status(
    ctx: &TaskContext,
    emr: &Client,
    cluster: &str,
    job: &str,
    interval: Duration,
    max_attempts: Option<u32>,
) -> Result<Option<String>, TaskError> {
    let mut attempt: u32 = 1;
    loop {
        let state = check_status(ctx, emr, cluster, job).await?;
        match state.as_deref() {
            Some(s) if TERMINAL.contains(&s) => {
                ctx.hook_info(
                    CONTAINER_HOOK,
                    &format!("Try {attempt}: Query execution completed. Final state is {s}"),
                );
                return Ok(state);
            }
            None => ctx.hook_info(
                CONTAINER_HOOK,
                &format!("Try {attempt}: Invalid query state. Retrying again"),
            ),
            Some(s) => ctx.hook_info(
                CONTAINER_HOOK,
                &format!("Try {attempt}: Query is still in non-terminal state - {s}"),
            ),
        }
        if max_attempts.is_some_and(|m| attempt >= m) {
            return Ok(state);
        }
        let mut delay = interval;
        if let Some(left) = ctx.time_budget() {
            delay = delay.min(left);
        }
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

/// The hook's `get_job_failure_reason`: "REASON - DETAILS".
async fn failure_reason(emr: &Client, cluster: &str, job: &str) -> String {
    match emr
        .describe_job_run()
        .virtual_cluster_id(cluster)
        .id(job)
        .send()
        .await
    {
        Ok(out) => {
            let j = out.job_run();
            format!(
                "{} - {}",
                j.and_then(|j| j.failure_reason())
                    .map_or("None", |r| r.as_str()),
                j.and_then(|j| j.state_details()).unwrap_or("None")
            )
        }
        Err(_) => "None".to_owned(),
    }
}

fn built<T, E: std::fmt::Display>(r: Result<T, E>, path: &str) -> Result<T, String> {
    r.map_err(|e| format!("`{path}`: {e}"))
}

/// `job_driver`: sparkSubmitJobDriver or sparkSqlJobDriver.
fn job_driver(v: &Value, rendered: bool) -> Result<JobDriver, String> {
    let mut o = Obj::new("job_driver", v, rendered)?;
    // Built after the keys are checked: an unknown key is the first error.
    let submit = o.nested("sparkSubmitJobDriver", |s| {
        Ok(SparkSubmitJobDriver::builder()
            .set_entry_point(s.str("entryPoint")?)
            .set_entry_point_arguments(s.str_list("entryPointArguments")?)
            .set_spark_submit_parameters(s.str("sparkSubmitParameters")?))
    })?;
    let sql = o.nested("sparkSqlJobDriver", |s| {
        Ok(SparkSqlJobDriver::builder()
            .set_entry_point(s.str("entryPoint")?)
            .set_spark_sql_parameters(s.str("sparkSqlParameters")?)
            .build())
    })?;
    o.finish()?;
    let submit = submit
        .map(|b| built(b.build(), "job_driver.sparkSubmitJobDriver"))
        .transpose()?;
    Ok(JobDriver::builder()
        .set_spark_submit_job_driver(submit)
        .set_spark_sql_job_driver(sql)
        .build())
}

fn configurations(
    o: &mut Obj<'_>,
    key: &'static str,
) -> Result<Option<Vec<Configuration>>, String> {
    let Some(items) = o.objs(key)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|mut c| {
            let conf = Configuration::builder()
                .set_classification(c.str("classification")?)
                .set_properties(c.str_map("properties")?)
                .set_configurations(configurations(&mut c, "configurations")?);
            c.finish()?;
            built(
                conf.build(),
                "configuration_overrides.applicationConfiguration",
            )
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

/// `configuration_overrides`: applicationConfiguration and monitoringConfiguration.
fn configuration_overrides(v: &Value, rendered: bool) -> Result<ConfigurationOverrides, String> {
    let mut o = Obj::new("configuration_overrides", v, rendered)?;
    let app = configurations(&mut o, "applicationConfiguration")?;
    let monitoring = o.nested("monitoringConfiguration", |m| {
        let ui = match m.str("persistentAppUI")? {
            None => None,
            Some(s) if PersistentAppUi::values().contains(&s.as_str()) => {
                Some(PersistentAppUi::from(s.as_str()))
            }
            Some(s) => {
                return Err(format!(
                    "`configuration_overrides.monitoringConfiguration.persistentAppUI` is '{s}'; \
                     it must be ENABLED or DISABLED"
                ));
            }
        };
        let cw = m.nested("cloudWatchMonitoringConfiguration", |c| {
            built(
                CloudWatchMonitoringConfiguration::builder()
                    .set_log_group_name(c.str("logGroupName")?)
                    .set_log_stream_name_prefix(c.str("logStreamNamePrefix")?)
                    .build(),
                "configuration_overrides.monitoringConfiguration.cloudWatchMonitoringConfiguration",
            )
        })?;
        let s3 = m.nested("s3MonitoringConfiguration", |s| {
            built(
                S3MonitoringConfiguration::builder()
                    .set_log_uri(s.str("logUri")?)
                    .build(),
                "configuration_overrides.monitoringConfiguration.s3MonitoringConfiguration",
            )
        })?;
        let rotation = m.nested("containerLogRotationConfiguration", |r| {
            built(
                ContainerLogRotationConfiguration::builder()
                    .set_rotation_size(r.str("rotationSize")?)
                    .set_max_files_to_keep(r.i32("maxFilesToKeep")?)
                    .build(),
                "configuration_overrides.monitoringConfiguration.containerLogRotationConfiguration",
            )
        })?;
        Ok(MonitoringConfiguration::builder()
            .set_persistent_app_ui(ui)
            .set_cloud_watch_monitoring_configuration(cw)
            .set_s3_monitoring_configuration(s3)
            .set_container_log_rotation_configuration(rotation)
            .build())
    })?;
    o.finish()?;
    Ok(ConfigurationOverrides::builder()
        .set_application_configuration(app)
        .set_monitoring_configuration(monitoring)
        .build())
}

/// A mapping parameter read with `read`, its errors attributed to the parameter.
fn kwargs_param<T>(
    p: &mut ParamReader<'_>,
    name: &'static str,
    read: impl FnOnce(&Value, bool) -> Result<T, String>,
) -> Result<Option<T>, ParamError> {
    let rendered = p.rendered();
    match airtask_core::kwargs::mapping(p, name) {
        None => Ok(None),
        Some(v) => read(v, rendered)
            .map(Some)
            .map_err(|e| airtask_core::kwargs::param_error(p, name, e)),
    }
}

/// A configured `EmrContainerOperator`.
#[derive(Debug)]
pub struct EmrContainerOperator {
    aws: AwsParams,
    name: String,
    virtual_cluster_id: String,
    execution_role_arn: String,
    release_label: String,
    job_driver: JobDriver,
    configuration_overrides: ConfigurationOverrides,
    client_request_token: Option<String>,
    wait_for_completion: bool,
    deferrable: bool,
    poll_interval: Duration,
    max_polling_attempts: Option<u32>,
    job_retry_max_attempts: Option<i32>,
    tags: Option<HashMap<String, String>>,
    /// The job run started, for on_kill.
    started: Option<(Client, String)>,
}

const CONTAINER: &str = "EmrContainerOperator";

impl Operator for EmrContainerOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrContainerOperator",
        aliases: &["airflow.providers.amazon.aws.operators.emr_containers.EmrContainerOperator"],
        template_fields: &[
            "aws_conn_id",
            "configuration_overrides",
            "execution_role_arn",
            "job_driver",
            "name",
            "region_name",
            "release_label",
            "verify",
            "virtual_cluster_id",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let name = p.required_str("name", "the name of the job run")?;
        let virtual_cluster_id = p.required_str(
            "virtual_cluster_id",
            "the id of the EMR on EKS virtual cluster",
        )?;
        let execution_role_arn =
            p.required_str("execution_role_arn", "the ARN of the job run's IAM role")?;
        let release_label = p.required_str(
            "release_label",
            "the EMR release of the job run (emr-6.15.0-latest)",
        )?;
        let job_driver = match kwargs_param(p, "job_driver", job_driver)? {
            Some(d) => d,
            None if p.rendered() => {
                return Err(ParamError::at(
                    "job_driver",
                    format!(
                        "{CONTAINER} needs `job_driver`: the job's sparkSubmitJobDriver or \
                         sparkSqlJobDriver"
                    ),
                ));
            }
            None => JobDriver::builder().build(),
        };
        let configuration_overrides =
            kwargs_param(p, "configuration_overrides", configuration_overrides)?
                .unwrap_or_else(|| ConfigurationOverrides::builder().build());
        let client_request_token = p.str("client_request_token")?.filter(|s| !s.is_empty());
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let poll_interval = Duration::from_secs_f64(p.seconds("poll_interval", 30.0)?);
        let max_polling_attempts = p
            .u32("max_polling_attempts", 0..=u32::MAX)?
            .filter(|n| *n > 0);
        let job_retry_max_attempts = p
            .i64("job_retry_max_attempts", 0..=i64::from(i32::MAX))?
            .filter(|n| *n > 0)
            .and_then(|n| i32::try_from(n).ok());
        let tags = p.str_map("tags")?.map(|t| t.into_iter().collect());
        let deferrable = p.bool("deferrable", false)?;
        p.bool("cancel_on_kill", true)?;
        p.accept("openlineage_inject_parent_job_info");
        p.accept("openlineage_inject_transport_info");
        Ok(EmrContainerOperator {
            aws,
            name,
            virtual_cluster_id,
            execution_role_arn,
            release_label,
            job_driver,
            configuration_overrides,
            client_request_token,
            wait_for_completion,
            deferrable,
            poll_interval,
            max_polling_attempts,
            job_retry_max_attempts,
            tags,
            started: None,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut p = vec![
            Permission::new(
                &["emr-containers:StartJobRun"],
                [virtual_cluster_arn(region, &self.virtual_cluster_id)],
            ),
            Permission::new(&["iam:PassRole"], [role_arn(&self.execution_role_arn)]),
        ];
        // DescribeJobRun for the wait (and the failure reason); CancelJobRun for on_kill.
        let mut runs = vec!["emr-containers:CancelJobRun"];
        if self.wait_for_completion || self.deferrable {
            runs.push("emr-containers:DescribeJobRun");
        }
        p.push(Permission::new(
            &runs,
            [job_runs_arn(region, &self.virtual_cluster_id)],
        ));
        if self.tags.is_some() {
            p.push(Permission::new(
                &["emr-containers:TagResource"],
                [job_runs_arn(region, &self.virtual_cluster_id)],
            ));
        }
        p
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrcontainers),
        )?;
        let cluster = self.virtual_cluster_id.clone();
        let token = self.client_request_token.clone().unwrap_or_else(uuid4);
        let retry = match self.job_retry_max_attempts {
            None => None,
            Some(n) => Some(
                RetryPolicyConfiguration::builder()
                    .max_attempts(n)
                    .build()
                    .map_err(|e| TaskError::fatal(format!("{CONTAINER}: {e}")))?,
            ),
        };
        let out = emr
            .start_job_run()
            .name(&self.name)
            .virtual_cluster_id(&cluster)
            .execution_role_arn(&self.execution_role_arn)
            .release_label(&self.release_label)
            .job_driver(self.job_driver.clone())
            .configuration_overrides(self.configuration_overrides.clone())
            .set_tags(Some(self.tags.clone().unwrap_or_default()))
            .client_token(token)
            .set_retry_policy_configuration(retry)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("StartJobRun '{}' on virtual cluster {cluster}", self.name),
                    &e,
                )
            })?;
        let job = out.id().unwrap_or_default().to_owned();
        if job.is_empty() {
            return Err(TaskError::retryable(
                "Start Job Run failed: the answer has no id",
            ));
        }
        ctx.hook_info(
            CONTAINER_HOOK,
            &format!("Start Job Run success - Job Id {job} and virtual cluster id {cluster}"),
        );
        self.started = Some((emr.clone(), job.clone()));
        if self.wait_for_completion || self.deferrable {
            let state = poll_status(
                ctx,
                &emr,
                &cluster,
                &job,
                self.poll_interval,
                self.max_polling_attempts,
            )
            .await?;
            self.started = None;
            if let Some(s) = state.as_deref()
                && FAILURE.contains(&s)
            {
                let why = failure_reason(&emr, &cluster, &job).await;
                return Err(TaskError::retryable(format!(
                    "EMR Containers job failed. Final state is {s}. query_execution_id is {job}. \
                     Error: {why}"
                )));
            }
            if state.as_deref().is_none_or(|s| INTERMEDIATE.contains(&s)) {
                return Err(TaskError::retryable(format!(
                    "Final state of EMR Containers job is {}. Max tries of poll status exceeded, \
                     query_execution_id is {job}.",
                    state.as_deref().unwrap_or("None")
                )));
            }
        }
        self.started = None;
        Ok(Outcome::Success(Some(json!(job))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((emr, job)) = self.started.take() else {
            return;
        };
        let cluster = self.virtual_cluster_id.clone();
        ctx.info(&format!("Stopping job run with jobId - {job}"));
        match emr
            .cancel_job_run()
            .virtual_cluster_id(&cluster)
            .id(&job)
            .send()
            .await
        {
            Ok(_) => {
                ctx.info(&format!(
                    "Polling EMR for query with id {job} to reach final state"
                ));
                // The provider polls without a limit; here at most 10 polls.
                if let Err(e) =
                    poll_status(ctx, &emr, &cluster, &job, self.poll_interval, Some(10)).await
                {
                    ctx.error(&format!("Unable to read the state of job run {job}: {e}"));
                }
            }
            Err(e) => {
                let err = airtask_aws::error::task_error(&format!("CancelJobRun {job}"), &e);
                ctx.error(&format!(
                    "Unable to request query cancel on EMR. Exiting ({})",
                    err.message
                ));
            }
        }
    }
}

/// A configured `EmrContainerSensor`.
#[derive(Debug)]
pub struct EmrContainerSensor {
    aws: AwsParams,
    virtual_cluster_id: String,
    job_id: String,
    max_retries: Option<u32>,
    poll_interval: Duration,
    settings: SensorSettings,
}

impl Operator for EmrContainerSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.emr.EmrContainerSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.emr_containers.EmrContainerSensor"],
        template_fields: &[
            "aws_conn_id",
            "job_id",
            "region_name",
            "verify",
            "virtual_cluster_id",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let virtual_cluster_id = p.required_str(
            "virtual_cluster_id",
            "the id of the EMR on EKS virtual cluster",
        )?;
        let job_id = p.required_str("job_id", "the id of the job run to watch")?;
        let max_retries = p.u32("max_retries", 0..=u32::MAX)?.filter(|n| *n > 0);
        let poll_interval = Duration::from_secs_f64(p.seconds("poll_interval", 10.0)?);
        let settings = SensorSettings::read(p, 60.0)?;
        Ok(EmrContainerSensor {
            aws,
            virtual_cluster_id,
            job_id,
            max_retries,
            poll_interval,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["emr-containers:DescribeJobRun"],
            [job_runs_arn(self.aws.region(), &self.virtual_cluster_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrcontainers),
        )?;
        let (emr, cluster, job) = (&emr, self.virtual_cluster_id.as_str(), self.job_id.as_str());
        let (interval, max) = (self.poll_interval, self.max_retries);
        sensor::run(&self.settings, ctx, || async move {
            let state = poll_status(ctx, emr, cluster, job, interval, max).await?;
            match state.as_deref() {
                Some(s) if FAILURE.contains(&s) => Err(TaskError::retryable(format!(
                    "EMR Containers sensor failed due to state: {s}"
                ))),
                Some(s) if INTERMEDIATE.contains(&s) => Ok(false),
                _ => Ok(true),
            }
        })
        .await
    }
}

/// A configured `EmrEksCreateClusterOperator`.
#[derive(Debug)]
pub struct EmrEksCreateClusterOperator {
    aws: AwsParams,
    virtual_cluster_name: String,
    eks_cluster_name: String,
    eks_namespace: String,
    tags: Option<HashMap<String, String>>,
}

/// The hook's retries of "connection is currently being updated": 12 attempts, 15 s apart.
const CREATE_ATTEMPTS: u32 = 12;
const CREATE_RETRY_WAIT: Duration = Duration::from_secs(15);

impl Operator for EmrEksCreateClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrEksCreateClusterOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "eks_cluster_name",
            "eks_namespace",
            "region_name",
            "verify",
            "virtual_cluster_name",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let virtual_cluster_name = p.required_str(
            "virtual_cluster_name",
            "the name of the EMR on EKS virtual cluster to create",
        )?;
        let eks_cluster_name = p.required_str(
            "eks_cluster_name",
            "the EKS cluster the virtual cluster uses",
        )?;
        let eks_namespace = p.required_str(
            "eks_namespace",
            "the Kubernetes namespace of the EKS cluster",
        )?;
        p.str("virtual_cluster_id")?;
        let tags = p.str_map("tags")?.map(|t| t.into_iter().collect());
        Ok(EmrEksCreateClusterOperator {
            aws,
            virtual_cluster_name,
            eks_cluster_name,
            eks_namespace,
            tags,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["emr-containers:CreateVirtualCluster"];
        if self.tags.as_ref().is_some_and(|t| !t.is_empty()) {
            actions.push("emr-containers:TagResource");
        }
        vec![Permission::new(
            &actions,
            [virtual_cluster_arn(self.aws.region(), "*")],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrcontainers),
        )?;
        let provider = ContainerProvider::builder()
            .id(&self.eks_cluster_name)
            .r#type(ContainerProviderType::Eks)
            .info(ContainerInfo::EksInfo(
                EksInfo::builder().namespace(&self.eks_namespace).build(),
            ))
            .build()
            .map_err(|e| TaskError::fatal(format!("EmrEksCreateClusterOperator: {e}")))?;
        let name = &self.virtual_cluster_name;
        let mut attempt = 1;
        let out = loop {
            match emr
                .create_virtual_cluster()
                .name(name)
                .container_provider(provider.clone())
                .set_tags(Some(self.tags.clone().unwrap_or_default()))
                .send()
                .await
            {
                Ok(out) => break out,
                Err(e)
                    if attempt < CREATE_ATTEMPTS
                        && e.code() == Some("ValidationException")
                        && e.message().is_some_and(|m| {
                            m.contains(
                                "is not reachable as its connection is currently being updated",
                            )
                        }) =>
                {
                    ctx.warning(&format!(
                        "CreateVirtualCluster '{name}': the EKS cluster's connection is being \
                         updated; retrying in {} s (attempt {attempt} of {CREATE_ATTEMPTS})",
                        CREATE_RETRY_WAIT.as_secs()
                    ));
                    tokio::time::sleep(CREATE_RETRY_WAIT).await;
                    attempt += 1;
                }
                Err(e) => {
                    return Err(airtask_aws::error::task_error(
                        &format!(
                            "CreateVirtualCluster '{name}' on EKS cluster {}",
                            self.eks_cluster_name
                        ),
                        &e,
                    ));
                }
            }
        };
        let id = out.id().unwrap_or_default().to_owned();
        ctx.hook_info(
            CONTAINER_HOOK,
            &format!("Create EMR EKS Cluster success - virtual cluster id {id}"),
        );
        Ok(Outcome::Success(Some(json!(id))))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_emrcontainers::operation::cancel_job_run::CancelJobRunOutput;
    use aws_sdk_emrcontainers::operation::describe_job_run::DescribeJobRunOutput;
    use aws_sdk_emrcontainers::types::{JobRun, JobRunState};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    fn build(v: Value) -> Result<EmrContainerOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrContainerOperator>(&p)
    }

    fn base() -> Value {
        json!({"name": "j", "virtual_cluster_id": "vc1", "release_label": "emr-6.15.0-latest",
            "execution_role_arn": "arn:aws:iam::123456789012:role/job",
            "job_driver": {"sparkSubmitJobDriver": {"entryPoint": "s3://b/x.py",
                "sparkSubmitParameters": "--conf a=b"}},
            "configuration_overrides": {"monitoringConfiguration": {
                "s3MonitoringConfiguration": {"logUri": "s3://b/logs"}}}})
    }

    #[test]
    fn parameters_and_permissions() {
        let op = build(base()).unwrap();
        assert!(op.wait_for_completion);
        assert_eq!(op.poll_interval, Duration::from_secs(30));
        assert_eq!(op.max_polling_attempts, None);
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["emr-containers:StartJobRun"],
                    ["arn:aws:emr-containers:{region}:{account}:/virtualclusters/vc1"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::123456789012:role/job"]),
                Permission::new(
                    &[
                        "emr-containers:CancelJobRun",
                        "emr-containers:DescribeJobRun"
                    ],
                    ["arn:aws:emr-containers:{region}:{account}:/virtualclusters/vc1/jobruns/*"]
                ),
            ]
        );
        let mut bad = base();
        bad["job_driver"] = json!({"sparkSubmit": {}});
        let e = build(bad).unwrap_err();
        assert_eq!(e.param(), Some("job_driver"));
        assert!(
            e.message()
                .contains("`job_driver.sparkSubmit` is not a setting"),
            "{e}"
        );
        let mut bad = base();
        bad["job_driver"] = json!({"sparkSubmitJobDriver": {}});
        assert!(build(bad).unwrap_err().message().contains("entry_point"));
    }

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            if let Ok(mut l) = self.0.lock() {
                l.push(message.to_owned());
            }
        }
    }

    #[tokio::test]
    async fn on_kill_cancels_the_job_run_and_polls_its_state() {
        let cancel = mock!(Client::cancel_job_run)
            .match_requests(|r| r.id() == Some("job1") && r.virtual_cluster_id() == Some("vc1"))
            .then_output(|| CancelJobRunOutput::builder().id("job1").build());
        let cancelled = mock!(Client::describe_job_run).then_output(|| {
            DescribeJobRunOutput::builder()
                .job_run(
                    JobRun::builder()
                        .id("job1")
                        .state(JobRunState::Cancelled)
                        .build(),
                )
                .build()
        });
        let emr = mock_client!(
            aws_sdk_emrcontainers,
            RuleMode::Sequential,
            [&cancel, &cancelled]
        );
        let mut op = build(base()).unwrap();
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(&EmrContainerOperator::SPEC, "t", 1, lines.clone());
        op.on_kill(&ctx).await;
        assert_eq!(cancel.num_calls(), 0);
        op.started = Some((emr, "job1".to_owned()));
        op.on_kill(&ctx).await;
        assert_eq!(cancel.num_calls(), 1);
        let lines = lines.0.lock().unwrap();
        assert_eq!(lines[0], "Stopping job run with jobId - job1");
        assert_eq!(
            lines.last().map(String::as_str),
            Some("Try 1: Query execution completed. Final state is CANCELLED")
        );
    }
}
