//! The SageMaker operators and sensors through `airtask run-task` against the local endpoint:
//! every operator's success path with its XCom (the provider's describe answers), the
//! failures the provider documents (a Failed or Stopped job, a wait that runs out, a missing S3
//! input, a job name that exists with `action_if_job_exists: fail`, an endpoint that fails, a
//! pipeline that fails or is not running when stopped, a notebook instance that fails), and
//! `validate` refusing a config key SageMaker does not take. Jobs, endpoints, pipelines and
//! notebook instances stay in progress, fail or stop through the endpoint's SageMaker patch
//! (scripts/moto_patches/sagemaker.py): markers `moto-slow`, `moto-stuck`, `moto-failed` and
//! `moto-stopped` in their names. Every test has resource names of its own.

use airtask_tests::{TempDir, airtask, endpoint};
use serde_json::Value;

use crate::flow::{Flow, Run};

const OPS: &str = "airflow.providers.amazon.aws.operators.sagemaker";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.sagemaker";
const ROLE: &str = "arn:aws:iam::123456789012:role/sagemaker-test";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

async fn config() -> aws_config::SdkConfig {
    airtask_tests::aws_config_for(&endpoint(), None).await
}

/// A bucket with one object (`key`), for the jobs' S3 inputs.
async fn bucket_with(bucket: &str, key: &str, body: &str) {
    let s3 = airtask_tests::s3_client(&config().await);
    let _ = s3.create_bucket().bucket(bucket).send().await;
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .expect("PutObject");
}

/// A training job's `config` (YAML lines, indented for a task's parameters).
fn training(name: &str, bucket: &str, role: &str) -> String {
    format!(
        "config:\n  TrainingJobName: {name}\n  AlgorithmSpecification: {{TrainingImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:1, TrainingInputMode: File}}\n  RoleArn: {role}\n  InputDataConfig: [{{ChannelName: train, DataSource: {{S3DataSource: {{S3DataType: S3Prefix, S3Uri: 's3://{bucket}/train/'}}}}}}]\n  OutputDataConfig: {{S3OutputPath: 's3://{bucket}/out/'}}\n  ResourceConfig: {{InstanceCount: '1', InstanceType: ml.m5.large, VolumeSizeInGB: 10}}\n  StoppingCondition: {{MaxRuntimeInSeconds: '3600'}}\n  HyperParameters: {{epochs: 3}}\ncheck_interval: 1"
    )
}

fn processing(name: &str, bucket: &str) -> String {
    format!(
        "config:\n  ProcessingJobName: {name}\n  RoleArn: {ROLE}\n  AppSpecification: {{ImageUri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/proc:1}}\n  ProcessingResources: {{ClusterConfig: {{InstanceCount: 1, InstanceType: ml.m5.large, VolumeSizeInGB: '5'}}}}\n  ProcessingOutputConfig: {{Outputs: [{{OutputName: evaluation, S3Output: {{S3Uri: 's3://{bucket}/eval', LocalPath: /opt/ml/processing/evaluation, S3UploadMode: EndOfJob}}}}]}}\ncheck_interval: 1"
    )
}

fn transform_job(name: &str, model: &str, bucket: &str) -> String {
    format!(
        "{{TransformJobName: {name}, ModelName: {model}, TransformInput: {{DataSource: {{S3DataSource: {{S3DataType: S3Prefix, S3Uri: 's3://{bucket}/in/'}}}}}}, TransformOutput: {{S3OutputPath: 's3://{bucket}/out/'}}, TransformResources: {{InstanceType: ml.m5.large, InstanceCount: '1'}}}}"
    )
}

fn model(name: &str) -> String {
    format!(
        "{{ModelName: {name}, ExecutionRoleArn: {ROLE}, PrimaryContainer: {{Image: 123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1, ModelDataUrl: 's3://models/model.tar.gz'}}}}"
    )
}

fn endpoint_config(name: &str, model: &str) -> String {
    format!(
        "{{EndpointConfigName: {name}, ProductionVariants: [{{VariantName: main, ModelName: {model}, InitialInstanceCount: '1', InstanceType: ml.m5.large}}]}}"
    )
}

fn tuning(name: &str, bucket: &str) -> String {
    format!(
        "config:\n  HyperParameterTuningJobName: {name}\n  HyperParameterTuningJobConfig: {{Strategy: Bayesian, HyperParameterTuningJobObjective: {{Type: Maximize, MetricName: 'validation:accuracy'}}, ResourceLimits: {{MaxNumberOfTrainingJobs: '4', MaxParallelTrainingJobs: 2}}, ParameterRanges: {{IntegerParameterRanges: [{{Name: depth, MinValue: '1', MaxValue: '5'}}]}}}}\n  TrainingJobDefinition:\n    AlgorithmSpecification: {{TrainingImage: 123456789012.dkr.ecr.us-east-1.amazonaws.com/algo:1, TrainingInputMode: File}}\n    RoleArn: {ROLE}\n    InputDataConfig: [{{ChannelName: train, DataSource: {{S3DataSource: {{S3DataType: S3Prefix, S3Uri: 's3://{bucket}/train/'}}}}}}]\n    OutputDataConfig: {{S3OutputPath: 's3://{bucket}/out/'}}\n    ResourceConfig: {{InstanceCount: 1, InstanceType: ml.m5.large, VolumeSizeInGB: 10}}\n    StoppingCondition: {{MaxRuntimeInSeconds: 3600}}\ncheck_interval: 1"
    )
}

fn xcom(run: &Run) -> Value {
    run.xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log))
}

fn assert_error(run: &Run, text: &str) {
    assert!(
        run.error().contains(text),
        "expected {text:?} in the error:\n{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn training_tails_the_logs_returns_the_description_and_renames_a_taken_job() {
    bucket_with("smt-train", "train/a.csv", "1,2\n").await;
    // A role given by name is expanded to its ARN (iam:GetRole).
    let iam = aws_sdk_iam::Client::new(&config().await);
    let _ = iam
        .create_role()
        .role_name("smt-role")
        .assume_role_policy_document("{}")
        .send()
        .await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config().await);
    let _ = logs
        .create_log_group()
        .log_group_name("/aws/sagemaker/TrainingJobs")
        .send()
        .await;
    logs.create_log_stream()
        .log_group_name("/aws/sagemaker/TrainingJobs")
        .log_stream_name("smt-train-1/algo-1-1700000000")
        .send()
        .await
        .expect("CreateLogStream");
    // CloudWatch keeps events of the last 14 days only: the event is stamped now.
    #[allow(clippy::disallowed_methods)]
    let now = jiff::Timestamp::now().as_millisecond();
    logs.put_log_events()
        .log_group_name("/aws/sagemaker/TrainingJobs")
        .log_stream_name("smt-train-1/algo-1-1700000000")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now)
                .message("epoch 1: loss 0.42")
                .build()
                .expect("event"),
        )
        .send()
        .await
        .expect("PutLogEvents");
    let flow = Flow::new(
        "smt_train",
        &[
            (
                "train",
                &op("SageMakerTrainingOperator"),
                training("smt-train-1", "smt-train", "smt-role"),
            ),
            (
                "again",
                &op("SageMakerTrainingOperator"),
                training("smt-train-1", "smt-train", "smt-role"),
            ),
            (
                "refuse",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\naction_if_job_exists: fail",
                    training("smt-train-1", "smt-train", ROLE)
                ),
            ),
            (
                "sense",
                &sensor("SageMakerTrainingSensor"),
                "job_name: smt-train-1\npoke_interval: 1".to_owned(),
            ),
        ],
    );
    let run = flow.expect("train", 0);
    let x = xcom(&run);
    let t = &x["Training"];
    assert_eq!(t["TrainingJobName"], "smt-train-1", "{x}");
    assert_eq!(t["TrainingJobStatus"], "Completed");
    assert_eq!(t["RoleArn"], "arn:aws:iam::123456789012:role/smt-role");
    assert_eq!(t["ResourceConfig"]["InstanceCount"], 1);
    assert_eq!(t["HyperParameters"]["epochs"], "3");
    assert!(
        t["CreationTime"]
            .as_str()
            .is_some_and(|s| s.ends_with("+00:00")),
        "{x}"
    );
    assert_eq!(x["Training"]["ResponseMetadata"]["HTTPStatusCode"], 200);
    assert!(run.log.contains("epoch 1: loss 0.42"), "{}", run.log);
    assert!(run.log.contains("Billable seconds: "), "{}", run.log);
    assert!(
        run.log
            .contains("Creating SageMaker training job smt-train-1."),
        "{}",
        run.log
    );

    // The name is taken: the provider's timestamp suffix.
    let run = flow.expect("again", 0);
    let renamed = xcom(&run)["Training"]["TrainingJobName"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        renamed.starts_with("smt-train-1-") && renamed.len() == "smt-train-1-".len() + 10,
        "{renamed}"
    );
    assert!(
        run.log.contains("Changed job name to 'smt-train-1-"),
        "{}",
        run.log
    );

    let run = flow.expect("refuse", 1);
    assert_error(
        &run,
        "A SageMaker job with name smt-train-1 already exists.",
    );

    let run = flow.expect("sense", 0);
    assert!(run.log.contains("job currently Completed"), "{}", run.log);
    assert!(run.log.contains("epoch 1: loss 0.42"), "{}", run.log);
    assert!(run.xcom.is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn training_failures_follow_the_provider() {
    bucket_with("smt-trainf", "train/a.csv", "1\n").await;
    let flow = Flow::new(
        "smt_trainf",
        &[
            (
                "logged",
                &op("SageMakerTrainingOperator"),
                training("smt-moto-failed-a", "smt-trainf", ROLE),
            ),
            (
                "quiet",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\nprint_log: false",
                    training("smt-moto-failed-b", "smt-trainf", ROLE)
                ),
            ),
            (
                "deferred",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\ndeferrable: true",
                    training("smt-moto-failed-c", "smt-trainf", ROLE)
                ),
            ),
            (
                "nobucket",
                &op("SageMakerTrainingOperator"),
                training("smt-nobucket", "smt-no-such-bucket", ROLE),
            ),
            (
                "nokey",
                &op("SageMakerTrainingOperator"),
                training("smt-nokey", "smt-trainf", ROLE).replace("/train/", "/missing/"),
            ),
            (
                "sense",
                &sensor("SageMakerTrainingSensor"),
                "job_name: smt-moto-failed-a\npoke_interval: 1\nprint_log: false".to_owned(),
            ),
        ],
    );
    let run = flow.expect("logged", 1);
    assert_error(
        &run,
        "Error training smt-moto-failed-a: Failed Reason: moto-failed: the resource failed",
    );
    let run = flow.expect("quiet", 1);
    assert_error(
        &run,
        "SageMaker resource failed because moto-failed: the resource failed",
    );
    let run = flow.expect("deferred", 1);
    assert_error(
        &run,
        "SageMaker job failed because moto-failed: the resource failed",
    );
    let run = flow.expect("nobucket", 1);
    assert_error(
        &run,
        "The input S3 Bucket smt-no-such-bucket does not exist",
    );
    let run = flow.expect("nokey", 1);
    assert_error(
        &run,
        "The input S3 Key or Prefix s3://smt-trainf/missing/ does not exist in the Bucket smt-trainf",
    );
    let run = flow.expect("sense", 1);
    assert_error(
        &run,
        "Sagemaker job failed for the following reason: moto-failed: the resource failed",
    );
}

#[tokio::test(flavor = "current_thread")]
async fn training_waits_for_a_slow_job_and_gives_up_after_max_ingestion_time() {
    bucket_with("smt-slow", "train/a.csv", "1\n").await;
    let flow = Flow::new(
        "smt_slow",
        &[
            (
                "slow",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\nprint_log: false",
                    training("smt-moto-slow-1", "smt-slow", ROLE)
                ),
            ),
            (
                "deferred",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\ndeferrable: true",
                    training("smt-moto-slow-2", "smt-slow", ROLE)
                ),
            ),
            (
                "stuck",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\nprint_log: false\nmax_ingestion_time: 2",
                    training("smt-moto-stuck-1", "smt-slow", ROLE)
                ),
            ),
            (
                "nowait",
                &op("SageMakerTrainingOperator"),
                format!(
                    "{}\nprint_log: false\nwait_for_completion: false",
                    training("smt-moto-stuck-2", "smt-slow", ROLE)
                ),
            ),
        ],
    );
    let run = flow.expect("slow", 0);
    assert_eq!(xcom(&run)["Training"]["TrainingJobStatus"], "Completed");
    assert!(
        run.log.contains("current status is InProgress"),
        "{}",
        run.log
    );
    let run = flow.expect("deferred", 0);
    assert_eq!(xcom(&run)["Training"]["TrainingJobStatus"], "Completed");
    assert!(run.log.contains("deferrable is set"), "{}", run.log);
    let run = flow.expect("stuck", 1);
    assert_error(&run, "SageMaker resource took more than 2 seconds");
    let run = flow.expect("nowait", 0);
    assert_eq!(xcom(&run)["Training"]["TrainingJobStatus"], "InProgress");
}

#[tokio::test(flavor = "current_thread")]
async fn processing_returns_the_description_and_the_output_files() {
    bucket_with("smp-out", "eval/metrics.json", r#"{"mse": 0.25}"#).await;
    bucket_with("smp-out", "eval/broken.json", "not json").await;
    let files = "output_files_to_xcom:\n  - {output_name: evaluation, file_name: metrics.json, result_name: Metrics}\n  - {output_name: evaluation, file_name: gone.json, result_name: Gone}\n  - {output_name: evaluation, file_name: broken.json, result_name: Broken}\n  - {output_name: other, file_name: x.json, result_name: Other}";
    let flow = Flow::new(
        "smp",
        &[
            (
                "process",
                &op("SageMakerProcessingOperator"),
                format!("{}\n{files}", processing("smp-1", "smp-out")),
            ),
            (
                "failed",
                &op("SageMakerProcessingOperator"),
                processing("smp-moto-failed", "smp-out"),
            ),
            (
                "nowait_files",
                &op("SageMakerProcessingOperator"),
                format!(
                    "{}\nwait_for_completion: false\n{files}",
                    processing("smp-2", "smp-out")
                ),
            ),
            (
                "stopped",
                &op("SageMakerProcessingOperator"),
                format!(
                    "{}\nwait_for_completion: false",
                    processing("smp-moto-stopped", "smp-out")
                ),
            ),
            (
                "sense_ok",
                &sensor("SageMakerProcessingSensor"),
                "job_name: smp-1\npoke_interval: 1".to_owned(),
            ),
            (
                "sense_stopped",
                &sensor("SageMakerProcessingSensor"),
                "job_name: smp-moto-stopped\npoke_interval: 1".to_owned(),
            ),
            (
                "slow",
                &op("SageMakerProcessingOperator"),
                format!(
                    "{}\nwait_for_completion: false",
                    processing("smp-moto-slow", "smp-out")
                ),
            ),
            (
                "sense_slow",
                &sensor("SageMakerProcessingSensor"),
                "job_name: smp-moto-slow\npoke_interval: 1".to_owned(),
            ),
        ],
    );
    let run = flow.expect("process", 0);
    let x = xcom(&run);
    assert_eq!(x["Processing"]["ProcessingJobName"], "smp-1", "{x}");
    assert_eq!(x["Processing"]["ProcessingJobStatus"], "Completed");
    assert_eq!(x["OutputFiles"]["Metrics"]["mse"], 0.25, "{x}");
    assert_eq!(
        x["OutputFiles"]["Gone"]["_error"],
        "File not found: s3://smp-out/eval/gone.json"
    );
    assert_eq!(
        x["OutputFiles"]["Broken"]["_error"],
        "Invalid JSON at s3://smp-out/eval/broken.json"
    );
    assert!(x["OutputFiles"].get("Other").is_none(), "{x}");
    assert!(
        run.log.contains("no matching output 'other' found"),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "SageMaker resource failed because moto-failed");
    let run = flow.expect("nowait_files", 1);
    assert_error(
        &run,
        "output_files_to_xcom requires wait_for_completion=True",
    );
    flow.expect("stopped", 0);
    flow.expect("sense_ok", 0);
    let run = flow.expect("sense_stopped", 1);
    assert_error(
        &run,
        "Sagemaker job failed for the following reason: Unknown",
    );
    flow.expect("slow", 0);
    let run = flow.expect("sense_slow", 0);
    assert!(run.log.contains("job currently InProgress"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn transform_creates_the_model_and_returns_both_descriptions() {
    bucket_with("smx-data", "in/a.csv", "1\n").await;
    let both = |job: &str, m: &str| {
        format!(
            "config:\n  Model: {}\n  Transform: {}\ncheck_interval: 1",
            model(m),
            transform_job(job, m, "smx-data")
        )
    };
    let flow = Flow::new(
        "smx",
        &[
            (
                "first",
                &op("SageMakerTransformOperator"),
                both("smx-1", "smx-model"),
            ),
            (
                "second",
                &op("SageMakerTransformOperator"),
                both("smx-1", "smx-model"),
            ),
            (
                "model_fail",
                &op("SageMakerTransformOperator"),
                format!(
                    "{}\naction_if_model_exists: fail",
                    both("smx-2", "smx-model")
                ),
            ),
            (
                "failed",
                &op("SageMakerTransformOperator"),
                format!(
                    "config: {}\ncheck_interval: 1",
                    transform_job("smx-moto-failed", "smx-model", "smx-data")
                ),
            ),
            (
                "deferred_slow",
                &op("SageMakerTransformOperator"),
                format!(
                    "config: {}\ncheck_interval: 1\ndeferrable: true",
                    transform_job("smx-moto-slow", "smx-model", "smx-data")
                ),
            ),
            (
                "sense",
                &sensor("SageMakerTransformSensor"),
                "job_name: smx-1\npoke_interval: 1".to_owned(),
            ),
            (
                "sense_failed",
                &sensor("SageMakerTransformSensor"),
                "job_name: smx-moto-failed\npoke_interval: 1".to_owned(),
            ),
        ],
    );
    let run = flow.expect("first", 0);
    let x = xcom(&run);
    assert_eq!(x["Transform"]["TransformJobName"], "smx-1", "{x}");
    assert_eq!(x["Transform"]["TransformJobStatus"], "Completed");
    assert_eq!(x["Transform"]["TransformResources"]["InstanceCount"], 1);
    assert_eq!(x["Model"]["ModelName"], "smx-model");
    let run = flow.expect("second", 0);
    let x = xcom(&run);
    let job = x["Transform"]["TransformJobName"]
        .as_str()
        .unwrap_or_default();
    let m = x["Model"]["ModelName"].as_str().unwrap_or_default();
    assert!(
        job.starts_with("smx-1-") && m.starts_with("smx-model-"),
        "{x}"
    );
    assert_eq!(
        x["Transform"]["ModelName"], m,
        "the job runs the renamed model"
    );
    let run = flow.expect("model_fail", 1);
    assert_error(
        &run,
        "A SageMaker model with name smx-model already exists.",
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "SageMaker resource failed because moto-failed");
    let run = flow.expect("deferred_slow", 0);
    assert_eq!(xcom(&run)["Transform"]["TransformJobStatus"], "Completed");
    flow.expect("sense", 0);
    let run = flow.expect("sense_failed", 1);
    assert_error(
        &run,
        "Sagemaker job failed for the following reason: moto-failed",
    );
}

#[tokio::test(flavor = "current_thread")]
async fn tuning_waits_and_fails_as_the_provider() {
    bucket_with("smh-data", "train/a.csv", "1\n").await;
    let flow = Flow::new(
        "smh",
        &[
            (
                "tune",
                &op("SageMakerTuningOperator"),
                tuning("smh-1", "smh-data"),
            ),
            (
                "slow",
                &op("SageMakerTuningOperator"),
                tuning("smh-moto-slow", "smh-data"),
            ),
            (
                "failed",
                &op("SageMakerTuningOperator"),
                tuning("smh-moto-failed", "smh-data"),
            ),
            (
                "sense",
                &sensor("SageMakerTuningSensor"),
                "job_name: smh-1\npoke_interval: 1".to_owned(),
            ),
            (
                "sense_failed",
                &sensor("SageMakerTuningSensor"),
                "job_name: smh-moto-failed\npoke_interval: 1".to_owned(),
            ),
        ],
    );
    let run = flow.expect("tune", 0);
    let x = xcom(&run);
    assert_eq!(x["Tuning"]["HyperParameterTuningJobName"], "smh-1", "{x}");
    assert_eq!(x["Tuning"]["HyperParameterTuningJobStatus"], "Completed");
    let run = flow.expect("slow", 0);
    assert!(
        run.log.contains("current status is InProgress"),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "SageMaker resource failed because moto-failed");
    flow.expect("sense", 0);
    let run = flow.expect("sense_failed", 1);
    assert_error(
        &run,
        "Sagemaker job failed for the following reason: moto-failed",
    );
}

#[tokio::test(flavor = "current_thread")]
async fn models_endpoint_configs_and_endpoints() {
    let flow = Flow::new(
        "sme",
        &[
            ("model", &op("SageMakerModelOperator"), format!("config: {}", model("sme-model"))),
            ("config", &op("SageMakerEndpointConfigOperator"), format!("config: {}", endpoint_config("sme-config", "sme-model"))),
            (
                "endpoint",
                &op("SageMakerEndpointOperator"),
                "config: {EndpointName: sme-moto-slow, EndpointConfigName: sme-config}\ncheck_interval: 1".to_owned(),
            ),
            (
                "all_in_one",
                &op("SageMakerEndpointOperator"),
                format!(
                    "config:\n  Model: {}\n  EndpointConfig: {}\n  Endpoint: {{EndpointName: sme-moto-slow, EndpointConfigName: sme-config-2, Tags: [{{Key: team, Value: ml}}]}}\ncheck_interval: 1",
                    model("sme-model-2"),
                    endpoint_config("sme-config-2", "sme-model-2")
                ),
            ),
            (
                "failed",
                &op("SageMakerEndpointOperator"),
                "config: {EndpointName: sme-moto-failed, EndpointConfigName: sme-config}\ncheck_interval: 1".to_owned(),
            ),
            ("sense", &sensor("SageMakerEndpointSensor"), "endpoint_name: sme-moto-slow\npoke_interval: 1".to_owned()),
            ("sense_failed", &sensor("SageMakerEndpointSensor"), "endpoint_name: sme-moto-failed\npoke_interval: 1".to_owned()),
            ("delete", &op("SageMakerDeleteModelOperator"), "config: {ModelName: sme-model}".to_owned()),
            ("delete_again", &op("SageMakerDeleteModelOperator"), "config: {ModelName: sme-model}".to_owned()),
        ],
    );
    let run = flow.expect("model", 0);
    let x = xcom(&run);
    assert_eq!(x["Model"]["ModelName"], "sme-model", "{x}");
    assert_eq!(x["Model"]["ExecutionRoleArn"], ROLE);
    let run = flow.expect("config", 0);
    let x = xcom(&run);
    assert_eq!(
        x["EndpointConfig"]["EndpointConfigName"], "sme-config",
        "{x}"
    );
    assert_eq!(
        x["EndpointConfig"]["ProductionVariants"][0]["InitialInstanceCount"],
        1
    );
    let run = flow.expect("endpoint", 0);
    let x = xcom(&run);
    assert_eq!(x["Endpoint"]["EndpointName"], "sme-moto-slow", "{x}");
    assert_eq!(x["Endpoint"]["EndpointStatus"], "InService");
    assert_eq!(x["EndpointConfig"]["EndpointConfigName"], "sme-config");
    assert!(
        run.log
            .contains("SageMaker endpoint sme-moto-slow: Creating"),
        "{}",
        run.log
    );
    // The endpoint exists: the create becomes an update (without the tags).
    let run = flow.expect("all_in_one", 0);
    let x = xcom(&run);
    assert_eq!(x["Endpoint"]["EndpointConfigName"], "sme-config-2", "{x}");
    assert_eq!(x["EndpointConfig"]["EndpointConfigName"], "sme-config-2");
    assert!(
        run.log
            .contains("cannot create already existing endpoint sme-moto-slow, updating it")
            && run.log.contains("Provided tags will be ignored"),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "Waiter EndpointInService failed");
    assert_error(&run, "moto-failed: the resource failed");
    flow.expect("sense", 0);
    let run = flow.expect("sense_failed", 1);
    assert_error(
        &run,
        "Sagemaker job failed for the following reason: moto-failed",
    );
    let run = flow.expect("delete", 0);
    assert!(
        run.log.contains("Model sme-model deleted successfully."),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
    let run = flow.expect("delete_again", 1);
    assert_error(&run, "DeleteModel sme-model failed");
}

const PIPELINE_DEFINITION: &str = r#"{"Version": "2020-12-01", "Steps": [{"Name": "prepare", "Type": "Processing"}, {"Name": "train", "Type": "Training"}]}"#;

async fn pipeline(name: &str) {
    let sm = aws_sdk_sagemaker::Client::new(&config().await);
    sm.create_pipeline()
        .pipeline_name(name)
        .pipeline_definition(PIPELINE_DEFINITION)
        .role_arn(ROLE)
        .client_request_token(format!("token-{name}"))
        .send()
        .await
        .expect("CreatePipeline");
}

#[tokio::test(flavor = "current_thread")]
async fn pipelines_start_wait_stop_and_fail() {
    for p in [
        "smpl-ok",
        "smpl-moto-failed",
        "smpl-moto-stuck",
        "smpl-moto-slow",
    ] {
        pipeline(p).await;
    }
    let flow = Flow::new(
        "smpl",
        &[
            (
                "start",
                &op("SageMakerStartPipelineOperator"),
                "pipeline_name: smpl-moto-slow\ndisplay_name: nightly\npipeline_params: {epochs: 3, mode: full}\nwait_for_completion: true\ncheck_interval: 1".to_owned(),
            ),
            (
                "sense",
                &sensor("SageMakerPipelineSensor"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 1".to_owned(),
            ),
            (
                "failed",
                &op("SageMakerStartPipelineOperator"),
                "pipeline_name: smpl-moto-failed\nwait_for_completion: true\ncheck_interval: 1".to_owned(),
            ),
            ("failed_nowait", &op("SageMakerStartPipelineOperator"), "pipeline_name: smpl-moto-failed".to_owned()),
            (
                "sense_failed",
                &sensor("SageMakerPipelineSensor"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='failed_nowait') }}\"\npoke_interval: 1\nverbose: false".to_owned(),
            ),
            ("stuck", &op("SageMakerStartPipelineOperator"), "pipeline_name: smpl-moto-stuck".to_owned()),
            (
                "stop",
                &op("SageMakerStopPipelineOperator"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='stuck') }}\"\nwait_for_completion: true\ncheck_interval: 1".to_owned(),
            ),
            ("done", &op("SageMakerStartPipelineOperator"), "pipeline_name: smpl-ok\ndeferrable: true\ncheck_interval: 1".to_owned()),
            (
                "stop_done",
                &op("SageMakerStopPipelineOperator"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='done') }}\"".to_owned(),
            ),
            (
                "stop_done_strict",
                &op("SageMakerStopPipelineOperator"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='done') }}\"\nfail_if_not_running: true".to_owned(),
            ),
            ("unknown", &op("SageMakerStartPipelineOperator"), "pipeline_name: smpl-no-such-pipeline".to_owned()),
        ],
    );
    let run = flow.expect("start", 0);
    let arn = xcom(&run).as_str().unwrap_or_default().to_owned();
    assert!(
        arn.starts_with(
            "arn:aws:sagemaker:us-east-1:123456789012:pipeline/smpl-moto-slow/execution/"
        ),
        "{arn}"
    );
    assert!(
        run.log.contains("current status is Executing"),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("state of the pipeline steps: Counter({'Executing': 2})")
            && run
                .log
                .contains("steps currently in progress: ['prepare', 'train']"),
        "{}",
        run.log
    );
    let run = flow.expect("sense", 0);
    assert!(
        run.log.contains("pipeline currently Succeeded"),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "SageMaker resource failed because moto-failed");
    flow.expect("failed_nowait", 0);
    let run = flow.expect("sense_failed", 1);
    assert_error(
        &run,
        "Sagemaker pipeline failed for the following reason: Unknown",
    );
    flow.expect("stuck", 0);
    let run = flow.expect("stop", 0);
    assert_eq!(xcom(&run), "Stopped", "{}", run.log);
    assert!(run.log.contains("Status is now Stopping"), "{}", run.log);
    let run = flow.expect("done", 0);
    assert!(run.log.contains("deferrable is set"), "{}", run.log);
    let run = flow.expect("stop_done", 0);
    assert_eq!(xcom(&run), "Succeeded");
    assert!(
        run.log
            .contains("Cannot stop pipeline execution, as it was not running"),
        "{}",
        run.log
    );
    let run = flow.expect("stop_done_strict", 1);
    assert_error(
        &run,
        "Only pipelines with 'Executing' status can be stopped",
    );
    let run = flow.expect("unknown", 1);
    assert_error(&run, "StartPipelineExecution smpl-no-such-pipeline failed");
}

#[tokio::test(flavor = "current_thread")]
async fn notebook_instances_are_created_stopped_started_and_deleted() {
    let create = |name: &str| {
        format!(
            "instance_name: {name}\ninstance_type: ml.t3.medium\nrole_arn: {ROLE}\nvolume_size_in_gb: 5\ncreate_instance_kwargs: {{tags: {{team: ml}}, PlatformIdentifier: notebook-al2-v2}}"
        )
    };
    let flow = Flow::new(
        "smn",
        &[
            (
                "create",
                &op("SageMakerCreateNotebookOperator"),
                create("smn-1"),
            ),
            (
                "stop",
                &op("SageMakerStopNotebookOperator"),
                "instance_name: smn-1".to_owned(),
            ),
            (
                "start",
                &op("SageMakerStartNoteBookOperator"),
                "instance_name: smn-1".to_owned(),
            ),
            (
                "stop_again",
                &op("SageMakerStopNotebookOperator"),
                "instance_name: smn-1".to_owned(),
            ),
            (
                "delete",
                &op("SageMakerDeleteNotebookOperator"),
                "instance_name: smn-1".to_owned(),
            ),
            (
                "failed",
                &op("SageMakerCreateNotebookOperator"),
                create("smn-moto-failed"),
            ),
            (
                "missing",
                &op("SageMakerStartNoteBookOperator"),
                "instance_name: smn-none".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    assert_eq!(
        xcom(&run),
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/smn-1",
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Waiting for SageMaker notebook smn-1 to be in service"),
        "{}",
        run.log
    );
    flow.expect("stop", 0);
    flow.expect("start", 0);
    flow.expect("stop_again", 0);
    let run = flow.expect("delete", 0);
    assert!(run.xcom.is_none());
    assert!(
        run.log
            .contains("Waiting for SageMaker notebook smn-1 to delete..."),
        "{}",
        run.log
    );
    let run = flow.expect("failed", 1);
    assert_error(&run, "Waiter NotebookInstanceInService failed");
    let run = flow.expect("missing", 1);
    assert_error(&run, "StartNotebookInstance smn-none failed");
}

#[tokio::test(flavor = "current_thread")]
async fn experiments_model_versions_and_automl() {
    let flow = Flow::new(
        "smm",
        &[
            (
                "experiment",
                &op("SageMakerCreateExperimentOperator"),
                "name: smm-exp\ndescription: nightly runs\ntags: {team: ml}".to_owned(),
            ),
            (
                "register",
                &op("SageMakerRegisterModelVersionOperator"),
                "image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1\nmodel_url: s3://models/m.tar.gz\npackage_group_name: smm-group\nmodel_approval: Approved".to_owned(),
            ),
            (
                "register_again",
                &op("SageMakerRegisterModelVersionOperator"),
                "image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:2\nmodel_url: s3://models/m2.tar.gz\npackage_group_name: smm-group\nextras: {ModelPackageDescription: second}".to_owned(),
            ),
            (
                "automl",
                &op("SageMakerAutoMLOperator"),
                format!("job_name: smm-automl\ns3_input: s3://smm/in.csv\ntarget_attribute: y\ns3_output: s3://smm/out\nrole_arn: {ROLE}\ntime_limit: 600\ncheck_interval: 1"),
            ),
            (
                "automl_failed",
                &op("SageMakerAutoMLOperator"),
                format!("job_name: smm-moto-failed\ns3_input: s3://smm/in.csv\ntarget_attribute: y\ns3_output: s3://smm/out\nrole_arn: {ROLE}\ncheck_interval: 1"),
            ),
            (
                "automl_nowait",
                &op("SageMakerAutoMLOperator"),
                format!("job_name: smm-moto-slow\ns3_input: s3://smm/in.csv\ntarget_attribute: y\ns3_output: s3://smm/out\nrole_arn: {ROLE}\nwait_for_completion: false"),
            ),
            ("sense", &sensor("SageMakerAutoMLSensor"), "job_name: smm-moto-slow\npoke_interval: 1".to_owned()),
            ("sense_failed", &sensor("SageMakerAutoMLSensor"), "job_name: smm-moto-failed\npoke_interval: 1".to_owned()),
        ],
    );
    let run = flow.expect("experiment", 0);
    assert_eq!(
        xcom(&run),
        "arn:aws:sagemaker:us-east-1:123456789012:experiment/smm-exp",
        "{}",
        run.log
    );
    let run = flow.expect("register", 0);
    let arn = xcom(&run);
    assert!(
        arn.as_str()
            .is_some_and(|a| a.contains(":model-package/smm-group")),
        "{arn}"
    );
    assert!(
        run.log
            .contains("Created new Model Package Group with name smm-group"),
        "{}",
        run.log
    );
    let run = flow.expect("register_again", 0);
    assert!(
        run.log.contains("Model Package Group already exists"),
        "{}",
        run.log
    );
    assert_ne!(xcom(&run), arn);
    let run = flow.expect("automl", 0);
    assert_eq!(
        xcom(&run)["CandidateName"],
        "smm-automl-best",
        "{}",
        run.log
    );
    assert!(
        run.log.contains("smm-automl's current step: Completed"),
        "{}",
        run.log
    );
    let run = flow.expect("automl_failed", 1);
    assert_error(&run, "SageMaker resource failed because moto-failed");
    let run = flow.expect("automl_nowait", 0);
    assert!(run.xcom.is_none());
    let run = flow.expect("sense", 0);
    assert!(
        run.log.contains("autoML job currently InProgress"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_failed", 1);
    assert_error(
        &run,
        "Sagemaker autoML job failed for the following reason: Unknown",
    );
}

#[test]
fn validate_refuses_a_config_key_sagemaker_does_not_take() {
    let dir = TempDir::new("smv");
    let wf = dir.write(
        "smv.yaml",
        crate::flow::workflow(
            "smv",
            &[(
                "train",
                &op("SageMakerTrainingOperator"),
                training("smv", "b", ROLE).replace("VolumeSizeInGB", "VolumeSize"),
            )],
        ),
    );
    let out = airtask(&["validate", &wf]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("`config.ResourceConfig.VolumeSize` is not a key SageMaker takes here"),
        "{text}"
    );
}

/// `airtask run` of a whole corpus workflow with `params`; asserts every task succeeded.
fn run_corpus(rel: &str, params: &str, tasks: &[&str]) -> String {
    let file = airtask_tests::corpus_dir()
        .join(rel)
        .to_string_lossy()
        .into_owned();
    let out = airtask(&["validate", &file]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{rel}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = TempDir::new("sm-corpus");
    let out = airtask(&[
        "run",
        &file,
        "--run-id",
        "r1",
        "--params",
        params,
        "--state-dir",
        &dir.path().join("state").to_string_lossy(),
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{rel}:\n{text}");
    for task in tasks {
        let state = text
            .lines()
            .rev()
            .find(|l| l.split_whitespace().next() == Some(*task))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap_or_default();
        assert_eq!(state, "success", "{rel} {task}:\n{text}");
    }
    text
}

#[tokio::test(flavor = "current_thread")]
async fn the_sagemaker_corpus_workflows_validate_and_the_notebook_one_runs_end_to_end() {
    // aws-samples/sagemaker_dag.yaml validates, but its processing job takes its role from
    // `xcom_pull('create_sagemaker_stack')['CreateStackResponse']`, which the provider's
    // CloudFormationCreateStackOperator does not push (it returns nothing): it cannot run
    // end to end in Airflow either. The converter's example walks a notebook instance through
    // create, stop, start, stop and delete.
    let file = airtask_tests::corpus_dir().join("aws-samples/sagemaker_dag.yaml");
    let out = airtask(&["validate", &file.to_string_lossy()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    run_corpus(
        "converter-upstream/example_sagemaker_notebook.yaml",
        "{}",
        &[
            "create_instance",
            "stop_instance",
            "start_instance",
            "stop_instance_before_delete",
            "delete_instance",
        ],
    );
}

#[tokio::test(flavor = "current_thread")]
async fn updates_and_deferred_waits() {
    pipeline("smd-moto-stuck").await;
    let flow = Flow::new(
        "smd",
        &[
            ("model", &op("SageMakerModelOperator"), format!("config: {}", model("smd-model"))),
            ("config", &op("SageMakerEndpointConfigOperator"), format!("config: {}", endpoint_config("smd-config", "smd-model"))),
            (
                "create",
                &op("SageMakerEndpointOperator"),
                "config: {EndpointName: smd-endpoint, EndpointConfigName: smd-config}\nwait_for_completion: false".to_owned(),
            ),
            (
                "update",
                &op("SageMakerEndpointOperator"),
                format!(
                    "config:\n  EndpointConfig: {}\n  Endpoint: {{EndpointName: smd-endpoint, EndpointConfigName: smd-config-2}}\noperation: update\ndeferrable: true\ncheck_interval: 1",
                    endpoint_config("smd-config-2", "smd-model")
                ),
            ),
            ("start", &op("SageMakerStartPipelineOperator"), "pipeline_name: smd-moto-stuck".to_owned()),
            (
                "stop",
                &op("SageMakerStopPipelineOperator"),
                "pipeline_exec_arn: \"{{ ti.xcom_pull(task_ids='start') }}\"\ndeferrable: true\ncheck_interval: 1\nverbose: false".to_owned(),
            ),
        ],
    );
    flow.expect("model", 0);
    flow.expect("config", 0);
    let run = flow.expect("create", 0);
    assert_eq!(xcom(&run)["Endpoint"]["EndpointConfigName"], "smd-config");
    let run = flow.expect("update", 0);
    let x = xcom(&run);
    assert_eq!(x["Endpoint"]["EndpointConfigName"], "smd-config-2", "{x}");
    assert_eq!(x["Endpoint"]["EndpointStatus"], "InService");
    assert!(
        run.log
            .contains("Updating SageMaker endpoint smd-endpoint.")
            && run
                .log
                .contains("SageMaker endpoint smd-endpoint: Updating")
            && run.log.contains("deferrable is set"),
        "{}",
        run.log
    );
    flow.expect("start", 0);
    let run = flow.expect("stop", 0);
    assert_eq!(xcom(&run), "Stopped", "{}", run.log);
    assert!(run.log.contains("Stopping"), "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn a_model_version_that_cannot_be_created_rolls_back_its_new_group() {
    // `extras` sends the package to a group that does not exist: CreateModelPackage fails,
    // and the group this try created is deleted again.
    let flow = Flow::new(
        "smr",
        &[(
            "register",
            &op("SageMakerRegisterModelVersionOperator"),
            "image_uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/serve:1\nmodel_url: s3://models/m.tar.gz\npackage_group_name: smr-group\nextras: {ModelPackageGroupName: smr-no-such-group}".to_owned(),
        )],
    );
    let run = flow.expect("register", 1);
    assert_error(&run, "CreateModelPackage in smr-group failed");
    assert!(
        run.log
            .contains("Deleted the model package group smr-group this try created"),
        "{}",
        run.log
    );
    let sm = aws_sdk_sagemaker::Client::new(&config().await);
    let groups = sm
        .list_model_package_groups()
        .name_contains("smr-group")
        .send()
        .await
        .expect("ListModelPackageGroups");
    assert!(
        groups.model_package_group_summary_list().is_empty(),
        "{groups:?}"
    );
}
