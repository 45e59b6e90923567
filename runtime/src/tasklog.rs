//! The task log of `run-task`: every line of every try goes, masked, to the terminal (readable),
//! to a local file that mirrors the CloudWatch stream (JSON lines, like Airflow 3's task logs),
//! and, when shipping is on, to CloudWatch Logs in MWAA Serverless's stream layout.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use airtask_aws::logs::{DeliveryReport, LogEvent, Shipper, ShipperHandle, ShipperOptions};
use airtask_core::{Level, LogSink};
use serde_json::json;

use crate::clock;

/// Where one attempt's lines go besides the terminal.
struct Attempt {
    /// The local mirror of the stream (or, under Airflow's coordinator, the `--logs` socket).
    file: Box<dyn std::io::Write + Send>,
    /// Its path, for errors.
    path: PathBuf,
    /// What to do when a write fails.
    hint: &'static str,
    /// The CloudWatch shipper, when shipping is on.
    shipper: Option<ShipperHandle>,
    /// The per-stream sequence number of the next line.
    seq: u64,
    /// Whether lines carry `seq` (not on a `--logs` stream: the supervisor writes the file).
    numbered: bool,
}

/// One line of the stream and the local file, keys in the order of Airflow 3's task logs.
#[derive(serde::Serialize)]
struct Line<'a> {
    timestamp: &'a str,
    level: &'a str,
    event: &'a str,
    logger: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    seq: Option<u64>,
}

/// The task log.
#[derive(Default)]
pub(crate) struct TaskLog {
    secrets: Mutex<Vec<String>>,
    attempt: Mutex<Option<Attempt>>,
    /// The first write failure of the local mirror (a full disk): it ends the try.
    fault: Mutex<Option<String>>,
    /// Wakes [`TaskLog::fault`] when a write fails.
    fault_notify: tokio::sync::Notify,
    /// No lines on the terminal (stdout is someone else's log already).
    quiet: std::sync::atomic::AtomicBool,
    /// Lines below this rank (0 info, 1 warning, 2 error) are dropped: the `--logs` stream
    /// under Airflow's `[logging] logging_level`.
    floor: std::sync::atomic::AtomicU8,
}

/// Where an attempt's log goes: the group and stream names, and the local mirror.
pub(crate) struct Destination {
    /// The CloudWatch log group.
    pub(crate) group: String,
    /// The CloudWatch log stream.
    pub(crate) stream: String,
    /// The local file that mirrors the stream.
    pub(crate) file: PathBuf,
}

impl Destination {
    /// The destination of an attempt: MWAA Serverless's group and stream, mirrored under
    /// `<state_dir>/logs/` in the same layout.
    pub(crate) fn new(
        state_dir: &Path,
        group: &str,
        key: &airtask_core::instance::TaskInstanceKey,
        try_number: u32,
    ) -> Destination {
        let (wf, run_id, task_id, map_index) =
            (&key.workflow_id, &key.run_id, &key.task_id, key.map_index);
        let stream = airtask_aws::logs::log_stream(wf, run_id, task_id, map_index, try_number);
        // The stream's layout, each id one path component (a `/` or `..` in an id stays in it).
        use airtask_core::store::component;
        let mut file = state_dir
            .join("logs")
            .join(format!("workflow_id={}", component(wf)))
            .join(format!("run_id={}", component(run_id)))
            .join(format!("task_id={}", component(task_id)));
        if map_index >= 0 {
            file.push(format!("map_index={map_index}"));
        }
        file.push(format!("attempt={try_number}.log"));
        Destination {
            group: group.to_owned(),
            stream,
            file,
        }
    }

    /// As MWAA's GetTaskInstance shows it: `/` + group + `/` + stream.
    pub(crate) fn display(&self) -> String {
        format!("/{}/{}", self.group, self.stream)
    }

    /// The spill file of the stream's shipper.
    pub(crate) fn spill_file(&self) -> PathBuf {
        let mut name = self.file.clone().into_os_string();
        name.push(".spill");
        PathBuf::from(name)
    }
}

/// Whether a secret is masked in log lines, as Airflow's secrets masker decides: not when it is
/// shorter than [`MIN_MASKED_LEN`] characters (masking a one-letter token would star
/// out that letter in every line) nor when it is the word `airflow`.
fn maskable(secret: &str) -> bool {
    secret.chars().count() >= MIN_MASKED_LEN && !secret.eq_ignore_ascii_case("airflow")
}

impl TaskLog {
    /// Masks `secrets` (as `***`) in every later line; see [`maskable`] for those left alone.
    pub(crate) fn mask(&self, secrets: Vec<String>) {
        if let Ok(mut s) = self.secrets.lock() {
            s.extend(secrets.into_iter().filter(|x| maskable(x)));
        }
    }

    /// Starts an attempt's stream: the local mirror is created (appended to when the same try
    /// runs again), and lines are shipped to CloudWatch with `config` when it is given.
    pub(crate) fn start_attempt(
        &self,
        dest: &Destination,
        config: Option<&airtask_aws::SdkConfig>,
    ) -> Result<(), String> {
        if let Some(dir) = dest.file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&dest.file)
            .map_err(|e| format!("cannot open the log file {}: {e}", dest.file.display()))?;
        let shipper = config.map(|c| {
            Shipper::start(
                c,
                &dest.group,
                &dest.stream,
                ShipperOptions::new(dest.spill_file()),
            )
        });
        if let Ok(mut a) = self.attempt.lock() {
            *a = Some(Attempt {
                file: Box::new(std::io::BufWriter::new(file)),
                path: dest.file.clone(),
                hint: "free space, or give another --state-dir",
                shipper,
                seq: 0,
                numbered: true,
            });
        }
        Ok(())
    }

    /// Starts an attempt whose lines go to `out` (flushed line by line), named `what` in
    /// errors, and not to the terminal: Airflow's coordinator protocol, where the supervisor
    /// reads the lines from the `--logs` socket and writes the task log itself. Lines below
    /// `min_level` are dropped (the task process filters; the supervisor writes what it gets).
    pub(crate) fn start_stream(
        &self,
        out: Box<dyn std::io::Write + Send>,
        what: &str,
        min_level: Level,
    ) {
        self.quiet.store(true, std::sync::atomic::Ordering::SeqCst);
        self.floor
            .store(rank(min_level), std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut a) = self.attempt.lock() {
            *a = Some(Attempt {
                file: Box::new(std::io::LineWriter::new(out)),
                path: PathBuf::from(what),
                hint: "the supervisor stopped reading the task's log",
                shipper: None,
                seq: 0,
                numbered: false,
            });
        }
    }

    /// Records a write failure of the local mirror (the first one is kept).
    fn failed_write(&self, path: &Path, hint: &str, e: &std::io::Error) {
        if let Ok(mut f) = self.fault.lock()
            && f.is_none()
        {
            *f = Some(format!(
                "the task log cannot be written to {}: {e}; the try was ended so that no line \
                 is lost unnoticed ({hint})",
                path.display()
            ));
            self.fault_notify.notify_one();
        }
    }

    /// The write failure of the local mirror, if one happened.
    pub(crate) fn fault_message(&self) -> Option<String> {
        self.fault.lock().ok().and_then(|f| f.clone())
    }

    /// Waits for a write failure of the local mirror, and returns its message.
    pub(crate) async fn fault(&self) -> String {
        loop {
            if let Some(f) = self.fault_message() {
                return f;
            }
            self.fault_notify.notified().await;
        }
    }

    /// Writes what the local mirror buffers to its file (a failure is a fault).
    pub(crate) fn flush_mirror(&self) {
        let Ok(mut guard) = self.attempt.lock() else {
            return;
        };
        if let Some(a) = guard.as_mut()
            && let Err(e) = a.file.flush()
        {
            let (path, hint) = (a.path.clone(), a.hint);
            drop(guard);
            self.failed_write(&path, hint, &e);
        }
    }

    /// Ends the current attempt: the local file is flushed, and the shipper sends what is left
    /// within `deadline` and reports what became of every line.
    pub(crate) async fn end_attempt(&self, deadline: Duration) -> Option<DeliveryReport> {
        self.flush_mirror();
        let attempt = self.attempt.lock().ok().and_then(|mut a| a.take())?;
        match attempt.shipper {
            Some(s) => Some(s.finish(deadline).await),
            None => None,
        }
    }

    /// A rendered template field as Airflow's task runner sends it to the UI (`redact`): under
    /// a secret-looking `name` every string is `***`; elsewhere the masked secrets are starred
    /// out of every string, and nested keys are judged by their own names.
    pub(crate) fn redact(&self, name: &str, value: &serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        fn all(v: &Value) -> Value {
            match v {
                Value::String(_) => Value::String("***".into()),
                Value::Array(items) => Value::Array(items.iter().map(all).collect()),
                Value::Object(m) => {
                    Value::Object(m.iter().map(|(k, v)| (k.clone(), all(v))).collect())
                }
                other => other.clone(),
            }
        }
        if sensitive_name(name) {
            return all(value);
        }
        match value {
            Value::String(s) => Value::String(self.masked(s).into_owned()),
            Value::Array(items) => {
                Value::Array(items.iter().map(|i| self.redact(name, i)).collect())
            }
            Value::Object(m) => Value::Object(
                m.iter()
                    .map(|(k, v)| (k.clone(), self.redact(k, v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    fn masked<'a>(&self, message: &'a str) -> std::borrow::Cow<'a, str> {
        let mut message = std::borrow::Cow::Borrowed(message);
        if let Ok(secrets) = self.secrets.lock() {
            for secret in secrets.iter() {
                if message.contains(secret.as_str()) {
                    message = message.replace(secret.as_str(), "***").into();
                }
            }
        }
        message
    }
}

/// The order of the levels.
fn rank(level: Level) -> u8 {
    match level {
        Level::Info => 0,
        Level::Warning => 1,
        Level::Error => 2,
    }
}

impl LogSink for TaskLog {
    fn line(&self, level: Level, logger: &str, message: &str) {
        if rank(level) < self.floor.load(std::sync::atomic::Ordering::Relaxed) {
            return;
        }
        let message = self.masked(message);
        let now = clock::now();
        if !self.quiet.load(std::sync::atomic::Ordering::Relaxed) {
            let ts = now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ");
            let mut out = std::io::stdout().lock();
            let _ = writeln!(
                out,
                "[{ts}] {:<7} - {message}",
                level.as_str().to_uppercase()
            );
            let _ = out.flush();
        }
        let Ok(mut guard) = self.attempt.lock() else {
            return;
        };
        let Some(attempt) = guard.as_mut() else {
            return;
        };
        // Serialized straight from borrowed fields: this runs for every line of output.
        let line = serde_json::to_string(&Line {
            timestamp: &now.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            level: level.as_str(),
            event: &message,
            logger,
            seq: attempt.numbered.then_some(attempt.seq),
        })
        .unwrap_or_default();
        attempt.seq += 1;
        let written = writeln!(attempt.file, "{line}");
        if let Err(e) = &written {
            // Kept for the try to end on; the line still goes to the terminal and CloudWatch.
            self.failed_write(&attempt.path, attempt.hint, e);
        }
        if let Some(s) = &attempt.shipper {
            s.send(LogEvent {
                timestamp_ms: now.as_millisecond(),
                message: line,
            });
        }
    }
}

/// What the task record says of an attempt's log delivery.
pub(crate) fn delivery_json(report: &DeliveryReport) -> serde_json::Value {
    json!({
        "delivered": report.delivered,
        "rejected": report.rejected,
        "restamped": report.restamped,
        "undelivered": report.undelivered + report.lost,
        "spill_file": report.spill_path.as_ref().map(|p| p.display().to_string()),
        "error": report.error,
    })
}

/// Parameter names whose values are secrets, as Airflow's secrets masker has them
/// (`DEFAULT_SENSITIVE_FIELDS`): a name containing one of these, in any case.
const SENSITIVE_NAMES: &[&str] = &[
    "access_token",
    "api_key",
    "apikey",
    "authorization",
    "passphrase",
    "passwd",
    "password",
    "private_key",
    "secret",
    "token",
    "keyfile_dict",
    "service_account",
];

/// Shorter values are not masked (Airflow's `min_length_masked_secret`): masking `1` or `yes`
/// everywhere would garble the log and hide nothing.
const MIN_MASKED_LEN: usize = 5;

/// Whether a parameter's name looks secret (contains one of [`SENSITIVE_NAMES`], in any case).
fn sensitive_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    SENSITIVE_NAMES.iter().any(|n| name.contains(n))
}

/// The values, at any depth, of parameters whose names look secret: every string under such
/// a key (in an `env` mapping too).
pub(crate) fn sensitive_values(params: &serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::String(s) if s.len() >= MIN_MASKED_LEN => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
            serde_json::Value::Object(m) => m.values().for_each(|i| strings(i, out)),
            _ => {}
        }
    }
    fn walk(m: &serde_json::Map<String, serde_json::Value>, out: &mut Vec<String>) {
        for (k, v) in m {
            if sensitive_name(k) {
                strings(v, out);
            } else if let serde_json::Value::Object(inner) = v {
                walk(inner, out);
            } else if let serde_json::Value::Array(items) = v {
                for i in items {
                    if let serde_json::Value::Object(inner) = i {
                        walk(inner, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(params, &mut out);
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_secrets_and_the_word_airflow_are_not_masked_as_in_airflow() {
        assert!(super::maskable("tok-123456"));
        assert!(super::maskable("abcde"));
        assert!(!super::maskable("abcd"));
        assert!(!super::maskable("t"));
        assert!(!super::maskable(""));
        assert!(!super::maskable("Airflow"));
    }

    #[test]
    fn rendered_fields_are_redacted_as_airflow_redacts_them() {
        let log = super::TaskLog::default();
        log.mask(vec!["s3cr3t-value".into()]);
        let v = serde_json::json!({
            "url": "https://x/?k=s3cr3t-value",
            "headers": {"Authorization": "Bearer abc", "Accept": "json"},
            "list": ["s3cr3t-value", 3, null],
        });
        assert_eq!(
            log.redact("payload", &v),
            serde_json::json!({
                "url": "https://x/?k=***",
                "headers": {"Authorization": "***", "Accept": "json"},
                "list": ["***", 3, null],
            })
        );
        assert_eq!(
            log.redact("db_password", &serde_json::json!(["a", {"b": "c"}, 1])),
            serde_json::json!(["***", {"b": "***"}, 1])
        );
        assert_eq!(
            log.redact("bash_command", &serde_json::json!("echo hi")),
            serde_json::json!("echo hi")
        );
    }

    #[test]
    fn the_local_mirror_follows_the_stream_layout_and_stays_in_the_state_directory() {
        let key = |run: &str, task: &str, map_index| airtask_core::instance::TaskInstanceKey {
            workflow_id: "wf".into(),
            run_id: run.into(),
            task_id: task.into(),
            map_index,
        };
        let d = super::Destination::new(
            std::path::Path::new("/state"),
            "/aws/mwaa-serverless/wf/",
            &key("manual__2025-03-09T00:00:00+00:00", "load", 2),
            1,
        );
        assert_eq!(
            d.file,
            std::path::Path::new(
                "/state/logs/workflow_id=wf/run_id=manual__2025-03-09T00:00:00+00:00/task_id=load/map_index=2/attempt=1.log"
            )
        );
        assert_eq!(
            d.display(),
            format!("//aws/mwaa-serverless/wf//{}", d.stream)
        );
        let d = super::Destination::new(
            std::path::Path::new("/state"),
            "g",
            &key("../../../etc", "t", -1),
            1,
        );
        assert!(
            d.file
                .components()
                .all(|c| c != std::path::Component::ParentDir),
            "{}",
            d.file.display()
        );
    }

    #[test]
    fn values_under_secret_looking_names_are_found_at_any_depth() {
        let p = serde_json::json!({
            "bash_command": "echo $DB_PASSWORD",
            "env": {"DB_PASSWORD": "hunter2-long", "HOME": "/root", "API_KEY": "abc"},
            "conf": [{"client_secret": ["s3cr3t-value"]}],
        });
        let found = super::sensitive_values(p.as_object().unwrap());
        assert_eq!(
            found,
            vec!["hunter2-long".to_owned(), "s3cr3t-value".to_owned()]
        );
    }
}
