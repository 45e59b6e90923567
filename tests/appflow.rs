//! The AppFlow operators against the local endpoint's AppFlow fake
//! (scripts/moto_patches/appflow.py): a run and its XCom `execution_id`, a failed run, an
//! incompatible source, an unknown flow; the four filter operators updating the flow as the
//! provider does (checked on what DescribeFlow answers after their UpdateFlow); and
//! AppflowRecordsShortCircuitOperator in a real `airtask run`, skipping every task downstream
//! (or only the direct ones) when the run processed no records, and letting them run when it
//! did. The fake ends a flow's runs Successful with 25 records, with 0 records when the flow's
//! name contains `moto-no-records`, and Error when it contains `moto-error`. Every test has
//! flows of its own.

use std::path::Path;

use airtask_tests::{TempDir, airtask};
use aws_sdk_appflow::types::{
    ConnectorOperator, ConnectorType, DestinationConnectorProperties, DestinationFlowConfig,
    ExecutionStatus, OperatorPropertiesKeys, S3DestinationProperties, SalesforceConnectorOperator,
    SalesforceSourceProperties, SourceConnectorProperties, SourceFlowConfig, Task, TaskType,
    TriggerConfig, TriggerType, ZendeskConnectorOperator, ZendeskSourceProperties,
};
use serde_json::{Value, json};

use crate::flow::Flow;

const MODULE: &str = "airflow.providers.amazon.aws.operators.appflow";

fn class(name: &str) -> String {
    format!("{MODULE}.{name}")
}

async fn appflow() -> aws_sdk_appflow::Client {
    aws_sdk_appflow::Client::new(
        &airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await,
    )
}

/// A connector operator of `connector` (Salesforce or Zendesk).
fn operator(connector: &ConnectorType, op: &str) -> ConnectorOperator {
    let b = ConnectorOperator::builder();
    if *connector == ConnectorType::Zendesk {
        b.zendesk(ZendeskConnectorOperator::from(op)).build()
    } else {
        b.salesforce(SalesforceConnectorOperator::from(op)).build()
    }
}

fn task(
    connector: &ConnectorType,
    kind: TaskType,
    op: &str,
    fields: &[&str],
    properties: &[(&str, &str)],
) -> Task {
    let mut b = Task::builder()
        .task_type(kind)
        .connector_operator(operator(connector, op))
        .set_source_fields(Some(fields.iter().map(|f| (*f).to_owned()).collect()));
    for (k, v) in properties {
        b = b.task_properties(OperatorPropertiesKeys::from(*k), *v);
    }
    b.build().expect("a task")
}

/// The tasks every test flow starts with: a mapping, a PROJECTION filter (which the filter
/// operators keep) and a date filter (which they remove).
fn initial_tasks(connector: &ConnectorType) -> Vec<Task> {
    vec![
        task(connector, TaskType::Map, "NO_OP", &["Id"], &[]),
        task(
            connector,
            TaskType::Filter,
            "PROJECTION",
            &["Id", "LastModifiedDate"],
            &[],
        ),
        task(
            connector,
            TaskType::Filter,
            "GREATER_THAN",
            &["CreatedDate"],
            &[("DATA_TYPE", "datetime"), ("VALUE", "1000")],
        ),
    ]
}

fn source(connector: &ConnectorType) -> SourceFlowConfig {
    let props = if *connector == ConnectorType::Zendesk {
        SourceConnectorProperties::builder()
            .zendesk(
                ZendeskSourceProperties::builder()
                    .object("tickets")
                    .build()
                    .expect("zendesk"),
            )
            .build()
    } else {
        SourceConnectorProperties::builder()
            .salesforce(
                SalesforceSourceProperties::builder()
                    .object("Account")
                    .build()
                    .expect("salesforce"),
            )
            .build()
    };
    SourceFlowConfig::builder()
        .connector_type(connector.clone())
        .connector_profile_name("aft-profile")
        .source_connector_properties(props)
        .build()
        .expect("source")
}

fn destination() -> DestinationFlowConfig {
    DestinationFlowConfig::builder()
        .connector_type(ConnectorType::S3)
        .destination_connector_properties(
            DestinationConnectorProperties::builder()
                .s3(S3DestinationProperties::builder()
                    .bucket_name("aft-bucket")
                    .build()
                    .expect("s3"))
                .build(),
        )
        .build()
        .expect("destination")
}

/// Creates flow `name` from `connector` to S3 with `trigger` and the initial tasks.
async fn create_flow(name: &str, connector: ConnectorType, trigger: TriggerType) {
    appflow()
        .await
        .create_flow()
        .flow_name(name)
        .description(format!("{name} for the airtask tests"))
        .trigger_config(
            TriggerConfig::builder()
                .trigger_type(trigger)
                .build()
                .expect("trigger"),
        )
        .source_flow_config(source(&connector))
        .destination_flow_config_list(destination())
        .set_tasks(Some(initial_tasks(&connector)))
        .send()
        .await
        .expect("CreateFlow");
}

/// The flow's executions (newest first): id, status, recordsProcessed.
async fn executions(name: &str) -> Vec<(String, ExecutionStatus, Option<i64>)> {
    appflow()
        .await
        .describe_flow_execution_records()
        .flow_name(name)
        .send()
        .await
        .expect("DescribeFlowExecutionRecords")
        .flow_executions()
        .iter()
        .map(|r| {
            (
                r.execution_id().unwrap_or_default().to_owned(),
                r.execution_status().cloned().expect("executionStatus"),
                r.execution_result().and_then(|x| x.records_processed()),
            )
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_pushes_its_execution_id_and_a_failed_run_fails_the_task() {
    create_flow(
        "aft-run-ok",
        ConnectorType::Salesforce,
        TriggerType::Ondemand,
    )
    .await;
    create_flow(
        "aft-run-moto-error",
        ConnectorType::Salesforce,
        TriggerType::Ondemand,
    )
    .await;
    let run_op = class("AppflowRunOperator");
    let tasks = [
        (
            "run",
            run_op.as_str(),
            "flow_name: aft-run-ok\nsource: salesforce\npoll_interval: 1".to_owned(),
        ),
        (
            "failed",
            run_op.as_str(),
            "flow_name: aft-run-moto-error\npoll_interval: 1".to_owned(),
        ),
        (
            "wrong_source",
            run_op.as_str(),
            "flow_name: aft-run-ok\nsource: zendesk\npoll_interval: 1".to_owned(),
        ),
        (
            "unknown",
            run_op.as_str(),
            "flow_name: aft-run-never-created\npoll_interval: 1".to_owned(),
        ),
    ];
    let flow = Flow::new("aft_run", &tasks);

    let run = flow.expect("run", 0);
    let id = flow
        .xcom("run", "execution_id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no XCom execution_id:\n{}", run.log));
    assert!(run.xcom.is_none(), "no return_value:\n{}", run.log);
    assert!(
        run.log.contains(&format!("executionId: {id}")),
        "{}",
        run.log
    );
    // The first poll saw the run in progress, the next one its end.
    assert!(
        run.log.contains(&format!(
            "AppFlow flow aft-run-ok run {id}: InProgress (poll 1 of 60"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Flow execution {id}: Successful, 25 records processed, 2500 bytes written"
        )),
        "{}",
        run.log
    );
    assert_eq!(
        executions("aft-run-ok").await,
        vec![(id, ExecutionStatus::Successful, Some(25))]
    );

    let run = flow.expect("failed", 1);
    assert!(
        run.error()
            .starts_with("error while waiting for flow to complete: flow aft-run-moto-error run ")
            && run
                .error()
                .ends_with("ended Error: moto: the flow run failed (moto-error in the flow name)"),
        "{}",
        run.log
    );
    assert!(flow.xcom("failed", "execution_id").is_none(), "{}", run.log);
    let runs = executions("aft-run-moto-error").await;
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, ExecutionStatus::Error);

    let run = flow.expect("wrong_source", 1);
    assert_eq!(
        run.error(),
        "Incompatible source (zendesk and connector type (Salesforce)!",
        "{}",
        run.log
    );
    let run = flow.expect("unknown", 1);
    assert!(
        run.error().contains("StartFlow aft-run-never-created")
            && run.error().contains("ResourceNotFoundException"),
        "{}",
        run.log
    );
    // Neither started another run of the flow.
    assert_eq!(executions("aft-run-ok").await.len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn runs_in_progress_a_scheduled_flow_and_a_missing_execution_id_fail_as_the_provider_does() {
    create_flow(
        "aft-nowait",
        ConnectorType::Salesforce,
        TriggerType::Ondemand,
    )
    .await;
    create_flow(
        "aft-scheduled",
        ConnectorType::Salesforce,
        TriggerType::Scheduled,
    )
    .await;
    create_flow(
        "aft-give-up",
        ConnectorType::Salesforce,
        TriggerType::Ondemand,
    )
    .await;
    let run_op = class("AppflowRunOperator");
    let check = class("AppflowRecordsShortCircuitOperator");
    let tasks = [
        (
            "start",
            run_op.as_str(),
            "flow_name: aft-nowait\nwait_for_completion: false".to_owned(),
        ),
        (
            "check",
            check.as_str(),
            "flow_name: aft-nowait\nappflow_run_task_id: start".to_owned(),
        ),
        (
            "check_nothing",
            check.as_str(),
            "flow_name: aft-nowait\nappflow_run_task_id: scheduled".to_owned(),
        ),
        (
            "scheduled",
            run_op.as_str(),
            "flow_name: aft-scheduled\npoll_interval: 1".to_owned(),
        ),
        (
            "give_up",
            run_op.as_str(),
            "flow_name: aft-give-up\npoll_interval: 1\nmax_attempts: 1".to_owned(),
        ),
    ];
    let flow = Flow::new("aft_nowait", &tasks);
    let run = flow.expect("start", 0);
    let id = flow
        .xcom("start", "execution_id")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no XCom execution_id:\n{}", run.log));
    assert!(!run.log.contains("InProgress"), "no wait:\n{}", run.log);
    // The run has not ended when the short circuit looks at it: no recordsProcessed yet.
    let run = flow.expect("check", 1);
    assert_eq!(
        run.error(),
        format!("Flow ({id}) without recordsProcessed info!"),
        "{}",
        run.log
    );
    assert!(flow.xcom("check", "records_processed").is_none());
    let run = flow.expect("check_nothing", 1);
    assert!(
        run.error()
            .starts_with("No execution_id found from task_id scheduled!"),
        "{}",
        run.log
    );
    // StartFlow activates a scheduled flow and answers no execution id, as AppFlow does.
    let run = flow.expect("scheduled", 1);
    assert_eq!(
        run.error(),
        "StartFlow aft-scheduled answered without an executionId",
        "{}",
        run.log
    );
    assert!(executions("aft-scheduled").await.is_empty());
    // One poll allowed, and the run was still in progress at it.
    let run = flow.expect("give_up", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 1 attempts")
            && run.error().contains("last state InProgress"),
        "{}",
        run.log
    );
    assert!(flow.xcom("give_up", "execution_id").is_none());
}

/// The last state `airtask run` printed for `task`.
fn state_of(summary: &str, task: &str) -> String {
    summary
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned()
}

/// `airtask run` of workflow `id` (`yaml`) as run r1 of 2025-03-09: exit code and output.
fn run_workflow(dir: &TempDir, id: &str, yaml: &str) -> (Option<i32>, String) {
    let wf = dir.write(&format!("{id}.yaml"), yaml);
    let state = dir.path().join("state");
    let out = airtask(&[
        "run",
        &wf,
        "--run-id",
        "r1",
        "--logical-date",
        "2025-03-09",
        "--state-dir",
        &state.to_string_lossy(),
        "--parallelism",
        "4",
    ]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// The XCom `key` of `task` in run r1 of workflow `id`, under the state directory of `dir`.
fn xcom(dir: &Path, id: &str, task: &str, key: &str) -> Option<Value> {
    let path = dir.join(format!("state/{id}/r1/{task}/-1/xcom/{key}.json"));
    std::fs::read_to_string(path)
        .ok()
        .map(|t| serde_json::from_str(&t).expect("XCom JSON"))
}

/// The task's output in run r1 of workflow `id`.
fn output(dir: &Path, id: &str, task: &str) -> String {
    std::fs::read_to_string(dir.join(format!("state/{id}/r1/{task}/-1/output.log")))
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn the_filter_operators_update_the_flow_as_the_provider_does_then_run_it() {
    let flows = [
        ("aft-full", ConnectorType::Salesforce),
        ("aft-before", ConnectorType::Salesforce),
        ("aft-after", ConnectorType::Zendesk),
        ("aft-daily", ConnectorType::Salesforce),
    ];
    for (name, connector) in &flows {
        create_flow(name, connector.clone(), TriggerType::Ondemand).await;
    }
    let id = "aft_filters";
    let yaml = format!(
        "{id}:
  default_args:
    retries: 0
  tasks:
    full:
      operator: {full}
      flow_name: aft-full
      source: salesforce
      poll_interval: 1
    before:
      operator: {before}
      flow_name: aft-before
      source: salesforce
      source_field: LastModifiedDate
      filter_date: '{{{{ ds }}}}'
      poll_interval: 1
    after:
      operator: {after}
      flow_name: aft-after
      source: zendesk
      source_field: updated_at
      filter_date: '{{{{ ds }}}}T06:30:00'
      poll_interval: 1
    daily:
      operator: {daily}
      flow_name: aft-daily
      source: salesforce
      source_field: LastModifiedDate
      filter_date: '{{{{ ds }}}}'
      poll_interval: 1
",
        full = class("AppflowRunFullOperator"),
        before = class("AppflowRunBeforeOperator"),
        after = class("AppflowRunAfterOperator"),
        daily = class("AppflowRunDailyOperator"),
    );
    let dir = TempDir::new(id);
    let (code, out) = run_workflow(&dir, id, &yaml);
    assert_eq!(code, Some(0), "{out}");

    // 2025-03-09T00:00:00Z and 06:30 in epoch milliseconds, a day later, 1 ms earlier.
    let new_filter = |name: &str| -> Option<Task> {
        let (s, z) = (ConnectorType::Salesforce, ConnectorType::Zendesk);
        fn props<'a>(p: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
            let mut all = vec![("DATA_TYPE", "datetime")];
            all.extend_from_slice(p);
            all
        }
        match name {
            "aft-before" => Some(task(
                &s,
                TaskType::Filter,
                "LESS_THAN",
                &["LastModifiedDate"],
                &props(&[("VALUE", "1741478400000")]),
            )),
            "aft-after" => Some(task(
                &z,
                TaskType::Filter,
                "GREATER_THAN",
                &["updated_at"],
                &props(&[("VALUE", "1741501800000")]),
            )),
            "aft-daily" => Some(task(
                &s,
                TaskType::Filter,
                "BETWEEN",
                &["LastModifiedDate"],
                &props(&[
                    ("LOWER_BOUND", "1741478399999"),
                    ("UPPER_BOUND", "1741564800000"),
                ]),
            )),
            _ => None,
        }
    };
    let af = appflow().await;
    for ((name, connector), task_id) in flows.iter().zip(["full", "before", "after", "daily"]) {
        assert_eq!(state_of(&out, task_id), "success", "{task_id}:\n{out}");
        let log = output(dir.path(), id, task_id);
        // The date filter was removed, the mapping and the PROJECTION filter kept, and the
        // operator's filter (none for a full run) added after them.
        assert!(
            log.contains("Removing task: Task") && log.contains("GreaterThan"),
            "{task_id}:\n{log}"
        );
        let described = af
            .describe_flow()
            .flow_name(*name)
            .send()
            .await
            .expect("DescribeFlow");
        let mut expected = initial_tasks(connector);
        expected.pop();
        expected.extend(new_filter(name));
        assert_eq!(described.tasks(), expected.as_slice(), "{name}");
        assert_eq!(
            described.trigger_config(),
            Some(
                &TriggerConfig::builder()
                    .trigger_type(TriggerType::Ondemand)
                    .build()
                    .unwrap()
            ),
            "{name}"
        );
        assert_eq!(described.source_flow_config(), Some(&source(connector)));
        assert_eq!(described.destination_flow_config_list(), [destination()]);
        assert_eq!(
            described.description(),
            Some(format!("{name} for the airtask tests").as_str())
        );
        // Then it ran: its execution_id is the flow's one, successful, run.
        let pushed = xcom(dir.path(), id, task_id, "execution_id")
            .unwrap_or_else(|| panic!("{task_id}: no execution_id:\n{log}"));
        let runs = executions(name).await;
        assert_eq!(runs.len(), 1, "{name}: {runs:?}");
        assert_eq!(pushed, json!(runs[0].0), "{name}");
        assert_eq!(runs[0].1, ExecutionStatus::Successful, "{name}");
    }
}

/// A workflow in which `check` short-circuits after `run_flow` runs `flow`: `a1` (then `a2`
/// and the all_done `a_done`) downstream of `check_all`, which skips everything downstream;
/// `d1` (then `d2` and the all_done `d_done`) downstream of `check_direct`, which skips only
/// its direct downstream task; `other` beside them.
fn short_circuit_workflow(id: &str, flow: &str) -> String {
    let empty = "airflow.providers.standard.operators.empty.EmptyOperator";
    let bash = "airflow.operators.bash.BashOperator";
    format!(
        "{id}:
  default_args:
    retries: 0
  tasks:
    run_flow:
      operator: {run}
      flow_name: {flow}
      poll_interval: 1
    check_all:
      operator: {check}
      flow_name: {flow}
      appflow_run_task_id: run_flow
      dependencies: [run_flow]
    a1:
      operator: {bash}
      bash_command: echo a1
      dependencies: [check_all]
    a2:
      operator: {empty}
      dependencies: [a1]
    a_done:
      operator: {bash}
      bash_command: echo a_done
      trigger_rule: all_done
      dependencies: [a1]
    check_direct:
      operator: {check}
      flow_name: {flow}
      appflow_run_task_id: run_flow
      ignore_downstream_trigger_rules: false
      dependencies: [run_flow]
    d1:
      operator: {bash}
      bash_command: echo d1
      dependencies: [check_direct]
    d2:
      operator: {empty}
      dependencies: [d1]
    d_done:
      operator: {bash}
      bash_command: echo d_done
      trigger_rule: all_done
      dependencies: [d1]
    other:
      operator: {empty}
      dependencies: [run_flow]
",
        run = class("AppflowRunOperator"),
        check = class("AppflowRecordsShortCircuitOperator"),
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_without_records_skips_the_tasks_downstream_of_the_short_circuit() {
    let name = "aft-sc-moto-no-records";
    create_flow(name, ConnectorType::Salesforce, TriggerType::Ondemand).await;
    let id = "aft_sc_empty";
    let dir = TempDir::new(id);
    let (code, out) = run_workflow(&dir, id, &short_circuit_workflow(id, name));
    for (task, state) in [
        ("run_flow", "success"),
        ("check_all", "success"),
        ("a1", "skipped"),
        ("a2", "skipped"),
        // Skipped whatever its trigger rule: ignore_downstream_trigger_rules is true.
        ("a_done", "skipped"),
        ("check_direct", "success"),
        ("d1", "skipped"),
        // Its upstream task skipped, all_success skips it; all_done runs.
        ("d2", "skipped"),
        ("d_done", "success"),
        ("other", "success"),
    ] {
        assert_eq!(state_of(&out, task), state, "{task}:\n{out}");
    }
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("a1") && out.contains("(short-circuited by check_all)"),
        "{out}"
    );
    assert_eq!(
        xcom(dir.path(), id, "check_all", "skipmixin_key"),
        Some(json!({"skipped": ["a1", "a2", "a_done"]}))
    );
    assert_eq!(
        xcom(dir.path(), id, "check_direct", "skipmixin_key"),
        Some(json!({"skipped": ["d1"]}))
    );
    for check in ["check_all", "check_direct"] {
        assert_eq!(
            xcom(dir.path(), id, check, "records_processed"),
            Some(json!(0)),
            "{check}"
        );
        assert_eq!(xcom(dir.path(), id, check, "return_value"), None, "{check}");
        let log = output(dir.path(), id, check);
        assert!(
            log.contains("records_processed: 0") && log.contains("Skipping downstream tasks"),
            "{check}:\n{log}"
        );
    }
    let execution = xcom(dir.path(), id, "run_flow", "execution_id").expect("execution_id");
    assert_eq!(
        executions(name).await,
        vec![(
            execution.as_str().unwrap_or_default().to_owned(),
            ExecutionStatus::Successful,
            Some(0)
        )]
    );
    // The skipped tasks never ran.
    for task in ["a1", "a2", "a_done", "d1", "d2"] {
        assert!(
            xcom(dir.path(), id, task, "return_value").is_none()
                && output(dir.path(), id, task).is_empty(),
            "{task}: {}",
            output(dir.path(), id, task)
        );
    }
    assert!(
        output(dir.path(), id, "d_done").contains("d_done"),
        "{}",
        output(dir.path(), id, "d_done")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_run_with_records_lets_the_tasks_downstream_of_the_short_circuit_run() {
    let name = "aft-sc-records";
    create_flow(name, ConnectorType::Salesforce, TriggerType::Ondemand).await;
    let id = "aft_sc_records";
    let dir = TempDir::new(id);
    let (code, out) = run_workflow(&dir, id, &short_circuit_workflow(id, name));
    for task in [
        "run_flow",
        "check_all",
        "a1",
        "a2",
        "a_done",
        "check_direct",
        "d1",
        "d2",
        "d_done",
        "other",
    ] {
        assert_eq!(state_of(&out, task), "success", "{task}:\n{out}");
    }
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("short-circuited"), "{out}");
    for check in ["check_all", "check_direct"] {
        assert_eq!(
            xcom(dir.path(), id, check, "records_processed"),
            Some(json!(25))
        );
        assert_eq!(
            xcom(dir.path(), id, check, "return_value"),
            Some(json!(true))
        );
        assert_eq!(xcom(dir.path(), id, check, "skipmixin_key"), None);
        assert!(
            output(dir.path(), id, check).contains("Proceeding with downstream tasks..."),
            "{}",
            output(dir.path(), id, check)
        );
    }
    assert_eq!(
        xcom(dir.path(), id, "a1", "return_value"),
        Some(json!("a1"))
    );
    assert_eq!(
        xcom(dir.path(), id, "d1", "return_value"),
        Some(json!("d1"))
    );
}
