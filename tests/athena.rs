//! The Athena operator and sensor through `airtask run-task` against the local endpoint: a
//! query's success path with its XCom (the QueryExecutionId) and what was sent, a FAILED
//! query with its StateChangeReason, SIGTERM during a query (on_kill stops it), the polling
//! limit, and the sensor on a succeeded, a failed and an unknown query. The failure and
//! long-running paths come from the endpoint's Athena patch (scripts/moto_patches/athena.py):
//! `moto:FAILED` and `moto:RUNNING` in the query text. Then the Athena workflow of
//! ../shared/corpus. Every test has resource names of its own.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use airtask_tests::{TempDir, airtask, airtask_bin, corpus_dir, endpoint};

use crate::flow::{Flow, workflow};

const OPERATOR: &str = "airflow.providers.amazon.aws.operators.athena.AthenaOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.athena.AthenaSensor";

async fn config() -> aws_config::SdkConfig {
    airtask_tests::aws_config_for(&endpoint(), None).await
}

async fn athena() -> aws_sdk_athena::Client {
    aws_sdk_athena::Client::new(&config().await)
}

async fn create_bucket(name: &str) {
    let s3 = airtask_tests::s3_client(&config().await);
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("CreateBucket");
}

async fn query_execution(id: &str) -> aws_sdk_athena::types::QueryExecution {
    athena()
        .await
        .get_query_execution()
        .query_execution_id(id)
        .send()
        .await
        .expect("GetQueryExecution")
        .query_execution
        .expect("QueryExecution")
}

fn state_of(q: &aws_sdk_athena::types::QueryExecution) -> String {
    q.status()
        .and_then(|s| s.state())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn athena_operator_runs_a_query_and_the_sensor_sees_it_succeed() {
    create_bucket("athenat-ok").await;
    let tasks = [
        (
            "query",
            OPERATOR,
            "query: SELECT 1 AS athenat_ok\ndatabase: athenat_db\noutput_location: s3://athenat-ok/results/\nclient_request_token: athenat-ok-token-0123456789abcdef0123\nresult_configuration: {EncryptionConfiguration: {EncryptionOption: SSE_S3}}\nsleep_time: 0.2".to_owned(),
        ),
        (
            "sense",
            SENSOR,
            "query_execution_id: \"{{ ti.xcom_pull(task_ids='query') }}\"\nsleep_time: 0.2\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("athenat_ok", &tasks);
    let run = flow.expect("query", 0);
    let id = run
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no QueryExecutionId XCom:\n{}", run.log))
        .to_owned();
    assert!(
        run.log.contains(&format!("Query execution id: {id}")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Running Query with params:"),
        "{}",
        run.log
    );
    // What the operator sent: the query, its context (database, default catalog), the result
    // configuration (output location and encryption) and the default workgroup.
    let q = query_execution(&id).await;
    assert_eq!(q.query(), Some("SELECT 1 AS athenat_ok"));
    assert_eq!(state_of(&q), "SUCCEEDED");
    let ctx = q.query_execution_context().expect("context");
    assert_eq!(ctx.database(), Some("athenat_db"));
    assert_eq!(ctx.catalog(), Some("AwsDataCatalog"));
    let rc = q.result_configuration().expect("result configuration");
    assert_eq!(
        rc.output_location(),
        Some(format!("s3://athenat-ok/results/{id}.csv").as_str())
    );
    assert_eq!(
        rc.encryption_configuration()
            .map(|e| e.encryption_option().as_str()),
        Some("SSE_S3")
    );
    assert_eq!(q.work_group(), Some("primary"));

    let sensed = flow.expect("sense", 0);
    assert!(
        sensed.log.contains("Success criteria met"),
        "{}",
        sensed.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_athena_query_fails_the_task_and_the_sensor_with_its_reason() {
    let tasks = [
        (
            "query",
            OPERATOR,
            "query: SELECT 'moto:FAILED' AS athenat_fail\noutput_location: s3://athenat-fail/out/\nsleep_time: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("athenat_fail", &tasks);
    let run = flow.expect("query", 1);
    let err = run.error();
    assert!(
        err.contains("Final state of Athena job is FAILED")
            && err.contains("moto: query failed (moto:FAILED in the query)"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
    let id = run
        .log
        .split("Query execution id: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .map(|s| s.trim_end_matches(',').to_owned())
        .unwrap_or_else(|| panic!("no query id logged:\n{}", run.log));
    assert_eq!(state_of(&query_execution(&id).await), "FAILED");

    // The sensor on that query fails with the state and the reason.
    let sensor_wf = workflow(
        "athenat_fail_sense",
        &[(
            "sense",
            SENSOR,
            format!("query_execution_id: {id}\nsleep_time: 0.2\npoke_interval: 0.2"),
        )],
    );
    let dir = TempDir::new("athenat_fail_sense");
    let wf = dir.write("wf.yaml", sensor_wf);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let out = airtask(&[
        "run-task",
        &wf,
        "sense",
        "--state-dir",
        &state,
        "--run-id",
        "r1",
        "--output",
        "json",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let record = airtask_tests::last_json_line(&stdout).unwrap_or_default();
    let err = record["error"].as_str().unwrap_or_default();
    assert!(
        err.contains("Athena sensor failed") && err.contains("ended FAILED"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_athena_sensor_fails_at_once_on_an_unknown_query() {
    let flow = Flow::new(
        "athenat_unknown",
        &[(
            "sense",
            SENSOR,
            "query_execution_id: athenat-no-such-query\npoke_interval: 0.2\nsleep_time: 0.2\nretries: 2\nretry_delay: 0".to_owned(),
        )],
    );
    let run = flow.expect("sense", 1);
    let err = run.error();
    assert!(
        err.contains("InvalidRequestException")
            && err.contains("QueryExecution athenat-no-such-query was not found"),
        "{}",
        run.log
    );
    // Not found is not retried: one try, with retries allowed.
    assert_eq!(run.record["try"], 1, "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn an_athena_query_that_runs_past_max_polling_attempts_fails_the_task() {
    let flow = Flow::new(
        "athenat_polls",
        &[(
            "query",
            OPERATOR,
            "query: SELECT 'moto:RUNNING' AS athenat_polls\nsleep_time: 0.2\nmax_polling_attempts: 3".to_owned(),
        )],
    );
    let run = flow.expect("query", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 3 attempts"),
        "{}",
        run.log
    );
    assert_eq!(run.log.matches("RUNNING (poll ").count(), 2, "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_during_an_athena_query_stops_the_query() {
    let flow = Flow::new(
        "athenat_kill",
        &[(
            "query",
            OPERATOR,
            "query: SELECT 'moto:RUNNING' AS athenat_kill\nsleep_time: 0.5".to_owned(),
        )],
    );
    let mut child = Command::new(airtask_bin())
        .args(flow.args("query"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("run-task");
    let mut seen = Vec::new();
    let mut id = None;
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let found = line
            .split("Query execution id: ")
            .nth(1)
            .map(|s| s.trim().to_owned());
        seen.push(line);
        if let Some(found) = found {
            id = Some(found);
            break;
        }
    }
    let id = id.unwrap_or_else(|| panic!("no query started:\n{}", seen.join("\n")));
    // Wait for the first poll's line, so the query is being waited for when the signal comes.
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let polled = line.contains("RUNNING (poll 1");
        seen.push(line);
        if polled {
            break;
        }
    }
    airtask_tests::terminate(&child);
    seen.extend(lines.map_while(Result::ok));
    let code = child.wait().expect("wait").code();
    let log = seen.join("\n");
    assert_eq!(code, Some(4), "{log}");
    assert!(log.contains("Received a kill signal."), "{log}");
    assert!(
        log.contains(&format!("Query execution id: {id}, state: CANCELLED")),
        "{log}"
    );
    assert_eq!(state_of(&query_execution(&id).await), "CANCELLED");
}

#[tokio::test(flavor = "current_thread")]
async fn the_athena_corpus_workflow_validates_and_its_mapped_queries_run() {
    let file = corpus_dir().join("converter-upstream/aws_athena_queries.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = airtask(&["validate", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = TempDir::new("athenat-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let mut ids = Vec::new();
    for index in ["0", "1", "2"] {
        let out = airtask(&[
            "run-task",
            &file_s,
            "run_athena_query",
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-01-02",
            "--map-index",
            index,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let xcom = std::fs::read_to_string(dir.path().join(format!(
            "state/aws_athena_queries/r1/run_athena_query/{index}/xcom/return_value.json"
        )))
        .expect("the query's XCom");
        let id: String = serde_json::from_str(&xcom).expect("a JSON string");
        ids.push(id);
    }
    let q = query_execution(&ids[1]).await;
    assert_eq!(
        q.query(),
        Some("SELECT * FROM customers WHERE signup_date > '2023-01-01'")
    );
    assert_eq!(
        q.query_execution_context().and_then(|c| c.database()),
        Some("analytics")
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3, "one query per mapped instance");
}
