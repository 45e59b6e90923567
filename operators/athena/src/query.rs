//! What the operator and the sensor share: reading a query execution's state
//! (GetQueryExecution), the provider's state groups, and the hook's logger.

use airtask_core::TaskError;
use aws_sdk_athena::Client;

/// The logger of the Athena hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.athena.AthenaHook";

/// A query's state, as the provider groups them (`AthenaHook.INTERMEDIATE_STATES`,
/// `FAILURE_STATES`, `SUCCESS_STATES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    /// QUEUED or RUNNING, with the state's name.
    Intermediate(String),
    /// SUCCEEDED.
    Succeeded,
    /// FAILED or CANCELLED: the state's name and Status.StateChangeReason.
    Failed(String, Option<String>),
}

/// GetQueryExecution of `id`: its state.
///
/// # Errors
/// The SDK's error (classified by the AWS toolbox), or a state the provider does not know.
pub(crate) async fn state(athena: &Client, id: &str) -> Result<State, TaskError> {
    let out = athena
        .get_query_execution()
        .query_execution_id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("GetQueryExecution {id}"), &e))?;
    let status = out.query_execution().and_then(|q| q.status());
    let name = status
        .and_then(|s| s.state())
        .map_or("UNKNOWN", |s| s.as_str())
        .to_owned();
    let reason = status
        .and_then(|s| s.state_change_reason())
        .map(str::to_owned);
    classify(id, name, reason)
}

/// Sorts a state name into the provider's groups.
pub(crate) fn classify(id: &str, name: String, reason: Option<String>) -> Result<State, TaskError> {
    match name.as_str() {
        "QUEUED" | "RUNNING" => Ok(State::Intermediate(name)),
        "SUCCEEDED" => Ok(State::Succeeded),
        "FAILED" | "CANCELLED" => Ok(State::Failed(name, reason)),
        _ => Err(TaskError::retryable(format!(
            "Athena query {id}: unexpected query state '{name}' (expected QUEUED, RUNNING, \
             SUCCEEDED, FAILED or CANCELLED)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_fall_into_the_provider_groups() {
        assert_eq!(
            classify("q", "QUEUED".into(), None),
            Ok(State::Intermediate("QUEUED".into()))
        );
        assert_eq!(
            classify("q", "RUNNING".into(), None),
            Ok(State::Intermediate("RUNNING".into()))
        );
        assert_eq!(
            classify("q", "SUCCEEDED".into(), None),
            Ok(State::Succeeded)
        );
        assert_eq!(
            classify("q", "CANCELLED".into(), Some("by user".into())),
            Ok(State::Failed("CANCELLED".into(), Some("by user".into())))
        );
        let e = classify("q", "PAUSED".into(), None).unwrap_err();
        assert!(e.message.contains("unexpected query state 'PAUSED'"), "{e}");
    }
}
