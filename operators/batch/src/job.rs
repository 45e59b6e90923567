//! `BatchOperator`: SubmitJob; with `deferrable` the `batch_job_complete` waiter every
//! `poll_interval` (at most `max_retries` polls), else with `wait_for_completion` the hook's
//! `wait_for_job` (following the job's log stream with `awslogs_enabled`); then
//! `check_job_success`. XCom: the job id, and the provider's operator-link values. on_kill:
//! TerminateJob ("Task killed by the user").

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_awsjson::{RawJson, aws_domain, show, trim_none};
use airtask_core::permissions::arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use serde_json::{Map, Value, json};

use crate::hook::{FAILED, Hook, INTERMEDIATE, SUCCEEDED, all_awslogs};
use crate::{call, member_param, region_of, resource_arn};

const OP: &str = "BatchOperator";

/// A configured `BatchOperator`.
#[derive(Debug)]
pub struct BatchOperator {
    aws: AwsParams,
    job_name: String,
    job_definition: String,
    job_queue: String,
    /// The SubmitJob members given as parameters (`containerOverrides`...), checked.
    members: Map<String, Value>,
    max_retries: u32,
    status_retries: u32,
    wait_for_completion: bool,
    deferrable: bool,
    poll_interval: Duration,
    awslogs_enabled: bool,
    awslogs_fetch_interval: Duration,
    /// The submitted job, for `on_kill`.
    submitted: Option<(Hook, String)>,
}

/// The parameters passed to SubmitJob as they are: (parameter, SubmitJob member).
const MEMBERS: &[(&str, &str)] = &[
    ("container_overrides", "containerOverrides"),
    ("array_properties", "arrayProperties"),
    ("ecs_properties_override", "ecsPropertiesOverride"),
    ("eks_properties_override", "eksPropertiesOverride"),
    ("node_overrides", "nodeOverrides"),
    ("parameters", "parameters"),
    ("retry_strategy", "retryStrategy"),
    ("tags", "tags"),
];

impl BatchOperator {
    /// The SubmitJob request, as `submit_job` builds it (None values trimmed).
    fn submit_body(&self) -> Value {
        let mut b = Map::new();
        b.insert("jobName".into(), json!(self.job_name));
        b.insert("jobQueue".into(), json!(self.job_queue));
        b.insert("jobDefinition".into(), json!(self.job_definition));
        // parameters and tags default to {} in the provider, and {} is sent.
        b.insert("parameters".into(), json!({}));
        b.insert("tags".into(), json!({}));
        b.extend(self.members.clone());
        trim_none(Value::Object(b))
    }

    /// A link XCom of the provider (`BaseAwsLink.persist`).
    fn persist(ctx: &TaskContext, region: &str, key: &str, extra: Value) {
        let mut v = json!({"region_name": region, "aws_domain": aws_domain(region)});
        if let (Some(m), Value::Object(extra)) = (v.as_object_mut(), extra) {
            m.extend(extra);
        }
        ctx.xcom_push(key, v);
    }

    /// `_persist_links`: the job's description, and the links of its definition and queue.
    async fn persist_links(
        &self,
        ctx: &TaskContext,
        hook: &Hook,
        job_id: &str,
    ) -> Result<Value, TaskError> {
        let job = hook.description(ctx, job_id).await?;
        let region = region_of(&hook.batch);
        match (job["jobDefinition"].as_str(), job["jobQueue"].as_str()) {
            (Some(definition), Some(queue)) => {
                ctx.info(&format!(
                    "AWS Batch job ({job_id}) Job Definition ARN: '{definition}', Job Queue \
                     ARN: '{queue}'"
                ));
                Self::persist(
                    ctx,
                    &region,
                    "batch_job_definition",
                    json!({"job_definition_arn": definition}),
                );
                Self::persist(
                    ctx,
                    &region,
                    "batch_job_queue",
                    json!({"job_queue_arn": queue}),
                );
            }
            _ => ctx.warning(&format!(
                "AWS Batch job ({job_id}) can't get Job Definition ARN and Job Queue ARN"
            )),
        }
        Ok(job)
    }

    /// `_persist_cloudwatch_link`: the link of the job's first log stream, when there is one.
    async fn persist_cloudwatch_link(&self, ctx: &TaskContext, hook: &Hook, job_id: &str) {
        let region = region_of(&hook.batch);
        let found = match hook.description(ctx, job_id).await {
            Ok(job) => all_awslogs(ctx, job_id, &job, &region),
            Err(e) => Err(e),
        };
        match found {
            Err(e) => ctx.warning(&format!(
                "Unable to retrieve CloudWatch log information for AWS Batch job ({job_id}): {e}"
            )),
            Ok(all) => {
                let Some((stream, group, logs_region)) = all.first() else {
                    return;
                };
                ctx.info(&format!(
                    "AWS Batch job ({job_id}) CloudWatch Events details found."
                ));
                if all.len() > 1 {
                    ctx.warning("Multiple log streams found. Linking to the first one in the UI.");
                }
                Self::persist(
                    ctx,
                    &region,
                    "cloudwatch_events",
                    json!({
                        "awslogs_stream_name": stream,
                        "awslogs_group": group,
                        "awslogs_region": logs_region,
                    }),
                );
            }
        }
    }

    /// The deferrable path: the job's state now, then the trigger's waiter.
    async fn wait_deferred(
        &self,
        ctx: &TaskContext,
        hook: &Hook,
        job_id: &str,
    ) -> Result<(), TaskError> {
        let job = self.persist_links(ctx, hook, job_id).await?;
        let status = job["status"].as_str().unwrap_or_default().to_owned();
        if status == SUCCEEDED {
            self.persist_cloudwatch_link(ctx, hook, job_id).await;
            ctx.info("Job completed.");
            return Ok(());
        }
        if status == FAILED {
            self.persist_cloudwatch_link(ctx, hook, job_id).await;
            return Err(TaskError::retryable(format!(
                "Error while running job: {job_id} is in {status} state"
            )));
        }
        if !INTERMEDIATE.contains(&status.as_str()) {
            return Err(TaskError::retryable(format!("Unexpected status: {status}")));
        }
        let settings = WaitSettings {
            wait_for_completion: true,
            waiter_delay: self.poll_interval,
            waiter_max_attempts: self.max_retries.max(1),
            deferrable: true,
        };
        let waited = wait::until_terminal(
            ctx,
            &settings,
            &format!("AWS Batch job {job_id}"),
            || async {
                let job = hook.description(ctx, job_id).await?;
                complete(&job)
            },
        )
        .await;
        self.persist_cloudwatch_link(ctx, hook, job_id).await;
        if let Err(e) = waited {
            return Err(TaskError {
                message: format!("Error while running job: {e}"),
                ..e
            });
        }
        hook.check_job_success(ctx, job_id).await?;
        ctx.info(&format!("Job completed successfully for job_id: {job_id}"));
        Ok(())
    }

    /// `monitor_job`.
    async fn monitor(&self, ctx: &TaskContext, hook: &Hook, job_id: &str) -> Result<(), TaskError> {
        self.persist_links(ctx, hook, job_id).await?;
        let logs = self.awslogs_enabled.then_some(self.awslogs_fetch_interval);
        hook.wait_for_job(ctx, job_id, logs).await?;
        if self.awslogs_enabled {
            self.persist_cloudwatch_link(ctx, hook, job_id).await;
        }
        hook.check_job_success(ctx, job_id).await?;
        ctx.info(&format!("AWS Batch job ({job_id}) succeeded"));
        Ok(())
    }
}

/// One poll of the `batch_job_complete` waiter on a description.
fn complete(job: &Value) -> Result<Poll<()>, TaskError> {
    let status = job["status"].as_str().unwrap_or_default();
    match status {
        SUCCEEDED => Ok(Poll::Done(())),
        FAILED => Err(TaskError::retryable(format!(
            "Waiter batch_job_complete failed: Waiter encountered a terminal failure state: AWS \
             Batch job {} is FAILED ({})",
            job["jobId"].as_str().unwrap_or_default(),
            job["statusReason"].as_str().unwrap_or("no reason given")
        ))),
        other => Ok(Poll::Pending {
            state: other.to_owned(),
        }),
    }
}

impl Operator for BatchOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.batch.BatchOperator",
        aliases: &["airflow.providers.amazon.aws.operators.batch.AwsBatchOperator"],
        // aws_template_fields(...), sorted.
        template_fields: &[
            "array_properties",
            "aws_conn_id",
            "awslogs_enabled",
            "awslogs_fetch_interval",
            "container_overrides",
            "ecs_properties_override",
            "eks_properties_override",
            "job_definition",
            "job_id",
            "job_name",
            "job_queue",
            "node_overrides",
            "parameters",
            "region_name",
            "retry_strategy",
            "tags",
            "verify",
            "wait_for_completion",
            "waiters",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let job_name = p.required_str("job_name", "the name of the job to submit")?;
        let job_definition = p.required_str(
            "job_definition",
            "the job definition (name, name:revision or ARN)",
        )?;
        let job_queue = p.required_str("job_queue", "the job queue (name or ARN)")?;
        let mut members = Map::new();
        for (param, member) in MEMBERS {
            if let Some(v) = member_param(p, param, "SubmitJob", member)? {
                members.insert((*member).to_owned(), v);
            }
        }
        if let Some(share) = p.str("share_identifier")? {
            members.insert("shareIdentifier".into(), json!(share));
        }
        if let Some(n) = p.i64(
            "scheduling_priority_override",
            i64::from(i32::MIN)..=i64::from(i32::MAX),
        )? {
            members.insert("schedulingPriorityOverride".into(), json!(n));
        }
        if let Some(secs) = p.i64("submit_job_timeout", 0..=i64::from(i32::MAX))?
            && secs > 0
        {
            members.insert("timeout".into(), json!({"attemptDurationSeconds": secs}));
        }
        // job_id: the provider overwrites it with the submitted job's id.
        p.accept("job_id");
        if let Some(w) = p.value("waiters") {
            return Err(ParamError::at(
                "waiters",
                format!(
                    "{OP} parameter `waiters` is {}: custom BatchWaiters objects cannot be given \
                     in a workflow file; leave it out (the hook's polling is used, or \
                     `deferrable: true` for the batch_job_complete waiter)",
                    airtask_core::params::describe(w)
                ),
            ));
        }
        let max_retries = p.u32("max_retries", 0..=u32::MAX)?.unwrap_or(4200);
        let status_retries = p
            .u32("status_retries", 0..=u32::MAX)?
            .filter(|n| *n > 0)
            .unwrap_or(10);
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let deferrable = p.bool("deferrable", false)?;
        let poll_interval = Duration::from_secs_f64(p.seconds("poll_interval", 30.0)?);
        let awslogs_enabled = p.bool("awslogs_enabled", false)?;
        let awslogs_fetch_interval =
            Duration::from_secs_f64(p.seconds("awslogs_fetch_interval", 30.0)?);
        Ok(BatchOperator {
            aws,
            job_name,
            job_definition,
            job_queue,
            members,
            max_retries,
            status_retries,
            wait_for_completion,
            deferrable,
            poll_interval,
            awslogs_enabled,
            awslogs_fetch_interval,
            submitted: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let batch = crate::client(ctx, &self.aws)?;
        let hook = Hook {
            batch: batch.clone(),
            max_retries: self.max_retries,
            status_retries: self.status_retries,
        };
        ctx.info(&format!(
            "Running AWS Batch job - job definition: {} - on queue {}",
            self.job_definition, self.job_queue
        ));
        for (key, what) in [
            ("containerOverrides", "container overrides"),
            ("arrayProperties", "array properties"),
            ("ecsPropertiesOverride", "ECS properties"),
            ("eksPropertiesOverride", "EKS properties"),
            ("nodeOverrides", "node properties"),
        ] {
            if let Some(v) = self.members.get(key).filter(|v| is_given(v)) {
                ctx.info(&format!("AWS Batch job - {what}: {}", show(v)));
            }
        }
        let answer = call!(
            format!("SubmitJob {}", self.job_name),
            batch
                .submit_job()
                .job_name(&self.job_name)
                .job_queue(&self.job_queue)
                .job_definition(&self.job_definition),
            RawJson::new(&self.submit_body())
        );
        let answer = answer.inspect_err(|_| {
            ctx.error(&format!(
                "AWS Batch job failed submission - job definition: {} - on queue {}",
                self.job_definition, self.job_queue
            ));
        })?;
        let job_id = answer["jobId"]
            .as_str()
            .ok_or_else(|| {
                TaskError::retryable(format!("SubmitJob answered no jobId: {}", show(&answer)))
            })?
            .to_owned();
        self.submitted = Some((hook.clone(), job_id.clone()));
        ctx.info(&format!(
            "AWS Batch job ({job_id}) started: {}",
            show(&answer)
        ));
        Self::persist(
            ctx,
            &region_of(&batch),
            "batch_job_details",
            json!({"job_id": job_id}),
        );
        let waited = if self.deferrable {
            self.wait_deferred(ctx, &hook, &job_id).await
        } else if self.wait_for_completion {
            self.monitor(ctx, &hook, &job_id).await
        } else {
            Ok(())
        };
        self.submitted = None;
        waited?;
        Ok(Outcome::Success(Some(json!(job_id))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((hook, job_id)) = self.submitted.take() else {
            return;
        };
        match hook.terminate(&job_id, "Task killed by the user").await {
            Ok(answer) => ctx.info(&format!(
                "AWS Batch job ({job_id}) terminated: {}",
                show(&answer)
            )),
            Err(e) => ctx.error(&format!(
                "Unable to terminate AWS Batch job ({job_id}): {e}"
            )),
        }
    }

    /// SubmitJob on the job definition and queue (`batch:TagResource` on the job too with
    /// `tags`; the job definition's roles are not passed by the caller); DescribeJobs when
    /// waiting; TerminateJob for on_kill; GetLogEvents with `awslogs_enabled` (the log group
    /// comes from the job definition: any group).
    fn permissions(&self) -> Vec<Permission> {
        let job = arn("batch", self.aws.region(), "job/*");
        let mut out = vec![Permission::new(
            &["batch:SubmitJob"],
            [
                resource_arn(&self.aws, "job-definition", &self.job_definition),
                resource_arn(&self.aws, "job-queue", &self.job_queue),
            ],
        )];
        if self.members.get("tags").is_some_and(is_given) {
            out.push(Permission::new(&["batch:TagResource"], [job.clone()]));
        }
        if self.deferrable || self.wait_for_completion {
            out.push(Permission::on_any(&["batch:DescribeJobs"]));
        }
        out.push(Permission::new(&["batch:TerminateJob"], [job]));
        if self.awslogs_enabled && !self.deferrable && self.wait_for_completion {
            out.push(Permission::new(
                &["logs:GetLogEvents"],
                [arn("logs", None, "log-group:*:log-stream:*")],
            ));
        }
        out
    }
}

/// Python's truthiness of an argument value (an empty mapping is not logged).
fn is_given(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(m) => !m.is_empty(),
        Value::Array(a) => !a.is_empty(),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<BatchOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<BatchOperator>(&p)
    }

    #[test]
    fn the_submit_request_is_the_providers() {
        let op = build(json!({
            "job_name": "j", "job_definition": "jd", "job_queue": "q",
            "container_overrides": {"command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}]},
            "array_properties": {"size": "2"},
            "share_identifier": "s", "scheduling_priority_override": 5,
            "submit_job_timeout": 600, "retry_strategy": {"attempts": 2},
            "tags": {"team": "data"}, "parameters": {"p": "v"}
        }))
        .unwrap();
        assert_eq!(
            op.submit_body(),
            json!({"jobName": "j", "jobQueue": "q", "jobDefinition": "jd",
                "parameters": {"p": "v"}, "tags": {"team": "data"},
                "containerOverrides": {"command": ["echo", "hi"], "environment": [{"name": "A", "value": "1"}]},
                "arrayProperties": {"size": 2}, "retryStrategy": {"attempts": 2},
                "shareIdentifier": "s", "schedulingPriorityOverride": 5,
                "timeout": {"attemptDurationSeconds": 600}})
        );
        let op = build(json!({"job_name": "j", "job_definition": "jd", "job_queue": "q"})).unwrap();
        assert_eq!(
            op.submit_body(),
            json!({"jobName": "j", "jobQueue": "q", "jobDefinition": "jd", "parameters": {}, "tags": {}})
        );
        assert_eq!((op.max_retries, op.status_retries), (4200, 10));
        assert_eq!(op.poll_interval, Duration::from_secs(30));
    }

    #[test]
    fn mistakes_are_refused() {
        let e = build(
            json!({"job_name": "j", "job_definition": "jd", "job_queue": "q",
            "container_overrides": {"comand": ["x"]}}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("container_overrides"));
        assert!(
            e.message().starts_with(
                "BatchOperator parameter `container_overrides` has the unknown key `comand`"
            ),
            "{e}"
        );
        let e = build(
            json!({"job_name": "j", "job_definition": "jd", "job_queue": "q", "waiters": {"a": 1}}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("waiters"));
        let e = build(
            json!({"job_name": "j", "job_definition": "jd", "job_queue": "q", "tags": {"n": 1}}),
        )
        .unwrap_err();
        assert!(e.message().contains("`tags.n` must be a string"), "{e}");
        assert!(build(json!({"job_name": "j", "job_definition": "jd"})).is_err());
    }

    #[test]
    fn permissions_follow_the_parameters() {
        let op = build(
            json!({"job_name": "j", "job_definition": "jd:3", "job_queue": "q",
            "tags": {"a": "b"}, "awslogs_enabled": true}),
        )
        .unwrap();
        assert_eq!(
            op.permissions(),
            vec![
                Permission::new(
                    &["batch:SubmitJob"],
                    [
                        "arn:aws:batch:{region}:{account}:job-definition/jd:3",
                        "arn:aws:batch:{region}:{account}:job-queue/q"
                    ]
                ),
                Permission::new(
                    &["batch:TagResource"],
                    ["arn:aws:batch:{region}:{account}:job/*"]
                ),
                Permission::on_any(&["batch:DescribeJobs"]),
                Permission::new(
                    &["batch:TerminateJob"],
                    ["arn:aws:batch:{region}:{account}:job/*"]
                ),
                Permission::new(
                    &["logs:GetLogEvents"],
                    ["arn:aws:logs:{region}:{account}:log-group:*:log-stream:*"]
                ),
            ]
        );
        let op = build(json!({"job_name": "j", "job_definition": "jd", "job_queue": "q", "wait_for_completion": false}))
            .unwrap();
        assert_eq!(op.permissions().len(), 2);
    }

    #[test]
    fn the_deferred_waiter_fails_on_failed() {
        assert_eq!(
            complete(&json!({"status": "SUCCEEDED"})).unwrap(),
            Poll::Done(())
        );
        assert_eq!(
            complete(&json!({"status": "RUNNABLE"})).unwrap(),
            Poll::Pending {
                state: "RUNNABLE".into()
            }
        );
        let e = complete(&json!({"jobId": "j1", "status": "FAILED", "statusReason": "boom"}))
            .unwrap_err();
        assert!(
            e.message.ends_with("AWS Batch job j1 is FAILED (boom)"),
            "{e}"
        );
    }
}
