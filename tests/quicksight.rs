//! The QuickSight operator and sensor through `airtask run-task` against the local endpoint:
//! an ingestion created and awaited (its XCom is the CreateIngestion answer), a failed and a
//! cancelled ingestion, the operator without waiting, and the sensor on a completed, a failed
//! and a still-running ingestion (timeout). The ingestion states come from the endpoint's
//! QuickSight patch (scripts/moto_patches/quicksight.py): `moto-failed`, `moto-cancelled` and
//! `moto-running` in the ingestion id. Every test has ingestion ids of its own.

use crate::flow::Flow;

const OPERATOR: &str =
    "airflow.providers.amazon.aws.operators.quicksight.QuickSightCreateIngestionOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.quicksight.QuickSightSensor";

#[test]
fn an_ingestion_is_created_and_awaited_and_the_sensor_sees_it_complete() {
    let tasks = [
        (
            "ingest",
            OPERATOR,
            "data_set_id: qst-ds\ningestion_id: qst-ok-{{ ds_nodash }}\ningestion_type: INCREMENTAL_REFRESH\ncheck_interval: 0.2".to_owned(),
        ),
        (
            "sense",
            SENSOR,
            "data_set_id: qst-ds\ningestion_id: qst-ok-{{ ds_nodash }}\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("qst_ok", &tasks);
    let run = flow.expect("ingest", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(xcom["IngestionId"], "qst-ok-20250309", "{xcom}");
    assert_eq!(xcom["IngestionStatus"], "INITIALIZED", "{xcom}");
    assert_eq!(xcom["Status"], 200, "{xcom}");
    assert!(
        xcom["Arn"]
            .as_str()
            .is_some_and(|a| a.ends_with("data-set/qst-ds/ingestions/qst-ok-20250309")),
        "{xcom}"
    );
    assert!(
        run.log.contains("Current status is COMPLETED"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("QuickSight Ingestion completed"),
        "{}",
        run.log
    );
    let sensed = flow.expect("sense", 0);
    assert!(
        sensed.log.contains("QuickSight Status: COMPLETED"),
        "{}",
        sensed.log
    );
}

#[test]
fn failed_and_cancelled_ingestions_fail_the_operator_and_the_sensor() {
    let tasks = [
        (
            "failed",
            OPERATOR,
            "data_set_id: qst-ds\ningestion_id: qst-moto-failed-1\ncheck_interval: 0.2".to_owned(),
        ),
        (
            "cancelled",
            OPERATOR,
            "data_set_id: qst-ds\ningestion_id: qst-moto-cancelled-1\ncheck_interval: 0.2"
                .to_owned(),
        ),
        (
            "sense_failed",
            SENSOR,
            "data_set_id: qst-ds\ningestion_id: qst-moto-failed-1\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("qst_fail", &tasks);
    let run = flow.expect("failed", 1);
    assert!(
        run.error()
            .contains("The Amazon QuickSight Ingestion failed. Error info: ")
            && run
                .error()
                .contains("moto: ingestion failed (moto-failed in the ingestion id)"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
    let run = flow.expect("cancelled", 1);
    assert!(
        run.error()
            .contains("The Amazon QuickSight SPICE ingestion cancelled!"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error().contains(
            "The QuickSight Ingestion failed. Error info: {'Type': 'INTERNAL_SERVICE_ERROR'"
        ),
        "{}",
        run.log
    );
}

#[test]
fn without_waiting_the_operator_returns_and_the_sensor_times_out_on_a_running_ingestion() {
    let tasks = [
        (
            "start",
            OPERATOR,
            "data_set_id: qst-ds\ningestion_id: qst-moto-running-1\nwait_for_completion: false"
                .to_owned(),
        ),
        (
            "sense",
            SENSOR,
            "data_set_id: qst-ds\ningestion_id: qst-moto-running-1\npoke_interval: 0.2\ntimeout: 1"
                .to_owned(),
        ),
        (
            "sense_unknown",
            SENSOR,
            "data_set_id: qst-ds\ningestion_id: qst-never-created\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("qst_running", &tasks);
    let run = flow.expect("start", 0);
    assert_eq!(
        run.xcom.as_ref().map(|x| x["IngestionId"].clone()),
        Some(serde_json::json!("qst-moto-running-1")),
        "{}",
        run.log
    );
    assert!(!run.log.contains("Current status is"), "{}", run.log);
    let run = flow.expect("sense", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("QuickSight Status: RUNNING"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
}
