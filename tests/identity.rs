//! `airtask whoami`: the role chain, against the local endpoint.

use airtask_tests::{TempDir, airtask_json, endpoint};

async fn create_role(name: &str) -> String {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role");
    out.role().expect("role").arn().to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn whoami_shows_each_layer_with_a_session_name_that_names_the_task() {
    let exec = create_role("airtask-e2e-whoami-exec").await;
    let task_role = create_role("airtask-e2e-whoami-task").await;
    let dir = TempDir::new("whoami");
    let wf = dir.write(
        "wf.yaml",
        format!(
            "etl:\n  tasks:\n    load:\n      operator: airflow.operators.empty.EmptyOperator\n      task_iam_role_arn: {task_role}\n    plain:\n      operator: airflow.operators.empty.EmptyOperator\n"
        ),
    );
    let v = airtask_json(&[
        "whoami",
        &wf,
        "load",
        "--execution-role-arn",
        &exec,
        "--try",
        "2",
        "--format",
        "json",
    ]);
    assert!(v["base"].as_str().unwrap().starts_with("arn:aws:"), "{v}");
    assert_eq!(
        v["execution_role"],
        "arn:aws:sts::123456789012:assumed-role/airtask-e2e-whoami-exec/airtask.etl.load.try2"
    );
    assert_eq!(
        v["task_role"],
        "arn:aws:sts::123456789012:assumed-role/airtask-e2e-whoami-task/airtask.etl.load.try2"
    );
    // A task without its own role, and no execution role: the base layer only.
    let v = airtask_json(&["whoami", &wf, "plain", "--format", "json"]);
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
}

#[test]
fn run_task_refuses_a_task_role_it_cannot_take_on_yet() {
    let dir = TempDir::new("whoami-refuse");
    let wf = dir.write(
        "wf.yaml",
        "etl:\n  tasks:\n    load:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo should-not-run\n      task_iam_role_arn: arn:aws:iam::123456789012:role/narrow\n",
    );
    let state = dir.path().join("state");
    let out = airtask_tests::airtask(&[
        "run-task",
        &wf,
        "load",
        "--state-dir",
        &state.to_string_lossy(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("should-not-run"));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("refusing to run it with broader credentials")
    );
}
