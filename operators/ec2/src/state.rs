//! What the operators and the sensor share: reading instances' states (DescribeInstances),
//! boto3's three instance waiters as the provider calls them, and the hook's `wait_for_state`
//! loop.

use std::time::Duration;

use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{TaskContext, TaskError};
use aws_sdk_ec2::Client;

/// The logger of the EC2 hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.ec2.EC2Hook";

/// The error code boto3's instance waiters retry on (a new instance is not yet visible).
const NOT_FOUND: &str = "InvalidInstanceID.NotFound";

/// One instance as DescribeInstances shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seen {
    /// InstanceId.
    pub(crate) id: String,
    /// State.Name (`pending`, `running`...).
    pub(crate) state: String,
    /// HibernationOptions.Configured.
    pub(crate) hibernation: bool,
}

/// DescribeInstances of `ids`: each instance found, in the answer's order.
///
/// # Errors
/// The SDK's error, classified by the AWS toolbox (an unknown id is
/// InvalidInstanceID.NotFound, not retryable).
pub(crate) async fn describe(ec2: &Client, ids: &[String]) -> Result<Vec<Seen>, TaskError> {
    describe_raw(ec2, ids).await.map_err(|e| {
        airtask_aws::error::task_error(&format!("DescribeInstances {}", ids.join(", ")), &e)
    })
}

type DescribeError = aws_sdk_ec2::error::SdkError<
    aws_sdk_ec2::operation::describe_instances::DescribeInstancesError,
    aws_sdk_ec2::config::http::HttpResponse,
>;

async fn describe_raw(ec2: &Client, ids: &[String]) -> Result<Vec<Seen>, DescribeError> {
    let out = ec2
        .describe_instances()
        .set_instance_ids(Some(ids.to_vec()))
        .send()
        .await?;
    Ok(out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .map(|i| Seen {
            id: i.instance_id().unwrap_or_default().to_owned(),
            state: i
                .state()
                .and_then(|s| s.name())
                .map_or("unknown", |n| n.as_str())
                .to_owned(),
            hibernation: i
                .hibernation_options()
                .and_then(|h| h.configured())
                .unwrap_or(false),
        })
        .collect())
}

/// The state of one instance (the hook's `get_instance_state`).
///
/// # Errors
/// As [`describe`], or an answer without the instance.
pub(crate) async fn state_of(ec2: &Client, id: &str) -> Result<String, TaskError> {
    let seen = describe(ec2, &[id.to_owned()]).await?;
    seen.into_iter().next().map(|s| s.state).ok_or_else(|| {
        TaskError::fatal(format!(
            "DescribeInstances {id} answered without the instance"
        ))
    })
}

/// One of boto3's EC2 instance waiters, with its acceptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waiter {
    /// `instance_running`: success when every instance is running; failure when any is
    /// shutting-down, terminated or stopping.
    Running,
    /// `instance_stopped`: success when every instance is stopped; failure when any is pending
    /// or terminated.
    Stopped,
    /// `instance_terminated`: success when every instance is terminated; failure when any is
    /// pending or stopping.
    Terminated,
}

impl Waiter {
    /// The waiter's name as botocore prints it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Waiter::Running => "InstanceRunning",
            Waiter::Stopped => "InstanceStopped",
            Waiter::Terminated => "InstanceTerminated",
        }
    }

    fn success(self) -> &'static str {
        match self {
            Waiter::Running => "running",
            Waiter::Stopped => "stopped",
            Waiter::Terminated => "terminated",
        }
    }

    fn failures(self) -> &'static [&'static str] {
        match self {
            Waiter::Running => &["shutting-down", "terminated", "stopping"],
            Waiter::Stopped => &["pending", "terminated"],
            Waiter::Terminated => &["pending", "stopping"],
        }
    }

    /// What one DescribeInstances answer means to the waiter: done, pending (with the states
    /// for the log line), or a terminal failure (botocore's message).
    pub(crate) fn judge(self, seen: &[Seen]) -> Result<Poll<()>, TaskError> {
        // botocore checks the acceptors in order: success (pathAll), then each failure (pathAny).
        if !seen.is_empty() && seen.iter().all(|s| s.state == self.success()) {
            return Ok(Poll::Done(()));
        }
        for failure in self.failures() {
            if let Some(s) = seen.iter().find(|s| s.state == *failure) {
                return Err(TaskError::retryable(format!(
                    "Waiter {} failed: Waiter encountered a terminal failure state: For \
                     expression \"Reservations[].Instances[].State.Name\" we matched expected \
                     path: \"{failure}\" at least once (instance {} is {failure})",
                    self.name(),
                    s.id
                )));
            }
        }
        Ok(Poll::Pending {
            state: states_text(seen),
        })
    }

    /// Waits as boto3's waiter does with `WaiterConfig={"Delay": delay, "MaxAttempts":
    /// max_attempts}`: DescribeInstances at once, then every `delay`, InvalidInstanceID.NotFound
    /// counted as not yet.
    ///
    /// # Errors
    /// A failure state, another DescribeInstances error, `max_attempts` polls without success,
    /// or the try's time budget.
    pub(crate) async fn wait(
        self,
        ctx: &TaskContext,
        ec2: &Client,
        ids: &[String],
        delay: Duration,
        max_attempts: u32,
    ) -> Result<(), TaskError> {
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: delay,
            waiter_max_attempts: max_attempts,
            deferrable: false,
        };
        let what = format!(
            "EC2 instance{} {} (waiter {})",
            if ids.len() == 1 { "" } else { "s" },
            ids.join(", "),
            self.name()
        );
        wait::until_terminal(ctx, &settings, &what, || async move {
            match describe_raw(ec2, ids).await {
                Ok(seen) => self.judge(&seen),
                Err(e) if airtask_aws::error::code(&e) == Some(NOT_FOUND) => Ok(Poll::Pending {
                    state: NOT_FOUND.to_owned(),
                }),
                Err(e) => Err(airtask_aws::error::task_error(
                    &format!(
                        "Waiter {}: DescribeInstances {}",
                        self.name(),
                        ids.join(", ")
                    ),
                    &e,
                )),
            }
        })
        .await
    }
}

/// `i-1 pending` or `i-1 pending, i-2 running` for a wait's log line.
fn states_text(seen: &[Seen]) -> String {
    match seen {
        [] => "no instance in the answer".to_owned(),
        [one] => one.state.clone(),
        many => many
            .iter()
            .map(|s| format!("{} {}", s.id, s.state))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The hook's `wait_for_state`: reads the instance's state at once, then every
/// `check_interval`, until it is `target`. The provider sets no limit; airtask stops at the
/// try's time budget, and fails at once when the instance is terminated (it can never reach
/// `target` then).
///
/// # Errors
/// A DescribeInstances error, a terminated instance, or the try's time budget.
pub(crate) async fn wait_for_state(
    ctx: &TaskContext,
    ec2: &Client,
    id: &str,
    target: &str,
    check_interval: Duration,
) -> Result<(), TaskError> {
    let settings = WaitSettings {
        wait_for_completion: true,
        waiter_delay: check_interval,
        waiter_max_attempts: u32::MAX,
        deferrable: false,
    };
    let mut first = true;
    wait::until_terminal(
        ctx,
        &settings,
        &format!("EC2 instance {id} to be {target}"),
        || {
            let log = !std::mem::take(&mut first);
            async move {
                let state = state_of(ec2, id).await?;
                if log {
                    ctx.hook_info(
                        HOOK_LOGGER,
                        &format!(
                            "instance state: {state}. Same as target: {}",
                            if state == target { "True" } else { "False" }
                        ),
                    );
                }
                if state == target {
                    Ok(Poll::Done(()))
                } else if state == "terminated" {
                    Err(TaskError::fatal(format!(
                        "EC2 instance {id} is terminated: it can never be {target}"
                    )))
                } else {
                    Ok(Poll::Pending { state })
                }
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(states: &[&str]) -> Vec<Seen> {
        states
            .iter()
            .enumerate()
            .map(|(i, s)| Seen {
                id: format!("i-{i}"),
                state: (*s).to_owned(),
                hibernation: false,
            })
            .collect()
    }

    #[test]
    fn waiters_follow_the_botocore_acceptors() {
        assert_eq!(
            Waiter::Running.judge(&seen(&["running"])),
            Ok(Poll::Done(()))
        );
        assert_eq!(
            Waiter::Running.judge(&seen(&["running", "pending"])),
            Ok(Poll::Pending {
                state: "i-0 running, i-1 pending".into()
            })
        );
        let e = Waiter::Running
            .judge(&seen(&["pending", "terminated"]))
            .unwrap_err();
        assert!(
            e.message.starts_with(
                "Waiter InstanceRunning failed: Waiter encountered a terminal failure state"
            ) && e.message.contains("\"terminated\"")
                && e.message.contains("instance i-1 is terminated"),
            "{e}"
        );
        assert!(Waiter::Stopped.judge(&seen(&["pending"])).is_err());
        assert_eq!(
            Waiter::Stopped.judge(&seen(&["stopping"])),
            Ok(Poll::Pending {
                state: "stopping".into()
            })
        );
        assert!(Waiter::Terminated.judge(&seen(&["stopping"])).is_err());
        assert_eq!(
            Waiter::Terminated.judge(&seen(&["shutting-down"])),
            Ok(Poll::Pending {
                state: "shutting-down".into()
            })
        );
        // pathAll over no instance is not a success.
        assert!(matches!(
            Waiter::Terminated.judge(&[]),
            Ok(Poll::Pending { .. })
        ));
    }
}
