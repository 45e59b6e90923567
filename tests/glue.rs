//! The Glue operators and sensors (jobs, crawlers, catalog partitions), each through
//! `airtask run-task` against the local endpoint: the success path with the provider's XCom,
//! and each failure (a FAILED run with its ErrorMessage and retries, SIGTERM during a run, a
//! failed crawl, a partition that never appears). The failure and stop paths come from the
//! endpoint's Glue patch (scripts/moto_patches/glue.py): job arguments `--moto-final-state`,
//! `--moto-polls`, `--moto-error-message`, and `moto:FAILED` in a crawler's Description. Then
//! the Glue workflows of ../shared/corpus. Every test has resource names of its own.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use airtask_tests::{TempDir, airtask, airtask_bin, corpus_dir, endpoint};

const JOBS: &str = "airflow.providers.amazon.aws.operators.glue";
const JOB_SENSOR: &str = "airflow.providers.amazon.aws.sensors.glue.GlueJobSensor";
const CRAWLER: &str = "airflow.providers.amazon.aws.operators.glue_crawler.GlueCrawlerOperator";
const CRAWLER_SENSOR: &str = "airflow.providers.amazon.aws.sensors.glue_crawler.GlueCrawlerSensor";
const PARTITION_SENSOR: &str =
    "airflow.providers.amazon.aws.sensors.glue_catalog_partition.GlueCatalogPartitionSensor";

async fn config() -> aws_config::SdkConfig {
    airtask_tests::aws_config_for(&endpoint(), None).await
}

async fn glue() -> aws_sdk_glue::Client {
    aws_sdk_glue::Client::new(&config().await)
}

/// A workflow `id` of `tasks`: (task id, operator class, parameters as YAML lines).
fn workflow(id: &str, tasks: &[(&str, &str, String)]) -> String {
    let mut text = format!("{id}:\n  default_args:\n    retries: 0\n  tasks:\n");
    for (task, op, params) in tasks {
        text.push_str(&format!("    {task}:\n      operator: {op}\n"));
        for line in params.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

/// One `run-task` of a workflow file: its exit code, output, record and XCom values.
struct Run {
    code: Option<i32>,
    log: String,
    record: serde_json::Value,
    xcom: Option<serde_json::Value>,
    xcom_run_id: Option<serde_json::Value>,
}

impl Run {
    fn error(&self) -> String {
        self.record["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// Runs tasks of one workflow file with one state directory (so XCom values flow between them).
struct Flow {
    id: String,
    wf: String,
    state: std::path::PathBuf,
    /// Holds the directory until the flow is dropped.
    _dir: TempDir,
}

impl Flow {
    fn new(id: &str, tasks: &[(&str, &str, String)]) -> Flow {
        let dir = TempDir::new(id);
        let wf = dir.write(&format!("{id}.yaml"), workflow(id, tasks));
        let state = dir.path().join("state");
        Flow {
            id: id.to_owned(),
            wf,
            state,
            _dir: dir,
        }
    }

    fn args<'a>(&'a self, task: &'a str, state: &'a str) -> Vec<&'a str> {
        vec![
            "run-task",
            &self.wf,
            task,
            "--state-dir",
            state,
            "--run-id",
            "r1",
            "--logical-date",
            "2025-03-09",
            "--output",
            "json",
        ]
    }

    fn xcom(&self, task: &str, key: &str) -> Option<serde_json::Value> {
        std::fs::read_to_string(
            self.state
                .join(format!("{}/r1/{task}/-1/xcom/{key}.json", self.id)),
        )
        .ok()
        .map(|t| serde_json::from_str(&t).expect("XCom JSON"))
    }

    fn run(&self, task: &str) -> Run {
        let state = self.state.to_string_lossy().into_owned();
        let out = airtask(&self.args(task, &state));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let log = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        Run {
            code: out.status.code(),
            record: airtask_tests::last_json_line(&stdout).unwrap_or(serde_json::Value::Null),
            xcom: self.xcom(task, "return_value"),
            xcom_run_id: self.xcom(task, "glue_job_run_id"),
            log,
        }
    }

    fn expect(&self, task: &str, code: i32) -> Run {
        let r = self.run(task);
        assert_eq!(r.code, Some(code), "{task}:\n{}", r.log);
        r
    }
}

async fn create_role(name: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&config().await);
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"glue.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("CreateRole");
    out.role().expect("role").arn().to_owned()
}

async fn create_bucket(name: &str) {
    let s3 = airtask_tests::s3_client(&config().await);
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .expect("CreateBucket");
}

async fn job_run(
    glue: &aws_sdk_glue::Client,
    job: &str,
    run_id: &str,
) -> aws_sdk_glue::types::JobRun {
    glue.get_job_run()
        .job_name(job)
        .run_id(run_id)
        .send()
        .await
        .expect("GetJobRun")
        .job_run
        .expect("JobRun")
}

fn state_of(run: &aws_sdk_glue::types::JobRun) -> String {
    run.job_run_state()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn glue_job_operator_creates_the_job_uploads_the_script_and_returns_the_run_id() {
    let role_arn = create_role("gluet-job-role").await;
    create_bucket("gluet-job-bucket").await;
    let glue = glue().await;
    let id = "gluet_job";
    let dir = TempDir::new("gluet-script");
    let script = dir.write("gluet_etl.py", "print('hello from glue')\n");
    let tasks = [
        (
            "run_job",
            &*format!("{JOBS}.GlueJobOperator"),
            format!(
                "job_name: gluet-job-{{{{ ds_nodash }}}}\nscript_location: {script}\ns3_bucket: gluet-job-bucket\niam_role_name: gluet-job-role\nconcurrent_run_limit: 2\nretry_limit: 1\nscript_args: {{'--day': '{{{{ ds }}}}', '--moto-polls': '2'}}\nrun_job_kwargs: {{Timeout: 30}}\njob_poll_interval: 0.2"
            ),
        ),
        (
            "run_again_updated",
            &*format!("{JOBS}.GlueJobOperator"),
            "job_name: gluet-job-20250309\njob_desc: changed by update_config\nscript_location: s3://gluet-job-bucket/other.py\niam_role_arn: arn:aws:iam::123456789012:role/other\nupdate_config: true\nconcurrent_run_limit: 2\njob_poll_interval: 0.2".to_owned(),
        ),
        (
            "no_wait",
            &*format!("{JOBS}.GlueJobOperator"),
            "job_name: gluet-job-20250309\nwait_for_completion: false\nscript_args: {'--moto-polls': '1000000'}\nverbose: true".to_owned(),
        ),
        (
            "both_roles",
            &*format!("{JOBS}.GlueJobOperator"),
            "job_name: gluet-job-x\niam_role_name: a\niam_role_arn: arn:aws:iam::123456789012:role/b".to_owned(),
        ),
        (
            "workers_without_type",
            &*format!("{JOBS}.GlueJobOperator"),
            "job_name: gluet-job-x\ncreate_job_kwargs: {NumberOfWorkers: 2}".to_owned(),
        ),
        (
            "unknown_param",
            &*format!("{JOBS}.GlueJobOperator"),
            "job_name: gluet-job-x\nscript_arguments: {}".to_owned(),
        ),
    ];
    let flow = Flow::new(id, &tasks);

    // Created from script_location (uploaded), s3_bucket and the role's ARN; run with the
    // rendered script_args; the run id is the XCom value, also under `glue_job_run_id`.
    let r = flow.expect("run_job", 0);
    let run_id = r
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .expect("XCom run id")
        .to_owned();
    assert!(run_id.starts_with("jr_"), "{run_id}");
    assert_eq!(r.xcom_run_id, r.xcom, "{}", r.log);
    assert!(
        r.log
            .contains("Initializing AWS Glue Job: gluet-job-20250309. Wait for completion: True"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains(&format!(
            "You can monitor this Glue Job run at: https://console.aws.amazon.com/gluestudio/home?region=us-east-1#/job/gluet-job-20250309/run/{run_id}"
        )),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("RUNNING"),
        "a poll saw the run running: {}",
        r.log
    );
    assert!(
        r.log
            .contains(&format!("Exiting Job {run_id} Run State: SUCCEEDED")),
        "{}",
        r.log
    );
    let job = glue
        .get_job()
        .job_name("gluet-job-20250309")
        .send()
        .await
        .expect("GetJob")
        .job
        .expect("Job");
    assert_eq!(job.role(), Some(&*role_arn));
    assert_eq!(job.description(), Some("AWS Glue Job with Airflow"));
    assert_eq!(
        job.command().and_then(|c| c.script_location()),
        Some("s3://gluet-job-bucket/artifacts/glue-scripts/gluet_etl.py")
    );
    assert_eq!(job.command().and_then(|c| c.name()), Some("glueetl"));
    assert_eq!(
        job.log_uri(),
        Some("s3://gluet-job-bucket/logs/glue-logs/gluet-job-20250309")
    );
    assert_eq!(
        job.execution_property().map(|e| e.max_concurrent_runs()),
        Some(2)
    );
    assert_eq!(job.max_retries(), 1);
    assert_eq!(job.max_capacity(), Some(10.0));
    let s3 = airtask_tests::s3_client(&config().await);
    let body = s3
        .get_object()
        .bucket("gluet-job-bucket")
        .key("artifacts/glue-scripts/gluet_etl.py")
        .send()
        .await
        .expect("the uploaded script")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&body[..], b"print('hello from glue')\n");
    let run = job_run(&glue, "gluet-job-20250309", &run_id).await;
    assert_eq!(
        run.arguments()
            .and_then(|a| a.get("--day"))
            .map(String::as_str),
        Some("2025-03-09")
    );
    assert_eq!(run.timeout(), Some(30));

    // A second run finds the job and uses it as it is; the script already uploaded is kept.
    let r = flow.expect("run_job", 0);
    assert_ne!(r.xcom.as_ref().and_then(|v| v.as_str()), Some(&*run_id));

    // update_config: the job is updated to the new definition before the run.
    let r = flow.expect("run_again_updated", 0);
    assert!(r.xcom.is_some(), "{}", r.log);
    let job = glue
        .get_job()
        .job_name("gluet-job-20250309")
        .send()
        .await
        .expect("GetJob")
        .job
        .expect("Job");
    assert_eq!(job.description(), Some("changed by update_config"));
    assert_eq!(job.role(), Some("arn:aws:iam::123456789012:role/other"));
    assert_eq!(
        job.command().and_then(|c| c.script_location()),
        Some("s3://gluet-job-bucket/other.py")
    );

    // wait_for_completion: false returns the id of a run still running.
    let r = flow.expect("no_wait", 0);
    let pending = r
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .expect("run id")
        .to_owned();
    assert!(r.log.contains(&format!("Run Id: {pending}")), "{}", r.log);
    assert_eq!(
        state_of(&job_run(&glue, "gluet-job-20250309", &pending).await),
        "RUNNING"
    );

    // Bad parameters are refused before any call (exit 2), naming what is wrong.
    let r = flow.expect("both_roles", 2);
    assert!(
        r.log
            .contains("Cannot set iam_role_arn and iam_role_name simultaneously"),
        "{}",
        r.log
    );
    let r = flow.expect("workers_without_type", 2);
    assert!(
        r.log
            .contains("Need to specify custom WorkerType when specifying NumberOfWorkers"),
        "{}",
        r.log
    );
    let r = flow.expect("unknown_param", 2);
    assert!(r.log.contains("script_arguments"), "{}", r.log);
    assert!(
        r.log.contains("script_args"),
        "lists the accepted ones: {}",
        r.log
    );
    drop(dir);
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_glue_job_run_fails_the_try_with_its_error_message_and_is_retried() {
    let glue = glue().await;
    let tasks = [(
        "fails",
        &*format!("{JOBS}.GlueJobOperator"),
        "job_name: gluet-fail-job\nscript_location: s3://gluet-nowhere/etl.py\niam_role_arn: arn:aws:iam::123456789012:role/glue\nconcurrent_run_limit: 5\nscript_args: {'--moto-final-state': FAILED, '--moto-error-message': 'ZeroDivisionError: division by zero'}\njob_poll_interval: 0.2\nretries: 1\nretry_delay: 0".to_owned(),
    ), (
        "times_out",
        &*format!("{JOBS}.GlueJobOperator"),
        "job_name: gluet-timeout-job\nscript_location: s3://gluet-nowhere/etl.py\niam_role_arn: arn:aws:iam::123456789012:role/glue\nscript_args: {'--moto-final-state': TIMEOUT}\njob_poll_interval: 0.2".to_owned(),
    )];
    let flow = Flow::new("gluet_fail", &tasks);
    let r = flow.expect("fails", 1);
    let error = r.error();
    assert!(error.contains("Run State: FAILED"), "{}", r.log);
    assert!(
        error.contains("ZeroDivisionError: division by zero"),
        "the run's ErrorMessage is in the task error: {}",
        r.log
    );
    assert_eq!(r.record["try"], 2, "retried per `retries`: {}", r.log);
    assert_eq!(r.xcom, None);
    let runs = glue
        .get_job_runs()
        .job_name("gluet-fail-job")
        .send()
        .await
        .expect("GetJobRuns");
    assert_eq!(runs.job_runs().len(), 2, "one run per try");
    for run in runs.job_runs() {
        assert_eq!(state_of(run), "FAILED");
    }

    let r = flow.expect("times_out", 1);
    assert!(r.error().contains("Run State: TIMEOUT"), "{}", r.log);
    assert!(
        r.error().contains("moto: job run ended TIMEOUT"),
        "{}",
        r.log
    );
}

/// Starts `task` of `flow` and returns the child and the run id once the run has started.
fn start_until_run(flow: &Flow, task: &str) -> (std::process::Child, String, Vec<String>) {
    let state = flow.state.to_string_lossy().into_owned();
    let mut child = Command::new(airtask_bin())
        .args(flow.args(task, &state))
        .stdout(Stdio::piped())
        .spawn()
        .expect("run-task");
    let mut seen = Vec::new();
    let mut run_id = None;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = std::io::BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        let found = line
            .split("/run/")
            .nth(1)
            .filter(|_| line.contains("You can monitor this Glue Job run at"))
            .map(|s| s.trim().to_owned());
        seen.push(line);
        if let Some(id) = found {
            run_id = Some(id);
            break;
        }
    }
    let run_id = run_id.unwrap_or_else(|| panic!("no run started:\n{}", seen.join("\n")));
    // Keep draining stdout so the child never blocks on a full pipe (the thread ends at EOF).
    std::thread::spawn(move || lines.map_while(Result::ok).count());
    (child, run_id, seen)
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_during_a_glue_job_run_stops_the_run_when_asked() {
    let glue = glue().await;
    let base = "script_location: s3://gluet-nowhere/etl.py\niam_role_arn: arn:aws:iam::123456789012:role/glue\nscript_args: {'--moto-polls': '1000000'}\njob_poll_interval: 0.5";
    let tasks = [
        (
            "stops",
            &*format!("{JOBS}.GlueJobOperator"),
            format!("job_name: gluet-kill-job\nstop_job_run_on_kill: true\n{base}"),
        ),
        (
            "keeps_running",
            &*format!("{JOBS}.GlueJobOperator"),
            format!("job_name: gluet-nokill-job\n{base}"),
        ),
    ];
    let flow = Flow::new("gluet_kill", &tasks);

    let (mut child, run_id, seen) = start_until_run(&flow, "stops");
    airtask_tests::terminate(&child);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(4), "{}", seen.join("\n"));
    // BatchStopJobRun was called: the run is STOPPING, then STOPPED.
    let first = state_of(&job_run(&glue, "gluet-kill-job", &run_id).await);
    assert!(first == "STOPPING" || first == "STOPPED", "{first}");
    assert_eq!(
        state_of(&job_run(&glue, "gluet-kill-job", &run_id).await),
        "STOPPED"
    );

    // Without stop_job_run_on_kill the run goes on, as in the provider.
    let (mut child, run_id, seen) = start_until_run(&flow, "keeps_running");
    airtask_tests::terminate(&child);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(4), "{}", seen.join("\n"));
    assert_eq!(
        state_of(&job_run(&glue, "gluet-nokill-job", &run_id).await),
        "RUNNING"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn glue_job_sensor_waits_for_the_run_and_prints_its_logs() {
    let glue = glue().await;
    let job = "gluet-sensor-job";
    glue.create_job()
        .name(job)
        .role("arn:aws:iam::123456789012:role/glue")
        .command(
            aws_sdk_glue::types::JobCommand::builder()
                .name("glueetl")
                .script_location("s3://gluet-nowhere/etl.py")
                .build(),
        )
        .execution_property(
            aws_sdk_glue::types::ExecutionProperty::builder()
                .max_concurrent_runs(5)
                .build(),
        )
        .send()
        .await
        .expect("CreateJob");
    let start = |args: &[(&str, &str)]| {
        let mut req = glue.start_job_run().job_name(job);
        for (k, v) in args {
            req = req.arguments(*k, *v);
        }
        req.send()
    };
    let ok = start(&[("--moto-polls", "3")])
        .await
        .expect("start")
        .job_run_id
        .expect("id");
    let failed = start(&[
        ("--moto-final-state", "FAILED"),
        ("--moto-error-message", "boom"),
    ])
    .await
    .expect("start")
    .job_run_id
    .expect("id");
    let stuck = start(&[("--moto-polls", "1000000")])
        .await
        .expect("start")
        .job_run_id
        .expect("id");
    // The run's driver output, where Glue writes it: <LogGroupName>/output, stream = run id.
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config().await);
    let _ = logs
        .create_log_group()
        .log_group_name("test/log/output")
        .send()
        .await;
    logs.create_log_stream()
        .log_group_name("test/log/output")
        .log_stream_name(&ok)
        .send()
        .await
        .expect("CreateLogStream");
    // At the run's start (the provider reads from StartedOn on). This read is one of the run's
    // three RUNNING answers.
    let started = job_run(&glue, job, &ok)
        .await
        .started_on()
        .map(|t| t.secs() * 1000 + i64::from(t.subsec_nanos() / 1_000_000))
        .expect("StartedOn");
    logs.put_log_events()
        .log_group_name("test/log/output")
        .log_stream_name(&ok)
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(started + 1)
                .message("gluet driver says hello")
                .build()
                .expect("event"),
        )
        .send()
        .await
        .expect("PutLogEvents");

    let tasks = [
        (
            "ok",
            JOB_SENSOR,
            format!("job_name: {job}\nrun_id: {ok}\nverbose: true\npoke_interval: 0.2"),
        ),
        (
            "failed",
            JOB_SENSOR,
            format!("job_name: {job}\nrun_id: {failed}\npoke_interval: 0.2"),
        ),
        (
            "never",
            JOB_SENSOR,
            format!("job_name: {job}\nrun_id: {stuck}\npoke_interval: 0.2\ntimeout: 1"),
        ),
    ];
    let flow = Flow::new("gluet_sensor", &tasks);
    let r = flow.expect("ok", 0);
    assert_eq!(r.xcom, None);
    assert!(
        r.log.contains("Glue Job Run test/log/output Logs:"),
        "{}",
        r.log
    );
    assert!(r.log.contains("gluet driver says hello"), "{}", r.log);
    assert!(
        r.log
            .contains("No new log from the Glue Job in test/log/error")
            || r.log.contains("No new Glue driver logs so far."),
        "{}",
        r.log
    );
    let r = flow.expect("failed", 1);
    assert!(
        r.error()
            .contains(&format!("Exiting Job {failed} Run State: FAILED")),
        "{}",
        r.log
    );
    assert!(r.error().contains("boom"), "{}", r.log);
    let r = flow.expect("never", 1);
    assert!(r.error().starts_with("Sensor has timed out"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn glue_crawler_operator_and_sensor_succeed_and_report_a_failed_crawl() {
    let glue = glue().await;
    let config = |name: &str, desc: &str| {
        format!(
            "config:\n  Name: {name}\n  Role: arn:aws:iam::123456789012:role/crawler\n  DatabaseName: gluet_crawl_db\n  Description: '{desc}'\n  Targets: {{S3Targets: [{{Path: 's3://gluet-crawl/in/'}}]}}\npoll_interval: 0.2"
        )
    };
    let tasks = [
        ("crawl", CRAWLER, config("gluet-crawler", "first")),
        ("crawl_updated", CRAWLER, config("gluet-crawler", "second")),
        (
            "crawl_fails",
            CRAWLER,
            config("gluet-bad-crawler", "moto:FAILED"),
        ),
        (
            "sense",
            CRAWLER_SENSOR,
            "crawler_name: gluet-crawler\npoke_interval: 0.2".to_owned(),
        ),
        (
            "sense_failed",
            CRAWLER_SENSOR,
            "crawler_name: gluet-bad-crawler\npoke_interval: 0.2".to_owned(),
        ),
        ("no_name", CRAWLER, "config: {Role: r}".to_owned()),
    ];
    let flow = Flow::new("gluet_crawl", &tasks);
    let r = flow.expect("crawl", 0);
    assert_eq!(r.xcom, Some(serde_json::json!("gluet-crawler")));
    assert!(r.log.contains("Status: SUCCEEDED"), "{}", r.log);
    assert!(
        r.log.contains("Last Runtime Duration (seconds):"),
        "{}",
        r.log
    );
    let r = flow.expect("crawl_updated", 0);
    assert_eq!(r.xcom, Some(serde_json::json!("gluet-crawler")));
    let crawler = glue
        .get_crawler()
        .name("gluet-crawler")
        .send()
        .await
        .expect("GetCrawler")
        .crawler
        .expect("Crawler");
    assert_eq!(
        crawler.description(),
        Some("second"),
        "updated before the run"
    );
    let r = flow.expect("sense", 0);
    assert_eq!(r.xcom, None);

    let r = flow.expect("crawl_fails", 1);
    assert!(r.error().contains("FAILED"), "{}", r.log);
    assert!(r.error().contains("gluet-bad-crawler"), "{}", r.log);
    let r = flow.expect("sense_failed", 1);
    assert!(r.error().contains("Status: FAILED"), "{}", r.log);

    let r = flow.expect("no_name", 2);
    assert!(r.log.contains("Name"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn glue_catalog_partition_sensor_finds_a_partition_and_times_out_without_one() {
    use aws_sdk_glue::types::{
        Column, DatabaseInput, PartitionInput, StorageDescriptor, TableInput,
    };
    let glue = glue().await;
    glue.create_database()
        .database_input(
            DatabaseInput::builder()
                .name("gluet_pdb")
                .build()
                .expect("db"),
        )
        .send()
        .await
        .expect("CreateDatabase");
    glue.create_table()
        .database_name("gluet_pdb")
        .table_input(
            TableInput::builder()
                .name("events")
                .partition_keys(
                    Column::builder()
                        .name("ds")
                        .r#type("string")
                        .build()
                        .expect("col"),
                )
                .build()
                .expect("table"),
        )
        .send()
        .await
        .expect("CreateTable");
    glue.create_partition()
        .database_name("gluet_pdb")
        .table_name("events")
        .partition_input(
            PartitionInput::builder()
                .values("2025-03-09")
                .storage_descriptor(
                    StorageDescriptor::builder()
                        .location("s3://gluet-p/events/ds=2025-03-09/")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreatePartition");
    let tasks = [
        (
            "today",
            PARTITION_SENSOR,
            "database_name: gluet_pdb\ntable_name: events\npoke_interval: 0.2".to_owned(),
        ),
        (
            "dotted",
            PARTITION_SENSOR,
            "table_name: gluet_pdb.events\nexpression: \"ds='2025-03-09'\"\npoke_interval: 0.2"
                .to_owned(),
        ),
        (
            "never",
            PARTITION_SENSOR,
            "database_name: gluet_pdb\ntable_name: events\nexpression: \"ds='1999-01-01'\"\npoke_interval: 0.2\ntimeout: 1\nretries: 2\nretry_delay: 0".to_owned(),
        ),
        (
            "no_table",
            PARTITION_SENSOR,
            "database_name: gluet_pdb\ntable_name: nope\npoke_interval: 0.2".to_owned(),
        ),
    ];
    let flow = Flow::new("gluet_part", &tasks);
    let r = flow.expect("today", 0);
    assert_eq!(r.xcom, None);
    assert!(
        r.log
            .contains("Poking for table gluet_pdb. events, expression ds='2025-03-09'"),
        "the default expression is ds='{{{{ ds }}}}': {}",
        r.log
    );
    flow.expect("dotted", 0);
    let r = flow.expect("never", 1);
    assert!(r.error().starts_with("Sensor has timed out"), "{}", r.log);
    assert_eq!(r.record["try"], 1, "a sensor timeout is not retried");
    let r = flow.expect("no_table", 1);
    assert!(r.error().contains("EntityNotFoundException"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn example_glue_from_the_corpus_validates_and_runs_end_to_end() {
    use aws_sdk_glue::types::{
        Column, DatabaseInput, PartitionInput, StorageDescriptor, TableInput,
    };
    let file = corpus_dir().join("converter-upstream/example_glue.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = airtask(&["validate", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the workflow expects to exist: the job's role, and the table the crawler would have
    // made (moto's crawls create no tables) with the partition the sensor waits for.
    create_role("WorkflowExecutionRole").await;
    let glue = glue().await;
    glue.create_database()
        .database_input(
            DatabaseInput::builder()
                .name("py2yml-unique-id-112413_glue_db")
                .build()
                .expect("db"),
        )
        .send()
        .await
        .expect("CreateDatabase");
    glue.create_table()
        .database_name("py2yml-unique-id-112413_glue_db")
        .table_input(
            TableInput::builder()
                .name("input")
                .partition_keys(
                    Column::builder()
                        .name("category")
                        .r#type("string")
                        .build()
                        .expect("col"),
                )
                .build()
                .expect("table"),
        )
        .send()
        .await
        .expect("CreateTable");
    glue.create_partition()
        .database_name("py2yml-unique-id-112413_glue_db")
        .table_name("input")
        .partition_input(
            PartitionInput::builder()
                .values("mixed")
                .storage_descriptor(
                    StorageDescriptor::builder()
                        .location("s3://py2yml-unique-id-112413-bucket/input/category=mixed/")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("CreatePartition");
    let dir = TempDir::new("gluet-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let run = |task: &str| {
        let out = airtask(&[
            "run-task",
            &file_s,
            task,
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-07-15",
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
    for task in ["create_bucket", "upload_csv", "upload_script", "crawl_s3"] {
        run(task);
    }
    // The crawl runs on; the crawler sensor would poke again only after 60 s: let the crawl
    // move on first (one GetCrawler moves moto's crawl one step).
    let state_now = glue
        .get_crawler()
        .name("py2yml-unique-id-112413_crawler")
        .send()
        .await
        .expect("GetCrawler")
        .crawler
        .and_then(|c| c.state)
        .map(|s| s.as_str().to_owned());
    assert_eq!(
        state_now.as_deref(),
        Some("RUNNING"),
        "wait_for_completion: false"
    );
    for task in [
        "wait_for_crawl",
        "wait_for_catalog_partition",
        "submit_glue_job",
        "wait_for_job",
        "delete_bucket",
    ] {
        run(task);
    }
    let run_id = std::fs::read_to_string(
        dir.path()
            .join("state/example_glue/r1/submit_glue_job/-1/xcom/return_value.json"),
    )
    .expect("the job's XCom");
    assert!(run_id.contains("jr_"), "{run_id}");
}

#[tokio::test(flavor = "current_thread")]
async fn glue_dag_from_the_corpus_runs_end_to_end_through_its_stack() {
    // glue_dag.yaml makes its bucket and role with a CloudFormation stack, then reads the
    // stack's outputs as `xcom_pull(task_ids='create_glue_stack')['CreateStackResponse']
    // ['Outputs']`. The provider's CloudFormationCreateStackOperator pushes no XCom (nor does
    // airtask's: docs/operators/cloudformation.md), so the test writes the value the file
    // expects into the run's state, built from the real stack's outputs. Every task of the
    // file runs, in its order, against the endpoint.
    let file = corpus_dir().join("aws-samples/glue_dag.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = airtask(&["validate", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = TempDir::new("gluet-dag");
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
            r#"{"stack_name": "gluet-dag-stack"}"#,
            "--output",
            "json",
        ];
        let out = airtask(&args);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{task}:\n{text}");
        text
    };
    run("create_glue_stack");
    run("wait_for_glue_stack");
    let cfn = aws_sdk_cloudformation::Client::new(
        &airtask_tests::aws_config_for(&endpoint(), None).await,
    );
    let stack = cfn
        .describe_stacks()
        .stack_name("gluet-dag-stack")
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
    assert_eq!(outputs.len(), 2, "{outputs:?}");
    let bucket = outputs[0]["OutputValue"]
        .as_str()
        .expect("bucket")
        .to_owned();
    let role_name = outputs[1]["OutputValue"].as_str().expect("role").to_owned();
    let xcom_dir = dir
        .path()
        .join("state/glue_dag/r1/create_glue_stack/-1/xcom");
    assert!(
        !xcom_dir.join("return_value.json").exists(),
        "the stack task pushes no XCom"
    );
    std::fs::create_dir_all(&xcom_dir).expect("xcom dir");
    std::fs::write(
        xcom_dir.join("return_value.json"),
        serde_json::json!({"CreateStackResponse": {"Outputs": outputs}}).to_string(),
    )
    .expect("xcom");
    run("create_script");
    run("run_glue_job");
    let glue = glue().await;
    let job = glue
        .get_job()
        .job_name("glue5-python3-job-20240101")
        .send()
        .await
        .expect("GetJob")
        .job
        .expect("Job");
    assert!(
        job.role()
            .is_some_and(|r| r.ends_with(&format!(":role/{role_name}"))),
        "the stack's role: {:?}",
        job.role()
    );
    assert_eq!(job.glue_version(), Some("5.0"));
    assert_eq!(
        job.command().and_then(|c| c.script_location()),
        Some(format!("s3://{bucket}/scripts/glue-sample-job.py").as_str())
    );
    assert_eq!(job.timeout(), Some(60));
    let xcom = std::fs::read_to_string(
        dir.path()
            .join("state/glue_dag/r1/run_glue_job/-1/xcom/return_value.json"),
    )
    .expect("the job's XCom");
    assert!(xcom.contains("jr_"), "{xcom}");
    run("delete_glue_stack");
    run("wait_for_glue_delete");
    let gone = cfn
        .describe_stacks()
        .stack_name("gluet-dag-stack")
        .send()
        .await
        .expect_err("the stack is deleted");
    assert!(
        format!("{:?}", gone.into_service_error()).contains("does not exist"),
        "DescribeStacks after the delete"
    );
}

#[test]
fn validate_checks_glue_parameters_down_to_the_keys_of_create_job_kwargs() {
    let dir = TempDir::new("gluet-validate");
    let wf = dir.write(
        "gluet_validate.yaml",
        workflow(
            "gluet_validate",
            &[
                (
                    "job",
                    &format!("{JOBS}.GlueJobOperator"),
                    "job_name: x\ncreate_job_kwargs:\n  Timeoutt: 5".to_owned(),
                ),
                (
                    "crawl",
                    CRAWLER,
                    "config: \"{{ params.config }}\"\npoll_interval: \"{{ params.p }}\"".to_owned(),
                ),
                (
                    "part",
                    PARTITION_SENSOR,
                    "table_name: t\nexpresion: \"ds='x'\"".to_owned(),
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
    // The typo, with its line, and the keys that are accepted.
    assert!(
        text.contains("gluet_validate.yaml:9:")
            && text.contains(
                "error: task 'job', key 'create_job_kwargs': GlueJobOperator parameter \
                 `create_job_kwargs.Timeoutt` is not a setting"
            ),
        "{text}"
    );
    assert!(text.contains("Timeout, SecurityConfiguration"), "{text}");
    // A misspelt parameter of a sensor; templates pass where their rendering may fit.
    assert!(text.contains("has no parameter `expresion`"), "{text}");
    assert!(!text.contains("task 'crawl'"), "{text}");
    assert!(text.contains("2 errors"), "{text}");
}
