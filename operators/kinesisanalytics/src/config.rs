//! boto3-style `create_application_kwargs` and `run_configuration` read into the SDK's types
//! with the shared kwargs reader: every key checked, an unknown one refused with its path and
//! the keys accepted. The settings airtask reads are listed in docs/operators/kinesisanalytics.md.

use airtask_core::kwargs::Obj;
use aws_sdk_kinesisanalyticsv2::types::{
    ApplicationCodeConfiguration, ApplicationConfiguration, ApplicationMode,
    ApplicationRestoreConfiguration, ApplicationRestoreType, ApplicationSnapshotConfiguration,
    CheckpointConfiguration, CloudWatchLoggingOption, CodeContent, CodeContentType,
    ConfigurationType, EnvironmentProperties, FlinkApplicationConfiguration, FlinkRunConfiguration,
    LogLevel, MetricsLevel, MonitoringConfiguration, ParallelismConfiguration, PropertyGroup,
    RunConfiguration, S3ContentLocation, Tag,
};
use serde_json::Value;

/// What `create_application_kwargs` adds to CreateApplication.
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateKwargs {
    pub(crate) application_configuration: Option<ApplicationConfiguration>,
    pub(crate) cloud_watch_logging_options: Option<Vec<CloudWatchLoggingOption>>,
    pub(crate) tags: Option<Vec<Tag>>,
    pub(crate) application_mode: Option<ApplicationMode>,
}

fn built<T, E: std::fmt::Display>(path: &str, r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| format!("`{path}`: {e}"))
}

fn configuration_type(o: &mut Obj<'_>) -> Result<Option<ConfigurationType>, String> {
    Ok(o.str("ConfigurationType")?
        .map(|s| ConfigurationType::from(s.as_str())))
}

fn code_content(o: &mut Obj<'_>) -> Result<CodeContent, String> {
    let mut b = CodeContent::builder().set_text_content(o.str("TextContent")?);
    if let Some(loc) = o.nested("S3ContentLocation", |s| {
        built(
            "S3ContentLocation",
            S3ContentLocation::builder()
                .set_bucket_arn(s.str("BucketARN")?)
                .set_file_key(s.str("FileKey")?)
                .set_object_version(s.str("ObjectVersion")?)
                .build(),
        )
    })? {
        b = b.s3_content_location(loc);
    }
    Ok(b.build())
}

fn flink(o: &mut Obj<'_>) -> Result<FlinkApplicationConfiguration, String> {
    let checkpoint = o.nested("CheckpointConfiguration", |c| {
        built(
            "CheckpointConfiguration",
            CheckpointConfiguration::builder()
                .set_configuration_type(configuration_type(c)?)
                .set_checkpointing_enabled(c.bool("CheckpointingEnabled")?)
                .set_checkpoint_interval(c.i32("CheckpointInterval")?.map(i64::from))
                .set_min_pause_between_checkpoints(
                    c.i32("MinPauseBetweenCheckpoints")?.map(i64::from),
                )
                .build(),
        )
    })?;
    let monitoring = o.nested("MonitoringConfiguration", |m| {
        built(
            "MonitoringConfiguration",
            MonitoringConfiguration::builder()
                .set_configuration_type(configuration_type(m)?)
                .set_metrics_level(
                    m.str("MetricsLevel")?
                        .map(|s| MetricsLevel::from(s.as_str())),
                )
                .set_log_level(m.str("LogLevel")?.map(|s| LogLevel::from(s.as_str())))
                .build(),
        )
    })?;
    let parallelism = o.nested("ParallelismConfiguration", |p| {
        built(
            "ParallelismConfiguration",
            ParallelismConfiguration::builder()
                .set_configuration_type(configuration_type(p)?)
                .set_parallelism(p.i32("Parallelism")?)
                .set_parallelism_per_kpu(p.i32("ParallelismPerKPU")?)
                .set_auto_scaling_enabled(p.bool("AutoScalingEnabled")?)
                .build(),
        )
    })?;
    Ok(FlinkApplicationConfiguration::builder()
        .set_checkpoint_configuration(checkpoint)
        .set_monitoring_configuration(monitoring)
        .set_parallelism_configuration(parallelism)
        .build())
}

fn environment(o: &mut Obj<'_>) -> Result<EnvironmentProperties, String> {
    let mut groups = Vec::new();
    for mut g in o.objs("PropertyGroups")?.unwrap_or_default() {
        let group = PropertyGroup::builder()
            .set_property_group_id(g.str("PropertyGroupId")?)
            .set_property_map(g.str_map("PropertyMap")?);
        g.finish()?;
        groups.push(built("PropertyGroups", group.build())?);
    }
    built(
        "EnvironmentProperties",
        EnvironmentProperties::builder()
            .set_property_groups(Some(groups))
            .build(),
    )
}

fn application_configuration(o: &mut Obj<'_>) -> Result<ApplicationConfiguration, String> {
    let code = o.nested("ApplicationCodeConfiguration", |c| {
        let content = c.nested("CodeContent", code_content)?;
        built(
            "ApplicationCodeConfiguration",
            ApplicationCodeConfiguration::builder()
                .set_code_content(content)
                .set_code_content_type(
                    c.str("CodeContentType")?
                        .map(|s| CodeContentType::from(s.as_str())),
                )
                .build(),
        )
    })?;
    let flink = o.nested("FlinkApplicationConfiguration", flink)?;
    let env = o.nested("EnvironmentProperties", environment)?;
    let snapshots = o.nested("ApplicationSnapshotConfiguration", |s| {
        built(
            "ApplicationSnapshotConfiguration",
            ApplicationSnapshotConfiguration::builder()
                .set_snapshots_enabled(s.bool("SnapshotsEnabled")?)
                .build(),
        )
    })?;
    Ok(ApplicationConfiguration::builder()
        .set_application_code_configuration(code)
        .set_flink_application_configuration(flink)
        .set_environment_properties(env)
        .set_application_snapshot_configuration(snapshots)
        .build())
}

impl CreateKwargs {
    /// Reads `create_application_kwargs` (absent: nothing added).
    ///
    /// # Errors
    /// An unknown key, a value of the wrong type, or a missing required setting, with its path.
    pub(crate) fn read(v: Option<&Value>, rendered: bool) -> Result<CreateKwargs, String> {
        let Some(v) = v else {
            return Ok(CreateKwargs::default());
        };
        let mut o = Obj::new("create_application_kwargs", v, rendered)?;
        let application_configuration =
            o.nested("ApplicationConfiguration", application_configuration)?;
        let cloud_watch_logging_options = match o.objs("CloudWatchLoggingOptions")? {
            None => None,
            Some(list) => Some(
                list.into_iter()
                    .map(|mut l| {
                        let opt = CloudWatchLoggingOption::builder()
                            .set_log_stream_arn(l.str("LogStreamARN")?)
                            .build();
                        l.finish()?;
                        built("CloudWatchLoggingOptions", opt)
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        let tags = match o.objs("Tags")? {
            None => None,
            Some(list) => Some(
                list.into_iter()
                    .map(|mut t| {
                        let tag = Tag::builder()
                            .set_key(t.str("Key")?)
                            .set_value(t.str("Value")?)
                            .build();
                        t.finish()?;
                        built("Tags", tag)
                    })
                    .collect::<Result<Vec<_>, String>>()?,
            ),
        };
        let application_mode = o
            .str("ApplicationMode")?
            .map(|s| ApplicationMode::from(s.as_str()));
        o.finish()?;
        Ok(CreateKwargs {
            application_configuration,
            cloud_watch_logging_options,
            tags,
            application_mode,
        })
    }
}

/// Reads `run_configuration` (absent: an empty RunConfiguration, as the provider sends `{}`).
///
/// # Errors
/// An unknown key or a value of the wrong type, with its path.
pub(crate) fn run_configuration(
    v: Option<&Value>,
    rendered: bool,
) -> Result<RunConfiguration, String> {
    let Some(v) = v else {
        return Ok(RunConfiguration::builder().build());
    };
    let mut o = Obj::new("run_configuration", v, rendered)?;
    let flink = o.nested("FlinkRunConfiguration", |f| {
        Ok(FlinkRunConfiguration::builder()
            .set_allow_non_restored_state(f.bool("AllowNonRestoredState")?)
            .build())
    })?;
    let restore = o.nested("ApplicationRestoreConfiguration", |r| {
        built(
            "ApplicationRestoreConfiguration",
            ApplicationRestoreConfiguration::builder()
                .set_application_restore_type(
                    r.str("ApplicationRestoreType")?
                        .map(|s| ApplicationRestoreType::from(s.as_str())),
                )
                .set_snapshot_name(r.str("SnapshotName")?)
                .build(),
        )
    })?;
    o.finish()?;
    Ok(RunConfiguration::builder()
        .set_flink_run_configuration(flink)
        .set_application_restore_configuration(restore)
        .build())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn create_kwargs_read_the_flink_settings() {
        let v = json!({
            "ApplicationConfiguration": {
                "ApplicationCodeConfiguration": {
                    "CodeContent": {"S3ContentLocation": {
                        "BucketARN": "arn:aws:s3:::b", "FileKey": "app.jar"}},
                    "CodeContentType": "ZIPFILE",
                },
                "EnvironmentProperties": {"PropertyGroups": [
                    {"PropertyGroupId": "g", "PropertyMap": {"k": "v"}}]},
                "FlinkApplicationConfiguration": {"ParallelismConfiguration": {
                    "ConfigurationType": "CUSTOM", "Parallelism": 2}},
            },
            "Tags": [{"Key": "team", "Value": "data"}],
            "ApplicationMode": "STREAMING",
        });
        let k = CreateKwargs::read(Some(&v), true).unwrap();
        let conf = k.application_configuration.unwrap();
        let loc = conf
            .application_code_configuration()
            .and_then(|c| c.code_content())
            .and_then(|c| c.s3_content_location())
            .unwrap();
        assert_eq!(loc.file_key(), "app.jar");
        assert_eq!(k.tags.unwrap()[0].key(), "team");
        assert_eq!(k.application_mode, Some(ApplicationMode::Streaming));
    }

    #[test]
    fn unknown_and_ill_typed_keys_are_refused_with_their_path() {
        let e = CreateKwargs::read(Some(&json!({"Tagz": []})), true).unwrap_err();
        assert!(e.contains("`create_application_kwargs.Tagz`"), "{e}");
        let e = CreateKwargs::read(
            Some(&json!({"ApplicationConfiguration": {"VpcConfigurations": []}})),
            true,
        )
        .unwrap_err();
        assert!(e.contains("VpcConfigurations"), "{e}");
        let e = run_configuration(
            Some(&json!({"FlinkRunConfiguration": {"AllowNonRestoredState": "yes"}})),
            true,
        )
        .unwrap_err();
        assert!(e.contains("true or false"), "{e}");
        let r = run_configuration(
            Some(&json!({"ApplicationRestoreConfiguration": {
                "ApplicationRestoreType": "SKIP_RESTORE_FROM_SNAPSHOT"}})),
            true,
        )
        .unwrap();
        assert!(r.application_restore_configuration().is_some());
    }
}
