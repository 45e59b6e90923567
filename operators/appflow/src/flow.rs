//! The AppFlow hook's calls, shared by the operators: the flow's connector type
//! (DescribeFlow), the replacement of its filter tasks (DescribeFlow, UpdateFlow), a run
//! (StartFlow, then the `run_complete` waiter on DescribeFlowExecutionRecords), and the lookup
//! of one execution's record.

use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{TaskContext, TaskError};
use aws_sdk_appflow::Client;
use aws_sdk_appflow::types::{
    ConnectorOperator, ExecutionRecord, OperatorPropertiesKeys, SalesforceConnectorOperator, Task,
    TaskType, TriggerConfig, ZendeskConnectorOperator,
};

/// The logger of the AppFlow hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.appflow.AppflowHook";

/// A filter task to put in place of the flow's filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Filter {
    /// The connector operator (LESS_THAN, GREATER_THAN, BETWEEN).
    pub(crate) operator: &'static str,
    /// The field filtered on.
    pub(crate) source_field: String,
    /// The task properties besides DATA_TYPE (VALUE, or LOWER_BOUND and UPPER_BOUND).
    pub(crate) properties: Vec<(&'static str, String)>,
}

/// DescribeFlow: the flow's source connector type (`Salesforce`, `Zendesk`...).
///
/// # Errors
/// The SDK's error, classified.
pub(crate) async fn connector_type(af: &Client, flow_name: &str) -> Result<String, TaskError> {
    let out = af
        .describe_flow()
        .flow_name(flow_name)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeFlow {flow_name}"), &e))?;
    Ok(out
        .source_flow_config()
        .map(|s| s.connector_type().as_str().to_owned())
        .unwrap_or_default())
}

/// The connector operator of `task` for `connector_type`, as the hook reads
/// `task["connectorOperator"].get(connector_type)`.
fn operator_of<'a>(task: &'a Task, connector_type: &str) -> Option<&'a str> {
    let co = task.connector_operator()?;
    match connector_type {
        "Salesforce" => co.salesforce().map(|o| o.as_str()),
        "Zendesk" => co.zendesk().map(|o| o.as_str()),
        "S3" => co.s3().map(|o| o.as_str()),
        _ => None,
    }
}

/// The task of `filter` for a flow whose source is `connector_type`.
fn filter_task(filter: &Filter, connector_type: &str) -> Result<Task, TaskError> {
    let co = match connector_type {
        "Salesforce" => ConnectorOperator::builder()
            .salesforce(SalesforceConnectorOperator::from(filter.operator))
            .build(),
        "Zendesk" => ConnectorOperator::builder()
            .zendesk(ZendeskConnectorOperator::from(filter.operator))
            .build(),
        other => {
            return Err(TaskError::fatal(format!(
                "AppFlow filters are written for Salesforce and Zendesk sources; this flow's \
                 source connector is {other}"
            )));
        }
    };
    let mut b = Task::builder()
        .task_type(TaskType::Filter)
        .connector_operator(co)
        .source_fields(filter.source_field.clone())
        .task_properties(OperatorPropertiesKeys::from("DATA_TYPE"), "datetime");
    for (k, v) in &filter.properties {
        b = b.task_properties(OperatorPropertiesKeys::from(*k), v.clone());
    }
    b.build()
        .map_err(|e| TaskError::fatal(format!("cannot build the AppFlow filter task: {e}")))
}

/// The hook's `update_flow_filter`: the flow's tasks without its filters (but PROJECTION
/// ones), plus `filters`, and an on-demand trigger (the trigger's properties removed).
///
/// # Errors
/// A failed call, or a flow whose answer lacks what UpdateFlow needs.
pub(crate) async fn update_flow_filter(
    ctx: &TaskContext,
    af: &Client,
    flow_name: &str,
    filters: &[Filter],
) -> Result<(), TaskError> {
    let flow = af
        .describe_flow()
        .flow_name(flow_name)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeFlow {flow_name}"), &e))?;
    let source = flow.source_flow_config().cloned().ok_or_else(|| {
        TaskError::retryable(format!(
            "DescribeFlow {flow_name} answered without sourceFlowConfig"
        ))
    })?;
    let connector_type = source.connector_type().as_str().to_owned();
    let mut tasks = Vec::new();
    for task in flow.tasks() {
        if *task.task_type() == TaskType::Filter
            && operator_of(task, &connector_type) != Some("PROJECTION")
        {
            ctx.hook_info(HOOK_LOGGER, &format!("Removing task: {task:?}"));
        } else {
            tasks.push(task.clone());
        }
    }
    for f in filters {
        tasks.push(filter_task(f, &connector_type)?);
    }
    let trigger = flow.trigger_config().ok_or_else(|| {
        TaskError::retryable(format!(
            "DescribeFlow {flow_name} answered without triggerConfig"
        ))
    })?;
    // Without its properties, the trigger is on demand.
    let trigger = TriggerConfig::builder()
        .trigger_type(trigger.trigger_type().clone())
        .build()
        .map_err(|e| TaskError::fatal(format!("cannot build the AppFlow trigger: {e}")))?;
    af.update_flow()
        .flow_name(flow.flow_name().unwrap_or(flow_name))
        .set_destination_flow_config_list(Some(flow.destination_flow_config_list().to_vec()))
        .source_flow_config(source)
        .trigger_config(trigger)
        .description(flow.description().unwrap_or("Flow description."))
        .set_tasks(Some(tasks))
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("UpdateFlow {flow_name}"), &e))?;
    Ok(())
}

/// One page of DescribeFlowExecutionRecords (`max_results` and `next_token` when given).
async fn records_page(
    af: &Client,
    flow_name: &str,
    max_results: Option<i32>,
    next_token: Option<String>,
) -> Result<(Vec<ExecutionRecord>, Option<String>), TaskError> {
    let out = af
        .describe_flow_execution_records()
        .flow_name(flow_name)
        .set_max_results(max_results)
        .set_next_token(next_token)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeFlowExecutionRecords {flow_name}"), &e)
        })?;
    Ok((
        out.flow_executions().to_vec(),
        out.next_token().map(str::to_owned),
    ))
}

/// The record of `execution_id`, through every page (100 records a page); `None` when no
/// page has it.
///
/// # Errors
/// A failed call.
pub(crate) async fn find_record(
    af: &Client,
    flow_name: &str,
    execution_id: &str,
) -> Result<Option<ExecutionRecord>, TaskError> {
    let mut token = None;
    loop {
        let (records, next) = records_page(af, flow_name, Some(100), token).await?;
        if let Some(r) = records
            .into_iter()
            .find(|r| r.execution_id() == Some(execution_id))
        {
            return Ok(Some(r));
        }
        match next {
            Some(t) => token = Some(t),
            None => return Ok(None),
        }
    }
}

/// The hook's `run_flow`: StartFlow, then, when `wait.wait_for_completion`, the `run_complete`
/// waiter (every `poll_interval` seconds, at most `max_attempts` polls): the execution's
/// status in the first page of DescribeFlowExecutionRecords, Successful ends the wait and
/// Error fails it. Returns the execution id.
///
/// # Errors
/// A failed call, a failed run, or the attempts running out.
pub(crate) async fn run_flow(
    ctx: &TaskContext,
    af: &Client,
    flow_name: &str,
    wait: &WaitSettings,
) -> Result<String, TaskError> {
    let out = af
        .start_flow()
        .flow_name(flow_name)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("StartFlow {flow_name}"), &e))?;
    let id = out.execution_id().unwrap_or_default().to_owned();
    if id.is_empty() {
        return Err(TaskError::retryable(format!(
            "StartFlow {flow_name} answered without an executionId"
        )));
    }
    ctx.hook_info(HOOK_LOGGER, &format!("executionId: {id}"));
    if !wait.wait_for_completion {
        return Ok(id);
    }
    let id_ref = id.as_str();
    wait::until_terminal(
        ctx,
        wait,
        &format!("AppFlow flow {flow_name} run {id}"),
        move || async move {
            let (records, _) = records_page(af, flow_name, None, None).await?;
            let record = records.iter().find(|r| r.execution_id() == Some(id_ref));
            let status = record
                .and_then(|r| r.execution_status())
                .map(|s| s.as_str().to_owned());
            match status.as_deref() {
                Some("Successful") => Ok(Poll::Done(())),
                Some("Error") => {
                    let why = record
                        .and_then(|r| r.execution_result())
                        .and_then(|r| r.error_info())
                        .and_then(|e| e.execution_message())
                        .unwrap_or("(no error info)");
                    Err(TaskError::retryable(format!(
                        "error while waiting for flow to complete: flow {flow_name} run \
                         {id_ref} ended Error: {why}"
                    )))
                }
                Some(other) => Ok(Poll::Pending {
                    state: other.to_owned(),
                }),
                None => Ok(Poll::Pending {
                    state: "not listed yet".to_owned(),
                }),
            }
        },
    )
    .await?;
    if let Some(r) = find_record(af, flow_name, &id).await? {
        let result = r.execution_result();
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "Flow execution {id}: {}, {} records processed, {} bytes written",
                r.execution_status().map_or("", |s| s.as_str()),
                result.and_then(|r| r.records_processed()).unwrap_or(0),
                result.and_then(|r| r.bytes_written()).unwrap_or(0)
            ),
        );
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_tasks_name_the_connector_and_the_bounds() {
        let f = Filter {
            operator: "BETWEEN",
            source_field: "LastModifiedDate".into(),
            properties: vec![("LOWER_BOUND", "1".into()), ("UPPER_BOUND", "2".into())],
        };
        let t = filter_task(&f, "Salesforce").unwrap();
        assert_eq!(t.task_type(), &TaskType::Filter);
        assert_eq!(operator_of(&t, "Salesforce"), Some("BETWEEN"));
        assert_eq!(t.source_fields(), ["LastModifiedDate"]);
        assert_eq!(t.task_properties().map(|p| p.len()), Some(3));
        assert!(filter_task(&f, "S3").is_err());
    }
}
