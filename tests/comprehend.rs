//! The Comprehend operators and sensors through `airtask run-task` against the local endpoint,
//! with AIRTASK_CHECK_PERMISSIONS set by the test command. The endpoint's Comprehend patch
//! (scripts/moto_patches/comprehend.py) makes jobs and classifiers finish; `moto-failed`,
//! `moto-running` and `moto-warning` in a job's or classifier's name pick its failing, stuck and
//! trained-with-warnings paths. Every test has names of its own.

use crate::flow::Flow;

const PII: &str = "airflow.providers.amazon.aws.operators.comprehend.ComprehendStartPiiEntitiesDetectionJobOperator";
const PII_SENSOR: &str = "airflow.providers.amazon.aws.sensors.comprehend.ComprehendStartPiiEntitiesDetectionJobCompletedSensor";
const CLASSIFIER: &str =
    "airflow.providers.amazon.aws.operators.comprehend.ComprehendCreateDocumentClassifierOperator";
const CLASSIFIER_SENSOR: &str = "airflow.providers.amazon.aws.sensors.comprehend.ComprehendCreateDocumentClassifierCompletedSensor";
const ROLE: &str = "arn:aws:iam::123456789012:role/comprehend-test";

/// StartPiiEntitiesDetectionJob parameters; `kwargs` are YAML lines of
/// `start_pii_entities_kwargs` (indented by two).
fn pii(kwargs: &str, extra: &str) -> String {
    let mut p = format!(
        "input_data_config:\n  S3Uri: s3://cp-data/input/\n  InputFormat: ONE_DOC_PER_LINE\n\
         output_data_config:\n  S3Uri: s3://cp-data/output/\nmode: ONLY_REDACTION\n\
         data_access_role_arn: {ROLE}\nlanguage_code: en\nwaiter_delay: 0.2\n{extra}"
    );
    if !kwargs.is_empty() {
        p.push_str("\nstart_pii_entities_kwargs:\n");
        for line in kwargs.lines() {
            p.push_str(&format!("  {line}\n"));
        }
    }
    p
}

/// CreateDocumentClassifier parameters for `name`.
fn classifier(name: &str, extra: &str) -> String {
    format!(
        "document_classifier_name: {name}\ninput_data_config:\n  DataFormat: COMPREHEND_CSV\n  \
         S3Uri: s3://cp-data/train.csv\noutput_data_config:\n  S3Uri: s3://cp-data/classifier/\n\
         mode: MULTI_CLASS\ndata_access_role_arn: {ROLE}\nlanguage_code: en\nwaiter_delay: 0.2\n{extra}"
    )
}

#[test]
fn a_pii_job_completes_and_the_sensor_sees_it() {
    let tasks = [
        (
            "start",
            PII,
            pii(
                "JobName: cp-pii-moto-slow\nRedactionConfig:\n  PiiEntityTypes: [NAME, EMAIL]\n  MaskMode: MASK\n  MaskCharacter: '*'",
                "",
            ),
        ),
        (
            "sense",
            PII_SENSOR,
            "job_id: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.2".to_owned(),
        ),
        (
            "sense_deferred",
            PII_SENSOR,
            "job_id: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.2\ndeferrable: true"
                .to_owned(),
        ),
        (
            "unnamed",
            PII,
            pii("Tags:\n- Key: team\n  Value: data", "wait_for_completion: false"),
        ),
    ];
    let flow = Flow::new("cp_pii", &tasks);
    let run = flow.expect("start", 0);
    let id = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let id = id.as_str().unwrap_or_default().to_owned();
    assert_eq!(id.len(), 36, "a job id: {id}");
    assert!(
        run.log
            .contains("Submitting start pii entities detection job 'cp-pii-moto-slow'."),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains(&format!("#/analysis-job-details/pii/{id}")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Comprehend PII entities detection job {id}: IN_PROGRESS (poll 1 of 20"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Comprehend pii entities detection job `{id}` complete."
        )),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 0);
    assert!(run.log.contains("is COMPLETED"), "{}", run.log);
    let run = flow.expect("sense_deferred", 0);
    assert_eq!(run.xcom, Some(serde_json::json!(true)), "{}", run.log);
    let run = flow.expect("unnamed", 0);
    assert!(
        run.log.contains(
            "Submitting start pii entities detection job 'start_pii_entities_detection_job-"
        ),
        "{}",
        run.log
    );
    assert!(!run.log.contains("Waiting for"), "{}", run.log);
}

#[test]
fn failed_and_running_pii_jobs() {
    let tasks = [
        ("failed", PII, pii("JobName: cp-moto-failed", "")),
        (
            "failed_nowait",
            PII,
            pii("JobName: cp-moto-failed-2", "wait_for_completion: false"),
        ),
        (
            "sense_failed",
            PII_SENSOR,
            "job_id: \"{{ ti.xcom_pull(task_ids='failed_nowait') }}\"\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "running",
            PII,
            pii("JobName: cp-moto-running", "waiter_max_attempts: 2"),
        ),
        ("bad_kwargs", PII, pii("Jobname: typo", "")),
        (
            "sense_unknown",
            PII_SENSOR,
            "job_id: 00000000-0000-0000-0000-000000000000\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("cp_pii_fail", &tasks);
    let run = flow.expect("failed", 1);
    assert!(
        run.error().contains(
            "Waiter encountered a terminal failure state: Comprehend PII entities detection job"
        ) && run.error().contains("is FAILED (moto: the job failed"),
        "{}",
        run.log
    );
    flow.expect("failed_nowait", 0);
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .starts_with("Comprehend start pii entities detection job sensor failed."),
        "{}",
        run.log
    );
    let run = flow.expect("running", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("last state IN_PROGRESS"),
        "{}",
        run.log
    );
    let run = flow.expect("bad_kwargs", 2);
    assert!(
        run.log.contains("`start_pii_entities_kwargs.Jobname`"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_unknown", 1);
    assert!(run.error().contains("ResourceNotFound"), "{}", run.log);
}

#[test]
fn a_running_pii_job_times_out_the_sensor() {
    let tasks = [
        (
            "start",
            PII,
            pii("JobName: cp-moto-running-sensed", "wait_for_completion: false"),
        ),
        (
            "sense",
            PII_SENSOR,
            "job_id: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.2\ntimeout: 1"
                .to_owned(),
        ),
        (
            "sense_deferred",
            PII_SENSOR,
            "job_id: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.2\nmax_retries: 2\ndeferrable: true"
                .to_owned(),
        ),
    ];
    let flow = Flow::new("cp_pii_run", &tasks);
    flow.expect("start", 0);
    let run = flow.expect("sense", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(run.log.contains("is IN_PROGRESS"), "{}", run.log);
    let run = flow.expect("sense_deferred", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 2 attempts"),
        "{}",
        run.log
    );
}

#[test]
fn a_classifier_trains_and_the_sensor_sees_it() {
    let tasks = [
        (
            "create",
            CLASSIFIER,
            classifier(
                "cp-classifier-moto-slow",
                "document_classifier_kwargs:\n  VersionName: v1\n  Tags:\n  - Key: team\n    Value: data",
            ),
        ),
        (
            "sense",
            CLASSIFIER_SENSOR,
            "document_classifier_arn: \"{{ ti.xcom_pull(task_ids='create') }}\"\npoke_interval: 0.2"
                .to_owned(),
        ),
    ];
    let flow = Flow::new("cp_cls", &tasks);
    let run = flow.expect("create", 0);
    assert_eq!(
        run.xcom,
        Some(serde_json::json!(
            "arn:aws:comprehend:us-east-1:123456789012:document-classifier/cp-classifier-moto-slow/v1"
        )),
        "{}",
        run.log
    );
    assert!(run.log.contains(": TRAINING (poll 1 of 20"), "{}", run.log);
    assert!(
        run.log.contains(
            "AWS Comprehend document classifier metadata: {'NumberOfLabels': 2, \
             'NumberOfTrainedDocuments': 10, 'NumberOfTestDocuments': 2, 'EvaluationMetrics': \
             {'Accuracy': 0.9, 'Precision': 0.9, 'Recall': 0.9, 'F1Score': 0.9}}"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 0);
    assert!(
        run.log.contains("Poking for AWS Comprehend document classifier arn: arn:aws:comprehend:us-east-1:123456789012:document-classifier/cp-classifier-moto-slow/v1 status: TRAINED"),
        "{}",
        run.log
    );
    assert!(run.log.contains("complete."), "{}", run.log);
}

#[test]
fn classifier_warnings_and_errors() {
    let tasks = [
        ("warned", CLASSIFIER, classifier("cp-moto-warning", "")),
        (
            "warned_strict",
            CLASSIFIER,
            classifier("cp-moto-warning-2", "fail_on_warnings: true"),
        ),
        (
            "sense_strict",
            CLASSIFIER_SENSOR,
            "document_classifier_arn: arn:aws:comprehend:us-east-1:123456789012:document-classifier/cp-moto-warning\n\
             fail_on_warnings: true\npoke_interval: 0.2"
                .to_owned(),
        ),
        ("failed", CLASSIFIER, classifier("cp-moto-failed", "")),
        (
            "sense_failed",
            CLASSIFIER_SENSOR,
            "document_classifier_arn: arn:aws:comprehend:us-east-1:123456789012:document-classifier/cp-moto-failed\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "running",
            CLASSIFIER,
            classifier("cp-moto-running", "wait_for_completion: false"),
        ),
        (
            "sense_running",
            CLASSIFIER_SENSOR,
            "document_classifier_arn: \"{{ ti.xcom_pull(task_ids='running') }}\"\npoke_interval: 0.2\ntimeout: 1"
                .to_owned(),
        ),
    ];
    let flow = Flow::new("cp_cls_fail", &tasks);
    let run = flow.expect("warned", 0);
    assert!(
        run.log.contains(
            "AWS Comprehend document classifier training completed with TRAINED_WITH_WARNING, \
             Message: moto: some training documents were skipped (moto-warning in the name) \
             please review the skipped files folder in the output location s3://cp-data/classifier/"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("warned_strict", 1);
    assert!(
        run.error()
            .starts_with("Warnings in AWS Comprehend document classifier training."),
        "{}",
        run.log
    );
    let run = flow.expect("sense_strict", 1);
    assert!(
        run.error()
            .starts_with("Warnings in AWS Comprehend document classifier training."),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert!(
        run.error().contains("is IN_ERROR (moto: training failed"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_failed", 1);
    assert!(
        run.error()
            .starts_with("Comprehend document classifier failed."),
        "{}",
        run.log
    );
    let run = flow.expect("running", 0);
    assert!(run.xcom.is_some(), "{}", run.log);
    let run = flow.expect("sense_running", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn comprehend_dag_from_the_corpus_runs_end_to_end_through_its_stack() {
    // comprehend_dag.yaml makes its bucket and role with a CloudFormation stack and reads the
    // stack's outputs as `xcom_pull(task_ids='create_comprehend_stack')['CreateStackResponse']
    // ['Outputs']`, which no CloudFormationCreateStackOperator pushes
    // (docs/operators/cloudformation.md). As tests/glue.rs does for glue_dag, the test writes
    // the value the file expects into the run's state, from the real stack's outputs; every
    // task of the file then runs, in its order, against the endpoint.
    let file = airtask_tests::corpus_dir().join("aws-samples/comprehend_dag.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = airtask_tests::airtask(&["validate", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = airtask_tests::TempDir::new("cp-dag");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let run = |task: &str| {
        let args = [
            "run-task",
            &file_s,
            task,
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2024-01-01",
            "--params",
            r#"{"stack_name": "cp-dag-stack"}"#,
            "--output",
            "json",
        ];
        let out = airtask_tests::airtask(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{task}:\n{text}");
        text
    };
    run("create_comprehend_stack");
    run("wait_for_comprehend_stack");
    let cfn = aws_sdk_cloudformation::Client::new(
        &airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await,
    );
    let stack = cfn
        .describe_stacks()
        .stack_name("cp-dag-stack")
        .send()
        .await
        .expect("DescribeStacks")
        .stacks
        .and_then(|s| s.into_iter().next())
        .expect("the stack");
    let outputs: Vec<serde_json::Value> = stack
        .outputs()
        .iter()
        .map(|o| serde_json::json!({"OutputKey": o.output_key(), "OutputValue": o.output_value()}))
        .collect();
    let keys: Vec<&str> = outputs
        .iter()
        .filter_map(|o| o["OutputKey"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["InputS3Uri", "OutputS3Uri", "BucketName", "RoleArn"],
        "{outputs:?}"
    );
    let xcom_dir = dir
        .path()
        .join("state/comprehend_dag/r1/create_comprehend_stack/-1/xcom");
    std::fs::create_dir_all(&xcom_dir).expect("xcom dir");
    std::fs::write(
        xcom_dir.join("return_value.json"),
        serde_json::json!({"CreateStackResponse": {"Outputs": outputs}}).to_string(),
    )
    .expect("xcom");
    run("upload_test_data");
    let text = run("start_pii_detection");
    assert!(
        text.contains(
            "Submitting start pii entities detection job 'start_pii_entities_detection_job-"
        ),
        "{text}"
    );
    let job = std::fs::read_to_string(
        dir.path()
            .join("state/comprehend_dag/r1/start_pii_detection/-1/xcom/return_value.json"),
    )
    .expect("the job's XCom");
    assert_eq!(job.trim().trim_matches('"').len(), 36, "{job}");
    let text = run("wait_for_pii_detection");
    assert!(text.contains("is COMPLETED"), "{text}");
    run("delete_comprehend_stack");
    run("wait_for_comprehend_delete");
}
