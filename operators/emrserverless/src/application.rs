//! The application operators: `EmrServerlessCreateApplicationOperator` (CreateApplication, the
//! `serverless_app_created` wait, StartApplication, with `wait_for_completion` the
//! `serverless_app_started` wait; XCom is the application id),
//! `EmrServerlessStopApplicationOperator` (with `force_stop` the running jobs cancelled and
//! waited for; StopApplication; with `wait_for_completion` the `serverless_app_stopped` wait)
//! and `EmrServerlessDeleteApplicationOperator` (the stop, always waited for; DeleteApplication;
//! with `wait_for_completion` the `serverless_app_terminated` wait).

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_emrserverless::Client;
use aws_sdk_emrserverless::operation::create_application::builders::CreateApplicationInputBuilder;
use aws_sdk_emrserverless::types::JobRunState;
use serde_json::json;

use crate::common::{
    APP_CREATED, APP_STARTED, APP_STOPPED, APP_TERMINATED, HOOK, JOB_INTERMEDIATE, application_arn,
    job_runs_arn, uuid4,
};
use crate::kwargs;

/// The provider's `waiter_delay` (60) and `waiter_max_attempts` (25), and `deferrable`.
pub(crate) fn wait_settings(p: &mut ParamReader<'_>) -> Result<WaitSettings, ParamError> {
    WaitSettings::read(p, 60, 25)
}

/// A configured `EmrServerlessCreateApplicationOperator`.
#[derive(Debug)]
pub struct EmrServerlessCreateApplicationOperator {
    aws: AwsParams,
    request: CreateApplicationInputBuilder,
    wait: WaitSettings,
}

impl Operator for EmrServerlessCreateApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrServerlessCreateApplicationOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let release_label = p.required_str(
            "release_label",
            "the EMR release of the application (emr-7.0.0)",
        )?;
        let job_type = p.required_str("job_type", "the application's type, SPARK or HIVE")?;
        let token = p
            .str("client_request_token")?
            .filter(|s| !s.is_empty())
            .unwrap_or_else(uuid4);
        let mut request = CreateApplicationInputBuilder::default()
            .client_token(token)
            .release_label(release_label)
            .r#type(job_type);
        let rendered = p.rendered();
        if let Some(v) = airtask_core::kwargs::mapping(p, "config") {
            request = kwargs::create_config(v, rendered, request)
                .map_err(|e| airtask_core::kwargs::param_error(p, "config", e))?;
        }
        let wait = wait_settings(p)?;
        Ok(EmrServerlessCreateApplicationOperator { aws, request, wait })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut create = vec!["emr-serverless:CreateApplication"];
        if self.request.get_tags().is_some() {
            create.push("emr-serverless:TagResource");
        }
        vec![
            Permission::new(&create, [application_arn(region, "*")]),
            Permission::new(
                &[
                    "emr-serverless:GetApplication",
                    "emr-serverless:StartApplication",
                ],
                [application_arn(region, "*")],
            ),
        ]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        let out = self
            .request
            .clone()
            .send_with(&emr)
            .await
            .map_err(|e| airtask_aws::error::task_error("CreateApplication", &e))?;
        let id = out.application_id().to_owned();
        ctx.info(&format!("EMR serverless application created: {id}"));
        let (emr_ref, id_ref) = (&emr, id.as_str());
        // The provider waits for CREATED whatever wait_for_completion says.
        let mut created = self.wait.clone();
        created.wait_for_completion = true;
        wait::until_terminal(
            ctx,
            &created,
            &format!("EMR Serverless application {id}"),
            || APP_CREATED.poll(emr_ref, id_ref),
        )
        .await?;
        ctx.info(&format!("Starting application {id}"));
        start_application(&emr, &id).await?;
        if self.wait.wait_for_completion || self.wait.deferrable {
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("EMR Serverless application {id}"),
                || APP_STARTED.poll(emr_ref, id_ref),
            )
            .await?;
            if self.wait.deferrable {
                ctx.info(&format!("Application {id} started"));
            }
        }
        Ok(Outcome::Success(Some(json!(id))))
    }
}

/// StartApplication of `id`.
pub(crate) async fn start_application(emr: &Client, id: &str) -> Result<(), TaskError> {
    emr.start_application()
        .application_id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| airtask_aws::error::task_error(&format!("StartApplication {id}"), &e))
}

/// A configured `EmrServerlessStopApplicationOperator` (and the stop of the delete operator).
#[derive(Debug)]
pub struct EmrServerlessStopApplicationOperator {
    aws: AwsParams,
    application_id: String,
    force_stop: bool,
    wait: WaitSettings,
}

impl EmrServerlessStopApplicationOperator {
    fn read(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let application_id =
            p.required_str("application_id", "the id of the EMR Serverless application")?;
        let force_stop = p.bool("force_stop", false)?;
        let wait = wait_settings(p)?;
        Ok(EmrServerlessStopApplicationOperator {
            aws,
            application_id,
            force_stop,
            wait,
        })
    }

    fn stop_permissions(&self, wait: bool) -> Vec<Permission> {
        let region = self.aws.region();
        let mut app = vec!["emr-serverless:StopApplication"];
        if wait {
            app.push("emr-serverless:GetApplication");
        }
        let mut p = vec![Permission::new(
            &app,
            [application_arn(region, &self.application_id)],
        )];
        if self.force_stop {
            p.push(Permission::new(
                &["emr-serverless:ListJobRuns"],
                [application_arn(region, &self.application_id)],
            ));
            p.push(Permission::new(
                &["emr-serverless:CancelJobRun"],
                [job_runs_arn(region, &self.application_id)],
            ));
        }
        p
    }

    /// The stop: cancel the running jobs with `force_stop`, StopApplication, and with `wait`
    /// the wait for STOPPED.
    async fn stop(&self, ctx: &TaskContext, emr: &Client, wait: bool) -> Result<(), TaskError> {
        let id = self.application_id.as_str();
        ctx.info(&format!("Stopping application: {id}"));
        if self.force_stop {
            let count = cancel_running_jobs(ctx, emr, id).await?;
            if count > 0 {
                ctx.info(&format!(
                    "now waiting for the {count} cancelled job(s) to terminate"
                ));
                let mut all = self.wait.clone();
                all.wait_for_completion = true;
                wait::until_terminal(ctx, &all, &format!("the jobs of application {id}"), || {
                    no_job_running(emr, id)
                })
                .await?;
            } else {
                ctx.info(&format!("no running jobs found with application ID {id}"));
            }
        }
        emr.stop_application()
            .application_id(id)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("StopApplication {id}"), &e))?;
        if wait {
            let mut settings = self.wait.clone();
            settings.wait_for_completion = true;
            wait::until_terminal(
                ctx,
                &settings,
                &format!("EMR Serverless application {id}"),
                || APP_STOPPED.poll(emr, id),
            )
            .await?;
            ctx.info(&format!(
                "EMR serverless application {id} stopped successfully"
            ));
        }
        Ok(())
    }
}

/// The job runs of `app` in `states`, all pages (ListJobRuns).
async fn job_runs(emr: &Client, app: &str, states: &[&str]) -> Result<Vec<String>, TaskError> {
    let mut pages = emr
        .list_job_runs()
        .application_id(app)
        .set_states(Some(states.iter().map(|s| JobRunState::from(*s)).collect()))
        .max_results(50)
        .into_paginator()
        .send();
    let mut ids = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| {
            airtask_aws::error::task_error(&format!("ListJobRuns of application {app}"), &e)
        })?;
        ids.extend(page.job_runs().iter().map(|j| j.id().to_owned()));
    }
    Ok(ids)
}

/// The hook's `cancel_running_jobs`: cancels the jobs in an intermediate state; their count.
async fn cancel_running_jobs(
    ctx: &TaskContext,
    emr: &Client,
    app: &str,
) -> Result<usize, TaskError> {
    let ids = job_runs(emr, app, JOB_INTERMEDIATE).await?;
    if !ids.is_empty() {
        ctx.hook_info(
            HOOK,
            &format!(
                "Cancelling {} pending job(s) for the application {app} so that it can be stopped",
                ids.len()
            ),
        );
    }
    for job in &ids {
        emr.cancel_job_run()
            .application_id(app)
            .job_run_id(job)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("CancelJobRun {job}"), &e))?;
    }
    Ok(ids.len())
}

/// One poll of `no_job_running`: no job in an intermediate state or CANCELLING.
async fn no_job_running(emr: &Client, app: &str) -> Result<Poll<()>, TaskError> {
    let mut states = JOB_INTERMEDIATE.to_vec();
    states.push("CANCELLING");
    let ids = job_runs(emr, app, &states).await?;
    if ids.is_empty() {
        Ok(Poll::Done(()))
    } else {
        Ok(Poll::Pending {
            state: format!("{} job(s) still running", ids.len()),
        })
    }
}

impl Operator for EmrServerlessStopApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrServerlessStopApplicationOperator",
        aliases: &[],
        template_fields: &["application_id", "aws_conn_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Self::read(p)
    }

    fn permissions(&self) -> Vec<Permission> {
        self.stop_permissions(self.wait.wait_for_completion || self.wait.deferrable)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let emr = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        // deferrable waits in the trigger: here, in the process.
        self.stop(
            ctx,
            &emr,
            self.wait.wait_for_completion || self.wait.deferrable,
        )
        .await?;
        Ok(Outcome::Success(None))
    }
}

/// A configured `EmrServerlessDeleteApplicationOperator`.
#[derive(Debug)]
pub struct EmrServerlessDeleteApplicationOperator {
    stop: EmrServerlessStopApplicationOperator,
}

impl Operator for EmrServerlessDeleteApplicationOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.emr.EmrServerlessDeleteApplicationOperator",
        aliases: &[],
        template_fields: &["application_id", "aws_conn_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(EmrServerlessDeleteApplicationOperator {
            stop: EmrServerlessStopApplicationOperator::read(p)?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let mut p = self.stop.stop_permissions(true);
        p.push(Permission::new(
            &["emr-serverless:DeleteApplication"],
            [application_arn(
                self.stop.aws.region(),
                &self.stop.application_id,
            )],
        ));
        p
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s = &self.stop;
        let emr = airtask_aws::client_in(
            ctx,
            s.aws.region(),
            airtask_aws::sdk!(aws_sdk_emrserverless),
        )?;
        // The stop is always waited for: an application is deleted once STOPPED.
        s.stop(ctx, &emr, true).await?;
        let id = s.application_id.as_str();
        ctx.info(&format!("Now deleting application: {id}"));
        emr.delete_application()
            .application_id(id)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("DeleteApplication {id}"), &e))?;
        if s.wait.wait_for_completion || s.wait.deferrable {
            let (emr_ref, settings) = (&emr, &s.wait);
            let mut settings = settings.clone();
            settings.wait_for_completion = true;
            wait::until_terminal(
                ctx,
                &settings,
                &format!("EMR Serverless application {id}"),
                || APP_TERMINATED.poll(emr_ref, id),
            )
            .await?;
        }
        ctx.info("EMR serverless application deleted");
        Ok(Outcome::Success(None))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use airtask_core::{Params, build_operator};
    use serde_json::Value;

    use super::*;

    fn delete(v: Value) -> Result<EmrServerlessDeleteApplicationOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EmrServerlessDeleteApplicationOperator>(&p)
    }

    #[test]
    fn delete_permissions_cover_the_stop_the_wait_and_the_delete() {
        let op = delete(
            json!({"application_id": "app1", "force_stop": true, "wait_for_completion": false}),
        )
        .unwrap();
        assert_eq!(op.stop.wait.waiter_delay, Duration::from_secs(60));
        assert_eq!(op.stop.wait.waiter_max_attempts, 25);
        let arn = "arn:aws:emr-serverless:{region}:{account}:/applications/app1";
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &[
                        "emr-serverless:StopApplication",
                        "emr-serverless:GetApplication"
                    ],
                    [arn]
                ),
                Permission::new(&["emr-serverless:ListJobRuns"], [arn]),
                Permission::new(
                    &["emr-serverless:CancelJobRun"],
                    [format!("{arn}/jobruns/*")]
                ),
                Permission::new(&["emr-serverless:DeleteApplication"], [arn]),
            ]
        );
        assert!(delete(json!({})).is_err());
    }

    #[test]
    fn create_reads_the_config() {
        let p: Params = json!({"release_label": "emr-7.0.0", "job_type": "SPARK",
            "config": {"name": "app"}, "client_request_token": ""})
        .as_object()
        .cloned()
        .unwrap();
        let op = build_operator::<EmrServerlessCreateApplicationOperator>(&p).unwrap();
        assert_eq!(op.request.get_name().as_deref(), Some("app"));
        assert_eq!(
            op.request.get_client_token().as_ref().map(String::len),
            Some(36)
        );
        assert!(op.wait.wait_for_completion);
        let p: Params =
            json!({"release_label": "emr-7.0.0", "job_type": "SPARK", "config": {"x": 1}})
                .as_object()
                .cloned()
                .unwrap();
        let e = build_operator::<EmrServerlessCreateApplicationOperator>(&p).unwrap_err();
        assert_eq!(e.param(), Some("config"));
    }
}
