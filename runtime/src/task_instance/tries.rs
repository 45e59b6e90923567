//! The parts of the try loop that decide, apart from the state, the record and the log files:
//! one try's `execute` under its deadline, SIGTERM/SIGINT and the log's fault (with `on_kill`),
//! how a try's ending maps to a state, an exit code and the retry decision, and the wait
//! before the next try. `run` in `mod.rs` strings them together; the tests below drive them
//! with a fake operator under paused time.

use std::future::Future;
use std::time::Duration;

use airtask_core::instance::TaskState;
use airtask_core::retry::{self, RetryPolicy};
use airtask_core::{BuiltOperator, Level, LogSink, Outcome, TaskContext, TaskError};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::exit::run_task as exit;

/// How one try ended.
#[derive(Debug)]
pub(crate) enum TryEnd {
    Done(Outcome),
    Failed(TaskError),
    TimedOut,
    Stopped,
    /// The state or the log could not be written (exit 5).
    Infra(String),
}

/// Runs `op.execute` until it returns, `deadline` passes (the try's execution_timeout),
/// `stop` is set (SIGTERM/SIGINT) or `fault` resolves (a log line could not be written). In
/// the three latter cases the future is dropped and `op.on_kill` runs.
pub(crate) async fn execute_try(
    op: &mut BuiltOperator,
    ctx: &TaskContext,
    deadline: Instant,
    stop: &mut watch::Receiver<bool>,
    fault: impl Future<Output = String>,
    log: &dyn LogSink,
) -> TryEnd {
    let end = {
        let fut = op.execute(ctx);
        tokio::select! {
            r = tokio::time::timeout_at(deadline, fut) => match r {
                Ok(Ok(o)) => TryEnd::Done(o),
                Ok(Err(e)) => TryEnd::Failed(e),
                Err(_) => TryEnd::TimedOut,
            },
            _ = stop.wait_for(|s| *s) => TryEnd::Stopped,
            fault = fault => TryEnd::Infra(fault),
        }
    };
    if matches!(end, TryEnd::TimedOut | TryEnd::Stopped | TryEnd::Infra(_)) {
        log.line(
            Level::Warning,
            "airtask",
            "Killing the task's work (on_kill).",
        );
        op.on_kill(ctx).await;
    }
    if check_permissions() {
        return checked_against_permissions(end, op, ctx);
    }
    end
}

/// `end`, or a fatal failure when the try called IAM actions `op` does not declare.
fn checked_against_permissions(end: TryEnd, op: &BuiltOperator, ctx: &TaskContext) -> TryEnd {
    let undeclared =
        airtask_core::permissions::undeclared(&ctx.call_log().actions(), &op.permissions());
    if undeclared.is_empty() {
        end
    } else {
        TryEnd::Failed(TaskError::fatal(undeclared_message(&undeclared)))
    }
}

/// Whether tries are checked against the operator's declared permissions
/// (`AIRTASK_CHECK_PERMISSIONS` set to anything but empty or `0`): the test command sets it so
/// that every end-to-end test also proves the declarations `airtask policy` reads complete.
fn check_permissions() -> bool {
    std::env::var_os("AIRTASK_CHECK_PERMISSIONS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The failure of a try that called IAM actions its operator does not declare.
fn undeclared_message(undeclared: &[String]) -> String {
    format!(
        "the operator called {} but does not declare {} in its permissions \
         (AIRTASK_CHECK_PERMISSIONS is set, so every AWS call must be declared: `airtask \
         policy` would write a policy that denies {})",
        undeclared.join(", "),
        if undeclared.len() == 1 { "it" } else { "them" },
        if undeclared.len() == 1 { "it" } else { "them" },
    )
}

/// What one try's ending means: the try's state, the exit code should it be the last, the
/// record's error, and the retry decision's view of it. `invalid` marks a failure of
/// rendering or of the parameters (exit 2, never retried); `timeout` is the execution_timeout.
pub(crate) fn classify(
    end: &TryEnd,
    invalid: bool,
    timeout: Duration,
) -> (TaskState, u8, Option<String>, retry::TryEnd) {
    match end {
        TryEnd::Done(Outcome::Success(_) | Outcome::SkipDownstream { .. }) => {
            (TaskState::Success, exit::OK, None, retry::TryEnd::Done)
        }
        TryEnd::Done(Outcome::Skipped(why)) => (
            TaskState::Skipped,
            exit::OK,
            Some(why.clone()),
            retry::TryEnd::Done,
        ),
        TryEnd::Failed(e) if invalid => (
            TaskState::Failed,
            exit::INVALID,
            Some(e.message.clone()),
            retry::TryEnd::Fatal,
        ),
        TryEnd::Failed(e) => (
            TaskState::Failed,
            exit::FAILED,
            Some(e.message.clone()),
            retry::TryEnd::Failed {
                retryable: e.retryable,
            },
        ),
        TryEnd::TimedOut => (
            TaskState::Timeout,
            exit::TIMEOUT,
            Some(format!(
                "the try exceeded its execution_timeout of {} s",
                timeout.as_secs_f64()
            )),
            retry::TryEnd::TimedOut,
        ),
        TryEnd::Stopped => (
            TaskState::Stopped,
            exit::STOPPED,
            Some("stopped by a signal (SIGTERM or SIGINT)".to_owned()),
            retry::TryEnd::Stopped,
        ),
        TryEnd::Infra(e) => (
            TaskState::Failed,
            exit::INFRA,
            Some(e.clone()),
            retry::TryEnd::Fatal,
        ),
    }
}

/// After try `try_number` ended with `end` in state `status`: the state the record gets
/// (`UP_FOR_RETRY` when the task has tries left, even if another process runs them with
/// `--try N`), and the wait before the next try this process runs (only up to `last`).
pub(super) fn after_try(
    policy: &RetryPolicy,
    try_number: u32,
    last: u32,
    status: TaskState,
    end: retry::TryEnd,
) -> (TaskState, Option<Duration>) {
    let wait = policy.next(try_number, end);
    let status = if wait.is_some() {
        TaskState::UpForRetry
    } else {
        status
    };
    (status, wait.filter(|_| try_number < last))
}

/// Waits `delay` before the next try: `true` when it passed, `false` when `stop` was set
/// meanwhile.
pub(super) async fn wait_to_retry(delay: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        _ = stop.wait_for(|s| *s) => false,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Operator, OperatorSpec, ParamError, ParamReader, Registry};
    use serde_json::json;

    use super::*;

    /// What the fake operators did, as (test, event): `execute N`, `on_kill N`.
    static EVENTS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

    fn event(test: &str, what: String) {
        EVENTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((test.to_owned(), what));
    }

    fn events(test: &str) -> Vec<String> {
        EVENTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(t, _)| t == test)
            .map(|(_, e)| e.clone())
            .collect()
    }

    /// An operator whose try N does what `script[N - 1]` says: `ok`, `fail` (retryable),
    /// `fatal` (not retryable) or `hang` (an hour, past any timeout of these tests).
    struct Fake {
        test: String,
        script: Vec<String>,
    }

    impl Operator for Fake {
        const SPEC: OperatorSpec = OperatorSpec {
            class_path: "tests.FakeOperator",
            aliases: &[],
            template_fields: &[],
            calls_aws: false,
        };

        fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
            Ok(Fake {
                test: p.required_str("test", "the test's name")?,
                script: p.str_or_list("script")?.unwrap_or_default(),
            })
        }

        async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
            let n = ctx.try_number();
            event(&self.test, format!("execute {n}"));
            let step = usize::try_from(n - 1)
                .ok()
                .and_then(|i| self.script.get(i))
                .map_or("ok", String::as_str);
            match step {
                "fail" => Err(TaskError::retryable(format!("try {n} failed"))),
                "fatal" => Err(TaskError::fatal(format!("try {n} failed for good"))),
                "hang" => {
                    tokio::time::sleep(Duration::from_secs(3600)).await;
                    Ok(Outcome::Success(None))
                }
                _ => Ok(Outcome::Success(Some(json!(n)))),
            }
        }

        async fn on_kill(&mut self, ctx: &TaskContext) {
            event(&self.test, format!("on_kill {}", ctx.try_number()));
        }
    }

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl LogSink for Lines {
        fn line(&self, _level: Level, _logger: &str, message: &str) {
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(message.to_owned());
        }
    }

    const TIMEOUT: Duration = Duration::from_secs(30);
    const DELAY: Duration = Duration::from_secs(60);

    /// What a task instance's tries came to: each try's state as recorded, and the exit code.
    #[derive(Debug, PartialEq)]
    struct Tries {
        states: Vec<TaskState>,
        code: u8,
    }

    /// The try loop of `run` in `mod.rs`, without the state, the record and the log files.
    async fn drive(
        test: &str,
        script: &[&str],
        retries: u32,
        mut stop: watch::Receiver<bool>,
    ) -> Tries {
        let registry = Registry::builder().register::<Fake>().build();
        let entry = registry
            .lookup(Fake::SPEC.class_path)
            .expect("the fake is registered");
        let mut params = airtask_core::Params::new();
        params.insert("test".into(), json!(test));
        params.insert("script".into(), json!(script));
        let policy = RetryPolicy {
            tries: retries + 1,
            delay: DELAY,
        };
        let log = Arc::new(Lines::default());
        let mut states = Vec::new();
        let mut try_number = 1;
        loop {
            let mut op = entry
                .build(&params)
                .expect("the fake's parameters are valid");
            let ctx = TaskContext::new(entry.spec(), "t", try_number, log.clone())
                .with_time_budget(TIMEOUT);
            let deadline = Instant::now() + TIMEOUT;
            let end = execute_try(
                &mut op,
                &ctx,
                deadline,
                &mut stop,
                std::future::pending(),
                log.as_ref(),
            )
            .await;
            let (status, code, _, policy_end) = classify(&end, false, TIMEOUT);
            let (status, wait) = after_try(&policy, try_number, policy.tries, status, policy_end);
            states.push(status);
            let Some(delay) = wait else {
                return Tries { states, code };
            };
            if !wait_to_retry(delay, &mut stop).await {
                states.push(TaskState::Stopped);
                return Tries {
                    states,
                    code: exit::STOPPED,
                };
            }
            try_number += 1;
        }
    }

    fn no_stop() -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        // The sender lives as long as the test: a dropped sender is not a stop.
        std::mem::forget(tx);
        rx
    }

    /// A stop (SIGTERM) `after` from now.
    fn stop_after(after: Duration) -> watch::Receiver<bool> {
        let (tx, rx) = watch::channel(false);
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let _ = tx.send(true);
            // Keep the sender until the test ends.
            std::future::pending::<()>().await;
        });
        rx
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_try_is_retried_after_the_delay_and_then_succeeds() {
        let t0 = Instant::now();
        let tries = drive("retry_ok", &["fail", "ok"], 2, no_stop()).await;
        assert_eq!(
            tries,
            Tries {
                states: vec![TaskState::UpForRetry, TaskState::Success],
                code: exit::OK,
            }
        );
        assert_eq!(events("retry_ok"), ["execute 1", "execute 2"]);
        // Paused time: the clock moved by the retry_delay exactly, without waiting for it.
        assert_eq!(t0.elapsed(), DELAY);
    }

    #[tokio::test(start_paused = true)]
    async fn when_the_retries_are_exhausted_the_last_try_fails_the_task() {
        let tries = drive("exhausted", &["fail", "fail", "fail", "ok"], 2, no_stop()).await;
        assert_eq!(
            tries,
            Tries {
                states: vec![
                    TaskState::UpForRetry,
                    TaskState::UpForRetry,
                    TaskState::Failed
                ],
                code: exit::FAILED,
            }
        );
        assert_eq!(events("exhausted"), ["execute 1", "execute 2", "execute 3"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_retryable_error_is_not_retried() {
        let tries = drive("fatal", &["fatal", "ok"], 3, no_stop()).await;
        assert_eq!(
            tries,
            Tries {
                states: vec![TaskState::Failed],
                code: exit::FAILED,
            }
        );
        assert_eq!(events("fatal"), ["execute 1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_try_past_its_timeout_is_killed_and_timed_out() {
        let t0 = Instant::now();
        let tries = drive("timeout", &["hang"], 0, no_stop()).await;
        assert_eq!(
            tries,
            Tries {
                states: vec![TaskState::Timeout],
                code: exit::TIMEOUT,
            }
        );
        assert_eq!(events("timeout"), ["execute 1", "on_kill 1"]);
        assert_eq!(t0.elapsed(), TIMEOUT);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timed_out_try_is_retried() {
        let tries = drive("timeout_retry", &["hang", "ok"], 1, no_stop()).await;
        assert_eq!(tries.states, [TaskState::UpForRetry, TaskState::Success]);
        assert_eq!(
            events("timeout_retry"),
            ["execute 1", "on_kill 1", "execute 2"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn execute_try_reports_the_timeout_and_calls_on_kill() {
        let registry = Registry::builder().register::<Fake>().build();
        let entry = registry.lookup(Fake::SPEC.class_path).expect("registered");
        let mut params = airtask_core::Params::new();
        params.insert("test".into(), json!("execute_try_timeout"));
        params.insert("script".into(), json!(["hang"]));
        let mut op = entry.build(&params).expect("valid");
        let log = Arc::new(Lines::default());
        let ctx = TaskContext::new(entry.spec(), "t", 1, log.clone());
        let mut stop = no_stop();
        let end = execute_try(
            &mut op,
            &ctx,
            Instant::now() + TIMEOUT,
            &mut stop,
            std::future::pending(),
            log.as_ref(),
        )
        .await;
        assert!(matches!(end, TryEnd::TimedOut), "{end:?}");
        assert_eq!(events("execute_try_timeout"), ["execute 1", "on_kill 1"]);
        let lines = log
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        assert!(lines.iter().any(|l| l.contains("on_kill")), "{lines:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_during_a_try_kills_it_and_nothing_is_retried() {
        let tries = drive(
            "stop_try",
            &["hang", "ok"],
            3,
            stop_after(Duration::from_secs(5)),
        )
        .await;
        assert_eq!(
            tries,
            Tries {
                states: vec![TaskState::Stopped],
                code: exit::STOPPED,
            }
        );
        assert_eq!(events("stop_try"), ["execute 1", "on_kill 1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_while_waiting_to_retry_ends_the_task_stopped() {
        let tries = drive("stop_wait", &["fail", "ok"], 3, stop_after(DELAY / 2)).await;
        assert_eq!(
            tries,
            Tries {
                states: vec![TaskState::UpForRetry, TaskState::Stopped],
                code: exit::STOPPED,
            }
        );
        // The next try never started, and no try was running to kill.
        assert_eq!(events("stop_wait"), ["execute 1"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_log_fault_ends_the_try_as_infrastructure_and_kills_it() {
        let registry = Registry::builder().register::<Fake>().build();
        let entry = registry.lookup(Fake::SPEC.class_path).expect("registered");
        let mut params = airtask_core::Params::new();
        params.insert("test".into(), json!("fault"));
        params.insert("script".into(), json!(["hang"]));
        let mut op = entry.build(&params).expect("valid");
        let log = Arc::new(Lines::default());
        let ctx = TaskContext::new(entry.spec(), "t", 1, log.clone());
        let mut stop = no_stop();
        let fault = async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            "cannot write the task log: disk full".to_owned()
        };
        let end = execute_try(
            &mut op,
            &ctx,
            Instant::now() + TIMEOUT,
            &mut stop,
            fault,
            log.as_ref(),
        )
        .await;
        assert!(
            matches!(&end, TryEnd::Infra(m) if m.contains("disk full")),
            "{end:?}"
        );
        let (status, code, _, policy_end) = classify(&end, false, TIMEOUT);
        assert_eq!((status, code), (TaskState::Failed, exit::INFRA));
        assert_eq!(policy_end, retry::TryEnd::Fatal);
        assert_eq!(events("fault"), ["execute 1", "on_kill 1"]);
    }

    #[test]
    fn an_invalid_failure_is_exit_2_and_never_retried() {
        let end = TryEnd::Failed(TaskError::retryable("bad template"));
        let (status, code, error, policy_end) = classify(&end, true, TIMEOUT);
        assert_eq!((status, code), (TaskState::Failed, exit::INVALID));
        assert_eq!(error.as_deref(), Some("bad template"));
        assert_eq!(policy_end, retry::TryEnd::Fatal);
    }

    #[test]
    fn a_try_with_tries_left_is_up_for_retry_even_when_another_process_runs_them() {
        let policy = RetryPolicy {
            tries: 3,
            delay: DELAY,
        };
        let failed = retry::TryEnd::Failed { retryable: true };
        // `--try 1`: this process runs try 1 only.
        assert_eq!(
            after_try(&policy, 1, 1, TaskState::Failed, failed),
            (TaskState::UpForRetry, None)
        );
        assert_eq!(
            after_try(&policy, 1, 3, TaskState::Failed, failed),
            (TaskState::UpForRetry, Some(DELAY))
        );
        assert_eq!(
            after_try(&policy, 3, 3, TaskState::Failed, failed),
            (TaskState::Failed, None)
        );
    }

    /// An operator that "calls" `glue:StartJobRun` and `glue:GetJobRun` and declares only
    /// what `declared` says.
    struct Caller {
        declared: Vec<&'static str>,
    }

    impl Operator for Caller {
        const SPEC: OperatorSpec = OperatorSpec {
            class_path: "tests.CallerOperator",
            aliases: &[],
            template_fields: &[],
            calls_aws: false,
        };

        fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
            let declared = p.str_or_list("declared")?.unwrap_or_default();
            Ok(Caller {
                declared: declared
                    .into_iter()
                    .map(|a| &*Box::leak(a.into_boxed_str()))
                    .collect(),
            })
        }

        async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
            ctx.call_log().record("glue:StartJobRun".into());
            ctx.call_log().record("glue:GetJobRun".into());
            Ok(Outcome::Success(None))
        }

        fn permissions(&self) -> Vec<airtask_core::Permission> {
            vec![airtask_core::Permission::on_any(&self.declared)]
        }
    }

    #[tokio::test]
    async fn a_try_that_calls_an_undeclared_action_fails_for_good() {
        let registry = Registry::builder().register::<Caller>().build();
        let entry = registry
            .lookup(Caller::SPEC.class_path)
            .expect("registered");
        for (declared, undeclared) in [
            (json!(["glue:StartJobRun"]), Some("glue:GetJobRun")),
            (json!(["glue:StartJobRun", "glue:GetJobRun"]), None),
            (json!(["glue:*"]), None),
        ] {
            let mut params = airtask_core::Params::new();
            params.insert("declared".into(), declared);
            let mut op = entry.build(&params).expect("valid");
            let log: Arc<Lines> = Arc::default();
            let ctx = TaskContext::new(entry.spec(), "t", 1, log.clone());
            let end = op.execute(&ctx).await.map(TryEnd::Done).expect("succeeds");
            match (checked_against_permissions(end, &op, &ctx), undeclared) {
                (TryEnd::Failed(e), Some(action)) => {
                    assert!(!e.retryable);
                    assert!(
                        e.message
                            .starts_with(&format!("the operator called {action} but")),
                        "{e}"
                    );
                }
                (TryEnd::Done(Outcome::Success(None)), None) => {}
                (other, want) => panic!("{other:?} where {want:?} was undeclared"),
            }
        }
    }
}
