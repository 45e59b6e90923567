//! What the operators and sensors share: an application's status (DescribeApplication), the
//! provider's state groups for a start and a stop (the hook's `APPLICATION_*_STATES`, the same
//! as its `application_start_complete` and `application_stop_complete` waiters), and the wait
//! for one of them.

use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{TaskContext, TaskError};
use aws_sdk_kinesisanalyticsv2::Client;

/// "AWS Managed Service for Apache Flink application", as the provider's messages say it.
pub(crate) const MSG: &str = "AWS Managed Service for Apache Flink application";

/// Which operation is awaited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// The application starts: RUNNING is success.
    Start,
    /// The application stops: READY is success.
    Stop,
}

/// Where a status falls for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// Still on the way (the waiter retries; so does it on a status it does not know).
    Pending,
    /// The operation failed.
    Failed,
    /// The operation completed.
    Success,
}

impl Op {
    /// The provider's group of `status` for this operation.
    pub(crate) fn group(self, status: &str) -> Group {
        match (self, status) {
            (Op::Start, "RUNNING") | (Op::Stop, "READY") => Group::Success,
            (
                Op::Start,
                "DELETING" | "STOPPING" | "READY" | "FORCE_STOPPING" | "ROLLING_BACK"
                | "MAINTENANCE" | "ROLLED_BACK",
            )
            | (Op::Stop, "DELETING" | "ROLLING_BACK" | "MAINTENANCE" | "ROLLED_BACK") => {
                Group::Failed
            }
            _ => Group::Pending,
        }
    }

    /// The verb of messages ("start", "stop").
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Stop => "stop",
        }
    }
}

/// DescribeApplication of `name`: its ARN and status.
///
/// # Errors
/// The SDK's error, classified by the AWS toolbox.
pub(crate) async fn describe(kda: &Client, name: &str) -> Result<(String, String), TaskError> {
    let out = kda
        .describe_application()
        .application_name(name)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeApplication {name}"), &e))?;
    let Some(d) = out.application_detail() else {
        return Err(TaskError::retryable(format!(
            "DescribeApplication {name} answered without ApplicationDetail"
        )));
    };
    Ok((
        d.application_arn().to_owned(),
        d.application_status().as_str().to_owned(),
    ))
}

/// Waits (the provider's waiter: every `waiter_delay`, at most `waiter_max_attempts` polls)
/// until the application `name` completes `op`.
///
/// # Errors
/// A failure status, a failed call, or the attempts running out.
pub(crate) async fn wait_for(
    ctx: &TaskContext,
    kda: &Client,
    name: &str,
    op: Op,
    settings: &WaitSettings,
) -> Result<(), TaskError> {
    wait::until_terminal(
        ctx,
        settings,
        &format!("{MSG} {name} ({})", op.verb()),
        move || async move {
            let (_, status) = describe(kda, name).await?;
            match op.group(&status) {
                Group::Success => Ok(Poll::Done(())),
                Group::Pending => Ok(Poll::Pending { state: status }),
                Group::Failed => Err(TaskError::retryable(format!(
                    "Waiter application_{}_complete failed: {MSG} {name} is {status}",
                    op.verb()
                ))),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_fall_into_the_provider_groups() {
        assert_eq!(Op::Start.group("RUNNING"), Group::Success);
        assert_eq!(Op::Start.group("STARTING"), Group::Pending);
        assert_eq!(Op::Start.group("READY"), Group::Failed);
        assert_eq!(Op::Start.group("ROLLED_BACK"), Group::Failed);
        assert_eq!(Op::Stop.group("READY"), Group::Success);
        assert_eq!(Op::Stop.group("RUNNING"), Group::Pending);
        assert_eq!(Op::Stop.group("FORCE_STOPPING"), Group::Pending);
        assert_eq!(Op::Stop.group("MAINTENANCE"), Group::Failed);
        assert_eq!(Op::Stop.group("SOMETHING_NEW"), Group::Pending);
    }
}
