//! The EMR operators and sensors through `airtask run-task` against the local endpoint, with
//! AIRTASK_CHECK_PERMISSIONS set by the test command (every call declared). The failing, slow
//! and notebook paths come from the endpoint's EMR patch (scripts/moto_patches/emr.py):
//! `moto-failed` in a cluster's, step's or job run's name (or a notebook's relative path)
//! fails it, `moto-starting` keeps a cluster STARTING, `moto-running` keeps a step, notebook
//! execution or job run RUNNING. Every test has clusters of its own.

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.emr";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.emr";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

/// `job_flow_overrides` of a cluster `name` that stays up without steps.
fn overrides(name: &str) -> String {
    format!(
        "job_flow_overrides:\n  Name: {name}\n  ReleaseLabel: emr-7.0.0\n  JobFlowRole: EMR_EC2_DefaultRole\n  ServiceRole: EMR_DefaultRole\n  Instances:\n    InstanceGroups:\n    - {{Name: Primary, Market: ON_DEMAND, InstanceRole: MASTER, InstanceType: m5.xlarge, InstanceCount: 1}}\n    KeepJobFlowAliveWhenNoSteps: true\n    TerminationProtected: false"
    )
}

/// A step `name` as the YAML list item of `steps`.
fn step(name: &str) -> String {
    format!(
        "- Name: {name}\n  ActionOnFailure: CONTINUE\n  HadoopJarStep:\n    Jar: command-runner.jar\n    Args: [spark-submit, s3://b/job.py]"
    )
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

fn string_xcom(run: &crate::flow::Run) -> String {
    run.xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no string XCom:\n{}", run.log))
        .to_owned()
}

#[test]
fn a_job_flow_is_created_given_steps_modified_sensed_and_terminated() {
    let pull = "\"{{ ti.xcom_pull(task_ids='create') }}\"";
    let flow = Flow::new(
        "emrt_flow",
        &[
            (
                "create",
                &op("EmrCreateJobFlowOperator"),
                format!(
                    "{}\nwait_for_completion: true\nwaiter_delay: 0.2\nemr_conn_id: aws_default",
                    overrides("emrt-flow")
                ),
            ),
            (
                "add",
                &op("EmrAddStepsOperator"),
                format!(
                    "job_flow_id: {pull}\nwait_for_completion: true\nwaiter_delay: 0.2\nsteps:\n{}{}",
                    indent(&step("emrt-one")),
                    indent(&step("emrt-two"))
                ),
            ),
            (
                "step_done",
                &sensor("EmrStepSensor"),
                format!(
                    "job_flow_id: {pull}\nstep_id: \"{{{{ ti.xcom_pull(task_ids='add')[1] }}}}\"\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
            (
                "modify",
                &op("EmrModifyClusterOperator"),
                format!("cluster_id: {pull}\nstep_concurrency_level: 3"),
            ),
            (
                "up",
                &sensor("EmrJobFlowSensor"),
                format!(
                    "job_flow_id: {pull}\ntarget_states: [WAITING, RUNNING]\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
            (
                "terminate",
                &op("EmrTerminateJobFlowOperator"),
                format!("job_flow_id: {pull}\ndeferrable: true\nwaiter_delay: 0.2"),
            ),
            (
                "down",
                &sensor("EmrJobFlowSensor"),
                format!("job_flow_id: {pull}\npoke_interval: 0.2\ntimeout: 30"),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    let id = string_xcom(&run);
    assert!(id.starts_with("j-"), "{id}");
    assert!(
        run.log.contains(&format!("Job flow with id {id} created")),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("emr_conn_id 'aws_default' gives no initial configuration")
    );

    let run = flow.expect("add", 0);
    let steps = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(steps.as_array().map(Vec::len), Some(2), "{steps}");
    assert_eq!(flow.xcom("add", "job_flow_id"), Some(serde_json::json!(id)));
    // Each step was waited for: RUNNING (or PENDING) at the first poll, COMPLETED at the next.
    assert!(run.log.contains("EMR Step status is"), "{}", run.log);

    let run = flow.expect("step_done", 0);
    assert!(
        run.log.contains("Job flow currently COMPLETED"),
        "{}",
        run.log
    );

    let run = flow.expect("modify", 0);
    assert_eq!(run.xcom, Some(serde_json::json!(3)), "{}", run.log);
    assert_eq!(
        flow.xcom("modify", "cluster_id"),
        Some(serde_json::json!(id))
    );
    assert!(run.log.contains("Steps concurrency level 3"), "{}", run.log);

    let run = flow.expect("up", 0);
    assert!(
        run.log.contains("Job flow currently RUNNING"),
        "{}",
        run.log
    );

    let run = flow.expect("terminate", 0);
    assert!(run.xcom.is_none(), "{}", run.log);
    assert!(
        run.log.contains("Jobflow terminated successfully."),
        "{}",
        run.log
    );

    let run = flow.expect("down", 0);
    assert!(
        run.log.contains("Job flow currently TERMINATED"),
        "{}",
        run.log
    );
}

#[test]
fn steps_find_their_cluster_by_name_in_the_given_states() {
    let flow = Flow::new(
        "emrt_by_name",
        &[
            (
                "create",
                &op("EmrCreateJobFlowOperator"),
                overrides("emrt-by-name"),
            ),
            (
                "add",
                &op("EmrAddStepsOperator"),
                "job_flow_name: emrt-by-name\ncluster_states: [WAITING, RUNNING]\nsteps: \"[{'Name': 'literal', 'HadoopJarStep': {'Jar': 'x.jar'}}]\""
                    .to_owned(),
            ),
            (
                "nowhere",
                &op("EmrAddStepsOperator"),
                format!(
                    "job_flow_name: emrt-no-such-cluster\nsteps:\n{}",
                    indent(&step("s"))
                ),
            ),
            (
                "elsewhere",
                &op("EmrAddStepsOperator"),
                format!(
                    "job_flow_name: emrt-by-name\ncluster_states: [TERMINATED]\nsteps:\n{}",
                    indent(&step("s"))
                ),
            ),
        ],
    );
    let id = string_xcom(&flow.expect("create", 0));
    let run = flow.expect("add", 0);
    assert_eq!(flow.xcom("add", "job_flow_id"), Some(serde_json::json!(id)));
    assert!(
        run.log
            .contains(&format!("Found cluster name = emrt-by-name id = {id}")),
        "{}",
        run.log
    );
    assert_eq!(
        run.xcom.as_ref().and_then(|v| v.as_array()).map(Vec::len),
        Some(1)
    );
    for task in ["nowhere", "elsewhere"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().starts_with("No cluster found for name: emrt-"),
            "{task}: {}",
            run.log
        );
    }
}

#[test]
fn a_cluster_that_fails_to_start_fails_the_wait_and_the_sensor() {
    let flow = Flow::new(
        "emrt_failed",
        &[
            (
                "create",
                &op("EmrCreateJobFlowOperator"),
                format!(
                    "{}\nwait_for_completion: true\nwaiter_delay: 0.2",
                    overrides("emrt-moto-failed")
                ),
            ),
            (
                "create_only",
                &op("EmrCreateJobFlowOperator"),
                overrides("emrt-moto-failed-2"),
            ),
            (
                "sense",
                &sensor("EmrJobFlowSensor"),
                "job_flow_id: \"{{ ti.xcom_pull(task_ids='create_only') }}\"\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 1);
    assert!(
        run.error()
            .starts_with("Waiter job_flow_waiting failed: cluster j-")
            && run.error().contains(
                "is TERMINATED_WITH_ERRORS (for code: BOOTSTRAP_FAILURE with message moto: \
                 bootstrap failed"
            ),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Attempting termination of EMR job flow j-"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());

    flow.expect("create_only", 0);
    let run = flow.expect("sense", 1);
    assert_eq!(
        run.error(),
        "EMR job failed: for code: BOOTSTRAP_FAILURE with message moto: bootstrap failed \
         (moto-failed in the name)",
        "{}",
        run.log
    );
}

#[test]
fn a_wait_that_runs_out_terminates_the_cluster_and_a_kill_does_too() {
    let flow = Flow::new(
        "emrt_slow",
        &[
            (
                "create",
                &op("EmrCreateJobFlowOperator"),
                format!(
                    "{}\nwait_policy: wait_for_completion\nwaiter_delay: 0.2\nwaiter_max_attempts: 2",
                    overrides("emrt-slow-moto-starting")
                ),
            ),
            (
                "killed",
                &op("EmrCreateJobFlowOperator"),
                format!(
                    "{}\nwait_for_completion: true\nwaiter_delay: 0.5\nwaiter_max_attempts: 10000",
                    overrides("emrt-killed-moto-starting")
                ),
            ),
        ],
    );
    let run = flow.expect("create", 1);
    assert!(
        run.error().contains("Waiter error: max attempts reached"),
        "{}",
        run.log
    );
    assert_eq!(
        run.record["try"], 1,
        "running out of attempts is not retried"
    );
    let id = run
        .log
        .split("Job flow with id ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no cluster id:\n{}", run.log))
        .to_owned();
    check_terminated("emrt_slow_check", &id);

    let started = flow.start_until("killed", |l| {
        l.contains("JobFlow status is STARTING (poll 1")
    });
    let id = started
        .seen
        .iter()
        .find_map(|l| l.split("Job flow with id ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no cluster created:\n{}", started.seen.join("\n")));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(log.contains(&format!("Terminating job flow {id}")), "{log}");
    check_terminated("emrt_killed_check", &id);
}

/// The job flow sensor sees cluster `id` TERMINATED.
fn check_terminated(flow_id: &str, id: &str) {
    let flow = Flow::new(
        flow_id,
        &[(
            "down",
            &sensor("EmrJobFlowSensor"),
            format!("job_flow_id: {id}\npoke_interval: 0.2\ntimeout: 30"),
        )],
    );
    let run = flow.expect("down", 0);
    assert!(
        run.log.contains("Job flow currently TERMINATED"),
        "{}",
        run.log
    );
}

#[test]
fn a_failed_step_fails_the_wait_and_the_sensor() {
    let pull = "\"{{ ti.xcom_pull(task_ids='create') }}\"";
    let flow = Flow::new(
        "emrt_step_failed",
        &[
            (
                "create",
                &op("EmrCreateJobFlowOperator"),
                overrides("emrt-step-failed"),
            ),
            (
                "add",
                &op("EmrAddStepsOperator"),
                format!(
                    "job_flow_id: {pull}\nwait_for_completion: true\nwaiter_delay: 0.2\nsteps:\n{}",
                    indent(&step("emrt-moto-failed"))
                ),
            ),
            (
                "add_only",
                &op("EmrAddStepsOperator"),
                format!(
                    "job_flow_id: {pull}\nsteps:\n{}",
                    indent(&step("emrt-moto-failed"))
                ),
            ),
            (
                "sense",
                &sensor("EmrStepSensor"),
                format!(
                    "job_flow_id: {pull}\nstep_id: \"{{{{ ti.xcom_pull(task_ids='add_only')[0] }}}}\"\npoke_interval: 0.2\ntimeout: 30"
                ),
            ),
            (
                "bad_step",
                &op("EmrAddStepsOperator"),
                format!("job_flow_id: {pull}\nsteps:\n- Name: s\n  HadoopJarStep: {{Jarr: x}}"),
            ),
        ],
    );
    flow.expect("create", 0);
    let run = flow.expect("add", 1);
    assert!(
        run.error().starts_with("EMR Steps failed: s-")
            && run.error().contains(
                "is FAILED (FailureDetails: for reason moto: step failed with message \
                 moto-failed in the step name and log file s3://moto-logs/steps/stderr.gz)"
            ),
        "{}",
        run.log
    );
    flow.expect("add_only", 0);
    let run = flow.expect("sense", 1);
    assert_eq!(
        run.error(),
        "EMR job failed: for reason moto: step failed with message moto-failed in the step \
         name and log file s3://moto-logs/steps/stderr.gz",
        "{}",
        run.log
    );
    // The cluster's second step waits behind the first: PENDING at the first poke.
    assert!(
        run.log.contains("Job flow currently PENDING"),
        "{}",
        run.log
    );
    let run = flow.expect("bad_step", 2);
    assert!(
        run.error().contains(
            "EmrAddStepsOperator parameter `steps[0].HadoopJarStep.Jarr` is not a setting"
        ),
        "{}",
        run.log
    );
}

const NOTEBOOK: &str = "editor_id: e-EMRT\nservice_role: EMR_Notebooks_DefaultRole\nnotebook_params: ''\nnotebook_instance_security_group_id: ''\ntags: [{Key: team, Value: data}]\nwaiter_delay: 1";

#[test]
fn notebook_executions_start_run_stop_and_fail() {
    let cluster = "\"{{ ti.xcom_pull(task_ids='create') }}\"";
    let flow = Flow::new(
        "emrt_notebook",
        &[
            ("create", &op("EmrCreateJobFlowOperator"), overrides("emrt-notebook")),
            (
                "run",
                &op("EmrStartNotebookExecutionOperator"),
                format!("cluster_id: {cluster}\nrelative_path: ok.ipynb\nwait_for_completion: true\n{NOTEBOOK}"),
            ),
            (
                "finished",
                &sensor("EmrNotebookExecutionSensor"),
                "notebook_execution_id: \"{{ ti.xcom_pull(task_ids='run') }}\"\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "long",
                &op("EmrStartNotebookExecutionOperator"),
                format!("cluster_id: {cluster}\nrelative_path: moto-running.ipynb\n{NOTEBOOK}"),
            ),
            (
                "running",
                &sensor("EmrNotebookExecutionSensor"),
                "notebook_execution_id: \"{{ ti.xcom_pull(task_ids='long') }}\"\ntarget_states: [RUNNING]\nfailed_states: [FAILED]\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "stop",
                &op("EmrStopNotebookExecutionOperator"),
                "notebook_execution_id: \"{{ ti.xcom_pull(task_ids='long') }}\"\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "failing",
                &op("EmrStartNotebookExecutionOperator"),
                format!("cluster_id: {cluster}\nrelative_path: moto-failed.ipynb\nwait_for_completion: true\n{NOTEBOOK}"),
            ),
            (
                "failed_start",
                &op("EmrStartNotebookExecutionOperator"),
                format!("cluster_id: {cluster}\nrelative_path: moto-failed.ipynb\n{NOTEBOOK}"),
            ),
            (
                "failed",
                &sensor("EmrNotebookExecutionSensor"),
                "notebook_execution_id: \"{{ ti.xcom_pull(task_ids='failed_start') }}\"\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "no_cluster",
                &op("EmrStartNotebookExecutionOperator"),
                format!("cluster_id: j-NOSUCHCLUSTER\nrelative_path: ok.ipynb\n{NOTEBOOK}"),
            ),
        ],
    );
    flow.expect("create", 0);
    let run = flow.expect("run", 0);
    let id = string_xcom(&run);
    assert!(id.starts_with("ex-"), "{id}");
    assert!(
        run.log
            .contains(&format!("Notebook execution started: {id}")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Notebook execution status is STARTING"),
        "{}",
        run.log
    );
    let run = flow.expect("finished", 0);
    assert!(
        run.log.contains("Job flow currently FINISHED"),
        "{}",
        run.log
    );

    flow.expect("long", 0);
    flow.expect("running", 0);
    let run = flow.expect("stop", 0);
    assert!(run.xcom.is_none(), "{}", run.log);

    let run = flow.expect("failing", 1);
    assert_eq!(
        run.error(),
        "Notebook Execution reached failure state FAILED.",
        "{}",
        run.log
    );
    flow.expect("failed_start", 0);
    let run = flow.expect("failed", 1);
    assert_eq!(
        run.error(),
        "EMR job failed: moto: notebook execution failed (moto-failed in the relative path)",
        "{}",
        run.log
    );
    let run = flow.expect("no_cluster", 1);
    assert!(
        run.error()
            .contains("StartNotebookExecution of e-EMRT on cluster j-NOSUCHCLUSTER")
            && run.error().contains("is not valid"),
        "{}",
        run.log
    );
}

const CONTAINER_JOB: &str = "execution_role_arn: arn:aws:iam::123456789012:role/emrt-job\nrelease_label: emr-6.15.0-latest\njob_driver:\n  sparkSubmitJobDriver:\n    entryPoint: s3://b/job.py\n    sparkSubmitParameters: --conf spark.executor.instances=1\nconfiguration_overrides:\n  monitoringConfiguration:\n    s3MonitoringConfiguration: {logUri: 's3://b/logs'}\npoll_interval: 0.2";

#[test]
fn emr_on_eks_jobs_run_complete_fail_and_run_out_of_polls() {
    let vc = "\"{{ ti.xcom_pull(task_ids='cluster') }}\"";
    let flow = Flow::new(
        "emrt_eks",
        &[
            (
                "cluster",
                &op("EmrEksCreateClusterOperator"),
                "virtual_cluster_name: emrt-vc\neks_cluster_name: emrt-eks\neks_namespace: emrt-spark\ntags: {team: data}".to_owned(),
            ),
            (
                "cluster_again",
                &op("EmrEksCreateClusterOperator"),
                "virtual_cluster_name: emrt-vc-2\neks_cluster_name: emrt-eks\neks_namespace: emrt-spark".to_owned(),
            ),
            (
                "job",
                &op("EmrContainerOperator"),
                format!("name: emrt-job\nvirtual_cluster_id: {vc}\nclient_request_token: tok-1\n{CONTAINER_JOB}"),
            ),
            (
                "submitted",
                &op("EmrContainerOperator"),
                format!("name: emrt-submitted\nvirtual_cluster_id: {vc}\nwait_for_completion: false\n{CONTAINER_JOB}"),
            ),
            (
                "sense",
                &sensor("EmrContainerSensor"),
                format!("virtual_cluster_id: {vc}\njob_id: \"{{{{ ti.xcom_pull(task_ids='submitted') }}}}\"\npoll_interval: 0.2\npoke_interval: 0.2\ntimeout: 30"),
            ),
            (
                "failing",
                &op("EmrContainerOperator"),
                format!("name: emrt-moto-failed\nvirtual_cluster_id: {vc}\n{CONTAINER_JOB}"),
            ),
            (
                "failed_submit",
                &op("EmrContainerOperator"),
                format!("name: emrt-moto-failed-2\nvirtual_cluster_id: {vc}\nwait_for_completion: false\n{CONTAINER_JOB}"),
            ),
            (
                "failed",
                &sensor("EmrContainerSensor"),
                format!("virtual_cluster_id: {vc}\njob_id: \"{{{{ ti.xcom_pull(task_ids='failed_submit') }}}}\"\npoll_interval: 0.2\npoke_interval: 0.2\ntimeout: 30"),
            ),
            (
                "slow",
                &op("EmrContainerOperator"),
                format!("name: emrt-moto-running\nvirtual_cluster_id: {vc}\nmax_polling_attempts: 2\n{CONTAINER_JOB}"),
            ),
            (
                "no_cluster",
                &op("EmrContainerOperator"),
                format!("name: emrt-x\nvirtual_cluster_id: nosuchcluster\n{CONTAINER_JOB}"),
            ),
        ],
    );
    let run = flow.expect("cluster", 0);
    let vc_id = string_xcom(&run);
    assert!(
        run.log.contains(&format!(
            "Create EMR EKS Cluster success - virtual cluster id {vc_id}"
        )),
        "{}",
        run.log
    );
    let run = flow.expect("cluster_again", 1);
    assert!(
        run.error()
            .starts_with("CreateVirtualCluster 'emrt-vc-2' on EKS cluster emrt-eks failed")
            && run
                .error()
                .contains("A virtual cluster already exists in the given namespace"),
        "{}",
        run.log
    );
    let run = flow.expect("job", 0);
    let job = string_xcom(&run);
    assert!(
        run.log.contains(&format!(
            "Start Job Run success - Job Id {job} and virtual cluster id {vc_id}"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("Try 1: Query is still in non-terminal state - RUNNING")
            && run
                .log
                .contains("Try 2: Query execution completed. Final state is COMPLETED"),
        "{}",
        run.log
    );
    let run = flow.expect("submitted", 0);
    assert!(!run.log.contains("Try 1:"), "no wait: {}", run.log);
    let run = flow.expect("sense", 0);
    assert!(run.log.contains("Final state is COMPLETED"), "{}", run.log);

    let run = flow.expect("failing", 1);
    assert!(
        run.error().starts_with(
            "EMR Containers job failed. Final state is FAILED. query_execution_id is "
        ) && run
            .error()
            .ends_with("Error: USER_ERROR - moto: job failed (moto-failed in the name)"),
        "{}",
        run.log
    );
    flow.expect("failed_submit", 0);
    let run = flow.expect("failed", 1);
    assert_eq!(
        run.error(),
        "EMR Containers sensor failed due to state: FAILED",
        "{}",
        run.log
    );

    let run = flow.expect("slow", 1);
    assert!(
        run.error().starts_with(
            "Final state of EMR Containers job is RUNNING. Max tries of poll status exceeded"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("no_cluster", 1);
    assert!(
        run.error()
            .contains("StartJobRun 'emrt-x' on virtual cluster nosuchcluster"),
        "{}",
        run.log
    );
}

#[test]
fn a_killed_emr_on_eks_job_is_cancelled() {
    let flow = Flow::new(
        "emrt_eks_kill",
        &[
            (
                "cluster",
                &op("EmrEksCreateClusterOperator"),
                "virtual_cluster_name: emrt-vc-kill\neks_cluster_name: emrt-eks-kill\neks_namespace: emrt-spark-kill".to_owned(),
            ),
            (
                "job",
                &op("EmrContainerOperator"),
                format!(
                    "name: emrt-kill-moto-running\nvirtual_cluster_id: \"{{{{ ti.xcom_pull(task_ids='cluster') }}}}\"\n{CONTAINER_JOB}"
                ),
            ),
        ],
    );
    let vc = string_xcom(&flow.expect("cluster", 0));
    let started = flow.start_until("job", |l| l.contains("non-terminal state - RUNNING"));
    let job = started
        .seen
        .iter()
        .find_map(|l| l.split("Start Job Run success - Job Id ").nth(1))
        .and_then(|s| s.split_whitespace().next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no job started:\n{}", started.seen.join("\n")));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains(&format!("Stopping job run with jobId - {job}")),
        "{log}"
    );
    assert!(log.contains("Final state is CANCELLED"), "{log}");
    // The sensor sees the cancelled job.
    let check = Flow::new(
        "emrt_eks_kill_check",
        &[(
            "sense",
            &sensor("EmrContainerSensor"),
            format!(
                "virtual_cluster_id: {vc}\njob_id: {job}\npoll_interval: 0.2\npoke_interval: 0.2\ntimeout: 30"
            ),
        )],
    );
    let run = check.expect("sense", 1);
    assert_eq!(
        run.error(),
        "EMR Containers sensor failed due to state: CANCELLED",
        "{}",
        run.log
    );
}

/// Runs the whole workflow `file` with `params`; the `airtask run` summary.
pub(crate) fn run_whole(file: &str, params: &str, state: &std::path::Path) -> String {
    let out = airtask_tests::airtask(&[
        "run",
        file,
        "--run-id",
        "r1",
        "--params",
        params,
        "--state-dir",
        &state.to_string_lossy(),
        "--parallelism",
        "2",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{file}:\n{text}");
    assert!(text.contains("run r1 succeeded"), "{text}");
    text
}

/// The state `airtask run` reported last for `task`.
pub(crate) fn state_of(summary: &str, task: &str) -> String {
    summary
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn the_emr_corpus_workflow_runs_end_to_end_through_its_stack() {
    // emr_dag.yaml makes its log bucket, roles and instance profile with a CloudFormation
    // stack and reads them as `xcom_pull(task_ids='create_emr_stack')['CreateStackResponse']
    // ['Outputs']`. The stack operator pushes no XCom (docs/operators/cloudformation.md), so the
    // test writes the value the file expects, built from the real stack's outputs, as the Glue
    // corpus test does. The cluster has no steps and does not stay alive: it terminates at
    // once, and the sensor sees TERMINATED. Every task of the file runs, in its order.
    let file = airtask_tests::corpus_dir()
        .join("aws-samples/emr_dag.yaml")
        .to_string_lossy()
        .into_owned();
    let dir = airtask_tests::TempDir::new("emrt-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let run = |task: &str| {
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
            r#"{"stack_name": "emrt-corpus-stack"}"#,
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
    run("create_emr_stack");
    run("wait_for_emr_stack");
    let cfn = aws_sdk_cloudformation::Client::new(
        &airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await,
    );
    let stack = cfn
        .describe_stacks()
        .stack_name("emrt-corpus-stack")
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
    assert_eq!(outputs.len(), 3, "{outputs:?}");
    let xcom_dir = dir.path().join("state/emr_dag/r1/create_emr_stack/-1/xcom");
    std::fs::create_dir_all(&xcom_dir).expect("xcom dir");
    std::fs::write(
        xcom_dir.join("return_value.json"),
        serde_json::json!({"CreateStackResponse": {"Outputs": outputs}}).to_string(),
    )
    .expect("xcom");
    let text = run("create_job_flow");
    assert!(text.contains("Job flow with id j-"), "{text}");
    let id = std::fs::read_to_string(
        dir.path()
            .join("state/emr_dag/r1/create_job_flow/-1/xcom/return_value.json"),
    )
    .expect("the job flow id");
    assert!(id.starts_with("\"j-"), "{id}");
    let text = run("wait_for_job_flow");
    assert!(text.contains("Job flow currently TERMINATED"), "{text}");
    run("delete_emr_stack");
    run("wait_for_emr_delete");
}
