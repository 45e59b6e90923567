//! The Redshift operators through `airtask run-task` against the local endpoint.
//! RedshiftDataOperator: one statement and a batch with their XCom (statement ids, or the SQL
//! results), a session opened by one task and reused by the next, a FAILED statement with its
//! Error, SIGTERM during a statement (on_kill cancels it), `wait_for_completion: false`, and
//! the parameter checks. The finish, failure, batch and session paths come from the endpoint's
//! Redshift Data patch (scripts/moto_patches/redshiftdata.py): `moto:FAILED` and `moto:RUNNING`
//! in the SQL. Every test has resource names of its own.

use airtask_tests::{TempDir, airtask, endpoint};
use serde_json::json;

use crate::flow::{Flow, workflow};

const DATA: &str = "airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator";

async fn rsd() -> aws_sdk_redshiftdata::Client {
    aws_sdk_redshiftdata::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

async fn describe(
    id: &str,
) -> aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput {
    rsd()
        .await
        .describe_statement()
        .id(id)
        .send()
        .await
        .expect("DescribeStatement")
}

fn status(
    d: &aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput,
) -> String {
    d.status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn redshift_data_runs_a_statement_and_returns_its_id_or_its_result() {
    let base = "cluster_identifier: rst-cluster\ndatabase: dev\ndb_user: admin\npoll_interval: 0.2";
    let flow = Flow::new(
        "rst_data_ok",
        &[
            (
                "ids",
                DATA,
                format!("sql: SELECT 1 AS rst_ids\nstatement_name: rst-ids\n{base}"),
            ),
            (
                "rows",
                DATA,
                format!("sql: SELECT * FROM rst_rows\nreturn_sql_result: true\n{base}"),
            ),
        ],
    );
    let run = flow.expect("ids", 0);
    let ids = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let id = ids[0]
        .as_str()
        .unwrap_or_else(|| panic!("{ids}"))
        .to_owned();
    assert_eq!(ids.as_array().map(Vec::len), Some(1), "{ids}");
    // It polled (the statement is STARTED at the first read) until FINISHED.
    assert!(
        run.log.contains(&format!("Polling statement {id}")),
        "{}",
        run.log
    );
    assert!(run.log.contains("Query status: STARTED"), "{}", run.log);
    assert!(run.log.contains("Processed 3 rows"), "{}", run.log);
    let d = describe(&id).await;
    assert_eq!(status(&d), "FINISHED");
    assert_eq!(d.query_string(), Some("SELECT 1 AS rst_ids"));
    assert_eq!(d.cluster_identifier(), Some("rst-cluster"));
    assert_eq!(d.database(), Some("dev"));
    assert_eq!(d.db_user(), Some("admin"));
    // No session was asked for: no session_id XCom.
    assert_eq!(flow.xcom("ids", "session_id"), None);

    let run = flow.expect("rows", 0);
    let results = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(results.as_array().map(Vec::len), Some(1), "{results}");
    assert_eq!(results[0]["TotalNumRows"], 3, "{results}");
    assert_eq!(
        results[0]["Records"][0],
        json!([{"longValue": 10}, {"stringValue": "Alpha st"}, {"stringValue": "Vancouver"}]),
        "{results}"
    );
    assert_eq!(
        results[0]["ColumnMetadata"][1]["name"], "Street",
        "{results}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_redshift_data_batch_opens_a_session_that_the_next_task_reuses() {
    let flow = Flow::new(
        "rst_session",
        &[
            (
                "open",
                DATA,
                "workgroup_name: rst-wg\ndatabase: dev\nsession_keep_alive_seconds: 600\npoll_interval: 0.2\nsql:\n  - CREATE TEMPORARY TABLE rst_people (id INTEGER)\n  - INSERT INTO rst_people VALUES (1)".to_owned(),
            ),
            (
                "reuse",
                DATA,
                "session_id: \"{{ task_instance.xcom_pull(task_ids='open', key='session_id') }}\"\npoll_interval: 0.2\nsql:\n  - INSERT INTO rst_people VALUES (2)".to_owned(),
            ),
        ],
    );
    let run = flow.expect("open", 0);
    let ids = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let ids: Vec<String> = ids
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().expect("an id").to_owned())
        .collect();
    // The batch's sub-statements, in order.
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids[0].ends_with(":1") && ids[1].ends_with(":2"), "{ids:?}");
    let session = flow
        .xcom("open", "session_id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no session_id XCom:\n{}", run.log));

    let run = flow.expect("reuse", 0);
    let ids = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let parent = ids[0]
        .as_str()
        .expect("an id")
        .split(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let d = describe(&parent).await;
    assert_eq!(d.session_id(), Some(session.as_str()));
    assert_eq!(
        d.workgroup_name(),
        Some("rst-wg"),
        "the session's workgroup"
    );
    assert_eq!(d.query_string(), Some("INSERT INTO rst_people VALUES (2)"));
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_redshift_statement_fails_the_task_with_its_error() {
    let flow = Flow::new(
        "rst_fail",
        &[(
            "fails",
            DATA,
            "cluster_identifier: rst-fail\ndatabase: dev\nsql: SELECT 'moto:FAILED' AS rst_fail\npoll_interval: 0.2".to_owned(),
        )],
    );
    let run = flow.expect("fails", 1);
    let err = run.error();
    assert!(
        err.contains("terminated with status FAILED")
            && err.contains("moto: statement failed (moto:FAILED in the SQL)"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_during_a_redshift_statement_cancels_it() {
    let flow = Flow::new(
        "rst_kill",
        &[(
            "runs",
            DATA,
            "cluster_identifier: rst-kill\ndatabase: dev\nsql: SELECT 'moto:RUNNING' AS rst_kill\npoll_interval: 0.5".to_owned(),
        )],
    );
    let started = flow.start_until("runs", |l| l.contains("Query status: STARTED"));
    let id = started
        .seen
        .iter()
        .find_map(|l| l.split("Polling statement ").nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("{}", started.seen.join("\n")));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains(&format!("Stopping Query with statementId - {id}")),
        "{log}"
    );
    assert_eq!(status(&describe(&id).await), "ABORTED");
}

#[tokio::test(flavor = "current_thread")]
async fn without_wait_for_completion_the_statement_id_comes_back_at_once() {
    let flow = Flow::new(
        "rst_nowait",
        &[(
            "starts",
            DATA,
            "cluster_identifier: rst-nowait\ndatabase: dev\nsql: SELECT 'moto:RUNNING' AS rst_nowait\nwait_for_completion: false".to_owned(),
        )],
    );
    let run = flow.expect("starts", 0);
    let id = run
        .xcom
        .as_ref()
        .and_then(|v| v[0].as_str())
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log))
        .to_owned();
    assert!(!run.log.contains("Polling statement"), "{}", run.log);
    assert_eq!(status(&describe(&id).await), "STARTED");
    rsd()
        .await
        .cancel_statement()
        .id(&id)
        .send()
        .await
        .expect("CancelStatement");
}

#[test]
fn redshift_data_parameters_are_checked_by_validate() {
    let dir = TempDir::new("rst-validate");
    let cases = [
        (
            "sql: SELECT 1\ndatabase: dev",
            "exactly one of cluster_identifier, workgroup_name or session_id",
        ),
        (
            "sql: SELECT 1\nsession_id: nope",
            "session_id must be a valid UUID4",
        ),
        ("cluster_identifier: c", "needs `sql`"),
        (
            "sql: SELECT 1\ncluster_identifier: c\nsession_keep_alive_seconds: 90000",
            "session_keep_alive_seconds",
        ),
    ];
    for (i, (params, expected)) in cases.iter().enumerate() {
        let wf = dir.write(
            &format!("wf{i}.yaml"),
            workflow(
                &format!("rst_validate_{i}"),
                &[("t", DATA, (*params).to_owned())],
            ),
        );
        let out = airtask(&["validate", &wf]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{params}: {text}");
        assert!(text.contains(expected), "{params}: {text}");
    }
}
