//! What the operators and the sensor share: DescribeExecution, the provider's state groups
//! and the hook's logger.

use airtask_core::TaskError;
use aws_sdk_sfn::Client;

/// The logger of the Step Functions hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.step_function.StepFunctionHook";

/// What DescribeExecution says of an execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Described {
    /// The status (RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED, PENDING_REDRIVE).
    pub(crate) status: String,
    /// The output's JSON text, when the execution succeeded.
    pub(crate) output: Option<String>,
    /// The error code, when it failed.
    pub(crate) error: Option<String>,
    /// The cause of the error, when it failed.
    pub(crate) cause: Option<String>,
}

/// The provider's groups of execution states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    /// RUNNING (and PENDING_REDRIVE, which the provider does not list).
    Running,
    /// SUCCEEDED.
    Succeeded,
    /// FAILED, TIMED_OUT or ABORTED.
    Failed,
}

impl Described {
    pub(crate) fn group(&self) -> Group {
        match self.status.as_str() {
            "FAILED" | "TIMED_OUT" | "ABORTED" => Group::Failed,
            "RUNNING" | "PENDING_REDRIVE" => Group::Running,
            _ => Group::Succeeded,
        }
    }

    /// The error and cause, for failure messages.
    pub(crate) fn why(&self) -> String {
        match (&self.error, &self.cause) {
            (Some(e), Some(c)) if !c.is_empty() => format!("error {e}: {c}"),
            (Some(e), _) if !e.is_empty() => format!("error {e}"),
            (_, Some(c)) if !c.is_empty() => format!("cause: {c}"),
            _ => "no error or cause given".to_owned(),
        }
    }
}

/// DescribeExecution of `arn`.
///
/// # Errors
/// The SDK's error, classified by the AWS toolbox.
pub(crate) async fn describe(sfn: &Client, arn: &str) -> Result<Described, TaskError> {
    let out = sfn
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeExecution {arn}"), &e))?;
    Ok(Described {
        status: out.status().as_str().to_owned(),
        output: out.output().map(str::to_owned),
        error: out.error().map(str::to_owned),
        cause: out.cause().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(status: &str) -> Described {
        Described {
            status: status.to_owned(),
            output: None,
            error: None,
            cause: None,
        }
    }

    #[test]
    fn states_fall_into_the_provider_groups() {
        assert_eq!(d("RUNNING").group(), Group::Running);
        assert_eq!(d("PENDING_REDRIVE").group(), Group::Running);
        assert_eq!(d("SUCCEEDED").group(), Group::Succeeded);
        for s in ["FAILED", "TIMED_OUT", "ABORTED"] {
            assert_eq!(d(s).group(), Group::Failed);
        }
        let mut f = d("FAILED");
        f.error = Some("States.TaskFailed".into());
        f.cause = Some("boom".into());
        assert_eq!(f.why(), "error States.TaskFailed: boom");
    }
}
