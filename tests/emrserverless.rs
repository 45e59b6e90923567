//! The EMR Serverless operators and sensors through `airtask run-task` against the local
//! endpoint, with AIRTASK_CHECK_PERMISSIONS set by the test command (every call declared). The
//! failing and slow paths come from the endpoint's EMR Serverless patch
//! (scripts/moto_patches/emrserverless.py): `moto-failed` in an application's or job run's name
//! fails it, `moto-start-failed` makes an application stop when started, `moto-running` keeps
//! a job run RUNNING until cancelled. Every test has applications of its own.

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.emr";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.emr";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

const APP: &str = "\"{{ ti.xcom_pull(task_ids='create') }}\"";
const ROLE: &str = "arn:aws:iam::123456789012:role/emrst-job";

/// An application `name`, created and started.
fn create(name: &str) -> (&'static str, String, String) {
    (
        "create",
        op("EmrServerlessCreateApplicationOperator"),
        format!(
            "release_label: emr-7.0.0\njob_type: SPARK\nclient_request_token: tok-{name}\nconfig:\n  name: {name}\n  maximumCapacity: {{cpu: 8vCPU, memory: 32GB}}\nwaiter_delay: 0.2"
        ),
    )
}

/// A job run `name` on the application `create` made.
fn job(name: &str, extra: &str) -> String {
    format!(
        "application_id: {APP}\nexecution_role_arn: {ROLE}\nname: {name}\njob_driver:\n  sparkSubmit:\n    entryPoint: s3://b/job.py\n    entryPointArguments: [s3://b/out]\n    sparkSubmitParameters: --conf spark.executor.cores=1\nconfiguration_overrides:\n  monitoringConfiguration:\n    s3MonitoringConfiguration: {{logUri: 's3://b/logs'}}\nwaiter_delay: 0.2{extra}"
    )
}

fn tasks(
    name: &str,
    more: Vec<(&'static str, String, String)>,
) -> Vec<(&'static str, String, String)> {
    let mut all = vec![create(name)];
    all.extend(more);
    all
}

fn flow(id: &str, tasks: Vec<(&'static str, String, String)>) -> Flow {
    let borrowed: Vec<(&str, &str, String)> = tasks
        .iter()
        .map(|(t, o, p)| (*t, o.as_str(), p.clone()))
        .collect();
    Flow::new(id, &borrowed)
}

fn string_xcom(run: &crate::flow::Run) -> String {
    run.xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string XCom:\n{}", run.log))
        .to_owned()
}

#[test]
fn an_application_runs_a_job_and_is_stopped_and_deleted() {
    let f = flow(
        "emrst_app",
        tasks(
            "emrst-app",
            vec![
                (
                    "ready",
                    sensor("EmrServerlessApplicationSensor"),
                    format!(
                        "application_id: {APP}\ntarget_states: \"frozenset({{'STARTED', 'CREATED'}})\"\npoke_interval: 0.2\ntimeout: 30"
                    ),
                ),
                (
                    "job",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-job", ""),
                ),
                (
                    "job_done",
                    sensor("EmrServerlessJobSensor"),
                    format!(
                        "application_id: {APP}\njob_run_id: \"{{{{ ti.xcom_pull(task_ids='job') }}}}\"\ntarget_states: [SUCCESS, RUNNING]\npoke_interval: 0.2\ntimeout: 30"
                    ),
                ),
                (
                    "stop",
                    op("EmrServerlessStopApplicationOperator"),
                    format!("application_id: {APP}\nwaiter_delay: 0.2"),
                ),
                (
                    "stopped",
                    sensor("EmrServerlessApplicationSensor"),
                    format!("application_id: {APP}\npoke_interval: 0.2\ntimeout: 30"),
                ),
                (
                    "job_again",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-job-2", "\nwait_for_completion: false"),
                ),
                (
                    "delete",
                    op("EmrServerlessDeleteApplicationOperator"),
                    format!("application_id: {APP}\nwaiter_delay: 0.2"),
                ),
            ],
        ),
    );
    let run = f.expect("create", 0);
    let app = string_xcom(&run);
    assert!(
        run.log
            .contains(&format!("EMR serverless application created: {app}"))
            && run.log.contains(&format!("Starting application {app}")),
        "{}",
        run.log
    );
    f.expect("ready", 0);
    let run = f.expect("job", 0);
    let job = string_xcom(&run);
    assert!(
        run.log
            .contains(&format!("EMR serverless job started: {job}"))
            && run
                .log
                .contains(&format!("Starting job on Application: {app}")),
        "{}",
        run.log
    );
    assert!(
        !run.log.contains("Application state is"),
        "already started: {}",
        run.log
    );
    f.expect("job_done", 0);
    let run = f.expect("stop", 0);
    assert!(
        run.log.contains(&format!(
            "EMR serverless application {app} stopped successfully"
        )),
        "{}",
        run.log
    );
    // STOPPED is a failure state of the application sensor.
    let run = f.expect("stopped", 1);
    assert!(
        run.error()
            .starts_with("EMR Serverless application failed: None (application ")
            && run.error().ends_with("is STOPPED)"),
        "{}",
        run.log
    );
    // A job on a stopped application starts it first.
    let run = f.expect("job_again", 0);
    assert!(
        run.log.contains("Application state is STOPPED"),
        "{}",
        run.log
    );
    let run = f.expect("delete", 0);
    assert!(
        run.log
            .contains(&format!("Now deleting application: {app}"))
            && run.log.contains("EMR serverless application deleted"),
        "{}",
        run.log
    );
}

#[test]
fn applications_that_fail_to_be_created_or_started_fail_the_task() {
    let f = flow(
        "emrst_app_failed",
        vec![
            create("emrst-moto-failed"),
            (
                "started",
                create("emrst-moto-start-failed").1,
                create("emrst-moto-start-failed").2,
            ),
            (
                "bad_config",
                op("EmrServerlessCreateApplicationOperator"),
                "release_label: emr-7.0.0\njob_type: SPARK\nconfig: {nmae: x}".to_owned(),
            ),
        ],
    );
    let run = f.expect("create", 1);
    assert!(
        run.error()
            .starts_with("Serverless Application creation failed: application ")
            && run.error().ends_with(
                "is TERMINATED - moto: application creation failed (moto-failed in the name)"
            ),
        "{}",
        run.log
    );
    let run = f.expect("started", 1);
    assert!(
        run.error()
            .starts_with("Serverless Application failed to start: application ")
            && run
                .error()
                .contains("is STOPPED - moto: application failed to start"),
        "{}",
        run.log
    );
    let run = f.expect("bad_config", 2);
    assert!(
        run.error().contains(
            "EmrServerlessCreateApplicationOperator parameter `config.nmae` is not a setting"
        ),
        "{}",
        run.log
    );
}

#[test]
fn failed_and_slow_jobs_fail_and_a_slow_one_is_cancelled() {
    let f = flow(
        "emrst_jobs",
        tasks(
            "emrst-jobs",
            vec![
                (
                    "failing",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-moto-failed", ""),
                ),
                (
                    "failed_submit",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-moto-failed-2", "\nwait_for_completion: false"),
                ),
                (
                    "failed",
                    sensor("EmrServerlessJobSensor"),
                    format!(
                        "application_id: {APP}\njob_run_id: \"{{{{ ti.xcom_pull(task_ids='failed_submit') }}}}\"\npoke_interval: 0.2\ntimeout: 30"
                    ),
                ),
                (
                    "slow",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-moto-running", "\nwaiter_max_attempts: 2"),
                ),
                (
                    "bad_role",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-x", "").replace(ROLE, "arn:aws:iam::999999999999:role/other"),
                ),
            ],
        ),
    );
    f.expect("create", 0);
    let run = f.expect("failing", 1);
    assert!(
        run.error().starts_with("Serverless Job failed: job run ")
            && run
                .error()
                .ends_with("is FAILED - moto: job failed (moto-failed in the name)"),
        "{}",
        run.log
    );
    f.expect("failed_submit", 0);
    let run = f.expect("failed", 1);
    assert!(
        run.error()
            .starts_with("EMR Serverless job failed: moto: job failed (moto-failed in the name)"),
        "{}",
        run.log
    );
    let run = f.expect("slow", 1);
    assert!(
        run.error().contains("Waiter error: max attempts reached"),
        "{}",
        run.log
    );
    let job = run
        .log
        .split("EMR serverless job started: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no job:\n{}", run.log))
        .to_owned();
    assert!(
        run.log.contains(&format!(
            "Cancelling EMR Serverless job {job} due to max waiter attempts reached"
        )),
        "{}",
        run.log
    );
    check_cancelled(&f, &job);
    let run = f.expect("bad_role", 1);
    assert!(
        run.error()
            .contains("Cross-account pass role is not allowed"),
        "{}",
        run.log
    );
}

/// The job sensor finds job `job` of the flow's application CANCELLED.
fn check_cancelled(f: &Flow, job: &str) {
    let app = f
        .xcom("create", "return_value")
        .and_then(|v| v.as_str().map(str::to_owned))
        .expect("the application id");
    let check = Flow::new(
        &format!("emrst_check_{}", job.to_ascii_lowercase()),
        &[(
            "sense",
            &sensor("EmrServerlessJobSensor"),
            format!("application_id: {app}\njob_run_id: {job}\npoke_interval: 0.2\ntimeout: 30"),
        )],
    );
    let run = check.expect("sense", 1);
    assert!(
        run.error().starts_with("EMR Serverless job failed:")
            && run.error().ends_with("is CANCELLED)"),
        "{}",
        run.log
    );
}

#[test]
fn a_killed_job_is_cancelled_and_force_stop_cancels_running_jobs() {
    let f = flow(
        "emrst_kill",
        tasks(
            "emrst-kill",
            vec![
                (
                    "killed",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-kill-moto-running", "\nwaiter_max_attempts: 100000"),
                ),
                (
                    "left_running",
                    op("EmrServerlessStartJobOperator"),
                    job("emrst-left-moto-running", "\nwait_for_completion: false"),
                ),
                (
                    "delete",
                    op("EmrServerlessDeleteApplicationOperator"),
                    format!("application_id: {APP}\nforce_stop: true\nwaiter_delay: 0.2"),
                ),
            ],
        ),
    );
    f.expect("create", 0);
    let started = f.start_until("killed", |l| {
        l.contains("Serverless Job status is: RUNNING (poll 1")
    });
    let job = started
        .seen
        .iter()
        .find_map(|l| l.split("EMR serverless job started: ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no job started:\n{}", started.seen.join("\n")));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains(&format!("Stopping job run with jobId - {job}")),
        "{log}"
    );
    assert!(
        log.contains(&format!("Job run {job} is CANCELLED")),
        "{log}"
    );
    check_cancelled(&f, &job);

    let left = string_xcom(&f.expect("left_running", 0));
    let run = f.expect("delete", 0);
    assert!(
        run.log
            .contains("Cancelling 1 pending job(s) for the application")
            && run
                .log
                .contains("now waiting for the 1 cancelled job(s) to terminate"),
        "{}",
        run.log
    );
    check_cancelled(&f, &left);
}

#[test]
fn the_emr_serverless_corpus_workflow_runs_end_to_end_through_its_stack() {
    // The stack makes the job role and a bucket; the application is created, started (the
    // waits end at their first poll), stopped and deleted.
    let file = airtask_tests::corpus_dir()
        .join("aws-samples/emr_serverless_dag.yaml")
        .to_string_lossy()
        .into_owned();
    let dir = airtask_tests::TempDir::new("emrst-corpus");
    let summary = crate::emr::run_whole(
        &file,
        r#"{"stack_name": "emrst-corpus-stack"}"#,
        &dir.path().join("state"),
    );
    for task in [
        "create_emr_stack",
        "wait_for_emr_stack",
        "create_application",
        "stop_application",
        "delete_application",
        "delete_emr_stack",
        "wait_for_emr_delete",
    ] {
        assert_eq!(
            crate::emr::state_of(&summary, task),
            "success",
            "{task}:\n{summary}"
        );
    }
}
