//! airtask as the task runner of a real Airflow 3 deployment: the container command that
//! Airflow's Kubernetes, ECS and Batch executors send (`python -m
//! airflow.sdk.execution_time.execute_workload --json-string <ExecuteTask JSON>`, also `airtask
//! execute-workload`), doing what Airflow's Python supervisor does through the Task Execution
//! API: `PATCH run`, heartbeats (a 404/409/410 answer stops the task as SIGTERM does), XComs
//! through the API, and exactly one final state (`success`, `skipped`, `failed`, or
//! `up_for_retry` when the server says the try may be retried). See docs/airflow.md.

mod api;
mod comm;
mod coordinator;
mod dags;
mod workload;

pub(crate) use coordinator::{CoordinatorArgs, coordinator};

use std::any::Any;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airtask_aws::identity::TaskIdentity;
use airtask_core::retry;
use airtask_core::{Level, LogSink, Outcome, TaskContext as OpContext, TaskError};
use airtask_template::Renderer;
use airtask_workflow::{Task, Workflow};
use serde_json::{Value, json};
use tokio::sync::watch;

use self::api::{Client, RetrySettings, RunContext};
use self::workload::Workload;
use crate::cli::ExecuteWorkloadArgs;
use crate::clock;
use crate::definition::{find_task, load_valid};
use crate::exit::run_task as exit;
use crate::exit::{CliError, usage};
use crate::identity::{Identity, Roles};
use crate::registry::registry;
use crate::render::{Instance, render_template_fields, template_context};
use crate::task_instance::tries::{TryEnd, classify, execute_try};
use crate::tasklog::{Destination, TaskLog};

/// The module Airflow's executors run; `airtask python -m <this> ...` is this command.
pub(crate) const EXECUTE_WORKLOAD_MODULE: &str = "airflow.sdk.execution_time.execute_workload";

/// When `argv` is the command Airflow's executors send (`python -m
/// airflow.sdk.execution_time.execute_workload ...` after the program name), the arguments
/// after the module; `None` otherwise.
pub(crate) fn container_command(argv: &[std::ffi::OsString]) -> Option<Vec<std::ffi::OsString>> {
    let prog = argv.get(1)?.to_str()?;
    let name = prog.rsplit('/').next().unwrap_or(prog);
    let is_python = name == "python" || name.starts_with("python3");
    if is_python
        && argv.get(2).and_then(|a| a.to_str()) == Some("-m")
        && argv.get(3).and_then(|a| a.to_str()) == Some(EXECUTE_WORKLOAD_MODULE)
    {
        Some(argv[4..].to_vec())
    } else {
        None
    }
}

/// `[core] execution_api_server_url`, else `[api] base_url` + `execution/`, else
/// `http://localhost:8080/execution/`, as Airflow's executors resolve it.
fn server_url() -> String {
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    if let Some(u) = env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL") {
        return u;
    }
    let base = env("AIRFLOW__API__BASE_URL")
        .filter(|b| b.starts_with("http://") || b.starts_with("https://"))
        .unwrap_or_else(|| "http://localhost:8080".to_owned());
    format!("{}/execution/", base.trim_end_matches('/'))
}

/// Why the task was stopped from outside, when it was.
#[derive(Clone, Default)]
struct StopReason(Arc<Mutex<Option<String>>>);

impl StopReason {
    fn set(&self, why: String) {
        if let Ok(mut r) = self.0.lock()
            && r.is_none()
        {
            *r = Some(why);
        }
    }
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|r| r.clone())
    }
}

/// Where a task's XComs and Variables live: the Task Execution API (`execute-workload`), or
/// the Task SDK supervisor at the other end of `--comm` (`coordinator`), which relays them to
/// the same API.
#[derive(Clone)]
enum Store {
    Api(Box<Client>),
    Comm(comm::Comm),
}

impl Store {
    async fn get_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<Option<Value>, String> {
        match self {
            Store::Api(c) => c
                .get_xcom(dag_id, run_id, task_id, key, map_index)
                .await
                .map_err(|e| e.to_string()),
            Store::Comm(c) => c.get_xcom(dag_id, run_id, task_id, key, map_index).await,
        }
    }

    async fn set_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
        value: &Value,
    ) -> Result<(), String> {
        match self {
            Store::Api(c) => c
                .set_xcom(dag_id, run_id, task_id, key, map_index, value)
                .await
                .map_err(|e| e.to_string()),
            Store::Comm(c) => {
                c.set_xcom(dag_id, run_id, task_id, key, map_index, value)
                    .await
            }
        }
    }

    async fn delete_xcom(
        &self,
        dag_id: &str,
        run_id: &str,
        task_id: &str,
        key: &str,
        map_index: i64,
    ) -> Result<(), String> {
        match self {
            Store::Api(c) => c
                .delete_xcom(dag_id, run_id, task_id, key, map_index)
                .await
                .map_err(|e| e.to_string()),
            Store::Comm(c) => c.delete_xcom(dag_id, run_id, task_id, key, map_index).await,
        }
    }

    async fn set_rendered_fields(&self, ti_id: &str, fields: &Value) -> Result<(), String> {
        match self {
            Store::Api(c) => c
                .set_rendered_fields(ti_id, fields)
                .await
                .map_err(|e| e.to_string()),
            Store::Comm(c) => c.set_rendered_fields(fields).await,
        }
    }

    async fn get_variable(&self, key: &str) -> Result<Option<String>, String> {
        match self {
            Store::Api(c) => c.get_variable(key).await.map_err(|e| e.to_string()),
            Store::Comm(c) => c.get_variable(key).await,
        }
    }

    async fn get_connection(&self, conn_id: &str) -> Result<Option<Value>, String> {
        match self {
            Store::Api(c) => c.get_connection(conn_id).await.map_err(|e| e.to_string()),
            Store::Comm(c) => c.get_connection(conn_id).await,
        }
    }
}

/// XComs, Variables and connections read from Airflow, from the rendering thread (blocking on
/// the runtime).
struct ApiXcoms {
    store: Store,
    log: Arc<TaskLog>,
    handle: tokio::runtime::Handle,
    dag_id: String,
    run_id: String,
}

impl airtask_template::XcomSource for ApiXcoms {
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        map_index: Option<i64>,
    ) -> Result<Option<Value>, String> {
        self.handle
            .block_on(self.store.get_xcom(
                &self.dag_id,
                &self.run_id,
                task_id,
                key,
                map_index.unwrap_or(-1),
            ))
            .map_err(|e| format!("cannot read the XCom from Airflow: {e}"))
    }

    fn variable(&self, key: &str) -> Result<Option<String>, String> {
        self.handle
            .block_on(self.store.get_variable(key))
            .map_err(|e| format!("cannot read the Variable from Airflow: {e}"))
    }

    fn connection(&self, conn_id: &str) -> Result<Option<Value>, String> {
        let conn = self
            .handle
            .block_on(self.store.get_connection(conn_id))
            .map_err(|e| format!("cannot read the connection from Airflow: {e}"))?;
        // Its secrets never reach the task log (from 5 characters, Airflow's
        // `[logging] min_length_masked_secret`).
        if let Some(c) = &conn {
            let secrets = ["password", "extra"]
                .iter()
                .filter_map(|k| c.get(*k).and_then(Value::as_str))
                .filter(|s| s.chars().count() >= 5)
                .map(str::to_owned)
                .collect();
            self.log.mask(secrets);
        }
        Ok(conn)
    }
}

/// The local log file and the CloudWatch destination of the attempt, as Airflow's logging
/// configuration says.
struct LogPlan {
    dest: Destination,
    /// The region of the CloudWatch log group's ARN, when remote logging is on.
    cloudwatch_region: Option<String>,
}

/// Airflow's default `log_filename_template`, rendered.
fn default_log_path(w: &Workload) -> String {
    let ti = &w.ti;
    let mut p = format!(
        "dag_id={}/run_id={}/task_id={}/",
        ti.dag_id, ti.run_id, ti.task_id
    );
    if ti.map_index >= 0 {
        p.push_str(&format!("map_index={}/", ti.map_index));
    }
    p.push_str(&format!("attempt={}.log", ti.try_number));
    p
}

/// `[logging]`: the local file `base_log_folder/log_path`, and with `remote_logging` and a
/// `cloudwatch://arn:aws:logs:<region>:<account>:log-group:<group>` remote folder, the group
/// and stream Airflow's CloudWatch handler uses (`log_path` with `:` replaced by `_`).
fn log_plan(w: &Workload) -> Result<LogPlan, String> {
    let env = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    let base = env("AIRFLOW__LOGGING__BASE_LOG_FOLDER")
        .map_or_else(|| dags::airflow_home().join("logs"), PathBuf::from);
    let rel = w
        .log_path
        .clone()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| default_log_path(w));
    // The path comes from the scheduler; it must stay under the log folder.
    if Path::new(&rel).is_absolute() || rel.split('/').any(|c| c == "..") {
        return Err(format!(
            "the workload's log_path '{rel}' leaves the log folder; Airflow renders it from \
             [logging] log_filename_template as a relative path"
        ));
    }
    let remote = env("AIRFLOW__LOGGING__REMOTE_LOGGING")
        .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "t"));
    let folder = env("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER").unwrap_or_default();
    let (group, region) = match folder.strip_prefix("cloudwatch://") {
        Some(arn) if remote => {
            let parts: Vec<&str> = arn.splitn(7, ':').collect();
            match parts.as_slice() {
                ["arn", _, "logs", region, _, "log-group", group] if !group.is_empty() => {
                    let group = group.trim_end_matches(":*");
                    (group.to_owned(), Some((*region).to_owned()))
                }
                _ => {
                    return Err(format!(
                        "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER is '{folder}'; a CloudWatch \
                         folder is cloudwatch://arn:aws:logs:<region>:<account>:log-group:<group>"
                    ));
                }
            }
        }
        _ => (String::new(), None),
    };
    Ok(LogPlan {
        dest: Destination {
            group,
            stream: rel.replace(':', "_"),
            file: base.join(&rel),
        },
        cloudwatch_region: region,
    })
}

/// The host name (`/proc/sys/kernel/hostname`, else `$HOSTNAME`), as the supervisor sends it.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

fn unixname() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "airtask".to_owned())
}

fn iso(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// `airtask execute-workload` (and the container command).
pub(crate) fn execute_workload(args: &ExecuteWorkloadArgs) -> Result<u8, CliError> {
    let (text, origin) = match (&args.json_string, &args.json_path) {
        (Some(s), None) => (s.clone(), "--json-string".to_owned()),
        (None, Some(p)) => match std::fs::read_to_string(p) {
            Ok(t) => (t, p.display().to_string()),
            Err(e) => {
                return Err(usage(&format!(
                    "--json-path {}: cannot read the workload: {e}",
                    p.display()
                )));
            }
        },
        _ => {
            return Err(usage(
                "give the workload with exactly one of --json-string '<ExecuteTask JSON>' and \
                 --json-path FILE, as Airflow's executors do",
            ));
        }
    };
    let w = Workload::parse(&text, &origin).map_err(|e| usage(&e))?;
    let retry = RetrySettings::from_env().map_err(|e| usage(&e))?;
    let client = Client::new(&server_url(), &w.token, retry).map_err(CliError::Infra)?;
    let roles = Roles::resolve(&crate::cli::RoleArgs::default()).map_err(|e| usage(&e))?;
    let rt = crate::exit::async_runtime().map_err(CliError::Infra)?;
    let identity = Identity::new(roles);
    rt.block_on(supervise(args, &w, client, &identity))
}

/// Finds and loads the definition; a failure here is reported to Airflow as the task's failure
/// once the task instance is started (so that the UI shows why).
/// The file and the workflow it defines.
fn definition(dags_folder: Option<&Path>, w: &Workload) -> Result<(String, Workflow), String> {
    let folder = dags::dags_folder(dags_folder);
    let file = dags::find_definition(&folder, &w.dag_rel_path, &w.ti.dag_id)?;
    let file = file.display().to_string();
    let (_, wf) = load_valid(&file, None, exit::INVALID).map_err(|e| e.to_string())?;
    if wf.workflow_id != w.ti.dag_id {
        return Err(format!(
            "{file} defines DAG '{}', not '{}'",
            wf.workflow_id, w.ti.dag_id
        ));
    }
    Ok((file, wf))
}

async fn supervise(
    args: &ExecuteWorkloadArgs,
    w: &Workload,
    client: Client,
    identity: &Identity,
) -> Result<u8, CliError> {
    let ti = &w.ti;
    let host = hostname();
    let pid = std::process::id();
    let plan = log_plan(w).map_err(|e| usage(&e))?;
    let started = clock::now();
    // The task instance is ours from here on: the answer says how to run it.
    let run = match client
        .start(&ti.id, &host, &unixname(), pid, &iso(started))
        .await
    {
        Ok(r) => r,
        Err(e) => {
            let why = match e.status().map(|s| s.as_u16()) {
                Some(409) => {
                    "; the task instance is not queued any more (another worker runs it, or it was cleared or marked)"
                }
                Some(404) => {
                    "; the task instance does not exist (it was cleared or the run deleted)"
                }
                _ => "",
            };
            return Err(CliError::Infra(format!(
                "cannot start task '{}' of DAG '{}' (run {}, try {}): {e}{why}",
                ti.task_id, ti.dag_id, ti.run_id, ti.try_number
            )));
        }
    };
    // The log: the local file, and CloudWatch when remote logging names a group.
    let log = Arc::new(TaskLog::default());
    log.mask(vec![w.token.clone()]);
    let ship = if plan.dest.group.is_empty() {
        None
    } else {
        match identity.execution("airtask-airflow-logs").await {
            Ok(layer) => {
                let mut b = layer.config.to_builder();
                if let Some(r) = &plan.cloudwatch_region {
                    b.set_region(Some(aws_config::Region::new(r.clone())));
                }
                Some(b.build())
            }
            Err(e) => {
                eprintln!("warning: the task log is not shipped to CloudWatch: {e}");
                None
            }
        }
    };
    let log_error = log.start_attempt(&plan.dest, ship.as_ref()).err();
    let sink: Arc<dyn LogSink> = log.clone();
    if let Some(e) = &log_error {
        eprintln!("warning: {e}");
    }
    sink.line(
        Level::Info,
        "airtask",
        &format!(
            "Running task '{}' of DAG '{}' (run {}, try {}, queue {}, bundle {}{}) with airtask {}",
            ti.task_id,
            ti.dag_id,
            ti.run_id,
            ti.try_number,
            ti.queue.as_deref().unwrap_or("default"),
            w.bundle_info.name,
            w.bundle_info
                .version
                .as_deref()
                .map(|v| format!(" version {v}"))
                .unwrap_or_default(),
            env!("CARGO_PKG_VERSION")
        ),
    );

    // Heartbeats, and SIGTERM/SIGINT: both stop the try through `stop`.
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    let reason = StopReason::default();
    let server_stopped = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let heartbeat = {
        let client = client.clone();
        let (stop_tx, reason, server_stopped) =
            (stop_tx.clone(), reason.clone(), server_stopped.clone());
        let (ti_id, host) = (ti.id.clone(), host.clone());
        let log = sink.clone();
        let every = heartbeat_interval();
        tokio::spawn(async move {
            let mut failures = 0u32;
            loop {
                tokio::time::sleep(every).await;
                match client.heartbeat(&ti_id, &host, pid).await {
                    Ok(()) => failures = 0,
                    Err(e) if matches!(e.status().map(|s| s.as_u16()), Some(404 | 409 | 410)) => {
                        server_stopped.store(true, std::sync::atomic::Ordering::SeqCst);
                        reason.set(format!(
                            "Airflow says the task instance may not run any more ({e}): it was \
                             marked, cleared or runs elsewhere"
                        ));
                        let _ = stop_tx.send(true);
                        return;
                    }
                    Err(e) => {
                        failures += 1;
                        log.line(
                            Level::Warning,
                            "airtask",
                            &format!("Heartbeat {failures} failed: {e}"),
                        );
                        if failures >= 3 {
                            reason.set(format!(
                                "the Execution API did not take 3 heartbeats in a row (last: {e})"
                            ));
                            let _ = stop_tx.send(true);
                            return;
                        }
                    }
                }
            }
        })
    };
    {
        let (stop_tx, reason) = (stop_tx.clone(), reason.clone());
        tokio::spawn(async move {
            let Ok(mut term) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            else {
                return;
            };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            reason.set("stopped by a signal (SIGTERM or SIGINT)".to_owned());
            let _ = stop_tx.send(true);
        });
    }

    let store = Store::Api(Box::new(client.clone()));
    let mut outlets = Vec::new();
    let end = run_try(
        args.dags_folder.as_deref(),
        w,
        &run,
        &store,
        identity,
        &sink,
        &log,
        stop_rx,
        &mut outlets,
    )
    .await;
    heartbeat.abort();
    log.flush_mirror();

    let end_date = iso(clock::now());
    let (state, message) = final_state(&end, &run, ti.try_number, &reason);
    let stopped_by_server = server_stopped.load(std::sync::atomic::Ordering::SeqCst);
    let detail = message.map(|m| format!(": {m}")).unwrap_or_default();
    if stopped_by_server {
        sink.line(
            Level::Error,
            "airtask",
            &format!("Task stopped{detail}; its state stays what Airflow set"),
        );
    } else {
        let level = if matches!(state, "success" | "skipped") {
            Level::Info
        } else {
            Level::Error
        };
        sink.line(level, "airtask", &format!("Task ended {state}{detail}"));
    }
    let _ = log.end_attempt(Duration::from_secs(20)).await;
    if stopped_by_server {
        return Ok(exit::STOPPED);
    }
    let mut body = json!({"state": state, "end_date": end_date});
    if state == "success" {
        body["task_outlets"] = Value::Array(outlets);
        body["outlet_events"] = json!([]);
    }
    if let Err(e) = client.finish(&ti.id, &body).await {
        return Err(CliError::Infra(format!(
            "task '{}' ended {state}, but Airflow was not told: {e}",
            ti.task_id
        )));
    }
    Ok(match state {
        "success" | "skipped" => exit::OK,
        _ => exit::FAILED,
    })
}

/// The state a try ends in, as Airflow's task runner decides it, and why.
fn final_state(
    end: &Ended,
    run: &RunContext,
    try_number: u32,
    reason: &StopReason,
) -> (&'static str, Option<String>) {
    let should_retry = run
        .should_retry
        .unwrap_or_else(|| run.max_tries.is_some_and(|m| try_number <= m));
    let timeout = Duration::from_secs(0);
    match end {
        Ended::Try(end, invalid) => {
            let (status, _, error, policy_end) = classify(end, *invalid, timeout);
            let retryable = match policy_end {
                retry::TryEnd::Failed { retryable } => retryable,
                retry::TryEnd::TimedOut => true,
                // As everywhere in airtask: a stopped try, invalid input and infrastructure
                // failures are not retried.
                retry::TryEnd::Done | retry::TryEnd::Stopped | retry::TryEnd::Fatal => false,
            };
            let state = match status {
                airtask_core::instance::TaskState::Success => "success",
                airtask_core::instance::TaskState::Skipped => "skipped",
                _ if retryable && should_retry => "up_for_retry",
                _ => "failed",
            };
            let message = match end {
                TryEnd::Stopped => reason.get().or(error),
                TryEnd::TimedOut => Some("the try exceeded its execution_timeout".to_owned()),
                _ => error,
            };
            (state, message)
        }
        Ended::Before(e) => ("failed", Some(e.clone())),
    }
}

/// The heartbeat cadence: `[workers] min_heartbeat_interval` (default 5 s), at most 5 s.
fn heartbeat_interval() -> Duration {
    let secs = std::env::var("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(5.0)
        .min(5.0);
    Duration::from_secs_f64(secs)
}

/// How the task ended: its try ran (`invalid` marks a template or parameter failure), or it
/// could not start (no definition, the XComs of an earlier try could not be cleared).
enum Ended {
    Try(TryEnd, bool),
    Before(String),
}

#[allow(clippy::too_many_arguments)]
async fn run_try(
    dags_folder: Option<&Path>,
    w: &Workload,
    run: &RunContext,
    store: &Store,
    identity: &Identity,
    log: &Arc<dyn LogSink>,
    tasklog: &Arc<TaskLog>,
    stop: watch::Receiver<bool>,
    outlets: &mut Vec<Value>,
) -> Ended {
    let ti = &w.ti;
    let wf = match definition(dags_folder, w) {
        Ok((file, wf)) => {
            log.line(
                Level::Info,
                "airtask",
                &format!("DAG '{}' is defined in {file}", wf.workflow_id),
            );
            wf
        }
        Err(e) => return Ended::Before(e),
    };
    let task = match find_task(&wf, &ti.task_id) {
        Ok(t) => t.clone(),
        Err(e) => return Ended::Before(e),
    };
    // The assets a success updates, as the API's AssetProfile: Airflow's scheduler then
    // records an asset event for each (and runs the DAGs scheduled on them).
    *outlets = task
        .outlets
        .iter()
        .map(|a| json!({"name": a.name, "uri": a.uri, "type": "Asset"}))
        .collect();
    if task.implementation.is_none() {
        return Ended::Before(format!(
            "task '{}': the operator {} is not implemented by airtask",
            task.task_id, task.operator
        ));
    }
    if task.mapping.is_some() || ti.map_index >= 0 {
        return Ended::Before(format!(
            "task '{}' is mapped (expand); airtask does not run mapped task instances under \
             Airflow yet. Route it to Airflow's Python worker",
            task.task_id
        ));
    }
    // XComs of an earlier try go first, as Airflow's task runner deletes them.
    for key in &run.xcom_keys_to_clear {
        if let Err(e) = store
            .delete_xcom(&ti.dag_id, &ti.run_id, &ti.task_id, key, ti.map_index)
            .await
        {
            return Ended::Before(format!(
                "cannot clear the XCom '{key}' of an earlier try: {e}"
            ));
        }
    }
    let conf = run
        .dag_run
        .conf
        .as_ref()
        .filter(|c| c.as_object().is_some_and(|m| !m.is_empty()))
        .map(Value::to_string);
    let logical = run
        .dag_run
        .logical_date
        .clone()
        .or_else(|| run.dag_run.run_after.clone());
    let inst = Instance {
        logical_date: logical.as_deref(),
        run_id: Some(&ti.run_id),
        map_index: ti.map_index,
        try_number: ti.try_number,
        // dag_run.conf overrides params, as `[core] dag_run_conf_overrides_params` (True).
        params: conf.as_deref(),
    };
    let mut tctx = match template_context(&wf, &task, &inst) {
        Ok(c) => c,
        Err(e) => return Ended::Try(TryEnd::Failed(TaskError::fatal(e)), true),
    };
    let parse = |s: &Option<String>| s.as_deref().and_then(|s| s.parse::<jiff::Timestamp>().ok());
    if let Some(t) = parse(&run.dag_run.data_interval_start) {
        tctx.data_interval_start = t;
    }
    if let Some(t) = parse(&run.dag_run.data_interval_end) {
        tctx.data_interval_end = t;
    }
    if let Some(kind) = &run.dag_run.run_type {
        tctx.run_type.clone_from(kind);
    }
    let reg = registry();
    let Some(info) = reg.lookup(task.implementation.as_deref().unwrap_or_default()) else {
        return Ended::Before(format!("the operator {} is not implemented", task.operator));
    };
    let timeout = Duration::from_secs_f64(task.execution_timeout.as_secs_f64());
    let deadline = tokio::time::Instant::now() + timeout;

    // Rendering runs on a thread of its own (XComs are read from the API there).
    let xcoms = ApiXcoms {
        store: store.clone(),
        log: tasklog.clone(),
        handle: tokio::runtime::Handle::current(),
        dag_id: ti.dag_id.clone(),
        run_id: ti.run_id.clone(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job_task = task.clone();
    let job_ctx = tctx.clone();
    let job_log = tasklog.clone();
    let spawned = std::thread::Builder::new()
        .name("render".into())
        .stack_size(32 * 1024 * 1024)
        .spawn(move || {
            let _ = tx.send(prepare(&job_task, &job_ctx, xcoms, info, &job_log));
        });
    if let Err(e) = spawned {
        return Ended::Before(format!(
            "cannot start a thread to render the templates: {e}"
        ));
    }
    let mut stop_prep = stop.clone();
    let prepared = tokio::select! {
        r = rx => r.unwrap_or_else(|_| Err("the rendering thread ended".to_owned())),
        () = tokio::time::sleep_until(deadline) => return Ended::Try(TryEnd::TimedOut, false),
        _ = stop_prep.wait_for(|s| *s) => return Ended::Try(TryEnd::Stopped, false),
    };
    let (mut op, rendered) = match prepared {
        Ok(prepared) => prepared,
        Err(e) => return Ended::Try(TryEnd::Failed(TaskError::retryable(e)), true),
    };
    // The Rendered Template tab, as Airflow's task runner fills it before the operator runs.
    // Losing it does not fail the task: the values are also in the task log.
    let sent = if rendered.is_empty() {
        Ok(())
    } else {
        let fields = rendered
            .iter()
            .map(|(k, v)| (k.clone(), tasklog.redact(k, v)))
            .collect();
        store
            .set_rendered_fields(&ti.id, &Value::Object(fields))
            .await
    };
    if let Err(e) = sent {
        log.line(
            Level::Warning,
            "airtask",
            &format!("The rendered template fields could not be stored in Airflow: {e}"),
        );
    }
    // The task's identity: its own role, else the execution role, else the base credentials.
    let calls_aws = info.spec().calls_aws;
    let mut ctx = OpContext::new(
        info.spec(),
        task.task_id.clone(),
        ti.try_number,
        log.clone(),
    )
    .with_time_budget(timeout)
    .with_process_env(
        [
            ("AIRFLOW_CTX_DAG_ID", ti.dag_id.clone()),
            ("AIRFLOW_CTX_TASK_ID", ti.task_id.clone()),
            ("AIRFLOW_CTX_TRY_NUMBER", ti.try_number.to_string()),
            ("AIRFLOW_CTX_DAG_RUN_ID", ti.run_id.clone()),
            ("AIRFLOW_CTX_DAG_OWNER", tctx.owner.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), Some(v)))
        .collect(),
    );
    if calls_aws || task.role_arn.is_some() {
        let session = airtask_aws::identity::session_name(&ti.dag_id, &ti.task_id, ti.try_number);
        match identity
            .task(task.role_arn.as_deref(), &session, timeout)
            .await
        {
            Ok(layer) => {
                tasklog.mask(layer.secrets());
                ctx = ctx.with_aws(Arc::new(TaskIdentity {
                    config: layer.config,
                }) as Arc<dyn Any + Send + Sync>);
            }
            Err(e) => {
                return Ended::Try(
                    TryEnd::Failed(TaskError {
                        message: format!("{e}; the operator did not run"),
                        retryable: e.retryable(),
                    }),
                    false,
                );
            }
        }
    }
    let mut stop_exec = stop.clone();
    let end = execute_try(
        &mut op,
        &ctx,
        deadline,
        &mut stop_exec,
        tasklog.fault(),
        log.as_ref(),
    )
    .await;
    // The XComs of a successful try: the pushed keys, then return_value.
    let end = match end {
        TryEnd::Done(Outcome::Success(value)) => {
            let mut values = ctx.pushed();
            if task.do_xcom_push
                && let Some(v) = value.clone()
            {
                values.push(("return_value".into(), v));
            }
            let mut failed = None;
            for (key, v) in &values {
                if let Err(e) = store
                    .set_xcom(&ti.dag_id, &ti.run_id, &ti.task_id, key, ti.map_index, v)
                    .await
                {
                    failed = Some(format!("cannot store the XCom '{key}' in Airflow: {e}"));
                    break;
                }
            }
            match failed {
                Some(e) => TryEnd::Failed(TaskError::retryable(e)),
                None => TryEnd::Done(Outcome::Success(value)),
            }
        }
        other => other,
    };
    Ended::Try(end, false)
}

/// Renders the template fields and builds the operator (on the rendering thread).
fn prepare(
    task: &Task,
    tctx: &airtask_template::TaskContext,
    xcoms: ApiXcoms,
    info: &'static airtask_core::Entry,
    log: &TaskLog,
) -> Result<(airtask_core::BuiltOperator, serde_json::Map<String, Value>), String> {
    let renderer = Renderer::new(tctx, Rc::new(xcoms))
        .map_err(|e| format!("the run's logical date is out of range: {e}"))?;
    let rendered = render_template_fields(task, &renderer)
        .map_err(|e| format!("task '{}': {e}", task.task_id))?;
    let mut params = airtask_core::Params::new();
    let mut defaults = airtask_core::Params::new();
    for p in &task.parameters {
        let to = if p.origin == airtask_workflow::Origin::DefaultArgs {
            &mut defaults
        } else {
            &mut params
        };
        to.insert(p.name.clone(), p.value.to_json());
    }
    params.extend(rendered.clone());
    log.mask(crate::tasklog::sensitive_values(&params));
    let op = info
        .build_with_defaults(&params, &defaults)
        .map_err(|e| format!("task '{}': {e}", task.task_id))?;
    Ok((op, rendered))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executors_argv_is_recognised() {
        let argv: Vec<std::ffi::OsString> = [
            "/usr/bin/airtask",
            "python",
            "-m",
            EXECUTE_WORKLOAD_MODULE,
            "--json-string",
            "{}",
        ]
        .iter()
        .map(Into::into)
        .collect();
        let rest = container_command(&argv).unwrap();
        assert_eq!(rest, ["--json-string", "{}"]);
        let other: Vec<std::ffi::OsString> = ["airtask", "run", "x.yaml"]
            .iter()
            .map(Into::into)
            .collect();
        assert!(container_command(&other).is_none());
    }

    #[test]
    fn the_default_log_path_is_airflows_template() {
        let w = Workload::parse(
            r#"{"token":"t","ti":{"id":"1","task_id":"t","dag_id":"d","run_id":"r:1","try_number":3}}"#,
            "x",
        )
        .unwrap();
        assert_eq!(
            default_log_path(&w),
            "dag_id=d/run_id=r:1/task_id=t/attempt=3.log"
        );
    }
}
