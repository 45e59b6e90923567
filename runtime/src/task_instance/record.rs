//! The task instance record: what `record.json` holds, typed, written atomically after every
//! change of state (and uploaded to an S3 store).

use std::path::{Path, PathBuf};

use airtask_core::instance::{TaskInstanceKey, TaskState};
use jiff::Timestamp;
use serde::Serialize;

use crate::state::State;

/// The record of one task instance (the keys of `record.json`, in this order).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Record {
    /// Where it is written (not part of the record).
    #[serde(skip)]
    pub(crate) path: PathBuf,
    /// The workflow id (MWAA Serverless's, or the DAG id).
    pub(crate) workflow_id: String,
    /// The DAG id of the definition.
    pub(crate) dag_id: String,
    pub(crate) run_id: String,
    pub(crate) task_id: String,
    pub(crate) map_index: i64,
    /// The operator's class path.
    pub(crate) operator: Option<String>,
    /// The try this record is about.
    #[serde(rename = "try")]
    pub(crate) try_number: u32,
    #[serde(serialize_with = "status")]
    pub(crate) status: TaskState,
    pub(crate) started_at: Option<String>,
    pub(crate) completed_at: Option<String>,
    pub(crate) duration_seconds: Option<f64>,
    pub(crate) error: Option<String>,
    /// `/<group>/<stream>`, as MWAA's GetTaskInstance shows it.
    pub(crate) log_stream: Option<String>,
    /// The local mirror of the stream.
    pub(crate) log_file: Option<String>,
    /// What became of the attempt's lines in CloudWatch.
    pub(crate) log_delivery: Option<serde_json::Value>,
}

fn status<S: serde::Serializer>(s: &TaskState, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(s.as_record_str())
}

/// An instant as the record writes it (Python's isoformat of a UTC datetime).
pub(crate) fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00").to_string()
}

impl Record {
    /// The record of `key` (not yet started), written to `path`.
    pub(crate) fn new(
        path: PathBuf,
        key: &TaskInstanceKey,
        dag_id: &str,
        operator: Option<String>,
    ) -> Record {
        Record {
            path,
            workflow_id: key.workflow_id.clone(),
            dag_id: dag_id.to_owned(),
            run_id: key.run_id.clone(),
            task_id: key.task_id.clone(),
            map_index: key.map_index,
            operator,
            try_number: 0,
            status: TaskState::Waiting,
            started_at: None,
            completed_at: None,
            duration_seconds: None,
            error: None,
            log_stream: None,
            log_file: None,
            log_delivery: None,
        }
    }

    /// The record as JSON (what `--output json` prints).
    pub(crate) fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Writes the record atomically (a temporary file renamed over the old one).
    fn write(&self) -> Result<(), String> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let tmp = self
            .path
            .with_extension(format!("json.tmp{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let written = std::fs::write(&tmp, text)
            .map_err(|e| format!("cannot write the task record {}: {e}", tmp.display()))
            .and_then(|()| {
                std::fs::rename(&tmp, &self.path).map_err(|e| {
                    format!("cannot write the task record {}: {e}", self.path.display())
                })
            });
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Saves the record locally and, with an S3 store, uploads it.
    pub(crate) async fn save(&self, state: &State) -> Result<(), String> {
        self.write()?;
        state.push_file(&self.path).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_has_airflow_s_status_names_and_its_keys_in_order() {
        let key = TaskInstanceKey {
            workflow_id: "wf-abc".into(),
            run_id: "r1".into(),
            task_id: "t".into(),
            map_index: -1,
        };
        let mut r = Record::new(PathBuf::from("/nowhere"), &key, "wf", None);
        r.try_number = 2;
        r.status = TaskState::UpForRetry;
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["status"], "UP_FOR_RETRY");
        assert_eq!(v["try"], 2);
        assert_eq!(v["workflow_id"], "wf-abc");
        assert_eq!(v["dag_id"], "wf");
        assert!(
            r.to_json()
                .starts_with("{\"workflow_id\":\"wf-abc\",\"dag_id\":\"wf\"")
        );
        assert!(v.get("path").is_none());
    }
}
