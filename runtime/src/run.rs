//! `airtask run`: one workflow run on this machine. Every task instance runs as its own
//! `airtask run-task` process, as it would on isolated compute, in dependency order, with
//! Airflow's trigger rules and dynamic task mapping.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use airtask_core::store::LocalStore;
use airtask_workflow::{Task, TriggerRule, Workflow};

use crate::cli::RunArgs;
use crate::clock;
use crate::commands::usage;
use crate::render::parse_logical_date;

/// A task's state in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Success,
    Failed,
    Skipped,
    UpstreamFailed,
    Timeout,
    Stopped,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Running => "running",
            State::Success => "success",
            State::Failed => "failed",
            State::Skipped => "skipped",
            State::UpstreamFailed => "upstream_failed",
            State::Timeout => "timeout",
            State::Stopped => "stopped",
        }
    }

    fn done(self) -> bool {
        !matches!(self, State::Waiting | State::Running)
    }

    fn failed(self) -> bool {
        matches!(
            self,
            State::Failed | State::UpstreamFailed | State::Timeout | State::Stopped
        )
    }

    fn from_exit(code: Option<i32>) -> State {
        match code {
            Some(0) => State::Success,
            Some(3) => State::Timeout,
            Some(4) => State::Stopped,
            _ => State::Failed,
        }
    }
}

/// What a trigger rule decides.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    Run,
    Skip,
    UpstreamFailed,
}

/// Airflow's trigger rules: a decision as soon as the upstream states settle it, as the
/// scheduler does (`one_success` runs at the first success while other upstream tasks still
/// run; `all_success` is upstream_failed at the first failure), else `None` until every
/// upstream task is done.
fn decide_early(rule: TriggerRule, upstream: &[State]) -> Option<Decision> {
    if upstream.iter().all(|s| s.done()) {
        return Some(decide(rule, upstream));
    }
    let success = upstream.iter().filter(|s| **s == State::Success).count();
    let skipped = upstream.iter().filter(|s| **s == State::Skipped).count();
    let failed = upstream.iter().filter(|s| s.failed()).count();
    match rule {
        TriggerRule::OneSuccess if success > 0 => Some(Decision::Run),
        TriggerRule::OneFailed if failed > 0 => Some(Decision::Run),
        TriggerRule::OneDone if success + failed > 0 => Some(Decision::Run),
        TriggerRule::AllSuccess if failed > 0 => Some(Decision::UpstreamFailed),
        TriggerRule::AllSuccess if skipped > 0 => Some(Decision::Skip),
        TriggerRule::NoneFailed | TriggerRule::NoneFailedMinOneSuccess if failed > 0 => {
            Some(Decision::UpstreamFailed)
        }
        TriggerRule::AllFailed if success + skipped > 0 => Some(Decision::Skip),
        TriggerRule::NoneSkipped if skipped > 0 => Some(Decision::Skip),
        TriggerRule::AllSkipped if success + failed > 0 => Some(Decision::Skip),
        _ => None,
    }
}

/// Airflow's trigger rules, evaluated when all upstream tasks are done.
fn decide(rule: TriggerRule, upstream: &[State]) -> Decision {
    let success = upstream.iter().filter(|s| **s == State::Success).count();
    let skipped = upstream.iter().filter(|s| **s == State::Skipped).count();
    let failed = upstream.iter().filter(|s| s.failed()).count();
    let n = upstream.len();
    match rule {
        TriggerRule::AllSuccess => {
            if failed > 0 {
                Decision::UpstreamFailed
            } else if skipped > 0 {
                Decision::Skip
            } else {
                Decision::Run
            }
        }
        TriggerRule::AllFailed => {
            if failed == n {
                Decision::Run
            } else {
                Decision::Skip
            }
        }
        TriggerRule::AllDone | TriggerRule::AllDoneSetupSuccess | TriggerRule::Always => {
            Decision::Run
        }
        TriggerRule::OneSuccess => {
            if success > 0 || n == 0 {
                Decision::Run
            } else if skipped == n {
                Decision::Skip
            } else {
                Decision::UpstreamFailed
            }
        }
        TriggerRule::OneFailed => {
            if failed > 0 || n == 0 {
                Decision::Run
            } else {
                Decision::Skip
            }
        }
        TriggerRule::OneDone => {
            if success + failed > 0 || n == 0 {
                Decision::Run
            } else {
                Decision::Skip
            }
        }
        TriggerRule::NoneFailed => {
            if failed > 0 {
                Decision::UpstreamFailed
            } else {
                Decision::Run
            }
        }
        TriggerRule::NoneFailedMinOneSuccess => {
            if failed > 0 {
                Decision::UpstreamFailed
            } else if success > 0 || n == 0 {
                Decision::Run
            } else {
                Decision::Skip
            }
        }
        TriggerRule::NoneSkipped => {
            if skipped > 0 {
                Decision::Skip
            } else {
                Decision::Run
            }
        }
        TriggerRule::AllSkipped => {
            if skipped == n {
                Decision::Run
            } else {
                Decision::Skip
            }
        }
    }
}

/// A running `airtask run-task` process.
struct Running {
    task: usize,
    map_index: i64,
    child: Child,
}

struct Runner<'a> {
    args: &'a RunArgs,
    wf: &'a Workflow,
    file: String,
    run_id: String,
    logical_date: String,
    store: LocalStore,
    /// Where the task processes' output goes: the local state directory.
    logs: LocalStore,
    /// The state (an S3 store is mirrored into `store`), and the runtime its pulls run on.
    state: crate::state::State,
    rt: tokio::runtime::Runtime,
    states: Vec<State>,
    /// Per task: outcomes of its instances (one for an unmapped task).
    instances: Vec<Vec<State>>,
    /// Per task: instances still to start.
    pending: Vec<Vec<i64>>,
    started: jiff::Timestamp,
}

fn say(line: &str) {
    let ts = clock::now().strftime("%H:%M:%S");
    outln!("[{ts}] {line}");
}

impl Runner<'_> {
    fn index(&self, task_id: &str) -> Option<usize> {
        self.wf.tasks.iter().position(|t| t.task_id == task_id)
    }

    fn set(&mut self, i: usize, state: State, detail: &str) {
        self.states[i] = state;
        let t = &self.wf.tasks[i];
        say(&format!("{:<28} {}{detail}", t.task_id, state.as_str()));
    }

    fn spawn(&self, task: &Task, map_index: i64) -> Result<Child, String> {
        let exe =
            std::env::current_exe().map_err(|e| format!("cannot find the airtask binary: {e}"))?;
        let dir = self
            .logs
            .task_dir(&self.wf.workflow_id, &self.run_id, &task.task_id, map_index);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let log_path = dir.join("output.log");
        let log = std::fs::File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
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
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
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

    /// Decides every waiting task whose upstream states settle its trigger rule.
    fn schedule(&mut self) {
        for i in 0..self.wf.tasks.len() {
            if self.states[i] != State::Waiting || !self.pending[i].is_empty() {
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
            match decision {
                Decision::Skip => self.set(i, State::Skipped, ""),
                Decision::UpstreamFailed => self.set(i, State::UpstreamFailed, ""),
                Decision::Run => {
                    if task.mapping.is_some() {
                        if let Err(e) = self
                            .rt
                            .block_on(self.state.pull_run(&self.wf.workflow_id, &self.run_id))
                        {
                            self.set(
                                i,
                                State::Failed,
                                &format!(": cannot read the run's state: {e}"),
                            );
                            continue;
                        }
                        match crate::mapping::expanded_values(
                            task,
                            self.wf,
                            &self.run_id,
                            &self.store,
                        ) {
                            Ok(values) => {
                                let n = crate::mapping::instance_count(&values);
                                if n == 0 {
                                    self.set(i, State::Skipped, " (mapped over nothing)");
                                } else {
                                    self.pending[i] = (0..n as i64).collect();
                                    self.instances[i] = Vec::with_capacity(n);
                                    self.set(
                                        i,
                                        State::Running,
                                        &format!(" ({n} mapped instances)"),
                                    );
                                }
                            }
                            Err(e) => self.set(i, State::Failed, &format!(": {e}")),
                        }
                    } else {
                        self.pending[i] = vec![-1];
                        self.set(i, State::Running, "");
                    }
                }
            }
        }
    }

    fn run(mut self) -> u8 {
        say(&format!(
            "run {} of workflow {} ({} tasks, state in {})",
            self.run_id,
            self.wf.workflow_id,
            self.wf.tasks.len(),
            self.args.state_dir.display()
        ));
        let parallelism = self.args.parallelism.max(1);
        let mut running: Vec<Running> = Vec::new();
        loop {
            self.schedule();
            // Start pending instances up to the parallelism.
            for i in 0..self.wf.tasks.len() {
                while running.len() < parallelism && !self.pending[i].is_empty() {
                    let map_index = self.pending[i].remove(0);
                    let task = &self.wf.tasks[i];
                    match self.spawn(task, map_index) {
                        Ok(child) => running.push(Running {
                            task: i,
                            map_index,
                            child,
                        }),
                        Err(e) => {
                            self.instances[i].push(State::Failed);
                            say(&format!("{:<28} failed to start: {e}", task.task_id));
                        }
                    }
                }
            }
            if running.is_empty()
                && self.states.iter().all(|s| *s != State::Running)
                && self.pending.iter().all(Vec::is_empty)
            {
                // Everything is decided (the workflow is acyclic, so nothing can wait forever).
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
            let mut k = 0;
            while k < running.len() {
                let finished = match running[k].child.try_wait() {
                    Ok(Some(status)) => Some(State::from_exit(status.code())),
                    Ok(None) => None,
                    Err(_) => Some(State::Failed),
                };
                let Some(outcome) = finished else {
                    k += 1;
                    continue;
                };
                let r = running.swap_remove(k);
                let outcome = if outcome == State::Success {
                    self.record_status(r.task, r.map_index).unwrap_or(outcome)
                } else {
                    outcome
                };
                self.instances[r.task].push(outcome);
                if self.wf.tasks[r.task].mapping.is_some() {
                    say(&format!(
                        "{:<28} {}",
                        format!("{}[{}]", self.wf.tasks[r.task].task_id, r.map_index),
                        outcome.as_str()
                    ));
                }
                if self.pending[r.task].is_empty() && !running.iter().any(|o| o.task == r.task) {
                    let all = &self.instances[r.task];
                    let state = if all.iter().any(|s| s.failed()) {
                        *all.iter().find(|s| s.failed()).unwrap_or(&State::Failed)
                    } else if all.iter().all(|s| *s == State::Skipped) {
                        State::Skipped
                    } else {
                        State::Success
                    };
                    let log = self
                        .logs
                        .task_dir(
                            &self.wf.workflow_id,
                            &self.run_id,
                            &self.wf.tasks[r.task].task_id,
                            r.map_index,
                        )
                        .join("output.log");
                    let detail = if state.failed() {
                        format!(" (log: {})", log.display())
                    } else {
                        String::new()
                    };
                    self.set(r.task, state, &detail);
                }
            }
        }
        self.summary()
    }

    /// A run-task exit code 0 means success or skipped: the record says which.
    fn record_status(&self, task: usize, map_index: i64) -> Option<State> {
        let path = self
            .store
            .task_dir(
                &self.wf.workflow_id,
                &self.run_id,
                &self.wf.tasks[task].task_id,
                map_index,
            )
            .join("record.json");
        self.rt.block_on(self.state.pull_file(&path)).ok()?;
        let record: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        (record["status"] == "SKIPPED").then_some(State::Skipped)
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
            .any(|&i| self.states[i].failed() || !self.states[i].done());
        outln!();
        outln!(
            "run {} {} in {elapsed:.1} s; XComs, records and task output are under {}",
            self.run_id,
            if failed { "failed" } else { "succeeded" },
            self.logs
                .task_dir(&self.wf.workflow_id, &self.run_id, "", 0)
                .parent()
                .and_then(|p| p.parent())
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        u8::from(failed)
    }
}

/// `airtask run`.
pub(crate) fn run(args: &RunArgs) -> u8 {
    let rt = match crate::commands::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return usage(&e),
    };
    let roles = match crate::identity::Roles::resolve(&args.roles) {
        Ok(r) => r,
        Err(e) => return usage(&e),
    };
    let identity = crate::identity::Identity::new(roles);
    let session = airtask_aws::identity::run_session_name(&crate::definition::stem(&args.file));
    let (_, wf) = match rt.block_on(crate::definition::load_valid_as(
        &args.file,
        args.source.version_id.as_deref(),
        2,
        &identity,
        &session,
        1,
    )) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let logical = match args
        .logical_date
        .as_deref()
        .map(parse_logical_date)
        .transpose()
    {
        Ok(d) => d.unwrap_or_else(clock::now),
        Err(e) => return usage(&e),
    };
    let ctx = airtask_template::TaskContext::new(&wf.workflow_id, "", logical);
    let n = wf.tasks.len();
    // The run's own session names the workflow (unless an s3:// definition was already read
    // as the execution role, under the object's name).
    let session = airtask_aws::identity::run_session_name(&wf.workflow_id);
    let state = match rt.block_on(crate::state::State::open(
        &args.state_dir,
        args.store.as_deref(),
        &identity,
        &session,
    )) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return 1;
        }
    };
    let store = state.local().clone();
    let runner = Runner {
        args,
        wf: &wf,
        file: args.file.clone(),
        run_id: args.run_id.clone().unwrap_or(ctx.run_id),
        logical_date: logical.to_string(),
        store,
        logs: LocalStore::new(&args.state_dir),
        state,
        rt,
        states: vec![State::Waiting; n],
        instances: vec![Vec::new(); n],
        pending: vec![Vec::new(); n],
        started: clock::now(),
    };
    runner.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_decide_as_soon_as_the_upstream_states_settle_them() {
        use State::{Failed, Running, Skipped, Success, Waiting};
        let early = |rule, ups: &[State]| decide_early(rule, ups);
        assert_eq!(
            early(TriggerRule::OneSuccess, &[Success, Running]),
            Some(Decision::Run)
        );
        assert_eq!(early(TriggerRule::OneSuccess, &[Failed, Running]), None);
        assert_eq!(
            early(TriggerRule::OneFailed, &[Running, Failed]),
            Some(Decision::Run)
        );
        assert_eq!(
            early(TriggerRule::AllSuccess, &[Failed, Waiting]),
            Some(Decision::UpstreamFailed)
        );
        assert_eq!(
            early(TriggerRule::AllSuccess, &[Skipped, Running]),
            Some(Decision::Skip)
        );
        assert_eq!(early(TriggerRule::AllSuccess, &[Success, Running]), None);
        assert_eq!(early(TriggerRule::AllDone, &[Success, Running]), None);
        assert_eq!(
            early(TriggerRule::AllSkipped, &[Success, Running]),
            Some(Decision::Skip)
        );
        assert_eq!(
            early(TriggerRule::AllDone, &[Success, Failed]),
            Some(Decision::Run)
        );
    }
}
