//! `SageMakerStartPipelineOperator` (XCom: the execution ARN) and
//! `SageMakerStopPipelineOperator` (XCom: the execution's status), and the hook's
//! `describe_pipeline_exec` the pipeline sensor shares.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sagemaker::Client;
use serde_json::{Value, json};

use crate::hook::{self, CallError, CheckStatus, HOOK, PIPELINE_NON_TERMINAL, failed, text};
use crate::wire::call;

/// `describe_pipeline_exec`: with `verbose`, the steps' states are logged first
/// (ListPipelineExecutionSteps).
pub(crate) async fn describe(
    ctx: &TaskContext,
    sm: &Client,
    arn: &str,
    verbose: bool,
) -> Result<Value, CallError> {
    if verbose {
        let steps = call!(
            sm.list_pipeline_execution_steps()
                .pipeline_execution_arn(arn),
            None
        )
        .map_err(|e| failed(&format!("ListPipelineExecutionSteps {arn}"), &e))?;
        let steps = steps
            .get("PipelineExecutionSteps")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut counts: Vec<(String, usize)> = Vec::new();
        for s in &steps {
            let st = text(s, "StepStatus").to_owned();
            match counts.iter_mut().find(|(k, _)| *k == st) {
                Some((_, n)) => *n += 1,
                None => counts.push((st, 1)),
            }
        }
        counts.sort_by_key(|c| std::cmp::Reverse(c.1));
        let counter = counts
            .iter()
            .map(|(k, n)| format!("'{k}': {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let running = steps
            .iter()
            .filter(|s| text(s, "StepStatus") == "Executing")
            .map(|s| format!("'{}'", text(s, "StepName")))
            .collect::<Vec<_>>()
            .join(", ");
        ctx.hook_info(
            HOOK,
            &format!("state of the pipeline steps: Counter({{{counter}}})"),
        );
        ctx.hook_info(HOOK, &format!("steps currently in progress: [{running}]"));
    }
    call!(
        sm.describe_pipeline_execution().pipeline_execution_arn(arn),
        None
    )
    .map_err(|e| failed(&format!("DescribePipelineExecution {arn}"), &e))
}

/// The pipeline resource of an execution ARN (`arn:...:pipeline/NAME/execution/ID`); a
/// templated ARN widens to every pipeline execution.
fn execution_resource(arn: &str) -> String {
    if arn.is_empty() || airtask_core::params::is_template(arn) {
        hook::resource_arn(None, "pipeline", "*") + "/execution/*"
    } else {
        arn.to_owned()
    }
}

/// What `describe` calls on the execution `arn`.
pub(crate) fn describe_permissions(arn: &str, verbose: bool) -> Vec<Permission> {
    let mut actions = vec!["sagemaker:DescribePipelineExecution"];
    if verbose {
        actions.push("sagemaker:ListPipelineExecutionSteps");
    }
    vec![Permission::new(&actions, [execution_resource(arn)])]
}

/// The provider's waiter of the deferrable run: done in `done`, failed in `fail`.
async fn waiter(
    ctx: &TaskContext,
    sm: &Client,
    arn: &str,
    verbose: bool,
    settings: &WaitSettings,
    done: &str,
    fail: &[&str],
) -> Result<String, TaskError> {
    wait::until_terminal(
        ctx,
        settings,
        &format!("SageMaker pipeline execution {arn}"),
        || async move {
            let d = describe(ctx, sm, arn, verbose).await?;
            let status = text(&d, "PipelineExecutionStatus").to_owned();
            if status == done {
                Ok(Poll::Done(status))
            } else if fail.contains(&status.as_str()) {
                Err(TaskError::retryable(format!(
                    "Failure during pipeline execution: {{'status': 'error', 'message': \
                     'Pipeline execution {arn} is {status}: {}'}}",
                    hook::failure_reason(&d)
                )))
            } else {
                Ok(Poll::Pending { state: status })
            }
        },
    )
    .await
}

/// The waiting parameters of the pipeline operators.
#[derive(Debug, Clone)]
struct PipelineWait {
    wait_for_completion: bool,
    check_interval: Duration,
    waiter_max_attempts: u32,
    verbose: bool,
    deferrable: bool,
}

impl PipelineWait {
    fn read(p: &mut ParamReader<'_>) -> Result<PipelineWait, ParamError> {
        Ok(PipelineWait {
            wait_for_completion: p.bool("wait_for_completion", false)?,
            check_interval: hook::check_interval(p)?,
            waiter_max_attempts: p.u32("waiter_max_attempts", 1..=u32::MAX)?.unwrap_or(9999),
            verbose: p.bool("verbose", true)?,
            deferrable: p.bool("deferrable", false)?,
        })
    }

    fn waits(&self) -> bool {
        self.wait_for_completion || self.deferrable
    }

    fn settings(&self) -> WaitSettings {
        WaitSettings {
            wait_for_completion: true,
            waiter_delay: self.check_interval,
            waiter_max_attempts: self.waiter_max_attempts,
            deferrable: true,
        }
    }

    /// `check_status` with the pipeline's states, `waiter_max_attempts × check_interval`
    /// seconds at most.
    async fn check(&self, ctx: &TaskContext, sm: &Client, arn: &str) -> Result<Value, TaskError> {
        let c = CheckStatus {
            name: arn,
            check_interval: self.check_interval,
            max_ingestion_time: Some(
                f64::from(self.waiter_max_attempts) * self.check_interval.as_secs_f64(),
            ),
            non_terminal: PIPELINE_NON_TERMINAL,
        };
        hook::check_status(ctx, &c, "PipelineExecutionStatus", || {
            describe(ctx, sm, arn, self.verbose)
        })
        .await
    }
}

/// A configured `SageMakerStartPipelineOperator`.
#[derive(Debug)]
pub struct SageMakerStartPipelineOperator {
    aws: AwsParams,
    pipeline_name: String,
    display_name: String,
    pipeline_params: Vec<(String, String)>,
    wait: PipelineWait,
}

impl Operator for SageMakerStartPipelineOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerStartPipelineOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "display_name",
            "pipeline_name",
            "pipeline_params",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let pipeline_name = p.required_str("pipeline_name", "the name of the pipeline to start")?;
        let display_name = p
            .str("display_name")?
            .unwrap_or_else(|| "airflow-triggered-execution".to_owned());
        let mut pipeline_params = Vec::new();
        if let Some(m) = p.map("pipeline_params")? {
            for (k, v) in m {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
                    other => {
                        return Err(ParamError::at(
                            "pipeline_params",
                            format!(
                                "{} parameter `pipeline_params.{k}` must be a string or a \
                                 number, not {}",
                                p.operator(),
                                airtask_core::params::describe(other)
                            ),
                        ));
                    }
                };
                pipeline_params.push((k.clone(), v));
            }
        }
        p.accept("config");
        Ok(SageMakerStartPipelineOperator {
            aws,
            pipeline_name,
            display_name,
            pipeline_params,
            wait: PipelineWait::read(p)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let pipeline = hook::resource_arn(self.aws.region(), "pipeline", &self.pipeline_name);
        let mut out = vec![Permission::new(
            &["sagemaker:StartPipelineExecution"],
            [pipeline.clone()],
        )];
        if self.wait.waits() {
            let mut actions = vec!["sagemaker:DescribePipelineExecution"];
            if self.wait.verbose {
                actions.push("sagemaker:ListPipelineExecutionSteps");
            }
            out.push(Permission::new(
                &actions,
                [format!("{pipeline}/execution/*")],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let params: Vec<aws_sdk_sagemaker::types::Parameter> = self
            .pipeline_params
            .iter()
            .map(|(k, v)| {
                aws_sdk_sagemaker::types::Parameter::builder()
                    .name(k)
                    .value(v)
                    .build()
            })
            .collect();
        let name = &self.pipeline_name;
        let out = sm
            .start_pipeline_execution()
            .pipeline_name(name)
            .pipeline_execution_display_name(&self.display_name)
            .set_pipeline_parameters(Some(params))
            .send()
            .await
            .map_err(|e| {
                let err =
                    airtask_aws::error::task_error(&format!("StartPipelineExecution {name}"), &e);
                ctx.hook_info(
                    HOOK,
                    &format!("Failed to start pipeline execution, error: {}", err.message),
                );
                err
            })?;
        let arn = out.pipeline_execution_arn().unwrap_or_default().to_owned();
        ctx.info(&format!(
            "Starting a new execution for pipeline {name}, running with ARN {arn}"
        ));
        if self.wait.deferrable {
            waiter(
                ctx,
                &sm,
                &arn,
                self.wait.verbose,
                &self.wait.settings(),
                "Succeeded",
                &["Failed", "Stopped"],
            )
            .await?;
        } else if self.wait.wait_for_completion {
            self.wait.check(ctx, &sm, &arn).await?;
        }
        Ok(Outcome::Success(Some(json!(arn))))
    }
}

/// A configured `SageMakerStopPipelineOperator`.
#[derive(Debug)]
pub struct SageMakerStopPipelineOperator {
    aws: AwsParams,
    pipeline_exec_arn: String,
    fail_if_not_running: bool,
    wait: PipelineWait,
}

impl Operator for SageMakerStopPipelineOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sagemaker.SageMakerStopPipelineOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "pipeline_exec_arn", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let pipeline_exec_arn = p.required_str(
            "pipeline_exec_arn",
            "the ARN of the pipeline execution to stop",
        )?;
        p.accept("config");
        Ok(SageMakerStopPipelineOperator {
            aws,
            pipeline_exec_arn,
            fail_if_not_running: p.bool("fail_if_not_running", false)?,
            wait: PipelineWait::read(p)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &["sagemaker:StopPipelineExecution"],
            [execution_resource(&self.pipeline_exec_arn)],
        )];
        // The status after the stop is read without the steps; a wait reads them with verbose.
        out.extend(describe_permissions(
            &self.pipeline_exec_arn,
            self.wait.waits() && self.wait.verbose,
        ));
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sm = hook::client(ctx, &self.aws)?;
        let arn = self.pipeline_exec_arn.as_str();
        let mut retries = 5;
        loop {
            retries -= 1;
            let r = call!(
                sm.stop_pipeline_execution().pipeline_execution_arn(arn),
                None
            );
            let Err(e) = r else { break };
            let e = failed(&format!("StopPipelineExecution {arn}"), &e);
            if e.code.as_deref() == Some("ConflictException") && retries > 0 {
                ctx.hook_info(
                    HOOK,
                    &format!(
                        "Got a conflict exception when trying to stop the pipeline, retrying \
                         {retries} more times. Error was: {}",
                        e.error.message
                    ),
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
            if !self.fail_if_not_running
                && e.message
                    .contains("Only pipelines with 'Executing' status can be stopped")
            {
                ctx.warning(&format!(
                    "Cannot stop pipeline execution, as it was not running: {}",
                    e.error.message
                ));
                break;
            }
            ctx.error(&e.error.message);
            return Err(e.error);
        }
        let d = describe(ctx, &sm, arn, false).await?;
        let mut status = text(&d, "PipelineExecutionStatus").to_owned();
        ctx.info(&format!(
            "Stop requested for pipeline execution with ARN {arn}. Status is now {status}"
        ));
        if !PIPELINE_NON_TERMINAL.contains(&status.as_str()) {
            return Ok(Outcome::Success(Some(json!(status))));
        }
        if self.wait.deferrable {
            status = waiter(
                ctx,
                &sm,
                arn,
                self.wait.verbose,
                &self.wait.settings(),
                "Stopped",
                &["Failed"],
            )
            .await?;
        } else if self.wait.wait_for_completion {
            let d = self.wait.check(ctx, &sm, arn).await?;
            status = text(&d, "PipelineExecutionStatus").to_owned();
        }
        Ok(Outcome::Success(Some(json!(status))))
    }
}
