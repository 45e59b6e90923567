//! The Managed Service for Apache Flink (Kinesis Analytics v2) operators and sensors through
//! `airtask run-task` against the local endpoint: an application created, started and
//! stopped (each XCom `{"ApplicationARN": ...}`) with the sensors seeing it run and stop; a
//! start and a stop that fail; waits that run out of attempts; the sensors' failure and
//! timeout; and an unknown application. The start and stop paths come from the endpoint's
//! patch (scripts/moto_patches/kinesisanalyticsv2.py): `moto-start-fails`, `moto-stop-fails`
//! and `moto-stuck` in the application name. Every test has applications of its own.

use crate::flow::Flow;

const PREFIX: &str = "airflow.providers.amazon.aws.operators.kinesis_analytics.";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.kinesis_analytics.";

fn op(name: &str) -> String {
    format!("{PREFIX}KinesisAnalyticsV2{name}Operator")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}KinesisAnalyticsV2{name}ApplicationCompletedSensor")
}

fn create(app: &str) -> String {
    format!(
        "application_name: {app}\nruntime_environment: FLINK-1_18\nservice_execution_role: \
         arn:aws:iam::123456789012:role/kda\ncreate_application_kwargs:\n  ApplicationMode: \
         STREAMING\n  Tags: [{{Key: team, Value: data}}]"
    )
}

#[test]
fn an_application_is_created_started_and_stopped_and_the_sensors_see_it() {
    let app = "kdat-ok";
    let (c, s, t) = (
        op("CreateApplication"),
        op("StartApplication"),
        op("StopApplication"),
    );
    let (ss, ts) = (sensor("Start"), sensor("Stop"));
    let tasks = [
        ("create", c.as_str(), create(app)),
        (
            "start",
            s.as_str(),
            format!(
                "application_name: {app}\nwaiter_delay: 0.2\nrun_configuration:\n  \
                 FlinkRunConfiguration: {{AllowNonRestoredState: true}}"
            ),
        ),
        (
            "started",
            ss.as_str(),
            format!("application_name: {app}\npoke_interval: 0.2"),
        ),
        (
            "stop",
            t.as_str(),
            format!("application_name: {app}\nforce: true\nwaiter_delay: 0.2"),
        ),
        (
            "stopped",
            ts.as_str(),
            format!("application_name: {app}\npoke_interval: 0.2"),
        ),
    ];
    let flow = Flow::new("kdat_ok", &tasks);
    let run = flow.expect("create", 0);
    let arn = run.xcom.as_ref().map(|x| x["ApplicationARN"].clone());
    assert!(
        arn.as_ref()
            .and_then(|a| a.as_str())
            .is_some_and(|a| a.ends_with(":application/kdat-ok")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(
            "AWS Managed Service for Apache Flink application created successfully kdat-ok."
        ),
        "{}",
        run.log
    );
    let run = flow.expect("start", 0);
    assert_eq!(run.xcom.as_ref().map(|x| x["ApplicationARN"].clone()), arn);
    assert!(
        run.log.contains("started successfully kdat-ok"),
        "{}",
        run.log
    );
    let run = flow.expect("started", 0);
    assert!(run.log.contains("status: RUNNING"), "{}", run.log);
    let run = flow.expect("stop", 0);
    assert_eq!(run.xcom.as_ref().map(|x| x["ApplicationARN"].clone()), arn);
    assert!(
        run.log.contains("stopped successfully kdat-ok"),
        "{}",
        run.log
    );
    let run = flow.expect("stopped", 0);
    assert!(run.log.contains("status: READY"), "{}", run.log);
}

#[test]
fn a_failed_start_or_stop_fails_the_operators_and_the_sensors() {
    let (c, s, t) = (
        op("CreateApplication"),
        op("StartApplication"),
        op("StopApplication"),
    );
    let (ss, ts) = (sensor("Start"), sensor("Stop"));
    let start_fails = "kdat-moto-start-fails";
    let stop_fails = "kdat-moto-stop-fails";
    let tasks = [
        ("create_a", c.as_str(), create(start_fails)),
        ("create_b", c.as_str(), create(stop_fails)),
        (
            "start_a",
            s.as_str(),
            format!("application_name: {start_fails}\nwaiter_delay: 0.2"),
        ),
        (
            "started_a",
            ss.as_str(),
            format!("application_name: {start_fails}\npoke_interval: 0.2"),
        ),
        (
            "stop_b",
            t.as_str(),
            format!("application_name: {stop_fails}\nwaiter_delay: 0.2"),
        ),
        (
            "stopped_b",
            ts.as_str(),
            format!("application_name: {stop_fails}\npoke_interval: 0.2"),
        ),
        (
            "start_unknown",
            s.as_str(),
            "application_name: kdat-no-such-app".to_owned(),
        ),
    ];
    let flow = Flow::new("kdat_fail", &tasks);
    flow.expect("create_a", 0);
    flow.expect("create_b", 0);
    let run = flow.expect("start_a", 1);
    assert!(
        run.error()
            .contains("Waiter application_start_complete failed")
            && run.error().contains("is READY"),
        "{}",
        run.log
    );
    let run = flow.expect("started_a", 1);
    assert!(
        run.error()
            .contains("AWS Managed Service for Apache Flink application start failed."),
        "{}",
        run.log
    );
    let run = flow.expect("stop_b", 1);
    assert!(
        run.error()
            .contains("Waiter application_stop_complete failed")
            && run.error().contains("is ROLLED_BACK"),
        "{}",
        run.log
    );
    let run = flow.expect("stopped_b", 1);
    assert!(
        run.error()
            .contains("AWS Managed Service for Apache Flink application stop failed."),
        "{}",
        run.log
    );
    let run = flow.expect("start_unknown", 1);
    assert!(
        run.error().contains("Failed to start")
            && run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
}

#[test]
fn waits_that_never_end_run_out_of_attempts_and_the_sensor_times_out() {
    let (c, s) = (op("CreateApplication"), op("StartApplication"));
    let ss = sensor("Start");
    let app = "kdat-moto-stuck";
    let tasks = [
        ("create", c.as_str(), create(app)),
        (
            "start",
            s.as_str(),
            format!("application_name: {app}\nwaiter_delay: 0.2\nwaiter_max_attempts: 3"),
        ),
        (
            "started",
            ss.as_str(),
            format!("application_name: {app}\npoke_interval: 0.2\ntimeout: 1"),
        ),
    ];
    let flow = Flow::new("kdat_stuck", &tasks);
    flow.expect("create", 0);
    let run = flow.expect("start", 1);
    assert!(
        run.error().contains("after 3 attempts") && run.error().contains("STARTING"),
        "{}",
        run.log
    );
    let run = flow.expect("started", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}
