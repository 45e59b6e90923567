//! `airtask coordinator`: the task process of Airflow 3.3's coordinator protocol. A Task SDK
//! supervisor (inside a Celery, Local, Edge, Kubernetes... worker) routes a queue to airtask
//! through `[sdk] coordinators` / `queue_to_coordinator` (scripts/airflow/airtask_coordinator.py
//! is the coordinator class), starts `airtask coordinator --comm=HOST:PORT --logs=HOST:PORT`,
//! and keeps doing what it does for a Python task: `PATCH run`, heartbeats, token refreshes,
//! the task log file and remote logs, and the final state call. airtask dials both sockets,
//! reads `StartupDetails`, runs the try as `execute-workload` does (the YAML found under the
//! DAGs folder, templates, XComs and Variables read through the supervisor), writes its log
//! lines as JSON on `--logs`, and ends with one of `SucceedTask`, `RetryTask` or `TaskState`.

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airtask_core::{Level, LogSink};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::api::{RetrySettings, RunContext};
use super::comm::Comm;
use super::workload::{BundleInfo, TaskInstance, Workload};
use super::{Ended, StopReason, Store, final_state, iso, run_try};
use crate::clock;
use crate::exit::run_task as exit;
use crate::exit::{CliError, usage};
use crate::identity::{Identity, Roles};
use crate::tasklog::TaskLog;

/// The supervisor schema version airtask speaks (the one Task SDK 1.3 knows); a newer
/// supervisor migrates its messages to it.
pub(crate) const SUPERVISOR_SCHEMA_VERSION: &str = "2026-06-16";

/// The arguments of `airtask coordinator`.
#[derive(Debug, clap::Args)]
pub(crate) struct CoordinatorArgs {
    /// The supervisor's request socket (HOST:PORT): length-prefixed msgpack frames.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) comm: String,
    /// The supervisor's log socket (HOST:PORT): one JSON object per line.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) logs: String,
    /// The root of the DAG bundle holding the YAML definitions (default:
    /// AIRFLOW__CORE__DAGS_FOLDER, else $AIRFLOW_HOME/dags).
    #[arg(long, value_name = "DIR")]
    pub(crate) dags_folder: Option<PathBuf>,
}

/// The first frame: what to run (`StartupDetails`; fields airtask does not use are ignored).
#[derive(Debug, Deserialize)]
struct StartupDetails {
    ti: TaskInstance,
    #[serde(default)]
    dag_rel_path: String,
    #[serde(default)]
    bundle_info: BundleInfo,
    ti_context: RunContext,
}

/// How long one answer of the supervisor may take: its own API call with every retry
/// (`[workers] execution_api_retries` attempts of `execution_api_timeout`, the backoff waits
/// between them), and a minute more.
fn answer_timeout(r: &RetrySettings) -> Duration {
    let attempts = f64::from(r.retries + 1);
    let waits = (1..=r.retries)
        .map(|n| {
            let factor = 2f64.powi(i32::try_from(n - 1).unwrap_or(30).min(30));
            (r.wait_min.as_secs_f64() * factor).min(r.wait_max.as_secs_f64())
        })
        .sum::<f64>();
    Duration::from_secs_f64((attempts * r.timeout.as_secs_f64() + waits + 60.0).min(86_400.0))
}

/// The lowest level sent on `--logs`: `[logging] logging_level`, which the supervisor passes
/// in `AIRFLOW__LOGGING__LOGGING_LEVEL` (DEBUG and INFO keep every line; an unknown name keeps
/// Airflow's default, INFO).
fn logging_level(name: Option<&str>) -> Level {
    match name.map(|n| n.trim().to_ascii_uppercase()).as_deref() {
        Some("WARNING" | "WARN") => Level::Warning,
        Some("ERROR" | "CRITICAL" | "FATAL") => Level::Error,
        _ => Level::Info,
    }
}

fn connect(addr: &str, what: &str) -> Result<TcpStream, CliError> {
    TcpStream::connect(addr).map_err(|e| {
        CliError::Infra(format!(
            "cannot connect to the supervisor's {what} socket {addr}: {e}. `airtask coordinator` \
             is started by Airflow's Task SDK supervisor (a coordinator of [sdk] coordinators), \
             which listens there"
        ))
    })
}

/// `airtask coordinator --comm=HOST:PORT --logs=HOST:PORT`.
pub(crate) fn coordinator(args: &CoordinatorArgs) -> Result<u8, CliError> {
    let retry = RetrySettings::from_env().map_err(|e| usage(&e))?;
    // Both sockets first: the supervisor waits for the two within task_startup_timeout.
    let comm = connect(&args.comm, "--comm")?;
    let logs = connect(&args.logs, "--logs")?;
    let timeout = answer_timeout(&retry);
    let _ = logs.set_write_timeout(Some(timeout));
    let comm = Comm::new(comm, timeout)
        .map_err(|e| CliError::Infra(format!("cannot set up the --comm socket: {e}")))?;
    let log = Arc::new(TaskLog::default());
    log.start_stream(
        Box::new(logs),
        &format!("the --logs socket {}", args.logs),
        logging_level(
            std::env::var("AIRFLOW__LOGGING__LOGGING_LEVEL")
                .ok()
                .as_deref(),
        ),
    );
    let roles = Roles::resolve(&crate::cli::RoleArgs::default()).map_err(|e| usage(&e))?;
    let rt = crate::exit::async_runtime().map_err(CliError::Infra)?;
    let identity = Identity::new(roles);
    let result = rt.block_on(coordinate(args, comm, &log, &identity));
    if let Err(e) = &result {
        // The supervisor shows stderr in the task log; the line goes to --logs too.
        log.line(Level::Error, "airtask", &e.to_string());
    }
    log.flush_mirror();
    result
}

async fn coordinate(
    args: &CoordinatorArgs,
    comm: Comm,
    log: &Arc<TaskLog>,
    identity: &Identity,
) -> Result<u8, CliError> {
    let startup = {
        let c = comm.clone();
        tokio::task::spawn_blocking(move || c.startup())
            .await
            .map_err(|e| CliError::Infra(format!("reading StartupDetails: {e}")))?
            .map_err(CliError::Infra)?
    };
    let details: StartupDetails = serde_json::from_value(startup).map_err(|e| {
        CliError::Infra(format!(
            "the supervisor's StartupDetails are not what Task SDK 1.3 sends: {e}"
        ))
    })?;
    let StartupDetails {
        ti,
        dag_rel_path,
        bundle_info,
        ti_context: run,
    } = details;
    let w = Workload {
        token: String::new(),
        ti,
        dag_rel_path,
        bundle_info,
        log_path: None,
        kind: None,
    };
    let ti = &w.ti;
    let sink: Arc<dyn LogSink> = log.clone();
    sink.line(
        Level::Info,
        "airtask",
        &format!(
            "Running task '{}' of DAG '{}' (run {}, try {}, queue {}, bundle {}{}) with airtask {} \
             under Airflow's coordinator protocol (supervisor schema {SUPERVISOR_SCHEMA_VERSION})",
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

    // The supervisor stops the task with SIGTERM (a refused heartbeat, a worker shutting down).
    let (stop_tx, stop_rx) = watch::channel(false);
    let reason = StopReason::default();
    {
        let reason = reason.clone();
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
            reason.set("stopped by the supervisor (SIGTERM)".to_owned());
            let _ = stop_tx.send(true);
        });
    }

    let store = Store::Comm(comm.clone());
    let mut outlets = Vec::new();
    let end = run_try(
        args.dags_folder.as_deref(),
        &w,
        &run,
        &store,
        identity,
        &sink,
        log,
        stop_rx,
        &mut outlets,
    )
    .await;
    log.flush_mirror();
    let end_date = iso(clock::now());
    let (state, message) = final_state(&end, &run, ti.try_number, &reason);
    let detail = message
        .as_ref()
        .map(|m| format!(": {m}"))
        .unwrap_or_default();
    if matches!(
        end,
        Ended::Try(crate::task_instance::tries::TryEnd::Stopped, _)
    ) {
        // No state message: the supervisor decides (it already knows when the server stopped
        // the task; otherwise the exit code gives failed, or up_for_retry when allowed).
        sink.line(
            Level::Error,
            "airtask",
            &format!("Task stopped{detail}; the supervisor sets its state"),
        );
        let _ = log.end_attempt(Duration::from_secs(5)).await;
        return Ok(exit::STOPPED);
    }
    let level = if matches!(state, "success" | "skipped") {
        Level::Info
    } else {
        Level::Error
    };
    sink.line(level, "airtask", &format!("Task ended {state}{detail}"));
    let msg = terminal_message(state, &end_date, message.as_deref(), outlets);
    let sent = comm.request(msg).await;
    let _ = log.end_attempt(Duration::from_secs(5)).await;
    match sent {
        // Told: the supervisor reports the state; the exit code must not override it.
        Ok(_) => Ok(exit::OK),
        Err(e) => Err(CliError::Infra(format!(
            "task '{}' ended {state}, but the supervisor was not told: {e}",
            ti.task_id
        ))),
    }
}

/// The message that ends the task: `SucceedTask`, `RetryTask` (the reason, at most 500
/// characters as the API takes it) or `TaskState` (failed, skipped).
fn terminal_message(
    state: &str,
    end_date: &str,
    message: Option<&str>,
    outlets: Vec<Value>,
) -> Value {
    match state {
        "success" => json!({
            "type": "SucceedTask", "state": "success", "end_date": end_date,
            "task_outlets": outlets, "outlet_events": [],
        }),
        "up_for_retry" => {
            let mut m = json!({"type": "RetryTask", "state": "up_for_retry", "end_date": end_date});
            if let Some(why) = message {
                m["retry_reason"] = Value::String(why.chars().take(500).collect());
            }
            m
        }
        other => json!({"type": "TaskState", "state": other, "end_date": end_date}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_timeout_covers_the_supervisors_retries() {
        let r = RetrySettings {
            retries: 5,
            wait_min: Duration::from_secs(1),
            wait_max: Duration::from_secs(90),
            timeout: Duration::from_secs(30),
        };
        // 6 attempts of 30 s, waits of 1+2+4+8+16 s, and a minute.
        assert_eq!(answer_timeout(&r), Duration::from_secs(180 + 31 + 60));
    }

    #[test]
    fn the_logging_level_filters_the_log_stream() {
        assert_eq!(logging_level(None), Level::Info);
        assert_eq!(logging_level(Some("debug")), Level::Info);
        assert_eq!(logging_level(Some("WARNING")), Level::Warning);
        assert_eq!(logging_level(Some(" critical ")), Level::Error);
        assert_eq!(logging_level(Some("loud")), Level::Info);
    }

    #[test]
    fn terminal_messages_have_the_schemas_fields_only() {
        let m = terminal_message(
            "up_for_retry",
            "2025-01-01T00:00:00Z",
            Some("x".repeat(600).as_str()),
            Vec::new(),
        );
        assert_eq!(m["type"], "RetryTask");
        assert_eq!(m["retry_reason"].as_str().map(str::len), Some(500));
        let m = terminal_message("skipped", "2025-01-01T00:00:00Z", Some("why"), Vec::new());
        assert_eq!(
            m,
            json!({"type": "TaskState", "state": "skipped", "end_date": "2025-01-01T00:00:00Z"})
        );
        let asset = json!({"name": "a", "uri": "s3://b/k", "type": "Asset"});
        let m = terminal_message("success", "2025-01-01T00:00:00Z", None, vec![asset.clone()]);
        assert_eq!(m["type"], "SucceedTask");
        assert_eq!(m["task_outlets"], json!([asset]));
        assert_eq!(m["outlet_events"], json!([]));
    }
}
