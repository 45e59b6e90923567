//! The CloudFormation operators and sensors through `airtask run-task` against the local
//! endpoint: a stack created and deleted with what was sent (parameters, tags, timeout, the
//! StackName of `cloudformation_parameters` over `stack_name`), a refused CreateStack (not
//! retried), the create sensor failing at ROLLBACK_COMPLETE and CREATE_FAILED (retried per
//! `retries`) and timing out at CREATE_IN_PROGRESS, the delete sensor failing at DELETE_FAILED
//! and timing out at DELETE_IN_PROGRESS, and `validate` on `cloudformation_parameters`. The
//! failure and long-running paths come from the endpoint's CloudFormation patch
//! (scripts/moto_patches/cloudformation.py): markers in the template's Description. Then the
//! corpus workflows the family unlocks, run end to end. Every test has stack names of its own.

use airtask_tests::{TempDir, airtask, corpus_dir, endpoint};

use crate::flow::{Flow, workflow};

const CREATE: &str =
    "airflow.providers.amazon.aws.operators.cloud_formation.CloudFormationCreateStackOperator";
const DELETE: &str =
    "airflow.providers.amazon.aws.operators.cloud_formation.CloudFormationDeleteStackOperator";
const CREATE_SENSOR: &str =
    "airflow.providers.amazon.aws.sensors.cloud_formation.CloudFormationCreateStackSensor";
const DELETE_SENSOR: &str =
    "airflow.providers.amazon.aws.sensors.cloud_formation.CloudFormationDeleteStackSensor";

async fn config() -> aws_config::SdkConfig {
    airtask_tests::aws_config_for(&endpoint(), None).await
}

async fn cfn() -> aws_sdk_cloudformation::Client {
    aws_sdk_cloudformation::Client::new(&config().await)
}

/// The stack named `name`, or `None` when DescribeStacks says it does not exist.
async fn stack(name: &str) -> Option<aws_sdk_cloudformation::types::Stack> {
    match cfn().await.describe_stacks().stack_name(name).send().await {
        Ok(out) => out.stacks().first().cloned(),
        Err(e) => {
            let text = format!("{:?}", e.into_service_error());
            assert!(text.contains("does not exist"), "{text}");
            None
        }
    }
}

fn status(s: &aws_sdk_cloudformation::types::Stack) -> &str {
    s.stack_status().map_or("", |s| s.as_str())
}

/// A one-queue template (a resource moto's CloudFormation builds) with `description`, where
/// the endpoint's patch finds its markers.
fn template(description: &str) -> String {
    format!(
        "'{{\"Description\": \"{description}\", \"Resources\": {{\"Queue\": {{\"Type\": \
         \"AWS::SQS::Queue\"}}}}}}'"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_stack_is_created_and_deleted_and_the_sensors_see_both() {
    let body = "'{\"Parameters\": {\"QueueName\": {\"Type\": \"String\"}}, \"Resources\": \
                {\"Queue\": {\"Type\": \"AWS::SQS::Queue\", \"Properties\": {\"QueueName\": \
                {\"Ref\": \"QueueName\"}}}}, \"Outputs\": {\"QueueUrl\": {\"Value\": {\"Ref\": \
                \"Queue\"}}}}'";
    let tasks = [
        (
            "create",
            CREATE,
            format!(
                "stack_name: cfnt-ok\ncloudformation_parameters:\n  TemplateBody: {body}\n  \
                 Parameters:\n  - {{ParameterKey: QueueName, ParameterValue: cfnt-ok-secret-queue}}\n  \
                 Tags:\n  - {{Key: team, Value: data}}\n  TimeoutInMinutes: 5\n  OnFailure: DELETE"
            ),
        ),
        (
            "wait_create",
            CREATE_SENSOR,
            "stack_name: cfnt-ok\npoke_interval: 0.2".to_owned(),
        ),
        ("delete", DELETE, "stack_name: cfnt-ok".to_owned()),
        (
            "wait_delete",
            DELETE_SENSOR,
            "stack_name: cfnt-ok\npoke_interval: 0.2".to_owned(),
        ),
        (
            "named_by_parameters",
            CREATE,
            format!(
                "stack_name: cfnt-ignored\ncloudformation_parameters:\n  StackName: \
                 cfnt-override\n  TemplateBody: {}",
                template("override")
            ),
        ),
        (
            "never_created",
            DELETE_SENSOR,
            "stack_name: cfnt-never-created\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("cfnt_ok", &tasks);
    let created = flow.expect("create", 0);
    assert_eq!(created.xcom, None, "the provider pushes no XCom");
    // The provider's log line, with the parameter values masked.
    assert!(
        created.log.contains("CloudFormation parameters: {")
            && created.log.contains("\"ParameterValue\":\"***\"")
            && !created.log.contains("cfnt-ok-secret-queue"),
        "{}",
        created.log
    );
    let s = stack("cfnt-ok").await.expect("the stack");
    assert_eq!(status(&s), "CREATE_COMPLETE");
    assert_eq!(s.timeout_in_minutes(), Some(5));
    assert_eq!(
        s.tags()
            .iter()
            .map(|t| (t.key(), t.value()))
            .collect::<Vec<_>>(),
        [(Some("team"), Some("data"))]
    );
    assert_eq!(
        s.parameters()
            .iter()
            .map(|p| (p.parameter_key(), p.parameter_value()))
            .collect::<Vec<_>>(),
        [(Some("QueueName"), Some("cfnt-ok-secret-queue"))]
    );
    let sensed = flow.expect("wait_create", 0);
    assert!(
        sensed.log.contains("Poking for stack cfnt-ok")
            && sensed.log.contains("Success criteria met"),
        "{}",
        sensed.log
    );
    let deleted = flow.expect("delete", 0);
    assert_eq!(deleted.xcom, None);
    assert!(
        deleted.log.contains("CloudFormation Parameters: {}"),
        "{}",
        deleted.log
    );
    assert!(stack("cfnt-ok").await.is_none(), "the stack is gone");
    let sensed = flow.expect("wait_delete", 0);
    assert!(
        sensed.log.contains("Success criteria met after"),
        "{}",
        sensed.log
    );
    // StackName in cloudformation_parameters wins over stack_name (the provider's hook).
    flow.expect("named_by_parameters", 0);
    assert!(stack("cfnt-override").await.is_some());
    assert!(stack("cfnt-ignored").await.is_none());
    // A stack that never existed counts as deleted (the hook's status is None).
    flow.expect("never_created", 0);
}

#[test]
fn a_refused_create_stack_fails_the_task_without_another_try() {
    let params = format!(
        "stack_name: cfnt-twice\nretries: 2\nretry_delay: 0\ncloudformation_parameters:\n  \
         TemplateBody: {}",
        template("twice")
    );
    let tasks = [
        ("first", CREATE, params.clone()),
        ("second", CREATE, params),
    ];
    let flow = Flow::new("cfnt_twice", &tasks);
    flow.expect("first", 0);
    let r = flow.expect("second", 1);
    assert!(
        r.error()
            .starts_with("CreateStack cfnt-twice failed: AlreadyExistsException"),
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 1, "a refusal is not retried: {}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn the_create_sensor_fails_on_a_failed_stack_and_times_out_on_a_slow_one() {
    let create = |name: &str, marker: &str, extra: &str| {
        (
            format!("create_{name}"),
            CREATE,
            format!(
                "stack_name: cfnt-{name}\ncloudformation_parameters:\n  TemplateBody: {}{extra}",
                template(marker)
            ),
        )
    };
    let sense = |name: &str, extra: &str| {
        (
            format!("wait_{name}"),
            CREATE_SENSOR,
            format!("stack_name: cfnt-{name}\npoke_interval: 0.5{extra}"),
        )
    };
    let owned = [
        create("rollback", "moto:CREATE_FAILED", ""),
        sense("rollback", "\nretries: 1\nretry_delay: 0"),
        create("nothing", "moto:CREATE_FAILED", "\n  OnFailure: DO_NOTHING"),
        sense("nothing", ""),
        create("slow", "moto:CREATE_IN_PROGRESS", ""),
        sense("slow", "\ntimeout: 2\nretries: 1\nretry_delay: 0"),
        create("dropped", "moto:CREATE_FAILED", "\n  OnFailure: DELETE"),
        sense("dropped", "\ntimeout: 1"),
    ];
    let tasks: Vec<(&str, &str, String)> = owned
        .iter()
        .map(|(t, o, p)| (t.as_str(), *o, p.clone()))
        .collect();
    let flow = Flow::new("cfnt_create_fail", &tasks);
    for name in ["rollback", "nothing", "slow", "dropped"] {
        let r = flow.expect(&format!("create_{name}"), 0);
        assert_eq!(r.xcom, None);
    }
    // ROLLBACK (the default OnFailure): the stack ends ROLLBACK_COMPLETE; the poke's failure
    // is the provider's ValueError, retried per `retries`.
    let r = flow.expect("wait_rollback", 1);
    assert_eq!(
        r.error(),
        "Stack cfnt-rollback in bad state: ROLLBACK_COMPLETE (moto: the stack's creation \
         failed (moto:CREATE_FAILED in the Description))",
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 2, "{}", r.log);
    assert_eq!(
        status(&stack("cfnt-rollback").await.expect("stack")),
        "ROLLBACK_COMPLETE"
    );
    let r = flow.expect("wait_nothing", 1);
    assert!(
        r.error()
            .starts_with("Stack cfnt-nothing in bad state: CREATE_FAILED"),
        "{}",
        r.log
    );
    // Still CREATE_IN_PROGRESS when the timeout comes: not retried.
    let r = flow.expect("wait_slow", 1);
    assert!(r.error().starts_with("Sensor has timed out"), "{}", r.log);
    assert_eq!(r.record["try"], 1, "a sensor timeout is not retried");
    // OnFailure DELETE removes the stack; the provider's sensor reads "does not exist" as "not
    // created yet" and waits until its timeout.
    assert!(stack("cfnt-dropped").await.is_none());
    let r = flow.expect("wait_dropped", 1);
    assert!(r.error().starts_with("Sensor has timed out"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn the_delete_sensor_fails_on_delete_failed_and_times_out_while_deleting() {
    let tasks = [
        (
            "create_stuck",
            CREATE,
            format!(
                "stack_name: cfnt-stuck\ncloudformation_parameters:\n  TemplateBody: {}",
                template("moto:DELETE_FAILED")
            ),
        ),
        ("delete_stuck", DELETE, "stack_name: cfnt-stuck".to_owned()),
        (
            "wait_stuck",
            DELETE_SENSOR,
            "stack_name: cfnt-stuck\npoke_interval: 0.5".to_owned(),
        ),
        (
            "create_deleting",
            CREATE,
            format!(
                "stack_name: cfnt-deleting\ncloudformation_parameters:\n  TemplateBody: {}",
                template("moto:DELETE_IN_PROGRESS")
            ),
        ),
        (
            "delete_deleting",
            DELETE,
            "stack_name: cfnt-deleting\ncloudformation_parameters: {RetainResources: [], \
             DeletionMode: STANDARD}"
                .to_owned(),
        ),
        (
            "wait_deleting",
            DELETE_SENSOR,
            "stack_name: cfnt-deleting\npoke_interval: 0.5\ntimeout: 2".to_owned(),
        ),
    ];
    let flow = Flow::new("cfnt_delete_fail", &tasks);
    flow.expect("create_stuck", 0);
    flow.expect("delete_stuck", 0);
    assert_eq!(
        status(&stack("cfnt-stuck").await.expect("still there")),
        "DELETE_FAILED"
    );
    let r = flow.expect("wait_stuck", 1);
    assert_eq!(
        r.error(),
        "Stack cfnt-stuck in bad state: DELETE_FAILED (moto: the stack's deletion failed \
         (moto:DELETE_FAILED in the Description))",
        "{}",
        r.log
    );
    flow.expect("create_deleting", 0);
    let r = flow.expect("delete_deleting", 0);
    assert!(r.log.contains("\"DeletionMode\":\"STANDARD\""), "{}", r.log);
    let r = flow.expect("wait_deleting", 1);
    assert!(r.error().starts_with("Sensor has timed out"), "{}", r.log);
    assert!(
        r.log.contains("criteria not met"),
        "it poked while DELETE_IN_PROGRESS: {}",
        r.log
    );
}

#[test]
fn validate_checks_cloudformation_parameters_down_to_their_keys() {
    let dir = TempDir::new("cfnt-validate");
    let wf = dir.write(
        "cfnt_validate.yaml",
        workflow(
            "cfnt_validate",
            &[
                (
                    "create",
                    CREATE,
                    "stack_name: s\ncloudformation_parameters:\n  TemplateBdy: x".to_owned(),
                ),
                (
                    "templated",
                    CREATE,
                    "stack_name: '{{ params.s }}'\ncloudformation_parameters:\n  StackName: \
                     '{{ params.s }}'\n  TimeoutInMinutes: '{{ params.t }}'\n  TemplateBody: x"
                        .to_owned(),
                ),
                (
                    "delete",
                    DELETE,
                    "stack_name: s\ncloudformation_parameters: {DeletionMode: FAST}".to_owned(),
                ),
                (
                    "wait",
                    CREATE_SENSOR,
                    "stack_name: s\nwaiter_delay: 3".to_owned(),
                ),
            ],
        ),
    );
    let out = airtask(&["validate", &wf]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(
            "error: task 'create', key 'cloudformation_parameters': \
             CloudFormationCreateStackOperator parameter \
             `cloudformation_parameters.TemplateBdy`: `TemplateBdy` is not a setting"
        ) && text.contains("TemplateBody, TemplateURL, Parameters"),
        "{text}"
    );
    assert!(text.contains("STANDARD, FORCE_DELETE_STACK"), "{text}");
    assert!(
        text.contains("CloudFormationCreateStackSensor has no parameter `waiter_delay`"),
        "{text}"
    );
    assert!(!text.contains("task 'templated'"), "{text}");
    assert!(text.contains("3 errors"), "{text}");
}

// ---------------------------------------------------------------------------------------------
// The corpus workflows the family unlocks, end to end.

/// `airtask run` of a whole workflow file with `params`; returns its summary, asserting it
/// succeeded.
fn run_whole(file: &str, params: &str, state: &std::path::Path) -> String {
    let out = airtask(&[
        "run",
        file,
        "--run-id",
        "r1",
        "--params",
        params,
        "--state-dir",
        &state.to_string_lossy(),
        "--parallelism",
        "2",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{file}:\n{text}");
    assert!(text.contains("run r1 succeeded"), "{text}");
    text
}

/// The state `airtask run` reported last for `task`.
fn state_of(summary: &str, task: &str) -> String {
    summary
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned()
}

fn validates(rel: &str) -> String {
    let file = corpus_dir().join(rel).to_string_lossy().into_owned();
    let out = airtask(&["validate", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{rel}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

#[tokio::test(flavor = "current_thread")]
async fn the_stack_only_corpus_workflows_run_end_to_end() {
    // cloudformation_dag and dms_dag (whose DMS resources moto's CloudFormation skips) take
    // the stack name as a run parameter; example_cloudformation names its own stack.
    for (rel, params, stack_name, tasks) in [
        (
            "aws-samples/cloudformation_dag.yaml",
            r#"{"stack_name": "cfnt-corpus-sample"}"#,
            "cfnt-corpus-sample",
            &[
                "create_stack",
                "wait_for_create",
                "delete_stack",
                "wait_for_delete",
            ][..],
        ),
        (
            "aws-samples/dms_dag.yaml",
            r#"{"stack_name": "cfnt-corpus-dms"}"#,
            "cfnt-corpus-dms",
            &[
                "create_dms_stack",
                "wait_for_dms_stack",
                "delete_dms_stack",
                "wait_for_dms_delete",
            ][..],
        ),
        (
            "converter-upstream/example_cloudformation.yaml",
            "{}",
            "test-stack",
            &[
                "create_stack",
                "wait_for_stack_create",
                "delete_stack",
                "wait_for_stack_delete",
            ][..],
        ),
    ] {
        let file = validates(rel);
        let dir = TempDir::new("cfnt-corpus");
        let summary = run_whole(&file, params, &dir.path().join("state"));
        for task in tasks {
            assert_eq!(
                state_of(&summary, task),
                "success",
                "{rel} {task}:\n{summary}"
            );
        }
        assert!(stack(stack_name).await.is_none(), "{rel}: deleted");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_lambda_corpus_workflow_runs_end_to_end_through_its_stack() {
    // The stack makes the function's role and the function (moto's simple Lambda backend
    // echoes the payload); the run parameters give both names of this test's own.
    let file = validates("aws-samples/lambda_dag.yaml");
    let dir = TempDir::new("cfnt-corpus-lambda");
    let summary = run_whole(
        &file,
        r#"{"stack_name": "cfnt-corpus-lambda", "function_name": "cfnt-corpus-fn"}"#,
        &dir.path().join("state"),
    );
    for task in [
        "create_lambda_stack",
        "wait_for_lambda_stack",
        "invoke_function",
        "delete_lambda_stack",
        "wait_for_lambda_delete",
    ] {
        assert_eq!(state_of(&summary, task), "success", "{task}:\n{summary}");
    }
    let payload = std::fs::read_to_string(
        dir.path()
            .join("state/lambda_dag/r1/invoke_function/-1/xcom/return_value.json"),
    )
    .expect("the invoke task's XCom");
    assert_eq!(
        payload,
        serde_json::json!("{\"action\": \"test\"}").to_string()
    );
    assert!(stack("cfnt-corpus-lambda").await.is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn the_dynamodb_corpus_workflow_runs_with_the_table_its_stack_makes() {
    // The stack makes the table `mwaa-test-table`, a name fixed in the file: an endpoint of
    // this test's own keeps it from the DynamoDB tests' table of the same name. The value the
    // sensor waits for is written once the stack is there, as the workflow expects.
    let own = airtask_tests::OwnEndpoint::start("cfnt-ddb", &[]);
    let file = validates("aws-samples/dynamodb_dag.yaml");
    let dir = TempDir::new("cfnt-corpus-ddb");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let run = |task: &str| {
        let out = std::process::Command::new(airtask_tests::airtask_bin())
            .args([
                "run-task",
                &file,
                task,
                "--state-dir",
                &state,
                "--run-id",
                "r1",
                "--params",
                r#"{"stack_name": "cfnt-corpus-ddb"}"#,
            ])
            .env("AWS_ENDPOINT_URL", &own.url)
            .output()
            .expect("run airtask");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{task}:\n{text}");
        text
    };
    run("create_dynamodb_stack");
    run("wait_for_dynamodb_stack");
    let ddb = aws_sdk_dynamodb::Client::new(&airtask_tests::aws_config_for(&own.url, None).await);
    ddb.put_item()
        .table_name("mwaa-test-table")
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("test-key".into()),
        )
        .item(
            "status",
            aws_sdk_dynamodb::types::AttributeValue::S("complete".into()),
        )
        .send()
        .await
        .expect("PutItem into the stack's table");
    let sensed = run("wait_for_value");
    assert!(sensed.contains("Success criteria met"), "{sensed}");
    run("delete_dynamodb_stack");
    run("wait_for_dynamodb_delete");
    let tables = ddb.list_tables().send().await.expect("ListTables");
    assert!(
        !tables.table_names().iter().any(|t| t == "mwaa-test-table"),
        "the stack's deletion removed its table"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_athena_and_redshift_corpus_workflows_run_end_to_end() {
    // athena_dag's stack comes from a TemplateURL, which moto reads from its own S3: the test
    // puts a template there (the real one builds a Glue catalog of public COVID-19 data; the
    // queries here run on moto's Athena, which answers any query), and a results bucket for
    // the run parameter `output_location`. redshift_dag's stack is of Redshift Serverless
    // resources (moto's CloudFormation passes over them); its query runs on the Data API.
    let s3 = airtask_tests::s3_client(&config().await);
    for bucket in ["covid19-lake", "cfnt-athena-results"] {
        s3.create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("CreateBucket");
    }
    s3.put_object()
        .bucket("covid19-lake")
        .key("cfn/CovidLakeStack.template.json")
        .body(
            template("cfnt covid lake")
                .trim_matches('\'')
                .as_bytes()
                .to_vec()
                .into(),
        )
        .send()
        .await
        .expect("PutObject of the template");
    let file = validates("aws-samples/athena_dag.yaml");
    let dir = TempDir::new("cfnt-corpus-athena");
    let summary = run_whole(
        &file,
        r#"{"output_location": "s3://cfnt-athena-results/athena-results/"}"#,
        &dir.path().join("state"),
    );
    for task in [
        "create_stack",
        "wait_for_stack_create",
        "query_1",
        "query_2",
        "query_3",
        "delete_stack",
        "wait_for_stack_delete",
    ] {
        assert_eq!(state_of(&summary, task), "success", "{task}:\n{summary}");
    }
    assert!(stack("covid-lake-stack").await.is_none());

    let file = validates("aws-samples/redshift_dag.yaml");
    let dir = TempDir::new("cfnt-corpus-redshift");
    let summary = run_whole(
        &file,
        r#"{"stack_name": "cfnt-corpus-redshift"}"#,
        &dir.path().join("state"),
    );
    for task in [
        "create_redshift_stack",
        "wait_for_redshift_stack",
        "run_query",
        "delete_redshift_stack",
        "wait_for_redshift_delete",
    ] {
        assert_eq!(state_of(&summary, task), "success", "{task}:\n{summary}");
    }
    let id = std::fs::read_to_string(
        dir.path()
            .join("state/redshift_dag/r1/run_query/-1/xcom/return_value.json"),
    )
    .expect("the statement id");
    assert!(id.len() > 10, "{id}");
}
