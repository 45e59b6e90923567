//! "Start, then wait until a terminal state", as the Amazon provider's operators do it
//! (`airflow.providers.amazon.aws.utils.waiter_with_logging.wait`): poll at once, then every
//! `waiter_delay` seconds, a log line per poll with the state, and a failure after
//! `waiter_max_attempts` polls ("Waiter error: max attempts reached"). `deferrable: true` is
//! accepted and runs the same wait in the process (there is no triggerer here), with the same
//! result. The wait never sleeps past the try's time budget (`execution_timeout`).

use std::future::Future;
use std::time::Duration;

use crate::{ParamError, ParamReader, TaskContext, TaskError};

/// The waiting parameters of an operator that starts something and waits for it.
#[derive(Debug, Clone, PartialEq)]
pub struct WaitSettings {
    /// Wait for a terminal state (`wait_for_completion`, default true); when false, the
    /// operator returns once it has started its work.
    pub wait_for_completion: bool,
    /// The time between polls (`waiter_delay`).
    pub waiter_delay: Duration,
    /// The number of polls before giving up (`waiter_max_attempts`).
    pub waiter_max_attempts: u32,
    /// `deferrable` was asked for (it runs as an in-process wait).
    pub deferrable: bool,
}

impl WaitSettings {
    /// Reads `wait_for_completion`, `waiter_delay`, `waiter_max_attempts` and `deferrable`,
    /// with the operator's defaults for the delay and the attempts.
    ///
    /// # Errors
    /// A parameter of the wrong type, or `waiter_max_attempts` below 1.
    pub fn read(
        p: &mut ParamReader<'_>,
        default_delay_secs: u64,
        default_max_attempts: u32,
    ) -> Result<WaitSettings, ParamError> {
        Ok(WaitSettings {
            wait_for_completion: p.bool("wait_for_completion", true)?,
            waiter_delay: Duration::from_secs_f64(
                p.seconds("waiter_delay", default_delay_secs as f64)?,
            ),
            waiter_max_attempts: p
                .u32("waiter_max_attempts", 1..=u32::MAX)?
                .unwrap_or(default_max_attempts),
            deferrable: p.bool("deferrable", false)?,
        })
    }
}

/// What one poll found.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll<T> {
    /// Not finished yet, in `state` (for the log line).
    Pending {
        /// The state the service reported (`RUNNING`, `STARTING`...).
        state: String,
    },
    /// Finished: what the operator needs from the final answer. A terminal failure is an
    /// `Err` of the poll instead.
    Done(T),
}

/// The logger of the wait's lines (the provider's `waiter_with_logging`).
const LOGGER: &str = "airflow.task.hooks.airflow.providers.amazon.aws.utils.waiter_with_logging";

/// Polls `poll` until it is done, fails, or `waiter_max_attempts` polls found no terminal
/// state; `what` names what is waited for in the lines and errors ("Glue job run jr_1 of
/// etl").
///
/// # Errors
/// What a poll returned, a fatal error after `waiter_max_attempts` polls, or a retryable one
/// when the try's time budget runs out first.
pub async fn until_terminal<T, F, Fut>(
    ctx: &TaskContext,
    settings: &WaitSettings,
    what: &str,
    mut poll: F,
) -> Result<T, TaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, TaskError>>,
{
    if settings.deferrable {
        ctx.hook_info(
            LOGGER,
            "deferrable is set: airtask waits in the task's process (there is no triggerer), \
             with the same result",
        );
    }
    let attempts = settings.waiter_max_attempts.max(1);
    let mut attempt: u32 = 1;
    loop {
        let state = match poll().await? {
            Poll::Done(v) => return Ok(v),
            Poll::Pending { state } => state,
        };
        if attempt >= attempts {
            return Err(TaskError::fatal(format!(
                "{what} did not reach a terminal state after {attempts} attempts (every \
                 {} s; last state {state}): Waiter error: max attempts reached. Raise \
                 waiter_max_attempts or waiter_delay to wait longer.",
                settings.waiter_delay.as_secs_f64()
            )));
        }
        let mut delay = settings.waiter_delay;
        if let Some(left) = ctx.time_budget() {
            if left.is_zero() {
                return Err(TaskError::retryable(format!(
                    "the try's execution_timeout ran out while waiting for {what} (state \
                     {state}, {attempt} polls)"
                )));
            }
            delay = delay.min(left);
        }
        ctx.hook_info(
            LOGGER,
            &format!(
                "{what}: {state} (poll {attempt} of {attempts}; next in {:.1} s)",
                delay.as_secs_f64()
            ),
        );
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{Level, LogSink, OperatorSpec, Params};

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "x.Waiter",
        aliases: &[],
        template_fields: &[],
        calls_aws: false,
    };

    fn ctx() -> (TaskContext, Arc<Lines>) {
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        (TaskContext::new(&SPEC, "w", 1, lines.clone()), lines)
    }

    fn settings(v: serde_json::Value) -> WaitSettings {
        let p: Params = v.as_object().cloned().unwrap();
        let mut r = ParamReader::new("Op", &p);
        let s = WaitSettings::read(&mut r, 30, 60).unwrap();
        r.finish().unwrap();
        s
    }

    /// Pending for `n` polls, then done; counts polls.
    fn after(
        n: u32,
        polls: &Mutex<u32>,
    ) -> impl FnMut() -> std::future::Ready<Result<Poll<&'static str>, TaskError>> + '_ {
        move || {
            let mut p = polls.lock().unwrap();
            *p += 1;
            std::future::ready(Ok(if *p > n {
                Poll::Done("SUCCEEDED")
            } else {
                Poll::Pending {
                    state: "RUNNING".into(),
                }
            }))
        }
    }

    #[test]
    fn defaults_and_types() {
        let s = settings(serde_json::json!({}));
        assert_eq!(
            s,
            WaitSettings {
                wait_for_completion: true,
                waiter_delay: Duration::from_secs(30),
                waiter_max_attempts: 60,
                deferrable: false,
            }
        );
        let s = settings(
            serde_json::json!({"wait_for_completion": false, "waiter_delay": 5, "waiter_max_attempts": "3", "deferrable": true}),
        );
        assert!(!s.wait_for_completion && s.deferrable);
        assert_eq!(s.waiter_delay, Duration::from_secs(5));
        assert_eq!(s.waiter_max_attempts, 3);
        let p: Params = serde_json::json!({"waiter_max_attempts": 0})
            .as_object()
            .cloned()
            .unwrap();
        let e = WaitSettings::read(&mut ParamReader::new("Op", &p), 30, 60).unwrap_err();
        assert_eq!(e.param(), Some("waiter_max_attempts"));
        assert!(e.message().contains("1 or more"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn polls_at_once_then_every_delay_with_a_line_per_poll() {
        let (ctx, lines) = ctx();
        let s = settings(serde_json::json!({"waiter_delay": 10, "waiter_max_attempts": 5}));
        let polls = Mutex::new(0);
        let t0 = tokio::time::Instant::now();
        let r = until_terminal(&ctx, &s, "job run jr_1", after(2, &polls)).await;
        assert_eq!(r, Ok("SUCCEEDED"));
        assert_eq!(*polls.lock().unwrap(), 3);
        assert_eq!(t0.elapsed(), Duration::from_secs(20));
        assert_eq!(
            *lines.0.lock().unwrap(),
            [
                "job run jr_1: RUNNING (poll 1 of 5; next in 10.0 s)",
                "job run jr_1: RUNNING (poll 2 of 5; next in 10.0 s)"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_after_max_attempts_without_retry() {
        let (ctx, _) = ctx();
        let s = settings(serde_json::json!({"waiter_delay": 10, "waiter_max_attempts": 3}));
        let polls = Mutex::new(0);
        let t0 = tokio::time::Instant::now();
        let e = until_terminal(&ctx, &s, "job run jr_1", after(100, &polls))
            .await
            .unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message.starts_with(
                "job run jr_1 did not reach a terminal state after 3 attempts (every 10 s; last \
                 state RUNNING): Waiter error: max attempts reached"
            ),
            "{e}"
        );
        assert_eq!(*polls.lock().unwrap(), 3);
        assert_eq!(t0.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_error_ends_the_wait() {
        let (ctx, _) = ctx();
        let s = settings(serde_json::json!({}));
        let e = until_terminal(&ctx, &s, "x", || async {
            Err::<Poll<()>, _>(TaskError::fatal("run FAILED: boom"))
        })
        .await
        .unwrap_err();
        assert_eq!(e.message, "run FAILED: boom");
    }

    #[tokio::test(start_paused = true)]
    async fn never_sleeps_past_the_time_budget() {
        let (ctx, lines) = ctx();
        let ctx = ctx.with_time_budget(Duration::from_secs(25));
        let s = settings(
            serde_json::json!({"waiter_delay": 10, "waiter_max_attempts": 100, "deferrable": true}),
        );
        let polls = Mutex::new(0);
        let t0 = tokio::time::Instant::now();
        let e = until_terminal(&ctx, &s, "crawl", after(100, &polls))
            .await
            .unwrap_err();
        assert!(e.retryable);
        assert!(e.message.contains("execution_timeout ran out"), "{e}");
        // Polls at 0, 10, 20 and 25 s: the last sleep is cut to what the budget leaves.
        assert_eq!(t0.elapsed(), Duration::from_secs(25));
        assert_eq!(*polls.lock().unwrap(), 4);
        let lines = lines.0.lock().unwrap();
        assert!(lines[0].starts_with("deferrable is set"), "{lines:?}");
        assert_eq!(lines[3], "crawl: RUNNING (poll 3 of 100; next in 5.0 s)");
    }
}
