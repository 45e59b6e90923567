//! `airtask run-task`: one task instance with Airflow's try loop (retries, retry_delay,
//! execution_timeout), stop on SIGTERM/SIGINT, XCom written only when a try succeeds, and the
//! task record.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airtask_aws::identity::{TaskIdentity, session_name};
use airtask_core::store::LocalStore;
use airtask_core::{Level, LogSink, Outcome, TaskContext as OpContext, TaskError};
use airtask_template::Renderer;
use airtask_workflow::{Task, Workflow};
use jiff::Timestamp;
use serde_json::json;
use tokio::sync::watch;

use crate::cli::{Format, RunTaskArgs};
use crate::clock;
use crate::commands::usage;
use crate::definition::{find_task, load_valid_as};
use crate::identity::{Identity, Layer, Roles};
use crate::registry::registry;
use crate::render::{Instance, render_template_fields, template_context, xcom_source};
use crate::state::State;
use crate::tasklog::{Destination, TaskLog, delivery_json};

/// Exit codes of `run-task` (documented in the README).
pub(crate) mod exit {
    /// The task succeeded or was skipped.
    pub(crate) const OK: u8 = 0;
    /// The task failed.
    pub(crate) const FAILED: u8 = 1;
    /// Invalid input: arguments, definition, templates, operator parameters.
    pub(crate) const INVALID: u8 = 2;
    /// The last try timed out.
    pub(crate) const TIMEOUT: u8 = 3;
    /// Stopped by SIGTERM or SIGINT.
    pub(crate) const STOPPED: u8 = 4;
    /// Infrastructure failure: the execution role could not be assumed, or the state could not
    /// be read or written.
    pub(crate) const INFRA: u8 = 5;
    /// The task succeeded (or was skipped), but log lines could not be delivered to CloudWatch
    /// (they are in the spill file the record names).
    pub(crate) const LOGS_UNDELIVERED: u8 = 6;
    /// Another try of the same task instance holds its lock: this one did not start.
    pub(crate) const BUSY: u8 = 7;
}

/// MWAA Serverless's quota on the XCom values of one task instance.
const MAX_XCOM_BYTES: usize = 200 * 1024;

/// The task instance record, written to the store after every state change.
struct Record {
    path: PathBuf,
    body: serde_json::Map<String, serde_json::Value>,
}

impl Record {
    fn set(&mut self, key: &str, v: serde_json::Value) {
        self.body.insert(key.to_owned(), v);
    }

    /// Writes the record atomically (a temporary file renamed over the old one).
    fn save(&self) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tmp = self
            .path
            .with_extension(format!("json.tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(&serde_json::Value::Object(self.body.clone()))
            .map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }
}

fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

/// Writes the XCom values of a successful try: all or nothing (a temporary directory renamed
/// into place).
fn write_xcoms(
    store: &LocalStore,
    wf: &str,
    run_id: &str,
    task_id: &str,
    map_index: i64,
    values: &[(String, serde_json::Value)],
) -> Result<Vec<PathBuf>, String> {
    let dir = store.task_dir(wf, run_id, task_id, map_index);
    let final_dir = dir.join("xcom");
    let tmp = dir.join(format!(".xcom.tmp{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| {
        std::fs::create_dir_all(&tmp)
            .map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let mut files = Vec::with_capacity(values.len());
        for (key, value) in values {
            let path = store.xcom_path(wf, run_id, task_id, map_index, key);
            let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
            std::fs::write(tmp.join(&name), value.to_string()).map_err(|e| {
                format!(
                    "cannot write the XCom value {key} to {}: {e}",
                    tmp.join(&name).display()
                )
            })?;
            files.push(final_dir.join(name));
        }
        let _ = std::fs::remove_dir_all(&final_dir);
        std::fs::rename(&tmp, &final_dir)
            .map_err(|e| format!("cannot write {}: {e}", final_dir.display()))?;
        Ok(files)
    })();
    if written.is_err() {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

/// Takes the exclusive lock of one task instance (`<state_dir>/<workflow>/<run>/<task>/<map
/// index>/.lock`): one try of a task instance runs at a time, as in Airflow. The lock is held
/// until the returned file is dropped (the OS releases it when the process ends, however it
/// ends).
fn lock_instance(
    state_dir: &Path,
    wf: &str,
    run_id: &str,
    task_id: &str,
    map_index: i64,
) -> Result<nix::fcntl::Flock<std::fs::File>, (u8, String)> {
    let dir = LocalStore::new(state_dir).task_dir(wf, run_id, task_id, map_index);
    let path = dir.join(".lock");
    let infra = |e: std::io::Error| {
        (
            exit::INFRA,
            format!(
                "cannot take the task instance's lock {}: {e}",
                path.display()
            ),
        )
    };
    std::fs::create_dir_all(&dir)
        .map_err(|e| (exit::INFRA, format!("cannot create {}: {e}", dir.display())))?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(infra)?;
    match nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock) {
        Ok(lock) => Ok(lock),
        Err((_, nix::errno::Errno::EWOULDBLOCK)) => Err((
            exit::BUSY,
            format!(
                "another try of task '{task_id}'{} in run '{run_id}' is running (it holds {}); \
                 this one was not started. One try of a task instance runs at a time: wait for \
                 it to end, or stop it first.",
                if map_index >= 0 {
                    format!(" (map index {map_index})")
                } else {
                    String::new()
                },
                path.display()
            ),
        )),
        Err((_, errno)) => Err(infra(std::io::Error::from(errno))),
    }
}

/// Removes the XCom values of a task instance (and temporary directories a killed try left),
/// locally and in an S3 store: a new try starts without them, as Airflow clears them.
async fn clear_xcoms(store: &LocalStore, state: &State, task_dir: &Path) -> Result<(), String> {
    let dir = task_dir.join("xcom");
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        state.delete_files(&files).await?;
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("cannot remove {}: {e}", dir.display())),
    }
    if let Ok(entries) = std::fs::read_dir(task_dir) {
        for e in entries.flatten() {
            if e.file_name().to_string_lossy().starts_with(".xcom.tmp") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let _ = store;
    Ok(())
}

/// Saves the record locally and, with an S3 store, uploads it.
async fn save_record(record: &Record, state: &State) -> Result<(), String> {
    record.save()?;
    state.push_file(&record.path).await
}

/// How one try ended.
enum TryEnd {
    Done(Outcome),
    Failed(TaskError),
    TimedOut,
    Stopped,
    /// The state or the log could not be written (exit 5).
    Infra(String),
}

/// `airtask run-task`.
pub(crate) fn run_task(args: &RunTaskArgs) -> u8 {
    if let Some(parent) = args.supervisor_pid {
        // Stop (SIGTERM: on_kill runs, the record says STOPPED) when the run that started this
        // process dies; should it have died already, stop now.
        let set = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
        if set.is_err() || nix::unistd::getppid().as_raw() != parent {
            eprintln!("error: the run that started this task (process {parent}) has ended");
            return exit::STOPPED;
        }
    }
    let roles = match Roles::resolve(&args.roles) {
        Ok(r) => r,
        Err(e) => return usage(&e),
    };
    let rt = match crate::commands::async_runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INFRA;
        }
    };
    rt.block_on(start(args, Identity::new(roles)))
}

/// Loads the definition (from S3 with the execution role), checks the arguments, takes on
/// the execution role, and runs the tries.
async fn start(args: &RunTaskArgs, identity: Identity) -> u8 {
    let file = &args.instance.file;
    let version = args.instance.source.version_id.as_deref();
    // The workflow id is not known before the definition is read when it is not given: the
    // session name then uses the object's name.
    let hint = args
        .instance
        .workflow_id
        .clone()
        .unwrap_or_else(|| crate::definition::stem(file));
    let session = session_name(&hint, &args.instance.task_id, args.try_number.unwrap_or(1));
    let loaded = load_valid_as(
        file,
        version,
        exit::INVALID,
        &identity,
        &session,
        exit::INFRA,
    )
    .await;
    let (_source, wf) = match loaded {
        Ok(x) => x,
        Err(code) => return code,
    };
    // The service's workflow id (`etl-abc1234def`) names logs, state and sessions; the DAG id
    // stays what templates see.
    let wid = args
        .instance
        .workflow_id
        .clone()
        .unwrap_or_else(|| wf.workflow_id.clone());
    let task = match find_task(&wf, &args.instance.task_id) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    if task.implementation.is_none() {
        return usage(&format!(
            "the operator {} is not implemented",
            task.operator
        ));
    }
    if task.mapping.is_none() && args.instance.map_index != -1 {
        return usage(&format!(
            "--map-index {} was given, but task '{}' is not mapped (it has no expand); leave \
             --map-index out for an unmapped task",
            args.instance.map_index, task.task_id
        ));
    }
    let max_try = task.retries + 1;
    let (first, last) = match args.try_number {
        Some(n) if n == 0 || n > max_try => {
            return usage(&format!(
                "--try {n} is out of range: task '{}' has {max_try} tries (retries: {})",
                task.task_id, task.retries
            ));
        }
        Some(n) => (n, n),
        None => (1, max_try),
    };
    // The execution role is taken on before anything runs, so that a role that cannot be
    // assumed stops the task here rather than halfway.
    if identity.has_execution_role()
        && let Err(e) = identity
            .execution(&session_name(&wid, &task.task_id, first))
            .await
    {
        eprintln!("error: {e}; task '{}' did not run", task.task_id);
        return exit::INFRA;
    }
    run(args, &wf, &wid, task, first, last, &identity).await
}

/// Whether the task log goes to CloudWatch: not with `--no-cloudwatch`; always from the
/// container entrypoint, with a log group or with an execution role; otherwise when the
/// environment names an endpoint or credentials (never by probing the credential chain, which
/// can take seconds on a laptop).
fn cloudwatch_on(args: &RunTaskArgs, identity: &Identity) -> bool {
    if args.logs.no_cloudwatch {
        return false;
    }
    if args.cloudwatch_by_default || args.logs.log_group.is_some() || identity.has_execution_role()
    {
        return true;
    }
    [
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ]
    .iter()
    .any(|n| std::env::var_os(n).is_some_and(|v| !v.is_empty()))
}

/// The identity the operator of one try runs as: the task's own role, assumed afresh with a
/// session name that names the try, else the execution role, else (for an operator that calls
/// AWS) the base credentials; `None` for an operator that calls no AWS service when no role is
/// configured. A role that cannot be assumed fails the try.
async fn try_identity(
    identity: &Identity,
    wid: &str,
    task: &Task,
    info: Option<&airtask_core::OperatorInfo>,
    try_number: u32,
    log: &TaskLog,
) -> Result<Option<Layer>, TaskError> {
    let calls_aws = info.is_some_and(|i| i.aws);
    if !calls_aws && task.role_arn.is_none() && !identity.has_execution_role() {
        return Ok(None);
    }
    let session = session_name(wid, &task.task_id, try_number);
    let timeout = Duration::from_secs_f64(task.execution_timeout.as_secs_f64());
    let layer = identity
        .task(task.role_arn.as_deref(), &session, timeout)
        .await
        .map_err(|e| TaskError {
            message: format!("{e}; the operator did not run"),
            retryable: e.retryable(),
        })?;
    log.mask(layer.secrets());
    if let Some(role) = &layer.role_arn {
        log.line(
            Level::Info,
            "airtask",
            &format!("Running as {role} (session {session})"),
        );
    }
    Ok(Some(layer))
}

async fn run(
    args: &RunTaskArgs,
    wf: &Workflow,
    wid: &str,
    task: &Task,
    first: u32,
    last: u32,
    identity: &Identity,
) -> u8 {
    let terminal = Arc::new(TaskLog::default());
    let log_group = airtask_aws::logs::log_group(wid, args.logs.log_group.as_deref());
    let flush_timeout = Duration::from_secs_f64(args.logs.log_flush_timeout);
    let mut logs_incomplete = false;
    // CloudWatch shipping uses the execution layer (the execution role, or the base
    // credentials).
    let ship_config = if cloudwatch_on(args, identity) {
        match identity
            .execution(&session_name(wid, &task.task_id, first))
            .await
        {
            Ok(layer) => Some(layer.config.clone()),
            Err(e) => {
                eprintln!("error: {e}; cannot ship the task log");
                return exit::INFRA;
            }
        }
    } else {
        None
    };
    // The base credentials' secrets, should a command print its environment.
    terminal.mask(
        [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_SECURITY_TOKEN",
        ]
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .collect(),
    );
    let log: Arc<dyn LogSink> = terminal.clone();
    let state = match State::open(
        &args.instance.state_dir,
        args.instance.store.as_deref(),
        identity,
        &session_name(wid, &task.task_id, first),
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return exit::INFRA;
        }
    };
    let store = state.local().clone();
    let inst = Instance {
        logical_date: args.instance.logical_date.as_deref(),
        run_id: args.instance.run_id.as_deref(),
        map_index: args.instance.map_index,
        try_number: first,
        params: args.instance.params.as_deref(),
    };
    let mut tctx = match template_context(wf, task, &inst) {
        Ok(c) => c,
        Err(e) => return usage(&e),
    };
    let run_id = tctx.run_id.clone();
    let logical_iso = Renderer::new(&tctx, Rc::new(airtask_template::NoXcoms))
        .and_then(|r| r.render_str("{{ ts }}"))
        .unwrap_or_default();
    // One try of a task instance at a time (the lock is released when this function returns).
    let _lock = match lock_instance(
        &args.instance.state_dir,
        wid,
        &run_id,
        &task.task_id,
        args.instance.map_index,
    ) {
        Ok(lock) => lock,
        Err((code, e)) => {
            eprintln!("error: {e}");
            return code;
        }
    };
    if let Err(e) = state.pull_run(wid, &run_id).await {
        eprintln!("error: cannot read the run's state: {e}");
        return exit::INFRA;
    }
    let task_dir = store.task_dir(wid, &run_id, &task.task_id, args.instance.map_index);
    let mut record = Record {
        path: task_dir.join("record.json"),
        body: serde_json::Map::new(),
    };
    for (k, v) in [
        ("workflow_id", json!(wid)),
        ("dag_id", json!(wf.workflow_id)),
        ("run_id", json!(run_id)),
        ("task_id", json!(task.task_id)),
        ("map_index", json!(args.instance.map_index)),
        ("operator", json!(task.implementation)),
    ] {
        record.set(k, v);
    }

    let (stop_tx, stop_rx) = watch::channel(false);
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
        let _ = stop_tx.send(true);
    });

    let timeout = Duration::from_secs_f64(task.execution_timeout.as_secs_f64());
    let retry_delay = Duration::from_secs_f64(task.retry_delay.as_secs_f64());
    let reg = registry();
    let info = reg.lookup(task.implementation.as_deref().unwrap_or_default());

    let mut try_number = first;
    loop {
        let started = clock::now();
        record.set("try", json!(try_number));
        record.set("status", json!("RUNNING"));
        record.set("started_at", json!(iso(started)));
        record.set("completed_at", serde_json::Value::Null);
        record.set("duration_seconds", serde_json::Value::Null);
        record.set("error", serde_json::Value::Null);
        let dest = Destination::new(
            &args.instance.state_dir,
            &log_group,
            wid,
            &run_id,
            &task.task_id,
            args.instance.map_index,
            try_number,
        );
        record.set("log_stream", json!(dest.display()));
        record.set("log_file", json!(dest.file.display().to_string()));
        record.set("log_delivery", serde_json::Value::Null);
        if let Err(e) = terminal.start_attempt(&dest, ship_config.as_ref()) {
            eprintln!("error: {e}");
            return exit::INFRA;
        }
        // XComs of an earlier try (or run) of this instance go before the record says RUNNING:
        // a downstream task never reads a stale value, and no failed record sits beside one.
        if let Err(e) = clear_xcoms(&store, &state, &task_dir).await {
            eprintln!("error: cannot clear the XComs of an earlier try: {e}");
            return exit::INFRA;
        }
        if let Err(e) = save_record(&record, &state).await {
            eprintln!("error: {e}");
            return exit::INFRA;
        }
        log.line(
            Level::Info,
            "airtask",
            &format!(
                "Starting attempt {try_number} of {} of task '{}' (run {run_id})",
                task.retries + 1,
                task.task_id
            ),
        );

        // Render and build afresh for every try: `ti.try_number` is in the context.
        tctx.try_number = try_number;
        let layer = try_identity(identity, wid, task, info, try_number, &terminal).await;
        // The try's execution_timeout covers rendering and execute: both are cancelled when it
        // runs out, or on SIGTERM/SIGINT.
        let deadline = tokio::time::Instant::now() + timeout;
        let prepared = match layer {
            Err(e) => Err((TryEnd::Failed(e), false)),
            Ok(layer) => {
                let job = PrepJob {
                    map_index: args.instance.map_index,
                    workflow_id: wid.to_owned(),
                    store: store.clone(),
                    task: task.clone(),
                    tctx: tctx.clone(),
                    info: info.copied(),
                    log: terminal.clone(),
                };
                let mut stop = stop_rx.clone();
                prepare_cancellable(job, deadline, &mut stop)
                    .await
                    .map(|op| (op, layer))
                    .map_err(|p| match p {
                        Prep::Invalid(msg) => (TryEnd::Failed(TaskError::fatal(msg)), true),
                        Prep::Failed(msg) => (TryEnd::Failed(TaskError::fatal(msg)), false),
                        Prep::Infra(msg) => (TryEnd::Infra(msg), false),
                        Prep::TimedOut => (TryEnd::TimedOut, false),
                        Prep::Stopped => (TryEnd::Stopped, false),
                    })
            }
        };
        let (end, invalid) = match prepared {
            Err((end, invalid)) => (end, invalid),
            Ok((mut op, layer)) => {
                let mut process_env: Vec<(String, Option<String>)> = [
                    ("AIRFLOW_CTX_DAG_OWNER", tctx.owner.clone()),
                    ("AIRFLOW_CTX_DAG_ID", wf.workflow_id.clone()),
                    ("AIRFLOW_CTX_TASK_ID", task.task_id.clone()),
                    ("AIRFLOW_CTX_LOGICAL_DATE", logical_iso.clone()),
                    ("AIRFLOW_CTX_TRY_NUMBER", try_number.to_string()),
                    ("AIRFLOW_CTX_DAG_RUN_ID", run_id.clone()),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Some(v)))
                .collect();
                process_env.extend(layer.as_ref().map(Layer::process_env).unwrap_or_default());
                let ctx = OpContext {
                    log: log.clone(),
                    pushed: Arc::new(Mutex::new(Vec::new())),
                    task_id: task.task_id.clone(),
                    try_number,
                    process_env,
                    time_budget: Some(
                        deadline.saturating_duration_since(tokio::time::Instant::now()),
                    ),
                    aws: layer.map(|l| {
                        Arc::new(TaskIdentity { config: l.config }) as Arc<dyn Any + Send + Sync>
                    }),
                };
                let mut stop = stop_rx.clone();
                let end = {
                    let fut = op.execute(&ctx);
                    tokio::select! {
                        r = tokio::time::timeout_at(deadline, fut) => match r {
                            Ok(Ok(o)) => TryEnd::Done(o),
                            Ok(Err(e)) => TryEnd::Failed(e),
                            Err(_) => TryEnd::TimedOut,
                        },
                        _ = stop.wait_for(|s| *s) => TryEnd::Stopped,
                        fault = terminal.fault() => TryEnd::Infra(fault),
                    }
                };
                if matches!(end, TryEnd::TimedOut | TryEnd::Stopped | TryEnd::Infra(_)) {
                    log.line(
                        Level::Warning,
                        "airtask",
                        "Killing the task's work (on_kill).",
                    );
                    op.on_kill();
                }
                // A log line that could not be written fails the try before any XCom is stored.
                terminal.flush_mirror();
                let end = match (end, terminal.fault_message()) {
                    (TryEnd::Done(_), Some(fault)) => TryEnd::Infra(fault),
                    (end, _) => end,
                };
                // XComs of a successful try: return_value (unless do_xcom_push is false) and the
                // pushed keys, within the quota, all or nothing.
                let end = match end {
                    TryEnd::Done(Outcome::Success(value)) => {
                        let mut values: Vec<(String, serde_json::Value)> =
                            ctx.pushed.lock().map(|p| p.clone()).unwrap_or_default();
                        if task.do_xcom_push
                            && let Some(v) = value.clone()
                        {
                            values.push(("return_value".into(), v));
                        }
                        let size: usize = values.iter().map(|(_, v)| v.to_string().len()).sum();
                        if size > MAX_XCOM_BYTES {
                            TryEnd::Failed(TaskError::fatal(format!(
                                "the task's XCom values are {size} bytes; MWAA Serverless allows at most {MAX_XCOM_BYTES} bytes (200 KB) per task instance. Pass large data through S3 and push its key instead."
                            )))
                        } else if let Err(e) = match write_xcoms(
                            &store,
                            wid,
                            &run_id,
                            &task.task_id,
                            args.instance.map_index,
                            &values,
                        ) {
                            Ok(files) => state.push_xcoms(&files).await,
                            Err(e) => Err(e),
                        } {
                            eprintln!("error: {e}");
                            record.set("status", json!("FAILED"));
                            record.set("error", json!(e));
                            if let Some(report) = terminal.end_attempt(flush_timeout).await {
                                record.set("log_delivery", delivery_json(&report));
                            }
                            let _ = save_record(&record, &state).await;
                            return exit::INFRA;
                        } else {
                            TryEnd::Done(Outcome::Success(value))
                        }
                    }
                    other => other,
                };
                (end, false)
            }
        };

        // A log line that could not be written ends the try as an infrastructure failure.
        terminal.flush_mirror();
        let end = match terminal.fault_message() {
            Some(fault) if !matches!(end, TryEnd::Infra(_)) => TryEnd::Infra(fault),
            _ => end,
        };
        let completed = clock::now();
        record.set("completed_at", json!(iso(completed)));
        record.set(
            "duration_seconds",
            json!(completed.duration_since(started).as_secs_f64()),
        );
        // Up for retry when the task has tries left, even if another process runs them
        // (`--try N`); this process runs the next try only up to `last`.
        let tries_left = try_number < task.retries + 1;
        let (status, code, error, retry) = match &end {
            TryEnd::Done(Outcome::Success(_)) => ("SUCCESS", exit::OK, None, false),
            TryEnd::Done(Outcome::Skipped(why)) => ("SKIPPED", exit::OK, Some(why.clone()), false),
            TryEnd::Failed(e) if invalid => {
                ("FAILED", exit::INVALID, Some(e.message.clone()), false)
            }
            TryEnd::Failed(e) => (
                "FAILED",
                exit::FAILED,
                Some(e.message.clone()),
                e.retryable && tries_left,
            ),
            TryEnd::TimedOut => (
                "TIMEOUT",
                exit::TIMEOUT,
                Some(format!(
                    "the try exceeded its execution_timeout of {} s",
                    timeout.as_secs_f64()
                )),
                tries_left,
            ),
            TryEnd::Stopped => (
                "STOPPED",
                exit::STOPPED,
                Some("stopped by a signal (SIGTERM or SIGINT)".to_owned()),
                false,
            ),
            TryEnd::Infra(e) => ("FAILED", exit::INFRA, Some(e.clone()), false),
        };
        if let TryEnd::Infra(e) = &end {
            eprintln!("error: {e}");
            // A failed try keeps no XCom (should the log have failed after they were stored).
            let _ = clear_xcoms(&store, &state, &task_dir).await;
        }
        let status = if retry { "UP_FOR_RETRY" } else { status };
        let retry = retry && try_number < last;
        record.set("status", json!(status));
        record.set(
            "error",
            error.clone().map_or(serde_json::Value::Null, |e| json!(e)),
        );
        let level = match status {
            "SUCCESS" | "SKIPPED" => Level::Info,
            _ => Level::Error,
        };
        let detail = error.map(|e| format!(": {e}")).unwrap_or_default();
        log.line(
            level,
            "airtask",
            &format!("Attempt {try_number} ended {status}{detail}"),
        );
        if retry {
            log.line(
                Level::Info,
                "airtask",
                &format!(
                    "Waiting {} s (retry_delay) before attempt {}",
                    retry_delay.as_secs_f64(),
                    try_number + 1
                ),
            );
        }
        // The attempt's stream is complete: what could not be delivered within the flush
        // timeout is in the spill file, and the record says so.
        if let Some(report) = terminal.end_attempt(flush_timeout).await {
            if !report.complete() {
                logs_incomplete = true;
                eprintln!(
                    "warning: {} log lines of attempt {try_number} were not delivered to \
                     CloudWatch{}",
                    report.undelivered + report.lost,
                    report
                        .spill_path
                        .as_ref()
                        .map(|p| format!("; they are kept in {}", p.display()))
                        .unwrap_or_default()
                );
            }
            record.set("log_delivery", delivery_json(&report));
        }
        if let Err(e) = save_record(&record, &state).await {
            eprintln!("error: {e}");
            return exit::INFRA;
        }
        if !retry {
            if args.output == Format::Json {
                outln!("{}", serde_json::Value::Object(record.body.clone()));
            }
            return if code == exit::OK && logs_incomplete {
                exit::LOGS_UNDELIVERED
            } else {
                code
            };
        }
        let mut stop = stop_rx.clone();
        tokio::select! {
            () = tokio::time::sleep(retry_delay) => {}
            _ = stop.wait_for(|s| *s) => {
                record.set("status", json!("STOPPED"));
                record.set("error", json!("stopped by a signal while waiting to retry"));
                let _ = save_record(&record, &state).await;
                log.line(Level::Error, "airtask", "Stopped while waiting to retry.");
                if args.output == Format::Json {
                    outln!("{}", serde_json::Value::Object(record.body.clone()));
                }
                return exit::STOPPED;
            }
        }
        try_number += 1;
    }
}

/// Renders the template fields and builds the operator for one try.
/// What rendering and building the operator of one try needs, owned: it runs on a thread of
/// its own, so that a template that loops for long can be interrupted.
struct PrepJob {
    map_index: i64,
    workflow_id: String,
    store: LocalStore,
    task: Task,
    tctx: airtask_template::TaskContext,
    info: Option<airtask_core::OperatorInfo>,
    log: Arc<TaskLog>,
}

/// Renders and builds the operator on a thread of its own, interrupting the rendering when
/// `deadline` passes or `stop` is set.
async fn prepare_cancellable(
    job: PrepJob,
    deadline: tokio::time::Instant,
    stop: &mut watch::Receiver<bool>,
) -> Result<Box<dyn airtask_core::Operator>, Prep> {
    let interrupt = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = interrupt.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("render".into())
        // Deeply nested templates are refused well before this stack runs out.
        .stack_size(32 * 1024 * 1024)
        .spawn(move || {
            let r = prepare(
                job.map_index,
                &job.workflow_id,
                &job.store,
                &job.task,
                &job.tctx,
                job.info.as_ref(),
                &job.log,
                flag,
            );
            let _ = tx.send(r);
        })
        .map_err(|e| {
            Prep::Infra(format!(
                "cannot start a thread to render the templates: {e}"
            ))
        })?;
    let cancel = |why: Prep| {
        interrupt.store(true, std::sync::atomic::Ordering::Relaxed);
        Err(why)
    };
    tokio::select! {
        r = rx => r.unwrap_or_else(|_| Err(Prep::Infra("the rendering thread ended".into()))),
        () = tokio::time::sleep_until(deadline) => cancel(Prep::TimedOut),
        _ = stop.wait_for(|s| *s) => cancel(Prep::Stopped),
    }
}

#[allow(clippy::too_many_arguments)]
fn prepare(
    map_index: i64,
    wid: &str,
    store: &LocalStore,
    task: &Task,
    tctx: &airtask_template::TaskContext,
    info: Option<&airtask_core::OperatorInfo>,
    log: &TaskLog,
    interrupt: Arc<std::sync::atomic::AtomicBool>,
) -> Result<Box<dyn airtask_core::Operator>, Prep> {
    let store_error = Rc::new(std::cell::RefCell::new(None));
    let xcoms = Rc::new(WatchedXcoms {
        inner: xcom_source(Vec::new(), store.root(), wid, &tctx.run_id),
        failed: store_error.clone(),
    });
    let renderer = Renderer::new(tctx, xcoms)
        .map_err(|e| Prep::Invalid(format!("--logical-date is out of range: {e}")))?
        .with_interrupt(interrupt);
    let rendered = render_template_fields(task, &renderer).map_err(|e| {
        // An XCom that cannot be read is the state's failure, not the template's; a template
        // that runs out of its bounds (RecursionError, MemoryError) fails the try as the
        // Python exception fails Airflow's.
        match store_error.borrow_mut().take() {
            Some(store) => Prep::Infra(format!("{e} (the state cannot be read: {store})")),
            None if matches!(e.error.class, "RecursionError" | "MemoryError") => {
                Prep::Failed(e.to_string())
            }
            None => Prep::Invalid(e.to_string()),
        }
    })?;
    let mut params = airtask_core::Params::new();
    for p in &task.parameters {
        // default_args entries apply only to operators that take them, as in Airflow.
        if p.origin == airtask_workflow::Origin::DefaultArgs {
            continue;
        }
        params.insert(p.name.clone(), p.value.to_json());
    }
    params.extend(rendered);
    if task.mapping.is_some() {
        let values = crate::mapping::expanded_values(task, wid, &tctx.run_id, store)
            .map_err(Prep::Invalid)?;
        let count = crate::mapping::instance_count(&values);
        let index = usize::try_from(map_index)
            .ok()
            .filter(|i| *i < count)
            .ok_or_else(|| {
                Prep::Invalid(format!(
                    "task '{}' is mapped over {count} values; give --map-index 0 to {}",
                    task.task_id,
                    count.saturating_sub(1)
                ))
            })?;
        params.extend(crate::mapping::arguments_of(&values, index));
    }
    let info = info.ok_or_else(|| {
        Prep::Invalid(format!("the operator {} is not implemented", task.operator))
    })?;
    // Values of parameters whose names look secret are masked from here on.
    log.mask(crate::tasklog::sensitive_values(&params));
    (info.build)(&params).map_err(|e| Prep::Invalid(format!("task '{}': {e}", task.task_id)))
}

/// Why a try could not be prepared.
enum Prep {
    /// A template or a parameter is wrong (exit 2).
    Invalid(String),
    /// A template ran out of its bounds (exit 1).
    Failed(String),
    /// The state cannot be read (exit 5).
    Infra(String),
    /// The execution_timeout ran out while rendering (exit 3).
    TimedOut,
    /// SIGTERM or SIGINT while rendering (exit 4).
    Stopped,
}

/// The run's XComs, noting a read failure of the store (a corrupt or unreadable file).
struct WatchedXcoms {
    inner: Rc<dyn airtask_template::XcomSource>,
    failed: Rc<std::cell::RefCell<Option<String>>>,
}

impl airtask_template::XcomSource for WatchedXcoms {
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        map_index: Option<i64>,
    ) -> Result<Option<serde_json::Value>, String> {
        self.inner.pull(task_id, key, map_index).inspect_err(|e| {
            self.failed.borrow_mut().get_or_insert_with(|| e.clone());
        })
    }
}
