//! The ECS operators and sensors through `airtask run-task` against the local endpoint: a
//! cluster created (XCom: its description), sensed, deleted and sensed again; a task definition
//! registered (XCom: its ARN), sensed, deregistered, deleted; EcsRunTaskOperator running a
//! Fargate task in the default VPC and streaming its CloudWatch log (XCom: the last line), a
//! container exiting non-zero (failure with the last log lines, or a skip with
//! `skip_on_exit_code`), a task that fails to start, a wait that gives up (the task is stopped),
//! SIGTERM (on_kill stops the task), reattach; EcsTaskStateSensor on a running and a stopped
//! task. Containers "run" their command through the endpoint's ECS patch
//! (scripts/moto_patches/ecs.py): `echo` lines go to the awslogs stream, `sleep N` keeps the
//! task running, `exit N` is the exit code, an image named `moto-unpullable` fails to start.
//! Every test has resource names of its own; run them with AIRTASK_CHECK_PERMISSIONS=1 so that
//! each operator's IAM declaration is proven complete.

use airtask_tests::endpoint;

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.ecs";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.ecs";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

async fn ecs() -> aws_sdk_ecs::Client {
    aws_sdk_ecs::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

async fn create_cluster(name: &str) {
    ecs()
        .await
        .create_cluster()
        .cluster_name(name)
        .send()
        .await
        .expect("CreateCluster");
}

/// A subnet of the default VPC (awsvpc tasks need one whose VPC has DNS hostnames).
async fn default_subnet() -> String {
    let ec2 = aws_sdk_ec2::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await);
    let out = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
        .send()
        .await
        .expect("DescribeSubnets");
    out.subnets()[0]
        .subnet_id()
        .expect("a default subnet")
        .to_owned()
}

/// The task `arn` of `cluster`, described.
async fn task_of(cluster: &str, arn: &str) -> aws_sdk_ecs::types::Task {
    ecs()
        .await
        .describe_tasks()
        .cluster(cluster)
        .tasks(arn)
        .send()
        .await
        .expect("DescribeTasks")
        .tasks()[0]
        .clone()
}

/// A register task whose one container "runs" `script` and logs to `/ecs/<family>`.
fn register(family: &str, script: &str, image: &str) -> (&'static str, String, String) {
    (
        "register",
        op("EcsRegisterTaskDefinitionOperator"),
        format!(
            "family: {family}\ncontainer_definitions:\n  - name: app\n    image: {image}\n    \
             memory: 128\n    essential: true\n    command: [sh, -c, \"{script}\"]\n    \
             logConfiguration:\n      logDriver: awslogs\n      options: {{awslogs-group: \
             /ecs/{family}, awslogs-region: us-east-1, awslogs-stream-prefix: ecs, \
             awslogs-create-group: 'true'}}\nregister_task_kwargs:\n  requiresCompatibilities: \
             [FARGATE]\n  networkMode: awsvpc\n  cpu: '256'\n  memory: '512'\n  \
             executionRoleArn: arn:aws:iam::123456789012:role/ecst-exec"
        ),
    )
}

/// The parameters of a run task of the registered definition on `cluster`, with `extra`.
fn run_params(cluster: &str, subnet: &str, extra: &str) -> String {
    format!(
        "cluster: {cluster}\ntask_definition: \"{{{{ ti.xcom_pull(task_ids='register') }}}}\"\n\
         launch_type: FARGATE\noverrides: {{}}\nnetwork_configuration:\n  awsvpcConfiguration:\n    \
         subnets: ['{subnet}']\n    assignPublicIp: ENABLED\nwaiter_delay: 1\n{extra}"
    )
}

/// The task id of the line "ECS task ID is: ID" in `log`.
fn task_id_in(log: &str) -> String {
    log.split("ECS task ID is: ")
        .nth(1)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect()
        })
        .unwrap_or_else(|| panic!("no task id in:\n{log}"))
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
async fn a_cluster_is_created_sensed_and_deleted() {
    create_cluster("ecst-other").await;
    let flow = flow(
        "ecst_cluster",
        vec![
            (
                "create",
                op("EcsCreateClusterOperator"),
                "cluster_name: ecst-c1\ncreate_cluster_kwargs:\n  settings: [{name: containerInsights, value: enabled}]\n  tags: [{key: team, value: data}]\nwaiter_delay: 1".to_owned(),
            ),
            (
                "active",
                sensor("EcsClusterStateSensor"),
                "cluster_name: ecst-c1\npoke_interval: 1\ntimeout: 30".to_owned(),
            ),
            (
                "delete",
                op("EcsDeleteClusterOperator"),
                "cluster_name: \"{{ ti.xcom_pull(task_ids='create')['clusterArn'] }}\"\nwaiter_delay: 1".to_owned(),
            ),
            (
                "gone",
                sensor("EcsClusterStateSensor"),
                "cluster_name: ecst-c1\npoke_interval: 1\ntimeout: 30".to_owned(),
            ),
            (
                "not_yet",
                sensor("EcsClusterStateSensor"),
                "cluster_name: ecst-other\ntarget_state: INACTIVE\npoke_interval: 0.5\ntimeout: 2".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    let cluster = run.xcom.clone().unwrap_or_default();
    assert_eq!(cluster["clusterName"], "ecst-c1", "{}", run.log);
    assert_eq!(cluster["status"], "ACTIVE");
    assert_eq!(
        cluster["clusterArn"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/ecst-c1"
    );
    assert_eq!(cluster["settings"][0]["value"], "enabled");
    assert!(
        run.log.contains("Cluster 'ecst-c1' in state: 'ACTIVE'."),
        "{}",
        run.log
    );
    let run = flow.expect("active", 0);
    assert!(
        run.log
            .contains("Cluster state: ACTIVE, waiting for: ACTIVE"),
        "{}",
        run.log
    );
    let run = flow.expect("delete", 0);
    assert_eq!(
        run.xcom.as_ref().map(|c| c["status"].clone()),
        Some(serde_json::json!("INACTIVE")),
        "{}",
        run.log
    );
    // The default failure states are FAILED and INACTIVE.
    let run = flow.expect("gone", 1);
    assert_eq!(
        run.error(),
        "Terminal state reached. Current state: INACTIVE, Expected state: ACTIVE",
        "{}",
        run.log
    );
    // ACTIVE while waiting for INACTIVE: neither met nor failed, until the timeout.
    let run = flow.expect("not_yet", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}

/// Statuses a cluster answers through the endpoint's ECS patch: `moto:status` from
/// CreateCluster on, `moto:delete-status` from DeleteCluster on (one a describe).
fn status_tags(key: &str, statuses: &str) -> String {
    format!("create_cluster_kwargs:\n  tags: [{{key: '{key}', value: '{statuses}'}}]\n")
}

#[tokio::test(flavor = "current_thread")]
async fn the_cluster_waiters_wait_and_fail_as_the_provider_s() {
    ecs()
        .await
        .create_cluster()
        .cluster_name("ecst-slowdel")
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key("moto:delete-status")
                .value("DEPROVISIONING,DEPROVISIONING,INACTIVE")
                .build(),
        )
        .send()
        .await
        .expect("CreateCluster");
    let flow = flow(
        "ecst_waiters",
        vec![
            (
                "slow",
                op("EcsCreateClusterOperator"),
                format!(
                    "cluster_name: ecst-slow\n{}waiter_delay: 1",
                    status_tags("moto:status", "PROVISIONING,PROVISIONING,ACTIVE")
                ),
            ),
            (
                "failing",
                op("EcsCreateClusterOperator"),
                format!(
                    "cluster_name: ecst-failing\n{}waiter_delay: 1",
                    status_tags("moto:status", "PROVISIONING,FAILED")
                ),
            ),
            (
                "stuck",
                op("EcsCreateClusterOperator"),
                format!(
                    "cluster_name: ecst-stuck\n{}waiter_delay: 1\nwaiter_max_attempts: 2",
                    status_tags("moto:status", "PROVISIONING")
                ),
            ),
            (
                "no_wait",
                op("EcsCreateClusterOperator"),
                format!(
                    "cluster_name: ecst-nowait\n{}wait_for_completion: false",
                    status_tags("moto:status", "PROVISIONING")
                ),
            ),
            (
                "slow_delete",
                op("EcsDeleteClusterOperator"),
                "cluster_name: ecst-slowdel\nwaiter_delay: 1".to_owned(),
            ),
            (
                "delete_missing",
                op("EcsDeleteClusterOperator"),
                "cluster_name: ecst-never-made\nwaiter_delay: 1".to_owned(),
            ),
        ],
    );
    // The XCom is CreateCluster's answer (the provider does not describe it again).
    let run = flow.expect("slow", 0);
    let cluster = run.xcom.clone().unwrap_or_default();
    assert_eq!(cluster["status"], "PROVISIONING", "{}", run.log);
    assert_eq!(
        cluster["clusterArn"],
        "arn:aws:ecs:us-east-1:123456789012:cluster/ecst-slow"
    );
    assert!(
        run.log.contains("PROVISIONING (poll 1 of 60"),
        "the waiter polls until ACTIVE:\n{}",
        run.log
    );
    let run = flow.expect("failing", 1);
    assert_eq!(
        run.error(),
        "Waiter cluster_active failed: Waiter encountered a terminal failure state: ECS cluster \
         arn:aws:ecs:us-east-1:123456789012:cluster/ecst-failing is FAILED",
        "{}",
        run.log
    );
    let run = flow.expect("stuck", 1);
    assert!(
        run.error().contains("after 2 attempts") && run.error().contains("max attempts reached"),
        "{}",
        run.log
    );
    let run = flow.expect("no_wait", 0);
    assert_eq!(
        run.xcom.as_ref().map(|c| c["status"].clone()),
        Some(serde_json::json!("PROVISIONING")),
        "{}",
        run.log
    );
    assert!(!run.log.contains("(poll 1 of"), "{}", run.log);
    let run = flow.expect("slow_delete", 0);
    assert_eq!(
        run.xcom.as_ref().map(|c| c["status"].clone()),
        Some(serde_json::json!("DEPROVISIONING")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("DEPROVISIONING (poll 1 of 60"),
        "the waiter polls until INACTIVE:\n{}",
        run.log
    );
    let run = flow.expect("delete_missing", 1);
    assert!(
        run.error().contains("ClusterNotFoundException"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_task_definition_is_registered_sensed_and_deregistered() {
    let flow = flow(
        "ecst_taskdef",
        vec![
            register("ecst-td", "echo hi", "busybox"),
            (
                "active",
                sensor("EcsTaskDefinitionStateSensor"),
                "task_definition: \"{{ ti.xcom_pull(task_ids='register') }}\"\npoke_interval: 1\ntimeout: 30".to_owned(),
            ),
            (
                "deregister",
                op("EcsDeregisterTaskDefinitionOperator"),
                "task_definition: \"{{ ti.xcom_pull(task_ids='register', key='task_definition_arn') }}\"".to_owned(),
            ),
            (
                "inactive",
                sensor("EcsTaskDefinitionStateSensor"),
                "task_definition: ecst-td:1\npoke_interval: 1\ntimeout: 30".to_owned(),
            ),
            (
                "deleting",
                sensor("EcsTaskDefinitionStateSensor"),
                "task_definition: ecst-td:1\npoke_interval: 0.5\ntimeout: 2".to_owned(),
            ),
            (
                "refused",
                op("EcsRegisterTaskDefinitionOperator"),
                "family: ecst-bad\ncontainer_definitions: [{name: app, image: busybox, memory: 128}]\n\
                 register_task_kwargs: {requiresCompatibilities: [FARGATE], pidMode: host}"
                    .to_owned(),
            ),
            (
                "deregister_missing",
                op("EcsDeregisterTaskDefinitionOperator"),
                "task_definition: ecst-td:99".to_owned(),
            ),
        ],
    );
    // AWS refuses the definition: the task fails with its message.
    let run = flow.expect("refused", 1);
    assert!(
        run.error().contains("RegisterTaskDefinition")
            && run.error().contains("do not support pidMode 'host'"),
        "{}",
        run.log
    );
    let run = flow.expect("deregister_missing", 1);
    assert!(
        run.error().contains("DeregisterTaskDefinition"),
        "{}",
        run.log
    );
    let run = flow.expect("register", 0);
    let arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/ecst-td:1";
    assert_eq!(run.xcom, Some(serde_json::json!(arn)), "{}", run.log);
    assert_eq!(
        flow.xcom("register", "task_definition_arn"),
        Some(serde_json::json!(arn))
    );
    assert!(
        run.log
            .contains(&format!("Task Definition '{arn}' in state: 'ACTIVE'.")),
        "{}",
        run.log
    );
    flow.expect("active", 0);
    let run = flow.expect("deregister", 0);
    assert_eq!(run.xcom, Some(serde_json::json!(arn)), "{}", run.log);
    assert!(run.log.contains("in state: 'INACTIVE'."), "{}", run.log);
    let run = flow.expect("inactive", 1);
    assert_eq!(
        run.error(),
        "Terminal state reached. Current state: INACTIVE, Expected state: ACTIVE",
        "{}",
        run.log
    );
    ecs()
        .await
        .delete_task_definitions()
        .task_definitions(arn)
        .send()
        .await
        .expect("DeleteTaskDefinitions");
    // DELETE_IN_PROGRESS is neither the target nor the failure state.
    let run = flow.expect("deleting", 1);
    assert!(
        run.error().starts_with("Sensor has timed out")
            && run
                .log
                .contains("Task Definition state: DELETE_IN_PROGRESS, waiting for: ACTIVE"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_task_runs_streams_its_log_and_returns_its_last_line() {
    create_cluster("ecst-run").await;
    let subnet = default_subnet().await;
    let flow = flow(
        "ecst_run",
        vec![
            register(
                "ecst-run",
                "echo hello from ecs; echo WARNING: careful; sleep 4; echo all done",
                "busybox",
            ),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params(
                    "ecst-run",
                    &subnet,
                    "tags: {team: data}\nawslogs_group: /ecs/ecst-run\nawslogs_stream_prefix: ecs\ncontainer_name: app\nawslogs_fetch_interval: 1",
                ),
            ),
        ],
    );
    flow.expect("register", 0);
    let run = flow.expect("run", 0);
    assert_eq!(run.xcom, Some(serde_json::json!("all done")), "{}", run.log);
    let arn = flow
        .xcom("run", "ecs_task_arn")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no ecs_task_arn:\n{}", run.log));
    assert!(
        arn.starts_with("arn:aws:ecs:us-east-1:123456789012:task/ecst-run/"),
        "{arn}"
    );
    let id = arn.rsplit('/').next().unwrap_or_default();
    for line in [
        "Running ECS Task - Task definition: arn:aws:ecs:us-east-1:123456789012:task-definition/ecst-run:1 - on cluster ecst-run",
        &format!("ECS task ID is: {id}"),
        "Starting ECS Task Log Fetcher",
        "] hello from ecs",
        "] WARNING: careful",
        "ECS Task stopped, check status: ",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    // The log is streamed: the first lines are in the task log while the task still runs
    // (a waiter poll saw it RUNNING after them), the last one after it.
    let at = |needle: &str| {
        run.log
            .find(needle)
            .unwrap_or_else(|| panic!("{needle}:\n{}", run.log))
    };
    let first = at("] hello from ecs");
    let last = at("] all done");
    let polled_between = run.log[first..last]
        .lines()
        .any(|l| l.contains(&format!("ECS task {arn}: RUNNING (poll")));
    assert!(
        polled_between,
        "no RUNNING poll between the first and the last log line:\n{}",
        run.log
    );
    let task = task_of("ecst-run", &arn).await;
    assert_eq!(task.last_status(), Some("STOPPED"));
    assert_eq!(task.containers()[0].exit_code(), Some(0));
    // The task was started as the provider starts it.
    assert_eq!(task.started_by(), Some("airflow"));
    assert_eq!(
        task.launch_type(),
        Some(&aws_sdk_ecs::types::LaunchType::Fargate)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_non_zero_exit_code_fails_the_task_or_skips_it() {
    create_cluster("ecst-exit").await;
    let subnet = default_subnet().await;
    let logs = "awslogs_group: /ecs/ecst-exit\nawslogs_stream_prefix: ecs\ncontainer_name: app\nawslogs_fetch_interval: 1\nnumber_logs_exception: 2";
    let flow = flow(
        "ecst_exit",
        vec![
            register(
                "ecst-exit",
                "echo step one; echo step two; echo ERROR: disk full; exit 3",
                "busybox",
            ),
            (
                "fails",
                op("EcsRunTaskOperator"),
                run_params("ecst-exit", &subnet, logs),
            ),
            (
                "skips",
                op("EcsRunTaskOperator"),
                run_params(
                    "ecst-exit",
                    &subnet,
                    &format!("{logs}\nskip_on_exit_code: [3]"),
                ),
            ),
            (
                "no_logs",
                op("EcsRunTaskOperator"),
                run_params("ecst-exit", &subnet, ""),
            ),
        ],
    );
    flow.expect("register", 0);
    let run = flow.expect("fails", 1);
    assert_eq!(
        run.error(),
        "This task is not in success state - last 2 logs from Cloudwatch:\nstep two\nERROR: disk full",
        "{}",
        run.log
    );
    assert!(run.log.contains("] ERROR: disk full"), "{}", run.log);
    let run = flow.expect("skips", 0);
    assert_eq!(run.record["status"], "SKIPPED", "{}", run.log);
    // Without the log fetcher the message carries the task's description.
    let run = flow.expect("no_logs", 1);
    assert!(
        run.error()
            .starts_with("This task is not in success state {")
            && run.error().contains("\"exitCode\":3"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_task_that_fails_to_start_fails_the_operator() {
    create_cluster("ecst-pull").await;
    let subnet = default_subnet().await;
    let flow = flow(
        "ecst_pull",
        vec![
            register("ecst-pull", "echo never", "example/moto-unpullable:1"),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params("ecst-pull", &subnet, ""),
            ),
        ],
    );
    flow.expect("register", 0);
    let run = flow.expect("run", 1);
    assert!(
        run.error()
            .starts_with("The task failed to start due to: CannotPullContainerError:"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_wait_that_gives_up_stops_the_task() {
    create_cluster("ecst-slow").await;
    let subnet = default_subnet().await;
    let flow = flow(
        "ecst_slow",
        vec![
            register("ecst-slow", "sleep 120", "busybox"),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params("ecst-slow", &subnet, "waiter_max_attempts: 2"),
            ),
        ],
    );
    flow.expect("register", 0);
    let run = flow.expect("run", 1);
    assert!(
        run.error().contains("Waiter error: max attempts reached"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Attempting termination of ECS task"),
        "{}",
        run.log
    );
    // A failed try stores no XCom: the task's id is in the log.
    let id = task_id_in(&run.log);
    let task = task_of("ecst-slow", &id).await;
    assert_eq!(task.last_status(), Some("STOPPED"));
    assert_eq!(
        task.stopped_reason(),
        Some("Task failed after creation; cleanup by Airflow")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_stops_the_task() {
    create_cluster("ecst-kill").await;
    let subnet = default_subnet().await;
    let flow = flow(
        "ecst_kill",
        vec![
            register("ecst-kill", "sleep 300", "busybox"),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params("ecst-kill", &subnet, ""),
            ),
        ],
    );
    flow.expect("register", 0);
    let started = flow.start_until("run", |l| l.contains("ECS task ID is: "));
    let id = task_id_in(&started.seen.join("\n"));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    let task = task_of("ecst-kill", &id).await;
    assert_eq!(task.last_status(), Some("STOPPED"), "{log}");
    assert_eq!(task.stopped_reason(), Some("Task killed by the user"));
}

#[tokio::test(flavor = "current_thread")]
async fn reattach_finds_the_task_this_task_instance_started() {
    create_cluster("ecst-again").await;
    let subnet = default_subnet().await;
    let flow = flow(
        "ecst_again",
        vec![
            register("ecst-again", "sleep 300", "busybox"),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params(
                    "ecst-again",
                    &subnet,
                    "reattach: true\nwait_for_completion: false",
                ),
            ),
        ],
    );
    flow.expect("register", 0);
    let first = flow.expect("run", 0);
    assert!(
        first
            .log
            .contains("No active previously launched task found to reattach"),
        "{}",
        first.log
    );
    let arn = flow
        .xcom("run", "ecs_task_arn")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let task = task_of("ecst-again", &arn).await;
    // startedBy is the provider's generate_uuid(dag_id, task_id, run_id, map_index).
    let started_by = task.started_by().unwrap_or_default().to_owned();
    assert_eq!(started_by.len(), 36, "{started_by}");
    assert!(
        first
            .log
            .contains(&format!("Try to find run with startedBy='{started_by}'")),
        "{}",
        first.log
    );
    let second = flow.expect("run", 0);
    assert!(
        second
            .log
            .contains(&format!("Reattaching previously launched task: {arn}")),
        "{}",
        second.log
    );
    assert_eq!(
        flow.xcom("run", "ecs_task_arn"),
        Some(serde_json::json!(arn))
    );
    let listed = ecs()
        .await
        .list_tasks()
        .cluster("ecst-again")
        .started_by(&started_by)
        .send()
        .await
        .expect("ListTasks");
    assert_eq!(listed.task_arns().len(), 1);
    ecs()
        .await
        .stop_task()
        .cluster("ecst-again")
        .task(&arn)
        .send()
        .await
        .expect("StopTask");
}

#[tokio::test(flavor = "current_thread")]
async fn the_task_state_sensor_sees_running_and_stopped_tasks() {
    create_cluster("ecst-state").await;
    let subnet = default_subnet().await;
    let watch = |timeout: u32, extra: &str| {
        format!(
            "cluster: ecst-state\ntask: \"{{{{ ti.xcom_pull(task_ids='run', key='ecs_task_arn') }}}}\"\npoke_interval: 0.5\ntimeout: {timeout}\n{extra}"
        )
    };
    let flow = flow(
        "ecst_state",
        vec![
            register("ecst-state", "sleep 300", "busybox"),
            (
                "run",
                op("EcsRunTaskOperator"),
                run_params("ecst-state", &subnet, "wait_for_completion: false"),
            ),
            ("running", sensor("EcsTaskStateSensor"), watch(20, "")),
            (
                "stopped_soon",
                sensor("EcsTaskStateSensor"),
                watch(2, "target_state: STOPPED"),
            ),
            ("after_stop", sensor("EcsTaskStateSensor"), watch(20, "")),
        ],
    );
    flow.expect("register", 0);
    let run = flow.expect("run", 0);
    assert_eq!(run.xcom, None, "without waiting there is no return value");
    let run = flow.expect("running", 0);
    assert!(
        run.log
            .contains("Task state: RUNNING, waiting for: RUNNING"),
        "{}",
        run.log
    );
    // Still running: waiting for STOPPED times out.
    let run = flow.expect("stopped_soon", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    let arn = flow
        .xcom("run", "ecs_task_arn")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    ecs()
        .await
        .stop_task()
        .cluster("ecst-state")
        .task(&arn)
        .reason("test")
        .send()
        .await
        .expect("StopTask");
    let run = flow.expect("after_stop", 1);
    assert_eq!(
        run.error(),
        "Terminal state reached. Current state: STOPPED, Expected state: RUNNING",
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_misspelt_override_is_refused_before_aws_is_called() {
    let flow = flow(
        "ecst_typo",
        vec![(
            "run",
            op("EcsRunTaskOperator"),
            "cluster: nowhere\ntask_definition: td\noverrides:\n  containerOverrides: [{name: app, comand: [echo]}]".to_owned(),
        )],
    );
    let run = flow.expect("run", 2);
    assert!(
        run.error().contains(
            "EcsRunTaskOperator parameter `overrides.containerOverrides[0]` has the unknown key \
             `comand`"
        ),
        "{}",
        run.log
    );
}

/// Runs `task` of the corpus file `file` with the stack name `stack` in the state directory
/// `state`; the task must succeed. Returns its output.
fn run_corpus_task(file: &str, state: &str, stack: &str, task: &str) -> String {
    let params = format!("{{\"stack_name\": \"{stack}\"}}");
    let out = airtask_tests::airtask(&[
        "run-task",
        file,
        task,
        "--state-dir",
        state,
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
}

/// The outputs of stack `name`, as `{OutputKey, OutputValue}` objects in the stack's order.
async fn stack_outputs(name: &str) -> Vec<serde_json::Value> {
    let cfn = aws_sdk_cloudformation::Client::new(
        &airtask_tests::aws_config_for(&endpoint(), None).await,
    );
    cfn.describe_stacks()
        .stack_name(name)
        .send()
        .await
        .expect("DescribeStacks")
        .stacks()
        .first()
        .expect("the stack")
        .outputs()
        .iter()
        .map(|o| serde_json::json!({"OutputKey": o.output_key(), "OutputValue": o.output_value()}))
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn the_ecs_corpus_workflow_runs_end_to_end_through_its_stack() {
    // ecs_dag.yaml makes its VPC, cluster, role and Fargate task definition with a
    // CloudFormation stack and reads the subnet as `xcom_pull(task_ids='create_ecs_stack')
    // ['CreateStackResponse']['Outputs'][2]`. The stack operator pushes no XCom
    // (docs/operators/cloudformation.md), so the test writes the value the file expects from the
    // real stack's outputs, as the EMR and Glue corpus tests do. Every task of the file runs, in
    // its order; the task (`echo`, exit code 0) is waited for with the default waiter_delay.
    let file = airtask_tests::corpus_dir()
        .join("aws-samples/ecs_dag.yaml")
        .to_string_lossy()
        .into_owned();
    let dir = airtask_tests::TempDir::new("ecst-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let stack = "ecst-corpus-stack";
    run_corpus_task(&file, &state, stack, "create_ecs_stack");
    run_corpus_task(&file, &state, stack, "wait_for_ecs_stack");
    let outputs = stack_outputs(stack).await;
    assert_eq!(outputs.len(), 3, "{outputs:?}");
    assert_eq!(outputs[2]["OutputKey"], "SubnetId", "{outputs:?}");
    let xcom_dir = dir.path().join("state/ecs_dag/r1/create_ecs_stack/-1/xcom");
    std::fs::create_dir_all(&xcom_dir).expect("xcom dir");
    std::fs::write(
        xcom_dir.join("return_value.json"),
        serde_json::json!({"CreateStackResponse": {"Outputs": outputs}}).to_string(),
    )
    .expect("xcom");
    let text = run_corpus_task(&file, &state, stack, "run_task");
    assert!(
        text.contains(
            "Running ECS Task - Task definition: mwaa-test-task - on cluster mwaa-test-ecs-cluster"
        ) && text.contains("ECS Task stopped, check status: "),
        "{text}"
    );
    let arn = std::fs::read_to_string(
        dir.path()
            .join("state/ecs_dag/r1/run_task/-1/xcom/ecs_task_arn.json"),
    )
    .expect("the task ARN");
    let arn: String = serde_json::from_str(&arn).expect("a JSON string");
    let task = task_of("mwaa-test-ecs-cluster", &arn).await;
    assert_eq!(task.last_status(), Some("STOPPED"));
    assert_eq!(task.containers()[0].exit_code(), Some(0));
    run_corpus_task(&file, &state, stack, "delete_ecs_stack");
    run_corpus_task(&file, &state, stack, "wait_for_ecs_delete");
}
