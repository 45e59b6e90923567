//! The AWS Batch operators and sensors through `airtask run-task` against the local endpoint: a
//! Fargate compute environment created and waited for (XCom: its ARN) or failing INVALID; the
//! compute environment and job queue sensors in each state class; BatchOperator running a job
//! through the hook's polling while following its CloudWatch log (XCom: the job id and the
//! provider's link values), a failed job (with `deferrable`, the `batch_job_complete` waiter),
//! SIGTERM (on_kill terminates the job); BatchSensor on succeeded, failed and running jobs.
//! Jobs run without Docker through the endpoint's Batch patch (scripts/moto_patches/batch.py):
//! the job definition's command goes through a tiny shell (`echo` lines go to the job's log
//! stream, `sleep N`, `exit N`), and a `moto:status` tag gives an environment or a queue its
//! statuses. Every test has resource names of its own; run them with
//! AIRTASK_CHECK_PERMISSIONS=1 so that each operator's IAM declaration is proven complete.

use airtask_tests::endpoint;
use aws_sdk_batch::types::{
    ComputeEnvironmentOrder, ComputeResource, ContainerProperties, CrType, JobDefinitionType,
    JqState, LogConfiguration, LogDriver, ResourceRequirement, ResourceType,
};

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.batch";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.batch";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

async fn config() -> aws_config::SdkConfig {
    airtask_tests::aws_config_for(&endpoint(), None).await
}

async fn batch() -> aws_sdk_batch::Client {
    aws_sdk_batch::Client::new(&config().await)
}

/// The service role Batch needs (moto checks that it exists). The tests run in parallel:
/// whichever creates it first, the others find it.
async fn service_role() -> String {
    let iam = aws_sdk_iam::Client::new(&config().await);
    let created = iam
        .create_role()
        .role_name("batcht-service")
        .assume_role_policy_document("{}")
        .send()
        .await;
    if let Ok(out) = created {
        return out.role().map(|r| r.arn().to_owned()).unwrap_or_default();
    }
    iam.get_role()
        .role_name("batcht-service")
        .send()
        .await
        .expect("GetRole")
        .role()
        .map(|r| r.arn().to_owned())
        .unwrap_or_default()
}

/// A subnet and the security group of the default VPC.
async fn network() -> (String, String) {
    let ec2 = aws_sdk_ec2::Client::new(&config().await);
    let subnets = ec2
        .describe_subnets()
        .send()
        .await
        .expect("DescribeSubnets");
    let groups = ec2
        .describe_security_groups()
        .send()
        .await
        .expect("DescribeSecurityGroups");
    (
        subnets.subnets()[0]
            .subnet_id()
            .unwrap_or_default()
            .to_owned(),
        groups.security_groups()[0]
            .group_id()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// A Fargate compute environment `name` (tagged `moto:status` = `statuses` when given).
async fn compute_environment(name: &str, statuses: Option<&str>) -> String {
    let (subnet, group) = network().await;
    let mut req = batch()
        .await
        .create_compute_environment()
        .compute_environment_name(name)
        .r#type(aws_sdk_batch::types::CeType::Managed)
        .state(aws_sdk_batch::types::CeState::Enabled)
        .service_role(service_role().await)
        .compute_resources(
            ComputeResource::builder()
                .r#type(CrType::Fargate)
                .maxv_cpus(4)
                .subnets(subnet)
                .security_group_ids(group)
                .build(),
        );
    if let Some(s) = statuses {
        req = req.tags("moto:status", s);
    }
    req.send()
        .await
        .expect("CreateComputeEnvironment")
        .compute_environment_arn()
        .unwrap_or_default()
        .to_owned()
}

/// A job queue `name` on a new environment (tagged `moto:status` = `statuses` when given).
async fn job_queue(name: &str, statuses: Option<&str>) -> String {
    let env = compute_environment(&format!("{name}-env"), None).await;
    let mut req = batch()
        .await
        .create_job_queue()
        .job_queue_name(name)
        .priority(1)
        .state(JqState::Enabled)
        .compute_environment_order(
            ComputeEnvironmentOrder::builder()
                .order(1)
                .compute_environment(env)
                .build(),
        );
    if let Some(s) = statuses {
        req = req.tags("moto:status", s);
    }
    req.send()
        .await
        .expect("CreateJobQueue")
        .job_queue_arn()
        .unwrap_or_default()
        .to_owned()
}

/// A container job definition `name` whose command is `sh -c script`, logging to
/// `/batcht/<name>`.
async fn job_definition(name: &str, script: &str) -> String {
    batch()
        .await
        .register_job_definition()
        .job_definition_name(name)
        .r#type(JobDefinitionType::Container)
        .container_properties(
            ContainerProperties::builder()
                .image("busybox")
                .resource_requirements(
                    ResourceRequirement::builder()
                        .r#type(ResourceType::Vcpu)
                        .value("1")
                        .build(),
                )
                .resource_requirements(
                    ResourceRequirement::builder()
                        .r#type(ResourceType::Memory)
                        .value("128")
                        .build(),
                )
                .command("sh")
                .command("-c")
                .command(script)
                .log_configuration(
                    LogConfiguration::builder()
                        .log_driver(LogDriver::Awslogs)
                        .options("awslogs-group", format!("/batcht/{name}"))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("RegisterJobDefinition")
        .job_definition_arn()
        .unwrap_or_default()
        .to_owned()
}

async fn job(id: &str) -> aws_sdk_batch::types::JobDetail {
    batch()
        .await
        .describe_jobs()
        .jobs(id)
        .send()
        .await
        .expect("DescribeJobs")
        .jobs()[0]
        .clone()
}

/// Builds a flow of `tasks` (id, class, parameters).
fn flow(id: &str, tasks: Vec<(&str, String, String)>) -> Flow {
    let tasks: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, c, p)| (*t, c.as_str(), p.clone()))
        .collect();
    Flow::new(id, &tasks)
}

#[tokio::test(flavor = "current_thread")]
async fn a_compute_environment_is_created_waited_for_and_sensed() {
    let role = service_role().await;
    let (subnet, group) = network().await;
    let create = |name: &str, statuses: &str| {
        format!(
            "compute_environment_name: {name}\nenvironment_type: MANAGED\nstate: ENABLED\n\
             compute_resources: {{type: FARGATE, maxvCpus: 4, subnets: ['{subnet}'], \
             securityGroupIds: ['{group}']}}\nservice_role: {role}\ntags: {{'moto:status': \
             '{statuses}'}}\ndeferrable: true\npoll_interval: 1\nmax_retries: 10"
        )
    };
    let flow = flow(
        "batcht_ce",
        vec![
            (
                "create",
                op("BatchCreateComputeEnvironmentOperator"),
                create("batcht-ce", "CREATING,CREATING,VALID"),
            ),
            (
                "invalid",
                op("BatchCreateComputeEnvironmentOperator"),
                create("batcht-ce-bad", "CREATING,INVALID"),
            ),
            (
                "sense",
                sensor("BatchComputeEnvironmentSensor"),
                "compute_environment: \"{{ ti.xcom_pull(task_ids='create') }}\"\npoke_interval: 0.5\ntimeout: 20".to_owned(),
            ),
            (
                "sense_invalid",
                sensor("BatchComputeEnvironmentSensor"),
                "compute_environment: batcht-ce-bad\npoke_interval: 0.5\ntimeout: 20".to_owned(),
            ),
            (
                "sense_updating",
                sensor("BatchComputeEnvironmentSensor"),
                "compute_environment: batcht-ce-upd\npoke_interval: 0.5\ntimeout: 2".to_owned(),
            ),
            (
                "sense_missing",
                sensor("BatchComputeEnvironmentSensor"),
                "compute_environment: batcht-ce-none\npoke_interval: 0.5\ntimeout: 20".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    let arn = "arn:aws:batch:us-east-1:123456789012:compute-environment/batcht-ce";
    assert_eq!(run.xcom, Some(serde_json::json!(arn)), "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "AWS Batch compute environment {arn}: CREATING (poll 1 of 10"
        )),
        "{}",
        run.log
    );
    let run = flow.expect("invalid", 1);
    assert!(
        run.error()
            .starts_with("Error while waiting for the compute environment to be ready:")
            && run.error().ends_with("is INVALID (moto: INVALID)"),
        "{}",
        run.log
    );
    flow.expect("sense", 0);
    let run = flow.expect("sense_invalid", 1);
    assert_eq!(
        run.error(),
        "AWS Batch compute environment failed. AWS Batch compute environment status: INVALID",
        "{}",
        run.log
    );
    compute_environment("batcht-ce-upd", Some("UPDATING")).await;
    let run = flow.expect("sense_updating", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    let run = flow.expect("sense_missing", 1);
    assert_eq!(
        run.error(),
        "AWS Batch compute environment batcht-ce-none not found",
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_job_queue_sensor_in_each_state() {
    job_queue("batcht-q-ok", Some("CREATING,VALID")).await;
    job_queue("batcht-q-bad", Some("INVALID")).await;
    job_queue("batcht-q-slow", Some("UPDATING")).await;
    let watch = |queue: &str, timeout: u32, extra: &str| {
        format!("job_queue: {queue}\npoke_interval: 0.5\ntimeout: {timeout}\n{extra}")
    };
    let flow = flow(
        "batcht_queue",
        vec![
            (
                "ok",
                sensor("BatchJobQueueSensor"),
                watch("batcht-q-ok", 20, ""),
            ),
            (
                "bad",
                sensor("BatchJobQueueSensor"),
                watch("batcht-q-bad", 20, ""),
            ),
            (
                "slow",
                sensor("BatchJobQueueSensor"),
                watch("batcht-q-slow", 2, ""),
            ),
            (
                "missing",
                sensor("BatchJobQueueSensor"),
                watch("batcht-q-none", 20, ""),
            ),
            (
                "missing_is_deleted",
                sensor("BatchJobQueueSensor"),
                watch("batcht-q-none", 20, "treat_non_existing_as_deleted: true"),
            ),
        ],
    );
    let run = flow.expect("ok", 0);
    assert!(
        run.log.contains("Poke 1: criteria not met"),
        "CREATING first:\n{}",
        run.log
    );
    let run = flow.expect("bad", 1);
    assert_eq!(
        run.error(),
        "AWS Batch job queue failed. AWS Batch job queue status: INVALID",
        "{}",
        run.log
    );
    let run = flow.expect("slow", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    let run = flow.expect("missing", 1);
    assert_eq!(
        run.error(),
        "AWS Batch job queue batcht-q-none not found",
        "{}",
        run.log
    );
    flow.expect("missing_is_deleted", 0);
}

#[tokio::test(flavor = "current_thread")]
async fn a_job_runs_and_its_log_is_followed() {
    let queue = job_queue("batcht-run-q", None).await;
    let definition = job_definition(
        "batcht-run",
        "echo hello from batch; sleep 1; echo WARNING: almost; echo done",
    )
    .await;
    let flow = flow(
        "batcht_run",
        vec![
            (
                "submit",
                op("BatchOperator"),
                "job_name: batcht-run-{{ ds_nodash }}\njob_definition: batcht-run\n\
                 job_queue: batcht-run-q\nawslogs_enabled: true\nawslogs_fetch_interval: 1\n\
                 parameters: {day: '{{ ds }}'}\ntags: {team: data}\n\
                 container_overrides:\n  environment: [{name: STAGE, value: test}]"
                    .to_owned(),
            ),
            (
                "sense",
                sensor("BatchSensor"),
                "job_id: \"{{ ti.xcom_pull(task_ids='submit') }}\"\npoke_interval: 0.5\ntimeout: 20".to_owned(),
            ),
        ],
    );
    let run = flow.expect("submit", 0);
    let job_id = run
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no job id XCom:\n{}", run.log))
        .to_owned();
    for line in [
        "Running AWS Batch job - job definition: batcht-run - on queue batcht-run-q",
        &format!("AWS Batch job ({job_id}) started: "),
        &format!("AWS Batch job ({job_id}) check status (SUCCEEDED) in ['SUCCEEDED', 'FAILED']"),
        "] hello from batch",
        "] WARNING: almost",
        &format!("AWS Batch job ({job_id}) succeeded"),
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    assert_eq!(
        flow.xcom("submit", "batch_job_details"),
        Some(
            serde_json::json!({"region_name": "us-east-1", "aws_domain": "aws.amazon.com", "job_id": job_id})
        )
    );
    assert_eq!(
        flow.xcom("submit", "batch_job_definition"),
        Some(
            serde_json::json!({"region_name": "us-east-1", "aws_domain": "aws.amazon.com", "job_definition_arn": definition})
        )
    );
    assert_eq!(
        flow.xcom("submit", "batch_job_queue"),
        Some(
            serde_json::json!({"region_name": "us-east-1", "aws_domain": "aws.amazon.com", "job_queue_arn": queue})
        )
    );
    assert_eq!(
        flow.xcom("submit", "cloudwatch_events"),
        Some(
            serde_json::json!({"region_name": "us-east-1", "aws_domain": "aws.amazon.com",
            "awslogs_stream_name": format!("batcht-run/default/{job_id}"),
            "awslogs_group": "/batcht/batcht-run", "awslogs_region": "us-east-1"})
        )
    );
    let detail = job(&job_id).await;
    assert_eq!(detail.job_name(), Some("batcht-run-20250309"));
    assert_eq!(
        detail
            .parameters()
            .and_then(|p| p.get("day"))
            .map(String::as_str),
        Some("2025-03-09")
    );
    let sensed = flow.expect("sense", 0);
    assert!(
        sensed.log.contains("Success criteria met"),
        "{}",
        sensed.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_job_fails_the_operator_and_the_sensor() {
    job_queue("batcht-fail-q", None).await;
    job_definition("batcht-fail", "echo trying; exit 3").await;
    job_definition("batcht-ok", "echo fine").await;
    let submit = |definition: &str| {
        format!(
            "job_name: {definition}-job\njob_definition: {definition}\njob_queue: batcht-fail-q\n\
             deferrable: true\npoll_interval: 1"
        )
    };
    let flow = flow(
        "batcht_fail",
        vec![
            ("fails", op("BatchOperator"), submit("batcht-fail")),
            (
                "fails_polled",
                op("BatchOperator"),
                "job_name: batcht-fail-polled\njob_definition: batcht-fail\njob_queue: batcht-fail-q"
                    .to_owned(),
            ),
            ("succeeds", op("BatchOperator"), submit("batcht-ok")),
            (
                "sense",
                sensor("BatchSensor"),
                "job_id: \"{{ params.job }}\"\npoke_interval: 0.5\ntimeout: 20".to_owned(),
            ),
            (
                "sense_deferred",
                sensor("BatchSensor"),
                "job_id: \"{{ params.job }}\"\npoke_interval: 1\ndeferrable: true\nmax_retries: 10"
                    .to_owned(),
            ),
        ],
    );
    let run = flow.expect("fails", 1);
    assert!(
        run.error().starts_with("Error while running job: ")
            && run
                .error()
                .ends_with("is FAILED (Essential container in task exited)"),
        "{}",
        run.log
    );
    let job_id = run
        .log
        .split("AWS Batch job (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .unwrap_or_default()
        .to_owned();
    let detail = job(&job_id).await;
    assert_eq!(
        detail.container().and_then(|c| c.exit_code()),
        Some(3),
        "{}",
        run.log
    );
    // Without deferrable: the hook's polling, then check_job_success.
    let run = flow.expect("fails_polled", 1);
    assert!(
        run.error().starts_with("AWS Batch job (")
            && run.error().contains(") failed: {")
            && run.error().contains("\"exitCode\":3"),
        "{}",
        run.log
    );
    let run = flow.expect("succeeds", 0);
    assert!(
        run.log.contains("Job completed successfully for job_id: "),
        "{}",
        run.log
    );
    let with_job = |task: &str| {
        let mut a = flow.args(task);
        a.extend(["--params".to_owned(), format!("{{\"job\": \"{job_id}\"}}")]);
        a
    };
    for task in ["sense", "sense_deferred"] {
        let a = with_job(task);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let out = airtask_tests::airtask(&a);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(out.status.code(), Some(1), "{task}:\n{text}");
        let record = airtask_tests::last_json_line(&text).unwrap_or_default();
        let error = record["error"].as_str().unwrap_or_default();
        let expected = if task == "sense" {
            "Batch sensor failed. AWS Batch job status: FAILED"
        } else {
            "Error while running job: AWS Batch job"
        };
        assert!(error.starts_with(expected), "{task}: {error}\n{text}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_running_job_times_the_sensor_out_and_sigterm_terminates_it() {
    job_queue("batcht-kill-q", None).await;
    job_definition("batcht-kill", "echo started; sleep 300").await;
    let flow = flow(
        "batcht_kill",
        vec![
            (
                "submit",
                op("BatchOperator"),
                "job_name: batcht-kill-job\njob_definition: batcht-kill\njob_queue: batcht-kill-q\ndeferrable: true\npoll_interval: 1".to_owned(),
            ),
            (
                "sense",
                sensor("BatchSensor"),
                "job_id: \"{{ params.job }}\"\npoke_interval: 0.5\ntimeout: 2".to_owned(),
            ),
        ],
    );
    let started = flow.start_until("submit", |l| l.contains(") started: "));
    let job_id = started
        .seen
        .last()
        .and_then(|l| l.split("AWS Batch job (").nth(1))
        .and_then(|s| s.split(')').next())
        .unwrap_or_default()
        .to_owned();
    // The job is running: the sensor times out.
    let mut args = flow.args("sense");
    args.extend(["--params".to_owned(), format!("{{\"job\": \"{job_id}\"}}")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = airtask_tests::airtask(&args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("Sensor has timed out"), "{text}");
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    let mut detail = job(&job_id).await;
    for _ in 0..50 {
        if detail.status() == Some(&aws_sdk_batch::types::JobStatus::Failed) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        detail = job(&job_id).await;
    }
    assert_eq!(
        detail.status(),
        Some(&aws_sdk_batch::types::JobStatus::Failed),
        "{log}"
    );
    assert_eq!(detail.status_reason(), Some("Task killed by the user"));
}

#[tokio::test(flavor = "current_thread")]
async fn the_batch_corpus_workflow_runs_end_to_end_through_its_stack() {
    // batch_dag.yaml makes its VPC, roles, Fargate compute environment, job queue and job
    // definition with a CloudFormation stack and reads the queue and the definition as
    // `xcom_pull(task_ids='create_batch_stack')['CreateStackResponse']['Outputs']`. The stack
    // operator pushes no XCom (docs/operators/cloudformation.md), so the test writes the value
    // the file expects from the real stack's outputs, as the EMR and Glue corpus tests do. Every
    // task of the file runs, in its order; the job (`echo`) is waited for with the hook's
    // polling and its random pauses.
    let file = airtask_tests::corpus_dir()
        .join("aws-samples/batch_dag.yaml")
        .to_string_lossy()
        .into_owned();
    let dir = airtask_tests::TempDir::new("batcht-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let stack = "batcht-corpus-stack";
    let run = |task: &str| {
        let params = format!("{{\"stack_name\": \"{stack}\"}}");
        let out = airtask_tests::airtask(&[
            "run-task",
            &file,
            task,
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2024-01-01",
            "--params",
            &params,
            "--output",
            "json",
        ]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{task}:\n{text}");
        text
    };
    run("create_batch_stack");
    run("wait_for_batch_stack");
    let cfn = aws_sdk_cloudformation::Client::new(&config().await);
    let outputs: Vec<serde_json::Value> = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .expect("DescribeStacks")
        .stacks()
        .first()
        .expect("the stack")
        .outputs()
        .iter()
        .map(|o| serde_json::json!({"OutputKey": o.output_key(), "OutputValue": o.output_value()}))
        .collect();
    let keys: Vec<&str> = outputs
        .iter()
        .filter_map(|o| o["OutputKey"].as_str())
        .collect();
    assert_eq!(keys, ["JobQueueArn", "JobDefArn"], "{outputs:?}");
    let xcom_dir = dir
        .path()
        .join("state/batch_dag/r1/create_batch_stack/-1/xcom");
    std::fs::create_dir_all(&xcom_dir).expect("xcom dir");
    std::fs::write(
        xcom_dir.join("return_value.json"),
        serde_json::json!({"CreateStackResponse": {"Outputs": outputs}}).to_string(),
    )
    .expect("xcom");
    let text = run("submit_job");
    let job_id = std::fs::read_to_string(
        dir.path()
            .join("state/batch_dag/r1/submit_job/-1/xcom/return_value.json"),
    )
    .expect("the job id");
    let job_id: String = serde_json::from_str(&job_id).expect("a JSON string");
    assert!(
        text.contains(&format!("AWS Batch job ({job_id}) succeeded")),
        "{text}"
    );
    let detail = job(&job_id).await;
    assert_eq!(detail.job_name(), Some("batch-job-20240101"));
    assert_eq!(
        detail.status(),
        Some(&aws_sdk_batch::types::JobStatus::Succeeded)
    );
    run("delete_batch_stack");
    run("wait_for_batch_delete");
}
