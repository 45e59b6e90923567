//! `airtask run-task`: one task instance with Airflow's try loop (retries, retry_delay,
//! execution_timeout), stop on SIGTERM/SIGINT, XCom written only when a try succeeds, and the
//! task record.

use std::any::Any;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
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
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    let mut files = Vec::with_capacity(values.len());
    for (key, value) in values {
        let path = store.xcom_path(wf, run_id, task_id, map_index, key);
        let name = path.file_name().map(|n| n.to_owned()).unwrap_or_default();
        std::fs::write(tmp.join(&name), value.to_string())
            .map_err(|e| format!("cannot write XCom {key}: {e}"))?;
        files.push(final_dir.join(name));
    }
    let _ = std::fs::remove_dir_all(&final_dir);
    std::fs::rename(&tmp, &final_dir)
        .map_err(|e| format!("cannot write {}: {e}", final_dir.display()))?;
    Ok(files)
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
}

/// `airtask run-task`.
pub(crate) fn run_task(args: &RunTaskArgs) -> u8 {
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
    // The workflow id is not known before the definition is read: the session name uses the
    // expected one, else the object's name.
    let hint = args
        .expected_workflow_id
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
    if let Some(expected) = &args.expected_workflow_id
        && *expected != wf.workflow_id
    {
        return usage(&format!(
            "the definition {} holds workflow '{}', not '{expected}' (AIRTASK_WORKFLOW_ID / \
             --workflow-id)",
            args.instance.file, wf.workflow_id
        ));
    }
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
            .execution(&session_name(&wf.workflow_id, &task.task_id, first))
            .await
    {
        eprintln!("error: {e}; task '{}' did not run", task.task_id);
        return exit::INFRA;
    }
    run(args, &wf, task, first, last, &identity).await
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
    wf: &Workflow,
    task: &Task,
    info: Option<&airtask_core::Entry>,
    try_number: u32,
    log: &TaskLog,
) -> Result<Option<Layer>, TaskError> {
    let calls_aws = info.is_some_and(|i| i.spec().calls_aws);
    if !calls_aws && task.role_arn.is_none() && !identity.has_execution_role() {
        return Ok(None);
    }
    let session = session_name(&wf.workflow_id, &task.task_id, try_number);
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
    task: &Task,
    first: u32,
    last: u32,
    identity: &Identity,
) -> u8 {
    let terminal = Arc::new(TaskLog::default());
    let log_group = airtask_aws::logs::log_group(&wf.workflow_id, args.logs.log_group.as_deref());
    let flush_timeout = Duration::from_secs_f64(args.logs.log_flush_timeout);
    let mut logs_incomplete = false;
    // CloudWatch shipping uses the execution layer (the execution role, or the base
    // credentials).
    let ship_config = if cloudwatch_on(args, identity) {
        match identity
            .execution(&session_name(&wf.workflow_id, &task.task_id, first))
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
        &session_name(&wf.workflow_id, &task.task_id, first),
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
    if let Err(e) = state.pull_run(&wf.workflow_id, &run_id).await {
        eprintln!("error: cannot read the run's state: {e}");
        return exit::INFRA;
    }
    let task_dir = store.task_dir(
        &wf.workflow_id,
        &run_id,
        &task.task_id,
        args.instance.map_index,
    );
    let mut record = Record {
        path: task_dir.join("record.json"),
        body: serde_json::Map::new(),
    };
    for (k, v) in [
        ("workflow_id", json!(wf.workflow_id)),
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
            &wf.workflow_id,
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
        let prepared = match try_identity(identity, wf, task, info, try_number, &terminal).await {
            Err(e) => Err((e, false)),
            Ok(layer) => prepare(args, &store, wf, task, &tctx, info, &terminal)
                .map(|(op, spec)| (op, spec, layer))
                .map_err(|msg| (TaskError::fatal(msg), true)),
        };
        let (end, invalid) = match prepared {
            Err((e, invalid)) => (TryEnd::Failed(e), invalid),
            Ok((mut op, spec, layer)) => {
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
                let mut ctx = OpContext::new(spec, task.task_id.clone(), try_number, log.clone())
                    .with_process_env(process_env)
                    .with_time_budget(timeout);
                if let Some(l) = layer {
                    ctx = ctx
                        .with_aws(Arc::new(TaskIdentity { config: l.config })
                            as Arc<dyn Any + Send + Sync>);
                }
                let mut stop = stop_rx.clone();
                let end = {
                    let fut = op.execute(&ctx);
                    tokio::select! {
                        r = tokio::time::timeout(timeout, fut) => match r {
                            Ok(Ok(o)) => TryEnd::Done(o),
                            Ok(Err(e)) => TryEnd::Failed(e),
                            Err(_) => TryEnd::TimedOut,
                        },
                        _ = stop.wait_for(|s| *s) => TryEnd::Stopped,
                    }
                };
                if matches!(end, TryEnd::TimedOut | TryEnd::Stopped) {
                    log.line(
                        Level::Warning,
                        "airtask",
                        "Killing the task's work (on_kill).",
                    );
                    op.on_kill(&ctx).await;
                }
                // XComs of a successful try: return_value (unless do_xcom_push is false) and the
                // pushed keys, within the quota, all or nothing.
                let end = match end {
                    TryEnd::Done(Outcome::Success(value)) => {
                        let mut values: Vec<(String, serde_json::Value)> = ctx.pushed();
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
                            &wf.workflow_id,
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
        };
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
fn prepare(
    args: &RunTaskArgs,
    store: &LocalStore,
    wf: &Workflow,
    task: &Task,
    tctx: &airtask_template::TaskContext,
    info: Option<&'static airtask_core::Entry>,
    log: &TaskLog,
) -> Result<
    (
        airtask_core::BuiltOperator,
        &'static airtask_core::OperatorSpec,
    ),
    String,
> {
    let renderer = Renderer::new(
        tctx,
        xcom_source(Vec::new(), store.root(), wf, &tctx.run_id),
    )
    .map_err(|e| format!("--logical-date is out of range: {e}"))?;
    let rendered = render_template_fields(task, &renderer).map_err(|e| e.to_string())?;
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
        let values = crate::mapping::expanded_values(task, wf, &tctx.run_id, store)?;
        let count = crate::mapping::instance_count(&values);
        let index = usize::try_from(args.instance.map_index)
            .ok()
            .filter(|i| *i < count)
            .ok_or_else(|| {
                format!(
                    "task '{}' is mapped over {count} values; give --map-index 0 to {}",
                    task.task_id,
                    count.saturating_sub(1)
                )
            })?;
        params.extend(crate::mapping::arguments_of(&values, index));
    }
    let info = info.ok_or_else(|| format!("the operator {} is not implemented", task.operator))?;
    // Values of parameters whose names look secret are masked from here on.
    log.mask(crate::tasklog::sensitive_values(&params));
    info.build(&params)
        .map(|op| (op, info.spec()))
        .map_err(|e| format!("task '{}': {e}", task.task_id))
}
