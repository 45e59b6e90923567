//! The `*_kwargs` mappings DataSyncOperator passes on to boto3 (`create_task_kwargs`,
//! `update_task_kwargs`, `task_execution_kwargs` and the two `create_*_location_kwargs`), read
//! into the SDK's request pieces: only the keys the boto3 call takes, each of its type, as
//! boto3's parameter validation refuses anything else.

use airtask_core::kwargs::Obj;
use aws_sdk_datasync::types::{
    Atime, Ec2Config, EfsInTransitEncryption, FilterRule, FilterType, Gid, LogLevel, Mtime,
    NfsMountOptions, NfsVersion, ObjectTags, OnPremConfig, Options, OverwriteMode,
    PosixPermissions, PreserveDeletedFiles, PreserveDevices, S3Config, S3StorageClass,
    ScheduleStatus, SmbMountOptions, SmbSecurityDescriptorCopyFlags, SmbVersion, TagListEntry,
    TaskMode, TaskQueueing, TaskSchedule, TransferMode, Uid, VerifyMode,
};
use serde_json::Value;

/// Reads the mapping `v` of the parameter `param` with `read`, then refuses the keys `read` did
/// not take. `rendered` is false for `airtask validate`.
fn read_mapping<T>(
    param: &'static str,
    v: &Value,
    rendered: bool,
    read: impl FnOnce(&mut Obj<'_>) -> Result<T, String>,
) -> Result<T, String> {
    let mut o = Obj::new(param, v, rendered)?;
    let value = read(&mut o)?;
    o.finish()?;
    Ok(value)
}

/// An SDK builder's error (a required member left unset) as a message.
fn built<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

/// `Tags`: `[{Key, Value}]`.
fn tags(o: &mut Obj<'_>) -> Result<Option<Vec<TagListEntry>>, String> {
    o.each("Tags", |t| {
        built(
            TagListEntry::builder()
                .key(t.required_str("Key")?)
                .set_value(t.str("Value")?)
                .build(),
        )
    })
}

/// A filter list (`Includes`, `Excludes`): `[{FilterType, Value}]`.
fn filters(o: &mut Obj<'_>, key: &'static str) -> Result<Option<Vec<FilterRule>>, String> {
    o.each(key, |f| {
        Ok(FilterRule::builder()
            .set_filter_type(f.str_into::<FilterType>("FilterType")?)
            .set_value(f.str("Value")?)
            .build())
    })
}

/// `Schedule`: `{ScheduleExpression, Status}`.
fn schedule(o: &mut Obj<'_>) -> Result<Option<TaskSchedule>, String> {
    o.nested("Schedule", |s| {
        built(
            TaskSchedule::builder()
                .schedule_expression(s.required_str("ScheduleExpression")?)
                .set_status(s.str_into::<ScheduleStatus>("Status")?)
                .build(),
        )
    })
}

/// An `Options` mapping under `key` (`Options`, `OverrideOptions`).
fn options(o: &mut Obj<'_>, key: &'static str) -> Result<Option<Options>, String> {
    o.nested(key, |o| {
        Ok(Options::builder()
            .set_verify_mode(o.str_into::<VerifyMode>("VerifyMode")?)
            .set_overwrite_mode(o.str_into::<OverwriteMode>("OverwriteMode")?)
            .set_atime(o.str_into::<Atime>("Atime")?)
            .set_mtime(o.str_into::<Mtime>("Mtime")?)
            .set_uid(o.str_into::<Uid>("Uid")?)
            .set_gid(o.str_into::<Gid>("Gid")?)
            .set_preserve_deleted_files(o.str_into::<PreserveDeletedFiles>("PreserveDeletedFiles")?)
            .set_preserve_devices(o.str_into::<PreserveDevices>("PreserveDevices")?)
            .set_posix_permissions(o.str_into::<PosixPermissions>("PosixPermissions")?)
            .set_bytes_per_second(o.i64("BytesPerSecond")?)
            .set_task_queueing(o.str_into::<TaskQueueing>("TaskQueueing")?)
            .set_log_level(o.str_into::<LogLevel>("LogLevel")?)
            .set_transfer_mode(o.str_into::<TransferMode>("TransferMode")?)
            .set_security_descriptor_copy_flags(
                o.str_into::<SmbSecurityDescriptorCopyFlags>("SecurityDescriptorCopyFlags")?,
            )
            .set_object_tags(o.str_into::<ObjectTags>("ObjectTags")?)
            .build())
    })
}

/// CreateTask's keys besides the two locations (`create_task_kwargs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct CreateTask {
    pub(crate) name: Option<String>,
    pub(crate) cloud_watch_log_group_arn: Option<String>,
    pub(crate) options: Option<Options>,
    pub(crate) excludes: Option<Vec<FilterRule>>,
    pub(crate) includes: Option<Vec<FilterRule>>,
    pub(crate) schedule: Option<TaskSchedule>,
    pub(crate) tags: Option<Vec<TagListEntry>>,
    pub(crate) task_mode: Option<TaskMode>,
}

impl CreateTask {
    /// Reads `create_task_kwargs`.
    pub(crate) fn read(v: &Value, rendered: bool) -> Result<CreateTask, String> {
        read_mapping("create_task_kwargs", v, rendered, |o| {
            Ok(CreateTask {
                name: o.str("Name")?,
                cloud_watch_log_group_arn: o.str("CloudWatchLogGroupArn")?,
                options: options(o, "Options")?,
                excludes: filters(o, "Excludes")?,
                includes: filters(o, "Includes")?,
                schedule: schedule(o)?,
                tags: tags(o)?,
                task_mode: o.str_into::<TaskMode>("TaskMode")?,
            })
        })
    }
}

/// UpdateTask's keys besides TaskArn (`update_task_kwargs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct UpdateTask {
    pub(crate) name: Option<String>,
    pub(crate) cloud_watch_log_group_arn: Option<String>,
    pub(crate) options: Option<Options>,
    pub(crate) excludes: Option<Vec<FilterRule>>,
    pub(crate) includes: Option<Vec<FilterRule>>,
    pub(crate) schedule: Option<TaskSchedule>,
}

impl UpdateTask {
    /// Reads `update_task_kwargs`.
    pub(crate) fn read(v: &Value, rendered: bool) -> Result<UpdateTask, String> {
        read_mapping("update_task_kwargs", v, rendered, |o| {
            Ok(UpdateTask {
                name: o.str("Name")?,
                cloud_watch_log_group_arn: o.str("CloudWatchLogGroupArn")?,
                options: options(o, "Options")?,
                excludes: filters(o, "Excludes")?,
                includes: filters(o, "Includes")?,
                schedule: schedule(o)?,
            })
        })
    }
}

/// StartTaskExecution's keys besides TaskArn (`task_execution_kwargs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct StartExecution {
    pub(crate) override_options: Option<Options>,
    pub(crate) includes: Option<Vec<FilterRule>>,
    pub(crate) excludes: Option<Vec<FilterRule>>,
    pub(crate) tags: Option<Vec<TagListEntry>>,
}

impl StartExecution {
    /// Reads `task_execution_kwargs`.
    pub(crate) fn read(v: &Value, rendered: bool) -> Result<StartExecution, String> {
        read_mapping("task_execution_kwargs", v, rendered, |o| {
            Ok(StartExecution {
                override_options: options(o, "OverrideOptions")?,
                includes: filters(o, "Includes")?,
                excludes: filters(o, "Excludes")?,
                tags: tags(o)?,
            })
        })
    }
}

/// A CreateLocation* request, by the location URI's scheme.
#[derive(Debug, Clone)]
pub(crate) enum CreateLocation {
    /// CreateLocationS3.
    S3 {
        s3_bucket_arn: Option<String>,
        subdirectory: Option<String>,
        s3_storage_class: Option<S3StorageClass>,
        s3_config: Option<S3Config>,
        agent_arns: Option<Vec<String>>,
        tags: Option<Vec<TagListEntry>>,
    },
    /// CreateLocationSmb.
    Smb {
        subdirectory: Option<String>,
        server_hostname: Option<String>,
        user: Option<String>,
        domain: Option<String>,
        password: Option<String>,
        agent_arns: Option<Vec<String>>,
        mount_options: Option<SmbMountOptions>,
        tags: Option<Vec<TagListEntry>>,
    },
    /// CreateLocationNfs.
    Nfs {
        subdirectory: Option<String>,
        server_hostname: Option<String>,
        on_prem_config: Option<OnPremConfig>,
        mount_options: Option<NfsMountOptions>,
        tags: Option<Vec<TagListEntry>>,
    },
    /// CreateLocationEfs.
    Efs {
        subdirectory: Option<String>,
        efs_filesystem_arn: Option<String>,
        ec2_config: Option<Ec2Config>,
        tags: Option<Vec<TagListEntry>>,
        access_point_arn: Option<String>,
        file_system_access_role_arn: Option<String>,
        in_transit_encryption: Option<EfsInTransitEncryption>,
    },
    /// A scheme the provider cannot create a location for (it fails when it tries).
    Unsupported(String),
}

/// The scheme of a location URI (`s3` of `s3://bucket/dir`), as `urlsplit` reads it.
pub(crate) fn scheme(uri: &str) -> String {
    match uri.split_once(':') {
        Some((s, _))
            if !s.is_empty()
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            s.to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// How one kind of location's kwargs are read.
type LocationReader = fn(&mut Obj<'_>) -> Result<CreateLocation, String>;

impl CreateLocation {
    /// Reads `param` (a `create_*_location_kwargs`) for a location of `uri`.
    pub(crate) fn read(
        param: &'static str,
        uri: &str,
        v: &Value,
        rendered: bool,
    ) -> Result<CreateLocation, String> {
        let read: LocationReader = match scheme(uri).as_str() {
            "s3" => CreateLocation::s3,
            "smb" => CreateLocation::smb,
            "nfs" => CreateLocation::nfs,
            "efs" => CreateLocation::efs,
            // The provider fails when it tries to create such a location (see the operator);
            // its keys are not read.
            other => return Ok(CreateLocation::Unsupported(other.to_owned())),
        };
        read_mapping(param, v, rendered, read)
    }

    fn s3(o: &mut Obj<'_>) -> Result<CreateLocation, String> {
        Ok(CreateLocation::S3 {
            s3_bucket_arn: o.str("S3BucketArn")?,
            subdirectory: o.str("Subdirectory")?,
            s3_storage_class: o.str_into::<S3StorageClass>("S3StorageClass")?,
            s3_config: o.nested("S3Config", |c| {
                built(
                    S3Config::builder()
                        .bucket_access_role_arn(c.required_str("BucketAccessRoleArn")?)
                        .build(),
                )
            })?,
            agent_arns: o.str_list("AgentArns")?,
            tags: tags(o)?,
        })
    }

    fn smb(o: &mut Obj<'_>) -> Result<CreateLocation, String> {
        Ok(CreateLocation::Smb {
            subdirectory: o.str("Subdirectory")?,
            server_hostname: o.str("ServerHostname")?,
            user: o.str("User")?,
            domain: o.str("Domain")?,
            password: o.str("Password")?,
            agent_arns: o.str_list("AgentArns")?,
            mount_options: o.nested("MountOptions", |m| {
                Ok(SmbMountOptions::builder()
                    .set_version(m.str_into::<SmbVersion>("Version")?)
                    .build())
            })?,
            tags: tags(o)?,
        })
    }

    fn nfs(o: &mut Obj<'_>) -> Result<CreateLocation, String> {
        Ok(CreateLocation::Nfs {
            subdirectory: o.str("Subdirectory")?,
            server_hostname: o.str("ServerHostname")?,
            on_prem_config: o.nested("OnPremConfig", |c| {
                built(
                    OnPremConfig::builder()
                        .set_agent_arns(c.str_list("AgentArns")?)
                        .build(),
                )
            })?,
            mount_options: o.nested("MountOptions", |m| {
                Ok(NfsMountOptions::builder()
                    .set_version(m.str_into::<NfsVersion>("Version")?)
                    .build())
            })?,
            tags: tags(o)?,
        })
    }

    fn efs(o: &mut Obj<'_>) -> Result<CreateLocation, String> {
        Ok(CreateLocation::Efs {
            subdirectory: o.str("Subdirectory")?,
            efs_filesystem_arn: o.str("EfsFilesystemArn")?,
            ec2_config: o.nested("Ec2Config", |c| {
                built(
                    Ec2Config::builder()
                        .subnet_arn(c.required_str("SubnetArn")?)
                        .set_security_group_arns(c.str_list("SecurityGroupArns")?)
                        .build(),
                )
            })?,
            tags: tags(o)?,
            access_point_arn: o.str("AccessPointArn")?,
            file_system_access_role_arn: o.str("FileSystemAccessRoleArn")?,
            in_transit_encryption: o.str_into::<EfsInTransitEncryption>("InTransitEncryption")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kwargs_are_typed_and_unknown_keys_refused() {
        let c = CreateTask::read(
            &json!({
                "Name": "t",
                "Options": {"VerifyMode": "NONE", "BytesPerSecond": 100},
                "Excludes": [{"FilterType": "SIMPLE_PATTERN", "Value": "/tmp"}],
                "Tags": [{"Key": "k", "Value": "v"}],
            }),
            true,
        )
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("t"));
        assert_eq!(
            c.options.as_ref().and_then(|o| o.bytes_per_second()),
            Some(100)
        );
        assert_eq!(c.excludes.as_ref().map(Vec::len), Some(1));
        let e = CreateTask::read(&json!({"Options": {"Verify": "NONE"}}), true).unwrap_err();
        assert!(
            e.contains("`create_task_kwargs.Options.Verify` is not a setting airtask knows here")
                && e.contains("VerifyMode"),
            "{e}"
        );
        let e = StartExecution::read(&json!({"Tags": [{"Value": "v"}]}), true).unwrap_err();
        assert!(
            e.contains("`task_execution_kwargs.Tags[0].Key` is required"),
            "{e}"
        );
        let e =
            UpdateTask::read(&json!({"Options": {"BytesPerSecond": "fast"}}), true).unwrap_err();
        assert!(
            e.contains("`update_task_kwargs.Options.BytesPerSecond` must be a whole number"),
            "{e}"
        );
        // Unrendered, a template stands in for a number.
        let template = json!({"Options": {"BytesPerSecond": "{{ params.bps }}"}});
        assert!(UpdateTask::read(&template, false).is_ok());
        assert!(UpdateTask::read(&template, true).is_err());
    }

    #[test]
    fn locations_follow_the_uri_scheme() {
        let l = CreateLocation::read(
            "create_source_location_kwargs",
            "S3://bucket/dir",
            &json!({"S3BucketArn": "arn:aws:s3:::bucket", "S3Config": {"BucketAccessRoleArn": "r"}}),
            true,
        )
        .unwrap();
        assert!(matches!(
            l,
            CreateLocation::S3 {
                s3_config: Some(_),
                ..
            }
        ));
        let l = CreateLocation::read(
            "p",
            "smb://host/share",
            &json!({"ServerHostname": "h", "MountOptions": {"Version": "SMB3"}}),
            true,
        )
        .unwrap();
        assert!(matches!(
            l,
            CreateLocation::Smb {
                mount_options: Some(_),
                ..
            }
        ));
        let e =
            CreateLocation::read("p", "nfs://h/d", &json!({"S3BucketArn": "x"}), true).unwrap_err();
        assert!(e.contains("`p.S3BucketArn` is not a setting"), "{e}");
        let e =
            CreateLocation::read("p", "efs://fs/d", &json!({"Ec2Config": {}}), true).unwrap_err();
        assert!(e.contains("`p.Ec2Config.SubnetArn` is required"), "{e}");
        let l = CreateLocation::read("p", "hdfs://h/d", &json!({"Any": 1}), true).unwrap();
        assert!(matches!(l, CreateLocation::Unsupported(s) if s == "hdfs"));
        assert_eq!(scheme("no-scheme"), "");
    }
}
