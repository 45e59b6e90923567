//! Definitions read from S3 on the local endpoint, pinned by version id.

use airtask_tests::{airtask_expect, airtask_json, endpoint};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};

const EMPTY_OP: &str = "airflow.providers.standard.operators.empty.EmptyOperator";

async fn client() -> aws_sdk_s3::Client {
    airtask_tests::s3_client(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

fn definition(tasks: &[&str]) -> String {
    let mut text = String::from("versioned_wf:\n  schedule: None\n  tasks:\n");
    for t in tasks {
        text.push_str(&format!("    {t}:\n      operator: {EMPTY_OP}\n"));
    }
    text
}

async fn put(client: &aws_sdk_s3::Client, bucket: &str, key: &str, body: String) -> String {
    client
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.into_bytes()))
        .send()
        .await
        .expect("put object")
        .version_id()
        .expect("a versioned bucket returns a version id")
        .to_owned()
}

fn task_ids(v: &serde_json::Value) -> Vec<String> {
    v["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t["task_id"].as_str().expect("task_id").to_owned())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn loads_a_pinned_version_after_a_newer_one_was_written() {
    let client = client().await;
    let bucket = "airtask-e2e-versioned-defs";
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    client
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    let key = "workflows/versioned_wf.yaml";
    let v1 = put(&client, bucket, key, definition(&["first"])).await;
    let v2 = put(&client, bucket, key, definition(&["first", "second"])).await;
    assert_ne!(v1, v2);

    let url = format!("s3://{bucket}/{key}");
    // The pinned old version, in both spellings.
    let pinned = format!("{url}?versionId={v1}");
    let tasks = |args: &[&str]| task_ids(&airtask_json(args));
    assert_eq!(tasks(&["tasks", "--format", "json", &pinned]), ["first"]);
    assert_eq!(
        tasks(&["tasks", "--format", "json", &url, "--version-id", &v1]),
        ["first"]
    );
    // Unpinned: the newest.
    assert_eq!(
        tasks(&["tasks", "--format", "json", &url]),
        ["first", "second"]
    );
    airtask_expect(&["validate", &pinned], 0);

    // A version that does not exist, a key that does not exist, a bucket that does not exist.
    let missing_version = format!("{url}?versionId=nosuchversion0000000000000000000");
    let stdout = airtask_expect(&["validate", &missing_version], 1);
    assert!(stdout.contains("has no such version"), "{stdout}");
    let stdout = airtask_expect(&["validate", &format!("s3://{bucket}/missing.yaml")], 1);
    assert!(
        stdout.contains(&format!("there is no object at s3://{bucket}/missing.yaml")),
        "{stdout}"
    );
    let stdout = airtask_expect(&["validate", "s3://airtask-e2e-no-such-bucket/x.yaml"], 1);
    assert!(stdout.contains("does not exist"), "{stdout}");

    // An oversized object is refused without being parsed.
    let big = format!(
        "{}  description: '{}'\n",
        definition(&["x"]),
        "y".repeat(60_000)
    );
    put(&client, bucket, "big.yaml", big).await;
    let stdout = airtask_expect(&["validate", &format!("s3://{bucket}/big.yaml")], 1);
    assert!(stdout.contains("at most 51200 bytes"), "{stdout}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_keeps_its_state_in_an_s3_store() {
    let client = client().await;
    let bucket = "airtask-e2e-state-store";
    client
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    let dir = airtask_tests::TempDir::new("s3-store");
    let wf = dir.write(
        "wf.yaml",
        "store_wf:\n  tasks:\n    produce:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo from-s3\n    consume:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: \"echo got {{ ti.xcom_pull(task_ids='produce') }}\"\n      dependencies: [produce]\n",
    );
    let store = format!("s3://{bucket}/state");
    let local = dir.path().join("local");
    let local = local.to_string_lossy();
    let stdout = airtask_expect(
        &[
            "run",
            &wf,
            "--run-id",
            "r1",
            "--store",
            &store,
            "--state-dir",
            &local,
        ],
        0,
    );
    assert!(stdout.contains("run r1 succeeded"), "{stdout}");
    let get = |key: String| {
        let client = client.clone();
        async move {
            let out = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .expect("object");
            String::from_utf8(out.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
        }
    };
    assert_eq!(
        get("state/store_wf/r1/produce/-1/xcom/return_value.json".into()).await,
        "\"from-s3\""
    );
    assert_eq!(
        get("state/store_wf/r1/consume/-1/xcom/return_value.json".into()).await,
        "\"got from-s3\""
    );
    let record: serde_json::Value =
        serde_json::from_str(&get("state/store_wf/r1/consume/-1/record.json".into()).await)
            .unwrap();
    assert_eq!(record["status"], "SUCCESS");
    // Nothing but task output went to the local directory.
    assert!(
        !dir.path()
            .join("local/store_wf/r1/produce/-1/xcom")
            .exists()
    );
    assert!(
        dir.path()
            .join("local/store_wf/r1/produce/-1/output.log")
            .exists()
    );
    // render reads upstream values from the store too.
    let v = airtask_json(&[
        "render", &wf, "consume", "--run-id", "r1", "--store", &store,
    ]);
    assert_eq!(v["bash_command"], "echo got from-s3");
}
