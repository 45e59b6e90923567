//! The RDS operators and sensors through `airtask run-task` against the local endpoint: for
//! every operator the success path with its XCom (the RDS answer as a JSON string) and what
//! RDS holds afterwards, the failures the provider documents (a waiter reaching a failure
//! state, RDS refusing the call), and the sensors' success, failure and timeout. Failed and
//! long-running states come from the endpoint's RDS patch (scripts/moto_patches/rds.py):
//! `moto-failed` and `moto-running` in a resource's identifier. Then the RDS workflows of
//! ../shared/corpus. Every test has resource names of its own.

use airtask_tests::{TempDir, airtask, corpus_dir, endpoint};
use serde_json::Value;

use crate::flow::{Flow, Run};

const OPS: &str = "airflow.providers.amazon.aws.operators.rds";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.rds";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

/// A flow of (task, operator, parameters).
fn flow(id: &str, tasks: &[(&str, String, String)]) -> Flow {
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    Flow::new(id, &tasks)
}

async fn rds() -> aws_sdk_rds::Client {
    aws_sdk_rds::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

/// The XCom value: a JSON string, parsed.
fn answer(run: &Run) -> Value {
    let text = run
        .xcom
        .as_ref()
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no JSON string XCom:\n{}", run.log));
    assert!(
        text.contains("\": "),
        "written with Python's separators: {text}"
    );
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Creates a DB instance directly (for tests whose subject is not the creation).
async fn create_instance(id: &str) {
    rds()
        .await
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t4g.micro")
        .engine("postgres")
        .master_username("rdsuser")
        .master_user_password("rdspassword1")
        .allocated_storage(20)
        .send()
        .await
        .expect("CreateDBInstance");
}

async fn instance_status(id: &str) -> Option<String> {
    rds()
        .await
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .ok()
        .and_then(|o| o.db_instances().first().cloned())
        .and_then(|d| d.db_instance_status().map(str::to_owned))
}

async fn snapshot_exists(id: &str) -> bool {
    rds()
        .await
        .describe_db_snapshots()
        .db_snapshot_identifier(id)
        .send()
        .await
        .is_ok_and(|o| !o.db_snapshots().is_empty())
}

const FAST: &str = "waiter_delay: 1\nwaiter_max_attempts: 5";
const SENSE: &str = "poke_interval: 0.2\ntimeout: 30";
const TIMEOUT: &str = "poke_interval: 0.2\ntimeout: 1";

#[tokio::test(flavor = "current_thread")]
async fn a_db_instance_is_created_stopped_started_and_deleted() {
    let tasks = [
        (
            "create",
            op("RdsCreateDbInstanceOperator"),
            format!(
                "db_instance_identifier: rdst-inst\ndb_instance_class: db.t4g.micro\nengine: postgres\nrds_kwargs: {{MasterUsername: rdsuser, MasterUserPassword: rdspassword1, AllocatedStorage: 20, DBName: rdst_db, Tags: [{{Key: team, Value: data}}]}}\n{FAST}"
            ),
        ),
        (
            "available",
            sensor("RdsDbSensor"),
            format!("db_identifier: rdst-inst\ndb_type: instance\n{SENSE}"),
        ),
        (
            "stop",
            op("RdsStopDbOperator"),
            format!(
                "db_identifier: rdst-inst\ndb_snapshot_identifier: rdst-inst-stop-snap\n{FAST}"
            ),
        ),
        (
            "stopped",
            sensor("RdsDbSensor"),
            format!("db_identifier: rdst-inst\ntarget_statuses: [stopped]\n{SENSE}"),
        ),
        (
            "start",
            op("RdsStartDbOperator"),
            format!("db_identifier: rdst-inst\ndb_type: instance\n{FAST}"),
        ),
        (
            "delete",
            op("RdsDeleteDbInstanceOperator"),
            format!(
                "db_instance_identifier: rdst-inst\nrds_kwargs: {{SkipFinalSnapshot: true}}\n{FAST}"
            ),
        ),
    ];
    let flow = flow("rdst_inst", &tasks);
    let run = flow.expect("create", 0);
    let a = answer(&run);
    assert_eq!(a["DBInstance"]["DBInstanceIdentifier"], "rdst-inst", "{a}");
    assert_eq!(a["DBInstance"]["Engine"], "postgres", "{a}");
    assert_eq!(a["DBInstance"]["DBName"], "rdst_db", "{a}");
    assert_eq!(
        a["DBInstance"]["TagList"][0],
        serde_json::json!({"Key": "team", "Value": "data"})
    );
    assert!(
        run.log.contains("Creating new DB instance rdst-inst"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("DB instance 'rdst-inst' reached the 'available' state"),
        "{}",
        run.log
    );
    let sensed = flow.expect("available", 0);
    assert!(
        sensed.log.contains("Success criteria met"),
        "{}",
        sensed.log
    );
    assert!(
        sensed.log.contains("Poking for statuses : ['available']"),
        "{}",
        sensed.log
    );

    let run = flow.expect("stop", 0);
    assert_eq!(
        answer(&run)["DBInstance"]["DBInstanceIdentifier"],
        "rdst-inst"
    );
    assert_eq!(
        instance_status("rdst-inst").await.as_deref(),
        Some("stopped")
    );
    assert!(
        snapshot_exists("rdst-inst-stop-snap").await,
        "the snapshot taken before stopping"
    );
    flow.expect("stopped", 0);

    let run = flow.expect("start", 0);
    assert!(
        run.log
            .contains("Waiting for DB instance to reach 'available' state"),
        "{}",
        run.log
    );
    assert_eq!(
        instance_status("rdst-inst").await.as_deref(),
        Some("available")
    );

    let run = flow.expect("delete", 0);
    assert_eq!(
        answer(&run)["DBInstance"]["DBInstanceIdentifier"],
        "rdst-inst"
    );
    assert_eq!(instance_status("rdst-inst").await, None, "deleted");
}

#[tokio::test(flavor = "current_thread")]
async fn failed_db_instances_and_refused_calls_fail_the_tasks() {
    create_instance("rdst-stopfail-moto-failed").await;
    let tasks = [
        (
            "create_failed",
            op("RdsCreateDbInstanceOperator"),
            format!(
                "db_instance_identifier: rdst-create-moto-failed\ndb_instance_class: db.t4g.micro\nengine: postgres\nrds_kwargs: {{MasterUsername: rdsuser, MasterUserPassword: rdspassword1, AllocatedStorage: 20}}\n{FAST}"
            ),
        ),
        (
            "create_no_wait",
            op("RdsCreateDbInstanceOperator"),
            "db_instance_identifier: rdst-nowait-moto-failed\ndb_instance_class: db.t4g.micro\nengine: postgres\nrds_kwargs: {MasterUsername: rdsuser, MasterUserPassword: rdspassword1, AllocatedStorage: 20}\nwait_for_completion: false".to_owned(),
        ),
        (
            "stop_failed",
            op("RdsStopDbOperator"),
            format!("db_identifier: rdst-stopfail-moto-failed\n{FAST}"),
        ),
        (
            "start_unknown",
            op("RdsStartDbOperator"),
            format!("db_identifier: rdst-no-such-db\n{FAST}"),
        ),
        (
            "delete_unknown",
            op("RdsDeleteDbInstanceOperator"),
            format!("db_instance_identifier: rdst-no-such-db\n{FAST}"),
        ),
        (
            "sense_timeout",
            sensor("RdsDbSensor"),
            format!("db_identifier: rdst-no-such-db\n{TIMEOUT}"),
        ),
        (
            "sense_bad_type",
            sensor("RdsDbSensor"),
            format!("db_identifier: rdst-no-such-db\ndb_type: \"{{{{ 'table' }}}}\"\n{SENSE}"),
        ),
    ];
    let flow = flow("rdst_inst_fail", &tasks);
    let run = flow.expect("create_failed", 1);
    assert!(
        run.error().starts_with("DB instance creation failed") && run.error().contains("'failed'"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
    // Without the wait the operator returns once RDS accepted the call.
    let run = flow.expect("create_no_wait", 0);
    assert_eq!(
        answer(&run)["DBInstance"]["DBInstanceIdentifier"],
        "rdst-nowait-moto-failed"
    );
    let run = flow.expect("stop_failed", 1);
    assert!(
        run.error()
            .contains("StopDBInstance rdst-stopfail-moto-failed failed"),
        "{}",
        run.log
    );
    let run = flow.expect("start_unknown", 1);
    assert!(
        run.error()
            .contains("StartDBInstance rdst-no-such-db failed: DBInstanceNotFound"),
        "{}",
        run.log
    );
    let run = flow.expect("delete_unknown", 1);
    assert!(run.error().contains("DBInstanceNotFound"), "{}", run.log);
    let run = flow.expect("sense_timeout", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    assert!(
        run.log
            .contains("The DB instance rdst-no-such-db was not found"),
        "{}",
        run.log
    );
    // A db_type that renders to something else than instance or cluster is a parameter error
    // of the try (the provider's ValueError), exit code 2.
    let run = flow.expect("sense_bad_type", 2);
    assert!(run.error().contains("not a valid RdsDbType"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn a_db_cluster_is_stopped_and_started_and_its_snapshots_managed() {
    rds()
        .await
        .create_db_cluster()
        .db_cluster_identifier("rdst-cluster")
        .engine("aurora-postgresql")
        .master_username("rdsuser")
        .master_user_password("rdspassword1")
        .send()
        .await
        .expect("CreateDBCluster");
    let tasks = [
        (
            "snap",
            op("RdsCreateDbSnapshotOperator"),
            "db_type: cluster\ndb_identifier: rdst-cluster\ndb_snapshot_identifier: rdst-cluster-snap\ntags: {owner: rdst}".to_owned(),
        ),
        (
            "snap_sensor",
            sensor("RdsSnapshotExistenceSensor"),
            format!("db_type: cluster\ndb_snapshot_identifier: rdst-cluster-snap\n{SENSE}"),
        ),
        (
            "copy",
            op("RdsCopyDbSnapshotOperator"),
            "db_type: cluster\nsource_db_snapshot_identifier: rdst-cluster-snap\ntarget_db_snapshot_identifier: rdst-cluster-snap-copy\ncopy_tags: true".to_owned(),
        ),
        (
            "delete_copy",
            op("RdsDeleteDbSnapshotOperator"),
            "db_type: cluster\ndb_snapshot_identifier: rdst-cluster-snap-copy".to_owned(),
        ),
        (
            "stop",
            op("RdsStopDbOperator"),
            format!("db_identifier: rdst-cluster\ndb_type: cluster\ndb_snapshot_identifier: ignored\n{FAST}"),
        ),
        (
            "stopped",
            sensor("RdsDbSensor"),
            format!("db_identifier: rdst-cluster\ndb_type: cluster\ntarget_statuses: [stopped]\n{SENSE}"),
        ),
        (
            "start",
            op("RdsStartDbOperator"),
            format!("db_identifier: rdst-cluster\ndb_type: cluster\n{FAST}"),
        ),
        (
            "snap_failed",
            op("RdsCreateDbSnapshotOperator"),
            "db_type: cluster\ndb_identifier: rdst-cluster\ndb_snapshot_identifier: rdst-cluster-snap-moto-failed".to_owned(),
        ),
    ];
    let flow = flow("rdst_cluster", &tasks);
    let run = flow.expect("snap", 0);
    let a = answer(&run);
    assert_eq!(
        a["DBClusterSnapshot"]["DBClusterSnapshotIdentifier"], "rdst-cluster-snap",
        "{a}"
    );
    assert_eq!(
        a["DBClusterSnapshot"]["DBClusterIdentifier"], "rdst-cluster",
        "{a}"
    );
    assert_eq!(a["DBClusterSnapshot"]["TagList"][0]["Key"], "owner", "{a}");
    flow.expect("snap_sensor", 0);
    let run = flow.expect("copy", 0);
    assert_eq!(
        answer(&run)["DBClusterSnapshot"]["DBClusterSnapshotIdentifier"],
        "rdst-cluster-snap-copy"
    );
    flow.expect("delete_copy", 0);
    let left = rds()
        .await
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier("rdst-cluster-snap-copy")
        .send()
        .await;
    assert!(left.is_err() || left.is_ok_and(|o| o.db_cluster_snapshots().is_empty()));

    let run = flow.expect("stop", 0);
    assert!(
        run.log
            .contains("'db_snapshot_identifier' does not apply to db clusters"),
        "{}",
        run.log
    );
    assert_eq!(
        answer(&run)["DBCluster"]["DBClusterIdentifier"],
        "rdst-cluster"
    );
    flow.expect("stopped", 0);
    let run = flow.expect("start", 0);
    assert!(
        run.log
            .contains("DB cluster 'rdst-cluster' reached the 'available' state"),
        "{}",
        run.log
    );

    let run = flow.expect("snap_failed", 1);
    assert!(
        run.error().starts_with("DB snapshot creation failed") && run.error().contains("'failed'"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn db_snapshots_are_created_copied_sensed_and_deleted() {
    create_instance("rdst-snapdb").await;
    let tasks = [
        (
            "snap",
            op("RdsCreateDbSnapshotOperator"),
            "db_type: instance\ndb_identifier: rdst-snapdb\ndb_snapshot_identifier: rdst-snap\ntags: [{Key: k1, Value: v1}]".to_owned(),
        ),
        (
            "sense",
            sensor("RdsSnapshotExistenceSensor"),
            format!("db_type: instance\ndb_snapshot_identifier: rdst-snap\n{SENSE}"),
        ),
        (
            "copy",
            op("RdsCopyDbSnapshotOperator"),
            "db_type: instance\nsource_db_snapshot_identifier: rdst-snap\ntarget_db_snapshot_identifier: rdst-snap-copy\nkms_key_id: ''\noption_group_name: ''\npre_signed_url: ''\nsource_region: ''\ntarget_custom_availability_zone: ''".to_owned(),
        ),
        (
            "delete",
            op("RdsDeleteDbSnapshotOperator"),
            "db_type: instance\ndb_snapshot_identifier: rdst-snap".to_owned(),
        ),
        (
            "copy_failed",
            op("RdsCopyDbSnapshotOperator"),
            "db_type: instance\nsource_db_snapshot_identifier: rdst-snap-copy\ntarget_db_snapshot_identifier: rdst-snap-moto-failed".to_owned(),
        ),
        (
            "delete_unknown",
            op("RdsDeleteDbSnapshotOperator"),
            "db_type: instance\ndb_snapshot_identifier: rdst-no-such-snap".to_owned(),
        ),
        (
            "sense_timeout",
            sensor("RdsSnapshotExistenceSensor"),
            format!("db_type: instance\ndb_snapshot_identifier: rdst-no-such-snap\n{TIMEOUT}"),
        ),
        (
            "sense_failed_status",
            sensor("RdsSnapshotExistenceSensor"),
            format!("db_type: instance\ndb_snapshot_identifier: rdst-snap-moto-failed\ntarget_statuses: [failed]\n{SENSE}"),
        ),
    ];
    let flow = flow("rdst_snap", &tasks);
    let run = flow.expect("snap", 0);
    let a = answer(&run);
    assert_eq!(a["DBSnapshot"]["DBSnapshotIdentifier"], "rdst-snap", "{a}");
    assert_eq!(
        a["DBSnapshot"]["DBInstanceIdentifier"], "rdst-snapdb",
        "{a}"
    );
    assert!(
        a["DBSnapshot"]["SnapshotCreateTime"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")),
        "times as Python's str(): {a}"
    );
    assert!(
        run.log
            .contains("Starting to create snapshot of RDS instance 'rdst-snapdb': rdst-snap"),
        "{}",
        run.log
    );
    let sensed = flow.expect("sense", 0);
    assert!(
        sensed.log.contains("Success criteria met"),
        "{}",
        sensed.log
    );
    let run = flow.expect("copy", 0);
    assert_eq!(
        answer(&run)["DBSnapshot"]["DBSnapshotIdentifier"],
        "rdst-snap-copy"
    );
    assert!(snapshot_exists("rdst-snap-copy").await);
    let run = flow.expect("delete", 0);
    assert_eq!(
        answer(&run)["DBSnapshot"]["DBSnapshotIdentifier"],
        "rdst-snap"
    );
    assert!(!snapshot_exists("rdst-snap").await, "deleted");

    let run = flow.expect("copy_failed", 1);
    assert!(
        run.error().starts_with("DB snapshot copy failed") && run.error().contains("'failed'"),
        "{}",
        run.log
    );
    let run = flow.expect("delete_unknown", 1);
    assert!(
        run.error()
            .contains("DeleteDBSnapshot rdst-no-such-snap failed: DBSnapshotNotFound"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_timeout", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    flow.expect("sense_failed_status", 0);
}

#[tokio::test(flavor = "current_thread")]
async fn snapshot_exports_start_fail_and_are_cancelled() {
    create_instance("rdst-exportdb").await;
    let snap = rds()
        .await
        .create_db_snapshot()
        .db_instance_identifier("rdst-exportdb")
        .db_snapshot_identifier("rdst-export-snap")
        .send()
        .await
        .expect("CreateDBSnapshot");
    let arn = snap
        .db_snapshot()
        .and_then(|s| s.db_snapshot_arn())
        .expect("a snapshot ARN")
        .to_owned();
    let export = |id: &str, extra: &str| {
        format!(
            "export_task_identifier: {id}\nsource_arn: {arn}\ns3_bucket_name: rdst-exports\niam_role_arn: arn:aws:iam::123456789012:role/rdst\nkms_key_id: rdst-key\ns3_prefix: out\nexport_only: [db.table]\nwaiter_interval: 1\nwaiter_max_attempts: 3\n{extra}"
        )
    };
    let tasks = [
        (
            "export",
            op("RdsStartExportTaskOperator"),
            export("rdst-export", ""),
        ),
        (
            "sense",
            sensor("RdsExportTaskExistenceSensor"),
            format!("export_task_identifier: rdst-export\ntarget_statuses: [complete]\n{SENSE}"),
        ),
        (
            "export_failed",
            op("RdsStartExportTaskOperator"),
            export("rdst-export-moto-failed", ""),
        ),
        (
            "sense_failed",
            sensor("RdsExportTaskExistenceSensor"),
            format!("export_task_identifier: rdst-export-moto-failed\n{SENSE}"),
        ),
        (
            "export_running",
            op("RdsStartExportTaskOperator"),
            export("rdst-export-moto-running", "wait_for_completion: false"),
        ),
        (
            "export_times_out",
            op("RdsStartExportTaskOperator"),
            export("rdst-export2-moto-running", ""),
        ),
        (
            "cancel",
            op("RdsCancelExportTaskOperator"),
            "export_task_identifier: rdst-export-moto-running\ncheck_interval: 1\nmax_attempts: 3"
                .to_owned(),
        ),
        (
            "sense_canceled",
            sensor("RdsExportTaskExistenceSensor"),
            format!(
                "export_task_identifier: rdst-export-moto-running\ntarget_statuses: [canceled]\n{SENSE}"
            ),
        ),
        (
            "cancel_unknown",
            op("RdsCancelExportTaskOperator"),
            "export_task_identifier: rdst-no-such-export".to_owned(),
        ),
        (
            "sense_timeout",
            sensor("RdsExportTaskExistenceSensor"),
            format!("export_task_identifier: rdst-no-such-export\n{TIMEOUT}"),
        ),
    ];
    let flow = flow("rdst_export", &tasks);
    let run = flow.expect("export", 0);
    let a = answer(&run);
    assert_eq!(a["ExportTaskIdentifier"], "rdst-export", "{a}");
    assert_eq!(a["SourceArn"], arn.as_str(), "{a}");
    assert_eq!(a["S3Bucket"], "rdst-exports", "{a}");
    assert_eq!(a["Status"], "complete", "{a}");
    assert!(
        run.log
            .contains("export task 'rdst-export' reached the 'complete' state"),
        "{}",
        run.log
    );
    flow.expect("sense", 0);

    let run = flow.expect("export_failed", 1);
    assert!(
        run.error().starts_with("Export task failed") && run.error().contains("'failed'"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .contains("Export task rdst-export-moto-failed failed with status failed"),
        "{}",
        run.log
    );

    let run = flow.expect("export_running", 0);
    assert_eq!(answer(&run)["Status"], "in_progress");
    let run = flow.expect("export_times_out", 1);
    assert!(
        run.error().contains("Waiter error: max attempts reached"),
        "{}",
        run.log
    );
    let run = flow.expect("cancel", 0);
    assert_eq!(answer(&run)["Status"], "canceled");
    flow.expect("sense_canceled", 0);
    let run = flow.expect("cancel_unknown", 1);
    assert!(run.error().contains("ExportTaskNotFound"), "{}", run.log);
    let run = flow.expect("sense_timeout", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn event_subscriptions_are_created_and_deleted() {
    let topic = "arn:aws:sns:us-east-1:123456789012:rdst-events";
    let tasks = [
        (
            "create",
            op("RdsCreateEventSubscriptionOperator"),
            format!(
                "subscription_name: rdst-sub\nsns_topic_arn: {topic}\nsource_type: db-instance\nevent_categories: [availability, backup]\nsource_ids: [rdst-db]\nenabled: true\ntags: {{team: data}}"
            ),
        ),
        (
            "create_again",
            op("RdsCreateEventSubscriptionOperator"),
            format!("subscription_name: rdst-sub\nsns_topic_arn: {topic}"),
        ),
        (
            "delete",
            op("RdsDeleteEventSubscriptionOperator"),
            "subscription_name: rdst-sub".to_owned(),
        ),
        (
            "delete_again",
            op("RdsDeleteEventSubscriptionOperator"),
            "subscription_name: rdst-sub".to_owned(),
        ),
    ];
    let flow = flow("rdst_events", &tasks);
    let run = flow.expect("create", 0);
    let a = answer(&run);
    assert_eq!(
        a["EventSubscription"]["CustSubscriptionId"], "rdst-sub",
        "{a}"
    );
    assert_eq!(a["EventSubscription"]["SnsTopicArn"], topic, "{a}");
    assert_eq!(a["EventSubscription"]["Status"], "active", "{a}");
    assert_eq!(
        a["EventSubscription"]["EventCategoriesList"],
        serde_json::json!(["availability", "backup"])
    );
    assert!(
        run.log
            .contains("event subscription 'rdst-sub' reached the 'active' state"),
        "{}",
        run.log
    );
    let run = flow.expect("create_again", 1);
    assert!(
        run.error()
            .contains("CreateEventSubscription rdst-sub failed"),
        "{}",
        run.log
    );
    let run = flow.expect("delete", 0);
    assert_eq!(
        answer(&run)["EventSubscription"]["CustSubscriptionId"],
        "rdst-sub"
    );
    let gone = rds()
        .await
        .describe_event_subscriptions()
        .subscription_name("rdst-sub")
        .send()
        .await;
    assert!(gone.is_err(), "deleted: {gone:?}");
    let run = flow.expect("delete_again", 1);
    assert!(
        run.error()
            .contains("DeleteEventSubscription rdst-sub failed"),
        "{}",
        run.log
    );
}

#[test]
fn the_rds_corpus_workflows_validate_and_run() {
    for name in ["example_rds_instance", "example_rds_snapshot"] {
        let file = corpus_dir().join(format!("converter-upstream/{name}.yaml"));
        let file = file.to_string_lossy().into_owned();
        let out = airtask(&["validate", &file]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = TempDir::new(&format!("rdst-corpus-{name}"));
        let state = dir.path().join("state").to_string_lossy().into_owned();
        let out = airtask(&["run", &file, "--state-dir", &state]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text =
            std::fs::read_to_string(corpus_dir().join(format!("converter-upstream/{name}.yaml")))
                .expect("the corpus file");
        let tasks: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("    "))
            .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
            .map(|l| l.trim_end_matches(':'))
            .filter(|t| *t != "start_date")
            .collect();
        assert!(tasks.len() >= 5, "{name}: {tasks:?}");
        for task in tasks {
            let state = stdout
                .lines()
                .rev()
                .find(|l| l.split_whitespace().next() == Some(task))
                .and_then(|l| l.split_whitespace().nth(1));
            assert_eq!(state, Some("success"), "{name} {task}:\n{stdout}");
        }
    }
    // The aws-samples workflow: no error is about its RDS tasks (only its CloudFormation tasks,
    // another family, may be unimplemented).
    let file = corpus_dir().join("aws-samples/rds_dag.yaml");
    let out = airtask(&["validate", "--format", "json", &file.to_string_lossy()]);
    let report = airtask_tests::stdout_json(&out);
    let errors: Vec<&Value> = report["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    for e in errors {
        let task = e["task"].as_str().unwrap_or_default();
        assert!(
            task.contains("rds_stack") || task.contains("rds_delete"),
            "{e}"
        );
    }
}
