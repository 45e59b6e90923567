//! `StepFunctionStartExecutionOperator`: StartExecution (or RedriveExecution of the execution
//! `name` with `is_redrive_execution`). XCom is the execution ARN. Without `deferrable` the
//! task ends once the execution started, as the provider's does; with it the task waits for a
//! terminal state (`waiter_delay`, `waiter_max_attempts`) and fails on FAILED, TIMED_OUT or
//! ABORTED; on_kill during that wait stops the execution (StopExecution).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sfn::Client;
use serde_json::{Value, json};

use crate::execution::{self, Group, HOOK_LOGGER};

/// A configured `StepFunctionStartExecutionOperator`.
#[derive(Debug)]
pub struct StepFunctionStartExecutionOperator {
    aws: AwsParams,
    state_machine_arn: String,
    name: Option<String>,
    is_redrive_execution: bool,
    input: Option<String>,
    wait: WaitSettings,
    /// The execution being waited for, for `on_kill`.
    started: Option<(Client, String)>,
}

const OP: &str = "StepFunctionStartExecutionOperator";

/// The ARN of execution `name` of `state_machine_arn` (what the provider derives for a
/// redrive).
fn execution_arn(state_machine_arn: &str, name: &str) -> Option<String> {
    let (head, machine) = state_machine_arn.split_once(":stateMachine:")?;
    Some(format!("{head}:execution:{machine}:{name}"))
}

/// One poll of the wait: RUNNING is pending, SUCCEEDED done, FAILED, TIMED_OUT and ABORTED
/// fail the task (the provider's `step_function_succeeded` waiter).
async fn poll(sfn: &Client, arn: &str) -> Result<Poll<()>, TaskError> {
    let d = execution::describe(sfn, arn).await?;
    match d.group() {
        Group::Running => Ok(Poll::Pending {
            state: format!("Status of step function execution is: {}", d.status),
        }),
        Group::Succeeded => Ok(Poll::Done(())),
        Group::Failed => Err(TaskError::retryable(format!(
            "Step function failed: execution {arn} is {} ({})",
            d.status,
            d.why()
        ))),
    }
}

impl Operator for StepFunctionStartExecutionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.step_function.StepFunctionStartExecutionOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.step_function_start_execution.StepFunctionStartExecutionOperator",
        ],
        // The provider's `aws_template_fields("state_machine_arn", "name", "input",
        // "is_redrive_execution")`, sorted; its `input` is the parameter `state_machine_input`.
        template_fields: &[
            "aws_conn_id",
            "is_redrive_execution",
            "name",
            "region_name",
            "state_machine_arn",
            "state_machine_input",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let state_machine_arn =
            p.required_str("state_machine_arn", "the ARN of the state machine to start")?;
        let name = p.str("name")?;
        let is_redrive_execution = p.bool("is_redrive_execution", false)?;
        // A mapping (or a list) is sent as its JSON, as the hook sends a dict.
        let input = match p.value("state_machine_input") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        if is_redrive_execution && p.rendered() {
            if name.as_deref().is_none_or(str::is_empty) {
                return Err(ParamError::at(
                    "name",
                    format!(
                        "{OP}: Execution name is required to start RedriveExecution for \
                         {state_machine_arn} (is_redrive_execution is true; `name` names the \
                         execution to redrive)"
                    ),
                ));
            }
            if execution_arn(&state_machine_arn, "x").is_none() {
                return Err(ParamError::at(
                    "state_machine_arn",
                    format!(
                        "{OP} parameter `state_machine_arn` is '{state_machine_arn}'; a redrive \
                         needs a state machine ARN (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME)"
                    ),
                ));
            }
        }
        let waiter_max_attempts = p.u32("waiter_max_attempts", 1..=u32::MAX)?.unwrap_or(30);
        let waiter_delay = p.seconds("waiter_delay", 60.0)?;
        let deferrable = p.bool("deferrable", false)?;
        Ok(StepFunctionStartExecutionOperator {
            aws,
            state_machine_arn,
            name,
            is_redrive_execution,
            input,
            wait: WaitSettings {
                wait_for_completion: deferrable,
                waiter_delay: Duration::from_secs_f64(waiter_delay),
                waiter_max_attempts,
                deferrable,
            },
            started: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sfn = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sfn))?;
        let machine = self.state_machine_arn.clone();
        let arn = if self.is_redrive_execution {
            let name = self.name.clone().unwrap_or_default();
            let arn = execution_arn(&machine, &name).ok_or_else(|| {
                TaskError::fatal(format!(
                    "{OP}: '{machine}' is not a state machine ARN; a redrive needs one"
                ))
            })?;
            sfn.redrive_execution()
                .execution_arn(&arn)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("RedriveExecution {arn}"), &e)
                })?;
            ctx.hook_info(
                HOOK_LOGGER,
                &format!(
                    "Successfully started RedriveExecution for Step Function State Machine: \
                     {machine}."
                ),
            );
            arn
        } else {
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("Executing Step Function State Machine: {machine}"),
            );
            let out = sfn
                .start_execution()
                .state_machine_arn(&machine)
                .set_name(self.name.clone())
                .set_input(self.input.clone())
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("StartExecution of {machine}"), &e)
                })?;
            out.execution_arn().to_owned()
        };
        if arn.is_empty() {
            return Err(TaskError::retryable(format!(
                "Failed to start State Machine execution for: {machine}"
            )));
        }
        ctx.info(&format!(
            "Started State Machine execution for {machine}: {arn}"
        ));
        if !self.wait.wait_for_completion {
            return Ok(Outcome::Success(Some(json!(arn))));
        }
        self.started = Some((sfn.clone(), arn.clone()));
        let (sfn_ref, arn_ref) = (&sfn, arn.as_str());
        wait::until_terminal(
            ctx,
            &self.wait,
            &format!("Step Functions execution {arn}"),
            || poll(sfn_ref, arn_ref),
        )
        .await?;
        self.started = None;
        ctx.info("State Machine execution completed successfully");
        Ok(Outcome::Success(Some(json!(arn))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((sfn, arn)) = self.started.take() else {
            return;
        };
        ctx.info("Received a kill signal.");
        ctx.info(&format!("Stopping Step Functions execution {arn}"));
        match sfn
            .stop_execution()
            .execution_arn(&arn)
            .cause("The Airflow task was killed")
            .send()
            .await
        {
            Ok(_) => match execution::describe(&sfn, &arn).await {
                Ok(d) => ctx.info(&format!("Execution {arn} is {}", d.status)),
                Err(e) => ctx.warning(&format!("Stopped execution {arn}; its state: {e}")),
            },
            Err(e) => {
                let err = airtask_aws::error::task_error(&format!("StopExecution {arn}"), &e);
                ctx.error(&format!("Unable to stop execution {arn}: {err}"));
            }
        }
    }

    /// StartExecution on the state machine, or with `is_redrive_execution` RedriveExecution on
    /// the named execution; with `deferrable`, DescribeExecution until it ends and (on kill)
    /// StopExecution, on the execution (`name`, else any execution of the state machine).
    fn permissions(&self) -> Vec<Permission> {
        let execution = execution_arn(&self.state_machine_arn, self.name.as_deref().unwrap_or("*"))
            .unwrap_or_else(|| "*".to_owned());
        let mut out = Vec::new();
        let mut on_execution = Vec::new();
        if self.is_redrive_execution {
            on_execution.push("states:RedriveExecution");
        } else {
            out.push(Permission::new(
                &["states:StartExecution"],
                [self.state_machine_arn.clone()],
            ));
        }
        if self.wait.wait_for_completion {
            on_execution.push("states:DescribeExecution");
            on_execution.push("states:StopExecution");
        }
        if !on_execution.is_empty() {
            out.push(Permission::new(&on_execution, [execution]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
    use aws_sdk_sfn::operation::stop_execution::StopExecutionOutput;
    use aws_sdk_sfn::primitives::DateTime;
    use aws_sdk_sfn::types::ExecutionStatus;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            if let Ok(mut l) = self.0.lock() {
                l.push(message.to_owned());
            }
        }
    }

    const ARN: &str = "arn:aws:states:us-east-1:123456789012:execution:m:e1";

    fn described(status: ExecutionStatus) -> DescribeExecutionOutput {
        DescribeExecutionOutput::builder()
            .execution_arn(ARN)
            .state_machine_arn(SM)
            .status(status.clone())
            .start_date(DateTime::from_secs(0))
            .set_error((status == ExecutionStatus::Failed).then(|| "States.TaskFailed".to_owned()))
            .set_cause((status == ExecutionStatus::Failed).then(|| "boom".to_owned()))
            .build()
            .expect("a DescribeExecution answer")
    }

    #[tokio::test]
    async fn the_wait_polls_until_succeeded_and_fails_on_a_failed_execution() {
        let running =
            mock!(Client::describe_execution).then_output(|| described(ExecutionStatus::Running));
        let failed =
            mock!(Client::describe_execution).then_output(|| described(ExecutionStatus::Failed));
        let done =
            mock!(Client::describe_execution).then_output(|| described(ExecutionStatus::Succeeded));
        let sfn = mock_client!(
            aws_sdk_sfn,
            RuleMode::Sequential,
            [&running, &failed, &done]
        );
        assert_eq!(
            poll(&sfn, ARN).await.expect("running"),
            Poll::Pending {
                state: "Status of step function execution is: RUNNING".into()
            }
        );
        let e = poll(&sfn, ARN).await.expect_err("failed");
        assert_eq!(
            e.message,
            format!(
                "Step function failed: execution {ARN} is FAILED (error States.TaskFailed: boom)"
            )
        );
        assert!(e.retryable);
        assert_eq!(poll(&sfn, ARN).await.expect("done"), Poll::Done(()));
    }

    #[tokio::test]
    async fn on_kill_stops_the_execution_being_waited_for() {
        let stop = mock!(Client::stop_execution)
            .match_requests(|r| {
                r.execution_arn() == Some(ARN) && r.cause() == Some("The Airflow task was killed")
            })
            .then_output(|| {
                StopExecutionOutput::builder()
                    .stop_date(DateTime::from_secs(1))
                    .build()
                    .expect("a StopExecution answer")
            });
        let aborted =
            mock!(Client::describe_execution).then_output(|| described(ExecutionStatus::Aborted));
        let sfn = mock_client!(aws_sdk_sfn, RuleMode::Sequential, [&stop, &aborted]);
        let mut op = build(json!({"state_machine_arn": SM, "deferrable": true})).unwrap();
        let lines = Arc::new(Lines(Mutex::new(Vec::new())));
        let ctx = TaskContext::new(
            &StepFunctionStartExecutionOperator::SPEC,
            "t",
            1,
            lines.clone(),
        );
        // Nothing started: nothing to stop.
        op.on_kill(&ctx).await;
        assert_eq!(stop.num_calls(), 0);
        op.started = Some((sfn, ARN.to_owned()));
        op.on_kill(&ctx).await;
        assert_eq!(stop.num_calls(), 1);
        let lines = lines.0.lock().expect("lines");
        assert_eq!(lines[0], "Received a kill signal.");
        assert_eq!(
            lines.last().map(String::as_str),
            Some(format!("Execution {ARN} is ABORTED").as_str())
        );
        assert!(op.started.is_none());
    }

    fn build(v: Value) -> Result<StepFunctionStartExecutionOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<StepFunctionStartExecutionOperator>(&p)
    }

    const SM: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:m";

    #[test]
    fn defaults_and_input() {
        let op = build(json!({"state_machine_arn": SM, "state_machine_input": {"a": 1}})).unwrap();
        assert_eq!(op.input.as_deref(), Some("{\"a\":1}"));
        assert!(!op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.wait.waiter_max_attempts, 30);
        let op = build(json!({"state_machine_arn": SM, "state_machine_input": "{\"b\": 2}", "deferrable": true}))
            .unwrap();
        assert_eq!(op.input.as_deref(), Some("{\"b\": 2}"));
        assert!(op.wait.wait_for_completion);
    }

    #[test]
    fn a_redrive_needs_a_name_and_derives_the_execution_arn() {
        let e = build(json!({"state_machine_arn": SM, "is_redrive_execution": true})).unwrap_err();
        assert_eq!(e.param(), Some("name"));
        assert!(e.message().contains("Execution name is required"), "{e}");
        assert_eq!(
            execution_arn(SM, "run1").as_deref(),
            Some("arn:aws:states:us-east-1:123456789012:execution:m:run1")
        );
        let e = build(json!({"state_machine_arn": "m", "is_redrive_execution": true, "name": "x"}))
            .unwrap_err();
        assert_eq!(e.param(), Some("state_machine_arn"));
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::StepFunctionStartExecutionOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<StepFunctionStartExecutionOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn starting_waiting_and_redriving() {
        let sm = "arn:aws:states:us-east-1:1:stateMachine:m";
        assert_eq!(
            perms(json!({"state_machine_arn": sm})),
            [Permission::new(&["states:StartExecution"], [sm])]
        );
        assert_eq!(
            perms(json!({"state_machine_arn": sm, "deferrable": true})),
            [
                Permission::new(&["states:StartExecution"], [sm]),
                Permission::new(
                    &["states:DescribeExecution", "states:StopExecution"],
                    ["arn:aws:states:us-east-1:1:execution:m:*"]
                ),
            ]
        );
        assert_eq!(
            perms(json!({"state_machine_arn": sm, "name": "run1", "is_redrive_execution": true})),
            [Permission::new(
                &["states:RedriveExecution"],
                ["arn:aws:states:us-east-1:1:execution:m:run1"]
            )]
        );
    }
}
