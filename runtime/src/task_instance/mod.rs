//! `airtask run-task`: one task instance with Airflow's try loop (retries, retry_delay,
//! execution_timeout), stop on SIGTERM/SIGINT, XCom written only when a try succeeds, and the
//! task record.

mod prepare;
pub(crate) mod record;
pub(crate) mod tries;
mod xcom;

use std::any::Any;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use airtask_aws::identity::{TaskIdentity, session_name};
use airtask_core::instance::{TaskInstanceKey, TaskState};
use airtask_core::retry::RetryPolicy;
use airtask_core::{Level, LogSink, Outcome, TaskContext as OpContext, TaskError};
use airtask_template::Renderer;
use airtask_workflow::{Task, Workflow};
use tokio::sync::watch;

use self::prepare::{Prep, PrepJob, prepare_cancellable};
use self::record::{Record, iso};
use self::tries::{TryEnd, after_try, classify, execute_try, wait_to_retry};
use self::xcom::{MAX_XCOM_BYTES, StoreXcoms, clear_xcoms, lock_instance, write_xcoms};
use crate::cli::{Format, RunTaskArgs};
use crate::clock;
use crate::definition::{find_task, load_valid_as};
use crate::exit::run_task as exit;
use crate::exit::{self as exit_codes, CliError, usage};
use crate::identity::{Identity, Layer, Roles};
use crate::registry::registry;
use crate::render::{Instance, template_context};
use crate::state::State;
use crate::tasklog::{Destination, TaskLog, delivery_json};

/// The XCom key under which a task that skips its downstream tasks lists them (Airflow's
/// `SkipMixin`: `{"skipped": [task ids]}`); `airtask run` skips the ones listed.
pub(crate) const SKIPMIXIN_KEY: &str = "skipmixin_key";

/// The ids of the tasks downstream of `task_id`: every one (`all`), or only the direct ones,
/// in the workflow's order.
pub(crate) fn downstream_ids(wf: &Workflow, task_id: &str, all: bool) -> Vec<String> {
    let mut found: Vec<&str> = vec![task_id];
    let mut i = 0;
    while i < found.len() {
        let from = found[i];
        for t in &wf.tasks {
            if t.upstream.iter().any(|u| u == from) && !found.contains(&t.task_id.as_str()) {
                found.push(&t.task_id);
            }
        }
        if !all {
            break;
        }
        i += 1;
    }
    wf.tasks
        .iter()
        .filter(|t| t.task_id != task_id && found.contains(&t.task_id.as_str()))
        .map(|t| t.task_id.clone())
        .collect()
}

/// `airtask run-task`.
pub(crate) fn run_task(args: &RunTaskArgs) -> Result<u8, CliError> {
    if let Some(parent) = args.supervisor_pid {
        // Stop (SIGTERM: on_kill runs, the record says STOPPED) when the run that started this
        // process dies; should it have died already, stop now.
        let set = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM);
        if set.is_err() || nix::unistd::getppid().as_raw() != parent {
            return Err(CliError::Stopped(format!(
                "the run that started this task (process {parent}) has ended"
            )));
        }
    }
    let roles = match Roles::resolve(&args.roles) {
        Ok(r) => r,
        Err(e) => return Err(usage(&e)),
    };
    let rt = exit_codes::async_runtime().map_err(CliError::Infra)?;
    rt.block_on(start(args, Identity::new(roles)))
}

/// Loads the definition (from S3 with the execution role), checks the arguments, takes on
/// the execution role, and runs the tries.
async fn start(args: &RunTaskArgs, identity: Identity) -> Result<u8, CliError> {
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
    let (_source, wf) = loaded?;
    // The service's workflow id (`etl-abc1234def`) names logs, state and sessions; the DAG id
    // stays what templates see.
    let wid = args
        .instance
        .workflow_id
        .clone()
        .unwrap_or_else(|| wf.workflow_id.clone());
    let task = match find_task(&wf, &args.instance.task_id) {
        Ok(t) => t,
        Err(e) => return Err(usage(&e)),
    };
    if task.implementation.is_none() {
        return Err(usage(&format!(
            "the operator {} is not implemented",
            task.operator
        )));
    }
    if task.mapping.is_none() && args.instance.map_index != -1 {
        return Err(usage(&format!(
            "--map-index {} was given, but task '{}' is not mapped (it has no expand); leave \
             --map-index out for an unmapped task",
            args.instance.map_index, task.task_id
        )));
    }
    let policy = RetryPolicy::from(task);
    let (first, last) = match args.try_number {
        Some(n) if !policy.has_try(n) => {
            return Err(usage(&format!(
                "--try {n} is out of range: task '{}' has {} tries (retries: {})",
                task.task_id, policy.tries, task.retries
            )));
        }
        Some(n) => (n, n),
        None => (1, policy.tries),
    };
    // The execution role is taken on before anything runs, so that a role that cannot be
    // assumed stops the task here rather than halfway.
    if identity.has_execution_role()
        && let Err(e) = identity
            .execution(&session_name(&wid, &task.task_id, first))
            .await
    {
        return Err(CliError::Role {
            message: format!("{e}; task '{}' did not run", task.task_id),
            code: exit::INFRA,
        });
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
    info: Option<&airtask_core::Entry>,
    try_number: u32,
    log: &TaskLog,
) -> Result<Option<Layer>, TaskError> {
    let calls_aws = info.is_some_and(|i| i.spec().calls_aws);
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
) -> Result<u8, CliError> {
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
                return Err(CliError::Role {
                    message: format!("{e}; cannot ship the task log"),
                    code: exit::INFRA,
                });
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
        Err(e) => return Err(CliError::Infra(e)),
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
        Err(e) => return Err(usage(&e)),
    };
    let run_id = tctx.run_id.clone();
    let logical_iso = Renderer::new(&tctx, Rc::new(airtask_template::NoXcoms))
        .and_then(|r| r.render_str("{{ ts }}"))
        .unwrap_or_default();
    let key = TaskInstanceKey {
        workflow_id: wid.to_owned(),
        run_id: run_id.clone(),
        task_id: task.task_id.clone(),
        map_index: args.instance.map_index,
    };
    // One try of a task instance at a time (the lock is released when this function returns).
    // It lives in the local store (the state directory; with an S3 store, the private working
    // directory, where it serializes nothing: see the README).
    let _lock = lock_instance(store.root(), &key)?;
    if let Err(e) = state.pull_run(wid, &run_id).await {
        return Err(CliError::Infra(format!("cannot read the run's state: {e}")));
    }
    let task_dir = store.instance_dir(&key);
    let mut record = Record::new(
        task_dir.join("record.json"),
        &key,
        &wf.workflow_id,
        task.implementation.clone(),
    );

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
    let policy = RetryPolicy::from(task);
    let reg = registry();
    let info = reg.lookup(task.implementation.as_deref().unwrap_or_default());

    let mut try_number = first;
    loop {
        let started = clock::now();
        let dest = Destination::new(&args.instance.state_dir, &log_group, &key, try_number);
        record.try_number = try_number;
        record.status = TaskState::Running;
        record.started_at = Some(iso(started));
        record.completed_at = None;
        record.duration_seconds = None;
        record.error = None;
        record.log_stream = Some(dest.display());
        record.log_file = Some(dest.file.display().to_string());
        record.log_delivery = None;
        if let Err(e) = terminal.start_attempt(&dest, ship_config.as_ref()) {
            return Err(CliError::Infra(e.to_string()));
        }
        // XComs of an earlier try (or run) of this instance go before the record says RUNNING:
        // a downstream task never reads a stale value, and no failed record sits beside one.
        if let Err(e) = clear_xcoms(&state, &task_dir).await {
            return Err(CliError::Infra(format!(
                "cannot clear the XComs of an earlier try: {e}"
            )));
        }
        if let Err(e) = record.save(&state).await {
            return Err(CliError::Infra(e.to_string()));
        }
        log.line(
            Level::Info,
            "airtask",
            &format!(
                "Starting attempt {try_number} of {} of task '{}' (run {run_id})",
                policy.tries, task.task_id
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
                    info,
                    log: terminal.clone(),
                };
                let mut stop = stop_rx.clone();
                prepare_cancellable(job, deadline, &mut stop)
                    .await
                    .map(|(op, spec)| (op, spec, layer))
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
                    .with_time_budget(timeout)
                    .with_xcom_reader(Arc::new(StoreXcoms {
                        store: store.clone(),
                        workflow_id: wid.to_owned(),
                        run_id: run_id.clone(),
                    }));
                if let Some(l) = layer {
                    ctx = ctx
                        .with_aws(Arc::new(TaskIdentity { config: l.config })
                            as Arc<dyn Any + Send + Sync>);
                }
                let mut stop = stop_rx.clone();
                let end = execute_try(
                    &mut op,
                    &ctx,
                    deadline,
                    &mut stop,
                    terminal.fault(),
                    log.as_ref(),
                )
                .await;
                // A log line that could not be written fails the try before any XCom is stored.
                terminal.flush_mirror();
                let end = match (end, terminal.fault_message()) {
                    (TryEnd::Done(_), Some(fault)) => TryEnd::Infra(fault),
                    (end, _) => end,
                };
                // XComs of a successful try: return_value (unless do_xcom_push is false) and the
                // pushed keys, within the quota, all or nothing.
                let end = match end {
                    TryEnd::Done(
                        outcome @ (Outcome::Success(_) | Outcome::SkipDownstream { .. }),
                    ) => {
                        let mut values: Vec<(String, serde_json::Value)> = ctx.pushed();
                        let value = match &outcome {
                            Outcome::Success(v) => v.clone(),
                            _ => None,
                        };
                        if let Outcome::SkipDownstream { all_downstream } = outcome {
                            let skipped = downstream_ids(wf, &task.task_id, all_downstream);
                            log.line(
                                Level::Info,
                                "airtask",
                                &format!("Skipping downstream tasks: {}", skipped.join(", ")),
                            );
                            values.push((
                                SKIPMIXIN_KEY.into(),
                                serde_json::json!({ "skipped": skipped }),
                            ));
                        }
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
                        } else if let Err(e) = match write_xcoms(&store, &key, &values) {
                            Ok(files) => state.push_xcoms(&files).await,
                            Err(e) => Err(e),
                        } {
                            TryEnd::Infra(e)
                        } else {
                            TryEnd::Done(outcome)
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
        record.completed_at = Some(iso(completed));
        record.duration_seconds = Some(completed.duration_since(started).as_secs_f64());
        let (status, code, error, policy_end) = classify(&end, invalid, timeout);
        // The error is returned (and printed by `main`) once the record is saved.
        let infra = match &end {
            TryEnd::Infra(e) => Some(CliError::Infra(e.clone())),
            _ => None,
        };
        if infra.is_some() {
            // A failed try keeps no XCom (should the log have failed after they were stored).
            let _ = clear_xcoms(&state, &task_dir).await;
        }
        // Up for retry when the task has tries left, even if another process runs them
        // (`--try N`); this process runs the next try only up to `last`.
        let (status, wait) = after_try(&policy, try_number, last, status, policy_end);
        record.status = status;
        record.error.clone_from(&error);
        let level = match status {
            TaskState::Success | TaskState::Skipped => Level::Info,
            _ => Level::Error,
        };
        let detail = error.map(|e| format!(": {e}")).unwrap_or_default();
        log.line(
            level,
            "airtask",
            &format!(
                "Attempt {try_number} ended {}{detail}",
                status.as_record_str()
            ),
        );
        if let Some(delay) = wait {
            log.line(
                Level::Info,
                "airtask",
                &format!(
                    "Waiting {} s (retry_delay) before attempt {}",
                    delay.as_secs_f64(),
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
                     CloudWatch{}{}",
                    report.undelivered + report.lost,
                    report
                        .error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default(),
                    report
                        .spill_path
                        .as_ref()
                        .map(|p| format!("; they are kept in {}", p.display()))
                        .unwrap_or_default()
                );
            }
            record.log_delivery = Some(delivery_json(&report));
        }
        if let Err(e) = record.save(&state).await {
            return Err(CliError::Infra(e.to_string()));
        }
        let Some(delay) = wait else {
            if args.output == Format::Json {
                outln!("{}", record.to_json());
            }
            if let Some(e) = infra {
                return Err(e);
            }
            return Ok(if code == exit::OK && logs_incomplete {
                exit::LOGS_UNDELIVERED
            } else {
                code
            });
        };
        let mut stop = stop_rx.clone();
        if !wait_to_retry(delay, &mut stop).await {
            record.status = TaskState::Stopped;
            record.error = Some("stopped by a signal while waiting to retry".to_owned());
            let _ = record.save(&state).await;
            log.line(Level::Error, "airtask", "Stopped while waiting to retry.");
            if args.output == Format::Json {
                outln!("{}", record.to_json());
            }
            return Ok(exit::STOPPED);
        }
        try_number += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workflow() -> Workflow {
        let yaml = b"short:\n  tasks:\n    check:\n      operator: airflow.operators.empty.EmptyOperator\n    a:\n      operator: airflow.operators.empty.EmptyOperator\n      dependencies: [check]\n    b:\n      operator: airflow.operators.empty.EmptyOperator\n      dependencies: [a]\n    c:\n      operator: airflow.operators.empty.EmptyOperator\n      dependencies: [b, other]\n    other:\n      operator: airflow.operators.empty.EmptyOperator\n";
        let env = |_: &str| None;
        let opts = airtask_workflow::LoadOptions {
            env: &env,
            now: jiff::Timestamp::UNIX_EPOCH,
            for_create: false,
            catalog: registry(),
        };
        let report = airtask_workflow::load(yaml, &opts);
        report.workflow.expect("the test workflow loads")
    }

    #[test]
    fn downstream_ids_are_the_direct_or_all_descendants() {
        let wf = workflow();
        assert_eq!(downstream_ids(&wf, "check", false), vec!["a"]);
        assert_eq!(downstream_ids(&wf, "check", true), vec!["a", "b", "c"]);
        assert_eq!(downstream_ids(&wf, "other", true), vec!["c"]);
        assert!(downstream_ids(&wf, "c", true).is_empty());
    }
}
