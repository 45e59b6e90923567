//! `BashOperator`, with the Amazon MWAA / Airflow 3 semantics: `bash -c` in its own process
//! group, stdout and stderr interleaved line by line into the task log, the last line pushed as
//! `return_value`, `skip_on_exit_code` (99 by default) skipping the task.

use std::io::BufRead as _;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, TaskContext, TaskError,
};
use nix::sys::signal::{Signal, killpg};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use tokio::sync::oneshot;

const LOGGER: &str =
    "airflow.task.hooks.airflow.providers.standard.hooks.subprocess.SubprocessHook";

/// A configured `BashOperator`.
pub struct BashOperator {
    bash_command: String,
    env: Option<Vec<(String, String)>>,
    append_env: bool,
    cwd: Option<String>,
    skip_on_exit_code: Vec<i32>,
    /// The process group of the running command, for `on_kill`.
    pgid: Arc<Mutex<Option<i32>>>,
    /// Signalled when the output thread has read the command's output to its end.
    output_done: Option<oneshot::Receiver<()>>,
}

impl std::fmt::Debug for BashOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BashOperator")
            .field("bash_command", &self.bash_command)
            .field("cwd", &self.cwd)
            .field("skip_on_exit_code", &self.skip_on_exit_code)
            .finish_non_exhaustive()
    }
}

/// An exit code (a whole number that fits an `i32`).
fn exit_code(v: &serde_json::Value) -> Option<i32> {
    v.as_i64().and_then(|i| i32::try_from(i).ok())
}

impl Operator for BashOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.standard.operators.bash.BashOperator",
        aliases: &[
            "airflow.operators.bash.BashOperator",
            "airflow.operators.bash_operator.BashOperator",
        ],
        template_fields: &["bash_command", "env", "cwd"],
        calls_aws: false,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bash_command = p.required_str("bash_command", "the command to run")?;
        if bash_command.trim().is_empty() {
            return Err(ParamError::at(
                "bash_command",
                "bash_command is empty; give the command to run",
            ));
        }
        // Values that are not strings become their text (Airflow passes them to the process
        // as str()).
        let env = p.map("env")?.map(|m| {
            m.iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => (k.clone(), s.clone()),
                    other => (k.clone(), other.to_string()),
                })
                .collect()
        });
        let append_env = p.bool("append_env", false)?;
        if let Some(enc) = p.str("output_encoding")?
            && !matches!(
                enc.to_ascii_lowercase().replace('_', "-").as_str(),
                "utf-8" | "utf8"
            )
            && !p.is_templated(&enc)
        {
            return Err(ParamError::at(
                "output_encoding",
                format!(
                    "output_encoding '{enc}' is not supported; airtask decodes output as UTF-8"
                ),
            ));
        }
        let wrong_code = || {
            ParamError::at(
                "skip_on_exit_code",
                "skip_on_exit_code must be an exit code or a list of them",
            )
        };
        let present = p.contains("skip_on_exit_code");
        let skip_on_exit_code = match p.value("skip_on_exit_code") {
            // Absent: 99; null: none.
            None if present => Vec::new(),
            None => vec![99],
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|v| exit_code(v).ok_or_else(wrong_code))
                .collect::<Result<_, _>>()?,
            Some(v) => vec![exit_code(v).ok_or_else(wrong_code)?],
        };
        let cwd = p.str("cwd")?;
        p.accept("output_processor");
        Ok(BashOperator {
            bash_command,
            env,
            append_env,
            cwd,
            skip_on_exit_code,
            pgid: Arc::new(Mutex::new(None)),
            output_done: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.run(ctx).await
    }

    /// Sends SIGTERM to the command's whole process group, waits up to two seconds for it to
    /// end, then sends SIGKILL to whatever is left.
    async fn on_kill(&mut self, ctx: &TaskContext) {
        let pgid = self.pgid.lock().ok().and_then(|mut g| g.take());
        let Some(pgid) = pgid else { return };
        let group = Pid::from_raw(pgid);
        let say = |message: &str| ctx.hook_info(LOGGER, message);
        say(&format!("Sending SIGTERM signal to process group {pgid}"));
        if killpg(group, Signal::SIGTERM).is_err() {
            return;
        }
        // As the container's init (PID 1), this process inherits the command's orphans and
        // must reap them, or their zombies keep the group alive.
        let init = std::process::id() == 1;
        for _ in 0..40 {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            // Reap bash itself (our child), then probe the group with signal 0: it is gone when
            // no process of it is left.
            let _ = waitpid(group, Some(WaitPidFlag::WNOHANG));
            if init {
                while let Ok(status) = waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                    if status == nix::sys::wait::WaitStatus::StillAlive {
                        break;
                    }
                }
            }
            if killpg(group, None).is_err() {
                say(&format!("Process group {pgid} ended after SIGTERM"));
                self.drain_output().await;
                return;
            }
        }
        say(&format!(
            "Process group {pgid} still running 2 s after SIGTERM; sending SIGKILL"
        ));
        let _ = killpg(group, Signal::SIGKILL);
        self.drain_output().await;
    }
}

impl BashOperator {
    async fn run(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        if let Some(cwd) = &self.cwd {
            let meta = std::fs::metadata(cwd)
                .map_err(|_| TaskError::fatal(format!("Can not find the cwd: {cwd}")))?;
            if !meta.is_dir() {
                return Err(TaskError::fatal(format!(
                    "The cwd {cwd} must be a directory"
                )));
            }
        }
        let (reader, writer) = std::io::pipe()
            .map_err(|e| TaskError::retryable(format!("cannot create a pipe: {e}")))?;
        let writer2 = writer
            .try_clone()
            .map_err(|e| TaskError::retryable(format!("cannot create a pipe: {e}")))?;
        let mut cmd = tokio::process::Command::new("bash");
        cmd.arg("-c")
            .arg(&self.bash_command)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(writer2)
            .process_group(0)
            .kill_on_drop(false);
        if let Some(env) = &self.env {
            if !self.append_env {
                cmd.env_clear();
            }
            cmd.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        }
        // As Airflow's BashOperator: the task instance's AIRFLOW_CTX_* variables on top (and
        // the credentials of the task's role when one is in effect).
        for (k, v) in ctx.process_env() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let tmp;
        match &self.cwd {
            Some(cwd) => {
                cmd.current_dir(cwd);
            }
            None => {
                // Airflow runs the command in a fresh temporary directory.
                tmp = std::env::temp_dir().join(format!(
                    "airtask-bash-{}-{}",
                    std::process::id(),
                    ctx.try_number()
                ));
                std::fs::create_dir_all(&tmp).map_err(|e| {
                    TaskError::retryable(format!("cannot create {}: {e}", tmp.display()))
                })?;
                cmd.current_dir(&tmp);
            }
        }
        ctx.hook_info(
            LOGGER,
            &format!("Running command: ['bash', '-c', {:?}]", self.bash_command),
        );
        let mut child = cmd
            .spawn()
            .map_err(|e| TaskError::retryable(format!("cannot start bash: {e}")))?;
        // The command (and the parent's copies of the pipe's write end) now belong to the child.
        drop(cmd);
        if let (Some(pid), Ok(mut g)) = (child.id(), self.pgid.lock()) {
            *g = i32::try_from(pid).ok();
        }
        ctx.hook_info(LOGGER, "Output:");
        // The output is logged by a thread of its own, until EOF: when the try is cancelled, it
        // goes on logging what the command prints as it stops (a trap handler's last words),
        // and on_kill waits for it.
        let last = Arc::new(Mutex::new(String::new()));
        let (eof_tx, eof_rx) = oneshot::channel::<()>();
        let (done_tx, done_rx) = oneshot::channel::<()>();
        self.output_done = Some(done_rx);
        let (log, last_seen) = (ctx.clone(), last.clone());
        std::thread::spawn(move || {
            let mut r = std::io::BufReader::new(reader);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf);
                        let line = line.trim_end_matches(['\n', '\r']);
                        log.line(airtask_core::Level::Info, LOGGER, line);
                        if let Ok(mut l) = last_seen.lock() {
                            line.clone_into(&mut l);
                        }
                    }
                }
            }
            let _ = eof_tx.send(());
            let _ = done_tx.send(());
        });
        let _ = eof_rx.await;
        self.output_done = None;
        let last_line = last.lock().map(|l| l.clone()).unwrap_or_default();
        let status = child
            .wait()
            .await
            .map_err(|e| TaskError::retryable(format!("cannot wait for bash: {e}")))?;
        if let Ok(mut g) = self.pgid.lock() {
            *g = None;
        }
        let code = status.code().unwrap_or(-1);
        ctx.hook_info(LOGGER, &format!("Command exited with return code {code}"));
        if self.skip_on_exit_code.contains(&code) {
            return Ok(Outcome::Skipped(format!(
                "Bash command returned exit code {code}. Skipping."
            )));
        }
        if code != 0 {
            return Err(TaskError::retryable(format!(
                "Bash command failed. The command returned a non-zero exit code {code}."
            )));
        }
        Ok(Outcome::Success(Some(serde_json::Value::String(last_line))))
    }
}

impl BashOperator {
    /// Waits (at most a second) for the output thread to log the last lines of a command that
    /// was stopped.
    async fn drain_output(&mut self) {
        if let Some(done) = self.output_done.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), done).await;
        }
    }
}
