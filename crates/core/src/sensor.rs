//! Airflow's sensor loop (`BaseSensorOperator.execute`), shared by every sensor: poke, and
//! until the criteria are met, check the timeout and sleep `poke_interval` (or an exponential
//! backoff capped by `max_wait`). A timeout fails the task without another try, or skips it with
//! `soft_fail`. `mode: reschedule` runs as poke: a task instance here is one process, with
//! nothing to hand the slot back to.

use std::time::Duration;

use std::future::Future;

use crate::{Level, Outcome, ParamError, ParamReader, TaskContext, TaskError};

/// Airflow's default sensor timeout (`[sensors] default_timeout`): seven days.
pub const DEFAULT_TIMEOUT_SECS: f64 = 604_800.0;

/// How long before the try's execution_timeout a soft_fail sensor gives up (see [`run`]).
const BUDGET_MARGIN: Duration = Duration::from_millis(100);

/// The logger of sensor lines.
const LOGGER: &str = "airflow.task.operators.airflow.sdk.bases.sensor.BaseSensorOperator";

/// The settings every sensor takes.
#[derive(Debug, Clone, PartialEq)]
pub struct SensorSettings {
    /// Seconds between pokes.
    pub poke_interval: f64,
    /// Seconds from the first poke after which the sensor gives up.
    pub timeout: f64,
    /// Skip instead of failing on a timeout.
    pub soft_fail: bool,
    /// Skip on any poke error.
    pub never_fail: bool,
    /// Log a poke error and count the poke as not met.
    pub silent_fail: bool,
    /// Double the interval after each poke.
    pub exponential_backoff: bool,
    /// The longest interval with `exponential_backoff`.
    pub max_wait: Option<f64>,
    /// `reschedule` was asked for (it runs as poke).
    pub reschedule: bool,
    /// `deferrable` was asked for: the provider's sensors then wait in the triggerer; airtask
    /// pokes in the task's process, which ends the same way.
    pub deferrable: bool,
}

impl SensorSettings {
    /// Reads the sensor parameters, with the sensor's default `poke_interval`.
    ///
    /// # Errors
    /// A parameter of the wrong type, an unknown `mode`, or `soft_fail` with `never_fail`.
    pub fn read(r: &mut ParamReader<'_>, default_poke_interval: f64) -> Result<Self, ParamError> {
        let mode = r.str("mode")?;
        let reschedule = match mode.as_deref() {
            None | Some("poke") => false,
            Some("reschedule") => true,
            Some(other) => {
                return Err(ParamError::at(
                    "mode",
                    format!(
                        "{} parameter `mode` must be poke or reschedule, not '{other}'",
                        r.operator()
                    ),
                ));
            }
        };
        let s = SensorSettings {
            poke_interval: r.seconds("poke_interval", default_poke_interval)?,
            timeout: r.seconds("timeout", DEFAULT_TIMEOUT_SECS)?,
            soft_fail: r.bool("soft_fail", false)?,
            never_fail: r.bool("never_fail", false)?,
            silent_fail: r.bool("silent_fail", false)?,
            exponential_backoff: r.bool("exponential_backoff", false)?,
            max_wait: r.optional_seconds("max_wait")?,
            reschedule,
            deferrable: r.bool("deferrable", false)?,
        };
        if s.soft_fail && s.never_fail {
            return Err(ParamError::at(
                "never_fail",
                format!(
                    "{}: soft_fail and never_fail cannot both be true (Airflow refuses it too)",
                    r.operator()
                ),
            ));
        }
        Ok(s)
    }

    /// The wait before poke `poke_count + 1`, after `elapsed` seconds (Airflow's
    /// `_get_next_poke_interval`, with a hash of the task and poke instead of SHA-1 for the
    /// jitter).
    pub fn next_interval(&self, task_id: &str, poke_count: u32, elapsed: f64) -> f64 {
        if !self.exponential_backoff {
            return self.poke_interval;
        }
        let exp = f64::from(poke_count.min(60)) - 2.0;
        let min_backoff = ((self.poke_interval * 2f64.powf(exp)).floor()).max(1.0);
        let mut h = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&(task_id, poke_count), &mut h);
        let jitter = (std::hash::Hasher::finish(&h) % (min_backoff as u64).max(1)) as f64;
        let mut interval = min_backoff + jitter;
        interval = interval.min((self.timeout - elapsed.floor()).max(0.0));
        if let Some(max) = self.max_wait {
            interval = interval.min(max);
        }
        interval
    }
}

/// Runs the sensor loop with `poke`, one check of the criteria (true when met). Elapsed time
/// is measured with tokio's clock, so tests can pause it.
///
/// # Errors
/// A poke error (unless `never_fail` or `silent_fail`), or the timeout (not retryable; a skip
/// with `soft_fail`).
pub async fn run<F, Fut>(
    settings: &SensorSettings,
    ctx: &TaskContext,
    mut poke: F,
) -> Result<Outcome, TaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, TaskError>>,
{
    let started = tokio::time::Instant::now();
    // With soft_fail, a try's execution_timeout that runs out while the sensor waits skips the
    // task, as Airflow's AirflowTaskTimeout does with soft_fail: the sensor ends just before the
    // runtime would cancel the try. Without soft_fail the runtime's timeout applies (retried).
    let budget = ctx
        .time_budget()
        .filter(|b| settings.soft_fail && b.as_secs_f64() < settings.timeout)
        .map(|b| b.saturating_sub(BUDGET_MARGIN));
    if settings.reschedule {
        ctx.hook_info(
            LOGGER,
            "mode is reschedule: airtask runs it as poke (the task instance keeps its process \
             between pokes)",
        );
    }
    // The pokes so far, for the message of a skip at the budget's end.
    let pokes = std::sync::atomic::AtomicU32::new(0);
    let looped = async {
        let mut poke_count: u32 = 1;
        loop {
            pokes.store(poke_count, std::sync::atomic::Ordering::Relaxed);
            let met = match poke().await {
                Ok(met) => met,
                Err(e) if settings.never_fail => {
                    return Ok(Outcome::Skipped(format!(
                        "the poke failed and never_fail is set: {e}"
                    )));
                }
                Err(e) if settings.silent_fail => {
                    ctx.line(
                        Level::Error,
                        LOGGER,
                        &format!("Sensor poke failed (silent_fail: counted as not met): {e}"),
                    );
                    false
                }
                Err(e) => return Err(e),
            };
            let elapsed = started.elapsed().as_secs_f64();
            if met {
                ctx.hook_info(
                    LOGGER,
                    &format!(
                        "Success criteria met after {elapsed:.1} s ({poke_count} pokes). Exiting."
                    ),
                );
                return Ok(Outcome::Success(None));
            }
            if elapsed > settings.timeout {
                let msg = format!(
                    "Sensor has timed out; run duration of {elapsed} seconds exceeds the specified \
                 timeout of {}.",
                    settings.timeout
                );
                return if settings.soft_fail {
                    Ok(Outcome::Skipped(msg))
                } else {
                    Err(TaskError::fatal(msg))
                };
            }
            let wait = settings.next_interval(ctx.task_id(), poke_count, elapsed);
            ctx.hook_info(
            LOGGER,
            &format!(
                "Poke {poke_count}: criteria not met after {elapsed:.1} s; next poke in {wait:.1} s"
            ),
        );
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            poke_count += 1;
        }
    };
    let Some(budget) = budget else {
        return looped.await;
    };
    // The budget's end skips the task even while a poke is in flight, so that the runtime's
    // timeout (BUDGET_MARGIN later) never comes first.
    tokio::select! {
        r = looped => r,
        () = tokio::time::sleep(budget) => Ok(Outcome::Skipped(format!(
            "the try's execution_timeout of {} s ran out while the sensor waited ({} pokes) \
             and soft_fail is set",
            ctx.execution_timeout()
                .unwrap_or(budget + BUDGET_MARGIN)
                .as_secs_f64(),
            pokes.load(std::sync::atomic::Ordering::Relaxed)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::{LogSink, OperatorSpec, Params};

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    fn ctx() -> (TaskContext, Arc<Lines>) {
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        const SPEC: OperatorSpec = OperatorSpec {
            class_path: "x.Sensor",
            aliases: &[],
            template_fields: &[],
            calls_aws: false,
        };
        (TaskContext::new(&SPEC, "wait", 1, lines.clone()), lines)
    }

    /// Met on poke `n`, or never (`None`); counts pokes.
    struct MetOn(Option<u32>, u32);
    impl MetOn {
        fn poke(&mut self) -> impl FnMut() -> std::future::Ready<Result<bool, TaskError>> + '_ {
            || {
                self.1 += 1;
                std::future::ready(Ok(self.0 == Some(self.1)))
            }
        }
    }

    fn settings(v: serde_json::Value) -> SensorSettings {
        let p: Params = v.as_object().cloned().unwrap();
        let mut r = ParamReader::new("Sensor", &p);
        let s = SensorSettings::read(&mut r, 60.0).unwrap();
        r.finish().unwrap();
        s
    }

    #[tokio::test(start_paused = true)]
    async fn pokes_until_met_with_a_line_per_poke() {
        let (ctx, lines) = ctx();
        let s = settings(serde_json::json!({"poke_interval": 5}));
        let mut sensor = MetOn(Some(3), 0);
        let t0 = tokio::time::Instant::now();
        assert_eq!(
            run(&s, &ctx, sensor.poke()).await,
            Ok(Outcome::Success(None))
        );
        assert_eq!(sensor.1, 3);
        assert_eq!(t0.elapsed(), Duration::from_secs(10));
        let lines = lines.0.lock().unwrap();
        assert_eq!(
            lines[0],
            "Poke 1: criteria not met after 0.0 s; next poke in 5.0 s"
        );
        assert_eq!(
            lines[1],
            "Poke 2: criteria not met after 5.0 s; next poke in 5.0 s"
        );
        assert!(lines[2].starts_with("Success criteria met after 10.0 s (3 pokes)"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_fails_without_retry_or_skips_with_soft_fail() {
        let (ctx, _) = ctx();
        let s = settings(serde_json::json!({"poke_interval": 4, "timeout": 10}));
        let e = run(&s, &ctx, MetOn(None, 0).poke()).await.unwrap_err();
        assert!(!e.retryable);
        assert!(
            e.message
                .starts_with("Sensor has timed out; run duration of 12"),
            "{e}"
        );
        let s = settings(serde_json::json!({"poke_interval": 4, "timeout": 10, "soft_fail": true}));
        assert!(matches!(
            run(&s, &ctx, MetOn(None, 0).poke()).await,
            Ok(Outcome::Skipped(m)) if m.contains("timed out")
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn with_soft_fail_the_try_budget_skips_before_the_runtime_timeout() {
        let (ctx, _) = ctx();
        let ctx = ctx.with_time_budget(Duration::from_secs(3));
        let s = settings(serde_json::json!({"poke_interval": 1, "timeout": 60, "soft_fail": true}));
        let t0 = tokio::time::Instant::now();
        let r = run(&s, &ctx, MetOn(None, 0).poke()).await;
        assert!(
            matches!(&r, Ok(Outcome::Skipped(m)) if m.contains("execution_timeout of 3 s")),
            "{r:?}"
        );
        assert!(t0.elapsed() < Duration::from_secs(3));
        // Without soft_fail the budget is the runtime's business: the sensor goes on.
        let s = settings(serde_json::json!({"poke_interval": 1, "timeout": 2}));
        let e = run(&s, &ctx, MetOn(None, 0).poke()).await.unwrap_err();
        assert!(e.message.starts_with("Sensor has timed out"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn with_soft_fail_a_poke_in_flight_at_the_budget_end_still_skips() {
        let (ctx, _) = ctx();
        let ctx = ctx.with_time_budget(Duration::from_secs(3));
        let s = settings(serde_json::json!({"poke_interval": 1, "timeout": 60, "soft_fail": true}));
        // A poke that never answers (a slow endpoint): the skip must not wait for it.
        let r = tokio::time::timeout(
            Duration::from_secs(10),
            run(&s, &ctx, std::future::pending::<Result<bool, TaskError>>),
        )
        .await;
        assert!(
            matches!(&r, Ok(Ok(Outcome::Skipped(m))) if m.contains("execution_timeout of 3 s") && m.contains("(1 pokes)")),
            "{r:?}"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let s = settings(
            serde_json::json!({"poke_interval": 10, "exponential_backoff": true, "max_wait": 50}),
        );
        let first = s.next_interval("t", 1, 0.0);
        assert!((5.0..10.0).contains(&first), "{first}");
        let third = s.next_interval("t", 3, 30.0);
        assert!((20.0..40.0).contains(&third), "{third}");
        assert_eq!(s.next_interval("t", 8, 100.0), 50.0);
        let s = settings(
            serde_json::json!({"poke_interval": 10, "exponential_backoff": true, "timeout": 100}),
        );
        assert_eq!(s.next_interval("t", 8, 97.5), 3.0);
    }

    #[test]
    fn bad_settings_are_refused() {
        let p: Params = serde_json::json!({"mode": "smart", "soft_fail": true})
            .as_object()
            .cloned()
            .unwrap();
        let e = SensorSettings::read(&mut ParamReader::new("S", &p), 60.0).unwrap_err();
        assert!(e.message().contains("poke or reschedule"), "{e}");
        let p: Params = serde_json::json!({"never_fail": true, "soft_fail": true})
            .as_object()
            .cloned()
            .unwrap();
        assert!(SensorSettings::read(&mut ParamReader::new("S", &p), 60.0).is_err());
    }
}
