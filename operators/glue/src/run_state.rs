//! A Glue job run's state, as GlueJobOperator and GlueJobSensor read it.

use airtask_core::TaskError;
use airtask_core::wait::Poll;
use aws_sdk_glue::Client;
use aws_sdk_glue::types::JobRun;

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RunEnd {
    /// SUCCEEDED.
    Succeeded,
    /// Any other terminal state, with Glue's ErrorMessage when it gave one.
    Failed {
        state: String,
        message: Option<String>,
    },
}

/// The states in which a run is over without success. Glue's ERROR and EXPIRED are terminal
/// too (the provider's synchronous wait polls on through them until the task times out), and a
/// STOPPED run did not do its work (provider 9.37+).
const FAILED_STATES: &[&str] = &["FAILED", "TIMEOUT", "STOPPED", "ERROR", "EXPIRED"];

/// GetJobRun of `run_id`.
pub(crate) async fn get(glue: &Client, job: &str, run_id: &str) -> Result<JobRun, TaskError> {
    glue.get_job_run()
        .job_name(job)
        .run_id(run_id)
        .predecessors_included(true)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("GetJobRun {run_id} of Glue job {job}"), &e)
        })?
        .job_run
        .ok_or_else(|| {
            TaskError::retryable(format!(
                "GetJobRun {run_id} of Glue job {job} answered without the run"
            ))
        })
}

/// The run's state name (`UNKNOWN` when Glue gave none).
pub(crate) fn state(run: &JobRun) -> String {
    run.job_run_state()
        .map_or("UNKNOWN", |s| s.as_str())
        .to_owned()
}

/// Whether the run is over, and how.
pub(crate) fn classify(run: &JobRun) -> Poll<RunEnd> {
    let state = state(run);
    if state == "SUCCEEDED" {
        Poll::Done(RunEnd::Succeeded)
    } else if FAILED_STATES.contains(&state.as_str()) {
        Poll::Done(RunEnd::Failed {
            state,
            message: run.error_message().map(str::to_owned),
        })
    } else {
        Poll::Pending { state }
    }
}

/// The task error of a run that ended in `state`: the provider's text, then Glue's message.
/// Another try starts a new run, so it may help (Airflow retries it).
pub(crate) fn failure(run_id: &str, state: &str, message: Option<&str>) -> TaskError {
    let mut text = format!("Exiting Job {run_id} Run State: {state}");
    if let Some(m) = message.filter(|m| !m.is_empty()) {
        text.push_str(&format!(". Glue's error message: {m}"));
    }
    TaskError::retryable(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_glue::types::JobRunState;

    fn run(state: JobRunState, message: Option<&str>) -> JobRun {
        JobRun::builder()
            .id("jr_1")
            .job_run_state(state)
            .set_error_message(message.map(str::to_owned))
            .build()
    }

    #[test]
    fn terminal_states_end_the_wait_and_others_do_not() {
        assert_eq!(
            classify(&run(JobRunState::Succeeded, None)),
            Poll::Done(RunEnd::Succeeded)
        );
        for s in [
            JobRunState::Failed,
            JobRunState::Timeout,
            JobRunState::Stopped,
            JobRunState::Error,
            JobRunState::Expired,
        ] {
            assert!(
                matches!(
                    classify(&run(s.clone(), Some("x"))),
                    Poll::Done(RunEnd::Failed { .. })
                ),
                "{s:?}"
            );
        }
        for s in [
            JobRunState::Starting,
            JobRunState::Running,
            JobRunState::Stopping,
            JobRunState::Waiting,
        ] {
            assert_eq!(
                classify(&run(s.clone(), None)),
                Poll::Pending {
                    state: s.as_str().to_owned()
                }
            );
        }
    }

    #[tokio::test]
    async fn a_missing_run_is_a_fatal_error_naming_glues_code() {
        use aws_sdk_glue::operation::get_job_run::GetJobRunError;
        use aws_sdk_glue::types::error::EntityNotFoundException;
        use aws_smithy_mocks::{mock, mock_client};
        let missing = mock!(Client::get_job_run).then_error(|| {
            GetJobRunError::EntityNotFoundException(
                EntityNotFoundException::builder()
                    .message("Job run jr_9 not found.")
                    .build(),
            )
        });
        let glue = mock_client!(aws_sdk_glue, [&missing]);
        let e = get(&glue, "etl", "jr_9").await.expect_err("not found");
        assert!(!e.retryable, "another try cannot find it: {e:?}");
        assert!(
            e.message.contains("EntityNotFoundException"),
            "{}",
            e.message
        );
        assert!(e.message.contains("jr_9"), "{}", e.message);
    }

    #[test]
    fn the_failure_names_the_run_the_state_and_glues_message() {
        let e = failure("jr_1", "FAILED", Some("boom"));
        assert_eq!(
            e.message,
            "Exiting Job jr_1 Run State: FAILED. Glue's error message: boom"
        );
        assert!(e.retryable);
        assert_eq!(
            failure("jr_1", "TIMEOUT", None).message,
            "Exiting Job jr_1 Run State: TIMEOUT"
        );
    }
}
