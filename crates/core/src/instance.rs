//! One task instance: its key (workflow, run, task, map index) and its state, as Airflow names
//! them. The key gives the store layout of DESIGN.md
//! (`<workflow_id>/<run_id>/<task_id>/<map_index>/`); the state is what a task record's
//! `status` holds and what trigger rules read.

use std::fmt;

/// Which task instance: Airflow's `TaskInstanceKey` without the try (a try is an attempt of
/// one instance). `map_index` is -1 for an unmapped task.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TaskInstanceKey {
    /// The workflow's identity (MWAA Serverless's workflow id; the DAG id by default).
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The task id.
    pub task_id: String,
    /// The map index (-1: not mapped).
    pub map_index: i64,
}

impl fmt::Display for TaskInstanceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.workflow_id, self.run_id, self.task_id)?;
        if self.map_index >= 0 {
            write!(f, "[{}]", self.map_index)?;
        }
        Ok(())
    }
}

/// The state of a task instance. The names of the record's `status` are Airflow's upper-case
/// state names, plus airtask's `TIMEOUT` and `STOPPED` (Airflow records both as `failed`; they
/// are kept apart so that a user sees why a try ended).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskState {
    /// Not decided yet (Airflow's `none` / `scheduled`).
    Waiting,
    /// A try is running.
    Running,
    /// The try succeeded.
    Success,
    /// The try failed and no try is left (or the error is not retryable).
    Failed,
    /// The task skipped itself, or a trigger rule skipped it.
    Skipped,
    /// A trigger rule decided it cannot run because an upstream task failed.
    UpstreamFailed,
    /// The try failed and another try may run.
    UpForRetry,
    /// The last try exceeded its execution_timeout.
    Timeout,
    /// Stopped by SIGTERM or SIGINT.
    Stopped,
}

impl TaskState {
    /// The record's `status` (upper case).
    pub fn as_record_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "WAITING",
            TaskState::Running => "RUNNING",
            TaskState::Success => "SUCCESS",
            TaskState::Failed => "FAILED",
            TaskState::Skipped => "SKIPPED",
            TaskState::UpstreamFailed => "UPSTREAM_FAILED",
            TaskState::UpForRetry => "UP_FOR_RETRY",
            TaskState::Timeout => "TIMEOUT",
            TaskState::Stopped => "STOPPED",
        }
    }

    /// The state of a record's `status`, if it is one.
    pub fn from_record_str(s: &str) -> Option<TaskState> {
        [
            TaskState::Waiting,
            TaskState::Running,
            TaskState::Success,
            TaskState::Failed,
            TaskState::Skipped,
            TaskState::UpstreamFailed,
            TaskState::UpForRetry,
            TaskState::Timeout,
            TaskState::Stopped,
        ]
        .into_iter()
        .find(|t| t.as_record_str() == s)
    }

    /// The lower-case name `airtask run` prints (Airflow's spelling).
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::Skipped => "skipped",
            TaskState::UpstreamFailed => "upstream_failed",
            TaskState::UpForRetry => "up_for_retry",
            TaskState::Timeout => "timeout",
            TaskState::Stopped => "stopped",
        }
    }

    /// True when the instance will not change any more (no try runs or will run).
    pub fn is_done(self) -> bool {
        !matches!(
            self,
            TaskState::Waiting | TaskState::Running | TaskState::UpForRetry
        )
    }

    /// True for the states trigger rules count as failed (Airflow's `failed` and
    /// `upstream_failed`).
    pub fn is_failed(self) -> bool {
        matches!(
            self,
            TaskState::Failed | TaskState::UpstreamFailed | TaskState::Timeout | TaskState::Stopped
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_names_round_trip() {
        for s in [
            TaskState::Waiting,
            TaskState::Running,
            TaskState::Success,
            TaskState::Failed,
            TaskState::Skipped,
            TaskState::UpstreamFailed,
            TaskState::UpForRetry,
            TaskState::Timeout,
            TaskState::Stopped,
        ] {
            assert_eq!(TaskState::from_record_str(s.as_record_str()), Some(s));
        }
        assert_eq!(TaskState::from_record_str("success"), None);
    }

    #[test]
    fn done_and_failed() {
        assert!(!TaskState::UpForRetry.is_done());
        assert!(TaskState::Timeout.is_done() && TaskState::Timeout.is_failed());
        assert!(TaskState::Skipped.is_done() && !TaskState::Skipped.is_failed());
    }

    #[test]
    fn key_display_names_the_map_index_of_mapped_instances() {
        let mut k = TaskInstanceKey {
            workflow_id: "wf".into(),
            run_id: "r1".into(),
            task_id: "t".into(),
            map_index: -1,
        };
        assert_eq!(k.to_string(), "wf/r1/t");
        k.map_index = 2;
        assert_eq!(k.to_string(), "wf/r1/t[2]");
    }
}
