//! `AppflowRecordsShortCircuitOperator`: pulls the `execution_id` an AppFlow run task pushed,
//! finds the run's record (DescribeFlowExecutionRecords, every page), pushes its
//! `recordsProcessed` as XCom `records_processed`, and short-circuits when it is 0: the task
//! succeeds and the tasks downstream are skipped (all of them by default; only the direct ones
//! when `ignore_downstream_trigger_rules` is false). With records, the return value is `true`.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_appflow::Client;
use serde_json::json;

use crate::flow;

/// A configured `AppflowRecordsShortCircuitOperator`.
#[derive(Debug)]
pub struct AppflowRecordsShortCircuitOperator {
    aws: AwsParams,
    flow_name: String,
    appflow_run_task_id: String,
    ignore_downstream_trigger_rules: bool,
}

impl Operator for AppflowRecordsShortCircuitOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.appflow.AppflowRecordsShortCircuitOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let flow_name = p.required_str("flow_name", "the name of the AppFlow flow")?;
        let appflow_run_task_id = p.required_str(
            "appflow_run_task_id",
            "the task id of the AppFlow run operator whose execution_id to check",
        )?;
        let ignore_downstream_trigger_rules = p.bool("ignore_downstream_trigger_rules", true)?;
        Ok(AppflowRecordsShortCircuitOperator {
            aws,
            flow_name,
            appflow_run_task_id,
            ignore_downstream_trigger_rules,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let af =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_appflow))?;
        self.check(ctx, &af).await
    }

    /// DescribeFlowExecutionRecords on the flow.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["appflow:DescribeFlowExecutionRecords"],
            [airtask_core::permissions::arn(
                "appflow",
                self.aws.region(),
                &format!("flow/{}", self.flow_name),
            )],
        )]
    }
}

impl AppflowRecordsShortCircuitOperator {
    async fn check(&self, ctx: &TaskContext, af: &Client) -> Result<Outcome, TaskError> {
        let task_id = &self.appflow_run_task_id;
        ctx.info(&format!("appflow_task_id: {task_id}"));
        ctx.info(&format!("flow_name: {}", self.flow_name));
        let pulled = ctx.xcom_pull(task_id, "execution_id").map_err(|e| {
            TaskError::retryable(format!(
                "cannot read the XCom execution_id of task {task_id}: {e}"
            ))
        })?;
        let execution_id = match pulled {
            Some(serde_json::Value::String(s)) if !s.is_empty() => s,
            _ => {
                return Err(TaskError::fatal(format!(
                    "No execution_id found from task_id {task_id}! (the task must be an \
                     AppFlow run operator of this workflow that ran before this one)"
                )));
            }
        };
        ctx.info(&format!("execution_id: {execution_id}"));
        let record = flow::find_record(af, &self.flow_name, &execution_id)
            .await?
            .ok_or_else(|| {
                TaskError::retryable(format!(
                    "Flow ({execution_id}) without recordsProcessed info."
                ))
            })?;
        let records = record
            .execution_result()
            .and_then(|r| r.records_processed())
            .ok_or_else(|| {
                TaskError::retryable(format!(
                    "Flow ({execution_id}) without recordsProcessed info!"
                ))
            })?;
        ctx.info(&format!("records_processed: {records}"));
        ctx.xcom_push("records_processed", json!(records));
        let condition = records > 0;
        ctx.info(&format!(
            "Done. Returned value was: {}",
            if condition { "True" } else { "False" }
        ));
        ctx.info(&format!(
            "Condition result is {}",
            if condition { "True" } else { "False" }
        ));
        if condition {
            ctx.info("Proceeding with downstream tasks...");
            return Ok(Outcome::Success(Some(json!(true))));
        }
        ctx.info("Skipping downstream tasks");
        Ok(Outcome::SkipDownstream {
            all_downstream: self.ignore_downstream_trigger_rules,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, XcomReader, build_operator};
    use aws_sdk_appflow::operation::describe_flow_execution_records::DescribeFlowExecutionRecordsOutput;
    use aws_sdk_appflow::types::{ExecutionRecord, ExecutionResult};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::Value;

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    struct Pushed(Option<Value>);
    impl XcomReader for Pushed {
        fn pull(&self, task_id: &str, key: &str) -> Result<Option<Value>, String> {
            assert_eq!((task_id, key), ("run_flow", "execution_id"));
            Ok(self.0.clone())
        }
    }

    fn op(v: Value) -> AppflowRecordsShortCircuitOperator {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<AppflowRecordsShortCircuitOperator>(&p).unwrap()
    }

    fn ctx(execution_id: Option<Value>) -> TaskContext {
        TaskContext::new(
            &AppflowRecordsShortCircuitOperator::SPEC,
            "check",
            1,
            Arc::new(Lines(Mutex::new(Vec::new()))),
        )
        .with_xcom_reader(Arc::new(Pushed(execution_id)))
    }

    fn page(
        records: &[(&str, Option<i64>)],
        next: Option<&str>,
    ) -> DescribeFlowExecutionRecordsOutput {
        let mut b =
            DescribeFlowExecutionRecordsOutput::builder().set_next_token(next.map(Into::into));
        for (id, n) in records {
            let mut r = ExecutionRecord::builder().execution_id(*id);
            if let Some(n) = n {
                r = r.execution_result(ExecutionResult::builder().records_processed(*n).build());
            } else {
                r = r.execution_result(ExecutionResult::builder().build());
            }
            b = b.flow_executions(r.build());
        }
        b.build()
    }

    #[tokio::test]
    async fn records_proceed_and_none_short_circuit_all_or_direct_downstream() {
        let first = mock!(Client::describe_flow_execution_records)
            .then_output(|| page(&[("other", Some(5))], Some("t2")));
        let second = mock!(Client::describe_flow_execution_records)
            .match_requests(|r| r.next_token() == Some("t2"))
            .then_output(|| page(&[("ex1", Some(7))], None));
        let af = mock_client!(aws_sdk_appflow, RuleMode::Sequential, [&first, &second]);
        let c = ctx(Some(json!("ex1")));
        let o = op(json!({"flow_name": "f", "appflow_run_task_id": "run_flow"}));
        assert_eq!(
            o.check(&c, &af).await.unwrap(),
            Outcome::Success(Some(json!(true)))
        );
        assert_eq!(c.pushed(), vec![("records_processed".to_owned(), json!(7))]);

        let empty = mock!(Client::describe_flow_execution_records)
            .then_output(|| page(&[("ex1", Some(0))], None));
        let af = mock_client!(aws_sdk_appflow, RuleMode::MatchAny, [&empty]);
        assert_eq!(
            o.check(&ctx(Some(json!("ex1"))), &af).await.unwrap(),
            Outcome::SkipDownstream {
                all_downstream: true
            }
        );
        let direct = op(json!({"flow_name": "f", "appflow_run_task_id": "run_flow",
            "ignore_downstream_trigger_rules": false}));
        assert_eq!(
            direct.check(&ctx(Some(json!("ex1"))), &af).await.unwrap(),
            Outcome::SkipDownstream {
                all_downstream: false
            }
        );
    }

    #[tokio::test]
    async fn a_missing_execution_id_or_record_fails_with_the_provider_message() {
        let none = mock!(Client::describe_flow_execution_records)
            .then_output(|| page(&[("other", Some(1)), ("ex2", None)], None));
        let af = mock_client!(aws_sdk_appflow, RuleMode::MatchAny, [&none]);
        let o = op(json!({"flow_name": "f", "appflow_run_task_id": "run_flow"}));
        let e = o.check(&ctx(None), &af).await.unwrap_err();
        assert!(
            e.message
                .starts_with("No execution_id found from task_id run_flow!"),
            "{e}"
        );
        let e = o.check(&ctx(Some(json!("ex1"))), &af).await.unwrap_err();
        assert_eq!(e.message, "Flow (ex1) without recordsProcessed info.");
        let e = o.check(&ctx(Some(json!("ex2"))), &af).await.unwrap_err();
        assert_eq!(e.message, "Flow (ex2) without recordsProcessed info!");
    }
}
