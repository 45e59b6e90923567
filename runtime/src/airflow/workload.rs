//! The `ExecuteTask` workload an Airflow 3 executor hands a worker (`--json-string` or
//! `--json-path`), read leniently: fields airtask does not use, or that a newer Airflow adds,
//! are ignored.

use serde::Deserialize;

/// The task instance of a workload (`TaskInstanceDTO`).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TaskInstance {
    /// The task instance's id (one per try): the Execution API's `{id}`.
    pub(crate) id: String,
    /// The task id.
    pub(crate) task_id: String,
    /// The DAG id.
    pub(crate) dag_id: String,
    /// The run id.
    pub(crate) run_id: String,
    /// The try number, from 1.
    pub(crate) try_number: u32,
    /// The map index, -1 for an unmapped task.
    #[serde(default = "unmapped", deserialize_with = "unmapped_if_null")]
    pub(crate) map_index: i64,
    /// The queue (3.3+ routes coordinators by it).
    #[serde(default)]
    pub(crate) queue: Option<String>,
}

fn unmapped() -> i64 {
    -1
}

fn unmapped_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(Option::<i64>::deserialize(d)?.unwrap_or(-1))
}

/// The DAG bundle the DAG comes from.
#[derive(Debug, Clone, Deserialize, Default)]
pub(crate) struct BundleInfo {
    /// The bundle's name (`dags-folder` by default).
    #[serde(default)]
    pub(crate) name: String,
    /// The bundle's version.
    #[serde(default)]
    pub(crate) version: Option<String>,
}

/// An `ExecuteTask` workload.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Workload {
    /// The JWT for the Execution API.
    pub(crate) token: String,
    /// The task instance.
    pub(crate) ti: TaskInstance,
    /// The DAG file the scheduler parsed, relative to the bundle's root (the dag-factory
    /// loader beside the YAML).
    #[serde(default)]
    pub(crate) dag_rel_path: String,
    /// The bundle.
    #[serde(default)]
    pub(crate) bundle_info: BundleInfo,
    /// The task log's path relative to the log folder (the rendered `log_filename_template`).
    #[serde(default)]
    pub(crate) log_path: Option<String>,
    /// `ExecuteTask` (other workload types are refused).
    #[serde(default, rename = "type")]
    pub(crate) kind: Option<String>,
}

impl Workload {
    /// Parses a workload from its JSON text; `origin` names it in errors.
    pub(crate) fn parse(text: &str, origin: &str) -> Result<Workload, String> {
        let w: Workload = serde_json::from_str(text).map_err(|e| {
            format!(
                "the workload {origin} is not an Airflow ExecuteTask workload: {e}. An Airflow 3 \
                 executor sends `--json-string '<ExecuteTask JSON>'` with token, ti (id, task_id, \
                 dag_id, run_id, try_number), dag_rel_path, bundle_info and log_path"
            )
        })?;
        if let Some(kind) = w.kind.as_deref()
            && kind != "ExecuteTask"
        {
            return Err(format!(
                "the workload {origin} is of type '{kind}'; airtask runs only ExecuteTask \
                 workloads (callbacks and other workload types need Airflow's Python worker)"
            ));
        }
        if w.ti.try_number == 0 {
            return Err(format!(
                "the workload {origin} has try_number 0; tries are counted from 1"
            ));
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_3_3_workload_with_unknown_fields_parses() {
        let w = Workload::parse(
            r#"{"token":"t","ti":{"id":"0193","task_id":"t1","dag_id":"d","run_id":"r",
            "try_number":2,"dag_version_id":"v","map_index":-1,"hostname":null,
            "context_carrier":null,"queue":"default","pool_slots":1,"priority_weight":1},
            "dag_rel_path":"d.py","bundle_info":{"name":"dags-folder","version":null},
            "log_path":"dag_id=d/run_id=r/task_id=t1/attempt=2.log","sentry_integration":"",
            "type":"ExecuteTask"}"#,
            "--json-string",
        )
        .unwrap();
        assert_eq!(w.ti.try_number, 2);
        assert_eq!(w.ti.queue.as_deref(), Some("default"));
        assert_eq!(w.bundle_info.name, "dags-folder");
    }

    #[test]
    fn other_workload_types_are_refused() {
        let e = Workload::parse(
            r#"{"token":"t","ti":{"id":"1","task_id":"t","dag_id":"d","run_id":"r","try_number":1},"type":"RunTrigger"}"#,
            "x",
        )
        .unwrap_err();
        assert!(e.contains("RunTrigger"), "{e}");
    }
}
