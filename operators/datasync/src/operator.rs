//! `DataSyncOperator`: the provider's find / create / update / execute / delete sequence.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Level, Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext,
    TaskError,
};
use aws_sdk_datasync::Client;
use aws_sdk_datasync::operation::describe_task_execution::DescribeTaskExecutionOutput;
use serde_json::{Map, Value, json};

use crate::kwargs::{CreateLocation, CreateTask, StartExecution, UpdateTask};

/// The logger of the DataSync hook's lines.
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.datasync.DataSyncHook";

/// The hook's states of an execution still under way.
const INTERMEDIATE: &[&str] = &[
    "INITIALIZING",
    "QUEUED",
    "LAUNCHING",
    "PREPARING",
    "TRANSFERRING",
    "VERIFYING",
];

/// The longest `wait_interval_seconds` the hook accepts (15 minutes).
const MAX_WAIT_INTERVAL: u32 = 15 * 60;

/// A configured `DataSyncOperator`.
#[derive(Debug)]
pub struct DataSyncOperator {
    aws: AwsParams,
    wait: WaitSettings,
    task_arn: Option<String>,
    source_location_uri: Option<String>,
    destination_location_uri: Option<String>,
    allow_random_task_choice: bool,
    allow_random_location_choice: bool,
    create_task: Option<CreateTask>,
    create_source_location: Option<CreateLocation>,
    create_destination_location: Option<CreateLocation>,
    update_task: Option<UpdateTask>,
    start_execution: StartExecution,
    delete_task_after_execution: bool,
    /// The execution started by `execute`, for `on_kill`.
    started: Option<(Client, String)>,
}

/// A `*_kwargs` parameter, when it is given and not empty (the provider tests `if
/// self.create_task_kwargs:`), read with `read`; its errors name the parameter. An unrendered
/// template (`airtask validate`) reads as absent.
fn kwargs_param<'a, T>(
    p: &mut ParamReader<'a>,
    name: &'static str,
    read: impl FnOnce(&'a Value, bool) -> Result<T, String>,
) -> Result<Option<T>, ParamError> {
    let rendered = p.rendered();
    match airtask_core::kwargs::mapping(p, name) {
        None => Ok(None),
        Some(Value::Object(m)) if m.is_empty() => Ok(None),
        Some(v) => read(v, rendered)
            .map(Some)
            .map_err(|e| airtask_core::kwargs::param_error(p, name, e)),
    }
}

/// A location's kwargs, read for the scheme of its URI (when the URI is known).
fn location_kwargs(
    p: &mut ParamReader<'_>,
    name: &'static str,
    uri: Option<&str>,
) -> Result<Option<CreateLocation>, ParamError> {
    // Without a known URI (none, or a template under `validate`) the kwargs are not read.
    let uri = uri.filter(|u| !p.is_templated(u));
    let read = kwargs_param(p, name, |v, rendered| {
        uri.map(|uri| CreateLocation::read(name, uri, v, rendered))
            .transpose()
    })?;
    Ok(read.flatten())
}

/// One item of `items`, chosen at random (the provider's `random.choice`).
fn random_choice(items: &[String]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_usize(items.len());
    let i = (h.finish() % items.len() as u64) as usize;
    items.get(i).cloned()
}

/// A location URI as the hook compares them: lower case, without one trailing slash.
fn comparable(uri: &str) -> String {
    let lower = uri.to_lowercase();
    match lower.strip_suffix('/') {
        Some(s) => s.to_owned(),
        None => lower,
    }
}

/// A list as Python prints it (`['a', 'b']`).
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}

fn failed(message: impl Into<String>) -> TaskError {
    TaskError::retryable(message)
}

impl Operator for DataSyncOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.datasync.DataSyncOperator",
        aliases: &["airflow.providers.amazon.aws.operators.datasync.AWSDataSyncOperator"],
        template_fields: &[
            "aws_conn_id",
            "create_destination_location_kwargs",
            "create_source_location_kwargs",
            "create_task_kwargs",
            "destination_location_uri",
            "region_name",
            "source_location_uri",
            "task_arn",
            "task_execution_kwargs",
            "update_task_kwargs",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let wait_interval = p
            .u32("wait_interval_seconds", 0..=MAX_WAIT_INTERVAL)?
            .unwrap_or(30);
        let max_iterations = p.u32("max_iterations", 1..=u32::MAX)?.unwrap_or(60);
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let task_arn = p.str("task_arn")?.filter(|s| !s.is_empty());
        let source_location_uri = p.str("source_location_uri")?.filter(|s| !s.is_empty());
        let destination_location_uri = p.str("destination_location_uri")?.filter(|s| !s.is_empty());
        if task_arn.is_none()
            && (source_location_uri.is_none() || destination_location_uri.is_none())
        {
            let show = |v: &Option<String>| {
                v.as_ref()
                    .map_or_else(|| "None".to_owned(), |s| format!("'{s}'"))
            };
            return Err(ParamError::new(format!(
                "DataSyncOperator needs `task_arn`, or both `source_location_uri` and \
                 `destination_location_uri` (Airflow: Either specify task_arn or both \
                 source_location_uri and destination_location_uri. task_arn={}, \
                 source_location_uri={}, destination_location_uri={})",
                show(&task_arn),
                show(&source_location_uri),
                show(&destination_location_uri)
            )));
        }
        let allow_random_task_choice = p.bool("allow_random_task_choice", false)?;
        let allow_random_location_choice = p.bool("allow_random_location_choice", false)?;
        let create_task = kwargs_param(p, "create_task_kwargs", CreateTask::read)?;
        let create_source_location = location_kwargs(
            p,
            "create_source_location_kwargs",
            source_location_uri.as_deref(),
        )?;
        let create_destination_location = location_kwargs(
            p,
            "create_destination_location_kwargs",
            destination_location_uri.as_deref(),
        )?;
        let update_task = kwargs_param(p, "update_task_kwargs", UpdateTask::read)?;
        let start_execution =
            kwargs_param(p, "task_execution_kwargs", StartExecution::read)?.unwrap_or_default();
        let delete_task_after_execution = p.bool("delete_task_after_execution", false)?;
        Ok(DataSyncOperator {
            aws,
            wait: WaitSettings {
                wait_for_completion,
                waiter_delay: Duration::from_secs(u64::from(wait_interval)),
                waiter_max_attempts: max_iterations,
                deferrable: false,
            },
            task_arn,
            source_location_uri,
            destination_location_uri,
            allow_random_task_choice,
            allow_random_location_choice,
            create_task,
            create_source_location,
            create_destination_location,
            update_task,
            start_execution,
            delete_task_after_execution,
            started: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ds =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_datasync))?;
        let mut candidate_sources = Vec::new();
        let mut candidate_destinations = Vec::new();
        let mut task_arn = self.task_arn.clone();
        if task_arn.is_none() {
            let (sources, destinations, tasks) = self.find_tasks(ctx, &ds).await?;
            candidate_sources = sources;
            candidate_destinations = destinations;
            task_arn = self.choose("Task", &tasks, self.allow_random_task_choice)?;
        }
        if task_arn.is_none()
            && let Some(create) = &self.create_task
        {
            task_arn = Some(
                self.create(
                    ctx,
                    &ds,
                    create,
                    &candidate_sources,
                    &candidate_destinations,
                )
                .await?,
            );
        }
        let Some(task_arn) = task_arn else {
            return Err(failed(
                "DataSync TaskArn could not be identified or created.",
            ));
        };
        let region = ds
            .config()
            .region()
            .map(|r| r.as_ref().to_owned())
            .unwrap_or_default();
        let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_owned();
        ctx.info(&format!(
            "You can view this DataSync task at https://console.aws.amazon.com/datasync/home?region={region}#/tasks/{task_id}"
        ));
        ctx.info(&format!("Using DataSync TaskArn {task_arn}"));
        if let Some(update) = &self.update_task {
            ctx.info(&format!("Updating TaskArn {task_arn}"));
            ds.update_task()
                .task_arn(&task_arn)
                .set_name(update.name.clone())
                .set_cloud_watch_log_group_arn(update.cloud_watch_log_group_arn.clone())
                .set_options(update.options.clone())
                .set_excludes(update.excludes.clone())
                .set_includes(update.includes.clone())
                .set_schedule(update.schedule.clone())
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("UpdateTask {task_arn}"), &e)
                })?;
            ctx.info(&format!("Updated TaskArn {task_arn}"));
        }
        let execution_arn = self
            .run_execution(ctx, &ds, &task_arn, &region, &task_id)
            .await?;
        if self.delete_task_after_execution {
            ctx.info(&format!("Deleting Task with TaskArn {task_arn}"));
            ds.delete_task()
                .task_arn(&task_arn)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("DeleteTask {task_arn}"), &e)
                })?;
            ctx.info("Task Deleted");
        }
        Ok(Outcome::Success(Some(json!({
            "TaskArn": task_arn,
            "TaskExecutionArn": execution_arn,
        }))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        ctx.error("Cancelling TaskExecution after task was killed");
        if let Some((ds, arn)) = self.started.take() {
            cancel(ctx, &ds, &arn).await;
        }
    }

    /// StartTaskExecution on the task (`task_arn`, else any task: it is found or created at
    /// run time); without `task_arn`, ListLocations and ListTasks (not scoped) and
    /// DescribeTask of each task, and with `create_task_kwargs` CreateTask and the
    /// CreateLocation* call of each location kwargs' URI scheme (with `iam:PassRole` on the
    /// location's role); UpdateTask with `update_task_kwargs`; DescribeTaskExecution and (on
    /// kill) CancelTaskExecution with `wait_for_completion`; DeleteTask with
    /// `delete_task_after_execution`.
    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let task = self
            .task_arn
            .clone()
            .unwrap_or_else(|| arn("datasync", region, "task/*"));
        let mut out = Vec::new();
        if self.task_arn.is_none() {
            out.push(Permission::on_any(&[
                "datasync:ListLocations",
                "datasync:ListTasks",
            ]));
            out.push(Permission::new(&["datasync:DescribeTask"], [task.clone()]));
            if self.create_task.is_some() {
                out.push(Permission::new(
                    &["datasync:CreateTask"],
                    [arn("datasync", region, "location/*")],
                ));
                let mut roles = Vec::new();
                for spec in [
                    &self.create_source_location,
                    &self.create_destination_location,
                ]
                .into_iter()
                .flatten()
                {
                    let (action, role) = match spec {
                        CreateLocation::S3 { s3_config, .. } => (
                            "datasync:CreateLocationS3",
                            s3_config
                                .as_ref()
                                .map(|c| c.bucket_access_role_arn().to_owned()),
                        ),
                        CreateLocation::Smb { .. } => ("datasync:CreateLocationSmb", None),
                        CreateLocation::Nfs { .. } => ("datasync:CreateLocationNfs", None),
                        CreateLocation::Efs {
                            file_system_access_role_arn,
                            ..
                        } => (
                            "datasync:CreateLocationEfs",
                            file_system_access_role_arn.clone(),
                        ),
                        CreateLocation::Unsupported(_) => continue,
                    };
                    out.push(Permission::on_any(&[action]));
                    roles.extend(role);
                }
                if !roles.is_empty() {
                    out.push(Permission::new(&["iam:PassRole"], roles));
                }
            }
        }
        let mut on_task = Vec::new();
        if self.update_task.is_some() {
            on_task.push("datasync:UpdateTask");
        }
        on_task.push("datasync:StartTaskExecution");
        if self.delete_task_after_execution {
            on_task.push("datasync:DeleteTask");
        }
        out.push(Permission::new(&on_task, [task.clone()]));
        if self.wait.wait_for_completion {
            out.push(Permission::new(
                &[
                    "datasync:DescribeTaskExecution",
                    "datasync:CancelTaskExecution",
                ],
                [format!("{task}/execution/*")],
            ));
        }
        out
    }
}

/// CancelTaskExecution, logged as the provider logs it; a failure is logged, not raised.
async fn cancel(ctx: &TaskContext, ds: &Client, arn: &str) {
    ctx.info(&format!("Cancelling TaskExecutionArn {arn}"));
    match ds
        .cancel_task_execution()
        .task_execution_arn(arn)
        .send()
        .await
    {
        Ok(_) => ctx.info(&format!("Cancelled TaskExecutionArn {arn}")),
        Err(e) => {
            let err = airtask_aws::error::task_error(&format!("CancelTaskExecution {arn}"), &e);
            ctx.error(&format!("Unable to cancel TaskExecutionArn {arn}: {err}"));
        }
    }
}

/// The execution's description as boto3 prints its main keys.
fn description_json(d: &DescribeTaskExecutionOutput) -> (String, Vec<(String, String)>, Value) {
    let status = d.status().map_or("", |s| s.as_str()).to_owned();
    let mut result = Vec::new();
    let mut result_json = Map::new();
    if let Some(r) = d.result() {
        let mut push = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                result_json.insert(k.to_owned(), json!(v));
                result.push((k.to_owned(), v));
            }
        };
        push(
            "PrepareStatus",
            r.prepare_status().map(|s| s.as_str().to_owned()),
        );
        push(
            "TransferStatus",
            r.transfer_status().map(|s| s.as_str().to_owned()),
        );
        push(
            "VerifyStatus",
            r.verify_status().map(|s| s.as_str().to_owned()),
        );
        push("ErrorCode", r.error_code().map(str::to_owned));
        push("ErrorDetail", r.error_detail().map(str::to_owned));
    }
    let mut m = Map::new();
    m.insert("TaskExecutionArn".into(), json!(d.task_execution_arn()));
    m.insert("Status".into(), json!(status));
    if !result_json.is_empty() {
        m.insert("Result".into(), Value::Object(result_json));
    }
    (status, result, Value::Object(m))
}

impl DataSyncOperator {
    /// `choose_task` / `choose_location`: none, the only one, a random one when allowed.
    fn choose(
        &self,
        what: &str,
        items: &[String],
        random: bool,
    ) -> Result<Option<String>, TaskError> {
        match items {
            [] => Ok(None),
            [one] => Ok(Some(one.clone())),
            _ if random => Ok(random_choice(items)),
            _ => Err(TaskError::fatal(format!(
                "Unable to choose a {what} from {} (set allow_random_{}_choice to pick one at \
                 random)",
                py_list(items),
                what.to_lowercase()
            ))),
        }
    }

    /// The LocationArns whose LocationUri is `uri` (ListLocations, every page).
    async fn location_arns(
        &self,
        ctx: &TaskContext,
        ds: &Client,
        uri: &str,
    ) -> Result<Vec<String>, TaskError> {
        let want = comparable(uri);
        let mut found = Vec::new();
        let mut token = None;
        loop {
            let out = ds
                .list_locations()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| airtask_aws::error::task_error("ListLocations", &e))?;
            for l in out.locations() {
                if l.location_uri().map(comparable).as_deref() == Some(want.as_str())
                    && let Some(arn) = l.location_arn()
                {
                    found.push(arn.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        ctx.info(&format!(
            "Found LocationArns {} for LocationUri {uri}",
            py_list(&found)
        ));
        Ok(found)
    }

    /// `_get_tasks_and_locations`: the candidate source and destination locations, and the
    /// tasks between them.
    async fn find_tasks(
        &self,
        ctx: &TaskContext,
        ds: &Client,
    ) -> Result<(Vec<String>, Vec<String>, Vec<String>), TaskError> {
        let source_uri = self.source_location_uri.as_deref().unwrap_or_default();
        let destination_uri = self.destination_location_uri.as_deref().unwrap_or_default();
        let sources = self.location_arns(ctx, ds, source_uri).await?;
        let destinations = self.location_arns(ctx, ds, destination_uri).await?;
        if sources.is_empty() {
            ctx.info("No matching source Locations");
            return Ok((sources, destinations, Vec::new()));
        }
        if destinations.is_empty() {
            ctx.info("No matching destination Locations");
            return Ok((sources, destinations, Vec::new()));
        }
        ctx.info("Finding DataSync TaskArns that have these LocationArns");
        let mut tasks = Vec::new();
        let mut token = None;
        loop {
            let out = ds
                .list_tasks()
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| airtask_aws::error::task_error("ListTasks", &e))?;
            for t in out.tasks() {
                let Some(arn) = t.task_arn() else { continue };
                let d = ds.describe_task().task_arn(arn).send().await.map_err(|e| {
                    airtask_aws::error::task_error(&format!("DescribeTask {arn}"), &e)
                })?;
                if d.source_location_arn()
                    .is_some_and(|a| sources.iter().any(|s| s == a))
                    && d.destination_location_arn()
                        .is_some_and(|a| destinations.iter().any(|s| s == a))
                {
                    tasks.push(arn.to_owned());
                }
            }
            token = out.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        ctx.info(&format!(
            "Found candidate DataSync TaskArns {}",
            py_list(&tasks)
        ));
        Ok((sources, destinations, tasks))
    }

    /// CreateLocation* for `uri` with `spec`.
    async fn create_location(
        &self,
        ds: &Client,
        uri: &str,
        spec: &CreateLocation,
    ) -> Result<String, TaskError> {
        let what = format!("creating the DataSync location {uri}");
        let arn = match spec.clone() {
            CreateLocation::S3 {
                s3_bucket_arn,
                subdirectory,
                s3_storage_class,
                s3_config,
                agent_arns,
                tags,
            } => ds
                .create_location_s3()
                .set_s3_bucket_arn(s3_bucket_arn)
                .set_subdirectory(subdirectory)
                .set_s3_storage_class(s3_storage_class)
                .set_s3_config(s3_config)
                .set_agent_arns(agent_arns)
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("CreateLocationS3 ({what})"), &e)
                })?
                .location_arn
                .unwrap_or_default(),
            CreateLocation::Smb {
                subdirectory,
                server_hostname,
                user,
                domain,
                password,
                agent_arns,
                mount_options,
                tags,
            } => ds
                .create_location_smb()
                .set_subdirectory(subdirectory)
                .set_server_hostname(server_hostname)
                .set_user(user)
                .set_domain(domain)
                .set_password(password)
                .set_agent_arns(agent_arns)
                .set_mount_options(mount_options)
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("CreateLocationSmb ({what})"), &e)
                })?
                .location_arn
                .unwrap_or_default(),
            CreateLocation::Nfs {
                subdirectory,
                server_hostname,
                on_prem_config,
                mount_options,
                tags,
            } => ds
                .create_location_nfs()
                .set_subdirectory(subdirectory)
                .set_server_hostname(server_hostname)
                .set_on_prem_config(on_prem_config)
                .set_mount_options(mount_options)
                .set_tags(tags)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("CreateLocationNfs ({what})"), &e)
                })?
                .location_arn
                .unwrap_or_default(),
            CreateLocation::Efs {
                subdirectory,
                efs_filesystem_arn,
                ec2_config,
                tags,
                access_point_arn,
                file_system_access_role_arn,
                in_transit_encryption,
            } => ds
                .create_location_efs()
                .set_subdirectory(subdirectory)
                .set_efs_filesystem_arn(efs_filesystem_arn)
                .set_ec2_config(ec2_config)
                .set_tags(tags)
                .set_access_point_arn(access_point_arn)
                .set_file_system_access_role_arn(file_system_access_role_arn)
                .set_in_transit_encryption(in_transit_encryption)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("CreateLocationEfs ({what})"), &e)
                })?
                .location_arn
                .unwrap_or_default(),
            CreateLocation::Unsupported(scheme) => {
                return Err(TaskError::fatal(format!(
                    "Invalid/Unsupported location type: {scheme} (DataSyncOperator creates \
                     locations for s3, smb, nfs and efs URIs; {uri})"
                )));
            }
        };
        Ok(arn)
    }

    /// `_create_datasync_task`: the locations (found or created), then CreateTask.
    async fn create(
        &self,
        ctx: &TaskContext,
        ds: &Client,
        create: &CreateTask,
        sources: &[String],
        destinations: &[String],
    ) -> Result<String, TaskError> {
        let mut source = self.choose("Location", sources, self.allow_random_location_choice)?;
        if source.is_none()
            && let (Some(uri), Some(spec)) = (
                self.source_location_uri.as_deref(),
                &self.create_source_location,
            )
        {
            ctx.info("Attempting to create source Location");
            source = Some(self.create_location(ds, uri, spec).await?);
        }
        let Some(source) = source.filter(|s| !s.is_empty()) else {
            return Err(failed(
                "Unable to determine source LocationArn. Does a suitable DataSync Location exist?",
            ));
        };
        let mut destination =
            self.choose("Location", destinations, self.allow_random_location_choice)?;
        if destination.is_none()
            && let (Some(uri), Some(spec)) = (
                self.destination_location_uri.as_deref(),
                &self.create_destination_location,
            )
        {
            ctx.info("Attempting to create destination Location");
            destination = Some(self.create_location(ds, uri, spec).await?);
        }
        let Some(destination) = destination.filter(|s| !s.is_empty()) else {
            return Err(failed(
                "Unable to determine destination LocationArn. Does a suitable DataSync Location \
                 exist?",
            ));
        };
        ctx.info("Creating a Task.");
        let out = ds
            .create_task()
            .source_location_arn(&source)
            .destination_location_arn(&destination)
            .set_name(create.name.clone())
            .set_cloud_watch_log_group_arn(create.cloud_watch_log_group_arn.clone())
            .set_options(create.options.clone())
            .set_excludes(create.excludes.clone())
            .set_includes(create.includes.clone())
            .set_schedule(create.schedule.clone())
            .set_tags(create.tags.clone())
            .set_task_mode(create.task_mode.clone())
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error("CreateTask", &e))?;
        let arn = out.task_arn().unwrap_or_default().to_owned();
        if arn.is_empty() {
            return Err(failed("Task could not be created"));
        }
        ctx.info(&format!("Created a Task with TaskArn {arn}"));
        Ok(arn)
    }

    /// `_execute_datasync_task`: StartTaskExecution and, unless told not to, the wait.
    async fn run_execution(
        &mut self,
        ctx: &TaskContext,
        ds: &Client,
        task_arn: &str,
        region: &str,
        task_id: &str,
    ) -> Result<String, TaskError> {
        ctx.info(&format!("Starting execution for TaskArn {task_arn}"));
        let s = &self.start_execution;
        let out = ds
            .start_task_execution()
            .task_arn(task_arn)
            .set_override_options(s.override_options.clone())
            .set_includes(s.includes.clone())
            .set_excludes(s.excludes.clone())
            .set_tags(s.tags.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StartTaskExecution {task_arn}"), &e)
            })?;
        let arn = out.task_execution_arn().unwrap_or_default().to_owned();
        if arn.is_empty() {
            return Err(failed("Nothing was executed"));
        }
        ctx.info(&format!("Started TaskExecutionArn {arn}"));
        let execution_id = arn.rsplit('/').next().unwrap_or(&arn);
        ctx.info(&format!(
            "You can view this DataSync task execution at https://console.aws.amazon.com/datasync/home?region={region}#/history/{task_id}/{execution_id}"
        ));
        if !self.wait.wait_for_completion {
            return Ok(arn);
        }
        self.started = Some((ds.clone(), arn.clone()));
        ctx.info(&format!("Waiting for TaskExecutionArn {arn}"));
        let arn_ref = arn.as_str();
        let waited = wait::until_terminal(
            ctx,
            &self.wait,
            &format!("DataSync TaskExecution {arn}"),
            || async move {
                let d = ds
                    .describe_task_execution()
                    .task_execution_arn(arn_ref)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("DescribeTaskExecution {arn_ref}"),
                            &e,
                        )
                    })?;
                let status = d.status().map_or("", |s| s.as_str()).to_owned();
                ctx.hook_info(HOOK_LOGGER, &format!("status={status}"));
                match status.as_str() {
                    "SUCCESS" => Ok(Poll::Done(true)),
                    "ERROR" => Ok(Poll::Done(false)),
                    s if s.is_empty() || INTERMEDIATE.contains(&s) => {
                        Ok(Poll::Pending { state: status })
                    }
                    _ => Err(failed(format!("Unknown status: {status}"))),
                }
            },
        )
        .await;
        let succeeded = match waited {
            Ok(ok) => ok,
            Err(e) => {
                ctx.error(&format!("Cancelling TaskExecution after Exception: {e}"));
                self.started = None;
                cancel(ctx, ds, &arn).await;
                return Err(e);
            }
        };
        self.started = None;
        ctx.info(&format!("Completed TaskExecutionArn {arn}"));
        let d = ds
            .describe_task_execution()
            .task_execution_arn(&arn)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("DescribeTaskExecution {arn}"), &e)
            })?;
        let (status, result, description) = description_json(&d);
        ctx.info(&format!("task_execution_description={description}"));
        let level = if succeeded { Level::Info } else { Level::Error };
        ctx.line(level, ctx.logger(), &format!("Status={status}"));
        for (k, v) in result {
            if k.contains("Status") || k.contains("Error") {
                ctx.line(level, ctx.logger(), &format!("{k}={v}"));
            }
        }
        if !succeeded {
            let detail = d
                .result()
                .and_then(|r| r.error_detail().or(r.error_code()))
                .map(|m| format!(": {m}"))
                .unwrap_or_default();
            return Err(failed(format!("Failed TaskExecutionArn {arn}{detail}")));
        }
        Ok(arn)
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<DataSyncOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<DataSyncOperator>(&p)
    }

    #[test]
    fn needs_a_task_or_both_locations() {
        let e = build(json!({"source_location_uri": "s3://b/x"})).unwrap_err();
        assert!(
            e.message().contains("Either specify task_arn or both")
                && e.message().contains("source_location_uri='s3://b/x'"),
            "{e}"
        );
        let op = build(json!({"task_arn": "arn:t", "wait_interval_seconds": 0})).unwrap();
        assert_eq!(op.wait.waiter_delay, Duration::ZERO);
        assert_eq!(op.wait.waiter_max_attempts, 60);
        let e = build(json!({"task_arn": "arn:t", "wait_interval_seconds": 901})).unwrap_err();
        assert_eq!(e.param(), Some("wait_interval_seconds"));
    }

    #[test]
    fn location_kwargs_follow_the_uri() {
        let op = build(json!({
            "source_location_uri": "smb://host/share",
            "destination_location_uri": "s3://bucket/dir",
            "create_task_kwargs": {"Name": "t"},
            "create_source_location_kwargs": {"ServerHostname": "host", "Subdirectory": "share"},
            "create_destination_location_kwargs": {"S3BucketArn": "arn:aws:s3:::bucket"},
        }))
        .unwrap();
        assert!(matches!(
            op.create_source_location,
            Some(CreateLocation::Smb { .. })
        ));
        assert!(matches!(
            op.create_destination_location,
            Some(CreateLocation::S3 { .. })
        ));
        let e = build(json!({
            "source_location_uri": "s3://b/x",
            "destination_location_uri": "s3://c/y",
            "create_source_location_kwargs": {"ServerHostname": "h"},
        }))
        .unwrap_err();
        assert_eq!(e.param(), Some("create_source_location_kwargs"));
        assert!(
            e.message().starts_with(
                "DataSyncOperator parameter `create_source_location_kwargs.ServerHostname` is \
                 not a setting airtask knows here"
            ),
            "{e}"
        );
    }

    #[test]
    fn helpers_match_the_hook() {
        assert_eq!(comparable("S3://Bucket/Dir/"), "s3://bucket/dir");
        assert_eq!(py_list(&["a".into(), "b".into()]), "['a', 'b']");
        let items = vec!["a".to_owned(), "b".to_owned()];
        assert!(random_choice(&items).is_some_and(|c| items.contains(&c)));
        assert_eq!(random_choice(&[]), None);
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::DataSyncOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<DataSyncOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn a_known_task_is_started_and_an_unknown_one_looked_up() {
        let task = "arn:aws:datasync:us-east-1:1:task/task-1";
        assert_eq!(
            perms(json!({"task_arn": task, "wait_for_completion": false})),
            [Permission::new(&["datasync:StartTaskExecution"], [task])]
        );
        let any_task = "arn:aws:datasync:{region}:{account}:task/*";
        assert_eq!(
            perms(json!({
                "source_location_uri": "s3://a/", "destination_location_uri": "s3://b/",
                "delete_task_after_execution": true,
            })),
            [
                Permission::on_any(&["datasync:ListLocations", "datasync:ListTasks"]),
                Permission::new(&["datasync:DescribeTask"], [any_task]),
                Permission::new(
                    &["datasync:StartTaskExecution", "datasync:DeleteTask"],
                    [any_task]
                ),
                Permission::new(
                    &[
                        "datasync:DescribeTaskExecution",
                        "datasync:CancelTaskExecution"
                    ],
                    ["arn:aws:datasync:{region}:{account}:task/*/execution/*"]
                ),
            ]
        );
    }
}
