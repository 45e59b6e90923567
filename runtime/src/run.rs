//! `airtask run`: one workflow run on this machine. Every task instance runs as its own
//! `airtask run-task` process, as it would on isolated compute, in dependency order, with
//! Airflow's trigger rules and dynamic task mapping.

use std::collections::VecDeque;
use std::process::Stdio;

use airtask_core::instance::TaskState as State;
use airtask_core::store::LocalStore;
use airtask_core::trigger_rule::{Decision, decide_early};
use airtask_workflow::{Task, Workflow};
use tokio::process::{Child, Command};
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinSet;

use crate::cli::RunArgs;
use crate::clock;
use crate::exit::{CliError, usage};
use crate::render::parse_logical_date;

/// The state of a finished `run-task` process, from its exit code.
fn state_from_exit(code: Option<i32>) -> State {
    match code {
        Some(0) => State::Success,
        Some(3) => State::Timeout,
        Some(4) => State::Stopped,
        _ => State::Failed,
    }
}

/// A finished `run-task` process: task index, map index, exit code (`None`: killed by a
/// signal, or it could not be waited for).
type Exited = (usize, i64, Option<i32>);

struct Runner<'a> {
    args: &'a RunArgs,
    wf: &'a Workflow,
    /// The workflow id (MWAA Serverless's, else the DAG id): the state's layout.
    wid: String,
    file: String,
    run_id: String,
    logical_date: String,
    store: LocalStore,
    /// Where the task processes' output goes: the local state directory.
    logs: LocalStore,
    /// The state (an S3 store is mirrored into `store`).
    state: crate::state::State,
    states: Vec<State>,
    /// Per task: the map index and outcome of each finished instance (one for an unmapped
    /// task), in the order they finished.
    instances: Vec<Vec<(i64, State)>>,
    /// Per task: instances still to start.
    pending: Vec<VecDeque<i64>>,
    /// Per task: the process ids of its running instances.
    live: Vec<Vec<(i64, u32)>>,
    /// Set when SIGTERM or SIGINT asked the run to stop.
    stopping: bool,
    started: jiff::Timestamp,
    /// On a terminal: how many lines the live table below the state changes has (0: none
    /// drawn, or stdout is not a terminal and there is no table).
    screen: Option<std::sync::atomic::AtomicUsize>,
}

fn say(line: &str) {
    let ts = clock::now().strftime("%H:%M:%S");
    outln!("[{ts}] {line}");
}

/// ANSI: move the cursor up `n` lines to their start, then erase to the end of the screen.
fn erase_lines(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!("\x1b[{n}F\x1b[J")
    }
}

impl Runner<'_> {
    /// A line about the run: above the live table on a terminal, else just the line.
    fn say(&self, line: &str) {
        let Some(drawn) = &self.screen else {
            return say(line);
        };
        use std::sync::atomic::Ordering::Relaxed;
        let ts = clock::now().strftime("%H:%M:%S");
        let table = self.live_table();
        let lines = table.lines().count();
        let mut out = std::io::stdout().lock();
        use std::io::Write as _;
        let _ = write!(
            out,
            "{}[{ts}] {line}\n{table}",
            erase_lines(drawn.load(Relaxed))
        );
        let _ = out.flush();
        drawn.store(lines, Relaxed);
    }

    /// Redraws the live table (on a terminal), e.g. for the elapsed times.
    fn redraw(&self) {
        let Some(drawn) = &self.screen else { return };
        use std::sync::atomic::Ordering::Relaxed;
        let table = self.live_table();
        let mut out = std::io::stdout().lock();
        use std::io::Write as _;
        let _ = write!(out, "{}{table}", erase_lines(drawn.load(Relaxed)));
        let _ = out.flush();
        drawn.store(table.lines().count(), Relaxed);
    }

    /// Erases the live table (before the summary).
    fn erase_live(&self) {
        let Some(drawn) = &self.screen else { return };
        use std::io::Write as _;
        use std::sync::atomic::Ordering::Relaxed;
        let mut out = std::io::stdout().lock();
        let _ = write!(out, "{}", erase_lines(drawn.swap(0, Relaxed)));
        let _ = out.flush();
    }

    /// The live table: every task with its state and instances (done/all for a mapped task).
    fn live_table(&self) -> String {
        use std::fmt::Write as _;
        let elapsed = clock::now().duration_since(self.started).as_secs_f64();
        let mut t = format!("\x1b[1m{:<28} {:<16} INSTANCES\x1b[0m\n", "TASK", "STATE");
        for (i, task) in self.wf.tasks.iter().enumerate() {
            let state = self.states[i];
            let colour = match state {
                State::Success => "32",
                State::Running => "34",
                State::Skipped => "35",
                s if s.is_failed() => "31",
                _ => "0",
            };
            let inst = if task.mapping.is_some() {
                let total = self.instances[i].len() + self.live[i].len() + self.pending[i].len();
                format!("{}/{total}", self.instances[i].len())
            } else {
                "-".to_owned()
            };
            let _ = writeln!(
                t,
                "{:<28} \x1b[{colour}m{:<16}\x1b[0m {inst}",
                task.task_id,
                state.as_str()
            );
        }
        let _ = writeln!(t, "{elapsed:.1} s");
        t
    }

    fn index(&self, task_id: &str) -> Option<usize> {
        self.wf.tasks.iter().position(|t| t.task_id == task_id)
    }

    fn set(&mut self, i: usize, state: State, detail: &str) {
        self.states[i] = state;
        let t = &self.wf.tasks[i];
        self.say(&format!("{:<28} {}{detail}", t.task_id, state.as_str()));
    }

    fn output_log(&self, task: &Task, map_index: i64) -> std::path::PathBuf {
        self.logs
            .task_dir(&self.wid, &self.run_id, &task.task_id, map_index)
            .join("output.log")
    }

    fn spawn(&self, task: &Task, map_index: i64) -> Result<Child, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find the airtask binary: {e}"))?;
        let log_path = self.output_log(task, map_index);
        if let Some(dir) = log_path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log2 = log
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", log_path.display()))?;
        let mut cmd = Command::new(exe);
        cmd.arg("run-task")
            .arg(&self.file)
            .arg(&task.task_id)
            .args([
                "--run-id",
                &self.run_id,
                "--logical-date",
                &self.logical_date,
            ])
            .arg("--state-dir")
            .arg(&self.args.state_dir)
            .args(["--map-index", &map_index.to_string()])
            .args(["--workflow-id", &self.wid])
            // The child stops itself (SIGTERM) when this process dies, however it dies.
            .args(["--supervisor-pid", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(false);
        if let Some(v) = &self.args.source.version_id {
            cmd.args(["--version-id", v]);
        }
        if let Some(store) = &self.args.store {
            cmd.args(["--store", store]);
        }
        if let Some(p) = &self.args.params {
            cmd.args(["--params", p]);
        }
        let roles = &self.args.roles;
        if let Some(r) = &roles.execution_role_arn {
            cmd.args(["--execution-role-arn", r]);
        }
        if let Some(id) = &roles.external_id {
            cmd.args(["--external-id", id]);
        }
        if let Some(d) = roles.session_duration {
            cmd.args(["--session-duration", &d.to_string()]);
        }
        let logs = &self.args.logs;
        if let Some(g) = &logs.log_group {
            cmd.args(["--log-group", g]);
        }
        if logs.no_cloudwatch {
            cmd.arg("--no-cloudwatch");
        }
        cmd.args(["--log-flush-timeout", &logs.log_flush_timeout.to_string()]);
        cmd.spawn()
            .map_err(|e| format!("cannot start run-task for '{}': {e}", task.task_id))
    }

    /// Decides every waiting task whose upstream states settle its trigger rule; true when a
    /// task changed state.
    async fn schedule(&mut self) -> bool {
        let mut changed = false;
        for i in 0..self.wf.tasks.len() {
            if self.states[i] != State::Waiting {
                continue;
            }
            let task = &self.wf.tasks[i];
            let ups: Vec<State> = task
                .upstream
                .iter()
                .filter_map(|u| self.index(u))
                .map(|j| self.states[j])
                .collect();
            let Some(decision) = decide_early(task.trigger_rule, &ups) else {
                continue;
            };
            changed = true;
            match decision {
                Decision::Skip => self.set(i, State::Skipped, ""),
                Decision::UpstreamFailed => self.set(i, State::UpstreamFailed, ""),
                Decision::Run if task.mapping.is_some() => self.expand(i).await,
                Decision::Run => {
                    self.pending[i] = VecDeque::from([-1]);
                    self.set(i, State::Running, "");
                }
            }
        }
        changed
    }

    /// Expands a mapped task over its (upstream) values: one pending instance per value.
    async fn expand(&mut self, i: usize) {
        if let Err(e) = self.state.pull_run(&self.wid, &self.run_id).await {
            self.set(
                i,
                State::Failed,
                &format!(": cannot read the run's state: {e}"),
            );
            return;
        }
        let task = &self.wf.tasks[i];
        match crate::mapping::expanded_values(task, &self.wid, &self.run_id, &self.store) {
            Ok(values) => {
                let n = crate::mapping::instance_count(&values);
                if n == 0 {
                    self.set(i, State::Skipped, " (mapped over nothing)");
                } else {
                    self.pending[i] = (0..n as i64).collect();
                    self.instances[i] = Vec::with_capacity(n);
                    self.set(i, State::Running, &format!(" ({n} mapped instances)"));
                }
            }
            Err(e) => self.set(i, State::Failed, &format!(": {e}")),
        }
    }

    /// Starts pending instances up to the parallelism; true when an instance could not start
    /// (it is recorded as failed).
    async fn start(&mut self, running: &mut JoinSet<Exited>) -> bool {
        let parallelism = self.args.parallelism.max(1);
        let mut failed_to_start = false;
        for i in 0..self.wf.tasks.len() {
            while running.len() < parallelism {
                let Some(map_index) = self.pending[i].pop_front() else {
                    break;
                };
                match self.spawn(&self.wf.tasks[i], map_index) {
                    Ok(mut child) => {
                        self.live[i].push((map_index, child.id().unwrap_or(0)));
                        running.spawn(async move {
                            let code = child.wait().await.ok().and_then(|s| s.code());
                            (i, map_index, code)
                        });
                    }
                    Err(e) => {
                        failed_to_start = true;
                        self.finished(i, map_index, State::Failed, &format!(": {e}"))
                            .await;
                    }
                }
            }
        }
        failed_to_start
    }

    /// Records the outcome of one instance and, when it was the task's last, the task's state.
    async fn finished(&mut self, i: usize, map_index: i64, outcome: State, detail: &str) {
        self.live[i].retain(|(m, _)| *m != map_index);
        let outcome = if outcome == State::Success {
            self.record_status(i, map_index).await.unwrap_or(outcome)
        } else {
            outcome
        };
        self.instances[i].push((map_index, outcome));
        if outcome == State::Success {
            self.skip_listed(i, map_index).await;
        }
        let task = &self.wf.tasks[i];
        if task.mapping.is_some() {
            self.say(&format!(
                "{:<28} {}{detail}",
                format!("{}[{map_index}]", task.task_id),
                outcome.as_str()
            ));
        }
        if !self.pending[i].is_empty() || !self.live[i].is_empty() {
            return;
        }
        let all = &self.instances[i];
        // The log pointer names the instance that failed (the first to fail), not the last to
        // finish.
        let (state, detail) = if let Some((m, s)) = all.iter().find(|(_, s)| s.is_failed()) {
            let log = self.output_log(task, *m);
            let d = if task.mapping.is_some() || detail.is_empty() {
                format!(" (log: {})", log.display())
            } else {
                detail.to_owned()
            };
            (*s, d)
        } else if all.iter().all(|(_, s)| *s == State::Skipped) {
            (State::Skipped, String::new())
        } else {
            (State::Success, String::new())
        };
        self.set(i, state, &detail);
    }

    /// Skips the waiting tasks a successful instance listed under the XCom `skipmixin_key`
    /// (a short-circuit: `Outcome::SkipDownstream`), as Airflow's SkipMixin does.
    async fn skip_listed(&mut self, task: usize, map_index: i64) {
        let task_id = self.wf.tasks[task].task_id.clone();
        let key = crate::task_instance::SKIPMIXIN_KEY;
        let path = self
            .store
            .xcom_path(&self.wid, &self.run_id, &task_id, map_index, key);
        if self.state.pull_file(&path).await.is_err() {
            return;
        }
        let Ok(Some(v)) =
            self.store
                .read_xcom(&self.wid, &self.run_id, &task_id, Some(map_index), key)
        else {
            return;
        };
        let listed: Vec<String> = v["skipped"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for id in listed {
            if let Some(j) = self.index(&id)
                && self.states[j] == State::Waiting
            {
                self.set(
                    j,
                    State::Skipped,
                    &format!(" (short-circuited by {task_id})"),
                );
            }
        }
    }

    /// A run-task exit code 0 means success or skipped: the record says which.
    async fn record_status(&self, task: usize, map_index: i64) -> Option<State> {
        let path = self
            .store
            .task_dir(
                &self.wid,
                &self.run_id,
                &self.wf.tasks[task].task_id,
                map_index,
            )
            .join("record.json");
        self.state.pull_file(&path).await.ok()?;
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        (record["status"] == State::Skipped.as_record_str()).then_some(State::Skipped)
    }

    /// SIGTERM or SIGINT: start nothing more, and pass SIGTERM on to every running instance (its
    /// on_kill runs and its record says STOPPED). A second signal sends SIGKILL.
    fn stop(&mut self, signal_name: &str) {
        let kill = if self.stopping {
            nix::sys::signal::Signal::SIGKILL
        } else {
            nix::sys::signal::Signal::SIGTERM
        };
        self.say(&format!(
            "{signal_name}: stopping the run; sending {kill} to {} running task instance(s)",
            self.live.iter().map(Vec::len).sum::<usize>()
        ));
        self.stopping = true;
        for p in &mut self.pending {
            p.clear();
        }
        for (_, pid) in self.live.iter().flatten() {
            if let Ok(pid) = i32::try_from(*pid)
                && pid > 0
            {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), kill);
            }
        }
        // A mapped task with no instance running any more ends now.
        for i in 0..self.wf.tasks.len() {
            if self.states[i] == State::Running && self.live[i].is_empty() {
                self.set(i, State::Stopped, " (not every instance started)");
            }
        }
    }

    /// Writes `run.json` in the run's directory: the run, the task graph and each task's state
    /// (`airtask report` draws the run from it). Written when the run starts and when it ends;
    /// a failure to write it is reported and does not change the run's outcome.
    fn write_run_json(&self, ended: Option<&str>) {
        let tasks: Vec<serde_json::Value> = self
            .wf
            .tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                serde_json::json!({
                    "task_id": t.task_id,
                    "operator": t.implementation.as_deref().unwrap_or(&t.operator),
                    "upstream": t.upstream,
                    "trigger_rule": t.trigger_rule.as_str(),
                    "mapped": t.mapping.is_some(),
                    "retries": t.retries,
                    "state": self.states[i].as_str(),
                    "instances": self.instances[i].len(),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "workflow_id": self.wid,
            "dag_id": self.wf.workflow_id,
            "run_id": self.run_id,
            "definition": self.file,
            "logical_date": self.logical_date,
            "started_at": crate::task_instance::record::iso(self.started),
            "ended_at": ended.map(|_| crate::task_instance::record::iso(clock::now())),
            "outcome": ended,
            "tasks": tasks,
        });
        let dir = self.logs.run_dir(&self.wid, &self.run_id);
        let path = dir.join("run.json");
        let tmp = dir.join("run.json.tmp");
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(&tmp, format!("{doc:#}\n")))
            .and_then(|()| std::fs::rename(&tmp, &path));
        if let Err(e) = written {
            self.say(&format!("cannot write {}: {e}", path.display()));
        }
    }

    async fn run(mut self) -> Result<u8, CliError> {
        self.write_run_json(None);
        self.say(&format!(
            "run {} of workflow {} ({} tasks, state in {})",
            self.run_id,
            self.wid,
            self.wf.tasks.len(),
            self.args.state_dir.display()
        ));
        let (mut term, mut int) = match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(t), Ok(i)) => (t, i),
            (Err(e), _) | (_, Err(e)) => {
                return Err(CliError::Infra(format!(
                    "cannot handle SIGTERM/SIGINT: {e}"
                )));
            }
        };
        let mut running: JoinSet<Exited> = JoinSet::new();
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        loop {
            let mut changed = false;
            if !self.stopping {
                changed |= self.schedule().await;
                changed |= self.start(&mut running).await;
            }
            if running.is_empty() {
                if changed && !self.stopping {
                    continue;
                }
                // Everything is decided (the workflow is acyclic, so nothing waits forever).
                break;
            }
            // React to each child's exit as it happens (tokio reaps them on SIGCHLD).
            tokio::select! {
                joined = running.join_next() => {
                    if let Some(Ok((i, map_index, code))) = joined {
                        let outcome = match state_from_exit(code) {
                            State::Failed if self.stopping => State::Stopped,
                            s => s,
                        };
                        self.finished(i, map_index, outcome, "").await;
                    }
                }
                _ = term.recv() => self.stop("SIGTERM"),
                _ = int.recv() => self.stop("SIGINT"),
                _ = tick.tick(), if self.screen.is_some() => self.redraw(),
            }
        }
        self.erase_live();
        let code = self.summary();
        self.write_run_json(Some(match code {
            0 => "success",
            crate::exit::RUN_STOPPED => "stopped",
            _ => "failed",
        }));
        Ok(code)
    }

    /// Prints the summary table; the run succeeds when no leaf task failed (Airflow's rule).
    fn summary(&self) -> u8 {
        let elapsed = clock::now().duration_since(self.started).as_secs_f64();
        outln!();
        outln!("{:<28} {:<16} INSTANCES", "TASK", "STATE");
        for (i, t) in self.wf.tasks.iter().enumerate() {
            let n = self.instances[i].len();
            outln!(
                "{:<28} {:<16} {}",
                t.task_id,
                self.states[i].as_str(),
                if t.mapping.is_some() {
                    n.to_string()
                } else {
                    "-".into()
                }
            );
        }
        let leaves: Vec<usize> = (0..self.wf.tasks.len())
            .filter(|&i| {
                !self
                    .wf
                    .tasks
                    .iter()
                    .any(|t| t.upstream.contains(&self.wf.tasks[i].task_id))
            })
            .collect();
        let failed = leaves
            .iter()
            .any(|&i| self.states[i].is_failed() || !self.states[i].is_done());
        outln!();
        outln!(
            "run {} {} in {elapsed:.1} s; XComs, records and task output are under {}",
            self.run_id,
            if self.stopping {
                "was stopped"
            } else if failed {
                "failed"
            } else {
                "succeeded"
            },
            self.logs.run_dir(&self.wid, &self.run_id).display()
        );
        if self.stopping {
            crate::exit::RUN_STOPPED
        } else {
            u8::from(failed)
        }
    }
}

/// `airtask run`.
pub(crate) fn run(args: &RunArgs) -> Result<u8, CliError> {
    let rt = match crate::exit::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return Err(usage(&e)),
    };
    let roles = match crate::identity::Roles::resolve(&args.roles) {
        Ok(r) => r,
        Err(e) => return Err(usage(&e)),
    };
    let identity = crate::identity::Identity::new(roles);
    let session = airtask_aws::identity::run_session_name(
        &args
            .workflow_id
            .clone()
            .unwrap_or_else(|| crate::definition::stem(&args.file)),
    );
    let (_, wf) = rt.block_on(crate::definition::load_valid_as(
        &args.file,
        args.source.version_id.as_deref(),
        2,
        &identity,
        &session,
        1,
    ))?;
    let logical = match args
        .logical_date
        .as_deref()
        .map(parse_logical_date)
        .transpose()
    {
        Ok(d) => d.unwrap_or_else(clock::now),
        Err(e) => return Err(usage(&e)),
    };
    let n = wf.tasks.len();
    // The run's own session names the workflow (unless an s3:// definition was already read
    // as the execution role, under the object's name).
    let wid = args
        .workflow_id
        .clone()
        .unwrap_or_else(|| wf.workflow_id.clone());
    let session = airtask_aws::identity::run_session_name(&wid);
    let state = match rt.block_on(crate::state::State::open(
        &args.state_dir,
        args.store.as_deref(),
        &identity,
        &session,
    )) {
        Ok(s) => s,
        Err(e) => {
            return Err(CliError::Failed {
                message: e,
                code: 1,
            });
        }
    };
    let store = state.local().clone();
    let logs = LocalStore::new(&args.state_dir);
    let run_id = match &args.run_id {
        Some(id) => id.clone(),
        None => new_run_id(&logs, &wid),
    };
    let runner = Runner {
        args,
        wf: &wf,
        wid,
        file: args.file.clone(),
        run_id,
        logical_date: logical.to_string(),
        store,
        logs,
        state,
        states: vec![State::Waiting; n],
        instances: vec![Vec::new(); n],
        pending: vec![VecDeque::new(); n],
        live: vec![Vec::new(); n],
        stopping: false,
        started: clock::now(),
        screen: std::io::IsTerminal::is_terminal(&std::io::stdout())
            .then(|| std::sync::atomic::AtomicUsize::new(0)),
    };
    rt.block_on(runner.run())
}

/// A run id of a new run: `manual__<now>`, as Airflow 3 names a manual run after the time it
/// was triggered (its `run_after`), never after the logical date, so two runs of one logical
/// date are two runs. The run's directory is created exclusively: should it exist (two runs
/// started in the same microsecond), the next microsecond is taken.
fn new_run_id(logs: &LocalStore, workflow_id: &str) -> String {
    let mut t = clock::now();
    loop {
        let id = format!("manual__{}", t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"));
        let dir = logs.run_dir(workflow_id, &id);
        if let Some(parent) = dir.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::create_dir(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                t = t
                    .saturating_add(jiff::SignedDuration::from_micros(1))
                    .unwrap_or(t);
            }
            // Created; or the state directory cannot be written, which each task reports.
            _ => return id,
        }
    }
}
