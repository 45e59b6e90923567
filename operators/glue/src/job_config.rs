//! The job definition GlueJobOperator creates or updates: the provider's `create_glue_job_config`
//! (operator parameters, then `create_job_kwargs` over them, then MaxCapacity and LogUri), and
//! `run_job_kwargs` for StartJobRun, read into the SDK's types.

use std::collections::HashMap;

use aws_sdk_glue::operation::create_job::builders::CreateJobFluentBuilder;
use aws_sdk_glue::operation::start_job_run::builders::StartJobRunFluentBuilder;
use aws_sdk_glue::types::{
    ConnectionsList, ExecutionClass, ExecutionProperty, JobCommand, JobMode, JobUpdate,
    NotificationProperty, WorkerType,
};
use serde_json::Value;

use airtask_core::kwargs::Obj;

/// A job's command (`Command`).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Command {
    pub name: Option<String>,
    pub script_location: Option<String>,
    pub python_version: Option<String>,
    pub runtime: Option<String>,
}

impl Command {
    fn sdk(&self) -> JobCommand {
        JobCommand::builder()
            .set_name(self.name.clone())
            .set_script_location(self.script_location.clone())
            .set_python_version(self.python_version.clone())
            .set_runtime(self.runtime.clone())
            .build()
    }
}

/// The settings of a job definition (CreateJob without Name, i.e. UpdateJob's JobUpdate, plus
/// Tags).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct JobConfig {
    pub description: Option<String>,
    pub role: Option<String>,
    pub max_concurrent_runs: Option<i32>,
    pub command: Option<Command>,
    pub max_retries: Option<i32>,
    pub max_capacity: Option<f64>,
    pub log_uri: Option<String>,
    pub job_mode: Option<String>,
    pub job_run_queuing_enabled: Option<bool>,
    pub default_arguments: Option<HashMap<String, String>>,
    pub non_overridable_arguments: Option<HashMap<String, String>>,
    pub connections: Option<Vec<String>>,
    pub allocated_capacity: Option<i32>,
    pub timeout: Option<i32>,
    pub security_configuration: Option<String>,
    pub tags: Option<HashMap<String, String>>,
    pub notify_delay_after: Option<i32>,
    pub glue_version: Option<String>,
    pub number_of_workers: Option<i32>,
    pub worker_type: Option<String>,
    pub execution_class: Option<String>,
    pub maintenance_window: Option<String>,
}

impl JobConfig {
    /// Reads `create_job_kwargs` (boto3's CreateJob arguments, without Name).
    pub(crate) fn read(kwargs: Option<&Value>, rendered: bool) -> Result<JobConfig, String> {
        let Some(kwargs) = kwargs else {
            return Ok(JobConfig::default());
        };
        let mut o = Obj::new("create_job_kwargs", kwargs, rendered)?;
        let command = o.nested("Command", |c| {
            Ok(Command {
                name: c.str("Name")?,
                script_location: c.str("ScriptLocation")?,
                python_version: c.str("PythonVersion")?,
                runtime: c.str("Runtime")?,
            })
        })?;
        let max_concurrent_runs = o
            .nested("ExecutionProperty", |e| e.i32("MaxConcurrentRuns"))?
            .flatten();
        let connections = o
            .nested("Connections", |c| c.str_list("Connections"))?
            .flatten();
        let notify_delay_after = o
            .nested("NotificationProperty", |n| n.i32("NotifyDelayAfter"))?
            .flatten();
        let config = JobConfig {
            description: o.str("Description")?,
            role: o.str("Role")?,
            max_concurrent_runs,
            command,
            max_retries: o.i32("MaxRetries")?,
            max_capacity: o.f64("MaxCapacity")?,
            log_uri: o.str("LogUri")?,
            job_mode: o.str("JobMode")?,
            job_run_queuing_enabled: o.bool("JobRunQueuingEnabled")?,
            default_arguments: o.str_map("DefaultArguments")?,
            non_overridable_arguments: o.str_map("NonOverridableArguments")?,
            connections,
            allocated_capacity: o.i32("AllocatedCapacity")?,
            timeout: o.i32("Timeout")?,
            security_configuration: o.str("SecurityConfiguration")?,
            tags: o.str_map("Tags")?,
            notify_delay_after,
            glue_version: o.str("GlueVersion")?,
            number_of_workers: o.i32("NumberOfWorkers")?,
            worker_type: o.str("WorkerType")?,
            execution_class: o.str("ExecutionClass")?,
            maintenance_window: o.str("MaintenanceWindow")?,
        };
        if o.has("Name") {
            return Err(
                "`create_job_kwargs.Name` cannot be given: the job's name is `job_name`".into(),
            );
        }
        o.finish()?;
        Ok(config)
    }

    /// The arguments of CreateJob (the caller sets Name). AllocatedCapacity is deprecated by
    /// AWS but still accepted, as boto3 passes it on.
    #[allow(deprecated)]
    pub(crate) fn create(&self, b: CreateJobFluentBuilder) -> CreateJobFluentBuilder {
        b.set_description(self.description.clone())
            .set_role(self.role.clone())
            .set_execution_property(self.execution_property())
            .set_command(self.command.as_ref().map(Command::sdk))
            .set_max_retries(self.max_retries)
            .set_max_capacity(self.max_capacity)
            .set_log_uri(self.log_uri.clone())
            .set_job_mode(self.job_mode.as_deref().map(JobMode::from))
            .set_job_run_queuing_enabled(self.job_run_queuing_enabled)
            .set_default_arguments(self.default_arguments.clone())
            .set_non_overridable_arguments(self.non_overridable_arguments.clone())
            .set_connections(self.connections())
            .set_allocated_capacity(self.allocated_capacity)
            .set_timeout(self.timeout)
            .set_security_configuration(self.security_configuration.clone())
            .set_tags(self.tags.clone())
            .set_notification_property(self.notification_property())
            .set_glue_version(self.glue_version.clone())
            .set_number_of_workers(self.number_of_workers)
            .set_worker_type(self.worker_type.as_deref().map(WorkerType::from))
            .set_execution_class(self.execution_class.as_deref().map(ExecutionClass::from))
            .set_maintenance_window(self.maintenance_window.clone())
    }

    /// UpdateJob's JobUpdate: the whole definition (AWS replaces it; Tags are not part of it).
    #[allow(deprecated)]
    pub(crate) fn update(&self) -> JobUpdate {
        JobUpdate::builder()
            .set_description(self.description.clone())
            .set_role(self.role.clone())
            .set_execution_property(self.execution_property())
            .set_command(self.command.as_ref().map(Command::sdk))
            .set_max_retries(self.max_retries)
            .set_max_capacity(self.max_capacity)
            .set_log_uri(self.log_uri.clone())
            .set_job_mode(self.job_mode.as_deref().map(JobMode::from))
            .set_job_run_queuing_enabled(self.job_run_queuing_enabled)
            .set_default_arguments(self.default_arguments.clone())
            .set_non_overridable_arguments(self.non_overridable_arguments.clone())
            .set_connections(self.connections())
            .set_allocated_capacity(self.allocated_capacity)
            .set_timeout(self.timeout)
            .set_security_configuration(self.security_configuration.clone())
            .set_notification_property(self.notification_property())
            .set_glue_version(self.glue_version.clone())
            .set_number_of_workers(self.number_of_workers)
            .set_worker_type(self.worker_type.as_deref().map(WorkerType::from))
            .set_execution_class(self.execution_class.as_deref().map(ExecutionClass::from))
            .set_maintenance_window(self.maintenance_window.clone())
            .build()
    }

    fn execution_property(&self) -> Option<ExecutionProperty> {
        self.max_concurrent_runs
            .map(|n| ExecutionProperty::builder().max_concurrent_runs(n).build())
    }

    fn connections(&self) -> Option<ConnectionsList> {
        self.connections
            .clone()
            .map(|c| ConnectionsList::builder().set_connections(Some(c)).build())
    }

    fn notification_property(&self) -> Option<NotificationProperty> {
        self.notify_delay_after.map(|d| {
            NotificationProperty::builder()
                .notify_delay_after(d)
                .build()
        })
    }
}

/// `run_job_kwargs`: boto3's StartJobRun arguments other than JobName and Arguments.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct RunConfig {
    pub job_run_id: Option<String>,
    pub job_run_queuing_enabled: Option<bool>,
    pub allocated_capacity: Option<i32>,
    pub timeout: Option<i32>,
    pub max_capacity: Option<f64>,
    pub security_configuration: Option<String>,
    pub notify_delay_after: Option<i32>,
    pub worker_type: Option<String>,
    pub number_of_workers: Option<i32>,
    pub execution_class: Option<String>,
    pub execution_role_session_policy: Option<String>,
}

impl RunConfig {
    /// Reads `run_job_kwargs`.
    pub(crate) fn read(kwargs: Option<&Value>, rendered: bool) -> Result<RunConfig, String> {
        let Some(kwargs) = kwargs else {
            return Ok(RunConfig::default());
        };
        let mut o = Obj::new("run_job_kwargs", kwargs, rendered)?;
        for taken in ["JobName", "Arguments"] {
            if o.has(taken) {
                return Err(format!(
                    "`run_job_kwargs.{taken}` cannot be given: the operator sets it (from \
                     `job_name` and `script_args`)"
                ));
            }
        }
        let notify_delay_after = o
            .nested("NotificationProperty", |n| n.i32("NotifyDelayAfter"))?
            .flatten();
        let config = RunConfig {
            job_run_id: o.str("JobRunId")?,
            job_run_queuing_enabled: o.bool("JobRunQueuingEnabled")?,
            allocated_capacity: o.i32("AllocatedCapacity")?,
            timeout: o.i32("Timeout")?,
            max_capacity: o.f64("MaxCapacity")?,
            security_configuration: o.str("SecurityConfiguration")?,
            notify_delay_after,
            worker_type: o.str("WorkerType")?,
            number_of_workers: o.i32("NumberOfWorkers")?,
            execution_class: o.str("ExecutionClass")?,
            execution_role_session_policy: o.str("ExecutionRoleSessionPolicy")?,
        };
        o.finish()?;
        Ok(config)
    }

    /// Adds these settings to a StartJobRun call.
    #[allow(deprecated)]
    pub(crate) fn apply(&self, b: StartJobRunFluentBuilder) -> StartJobRunFluentBuilder {
        b.set_job_run_id(self.job_run_id.clone())
            .set_job_run_queuing_enabled(self.job_run_queuing_enabled)
            .set_allocated_capacity(self.allocated_capacity)
            .set_timeout(self.timeout)
            .set_max_capacity(self.max_capacity)
            .set_security_configuration(self.security_configuration.clone())
            .set_notification_property(self.notify_delay_after.map(|d| {
                NotificationProperty::builder()
                    .notify_delay_after(d)
                    .build()
            }))
            .set_worker_type(self.worker_type.as_deref().map(WorkerType::from))
            .set_number_of_workers(self.number_of_workers)
            .set_execution_class(self.execution_class.as_deref().map(ExecutionClass::from))
            .set_execution_role_session_policy(self.execution_role_session_policy.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_job_kwargs_of_the_corpus_are_read() {
        let v = json!({
            "GlueVersion": "5.0",
            "Command": {"Name": "glueetl", "ScriptLocation": "s3://b/k.py", "PythonVersion": "3"},
            "DefaultArguments": {"--job-language": "python", "--enable-metrics": ""},
            "MaxRetries": 0,
            "Timeout": 60,
            "NumberOfWorkers": 2,
            "WorkerType": "G.1X"
        });
        let c = JobConfig::read(Some(&v), true).unwrap();
        assert_eq!(c.glue_version.as_deref(), Some("5.0"));
        assert_eq!(
            c.command.as_ref().and_then(|c| c.python_version.as_deref()),
            Some("3")
        );
        assert_eq!(c.timeout, Some(60));
        assert_eq!(c.worker_type.as_deref(), Some("G.1X"));
        let u = c.update();
        assert_eq!(u.timeout(), Some(60));
        assert_eq!(u.worker_type().map(|w| w.as_str()), Some("G.1X"));
    }

    #[test]
    fn unknown_and_reserved_keys_are_refused() {
        let e = JobConfig::read(Some(&json!({"Timeoutt": 5})), true).unwrap_err();
        assert!(e.contains("create_job_kwargs.Timeoutt"), "{e}");
        let e = JobConfig::read(Some(&json!({"Name": "x"})), true).unwrap_err();
        assert!(e.contains("job_name"), "{e}");
        let e = RunConfig::read(Some(&json!({"Arguments": {}})), true).unwrap_err();
        assert!(e.contains("script_args"), "{e}");
        let r = RunConfig::read(Some(&json!({"Timeout": 30, "WorkerType": "G.2X"})), true).unwrap();
        assert_eq!(r.timeout, Some(30));
    }
}
