//! The Step Functions operators and sensor through `airtask run-task` against the local
//! endpoint: an execution started (XCom: its ARN), sensed (XCom `output`) and read
//! (XCom: its output); a failed execution failing the sensor, and its error read; a running
//! one timing the sensor out; with `deferrable: true` in the workflow, the operator waits for
//! the execution and fails with it, as the provider's does. The outcomes come from the endpoint's Step Functions
//! patch (scripts/moto_patches/stepfunctions.py): `moto:SUCCEEDED`, `moto:FAILED` and
//! `moto:RUNNING` in the execution's input. Every test has a state machine of its own.

use crate::flow::Flow;

const START: &str =
    "airflow.providers.amazon.aws.operators.step_function.StepFunctionStartExecutionOperator";
const SENSOR: &str =
    "airflow.providers.amazon.aws.sensors.step_function.StepFunctionExecutionSensor";
const OUTPUT: &str =
    "airflow.providers.amazon.aws.operators.step_function.StepFunctionGetExecutionOutputOperator";

async fn sfn() -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await)
}

/// Creates a one-Pass-state machine `name` and returns its ARN.
async fn state_machine(name: &str) -> String {
    sfn()
        .await
        .create_state_machine()
        .name(name)
        .definition(r#"{"StartAt": "Pass", "States": {"Pass": {"Type": "Pass", "End": true}}}"#)
        .role_arn("arn:aws:iam::123456789012:role/sfnt-role")
        .send()
        .await
        .expect("CreateStateMachine")
        .state_machine_arn
}

async fn status_of(arn: &str) -> String {
    sfn()
        .await
        .describe_execution()
        .execution_arn(arn)
        .send()
        .await
        .expect("DescribeExecution")
        .status
        .as_str()
        .to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn an_execution_is_started_sensed_and_its_output_read() {
    let machine = state_machine("sfnt-ok").await;
    let flow = Flow::new(
        "sfnt_ok",
        &[
            (
                "start",
                START,
                format!(
                    "state_machine_arn: {machine}\nname: sfnt-ok-{{{{ ds_nodash }}}}\nstate_machine_input: {{marker: 'moto:SUCCEEDED', day: '{{{{ ds }}}}'}}"
                ),
            ),
            (
                "sense",
                SENSOR,
                "execution_arn: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "output",
                OUTPUT,
                "execution_arn: \"{{ ti.xcom_pull(task_ids='start') }}\"".to_owned(),
            ),
        ],
    );
    let run = flow.expect("start", 0);
    let arn = run
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no execution ARN XCom:\n{}", run.log))
        .to_owned();
    assert!(
        arn.ends_with(":execution:sfnt-ok:sfnt-ok-20250309"),
        "{arn}"
    );
    assert!(
        run.log.contains(&format!(
            "Started State Machine execution for {machine}: {arn}"
        )),
        "{}",
        run.log
    );
    let sensed = flow.expect("sense", 0);
    let output = flow
        .xcom("sense", "output")
        .unwrap_or_else(|| panic!("no output:\n{}", sensed.log));
    assert_eq!(
        output,
        serde_json::json!({"marker": "moto:SUCCEEDED", "day": "2025-03-09"})
    );
    let run = flow.expect("output", 0);
    assert_eq!(run.xcom, Some(output), "{}", run.log);
    assert!(
        run.log
            .contains(&format!("Got State Machine Execution output for {arn}")),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_execution_fails_the_sensor_and_its_error_is_read() {
    let machine = state_machine("sfnt-fail").await;
    let flow = Flow::new(
        "sfnt_fail",
        &[
            (
                "start",
                START,
                format!(
                    "state_machine_arn: {machine}\nname: sfnt-fail-1\nstate_machine_input: '{{\"marker\": \"moto:FAILED\"}}'"
                ),
            ),
            (
                "sense",
                SENSOR,
                format!(
                    "execution_arn: {}\npoke_interval: 0.2",
                    machine.replace(":stateMachine:", ":execution:") + ":sfnt-fail-1"
                ),
            ),
            (
                "output",
                OUTPUT,
                format!(
                    "execution_arn: {}",
                    machine.replace(":stateMachine:", ":execution:") + ":sfnt-fail-1"
                ),
            ),
        ],
    );
    // Without deferrable the operator does not wait: it succeeds with the ARN, as the
    // provider's does.
    let run = flow.expect("start", 0);
    assert!(run.xcom.is_some(), "{}", run.log);
    let run = flow.expect("sense", 1);
    assert!(
        run.error()
            .starts_with("Step Function sensor failed. State Machine Output: None")
            && run
                .error()
                .contains("is FAILED, error moto.Failed: moto: execution failed"),
        "{}",
        run.log
    );
    let run = flow.expect("output", 0);
    assert_eq!(
        run.xcom,
        Some(serde_json::json!("moto.Failed")),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_running_execution_times_the_sensor_out() {
    let machine = state_machine("sfnt-slow").await;
    let flow = Flow::new(
        "sfnt_slow",
        &[
            (
                "start",
                START,
                format!("state_machine_arn: {machine}\nname: sfnt-slow-1\nstate_machine_input: '{{\"marker\": \"moto:RUNNING\"}}'"),
            ),
            (
                "sense",
                SENSOR,
                "execution_arn: \"{{ ti.xcom_pull(task_ids='start') }}\"\npoke_interval: 0.5\ntimeout: 2".to_owned(),
            ),
        ],
    );
    // Without deferrable the operator returns once the execution started.
    let run = flow.expect("start", 0);
    let arn = run
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(status_of(&arn).await, "RUNNING");
    let run = flow.expect("sense", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn with_deferrable_the_operator_waits_for_the_execution_and_fails_with_it() {
    let machine = state_machine("sfnt-defer").await;
    let flow = Flow::new(
        "sfnt_defer",
        &[
            (
                "ok",
                START,
                format!(
                    "state_machine_arn: {machine}\nname: sfnt-defer-ok\nstate_machine_input: '{{\"marker\": \"moto:SUCCEEDED\"}}'\ndeferrable: true\nwaiter_delay: 1\nwaiter_max_attempts: 30"
                ),
            ),
            (
                "bad",
                START,
                format!(
                    "state_machine_arn: {machine}\nname: sfnt-defer-bad\nstate_machine_input: '{{\"marker\": \"moto:FAILED\"}}'\ndeferrable: true\nwaiter_delay: 1\nwaiter_max_attempts: 30"
                ),
            ),
        ],
    );
    let run = flow.expect("ok", 0);
    let arn = run
        .xcom
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or_else(|| panic!("no execution ARN XCom:\n{}", run.log))
        .to_owned();
    assert_eq!(status_of(&arn).await, "SUCCEEDED");
    assert!(run.log.contains("deferrable is set"), "{}", run.log);
    let run = flow.expect("bad", 1);
    assert!(
        run.error().starts_with("Step function failed: execution ")
            && run.error().contains(":sfnt-defer-bad is FAILED"),
        "{}",
        run.log
    );
}
