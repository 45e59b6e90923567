//! Airflow's retry decision as a value: how many tries a task instance has, how long to wait
//! between them, and which endings another try may fix. Pure: the try loop asks it, tests
//! drive it without a clock.

use std::time::Duration;

use airtask_workflow::Task;

/// How one try ended, as far as the retry decision cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryEnd {
    /// Succeeded or skipped itself: nothing to retry.
    Done,
    /// Failed; `retryable` is the operator's word on whether another try may help (a sensor
    /// timeout or a bad parameter may not).
    Failed {
        /// Whether another try may help.
        retryable: bool,
    },
    /// Ran past its execution_timeout (retried, as Airflow retries `AirflowTaskTimeout`).
    TimedOut,
    /// Stopped by a signal: never retried.
    Stopped,
    /// Invalid input (a template or a parameter) or an infrastructure failure: another try
    /// cannot fix it.
    Fatal,
}

/// A task's retry policy: `tries` = retries + 1, `delay` between tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How many tries the task instance has in all (`retries + 1`).
    pub tries: u32,
    /// How long to wait before the next try.
    pub delay: Duration,
}

impl From<&Task> for RetryPolicy {
    fn from(task: &Task) -> RetryPolicy {
        RetryPolicy {
            tries: task.retries.saturating_add(1),
            delay: Duration::try_from_secs_f64(task.retry_delay.as_secs_f64())
                .unwrap_or(Duration::ZERO),
        }
    }
}

impl RetryPolicy {
    /// Whether `try_number` is a try this task has (1 to `tries`).
    pub fn has_try(&self, try_number: u32) -> bool {
        (1..=self.tries).contains(&try_number)
    }

    /// After try `try_number` ended with `end`: the wait before the next try, or `None` when
    /// no try follows. A try that is up for retry is `UP_FOR_RETRY` even when another process
    /// runs the next try (`--try N`).
    pub fn next(&self, try_number: u32, end: TryEnd) -> Option<Duration> {
        let retryable = match end {
            TryEnd::Failed { retryable } => retryable,
            TryEnd::TimedOut => true,
            TryEnd::Done | TryEnd::Stopped | TryEnd::Fatal => false,
        };
        (retryable && try_number < self.tries).then_some(self.delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        tries: 3,
        delay: Duration::from_secs(5),
    };

    #[test]
    fn retryable_failures_and_timeouts_retry_while_tries_are_left() {
        let failed = TryEnd::Failed { retryable: true };
        assert_eq!(POLICY.next(1, failed), Some(Duration::from_secs(5)));
        assert_eq!(
            POLICY.next(2, TryEnd::TimedOut),
            Some(Duration::from_secs(5))
        );
        assert_eq!(POLICY.next(3, failed), None);
        assert_eq!(POLICY.next(3, TryEnd::TimedOut), None);
    }

    #[test]
    fn nothing_else_is_retried() {
        for end in [
            TryEnd::Done,
            TryEnd::Stopped,
            TryEnd::Fatal,
            TryEnd::Failed { retryable: false },
        ] {
            assert_eq!(POLICY.next(1, end), None, "{end:?}");
        }
    }

    #[test]
    fn tries_are_counted_from_one() {
        assert!(!POLICY.has_try(0));
        assert!(POLICY.has_try(1) && POLICY.has_try(3));
        assert!(!POLICY.has_try(4));
        let none = RetryPolicy {
            tries: 1,
            delay: Duration::ZERO,
        };
        assert_eq!(none.next(1, TryEnd::TimedOut), None);
    }
}
