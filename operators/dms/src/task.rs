//! What the operators and the sensor share: reading a replication task by its ARN
//! (DescribeReplicationTasks with a `replication-task-arn` filter, as the hook's
//! `find_replication_tasks_by_arn`), the task as boto3 returns it (for XCom), and the hook's
//! logger.

use airtask_core::TaskError;
use aws_sdk_databasemigration::Client;
use aws_sdk_databasemigration::types::{Filter, ReplicationTask, ReplicationTaskStats};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value, json};

/// The logger of the DMS hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.dms.DmsHook";

/// What DescribeReplicationTasks says about one task ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// The task, with its status and (when it failed or stopped) why.
    Task {
        /// `Status` (`creating`, `ready`, `running`, `stopped`...).
        status: String,
        /// `LastFailureMessage`, else `StopReason`.
        reason: Option<String>,
    },
    /// No task has the ARN: an empty answer, or DMS's ResourceNotFoundFault.
    Missing,
}

/// Reads the task `arn` (the hook's `get_task_status`, with `WithoutSettings`).
///
/// # Errors
/// The SDK's error (classified by the AWS toolbox), except ResourceNotFoundFault, which is
/// [`Found::Missing`].
pub(crate) async fn find(dms: &Client, arn: &str) -> Result<Found, TaskError> {
    let filter = Filter::builder()
        .name("replication-task-arn")
        .values(arn)
        .build()
        .map_err(|e| TaskError::fatal(format!("DescribeReplicationTasks {arn}: {e}")))?;
    let out = match dms
        .describe_replication_tasks()
        .filters(filter)
        .without_settings(true)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if airtask_aws::error::code(&e) == Some("ResourceNotFoundFault") => {
            return Ok(Found::Missing);
        }
        Err(e) => {
            return Err(airtask_aws::error::task_error(
                &format!("DescribeReplicationTasks {arn}"),
                &e,
            ));
        }
    };
    Ok(match out.replication_tasks() {
        [] => Found::Missing,
        [t, ..] => Found::Task {
            status: t.status().unwrap_or_default().to_owned(),
            reason: t
                .last_failure_message()
                .or(t.stop_reason())
                .filter(|r| !r.is_empty())
                .map(str::to_owned),
        },
    })
}

/// A time as an ISO 8601 string.
fn time_json(t: Option<&DateTime>) -> Option<Value> {
    t.and_then(|t| t.fmt(Format::DateTime).ok())
        .map(Value::String)
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
}

fn put_str(m: &mut Map<String, Value>, key: &str, v: Option<&str>) {
    put(m, key, v.map(|s| json!(s)));
}

fn stats_json(s: &ReplicationTaskStats) -> Value {
    let mut m = Map::new();
    m.insert(
        "FullLoadProgressPercent".into(),
        json!(s.full_load_progress_percent()),
    );
    m.insert("ElapsedTimeMillis".into(), json!(s.elapsed_time_millis()));
    m.insert("TablesLoaded".into(), json!(s.tables_loaded()));
    m.insert("TablesLoading".into(), json!(s.tables_loading()));
    m.insert("TablesQueued".into(), json!(s.tables_queued()));
    m.insert("TablesErrored".into(), json!(s.tables_errored()));
    put(&mut m, "FreshStartDate", time_json(s.fresh_start_date()));
    put(&mut m, "StartDate", time_json(s.start_date()));
    put(&mut m, "StopDate", time_json(s.stop_date()));
    put(
        &mut m,
        "FullLoadStartDate",
        time_json(s.full_load_start_date()),
    );
    put(
        &mut m,
        "FullLoadFinishDate",
        time_json(s.full_load_finish_date()),
    );
    Value::Object(m)
}

/// A replication task with boto3's keys (times as ISO 8601 strings).
pub(crate) fn task_json(t: &ReplicationTask) -> Value {
    let mut m = Map::new();
    put_str(
        &mut m,
        "ReplicationTaskIdentifier",
        t.replication_task_identifier(),
    );
    put_str(&mut m, "SourceEndpointArn", t.source_endpoint_arn());
    put_str(&mut m, "TargetEndpointArn", t.target_endpoint_arn());
    put_str(
        &mut m,
        "ReplicationInstanceArn",
        t.replication_instance_arn(),
    );
    put_str(
        &mut m,
        "MigrationType",
        t.migration_type().map(|v| v.as_str()),
    );
    put_str(&mut m, "TableMappings", t.table_mappings());
    put_str(
        &mut m,
        "ReplicationTaskSettings",
        t.replication_task_settings(),
    );
    put_str(&mut m, "Status", t.status());
    put_str(&mut m, "LastFailureMessage", t.last_failure_message());
    put_str(&mut m, "StopReason", t.stop_reason());
    put(
        &mut m,
        "ReplicationTaskCreationDate",
        time_json(t.replication_task_creation_date()),
    );
    put(
        &mut m,
        "ReplicationTaskStartDate",
        time_json(t.replication_task_start_date()),
    );
    put_str(&mut m, "CdcStartPosition", t.cdc_start_position());
    put_str(&mut m, "CdcStopPosition", t.cdc_stop_position());
    put_str(&mut m, "RecoveryCheckpoint", t.recovery_checkpoint());
    put_str(&mut m, "ReplicationTaskArn", t.replication_task_arn());
    put(
        &mut m,
        "ReplicationTaskStats",
        t.replication_task_stats().map(stats_json),
    );
    put_str(&mut m, "TaskData", t.task_data());
    put_str(
        &mut m,
        "TargetReplicationInstanceArn",
        t.target_replication_instance_arn(),
    );
    Value::Object(m)
}

/// Python's `json.dumps(v)` with its default separators (`", "`, `": "`) and ASCII escapes,
/// as the hook sends `TableMappings`.
pub(crate) fn python_json(v: &Value) -> String {
    let mut out = String::new();
    write_python(v, &mut out);
    out
}

fn write_python(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_python_str(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push('{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_str(k, out);
                out.push_str(": ");
                write_python(item, out);
            }
            out.push('}');
        }
    }
}

fn write_python_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_ascii() && !c.is_ascii_control() => out.push(c),
            c => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_mappings_are_dumped_as_python_does() {
        let v =
            json!({"rules": [{"rule-type": "selection", "rule-id": "1", "n": 1.5, "é": "a\"b"}]});
        assert_eq!(
            python_json(&v),
            r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "n": 1.5, "\u00e9": "a\"b"}]}"#
        );
    }

    #[test]
    fn tasks_have_boto3_keys() {
        let t = ReplicationTask::builder()
            .replication_task_identifier("t1")
            .status("ready")
            .replication_task_creation_date(DateTime::from_secs(1_767_312_000))
            .replication_task_stats(ReplicationTaskStats::builder().tables_loaded(2).build())
            .build();
        let v = task_json(&t);
        assert_eq!(v["ReplicationTaskIdentifier"], "t1");
        assert_eq!(v["Status"], "ready");
        assert_eq!(v["ReplicationTaskCreationDate"], "2026-01-02T00:00:00Z");
        assert_eq!(v["ReplicationTaskStats"]["TablesLoaded"], 2);
        assert!(v.get("StopReason").is_none());
    }
}
