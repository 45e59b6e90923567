//! The OpenSearch Serverless collection sensor through `airtask run-task` against the local
//! endpoint: an ACTIVE collection by name and by id, a FAILED one (failure), one still
//! CREATING (timeout), and a deleted one (not found). FAILED and CREATING come from the
//! endpoint's patch (scripts/moto_patches/opensearchserverless.py): `moto-failed` and
//! `moto-creating` in the collection name. Every test has collections of its own.

use airtask_tests::endpoint;

use crate::flow::Flow;

const SENSOR: &str = "airflow.providers.amazon.aws.sensors.opensearch_serverless.OpenSearchServerlessCollectionActiveSensor";

async fn client() -> aws_sdk_opensearchserverless::Client {
    aws_sdk_opensearchserverless::Client::new(
        &airtask_tests::aws_config_for(&endpoint(), None).await,
    )
}

/// Creates the collection `name` (with the encryption policy it needs): its id.
async fn collection(name: &str) -> String {
    let aoss = client().await;
    aoss.create_security_policy()
        .name(format!("p-{name}").chars().take(32).collect::<String>())
        .r#type(aws_sdk_opensearchserverless::types::SecurityPolicyType::Encryption)
        .policy(format!(
            "{{\"Rules\":[{{\"ResourceType\":\"collection\",\"Resource\":[\"collection/{name}\"]}}],\
             \"AWSOwnedKey\":true,\"KmsARN\":\"arn:aws:kms:us-east-1:123456789012:key/k\"}}"
        ))
        .send()
        .await
        .expect("CreateSecurityPolicy");
    aoss.create_collection()
        .name(name)
        .send()
        .await
        .expect("CreateCollection")
        .create_collection_detail()
        .and_then(|d| d.id())
        .expect("collection id")
        .to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn the_sensor_is_met_by_an_active_collection_by_name_or_id() {
    let id = collection("aosst-active").await;
    let tasks = [
        (
            "by_name",
            SENSOR,
            "collection_name: aosst-active\npoke_interval: 0.2".to_owned(),
        ),
        (
            "by_id",
            SENSOR,
            format!("collection_id: {id}\npoke_interval: 0.2"),
        ),
    ];
    let flow = Flow::new("aosst_active", &tasks);
    let run = flow.expect("by_name", 0);
    assert!(run.log.contains("collection status: ACTIVE"), "{}", run.log);
    let run = flow.expect("by_id", 0);
    assert!(run.log.contains("collection status: ACTIVE"), "{}", run.log);
    assert_eq!(run.xcom, None, "a sensor pushes no XCom");
}

#[tokio::test(flavor = "current_thread")]
async fn failed_and_deleted_collections_fail_and_a_creating_one_times_out() {
    let id = collection("aosst-deleted").await;
    client()
        .await
        .delete_collection()
        .id(&id)
        .send()
        .await
        .expect("DeleteCollection");
    collection("aosst-moto-creating").await;
    collection("aosst-moto-failed").await;
    let tasks = [
        (
            "failed",
            SENSOR,
            "collection_name: aosst-moto-failed\npoke_interval: 0.2".to_owned(),
        ),
        (
            "deleted",
            SENSOR,
            "collection_name: aosst-deleted\npoke_interval: 0.2".to_owned(),
        ),
        (
            "creating",
            SENSOR,
            "collection_name: aosst-moto-creating\npoke_interval: 0.2\ntimeout: 1".to_owned(),
        ),
    ];
    let flow = Flow::new("aosst_fail", &tasks);
    let run = flow.expect("failed", 1);
    assert!(
        run.error()
            .starts_with("OpenSearch Serverless Collection sensor failed")
            && run.error().contains("FAILED"),
        "{}",
        run.log
    );
    let run = flow.expect("deleted", 1);
    assert!(
        run.error()
            .contains("found no collection with name aosst-deleted"),
        "{}",
        run.log
    );
    let run = flow.expect("creating", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}
