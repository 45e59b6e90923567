//! `GlueDataBrewStartJobOperator`: starts a DataBrew job run, waits for it, and pushes
//! `{"run_id": ...}`.

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::json;

/// A configured `GlueDataBrewStartJobOperator`.
#[derive(Debug)]
pub struct GlueDataBrewStartJobOperator {
    aws: AwsParams,
    job_name: String,
    wait: WaitSettings,
}

impl Operator for GlueDataBrewStartJobOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue_databrew.GlueDataBrewStartJobOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "deferrable",
            "job_name",
            "region_name",
            "verify",
            "wait_for_completion",
            "waiter_delay",
            "waiter_max_attempts",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_name = p.required_str("job_name", "the name of the DataBrew job to run")?;
        // `delay` is the provider's deprecated name of waiter_delay, which it ignores.
        p.accept("delay");
        Ok(GlueDataBrewStartJobOperator {
            aws,
            job_name,
            wait: WaitSettings::read(p, 30, 60)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let brew =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_databrew))?;
        let name = &self.job_name;
        let out = brew.start_job_run().name(name).send().await.map_err(|e| {
            airtask_aws::error::task_error(&format!("StartJobRun of the DataBrew job {name}"), &e)
        })?;
        let run_id = out.run_id().to_owned();
        ctx.info(&format!(
            "AWS Glue DataBrew Job: {name}. Run Id: {run_id} submitted."
        ));
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!(
                "Waiting for AWS Glue DataBrew Job: {name}. Run Id: {run_id} to complete."
            ));
            let (brew_ref, id) = (&brew, &run_id);
            let state = wait::until_terminal(
                ctx,
                &self.wait,
                &format!("DataBrew job {name} run {run_id}"),
                || async move {
                    let run = brew_ref
                        .describe_job_run()
                        .name(name)
                        .run_id(id)
                        .send()
                        .await
                        .map_err(|e| {
                            airtask_aws::error::task_error(
                                &format!("DescribeJobRun of the DataBrew job {name} run {id}"),
                                &e,
                            )
                        })?;
                    let state = run.state().map_or("UNKNOWN", |s| s.as_str()).to_owned();
                    match state.as_str() {
                        "SUCCEEDED" => Ok(Poll::Done(state)),
                        // The provider's waiter stops at these too, but then succeeds; a run
                        // that failed fails the task here (see the README).
                        "FAILED" | "TIMEOUT" | "STOPPED" => Err(TaskError::retryable(format!(
                            "The DataBrew job {name} run {id} ended {state}: {}",
                            run.error_message()
                                .unwrap_or("DataBrew gives no ErrorMessage")
                        ))),
                        _ => Ok(Poll::Pending { state }),
                    }
                },
            )
            .await?;
            ctx.info(&format!("Glue DataBrew Job: {name} status: {state}"));
        }
        Ok(Outcome::Success(Some(json!({ "run_id": run_id }))))
    }

    /// StartJobRun on the job, and DescribeJobRun with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        let actions: &[&str] = if self.wait.wait_for_completion || self.wait.deferrable {
            &["databrew:StartJobRun", "databrew:DescribeJobRun"]
        } else {
            &["databrew:StartJobRun"]
        };
        vec![Permission::new(
            actions,
            [arn(
                "databrew",
                self.aws.region(),
                &format!("job/{}", self.job_name),
            )],
        )]
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::GlueDataBrewStartJobOperator;

    #[test]
    fn the_job_run_is_described_only_when_waited_for() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<GlueDataBrewStartJobOperator>(&p)
                .expect("valid parameters")
                .permissions()
        };
        let job = ["arn:aws:databrew:{region}:{account}:job/brew"];
        assert_eq!(
            perms(json!({"job_name": "brew"})),
            [Permission::new(
                &["databrew:StartJobRun", "databrew:DescribeJobRun"],
                job
            )]
        );
        assert_eq!(
            perms(json!({"job_name": "brew", "wait_for_completion": false})),
            [Permission::new(&["databrew:StartJobRun"], job)]
        );
    }
}
