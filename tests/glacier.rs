//! The Glacier operators and sensor through `airtask run-task` against the local endpoint: an
//! archive upload with its XCom (the archive id and the SHA-256 tree hash the SDK computed), an
//! inventory-retrieval job with its XCom and the sensor until it succeeds, a failed job, a job
//! that outlasts the sensor's timeout, an unknown job and a missing vault. The failure paths
//! come from the endpoint's Glacier patch (scripts/moto_patches/glacier.py): `moto-failed` in
//! the vault name. Every test has vaults of its own.

use crate::flow::Flow;

const CREATE_JOB: &str = "airflow.providers.amazon.aws.operators.glacier.GlacierCreateJobOperator";
const UPLOAD: &str = "airflow.providers.amazon.aws.operators.glacier.GlacierUploadArchiveOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.glacier.GlacierJobOperationSensor";

async fn create_vault(name: &str) {
    let config = airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await;
    aws_sdk_glacier::Client::new(&config)
        .create_vault()
        .account_id("-")
        .vault_name(name)
        .send()
        .await
        .expect("CreateVault");
}

/// A sensor on the job the `job` task started in `vault`.
fn sensor(vault: &str, extra: &str) -> String {
    format!(
        "vault_name: {vault}\njob_id: \"{{{{ ti.xcom_pull(task_ids='job')['jobId'] }}}}\"\n{extra}"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn an_archive_is_uploaded_and_an_inventory_job_succeeds() {
    create_vault("glaciert-ok").await;
    let flow = Flow::new(
        "glaciert_ok",
        &[
            (
                "upload",
                UPLOAD,
                "vault_name: glaciert-ok\nbody: hello glacier\narchive_description: greeting"
                    .to_owned(),
            ),
            ("job", CREATE_JOB, "vault_name: glaciert-ok".to_owned()),
            (
                "sense",
                SENSOR,
                sensor("glaciert-ok", "poke_interval: 1\ntimeout: 60"),
            ),
        ],
    );
    let run = flow.expect("upload", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    // The tree hash of a body under 1 MiB is its SHA-256: the endpoint got the bytes given.
    assert_eq!(
        xcom["checksum"], "fb847ff5db2a4fa46ba71380f37a8acd8320468f2aced210b3a586c8dc795e36",
        "{xcom}"
    );
    assert!(xcom["archiveId"].is_string(), "{xcom}");

    let run = flow.expect("job", 0);
    let job_id = run
        .xcom
        .as_ref()
        .and_then(|x| x["jobId"].as_str())
        .unwrap_or_else(|| panic!("no jobId XCom:\n{}", run.log))
        .to_owned();
    assert!(
        run.log.contains(&format!("Retrieval Job ID: {job_id}"))
            && run
                .log
                .contains("Retrieving inventory for vault: glaciert-ok"),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 0);
    assert!(
        run.log
            .contains("Job status: InventoryRetrieval, code status: InProgress"),
        "{}",
        run.log
    );
    assert!(run.log.contains("Job finished successfully"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn the_glacier_sensor_fails_on_a_failed_and_an_unknown_job() {
    create_vault("glaciert-moto-failed").await;
    let flow = Flow::new(
        "glaciert_fail",
        &[
            ("job", CREATE_JOB, "vault_name: glaciert-moto-failed".to_owned()),
            (
                "sense",
                SENSOR,
                sensor("glaciert-moto-failed", "poke_interval: 0.2"),
            ),
            (
                "unknown",
                SENSOR,
                "vault_name: glaciert-moto-failed\njob_id: glaciert-no-such-job\npoke_interval: 0.2\nretries: 2\nretry_delay: 0".to_owned(),
            ),
        ],
    );
    flow.expect("job", 0);
    let run = flow.expect("sense", 1);
    assert!(
        run.error()
            .contains("Sensor failed. Job status: InventoryRetrieval, code status: Failed")
            && run.error().contains("moto: job failed"),
        "{}",
        run.log
    );
    let run = flow.expect("unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException")
            && run.error().contains("glaciert-no-such-job"),
        "{}",
        run.log
    );
    // Not found is not retried: one try, with retries allowed.
    assert_eq!(run.record["try"], 1, "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn the_glacier_sensor_times_out_on_a_job_in_progress() {
    create_vault("glaciert-slow").await;
    let flow = Flow::new(
        "glaciert_slow",
        &[
            ("job", CREATE_JOB, "vault_name: glaciert-slow".to_owned()),
            (
                "sense",
                SENSOR,
                sensor("glaciert-slow", "poke_interval: 0.3\ntimeout: 1"),
            ),
        ],
    );
    flow.expect("job", 0);
    let run = flow.expect("sense", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    assert!(run.log.contains("Processing..."), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn glacier_operators_fail_on_a_missing_vault() {
    let flow = Flow::new(
        "glaciert_missing",
        &[
            ("job", CREATE_JOB, "vault_name: glaciert-none".to_owned()),
            (
                "upload",
                UPLOAD,
                "vault_name: glaciert-none\nbody: x".to_owned(),
            ),
        ],
    );
    for task in ["job", "upload"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().contains("ResourceNotFoundException")
                && run.error().contains("Vault not found"),
            "{task}: {}",
            run.log
        );
        assert!(run.xcom.is_none(), "{task}: {}", run.log);
    }
}
