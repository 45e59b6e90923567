//! The Bedrock operators and sensors through `airtask run-task` against the local endpoint, with
//! AIRTASK_CHECK_PERMISSIONS set by the test command (every declared permission is proved
//! complete). The endpoint's Bedrock patch (scripts/moto_patches/bedrock.py) makes jobs end and
//! fakes InvokeModel, Retrieve and RetrieveAndGenerate; names carrying `moto-failed`,
//! `moto-running` or `moto-index-pending` pick its failing, stuck and not-yet-indexed paths.
//! Every test has names of its own.

use airtask_tests::{TempDir, airtask, corpus_dir};

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.bedrock";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.bedrock";
const ROLE: &str = "arn:aws:iam::123456789012:role/bedrock-test";
const EMBEDDING: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0";
const MODEL: &str = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0";

fn op(class: &str) -> String {
    format!("{OPS}.{class}")
}

fn sensor(class: &str) -> String {
    format!("{SENSORS}.{class}")
}

/// CreateModelCustomizationJob parameters for `job` (custom model `model`).
fn customize(job: &str, model: &str, extra: &str) -> String {
    format!(
        "job_name: {job}\ncustom_model_name: {model}\nrole_arn: {ROLE}\n\
         base_model_id: amazon.titan-text-express-v1\ntraining_data_uri: s3://bedrock-train/data.jsonl\n\
         output_data_uri: s3://bedrock-train/out/\nhyperparameters:\n  epochCount: '1'\n\
         waiter_delay: 0.2\n{extra}"
    )
}

/// CreateKnowledgeBase parameters for a Pinecone-backed knowledge base `name`.
fn knowledge_base(name: &str, extra: &str) -> String {
    format!(
        "name: {name}\nembedding_model_arn: {EMBEDDING}\nrole_arn: {ROLE}\nstorage_config:\n  \
         type: PINECONE\n  pineconeConfiguration:\n    connectionString: https://idx.pinecone.io\n    \
         credentialsSecretArn: arn:aws:secretsmanager:us-east-1:123456789012:secret:pc\n    \
         fieldMapping:\n      textField: text\n      metadataField: metadata\n\
         waiter_delay: 0.2\n{extra}"
    )
}

#[test]
fn invoke_model_returns_the_decoded_answer_and_an_invalid_model_fails() {
    let invoke = op("BedrockInvokeModelOperator");
    let tasks = [
        (
            "invoke",
            invoke.as_str(),
            "model_id: amazon.nova-lite-v1:0\ninput_data:\n  messages:\n  - role: user\n    \
             content:\n    - text: What is Amazon MWAA on {{ ds }}?"
                .to_owned(),
        ),
        (
            "invalid",
            invoke.as_str(),
            "model_id: moto-invalid-model\ninput_data: {}\ncontent_type: application/json\naccept_type: application/json"
                .to_owned(),
        ),
    ];
    let flow = Flow::new("br_invoke", &tasks);
    let run = flow.expect("invoke", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(
        xcom["output"]["message"]["content"][0]["text"], "moto: What is Amazon MWAA on 2025-03-09?",
        "{xcom}"
    );
    assert_eq!(xcom["stopReason"], "end_turn", "{xcom}");
    assert!(
        run.log
            .contains("Bedrock amazon.nova-lite-v1:0 prompt: {\"messages\""),
        "{}",
        run.log
    );
    assert!(run.log.contains("Bedrock model response: {"), "{}", run.log);
    let run = flow.expect("invalid", 1);
    assert!(
        run.error().contains("ValidationException")
            && run
                .error()
                .contains("The provided model identifier is invalid."),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
}

#[test]
fn the_corpus_bedrock_workflow_runs_its_task() {
    let dir = TempDir::new("br-corpus");
    let wf = corpus_dir().join("aws-samples/bedrock_dag.yaml");
    let state = dir.path().join("state");
    let out = airtask(&[
        "run-task",
        &wf.to_string_lossy(),
        "invoke_model",
        "--state-dir",
        &state.to_string_lossy(),
        "--run-id",
        "r1",
        "--output",
        "json",
    ]);
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{log}");
    let xcom = std::fs::read_to_string(
        state.join("bedrock_dag/r1/invoke_model/-1/xcom/return_value.json"),
    )
    .unwrap_or_else(|e| panic!("no XCom ({e}):\n{log}"));
    let xcom: serde_json::Value = serde_json::from_str(&xcom).expect("XCom JSON");
    assert_eq!(
        xcom["output"]["message"]["content"][0]["text"], "moto: What is Amazon MWAA?",
        "{xcom}"
    );
}

#[test]
fn a_customization_job_completes_and_a_taken_name_gets_a_timestamp() {
    let tasks = [
        (
            "create",
            op("BedrockCustomizeModelOperator"),
            customize("br-cust-1", "br-cust-model-1", ""),
        ),
        (
            "sense",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-1\npoke_interval: 0.2".to_owned(),
        ),
        (
            "sense_deferred",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-1\npoke_interval: 0.2\ndeferrable: true".to_owned(),
        ),
        (
            "again",
            op("BedrockCustomizeModelOperator"),
            customize("br-cust-1", "br-cust-model-2", "wait_for_completion: false"),
        ),
        (
            "again_strict",
            op("BedrockCustomizeModelOperator"),
            customize(
                "br-cust-1",
                "br-cust-model-3",
                "ensure_unique_job_name: false\nwait_for_completion: false",
            ),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_cust", &tasks);
    let run = flow.expect("create", 0);
    assert_eq!(
        run.xcom,
        Some(serde_json::json!(
            "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/br-cust-1"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Creating Bedrock model customization job 'br-cust-1'."),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Bedrock model customization job br-cust-1: InProgress (poll 1 of 75"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Bedrock model customization job `br-cust-1` complete."),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 0);
    assert!(
        run.log
            .contains("Bedrock model customization job br-cust-1 is Completed"),
        "{}",
        run.log
    );
    // A sensor's poke pushes nothing; the deferred one resumes in poke, whose true is the XCom.
    assert_eq!(run.xcom, None, "{}", run.log);
    let run = flow.expect("sense_deferred", 0);
    assert_eq!(run.xcom, Some(serde_json::json!(true)), "{}", run.log);
    assert!(run.log.contains("deferrable is set"), "{}", run.log);
    let run = flow.expect("again", 0);
    let arn = run.xcom.clone().unwrap_or_default();
    let arn = arn.as_str().unwrap_or_default();
    let suffix = arn
        .strip_prefix("arn:aws:bedrock:us-east-1:123456789012:model-customization-job/br-cust-1-")
        .unwrap_or_else(|| panic!("{arn}\n{}", run.log));
    assert!(
        suffix.len() >= 10 && suffix.chars().all(|c| c.is_ascii_digit()),
        "{arn}"
    );
    assert!(
        run.log.contains(&format!(
            "Changed job name to 'br-cust-1-{suffix}' to avoid collision."
        )),
        "{}",
        run.log
    );
    let run = flow.expect("again_strict", 1);
    assert!(
        run.error()
            .contains("The provided job name is currently in use."),
        "{}",
        run.log
    );
}

#[test]
fn a_failed_customization_job_fails_the_operator_and_the_sensor() {
    let tasks = [
        (
            "create",
            op("BedrockCustomizeModelOperator"),
            customize(
                "br-cust-moto-failed",
                "br-cust-failed-model",
                "deferrable: true",
            ),
        ),
        (
            "sense",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-moto-failed\npoke_interval: 0.2".to_owned(),
        ),
        (
            "sense_unknown",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-never\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_cust_fail", &tasks);
    let run = flow.expect("create", 1);
    assert!(
        run.error().contains(
            "Waiter encountered a terminal failure state: Bedrock model customization job \
             br-cust-moto-failed is Failed (moto: the job failed"
        ),
        "{}",
        run.log
    );
    assert!(run.log.contains("deferrable is set"), "{}", run.log);
    let run = flow.expect("sense", 1);
    assert!(
        run.error()
            .starts_with("Bedrock model customization job sensor failed."),
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

#[test]
fn a_running_customization_job_times_out_the_waits() {
    let tasks = [
        (
            "start",
            op("BedrockCustomizeModelOperator"),
            customize(
                "br-cust-moto-running",
                "br-cust-running-model",
                "wait_for_completion: false",
            ),
        ),
        (
            "wait",
            op("BedrockCustomizeModelOperator"),
            customize(
                "br-cust-moto-running-2",
                "br-cust-running-model-2",
                "waiter_max_attempts: 2",
            ),
        ),
        (
            "sense",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-moto-running\npoke_interval: 0.2\ntimeout: 1".to_owned(),
        ),
        (
            "sense_deferred",
            sensor("BedrockCustomizeModelCompletedSensor"),
            "job_name: br-cust-moto-running\npoke_interval: 0.2\nmax_retries: 2\ndeferrable: true"
                .to_owned(),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_cust_run", &tasks);
    let run = flow.expect("start", 0);
    assert!(run.xcom.is_some(), "{}", run.log);
    assert!(!run.log.contains("Waiting for"), "{}", run.log);
    let run = flow.expect("wait", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("max attempts reached"),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_deferred", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 2 attempts"),
        "{}",
        run.log
    );
}

#[test]
fn provisioned_throughput_comes_in_service_or_fails() {
    let tasks = [
        (
            "create",
            op("BedrockCreateProvisionedModelThroughputOperator"),
            "model_units: 1\nprovisioned_model_name: br-pt-ok\nmodel_id: amazon.titan-text-express-v1\n\
             waiter_delay: 0.2\ncreate_throughput_kwargs:\n  commitmentDuration: OneMonth"
                .to_owned(),
        ),
        (
            "sense",
            sensor("BedrockProvisionModelThroughputCompletedSensor"),
            "model_id: \"{{ ti.xcom_pull(task_ids='create') }}\"\npoke_interval: 0.2".to_owned(),
        ),
        (
            "failed",
            op("BedrockCreateProvisionedModelThroughputOperator"),
            "model_units: 1\nprovisioned_model_name: br-pt-moto-failed\nmodel_id: amazon.titan-text-express-v1\nwaiter_delay: 0.2"
                .to_owned(),
        ),
        (
            "sense_failed",
            sensor("BedrockProvisionModelThroughputCompletedSensor"),
            "model_id: br-pt-moto-failed\npoke_interval: 0.2".to_owned(),
        ),
        (
            "running",
            op("BedrockCreateProvisionedModelThroughputOperator"),
            "model_units: 1\nprovisioned_model_name: br-pt-moto-running\nmodel_id: amazon.titan-text-express-v1\n\
             waiter_delay: 0.2\nwaiter_max_attempts: 2"
                .to_owned(),
        ),
        (
            "sense_running",
            sensor("BedrockProvisionModelThroughputCompletedSensor"),
            "model_id: br-pt-moto-running\npoke_interval: 0.2\ntimeout: 1".to_owned(),
        ),
        (
            "sense_unknown",
            sensor("BedrockProvisionModelThroughputCompletedSensor"),
            "model_id: br-pt-never\npoke_interval: 0.2".to_owned(),
        ),
        (
            "bad_units",
            op("BedrockCreateProvisionedModelThroughputOperator"),
            "model_units: 0\nprovisioned_model_name: br-pt-x\nmodel_id: m".to_owned(),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_pt", &tasks);
    let run = flow.expect("create", 0);
    let arn = run.xcom.clone().unwrap_or_default();
    assert!(
        arn.as_str().is_some_and(
            |a| a.starts_with("arn:aws:bedrock:us-east-1:123456789012:provisioned-model/")
        ),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Waiting for provisioned throughput."),
        "{}",
        run.log
    );
    assert!(run.log.contains(": Creating (poll 1 of 20"), "{}", run.log);
    let run = flow.expect("sense", 0);
    assert!(run.log.contains("is InService"), "{}", run.log);
    let run = flow.expect("failed", 1);
    assert!(
        run.error().contains("is Failed (moto: provisioning failed"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .starts_with("Bedrock provision model throughput sensor failed."),
        "{}",
        run.log
    );
    let run = flow.expect("running", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("max attempts reached"),
        "{}",
        run.log
    );
    assert!(run.error().contains("last state Creating"), "{}", run.log);
    let run = flow.expect("sense_running", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("br-pt-moto-running is Creating"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException")
            && run
                .error()
                .contains("Provisioned model br-pt-never not found"),
        "{}",
        run.log
    );
    let run = flow.expect("bad_units", 2);
    assert!(run.log.contains("`model_units`"), "{}", run.log);
}

#[test]
fn a_knowledge_base_with_a_data_source_is_ingested_and_queried() {
    let tasks = [
        (
            "kb",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-main", "create_knowledge_base_kwargs:\n  description: airtask test"),
        ),
        (
            "kb_active",
            sensor("BedrockKnowledgeBaseActiveSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\npoke_interval: 0.2".to_owned(),
        ),
        (
            "ds",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-main\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             bucket_name: br-kb-docs\ncreate_data_source_kwargs:\n  dataDeletionPolicy: RETAIN\n  \
             vectorIngestionConfiguration:\n    chunkingConfiguration:\n      chunkingStrategy: FIXED_SIZE\n      \
             fixedSizeChunkingConfiguration:\n        maxTokens: 300\n        overlapPercentage: 20"
                .to_owned(),
        ),
        (
            "ingest",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds') }}\"\nwaiter_delay: 0.2"
                .to_owned(),
        ),
        (
            "ingested",
            sensor("BedrockIngestionJobSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds') }}\"\n\
             ingestion_job_id: \"{{ ti.xcom_pull(task_ids='ingest') }}\"\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "retrieve",
            op("BedrockRetrieveOperator"),
            "retrieval_query: what is airtask\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             vector_search_config:\n  numberOfResults: 1\n  filter:\n    equals:\n      key: lang\n      value: en"
                .to_owned(),
        ),
        (
            "rag",
            op("BedrockRaGOperator"),
            format!(
                "input: what is airtask\nsource_type: knowledge_base\nmodel_arn: {MODEL}\n\
                 knowledge_base_id: \"{{{{ ti.xcom_pull(task_ids='kb') }}}}\"\n\
                 prompt_template: \"Answer from $search_results$\"\nrag_kwargs:\n  sessionId: br-session-1"
            ),
        ),
        (
            "rag_external",
            op("BedrockRaGOperator"),
            format!(
                "input: summarise\nsource_type: EXTERNAL_SOURCES\nmodel_arn: {MODEL}\n\
                 sources:\n- sourceType: S3\n  s3Location:\n    uri: s3://br-kb-docs/report.pdf"
            ),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_kb", &tasks);
    let run = flow.expect("kb", 0);
    let kb = run.xcom.clone().unwrap_or_default();
    let kb = kb.as_str().unwrap_or_default().to_owned();
    assert!(kb.starts_with("br-kb-main"), "{}", run.log);
    assert!(
        run.log
            .contains("Creating Amazon Bedrock Knowledge Base br-kb-main"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Bedrock knowledge base creation job `br-kb-main` complete."),
        "{}",
        run.log
    );
    let run = flow.expect("kb_active", 0);
    assert!(
        run.log
            .contains(&format!("Bedrock knowledge base {kb} is ACTIVE")),
        "{}",
        run.log
    );
    let run = flow.expect("ds", 0);
    let ds = run.xcom.clone().unwrap_or_default();
    assert!(ds.as_str().is_some_and(|d| d.len() == 10), "{}", run.log);
    let run = flow.expect("ingest", 0);
    let job = run.xcom.clone().unwrap_or_default();
    let job = job.as_str().unwrap_or_default().to_owned();
    assert_eq!(job.len(), 10, "{}", run.log);
    assert!(
        run.log
            .contains(&format!("Waiting for ingestion job {job}")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Bedrock ingestion job {job}: IN_PROGRESS (poll 1 of 10"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains(&format!("Bedrock ingestion job `{job}` complete.")),
        "{}",
        run.log
    );
    let run = flow.expect("ingested", 0);
    assert!(
        run.log
            .contains(&format!("Bedrock ingestion job {job} is COMPLETE")),
        "{}",
        run.log
    );
    assert_eq!(run.xcom, None, "{}", run.log);
    let run = flow.expect("retrieve", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(
        xcom,
        serde_json::json!({"retrievalResults": [{
            "content": {"type": "TEXT", "text": "moto: chunk 1 for what is airtask"},
            "location": {"type": "S3", "s3Location": {"uri": "s3://br-kb-docs/doc1.txt"}},
            "score": 0.9,
            "metadata": {"x-amz-bedrock-kb-chunk-id": "1",
                "x-amz-bedrock-kb-source-uri": "s3://br-kb-docs/doc1.txt"}
        }]}),
        "{}",
        run.log
    );
    assert!(run.log.contains("Query: what is airtask"), "{}", run.log);
    let run = flow.expect("rag", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(xcom["sessionId"], "br-session-1", "{xcom}");
    assert_eq!(
        xcom["output"]["text"], "moto: answer to what is airtask",
        "{xcom}"
    );
    assert_eq!(
        xcom["citations"][0]["retrievedReferences"][1]["location"]["s3Location"]["uri"],
        "s3://br-kb-docs/doc2.txt",
        "{xcom}"
    );
    assert!(
        run.log
            .contains("Response: moto: answer to what is airtask"),
        "{}",
        run.log
    );
    let run = flow.expect("rag_external", 0);
    let xcom = run.xcom.unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(
        xcom["citations"][0]["retrievedReferences"][0]["location"]["s3Location"]["uri"],
        "s3://br-kb-docs/report.pdf",
        "{xcom}"
    );
}

#[test]
fn knowledge_base_failures_and_the_index_retries() {
    let tasks = [
        (
            "failed",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-failed", ""),
        ),
        (
            "sense_failed",
            sensor("BedrockKnowledgeBaseActiveSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='failed_nowait') }}\"\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "failed_nowait",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-failed-2", "wait_for_completion: false"),
        ),
        (
            "pending",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-index-pending", "indexing_error_retry_delay: 0.2"),
        ),
        (
            "pending_strict",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-index-pending-2", "wait_for_indexing: false"),
        ),
        (
            "pending_exhausted",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base(
                "br-kb-moto-index-pending-3",
                "indexing_error_max_attempts: 0",
            ),
        ),
        (
            "running",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-running", "waiter_max_attempts: 2"),
        ),
        (
            "sense_running",
            sensor("BedrockKnowledgeBaseActiveSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='running_nowait') }}\"\n\
             poke_interval: 0.2\ntimeout: 1"
                .to_owned(),
        ),
        (
            "running_nowait",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-moto-running-2", "wait_for_completion: false"),
        ),
        (
            "ds_unknown",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-x\nknowledge_base_id: NOSUCHKB00\nbucket_name: b".to_owned(),
        ),
        (
            "retrieve_unknown",
            op("BedrockRetrieveOperator"),
            "retrieval_query: q\nknowledge_base_id: NOSUCHKB00".to_owned(),
        ),
        (
            "rag_invalid",
            op("BedrockRaGOperator"),
            format!("input: q\nsource_type: KNOWLEDGE_BASE\nmodel_arn: {MODEL}"),
        ),
        (
            "rag_unknown",
            op("BedrockRaGOperator"),
            format!(
                "input: q\nsource_type: KNOWLEDGE_BASE\nmodel_arn: {MODEL}\nknowledge_base_id: NOSUCHKB00"
            ),
        ),
        (
            "sense_unknown",
            sensor("BedrockKnowledgeBaseActiveSensor"),
            "knowledge_base_id: NOSUCHKB00\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_kb_fail", &tasks);
    let run = flow.expect("failed", 1);
    assert!(
        run.error()
            .contains("is FAILED (moto: the knowledge base failed"),
        "{}",
        run.log
    );
    flow.expect("failed_nowait", 0);
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .starts_with("Bedrock Knowledge Base Active sensor failed."),
        "{}",
        run.log
    );
    let run = flow.expect("pending", 0);
    assert!(
        run.log
            .contains("Vector index not ready, retrying in 0.2 seconds."),
        "{}",
        run.log
    );
    assert!(run.log.contains("19 retries remaining."), "{}", run.log);
    let run = flow.expect("pending_strict", 1);
    assert!(
        run.error().contains("ValidationException") && run.error().contains("no such index"),
        "{}",
        run.log
    );
    let run = flow.expect("pending_exhausted", 1);
    assert!(
        run.error().contains("ValidationException") && run.error().contains("no such index"),
        "{}",
        run.log
    );
    assert!(!run.log.contains("retries remaining"), "{}", run.log);
    let run = flow.expect("running", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("max attempts reached"),
        "{}",
        run.log
    );
    assert!(run.error().contains("last state CREATING"), "{}", run.log);
    let run = flow.expect("running_nowait", 0);
    let kb = run.xcom.clone().unwrap_or_default();
    let kb = kb.as_str().unwrap_or_default().to_owned();
    assert!(kb.starts_with("br-kb-moto-running-2"), "{}", run.log);
    assert!(!run.log.contains("Waiting for"), "{}", run.log);
    let run = flow.expect("sense_running", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains(&format!("Bedrock knowledge base {kb} is CREATING")),
        "{}",
        run.log
    );
    let run = flow.expect("ds_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
    let run = flow.expect("retrieve_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
    let run = flow.expect("rag_invalid", 2);
    assert!(
        run.log.contains(
            "If `source_type` is set to 'KNOWLEDGE_BASE' then `knowledge_base_id` must be provided."
        ),
        "{}",
        run.log
    );
    let run = flow.expect("rag_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException")
            && run.error().contains("Knowledge base NOSUCHKB00 not found"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
    let run = flow.expect("sense_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
}

#[test]
fn ingestion_failures_and_the_not_ready_retry() {
    let tasks = [
        ("kb", op("BedrockCreateKnowledgeBaseOperator"), knowledge_base("br-kb-ing", "")),
        (
            "ds_failed",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-moto-failed\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\nbucket_name: b"
                .to_owned(),
        ),
        (
            "ingest_failed",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_failed') }}\"\nwaiter_delay: 0.2"
                .to_owned(),
        ),
        (
            "start_failed",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_failed') }}\"\nwait_for_completion: false"
                .to_owned(),
        ),
        (
            "sense_failed",
            sensor("BedrockIngestionJobSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_failed') }}\"\n\
             ingestion_job_id: \"{{ ti.xcom_pull(task_ids='start_failed') }}\"\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "ds_running",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-moto-running\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\nbucket_name: b"
                .to_owned(),
        ),
        (
            "ingest_running",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_running') }}\"\n\
             waiter_delay: 0.2\nwaiter_max_attempts: 2"
                .to_owned(),
        ),
        (
            "sense_running",
            sensor("BedrockIngestionJobSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_running') }}\"\n\
             ingestion_job_id: \"{{ ti.xcom_pull(task_ids='start_running') }}\"\n\
             poke_interval: 0.2\ntimeout: 1"
                .to_owned(),
        ),
        (
            "start_running",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_running') }}\"\nwait_for_completion: false"
                .to_owned(),
        ),
        (
            "sense_unknown",
            sensor("BedrockIngestionJobSensor"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_running') }}\"\n\
             ingestion_job_id: NOSUCHJOB0\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "ds_pending",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-moto-index-pending\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\nbucket_name: b"
                .to_owned(),
        ),
        (
            "ingest_pending",
            op("BedrockIngestDataOperator"),
            "knowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             data_source_id: \"{{ ti.xcom_pull(task_ids='ds_pending') }}\"\nwaiter_delay: 0.2"
                .to_owned(),
        ),
    ];
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_ing_fail", &tasks);
    flow.expect("kb", 0);
    flow.expect("ds_failed", 0);
    let run = flow.expect("ingest_failed", 1);
    assert!(
        run.error().contains("is FAILED (moto: ingestion failed"),
        "{}",
        run.log
    );
    flow.expect("start_failed", 0);
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .starts_with("Bedrock ingestion job sensor failed."),
        "{}",
        run.log
    );
    flow.expect("ds_running", 0);
    let run = flow.expect("ingest_running", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("max attempts reached"),
        "{}",
        run.log
    );
    assert!(
        run.error().contains("last state IN_PROGRESS"),
        "{}",
        run.log
    );
    let run = flow.expect("start_running", 0);
    let job = run.xcom.clone().unwrap_or_default();
    let job = job.as_str().unwrap_or_default().to_owned();
    assert_eq!(job.len(), 10, "{}", run.log);
    let run = flow.expect("sense_running", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains(&format!("Bedrock ingestion job {job} is IN_PROGRESS")),
        "{}",
        run.log
    );
    let run = flow.expect("sense_unknown", 1);
    assert!(
        run.error().contains("ResourceNotFoundException")
            && run.error().contains("Ingestion job NOSUCHJOB0 not found"),
        "{}",
        run.log
    );
    flow.expect("ds_pending", 0);
    let run = flow.expect("ingest_pending", 0);
    assert!(
        run.log
            .contains("Index is not ready for ingestion, retrying in 5 seconds."),
        "{}",
        run.log
    );
    assert!(run.log.contains("4 retries remaining."), "{}", run.log);
}

/// `airtask run` of the corpus file `rel` with `envs` set, logical date `date` and run
/// parameters `params`; returns its output, asserting the run succeeded.
fn run_corpus(
    rel: &str,
    date: &str,
    params: &str,
    state: &std::path::Path,
    envs: &[(&str, &str)],
) -> String {
    let file = corpus_dir().join(rel).to_string_lossy().into_owned();
    let out = std::process::Command::new(airtask_tests::airtask_bin())
        .args([
            "run",
            &file,
            "--run-id",
            "corpus",
            "--logical-date",
            date,
            "--params",
            params,
            "--state-dir",
            &state.to_string_lossy(),
            "--parallelism",
            "2",
        ])
        .envs(envs.iter().copied())
        .output()
        .expect("run airtask");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{rel}:\n{text}");
    assert!(text.contains("run corpus succeeded"), "{text}");
    text
}

/// The XCom `return_value` of `task` in the run `corpus` of workflow `wf`.
fn corpus_xcom(state: &std::path::Path, wf: &str, task: &str) -> serde_json::Value {
    let path = state.join(format!("{wf}/corpus/{task}/-1/xcom/return_value.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("XCom JSON")
}

#[test]
fn the_corpus_s3_and_bedrock_workflow_runs_end_to_end() {
    // aws-samples/combo_s3_bedrock.yaml makes, fills, lists and removes its bucket
    // (test-bucket-{{ ds_nodash }}), then invokes the model.
    let dir = TempDir::new("br-combo");
    run_corpus(
        "aws-samples/combo_s3_bedrock.yaml",
        "2031-07-14",
        "{}",
        dir.path(),
        &[],
    );
    assert_eq!(
        corpus_xcom(dir.path(), "combo_s3_bedrock", "s3_list_objects"),
        serde_json::json!(["test-file.txt"])
    );
    let xcom = corpus_xcom(dir.path(), "combo_s3_bedrock", "bedrock_invoke_model");
    assert_eq!(
        xcom["output"]["message"]["content"][0]["text"], "moto: What is Amazon MWAA?",
        "{xcom}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_corpus_loan_approval_agents_run_end_to_end() {
    // aws-samples/loan_approval_agent.yaml names its inference profile, knowledge base, topic
    // and bucket through ${...} variables: the test makes them, then runs the whole file. Two
    // agents run in parallel (InvokeModel, RetrieveAndGenerate), the decision reads both
    // answers through xcom_pull, SNS and S3 get the decision. Its params are written as Param
    // specs ({type, default}), whose value under dag-factory is the mapping itself
    // (../shared/reference/yaml-format.md); the sample passes the application as override
    // parameters, and so does the test (--params).
    let config = airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await;
    let s3 = airtask_tests::s3_client(&config);
    s3.create_bucket()
        .bucket("br-loan-audit")
        .send()
        .await
        .expect("CreateBucket");
    let topic = aws_sdk_sns::Client::new(&config)
        .create_topic()
        .name("br-loan-decisions")
        .send()
        .await
        .expect("CreateTopic")
        .topic_arn
        .expect("TopicArn");
    let setup = [
        (
            "kb",
            op("BedrockCreateKnowledgeBaseOperator"),
            knowledge_base("br-kb-salaries", ""),
        ),
        (
            "ds",
            op("BedrockCreateDataSourceOperator"),
            "name: br-ds-salaries\nknowledge_base_id: \"{{ ti.xcom_pull(task_ids='kb') }}\"\n\
             bucket_name: br-salary-ranges"
                .to_owned(),
        ),
    ];
    let setup: Vec<(&str, &str, String)> = setup
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    let flow = Flow::new("br_loan_setup", &setup);
    let kb = flow.expect("kb", 0).xcom.unwrap_or_default();
    let kb = kb.as_str().unwrap_or_default().to_owned();
    flow.expect("ds", 0);

    let dir = TempDir::new("br-loan");
    let profile = "us.anthropic.claude-3-5-sonnet-20241022-v2:0";
    run_corpus(
        "aws-samples/loan_approval_agent.yaml",
        "2025-03-09",
        r#"{"applicant_name": "Jane Doe", "occupation": "software_engineer",
            "yearly_income": 95000, "loan_amount": 350000}"#,
        dir.path(),
        &[
            ("INFERENCE_PROFILE", profile),
            ("KNOWLEDGE_BASE_ID", &kb),
            ("SNS_TOPIC_ARN", &topic),
            ("S3_BUCKET", "br-loan-audit"),
        ],
    );
    let wf = "loan_approval_agent";
    let diligence = corpus_xcom(dir.path(), wf, "due_diligence");
    let text = diligence["output"]["message"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("moto: You are a loan underwriting analyst.")
            && text.contains("- Applicant: Jane Doe")
            && text.contains("- Loan Amount Requested: $350000"),
        "{diligence}"
    );
    let income = corpus_xcom(dir.path(), wf, "income_verification");
    assert!(
        income["output"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with(
                "moto: answer to Verify if a yearly income of $95000 is plausible for someone \
             working as a software_engineer."
            )),
        "{income}"
    );
    assert_eq!(
        income["citations"][0]["retrievedReferences"][0]["location"]["s3Location"]["uri"],
        "s3://br-salary-ranges/doc1.txt",
        "{income}"
    );
    // The decision's prompt carries both reports (xcom_pull), which the fake echoes.
    let decision = corpus_xcom(dir.path(), wf, "loan_decision");
    let text = decision["output"]["message"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.starts_with("moto: You are a senior loan officer making a final decision.")
            && text.contains("Due Diligence Report:")
            && text.contains("moto: You are a loan underwriting analyst.")
            && text.contains("moto: answer to Verify if a yearly income"),
        "{decision}"
    );
    let published = corpus_xcom(dir.path(), wf, "notify_applicant");
    assert!(
        published["MessageId"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{published}"
    );
    let audit = s3
        .get_object()
        .bucket("br-loan-audit")
        .key("audit/2025-03-09/Jane Doe.json")
        .send()
        .await
        .expect("the audit object")
        .body
        .collect()
        .await
        .expect("its body")
        .into_bytes();
    let audit = String::from_utf8_lossy(&audit);
    assert!(
        audit.contains("\"applicant\": \"Jane Doe\"")
            && audit.contains("\"income\": 95000")
            && audit.contains("\"loan_amount\": 350000")
            && audit.contains("\"decision\": {'output': {'message':"),
        "{audit}"
    );
}
