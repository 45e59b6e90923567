//! The boto3 keyword arguments the EMR Serverless operators pass: `config` (more arguments of
//! CreateApplication or StartJobRun), `job_driver` and `configuration_overrides`, read into the
//! SDK's types with every key checked, so `validate` catches a typo (or a key airtask does not
//! pass) before AWS does.

use airtask_core::kwargs::Obj;
use aws_sdk_emrserverless::operation::create_application::builders::CreateApplicationInputBuilder;
use aws_sdk_emrserverless::operation::start_job_run::builders::StartJobRunInputBuilder;
use aws_sdk_emrserverless::types::{
    Architecture, AutoStartConfig, AutoStopConfig, CloudWatchLoggingConfiguration, Configuration,
    ConfigurationOverrides, Hive, ImageConfigurationInput, InitialCapacityConfig, JobDriver,
    JobRunMode, ManagedPersistenceMonitoringConfiguration, MaximumAllowedResources,
    MonitoringConfiguration, NetworkConfiguration, RetryPolicy, S3MonitoringConfiguration,
    SparkSubmit, WorkerResourceConfig,
};
use serde_json::Value;

fn built<T, E: std::fmt::Display>(r: Result<T, E>, path: &str) -> Result<T, String> {
    r.map_err(|e| format!("`{path}`: {e}"))
}

/// `job_driver`: sparkSubmit or hive (exactly one).
pub(crate) fn job_driver(v: &Value, rendered: bool) -> Result<JobDriver, String> {
    let mut o = Obj::new("job_driver", v, rendered)?;
    // The builders are built after the keys are checked: an unknown key is the first error.
    let spark = o.nested("sparkSubmit", |s| {
        Ok(SparkSubmit::builder()
            .set_entry_point(s.str("entryPoint")?)
            .set_entry_point_arguments(s.str_list("entryPointArguments")?)
            .set_spark_submit_parameters(s.str("sparkSubmitParameters")?))
    })?;
    let hive = o.nested("hive", |h| {
        Ok(Hive::builder()
            .set_query(h.str("query")?)
            .set_init_query_file(h.str("initQueryFile")?)
            .set_parameters(h.str("parameters")?))
    })?;
    o.finish()?;
    let spark = spark
        .map(|b| built(b.build(), "job_driver.sparkSubmit"))
        .transpose()?;
    let hive = hive
        .map(|b| built(b.build(), "job_driver.hive"))
        .transpose()?;
    match (spark, hive) {
        (Some(s), None) => Ok(JobDriver::SparkSubmit(s)),
        (None, Some(h)) => Ok(JobDriver::Hive(h)),
        _ => Err("`job_driver` must hold exactly one of sparkSubmit and hive".to_owned()),
    }
}

fn configurations(
    o: &mut Obj<'_>,
    key: &'static str,
) -> Result<Option<Vec<Configuration>>, String> {
    let Some(items) = o.objs(key)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .map(|mut c| {
            let conf = Configuration::builder()
                .set_classification(c.str("classification")?)
                .set_properties(c.str_map("properties")?)
                .set_configurations(configurations(&mut c, "configurations")?);
            c.finish()?;
            built(conf.build(), key)
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

fn monitoring(m: &mut Obj<'_>) -> Result<MonitoringConfiguration, String> {
    let s3 = m.nested("s3MonitoringConfiguration", |s| {
        Ok(S3MonitoringConfiguration::builder()
            .set_log_uri(s.str("logUri")?)
            .set_encryption_key_arn(s.str("encryptionKeyArn")?)
            .build())
    })?;
    let managed = m.nested("managedPersistenceMonitoringConfiguration", |s| {
        Ok(ManagedPersistenceMonitoringConfiguration::builder()
            .set_enabled(s.bool("enabled")?)
            .set_encryption_key_arn(s.str("encryptionKeyArn")?)
            .build())
    })?;
    let cw = m.nested("cloudWatchLoggingConfiguration", |c| {
        let log_types = match c.obj("logTypes")? {
            None => None,
            Some(mut t) => {
                let keys: Vec<String> =
                    ["SPARK_DRIVER", "SPARK_EXECUTOR", "HIVE_DRIVER", "TEZ_TASK"]
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                let mut map = std::collections::HashMap::new();
                for k in ["SPARK_DRIVER", "SPARK_EXECUTOR", "HIVE_DRIVER", "TEZ_TASK"] {
                    if let Some(v) = t.str_list(k)? {
                        map.insert(k.to_owned(), v);
                    }
                }
                t.finish()
                    .map_err(|e| format!("{e} (log types: {})", keys.join(", ")))?;
                Some(map)
            }
        };
        built(
            CloudWatchLoggingConfiguration::builder()
                .set_enabled(c.bool("enabled")?)
                .set_log_group_name(c.str("logGroupName")?)
                .set_log_stream_name_prefix(c.str("logStreamNamePrefix")?)
                .set_encryption_key_arn(c.str("encryptionKeyArn")?)
                .set_log_types(log_types)
                .build(),
            "monitoringConfiguration.cloudWatchLoggingConfiguration",
        )
    })?;
    Ok(MonitoringConfiguration::builder()
        .set_s3_monitoring_configuration(s3)
        .set_managed_persistence_monitoring_configuration(managed)
        .set_cloud_watch_logging_configuration(cw)
        .build())
}

/// `configuration_overrides`: applicationConfiguration and monitoringConfiguration.
pub(crate) fn configuration_overrides(
    v: &Value,
    rendered: bool,
) -> Result<ConfigurationOverrides, String> {
    let mut o = Obj::new("configuration_overrides", v, rendered)?;
    let app = configurations(&mut o, "applicationConfiguration")?;
    let m = o.nested("monitoringConfiguration", monitoring)?;
    o.finish()?;
    Ok(ConfigurationOverrides::builder()
        .set_application_configuration(app)
        .set_monitoring_configuration(m)
        .build())
}

fn tags(o: &mut Obj<'_>) -> Result<Option<std::collections::HashMap<String, String>>, String> {
    o.str_map("tags")
}

/// `config` of EmrServerlessCreateApplicationOperator: CreateApplication's other arguments.
pub(crate) fn create_config(
    v: &Value,
    rendered: bool,
    mut b: CreateApplicationInputBuilder,
) -> Result<CreateApplicationInputBuilder, String> {
    let mut o = Obj::new("config", v, rendered)?;
    b = b.set_name(o.str("name")?).set_tags(tags(&mut o)?);
    if o.obj("initialCapacity")?.is_some()
        && let Some(Value::Object(caps)) = v.get("initialCapacity")
    {
        let mut map = std::collections::HashMap::new();
        for (name, cap) in caps {
            let path = format!("config.initialCapacity.{name}");
            let mut c = Obj::new(path.clone(), cap, rendered)?;
            let worker = c.nested("workerConfiguration", |w| {
                built(
                    WorkerResourceConfig::builder()
                        .set_cpu(w.str("cpu")?)
                        .set_memory(w.str("memory")?)
                        .set_disk(w.str("disk")?)
                        .set_disk_type(w.str("diskType")?)
                        .build(),
                    &format!("{path}.workerConfiguration"),
                )
            })?;
            let count = c.f64("workerCount")?.map(|n| n as i64);
            c.finish()?;
            let cap = built(
                InitialCapacityConfig::builder()
                    .set_worker_count(count)
                    .set_worker_configuration(worker)
                    .build(),
                &path,
            )?;
            map.insert(name.clone(), cap);
        }
        b = b.set_initial_capacity(Some(map));
    }
    b = b.set_maximum_capacity(o.nested("maximumCapacity", |m| {
        built(
            MaximumAllowedResources::builder()
                .set_cpu(m.str("cpu")?)
                .set_memory(m.str("memory")?)
                .set_disk(m.str("disk")?)
                .build(),
            "config.maximumCapacity",
        )
    })?);
    b = b.set_auto_start_configuration(o.nested("autoStartConfiguration", |a| {
        Ok(AutoStartConfig::builder()
            .set_enabled(a.bool("enabled")?)
            .build())
    })?);
    b = b.set_auto_stop_configuration(o.nested("autoStopConfiguration", |a| {
        Ok(AutoStopConfig::builder()
            .set_enabled(a.bool("enabled")?)
            .set_idle_timeout_minutes(a.i32("idleTimeoutMinutes")?)
            .build())
    })?);
    b = b.set_network_configuration(o.nested("networkConfiguration", |n| {
        Ok(NetworkConfiguration::builder()
            .set_subnet_ids(n.str_list("subnetIds")?)
            .set_security_group_ids(n.str_list("securityGroupIds")?)
            .build())
    })?);
    b = b.set_architecture(match o.str("architecture")? {
        None => None,
        Some(a) if Architecture::values().contains(&a.as_str()) => {
            Some(Architecture::from(a.as_str()))
        }
        Some(a) => {
            return Err(format!(
                "`config.architecture` is '{a}'; it must be one of {}",
                Architecture::values().join(", ")
            ));
        }
    });
    b = b.set_image_configuration(o.nested("imageConfiguration", |i| {
        Ok(ImageConfigurationInput::builder()
            .set_image_uri(i.str("imageUri")?)
            .build())
    })?);
    b = b.set_runtime_configuration(configurations(&mut o, "runtimeConfiguration")?);
    b = b.set_monitoring_configuration(o.nested("monitoringConfiguration", monitoring)?);
    o.finish()?;
    Ok(b)
}

/// `config` of EmrServerlessStartJobOperator: StartJobRun's other arguments. Returns the
/// request and the `name` in it (the provider pops it).
pub(crate) fn start_config(
    v: &Value,
    rendered: bool,
    mut b: StartJobRunInputBuilder,
) -> Result<(StartJobRunInputBuilder, Option<String>), String> {
    let mut o = Obj::new("config", v, rendered)?;
    let name = o.str("name")?;
    b = b
        .set_tags(tags(&mut o)?)
        .set_execution_timeout_minutes(o.f64("executionTimeoutMinutes")?.map(|n| n as i64));
    b = b.set_mode(match o.str("mode")? {
        None => None,
        Some(m) if JobRunMode::values().contains(&m.as_str()) => Some(JobRunMode::from(m.as_str())),
        Some(m) => {
            return Err(format!(
                "`config.mode` is '{m}'; it must be one of {}",
                JobRunMode::values().join(", ")
            ));
        }
    });
    b = b.set_retry_policy(o.nested("retryPolicy", |r| {
        Ok(RetryPolicy::builder()
            .set_max_attempts(r.i32("maxAttempts")?)
            .set_max_failed_attempts_per_hour(r.i32("maxFailedAttemptsPerHour")?)
            .build())
    })?);
    o.finish()?;
    Ok((b, name))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn drivers_overrides_and_configs_are_read() {
        let d = job_driver(
            &json!({"sparkSubmit": {"entryPoint": "s3://b/x.py", "entryPointArguments": ["a"],
                "sparkSubmitParameters": "--conf x=y"}}),
            true,
        )
        .unwrap();
        assert!(d.is_spark_submit());
        assert!(job_driver(&json!({}), true).is_err());
        let e = job_driver(&json!({"sparkSubmit": {"entrypoint": "x"}}), true).unwrap_err();
        assert!(
            e.starts_with("`job_driver.sparkSubmit.entrypoint` is not a setting"),
            "{e}"
        );
        let c = configuration_overrides(
            &json!({"monitoringConfiguration": {"s3MonitoringConfiguration": {"logUri": "s3://b/l"}},
                "applicationConfiguration": [{"classification": "spark-defaults",
                    "properties": {"spark.x": "1"}}]}),
            true,
        )
        .unwrap();
        assert_eq!(c.application_configuration().len(), 1);
        let b = create_config(
            &json!({"name": "app", "initialCapacity": {"DRIVER": {"workerCount": 1,
                "workerConfiguration": {"cpu": "2vCPU", "memory": "4GB"}}},
                "maximumCapacity": {"cpu": "8vCPU", "memory": "16GB"},
                "autoStopConfiguration": {"enabled": true, "idleTimeoutMinutes": 15}}),
            true,
            CreateApplicationInputBuilder::default(),
        )
        .unwrap();
        assert_eq!(b.get_name().as_deref(), Some("app"));
        assert_eq!(b.get_initial_capacity().as_ref().map(|m| m.len()), Some(1));
        let e = create_config(
            &json!({"nmae": "x"}),
            true,
            CreateApplicationInputBuilder::default(),
        )
        .unwrap_err();
        assert!(e.starts_with("`config.nmae` is not a setting"), "{e}");
        let (_, name) = start_config(
            &json!({"name": "n", "mode": "BATCH"}),
            true,
            StartJobRunInputBuilder::default(),
        )
        .unwrap();
        assert_eq!(name.as_deref(), Some("n"));
    }
}
