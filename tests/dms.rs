//! The DMS operators and sensor through `airtask run-task` against the local endpoint: a
//! replication task's life (create and wait until ready, describe, start, stop, delete and wait
//! until gone) with each XCom, the failures DMS answers (stopping a task that is not running,
//! deleting or starting a task that is gone), a task whose creation fails, and the sensor on a
//! task whose full load completes, one that fails, one that is only ready, one that keeps
//! running (timeout) and one that does not exist. The transitions come from the endpoint's DMS
//! patch (scripts/moto_patches/dms.py): `moto-completes`, `moto-fails` and `moto-create-fails`
//! in the task identifier. Every test has task identifiers of its own.

use crate::flow::Flow;

const CREATE: &str = "airflow.providers.amazon.aws.operators.dms.DmsCreateTaskOperator";
const DELETE: &str = "airflow.providers.amazon.aws.operators.dms.DmsDeleteTaskOperator";
const DESCRIBE: &str = "airflow.providers.amazon.aws.operators.dms.DmsDescribeTasksOperator";
const START: &str = "airflow.providers.amazon.aws.operators.dms.DmsStartTaskOperator";
const STOP: &str = "airflow.providers.amazon.aws.operators.dms.DmsStopTaskOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.dms.DmsTaskCompletedSensor";

/// The parameters of a DmsCreateTaskOperator creating `id`.
fn create(id: &str) -> String {
    format!(
        "replication_task_id: {id}\nsource_endpoint_arn: arn:aws:dms:us-east-1:123456789012:endpoint:src\ntarget_endpoint_arn: arn:aws:dms:us-east-1:123456789012:endpoint:tgt\nreplication_instance_arn: arn:aws:dms:us-east-1:123456789012:rep:inst\ntable_mappings: {{rules: [{{rule-type: selection, rule-id: '1', rule-name: '1', object-locator: {{schema-name: public, table-name: '%'}}, rule-action: include}}]}}"
    )
}

/// An operator's `replication_task_arn` pulled from the `create` task.
const FROM_CREATE: &str = "replication_task_arn: \"{{ ti.xcom_pull(task_ids='create') }}\"";

/// A describe task of the `create` task's ARN.
fn describe_created() -> String {
    "describe_tasks_kwargs:\n  Filters:\n    - Name: replication-task-arn\n      Values: [\"{{ ti.xcom_pull(task_ids='create') }}\"]".to_owned()
}

/// The one task of a DmsDescribeTasksOperator's XCom (`[Marker, ReplicationTasks]`).
fn described(xcom: Option<&serde_json::Value>, log: &str) -> serde_json::Value {
    let v = xcom.unwrap_or_else(|| panic!("no XCom:\n{log}"));
    assert!(v[0].is_null(), "no Marker expected: {v}");
    let tasks = v[1]
        .as_array()
        .unwrap_or_else(|| panic!("no task list: {v}"));
    assert_eq!(tasks.len(), 1, "{v}");
    tasks[0].clone()
}

#[tokio::test(flavor = "current_thread")]
async fn a_dms_task_is_created_described_started_stopped_and_deleted() {
    let tasks = [
        (
            "create",
            CREATE,
            format!(
                "{}\nmigration_type: full-load\ncreate_task_kwargs:\n  ReplicationTaskSettings: '{{\"Logging\": {{\"EnableLogging\": false}}}}'\n  Tags: [{{Key: team, Value: data}}]",
                create("dmst-life")
            ),
        ),
        ("describe_ready", DESCRIBE, describe_created()),
        ("start", START, FROM_CREATE.to_owned()),
        ("describe_running", DESCRIBE, describe_created()),
        ("stop", STOP, FROM_CREATE.to_owned()),
        ("describe_stopped", DESCRIBE, describe_created()),
        ("stop_again", STOP, FROM_CREATE.to_owned()),
        ("delete", DELETE, FROM_CREATE.to_owned()),
        ("describe_deleted", DESCRIBE, describe_created()),
        ("delete_again", DELETE, FROM_CREATE.to_owned()),
        ("start_deleted", START, FROM_CREATE.to_owned()),
    ];
    let flow = Flow::new("dmst_life", &tasks);
    let created = flow.expect("create", 0);
    let arn = created
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no task ARN XCom:\n{}", created.log))
        .to_owned();
    assert!(arn.ends_with(":task:dmst-life"), "{arn}");
    assert!(
        created
            .log
            .contains("DMS replication task(dmst-life) is ready."),
        "{}",
        created.log
    );

    // What was sent: the mappings as the hook's json.dumps, the type, the settings.
    let run = flow.expect("describe_ready", 0);
    let task = described(run.xcom.as_ref(), &run.log);
    assert_eq!(task["ReplicationTaskArn"], arn.as_str());
    assert_eq!(task["Status"], "ready");
    assert_eq!(task["MigrationType"], "full-load");
    assert_eq!(
        task["TableMappings"],
        r#"{"rules": [{"rule-type": "selection", "rule-id": "1", "rule-name": "1", "object-locator": {"schema-name": "public", "table-name": "%"}, "rule-action": "include"}]}"#
    );
    assert_eq!(
        task["ReplicationTaskSettings"],
        r#"{"Logging": {"EnableLogging": false}}"#
    );
    assert!(task["ReplicationTaskCreationDate"].is_string(), "{task}");

    let run = flow.expect("start", 0);
    assert!(run.xcom.is_none(), "{}", run.log);
    assert!(
        run.log
            .contains(&format!("DMS replication task({arn}) is starting.")),
        "{}",
        run.log
    );
    let run = flow.expect("describe_running", 0);
    assert_eq!(described(run.xcom.as_ref(), &run.log)["Status"], "running");

    let run = flow.expect("stop", 0);
    assert!(
        run.log
            .contains(&format!("DMS replication task({arn}) is stopping.")),
        "{}",
        run.log
    );
    let run = flow.expect("describe_stopped", 0);
    assert_eq!(described(run.xcom.as_ref(), &run.log)["Status"], "stopped");

    // A task that is not running cannot be stopped: DMS's refusal, not retried.
    let run = flow.expect("stop_again", 1);
    assert!(
        run.error().contains("StopReplicationTask")
            && run.error().contains("InvalidResourceStateFault"),
        "{}",
        run.log
    );

    let run = flow.expect("delete", 0);
    assert!(run.xcom.is_none(), "{}", run.log);
    assert!(
        run.log
            .contains(&format!("DMS replication task({arn}) has been deleted.")),
        "{}",
        run.log
    );
    let run = flow.expect("describe_deleted", 1);
    assert!(run.error().contains("ResourceNotFoundFault"), "{}", run.log);
    for task in ["delete_again", "start_deleted"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().contains("ResourceNotFoundFault"),
            "{task}: {}",
            run.log
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dms_task_whose_creation_fails_fails_the_create_task() {
    let flow = Flow::new(
        "dmst_create_fails",
        &[("create", CREATE, create("dmst-moto-create-fails"))],
    );
    let run = flow.expect("create", 1);
    let err = run.error();
    assert!(
        err.contains("did not become ready: its status is failed")
            && err.contains("moto: task creation failed"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
}

#[tokio::test(flavor = "current_thread")]
async fn the_dms_sensor_is_met_when_the_full_load_completes() {
    let flow = Flow::new(
        "dmst_sense_ok",
        &[
            ("create", CREATE, create("dmst-sense-moto-completes")),
            ("start", START, FROM_CREATE.to_owned()),
            (
                "sense",
                SENSOR,
                format!("{FROM_CREATE}\npoke_interval: 0.2\ntimeout: 30"),
            ),
        ],
    );
    flow.expect("create", 0);
    flow.expect("start", 0);
    let run = flow.expect("sense", 0);
    assert!(run.log.contains("has status: running"), "{}", run.log);
    assert!(run.log.contains("has status: stopped"), "{}", run.log);
    assert!(run.log.contains("Success criteria met"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn the_dms_sensor_fails_on_a_failed_a_ready_and_a_missing_task() {
    let flow = Flow::new(
        "dmst_sense_fail",
        &[
            ("create", CREATE, create("dmst-sense-moto-fails")),
            ("start", START, FROM_CREATE.to_owned()),
            (
                "sense_failed",
                SENSOR,
                format!("{FROM_CREATE}\npoke_interval: 0.2"),
            ),
            ("create_ready", CREATE, create("dmst-sense-ready")),
            (
                "sense_ready",
                SENSOR,
                "replication_task_arn: \"{{ ti.xcom_pull(task_ids='create_ready') }}\"\npoke_interval: 0.2".to_owned(),
            ),
            (
                "sense_missing",
                SENSOR,
                "replication_task_arn: arn:aws:dms:us-east-1:123456789012:task:dmst-none\npoke_interval: 0.2".to_owned(),
            ),
        ],
    );
    flow.expect("create", 0);
    flow.expect("start", 0);
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error().contains("Unexpected status: failed")
            && run.error().contains("moto: replication failed"),
        "{}",
        run.log
    );
    flow.expect("create_ready", 0);
    let run = flow.expect("sense_ready", 1);
    assert!(
        run.error().contains("Unexpected status: ready"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_missing", 1);
    assert!(
        run.error().contains(
            "Failed to read task status, task with ARN \
             arn:aws:dms:us-east-1:123456789012:task:dmst-none not found"
        ),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_dms_sensor_times_out_on_a_task_that_keeps_running() {
    let flow = Flow::new(
        "dmst_sense_timeout",
        &[
            ("create", CREATE, create("dmst-sense-running")),
            ("start", START, FROM_CREATE.to_owned()),
            (
                "sense",
                SENSOR,
                format!("{FROM_CREATE}\npoke_interval: 0.3\ntimeout: 1"),
            ),
        ],
    );
    flow.expect("create", 0);
    flow.expect("start", 0);
    let run = flow.expect("sense", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    assert!(run.log.contains("has status: running"), "{}", run.log);
}
