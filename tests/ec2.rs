//! The EC2 operators and sensor through `airtask run-task` against the local endpoint:
//! EC2CreateInstanceOperator launching two instances and waiting until they run (XCom: their
//! ids), then EC2TerminateInstanceOperator waiting until they are terminated; a launch that
//! fails, a RunInstances refusal, the waiter's attempt limit and SIGTERM during the wait
//! (on_kill terminates the instance); stop and start waiting for the state, with the sensor
//! after each; the sensor's failure (unknown instance), timeout and bad target_state; reboot;
//! hibernation of a configured and of an unconfigured instance. Instances stay in transition
//! and fail to launch through the endpoint's EC2 patch (scripts/moto_patches/ec2.py): tags
//! `moto:transition-reads` and `moto:launch`. Every test has resource names of its own.

use airtask_tests::{TempDir, airtask, endpoint};
use aws_sdk_ec2::types::{HibernationOptionsRequest, ResourceType, Tag, TagSpecification};

use crate::flow::{Flow, workflow};

const OPS: &str = "airflow.providers.amazon.aws.operators.ec2";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.ec2.EC2InstanceStateSensor";

/// An AMI of moto's catalogue (moto does not check image ids by default).
const AMI: &str = "ami-03cf127a";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

async fn ec2() -> aws_sdk_ec2::Client {
    aws_sdk_ec2::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

/// Launches one instance named `name`, with `transition_reads` transitional reads after each
/// state change, optionally configured for hibernation.
async fn launch(name: &str, transition_reads: u32, hibernation: bool) -> String {
    let mut tags = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(Tag::builder().key("Name").value(name).build());
    if transition_reads > 0 {
        tags = tags.tags(
            Tag::builder()
                .key("moto:transition-reads")
                .value(transition_reads.to_string())
                .build(),
        );
    }
    let mut req = ec2()
        .await
        .run_instances()
        .image_id(AMI)
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags.build());
    if hibernation {
        req = req.hibernation_options(
            HibernationOptionsRequest::builder()
                .configured(true)
                .build(),
        );
    }
    let out = req.send().await.expect("RunInstances");
    out.instances()[0]
        .instance_id()
        .expect("InstanceId")
        .to_owned()
}

/// The instance as DescribeInstances shows it (this read counts as one of its transitional
/// reads).
async fn instance(id: &str) -> aws_sdk_ec2::types::Instance {
    ec2()
        .await
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .expect("DescribeInstances")
        .reservations()[0]
        .instances()[0]
        .clone()
}

async fn state(id: &str) -> String {
    instance(id)
        .await
        .state()
        .and_then(|s| s.name())
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default()
}

fn ids_of(run: &crate::flow::Run) -> Vec<String> {
    run.xcom
        .as_ref()
        .and_then(|v| v.as_array())
        .unwrap_or_else(|| panic!("no XCom list:\n{}", run.log))
        .iter()
        .map(|v| v.as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_create_waits_until_running_and_terminate_until_terminated() {
    let flow = Flow::new(
        "ec2t_create",
        &[
            (
                "create",
                &op("EC2CreateInstanceOperator"),
                format!(
                    "image_id: {AMI}\nmin_count: 2\nmax_count: 2\nwait_for_completion: true\npoll_interval: 0.2\nconfig:\n  InstanceType: t3.micro\n  TagSpecifications:\n  - ResourceType: instance\n    Tags:\n    - {{Key: Name, Value: ec2t-create}}\n    - {{Key: 'moto:transition-reads', Value: '2'}}"
                ),
            ),
            (
                "terminate",
                &op("EC2TerminateInstanceOperator"),
                "instance_ids: \"{{ ti.xcom_pull(task_ids='create') }}\"\nwait_for_completion: true\npoll_interval: 0.2".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    let ids = ids_of(&run);
    assert_eq!(ids.len(), 2, "{}", run.log);
    for id in &ids {
        assert!(
            run.log.contains(&format!("Created EC2 instance {id}")),
            "{}",
            run.log
        );
    }
    // Each instance was pending for two reads, then running.
    assert!(
        run.log.contains(&format!(
            "EC2 instance {} (waiter InstanceRunning): pending (poll 2 of 20",
            ids[0]
        )),
        "{}",
        run.log
    );
    let i = instance(&ids[1]).await;
    assert_eq!(
        i.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("running")
    );
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert!(
        i.tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some("ec2t-create")),
        "{i:?}"
    );

    let run = flow.expect("terminate", 0);
    assert!(run.xcom.is_none(), "terminate returns nothing");
    assert!(
        run.log
            .contains(&format!("Terminating EC2 instance {}", ids[1]))
            && run.log.contains("shutting-down (poll 1 of 20"),
        "{}",
        run.log
    );
    for id in &ids {
        assert_eq!(state(id).await, "terminated");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_create_fails_on_a_failed_launch_a_refusal_and_the_attempt_limit() {
    let tags = |extra: &str| {
        format!(
            "config:\n  TagSpecifications:\n  - ResourceType: instance\n    Tags:\n    - {{Key: 'moto:transition-reads', Value: '{extra}'}}"
        )
    };
    let flow = Flow::new(
        "ec2t_create_fail",
        &[
            (
                "fails",
                &op("EC2CreateInstanceOperator"),
                format!(
                    "image_id: {AMI}\nwait_for_completion: true\npoll_interval: 0.2\n{}\n    - {{Key: 'moto:launch', Value: fails}}",
                    tags("1")
                ),
            ),
            (
                "refused",
                &op("EC2CreateInstanceOperator"),
                format!(
                    "image_id: {AMI}\nconfig: {{SubnetId: subnet-ec2tnosuch}}\nretries: 2\nretry_delay: 0"
                ),
            ),
            (
                "slow",
                &op("EC2CreateInstanceOperator"),
                format!(
                    "image_id: {AMI}\nwait_for_completion: true\npoll_interval: 0.2\nmax_attempts: 3\n{}",
                    tags("1000000")
                ),
            ),
        ],
    );
    let run = flow.expect("fails", 1);
    assert!(
        run.error().starts_with(
            "Waiter InstanceRunning failed: Waiter encountered a terminal failure state"
        ) && run.error().contains("\"terminated\""),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
    assert!(run.log.contains("pending (poll 1 of 20"), "{}", run.log);

    let run = flow.expect("refused", 1);
    assert!(
        run.error().contains("RunInstances of ")
            && run.error().contains("InvalidSubnetID.NotFound"),
        "{}",
        run.log
    );
    // A refusal is not retried: one try, with retries allowed.
    assert_eq!(run.record["try"], 1, "{}", run.log);

    let run = flow.expect("slow", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 3 attempts"),
        "{}",
        run.log
    );
    assert_eq!(run.log.matches("pending (poll ").count(), 2, "{}", run.log);
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_while_a_created_instance_starts_terminates_it() {
    let flow = Flow::new(
        "ec2t_kill",
        &[(
            "create",
            &op("EC2CreateInstanceOperator"),
            format!(
                "image_id: {AMI}\nwait_for_completion: true\npoll_interval: 0.5\nconfig:\n  TagSpecifications:\n  - ResourceType: instance\n    Tags:\n    - {{Key: 'moto:transition-reads', Value: '1000000'}}"
            ),
        )],
    );
    let started = flow.start_until("create", |l| l.contains("pending (poll 1 of"));
    let id = started
        .seen
        .iter()
        .find_map(|l| l.split("Created EC2 instance ").nth(1))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("no instance created:\n{}", started.seen.join("\n")));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains(&format!("on_kill: Terminating instance/s {id}")),
        "{log}"
    );
    // The instance stays in transition for good: terminating shows shutting-down.
    assert_eq!(state(&id).await, "shutting-down");
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_stop_and_start_wait_for_the_state_and_the_sensor_sees_it() {
    let id = launch("ec2t-stop-start", 2, false).await;
    let sense = |target: &str, extra: &str| {
        format!("instance_id: {id}\ntarget_state: {target}\npoke_interval: 0.2\ntimeout: 30{extra}")
    };
    let flow = Flow::new(
        "ec2t_stop_start",
        &[
            (
                "stop",
                &op("EC2StopInstanceOperator"),
                format!("instance_id: {id}\ncheck_interval: 0.2"),
            ),
            ("stopped", SENSOR, sense("stopped", "")),
            (
                "start",
                &op("EC2StartInstanceOperator"),
                format!("instance_id: {id}\ncheck_interval: 0.2"),
            ),
            ("running", SENSOR, sense("running", "\ndeferrable: true")),
        ],
    );
    let run = flow.expect("stop", 0);
    assert!(
        run.log.contains(&format!("Stopping EC2 instance {id}")),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("instance state: stopping. Same as target: False")
            && run
                .log
                .contains("instance state: stopped. Same as target: True"),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
    let run = flow.expect("stopped", 0);
    assert!(
        run.log.contains("instance state: stopped") && run.log.contains("Success criteria met"),
        "{}",
        run.log
    );
    let run = flow.expect("start", 0);
    assert!(
        run.log.contains(&format!("Starting EC2 instance {id}"))
            && run
                .log
                .contains("instance state: pending. Same as target: False")
            && run
                .log
                .contains("instance state: running. Same as target: True"),
        "{}",
        run.log
    );
    let run = flow.expect("running", 0);
    assert!(
        run.log.contains("instance state: running") && run.log.contains("Success criteria met"),
        "{}",
        run.log
    );
    assert_eq!(state(&id).await, "running");
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_start_stop_and_sensor_failures() {
    let stuck = launch("ec2t-stuck", 1_000_000, false).await;
    let flow = Flow::new(
        "ec2t_failures",
        &[
            (
                "start_unknown",
                &op("EC2StartInstanceOperator"),
                "instance_id: i-0ec2700000000000a\ncheck_interval: 0.2\nretries: 2\nretry_delay: 0"
                    .to_owned(),
            ),
            (
                "stop_stuck",
                &op("EC2StopInstanceOperator"),
                format!("instance_id: {stuck}\ncheck_interval: 0.5\nexecution_timeout: 2"),
            ),
            (
                "sense_unknown",
                SENSOR,
                "instance_id: i-0ec2700000000000b\ntarget_state: running\npoke_interval: 0.2"
                    .to_owned(),
            ),
            (
                "sense_timeout",
                SENSOR,
                format!(
                    "instance_id: {stuck}\ntarget_state: running\npoke_interval: 0.2\ntimeout: 1"
                ),
            ),
        ],
    );
    let run = flow.expect("start_unknown", 1);
    assert!(
        run.error()
            .contains("StartInstances i-0ec2700000000000a failed")
            && run.error().contains("InvalidInstanceID.NotFound"),
        "{}",
        run.log
    );
    assert_eq!(run.record["try"], 1, "{}", run.log);

    // The provider waits for the state without a limit; the try's execution_timeout ends it.
    // Exit code 3: the try timed out.
    let run = flow.expect("stop_stuck", 3);
    assert!(run.error().contains("execution_timeout"), "{}", run.log);
    assert!(
        run.log
            .contains("instance state: stopping. Same as target: False"),
        "{}",
        run.log
    );

    let run = flow.expect("sense_unknown", 1);
    assert!(
        run.error().contains("InvalidInstanceID.NotFound"),
        "{}",
        run.log
    );
    // The stuck instance stays stopping: a sensor for running times out.
    let run = flow.expect("sense_timeout", 1);
    assert!(run.error().contains("Sensor has timed out"), "{}", run.log);
    assert!(run.log.contains("instance state: stopping"), "{}", run.log);
}

#[test]
fn an_invalid_target_state_fails_validation() {
    let dir = TempDir::new("ec2t-validate");
    let wf = dir.write(
        "wf.yaml",
        workflow(
            "ec2t_validate",
            &[(
                "sense",
                SENSOR,
                "instance_id: i-1\ntarget_state: pending".to_owned(),
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
    assert!(text.contains("Invalid target_state: pending"), "{text}");
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_reboot_waits_until_running_and_fails_on_an_unknown_instance() {
    let a = launch("ec2t-reboot-a", 0, false).await;
    let b = launch("ec2t-reboot-b", 0, false).await;
    let flow = Flow::new(
        "ec2t_reboot",
        &[
            (
                "reboot",
                &op("EC2RebootInstanceOperator"),
                format!("instance_ids: [{a}, {b}]\nwait_for_completion: true\npoll_interval: 0.2"),
            ),
            (
                "unknown",
                &op("EC2RebootInstanceOperator"),
                "instance_ids: i-0ec2700000000000c".to_owned(),
            ),
        ],
    );
    let run = flow.expect("reboot", 0);
    assert!(
        run.log
            .contains(&format!("Rebooting EC2 instances {a}, {b}")),
        "{}",
        run.log
    );
    assert!(run.xcom.is_none());
    assert_eq!(state(&a).await, "running");
    let run = flow.expect("unknown", 1);
    assert!(
        run.error()
            .contains("RebootInstances i-0ec2700000000000c failed")
            && run.error().contains("InvalidInstanceID.NotFound"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn ec2_hibernate_needs_a_configured_instance_and_waits_until_stopped() {
    let configured = launch("ec2t-hibernate", 1, true).await;
    let plain = launch("ec2t-no-hibernate", 0, false).await;
    // The configured instance is pending for one read after its launch.
    assert_eq!(state(&configured).await, "pending");
    let flow = Flow::new(
        "ec2t_hibernate",
        &[
            (
                "hibernate",
                &op("EC2HibernateInstanceOperator"),
                format!(
                    "instance_ids: {configured}\nwait_for_completion: true\npoll_interval: 0.2"
                ),
            ),
            (
                "plain",
                &op("EC2HibernateInstanceOperator"),
                format!("instance_ids: [{plain}]\nwait_for_completion: true"),
            ),
        ],
    );
    let run = flow.expect("hibernate", 0);
    assert!(
        run.log
            .contains(&format!("Hibernating EC2 instances {configured}"))
            && run.log.contains("stopping (poll 1 of 20"),
        "{}",
        run.log
    );
    let i = instance(&configured).await;
    assert_eq!(
        i.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("stopped")
    );
    assert_eq!(
        i.state_reason().and_then(|r| r.code()),
        Some("Client.UserInitiatedHibernate")
    );

    let run = flow.expect("plain", 1);
    assert!(
        run.error().contains(&format!(
            "Instance {plain} is not configured for hibernation"
        )),
        "{}",
        run.log
    );
    assert_eq!(state(&plain).await, "running");
}
