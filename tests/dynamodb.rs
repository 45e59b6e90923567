//! DynamoDBValueSensor through `airtask run-task` against the local endpoint: met when the
//! item's attribute holds the value (or one of a list; with a sort key), not met while the item
//! or the attribute is missing or holds another value (the sensor times out), and a missing
//! table fails the task. Then the corpus workflow's sensor task. Every test has its own table.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

use airtask_tests::{airtask, corpus_dir, endpoint};

use crate::flow::Flow;

const SENSOR: &str = "airflow.providers.amazon.aws.sensors.dynamodb.DynamoDBValueSensor";

async fn ddb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

/// Creates `table` with partition key `pk` (and sort key `sk` when asked), both strings.
async fn create_table(table: &str, sort: bool) {
    let mut req = ddb()
        .await
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute"),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .expect("key"),
        );
    if sort {
        req = req
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("sk")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .expect("attribute"),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("sk")
                    .key_type(KeyType::Range)
                    .build()
                    .expect("key"),
            );
    }
    req.send().await.expect("CreateTable");
}

async fn put(table: &str, item: &[(&str, AttributeValue)]) {
    let mut req = ddb().await.put_item().table_name(table);
    for (k, v) in item {
        req = req.item(*k, v.clone());
    }
    req.send().await.expect("PutItem");
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

#[tokio::test(flavor = "current_thread")]
async fn dynamodb_value_sensor_is_met_by_the_value_or_one_of_a_list() {
    create_table("ddbt-ok", false).await;
    create_table("ddbt-sorted", true).await;
    put("ddbt-ok", &[("pk", s("job-1")), ("status", s("complete"))]).await;
    put(
        "ddbt-sorted",
        &[("pk", s("job-2")), ("sk", s("2025")), ("status", s("done"))],
    )
    .await;
    let fast = "poke_interval: 0.2\ntimeout: 30";
    let flow = Flow::new(
        "ddbt_ok",
        &[
            (
                "one",
                SENSOR,
                format!(
                    "table_name: ddbt-ok\npartition_key_name: pk\npartition_key_value: job-1\nattribute_name: status\nattribute_value: complete\n{fast}"
                ),
            ),
            (
                "listed",
                SENSOR,
                format!(
                    "table_name: ddbt-sorted\npartition_key_name: pk\npartition_key_value: job-2\nsort_key_name: sk\nsort_key_value: '2025'\nattribute_name: status\nattribute_value: [complete, done]\n{fast}"
                ),
            ),
        ],
    );
    let run = flow.expect("one", 0);
    assert!(
        run.log
            .contains("Checking table ddbt-ok for item Partition Key: pk=job-1")
            && run.log.contains("Got: status = 'complete'")
            && run.log.contains("Success criteria met"),
        "{}",
        run.log
    );
    let run = flow.expect("listed", 0);
    assert!(run.log.contains("Sort Key: sk=2025"), "{}", run.log);
    assert!(run.log.contains("Success criteria met"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn dynamodb_value_sensor_waits_while_the_value_differs_and_fails_without_a_table() {
    create_table("ddbt-wait", false).await;
    put("ddbt-wait", &[("pk", s("other")), ("status", s("running"))]).await;
    put(
        "ddbt-wait",
        &[
            ("pk", s("numeric")),
            ("status", AttributeValue::N("5".into())),
        ],
    )
    .await;
    let wait = "poke_interval: 0.2\ntimeout: 1";
    let flow = Flow::new(
        "ddbt_wait",
        &[
            (
                "differs",
                SENSOR,
                format!(
                    "table_name: ddbt-wait\npartition_key_name: pk\npartition_key_value: other\nattribute_name: status\nattribute_value: complete\n{wait}"
                ),
            ),
            (
                "no_item",
                SENSOR,
                format!(
                    "table_name: ddbt-wait\npartition_key_name: pk\npartition_key_value: absent\nattribute_name: status\nattribute_value: complete\n{wait}\nsoft_fail: true"
                ),
            ),
            // A number never equals the string asked for (as in the provider).
            (
                "number",
                SENSOR,
                format!(
                    "table_name: ddbt-wait\npartition_key_name: pk\npartition_key_value: numeric\nattribute_name: status\nattribute_value: '5'\n{wait}"
                ),
            ),
            (
                "no_table",
                SENSOR,
                format!(
                    "table_name: ddbt-no-such-table\npartition_key_name: pk\npartition_key_value: a\nattribute_name: status\nattribute_value: x\n{wait}"
                ),
            ),
        ],
    );
    let run = flow.expect("differs", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    assert!(run.log.contains("Got: status = 'running'"), "{}", run.log);
    let run = flow.expect("no_item", 0);
    assert_eq!(run.record["status"], "SKIPPED", "{}", run.log);
    let run = flow.expect("number", 1);
    assert!(
        run.log.contains("Got: status = Decimal('5')"),
        "{}",
        run.log
    );
    let run = flow.expect("no_table", 1);
    assert!(
        run.error()
            .contains("GetItem from DynamoDB table ddbt-no-such-table")
            && run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_dynamodb_corpus_sensor_task_runs_on_its_table() {
    // The corpus workflow creates its table through CloudFormation; here the sensor task runs
    // alone against the table the stack would create (tests/cloudformation.rs runs the whole
    // workflow on an endpoint of its own).
    let file = corpus_dir().join("aws-samples/dynamodb_dag.yaml");
    let text = std::fs::read_to_string(&file).expect("the corpus file");
    let start = text.find("    wait_for_value:").expect("the sensor task");
    let end = text[start..]
        .find("    delete_dynamodb_stack:")
        .map_or(text.len(), |e| start + e);
    let task: String = text[start..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("- wait_for") && !l.contains("dependencies:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let dir = airtask_tests::TempDir::new("ddbt-corpus");
    let wf = dir.write(
        "dynamodb_dag.yaml",
        format!("dynamodb_dag:\n  schedule: None\n  tasks:\n{task}      poke_interval: 0.2\n"),
    );
    create_table("mwaa-test-table", false).await;
    put(
        "mwaa-test-table",
        &[("pk", s("test-key")), ("status", s("complete"))],
    )
    .await;
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let out = airtask(&[
        "run-task",
        &wf,
        "wait_for_value",
        "--state-dir",
        &state,
        "--run-id",
        "r1",
    ]);
    let log = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(log.contains("Success criteria met"), "{log}");
}
