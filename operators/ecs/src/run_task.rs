//! `EcsRunTaskOperator`: RunTask (or, with `reattach`, the task this task instance started
//! before, found by its `startedBy`), then the `tasks_stopped` waiter while the container's
//! CloudWatch log stream is followed, then the provider's `_check_success_task`: a task that
//! failed to start, whose host instance went away, or with a container that exited non-zero
//! (skipped for the codes of `skip_on_exit_code`), still pending or failed to launch fails the
//! task. XCom `ecs_task_arn`; the return value is the last log message when logs are followed.
//! on_kill stops the task (StopTask, "Task killed by the user").

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_awsjson::logs::{self, TaskLogFetcher};
use airtask_awsjson::{RawJson, pass_roles, show, strings_named};
use airtask_core::permissions::arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_ecs::Client;
use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

use crate::{call, member_param, task_definition_arn, tasks_arn};

const OP: &str = "EcsRunTaskOperator";

/// A configured `EcsRunTaskOperator`.
#[derive(Debug)]
pub struct EcsRunTaskOperator {
    aws: AwsParams,
    task_definition: String,
    cluster: String,
    overrides: Value,
    launch_type: Option<String>,
    capacity_provider_strategy: Option<Value>,
    volume_configurations: Option<Value>,
    group: Option<String>,
    placement_constraints: Option<Value>,
    placement_strategy: Option<Value>,
    platform_version: Option<String>,
    network_configuration: Option<Value>,
    tags: Option<Vec<(String, String)>>,
    awslogs_group: Option<String>,
    awslogs_region: Option<String>,
    awslogs_stream_prefix: Option<String>,
    awslogs_fetch_interval: Duration,
    container_name: Option<String>,
    propagate_tags: Option<String>,
    reattach: bool,
    number_logs_exception: i32,
    wait: WaitSettings,
    skip_on_exit_code: Vec<i64>,
    stop_task_on_failure: bool,
    /// The task being waited for, for `on_kill`.
    running: Option<(Client, String)>,
}

/// `generate_uuid` of the provider: UUID v5 of each value in turn, the first in the OID
/// namespace, each next one in the previous result.
fn generate_uuid(values: &[&str]) -> String {
    // uuid.NAMESPACE_OID
    let mut ns: [u8; 16] = [
        0x6b, 0xa7, 0xb8, 0x12, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30,
        0xc8,
    ];
    for v in values {
        let mut h = Sha1::new();
        h.update(ns);
        h.update(v.as_bytes());
        let digest = h.finalize();
        ns.copy_from_slice(&digest[..16]);
        ns[6] = (ns[6] & 0x0f) | 0x50;
        ns[8] = (ns[8] & 0x3f) | 0x80;
    }
    let hex: String = ns.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The id of a task: the last segment of its ARN.
fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// What the final DescribeTasks means (`_check_success_task`): `Ok(None)` for success,
/// `Ok(Some(reason))` for a skip (a container exit code in `skip_on_exit_code`), `Err` for a
/// failure; `last_logs` gives the last log lines for the message of a non-zero exit code.
fn check_success(
    answer: &Value,
    skip_on_exit_code: &[i64],
    last_logs: Option<(i32, &str)>,
) -> Result<Option<String>, TaskError> {
    let failures = answer["failures"].as_array().map_or(0, Vec::len);
    if failures > 0 {
        return Err(TaskError::retryable(show(answer)));
    }
    for task in answer["tasks"].as_array().into_iter().flatten() {
        let stopped_reason = task["stoppedReason"].as_str().unwrap_or_default();
        if task["stopCode"] == "TaskFailedToStart" {
            return Err(TaskError::retryable(format!(
                "The task failed to start due to: {stopped_reason}"
            )));
        }
        if host_stopped(stopped_reason) {
            return Err(TaskError::retryable(format!(
                "The task was stopped because the host instance terminated: {stopped_reason}"
            )));
        }
        for container in task["containers"].as_array().into_iter().flatten() {
            let last_status = container["lastStatus"].as_str().unwrap_or_default();
            let exit_code = container["exitCode"].as_i64().unwrap_or(1);
            if last_status == "STOPPED" && exit_code != 0 {
                let message = match last_logs {
                    Some((n, logs)) => format!(
                        "This task is not in success state - last {n} logs from Cloudwatch:\n{logs}"
                    ),
                    None => format!("This task is not in success state {}", show(task)),
                };
                if skip_on_exit_code.contains(&exit_code) {
                    return Ok(Some(message));
                }
                return Err(TaskError::retryable(message));
            }
            if last_status == "PENDING" {
                return Err(TaskError::retryable(format!(
                    "This task is still pending {}",
                    show(task)
                )));
            }
            let reason = container["reason"]
                .as_str()
                .unwrap_or_default()
                .to_lowercase();
            if reason.contains("error") {
                return Err(TaskError::retryable(format!(
                    "This containers encounter an error during launching: {reason}"
                )));
            }
        }
    }
    Ok(None)
}

/// Whether a stoppedReason says the task's EC2 host went away (`Host EC2 (instance i-...)
/// stopped.` / `terminated.`).
fn host_stopped(reason: &str) -> bool {
    let Some(rest) = reason.strip_prefix("Host EC2 (instance ") else {
        return false;
    };
    let Some(close) = rest.find(") ") else {
        return false;
    };
    close > 0 && {
        let after = &rest[close + 2..];
        after.starts_with("stopped.") || after.starts_with("terminated.")
    }
}

/// One poll of the `tasks_stopped` waiter: done when every task described is STOPPED.
fn stopped(answer: &Value) -> Poll<()> {
    let statuses: Vec<&str> = answer["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| t["lastStatus"].as_str().unwrap_or_default())
        .collect();
    if !statuses.is_empty() && statuses.iter().all(|s| *s == "STOPPED") {
        Poll::Done(())
    } else {
        Poll::Pending {
            state: if statuses.is_empty() {
                "no task described".to_owned()
            } else {
                statuses.join(", ")
            },
        }
    }
}

impl EcsRunTaskOperator {
    fn logs_enabled(&self) -> bool {
        self.awslogs_group.as_deref().is_some_and(|g| !g.is_empty())
            && self
                .awslogs_stream_prefix
                .as_deref()
                .is_some_and(|p| !p.is_empty())
    }

    /// Whether the operator waits for the task to stop (`deferrable` implies it).
    fn waits(&self) -> bool {
        self.wait.wait_for_completion || self.wait.deferrable
    }

    /// `_get_logs_stream_name`.
    fn logs_stream_name(&self, ctx: &TaskContext, arn: &str) -> String {
        let prefix = self.awslogs_stream_prefix.as_deref().unwrap_or_default();
        let id = task_id(arn);
        match self.container_name.as_deref().filter(|c| !c.is_empty()) {
            None => {
                if !prefix.contains('/') {
                    ctx.warning(&format!(
                        "Container name could not be inferred and awslogs_stream_prefix \
                         '{prefix}' does not contain '/'. This may cause issues when extracting \
                         logs from Cloudwatch."
                    ));
                }
                format!("{prefix}/{id}")
            }
            Some(c) if !prefix.ends_with(&format!("/{c}")) => format!("{prefix}/{c}/{id}"),
            Some(_) => format!("{prefix}/{id}"),
        }
    }

    /// The region of the log group (`resolve_awslogs_region`).
    fn logs_region(&self) -> Option<&str> {
        self.awslogs_region.as_deref().or(self.aws.region())
    }

    /// The RunTask request, as `_start_task` builds it.
    fn run_task_body(&self, started_by: &str) -> Value {
        let mut b = Map::new();
        b.insert("cluster".into(), json!(self.cluster));
        b.insert("taskDefinition".into(), json!(self.task_definition));
        b.insert("overrides".into(), self.overrides.clone());
        b.insert("startedBy".into(), json!(started_by));
        let truthy = |v: &Option<Value>| {
            v.as_ref()
                .is_some_and(|v| !matches!(v, Value::Array(a) if a.is_empty()))
        };
        if truthy(&self.capacity_provider_strategy) {
            b.insert(
                "capacityProviderStrategy".into(),
                self.capacity_provider_strategy.clone().unwrap_or_default(),
            );
        } else if let Some(l) = self.launch_type.as_deref().filter(|l| !l.is_empty()) {
            b.insert("launchType".into(), json!(l));
        }
        let mut put = |k: &str, v: Option<Value>| {
            if let Some(v) = v {
                b.insert(k.into(), v);
            }
        };
        put("volumeConfigurations", self.volume_configurations.clone());
        put(
            "platformVersion",
            self.platform_version.clone().map(Value::from),
        );
        put("group", self.group.clone().map(Value::from));
        put("placementConstraints", self.placement_constraints.clone());
        put("placementStrategy", self.placement_strategy.clone());
        put("networkConfiguration", self.network_configuration.clone());
        put(
            "tags",
            self.tags.as_ref().map(|t| {
                t.iter()
                    .map(|(k, v)| json!({"key": k, "value": v}))
                    .collect()
            }),
        );
        put(
            "propagateTags",
            self.propagate_tags.clone().map(Value::from),
        );
        Value::Object(b)
    }

    async fn describe(&self, ecs: &Client, arn: &str) -> Result<Value, TaskError> {
        call!(
            format!("DescribeTasks {arn}"),
            ecs.describe_tasks().cluster(&self.cluster).tasks(arn),
            RawJson::answer_only()
        )
    }

    /// `_try_reattach_task`: the task of this task instance still running, if any.
    async fn find_running(
        &self,
        ctx: &TaskContext,
        ecs: &Client,
        started_by: &str,
    ) -> Result<Option<String>, TaskError> {
        let answer = call!(
            format!("ListTasks of {} started by {started_by}", self.cluster),
            ecs.list_tasks()
                .cluster(&self.cluster)
                .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                .started_by(started_by),
            RawJson::answer_only()
        )?;
        let running: Vec<&str> = answer["taskArns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let Some(first) = running.first() else {
            ctx.info("No active previously launched task found to reattach");
            return Ok(None);
        };
        if running.len() > 1 {
            ctx.warning(&format!(
                "Found more then one previously launched tasks: {running:?}"
            ));
        }
        ctx.info(&format!("Reattaching previously launched task: {first}"));
        Ok(Some((*first).to_owned()))
    }

    /// `_start_task`: RunTask; failures fail the try. Infers the container name for the log
    /// stream when it is not given.
    async fn start(
        &mut self,
        ctx: &TaskContext,
        ecs: &Client,
        started_by: &str,
    ) -> Result<String, TaskError> {
        let answer = call!(
            format!(
                "RunTask of {} on cluster {}",
                self.task_definition, self.cluster
            ),
            ecs.run_task().task_definition(&self.task_definition),
            RawJson::new(&self.run_task_body(started_by))
        )?;
        let failures = answer["failures"].as_array().map_or(0, Vec::len);
        if failures > 0 {
            return Err(TaskError::retryable(format!(
                "ECS RunTask of {} on cluster {} failed: {}",
                self.task_definition,
                self.cluster,
                show(&answer)
            )));
        }
        ctx.info(&format!("ECS Task started: {}", show(&answer)));
        let arn = answer["tasks"][0]["taskArn"]
            .as_str()
            .ok_or_else(|| {
                TaskError::retryable(format!("ECS RunTask answered no task: {}", show(&answer)))
            })?
            .to_owned();
        ctx.info(&format!("ECS task ID is: {}", task_id(&arn)));
        if self.container_name.is_none() && self.logs_enabled() {
            for delay in [10, 30] {
                tokio::time::sleep(Duration::from_secs(delay)).await;
                let described = self.describe(ecs, &arn).await?;
                if let Some(name) = described["tasks"][0]["containers"][0]["name"].as_str() {
                    self.container_name = Some(name.to_owned());
                    break;
                }
            }
            if self.container_name.is_none() {
                ctx.info(
                    "Could not find container name, required for the log stream after 2 tries",
                );
            }
        }
        Ok(arn)
    }

    /// The `tasks_stopped` waiter.
    async fn wait_stopped(
        &self,
        ctx: &TaskContext,
        ecs: &Client,
        arn: &str,
    ) -> Result<(), TaskError> {
        wait::until_terminal(ctx, &self.wait, &format!("ECS task {arn}"), || async {
            self.describe(ecs, arn).await.map(|a| stopped(&a))
        })
        .await
    }

    /// What the provider does when the waiter fails after this run started the task: stop it.
    async fn stop_after_failure(&self, ctx: &TaskContext, ecs: &Client, arn: &str) {
        ctx.warning(&format!(
            "Execution failed after ECS task {arn} was started by this task instance."
        ));
        if !self.stop_task_on_failure {
            return;
        }
        ctx.warning(&format!("Attempting termination of ECS task {arn}."));
        let stopped = call!(
            format!("StopTask {arn}"),
            ecs.stop_task().cluster(&self.cluster).task(arn),
            RawJson::new(&json!({
                "cluster": self.cluster,
                "task": arn,
                "reason": "Task failed after creation; cleanup by Airflow",
            }))
        );
        if let Err(e) = stopped {
            ctx.error(&format!(
                "Failed while attempting to stop ECS task {arn}: {e}"
            ));
        }
    }
}

impl Operator for EcsRunTaskOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ecs.EcsRunTaskOperator",
        aliases: &["airflow.providers.amazon.aws.operators.ecs.EcsOperator"],
        template_fields: &[
            "task_definition",
            "cluster",
            "overrides",
            "launch_type",
            "capacity_provider_strategy",
            "volume_configurations",
            "group",
            "placement_constraints",
            "placement_strategy",
            "platform_version",
            "network_configuration",
            "tags",
            "awslogs_group",
            "awslogs_region",
            "awslogs_stream_prefix",
            "awslogs_fetch_interval",
            "container_name",
            "propagate_tags",
            "reattach",
            "number_logs_exception",
            "wait_for_completion",
            "deferrable",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let task_definition = p.required_str(
            "task_definition",
            "the task definition to run (family[:revision] or ARN)",
        )?;
        let cluster = p.required_str("cluster", "the cluster to run the task on")?;
        let overrides = member_param(p, "overrides", "RunTask", "overrides")?.ok_or_else(|| {
            ParamError::at(
                "overrides",
                format!(
                    "{OP} needs `overrides`: RunTask's overrides (write `overrides: {{}}` for \
                     none; the provider requires it too)"
                ),
            )
        })?;
        let launch_type = if p.contains("launch_type") {
            p.str("launch_type")?
        } else {
            Some("EC2".to_owned())
        };
        let capacity_provider_strategy = member_param(
            p,
            "capacity_provider_strategy",
            "RunTask",
            "capacityProviderStrategy",
        )?;
        let volume_configurations = member_param(
            p,
            "volume_configurations",
            "RunTask",
            "volumeConfigurations",
        )?;
        let group = p.str("group")?;
        let placement_constraints = member_param(
            p,
            "placement_constraints",
            "RunTask",
            "placementConstraints",
        )?;
        let placement_strategy =
            member_param(p, "placement_strategy", "RunTask", "placementStrategy")?;
        let platform_version = p.str("platform_version")?;
        let network_configuration = member_param(
            p,
            "network_configuration",
            "RunTask",
            "networkConfiguration",
        )?;
        let tags = p.str_map("tags")?;
        let awslogs_group = p.str("awslogs_group")?;
        let awslogs_region = p.str("awslogs_region")?;
        let awslogs_stream_prefix = p.str("awslogs_stream_prefix")?;
        let awslogs_fetch_interval =
            Duration::from_secs_f64(p.seconds("awslogs_fetch_interval", 30.0)?);
        let container_name = p.str("container_name")?;
        let propagate_tags = p.str("propagate_tags")?;
        // quota_retry: accepted; the provider keeps it without using it.
        p.accept("quota_retry");
        let reattach = p.bool("reattach", false)?;
        let number_logs_exception = p
            .i64("number_logs_exception", 1..=10_000)?
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(10);
        let wait = WaitSettings::read(p, 6, 1_000_000)?;
        let skip_on_exit_code = match p.value("skip_on_exit_code") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| i.as_i64().ok_or(i))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|bad| {
                    ParamError::at(
                        "skip_on_exit_code",
                        format!(
                            "{OP} parameter `skip_on_exit_code` must be an exit code or a list of \
                             them; it has {}",
                            airtask_core::params::describe(bad)
                        ),
                    )
                })?,
            Some(v) => match v
                .as_i64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            {
                Some(n) => vec![n],
                None if v.as_str().is_some_and(|s| p.is_templated(s)) => Vec::new(),
                None => {
                    return Err(ParamError::at(
                        "skip_on_exit_code",
                        format!(
                            "{OP} parameter `skip_on_exit_code` must be an exit code or a list \
                             of them, not {}",
                            airtask_core::params::describe(v)
                        ),
                    ));
                }
            },
        };
        let stop_task_on_failure = p.bool("stop_task_on_failure", true)?;
        Ok(EcsRunTaskOperator {
            aws,
            task_definition,
            cluster,
            overrides,
            launch_type,
            capacity_provider_strategy,
            volume_configurations,
            group,
            placement_constraints,
            placement_strategy,
            platform_version,
            network_configuration,
            tags,
            awslogs_group,
            awslogs_region,
            awslogs_stream_prefix,
            awslogs_fetch_interval,
            container_name,
            propagate_tags,
            reattach,
            number_logs_exception,
            wait,
            skip_on_exit_code,
            stop_task_on_failure,
            running: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        if self.logs_enabled() && !self.waits() {
            ctx.warning(
                "Trying to get logs without waiting for the task to complete is undefined \
                 behavior.",
            );
        }
        ctx.info(&format!(
            "Running ECS Task - Task definition: {} - on cluster {}",
            self.task_definition, self.cluster
        ));
        ctx.info(&format!("EcsOperator overrides: {}", show(&self.overrides)));
        let env = |name: &str| {
            ctx.process_env()
                .iter()
                .find(|(k, _)| k == name)
                .and_then(|(_, v)| v.clone())
        };
        let mut started_by = None;
        let mut arn = None;
        if self.reattach {
            let dag_id = env("AIRFLOW_CTX_DAG_ID").unwrap_or_default();
            let run_id = env("AIRFLOW_CTX_DAG_RUN_ID").unwrap_or_default();
            // The runtime gives operators no map index: an unmapped task's is -1.
            let id = generate_uuid(&[&dag_id, ctx.task_id(), &run_id, "-1"]);
            ctx.info(&format!("Try to find run with startedBy='{id}'"));
            arn = self.find_running(ctx, &ecs, &id).await?;
            started_by = Some(id);
        }
        let started_here = arn.is_none();
        let arn = match arn {
            Some(arn) => arn,
            None => {
                let by = started_by
                    .clone()
                    .or_else(|| env("AIRFLOW_CTX_DAG_OWNER"))
                    .unwrap_or_else(|| "airflow".to_owned());
                self.start(ctx, &ecs, &by).await?
            }
        };
        self.running = Some((ecs.clone(), arn.clone()));
        ctx.xcom_push("ecs_task_arn", json!(arn));
        if !self.waits() {
            self.running = None;
            return Ok(Outcome::Success(None));
        }
        let mut fetcher = if self.logs_enabled() {
            ctx.info("Starting ECS Task Log Fetcher");
            let client = logs::client(ctx, self.logs_region())?;
            Some(TaskLogFetcher::new(
                client,
                self.awslogs_group.clone().unwrap_or_default(),
                self.logs_stream_name(ctx, &arn),
            ))
        } else {
            None
        };
        let waited = match fetcher.as_mut() {
            Some(f) => {
                // With deferrable the provider's trigger reads the logs every waiter_delay.
                let interval = if self.wait.deferrable {
                    self.wait.waiter_delay
                } else {
                    self.awslogs_fetch_interval
                };
                let interval = interval.max(Duration::from_millis(100));
                f.follow(ctx, interval, self.wait_stopped(ctx, &ecs, &arn))
                    .await
            }
            None => self.wait_stopped(ctx, &ecs, &arn).await,
        };
        if let Err(e) = waited {
            if started_here {
                self.stop_after_failure(ctx, &ecs, &arn).await;
            }
            self.running = None;
            return Err(e);
        }
        self.running = None;
        let answer = self.describe(&ecs, &arn).await?;
        ctx.info(&format!(
            "ECS Task stopped, check status: {}",
            show(&answer)
        ));
        let last_logs = match &fetcher {
            Some(f) if has_failed_container(&answer) => Some(
                f.last_messages(self.number_logs_exception)
                    .await?
                    .join("\n"),
            ),
            _ => None,
        };
        let last = last_logs
            .as_deref()
            .map(|l| (self.number_logs_exception, l));
        if let Some(skip) = check_success(&answer, &self.skip_on_exit_code, last)? {
            return Ok(Outcome::Skipped(skip));
        }
        match &fetcher {
            Some(f) => Ok(Outcome::Success(
                f.last_messages(1).await?.pop().map(Value::from),
            )),
            None => Ok(Outcome::Success(None)),
        }
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((ecs, arn)) = self.running.take() else {
            return;
        };
        let stopped = call!(
            format!("StopTask {arn}"),
            ecs.stop_task().cluster(&self.cluster).task(&arn),
            RawJson::new(&json!({
                "cluster": self.cluster,
                "task": arn,
                "reason": "Task killed by the user",
            }))
        );
        match stopped {
            Ok(answer) => ctx.info(&show(&answer)),
            Err(e) => ctx.error(&format!("Unable to stop ECS task {arn}: {e}")),
        }
    }

    /// RunTask on the task definition (`ecs:TagResource` too with `tags`), `iam:PassRole` on
    /// the roles the task runs with (those of `overrides`, else any role: the task
    /// definition's are not known before the run); ListTasks with `reattach`; DescribeTasks
    /// and StopTask on the cluster's tasks; GetLogEvents on the log group when logs are
    /// followed.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &["ecs:RunTask"],
            [task_definition_arn(&self.aws, &self.task_definition)],
        )];
        if self.tags.is_some() {
            out.push(Permission::new(
                &["ecs:TagResource"],
                [tasks_arn(&self.aws, &self.cluster)],
            ));
        }
        let roles = strings_named(&self.overrides, &["taskRoleArn", "executionRoleArn"]);
        out.extend(if roles.is_empty() {
            Some(Permission::new(
                &["iam:PassRole"],
                [arn("iam", Some(""), "role/*")],
            ))
        } else {
            pass_roles(roles)
        });
        if self.reattach {
            out.push(Permission::on_any(&["ecs:ListTasks"]));
        }
        let mut task_actions = vec!["ecs:StopTask"];
        if self.waits() || self.logs_enabled() {
            task_actions.insert(0, "ecs:DescribeTasks");
        }
        out.push(Permission::new(
            &task_actions,
            [tasks_arn(&self.aws, &self.cluster)],
        ));
        if self.logs_enabled() && self.waits() {
            out.push(Permission::new(
                &["logs:GetLogEvents"],
                [arn(
                    "logs",
                    self.logs_region(),
                    &format!(
                        "log-group:{}:log-stream:*",
                        self.awslogs_group.as_deref().unwrap_or_default()
                    ),
                )],
            ));
        }
        out
    }
}

/// Whether a container of the described task stopped with a non-zero exit code (the last
/// log lines are read for the message then).
fn has_failed_container(answer: &Value) -> bool {
    answer["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["containers"].as_array().into_iter().flatten())
        .any(|c| c["lastStatus"] == "STOPPED" && c["exitCode"].as_i64().unwrap_or(1) != 0)
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<EcsRunTaskOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EcsRunTaskOperator>(&p)
    }

    #[test]
    fn started_by_ids_are_the_providers() {
        // uuid.uuid5(uuid.NAMESPACE_OID, "a"), and generate_uuid("wf", "task", "r1", "-1").
        assert_eq!(
            generate_uuid(&["a"]),
            "d720e32d-4765-5177-b65b-42dd7f6e6445"
        );
        assert_eq!(
            generate_uuid(&["wf", "task", "r1", "-1"]),
            "78aec70f-e390-5f61-8082-96ffa15ecb12"
        );
    }

    fn task(stop_code: Option<&str>, reason: &str, containers: Value) -> Value {
        json!({"failures": [], "tasks": [{"taskArn": "arn:t", "lastStatus": "STOPPED",
            "stopCode": stop_code, "stoppedReason": reason, "containers": containers}]})
    }

    #[test]
    fn the_success_check_follows_the_provider() {
        let ok = task(
            Some("EssentialContainerExited"),
            "Essential container in task exited",
            json!([{"name": "a", "lastStatus": "STOPPED", "exitCode": 0}]),
        );
        assert_eq!(check_success(&ok, &[], None), Ok(None));
        let bad = task(
            Some("EssentialContainerExited"),
            "x",
            json!([{"name": "a", "lastStatus": "STOPPED", "exitCode": 3}]),
        );
        let e = check_success(&bad, &[], Some((2, "l1\nl2"))).unwrap_err();
        assert_eq!(
            e.message,
            "This task is not in success state - last 2 logs from Cloudwatch:\nl1\nl2"
        );
        assert!(e.retryable);
        let e = check_success(&bad, &[], None).unwrap_err();
        assert!(
            e.message.starts_with("This task is not in success state {"),
            "{e}"
        );
        assert!(matches!(check_success(&bad, &[3], None), Ok(Some(_))));
        // No exit code counts as 1.
        let none = task(None, "x", json!([{"name": "a", "lastStatus": "STOPPED"}]));
        assert!(check_success(&none, &[], None).is_err());
        assert!(matches!(check_success(&none, &[1], None), Ok(Some(_))));
        let e = check_success(
            &task(
                Some("TaskFailedToStart"),
                "CannotPullContainerError: x",
                json!([]),
            ),
            &[],
            None,
        )
        .unwrap_err();
        assert_eq!(
            e.message,
            "The task failed to start due to: CannotPullContainerError: x"
        );
        let e = check_success(
            &task(None, "Host EC2 (instance i-123) terminated.", json!([])),
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            e.message
                .starts_with("The task was stopped because the host"),
            "{e}"
        );
        let pending = task(None, "", json!([{"lastStatus": "PENDING", "exitCode": 0}]));
        assert!(
            check_success(&pending, &[], None)
                .unwrap_err()
                .message
                .starts_with("This task is still pending")
        );
        let launch = task(
            None,
            "",
            json!([{"lastStatus": "RUNNING", "reason": "CannotStartContainerError: API error"}]),
        );
        assert_eq!(
            check_success(&launch, &[], None).unwrap_err().message,
            "This containers encounter an error during launching: cannotstartcontainererror: api error"
        );
        let failures = json!({"tasks": [], "failures": [{"arn": "arn:t", "reason": "MISSING"}]});
        assert!(
            check_success(&failures, &[], None)
                .unwrap_err()
                .message
                .contains("MISSING")
        );
        assert!(!host_stopped("Host EC2 (instance ) stopped."));
        assert!(host_stopped("Host EC2 (instance i-1) stopped."));
    }

    #[test]
    fn the_waiter_wants_every_task_stopped() {
        assert_eq!(
            stopped(&json!({"tasks": [{"lastStatus": "STOPPED"}]})),
            Poll::Done(())
        );
        assert_eq!(
            stopped(&json!({"tasks": [{"lastStatus": "RUNNING"}]})),
            Poll::Pending {
                state: "RUNNING".into()
            }
        );
        assert!(matches!(
            stopped(&json!({"tasks": []})),
            Poll::Pending { .. }
        ));
    }

    #[test]
    fn the_request_and_the_log_stream_are_the_providers() {
        let op = build(json!({
            "task_definition": "td", "cluster": "c", "overrides": {},
            "network_configuration": {"awsvpcConfiguration": {"subnets": ["s-1"], "assignPublicIp": "ENABLED"}},
            "tags": {"team": "data"}, "propagate_tags": "TASK_DEFINITION",
            "awslogs_group": "/ecs/x", "awslogs_stream_prefix": "ecs", "container_name": "app"
        }))
        .unwrap();
        assert_eq!(
            op.run_task_body("airflow"),
            json!({"cluster": "c", "taskDefinition": "td", "overrides": {}, "startedBy": "airflow",
                "launchType": "EC2",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": ["s-1"], "assignPublicIp": "ENABLED"}},
                "tags": [{"key": "team", "value": "data"}], "propagateTags": "TASK_DEFINITION"})
        );
        let op = build(json!({"task_definition": "td", "cluster": "c", "overrides": {},
            "launch_type": "FARGATE", "capacity_provider_strategy": [{"capacityProvider": "FARGATE_SPOT"}]}))
        .unwrap();
        let body = op.run_task_body("x");
        assert!(body.get("launchType").is_none());
        assert_eq!(
            body["capacityProviderStrategy"][0]["capacityProvider"],
            "FARGATE_SPOT"
        );
        let op = build(
            json!({"task_definition": "td", "cluster": "c", "overrides": {}, "launch_type": null}),
        )
        .unwrap();
        assert!(op.run_task_body("x").get("launchType").is_none());
        assert_eq!(op.wait.waiter_max_attempts, 1_000_000);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(6));
    }

    #[test]
    fn parameters_are_checked() {
        let e = build(json!({"task_definition": "td", "cluster": "c"})).unwrap_err();
        assert_eq!(e.param(), Some("overrides"));
        let e = build(json!({"task_definition": "td", "cluster": "c", "overrides": {"containerOverrides": [{"name": "a", "commands": []}]}}))
            .unwrap_err();
        assert!(
            e.message()
                .contains("`overrides.containerOverrides[0]` has the unknown key `commands`"),
            "{e}"
        );
        let op = build(json!({"task_definition": "td", "cluster": "c", "overrides": {}, "skip_on_exit_code": [2, 3], "quota_retry": {"stop_after_attempt": 3}}))
            .unwrap();
        assert_eq!(op.skip_on_exit_code, [2, 3]);
        let op = build(json!({"task_definition": "td", "cluster": "c", "overrides": {}, "skip_on_exit_code": 4}))
            .unwrap();
        assert_eq!(op.skip_on_exit_code, [4]);
        assert!(build(json!({"task_definition": "td", "cluster": "c", "overrides": {}, "skip_on_exit_code": "x"})).is_err());
    }

    #[test]
    fn permissions_follow_the_parameters() {
        let op = build(json!({
            "task_definition": "etl:3", "cluster": "jobs", "overrides": {"taskRoleArn": "arn:aws:iam::1:role/t"},
            "awslogs_group": "/ecs/etl", "awslogs_stream_prefix": "ecs/app", "reattach": true
        }))
        .unwrap();
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["ecs:RunTask"],
                    ["arn:aws:ecs:{region}:{account}:task-definition/etl:3"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/t"]),
                Permission::on_any(&["ecs:ListTasks"]),
                Permission::new(
                    &["ecs:DescribeTasks", "ecs:StopTask"],
                    ["arn:aws:ecs:{region}:{account}:task/jobs/*"]
                ),
                Permission::new(
                    &["logs:GetLogEvents"],
                    ["arn:aws:logs:{region}:{account}:log-group:/ecs/etl:log-stream:*"]
                ),
            ]
        );
        let op = build(json!({"task_definition": "etl", "cluster": "jobs", "overrides": {}, "wait_for_completion": false}))
            .unwrap();
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["ecs:RunTask"],
                    ["arn:aws:ecs:{region}:{account}:task-definition/etl:*"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::{account}:role/*"]),
                Permission::new(
                    &["ecs:StopTask"],
                    ["arn:aws:ecs:{region}:{account}:task/jobs/*"]
                ),
            ]
        );
    }
}
