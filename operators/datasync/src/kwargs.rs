//! The `*_kwargs` mappings DataSyncOperator passes on to boto3 (`create_task_kwargs`,
//! `update_task_kwargs`, `task_execution_kwargs` and the two `create_*_location_kwargs`), read
//! into the SDK's request pieces: only the keys the boto3 call takes, each of its type, as
//! boto3's parameter validation refuses anything else.

use airtask_core::ParamError;
use airtask_core::params::describe;
use aws_sdk_datasync::types::{
    Atime, Ec2Config, EfsInTransitEncryption, FilterRule, FilterType, Gid, LogLevel, Mtime,
    NfsMountOptions, NfsVersion, ObjectTags, OnPremConfig, Options, OverwriteMode,
    PosixPermissions, PreserveDeletedFiles, PreserveDevices, S3Config, S3StorageClass,
    ScheduleStatus, SmbMountOptions, SmbSecurityDescriptorCopyFlags, SmbVersion, TagListEntry,
    TaskMode, TaskQueueing, TaskSchedule, TransferMode, Uid, VerifyMode,
};
use serde_json::{Map, Value};

/// The operator's class name, for messages.
const OP: &str = "DataSyncOperator";

/// One mapping inside a parameter: `param` is the parameter, `path` where the mapping is in it.
#[derive(Debug, Clone)]
pub(crate) struct Obj<'a> {
    param: &'static str,
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// The parameter `param` itself, with the keys its boto3 call takes.
    ///
    /// # Errors
    /// A key outside `allowed`.
    pub(crate) fn top(
        param: &'static str,
        map: &'a Map<String, Value>,
        allowed: &[&str],
    ) -> Result<Obj<'a>, ParamError> {
        let o = Obj {
            param,
            path: String::new(),
            map,
        };
        o.only(allowed)?;
        Ok(o)
    }

    fn name(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn bad(&self, message: String) -> ParamError {
        ParamError::at(
            self.param,
            format!("{OP} parameter `{}`: {message}", self.param),
        )
    }

    fn only(&self, allowed: &[&str]) -> Result<(), ParamError> {
        if let Some(k) = self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.bad(format!(
                "unknown key `{}`; the keys allowed are {}",
                self.name(k),
                allowed.join(", ")
            )));
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string entry.
    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.bad(format!(
                "`{}` must be a string, not {}",
                self.name(key),
                describe(other)
            ))),
        }
    }

    /// A list of strings.
    pub(crate) fn strs(&self, key: &str) -> Result<Option<Vec<String>>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.bad(format!(
                        "`{}` must list strings, not {}",
                        self.name(key),
                        describe(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.bad(format!(
                "`{}` must be a list of strings, not {}",
                self.name(key),
                describe(other)
            ))),
        }
    }

    fn i64(&self, key: &str) -> Result<Option<i64>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                self.bad(format!(
                    "`{}` must be a whole number, not {}",
                    self.name(key),
                    describe(v)
                ))
            }),
        }
    }

    /// A nested mapping with the keys `allowed`.
    fn obj(&self, key: &str, allowed: &[&str]) -> Result<Option<Obj<'a>>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Object(m)) => {
                let o = Obj {
                    param: self.param,
                    path: self.name(key),
                    map: m,
                };
                o.only(allowed)?;
                Ok(Some(o))
            }
            Some(other) => Err(self.bad(format!(
                "`{}` must be a mapping, not {}",
                self.name(key),
                describe(other)
            ))),
        }
    }

    /// A list of mappings with the keys `allowed`.
    fn objs(&self, key: &str, allowed: &[&str]) -> Result<Option<Vec<Obj<'a>>>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Object(m) => {
                        let o = Obj {
                            param: self.param,
                            path: format!("{}[{i}]", self.name(key)),
                            map: m,
                        };
                        o.only(allowed)?;
                        Ok(o)
                    }
                    other => Err(self.bad(format!(
                        "`{}` must list mappings, not {}",
                        self.name(key),
                        describe(other)
                    ))),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.bad(format!(
                "`{}` must be a list of mappings, not {}",
                self.name(key),
                describe(other)
            ))),
        }
    }

    /// A required string entry.
    fn required(&self, key: &str) -> Result<String, ParamError> {
        self.str(key)?
            .ok_or_else(|| self.bad(format!("`{}` is required", self.name(key))))
    }

    /// `Tags`: `[{Key, Value}]`.
    pub(crate) fn tags(&self) -> Result<Option<Vec<TagListEntry>>, ParamError> {
        let Some(items) = self.objs("Tags", &["Key", "Value"])? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|t| {
                TagListEntry::builder()
                    .key(t.required("Key")?)
                    .set_value(t.str("Value")?)
                    .build()
                    .map_err(|e| self.bad(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A filter list (`Includes`, `Excludes`): `[{FilterType, Value}]`.
    pub(crate) fn filters(&self, key: &str) -> Result<Option<Vec<FilterRule>>, ParamError> {
        let Some(items) = self.objs(key, &["FilterType", "Value"])? else {
            return Ok(None);
        };
        items
            .iter()
            .map(|f| {
                Ok(FilterRule::builder()
                    .set_filter_type(f.str("FilterType")?.map(|s| FilterType::from(s.as_str())))
                    .set_value(f.str("Value")?)
                    .build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `Schedule`: `{ScheduleExpression, Status}`.
    pub(crate) fn schedule(&self) -> Result<Option<TaskSchedule>, ParamError> {
        let Some(s) = self.obj("Schedule", &["ScheduleExpression", "Status"])? else {
            return Ok(None);
        };
        TaskSchedule::builder()
            .schedule_expression(s.required("ScheduleExpression")?)
            .set_status(s.str("Status")?.map(|v| ScheduleStatus::from(v.as_str())))
            .build()
            .map(Some)
            .map_err(|e| self.bad(e.to_string()))
    }

    /// An `Options` mapping under `key` (`Options`, `OverrideOptions`).
    pub(crate) fn options(&self, key: &str) -> Result<Option<Options>, ParamError> {
        let Some(o) = self.obj(key, OPTION_KEYS)? else {
            return Ok(None);
        };
        let s = |k: &str| o.str(k);
        Ok(Some(
            Options::builder()
                .set_verify_mode(s("VerifyMode")?.map(|v| VerifyMode::from(v.as_str())))
                .set_overwrite_mode(s("OverwriteMode")?.map(|v| OverwriteMode::from(v.as_str())))
                .set_atime(s("Atime")?.map(|v| Atime::from(v.as_str())))
                .set_mtime(s("Mtime")?.map(|v| Mtime::from(v.as_str())))
                .set_uid(s("Uid")?.map(|v| Uid::from(v.as_str())))
                .set_gid(s("Gid")?.map(|v| Gid::from(v.as_str())))
                .set_preserve_deleted_files(
                    s("PreserveDeletedFiles")?.map(|v| PreserveDeletedFiles::from(v.as_str())),
                )
                .set_preserve_devices(
                    s("PreserveDevices")?.map(|v| PreserveDevices::from(v.as_str())),
                )
                .set_posix_permissions(
                    s("PosixPermissions")?.map(|v| PosixPermissions::from(v.as_str())),
                )
                .set_bytes_per_second(o.i64("BytesPerSecond")?)
                .set_task_queueing(s("TaskQueueing")?.map(|v| TaskQueueing::from(v.as_str())))
                .set_log_level(s("LogLevel")?.map(|v| LogLevel::from(v.as_str())))
                .set_transfer_mode(s("TransferMode")?.map(|v| TransferMode::from(v.as_str())))
                .set_security_descriptor_copy_flags(
                    s("SecurityDescriptorCopyFlags")?
                        .map(|v| SmbSecurityDescriptorCopyFlags::from(v.as_str())),
                )
                .set_object_tags(s("ObjectTags")?.map(|v| ObjectTags::from(v.as_str())))
                .build(),
        ))
    }
}

/// The keys of DataSync's Options.
const OPTION_KEYS: &[&str] = &[
    "VerifyMode",
    "OverwriteMode",
    "Atime",
    "Mtime",
    "Uid",
    "Gid",
    "PreserveDeletedFiles",
    "PreserveDevices",
    "PosixPermissions",
    "BytesPerSecond",
    "TaskQueueing",
    "LogLevel",
    "TransferMode",
    "SecurityDescriptorCopyFlags",
    "ObjectTags",
];

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
    pub(crate) fn read(map: &Map<String, Value>) -> Result<CreateTask, ParamError> {
        let o = Obj::top(
            "create_task_kwargs",
            map,
            &[
                "Name",
                "CloudWatchLogGroupArn",
                "Options",
                "Excludes",
                "Includes",
                "Schedule",
                "Tags",
                "TaskMode",
            ],
        )?;
        Ok(CreateTask {
            name: o.str("Name")?,
            cloud_watch_log_group_arn: o.str("CloudWatchLogGroupArn")?,
            options: o.options("Options")?,
            excludes: o.filters("Excludes")?,
            includes: o.filters("Includes")?,
            schedule: o.schedule()?,
            tags: o.tags()?,
            task_mode: o.str("TaskMode")?.map(|v| TaskMode::from(v.as_str())),
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
    pub(crate) fn read(map: &Map<String, Value>) -> Result<UpdateTask, ParamError> {
        let o = Obj::top(
            "update_task_kwargs",
            map,
            &[
                "Name",
                "CloudWatchLogGroupArn",
                "Options",
                "Excludes",
                "Includes",
                "Schedule",
            ],
        )?;
        Ok(UpdateTask {
            name: o.str("Name")?,
            cloud_watch_log_group_arn: o.str("CloudWatchLogGroupArn")?,
            options: o.options("Options")?,
            excludes: o.filters("Excludes")?,
            includes: o.filters("Includes")?,
            schedule: o.schedule()?,
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
    pub(crate) fn read(map: &Map<String, Value>) -> Result<StartExecution, ParamError> {
        let o = Obj::top(
            "task_execution_kwargs",
            map,
            &["OverrideOptions", "Includes", "Excludes", "Tags"],
        )?;
        Ok(StartExecution {
            override_options: o.options("OverrideOptions")?,
            includes: o.filters("Includes")?,
            excludes: o.filters("Excludes")?,
            tags: o.tags()?,
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

impl CreateLocation {
    /// Reads `param` (a `create_*_location_kwargs`) for a location of `uri`.
    pub(crate) fn read(
        param: &'static str,
        uri: &str,
        map: &Map<String, Value>,
    ) -> Result<CreateLocation, ParamError> {
        Ok(match scheme(uri).as_str() {
            "s3" => {
                let o = Obj::top(
                    param,
                    map,
                    &[
                        "S3BucketArn",
                        "Subdirectory",
                        "S3StorageClass",
                        "S3Config",
                        "AgentArns",
                        "Tags",
                    ],
                )?;
                let s3_config = match o.obj("S3Config", &["BucketAccessRoleArn"])? {
                    None => None,
                    Some(c) => Some(
                        S3Config::builder()
                            .bucket_access_role_arn(c.required("BucketAccessRoleArn")?)
                            .build()
                            .map_err(|e| o.bad(e.to_string()))?,
                    ),
                };
                CreateLocation::S3 {
                    s3_bucket_arn: o.str("S3BucketArn")?,
                    subdirectory: o.str("Subdirectory")?,
                    s3_storage_class: o
                        .str("S3StorageClass")?
                        .map(|v| S3StorageClass::from(v.as_str())),
                    s3_config,
                    agent_arns: o.strs("AgentArns")?,
                    tags: o.tags()?,
                }
            }
            "smb" => {
                let o = Obj::top(
                    param,
                    map,
                    &[
                        "Subdirectory",
                        "ServerHostname",
                        "User",
                        "Domain",
                        "Password",
                        "AgentArns",
                        "MountOptions",
                        "Tags",
                    ],
                )?;
                let mount_options = o.obj("MountOptions", &["Version"])?.map(|m| {
                    m.str("Version").map(|v| {
                        SmbMountOptions::builder()
                            .set_version(v.map(|v| SmbVersion::from(v.as_str())))
                            .build()
                    })
                });
                CreateLocation::Smb {
                    subdirectory: o.str("Subdirectory")?,
                    server_hostname: o.str("ServerHostname")?,
                    user: o.str("User")?,
                    domain: o.str("Domain")?,
                    password: o.str("Password")?,
                    agent_arns: o.strs("AgentArns")?,
                    mount_options: mount_options.transpose()?,
                    tags: o.tags()?,
                }
            }
            "nfs" => {
                let o = Obj::top(
                    param,
                    map,
                    &[
                        "Subdirectory",
                        "ServerHostname",
                        "OnPremConfig",
                        "MountOptions",
                        "Tags",
                    ],
                )?;
                let on_prem_config = match o.obj("OnPremConfig", &["AgentArns"])? {
                    None => None,
                    Some(c) => Some(
                        OnPremConfig::builder()
                            .set_agent_arns(c.strs("AgentArns")?)
                            .build()
                            .map_err(|e| o.bad(e.to_string()))?,
                    ),
                };
                let mount_options = o.obj("MountOptions", &["Version"])?.map(|m| {
                    m.str("Version").map(|v| {
                        NfsMountOptions::builder()
                            .set_version(v.map(|v| NfsVersion::from(v.as_str())))
                            .build()
                    })
                });
                CreateLocation::Nfs {
                    subdirectory: o.str("Subdirectory")?,
                    server_hostname: o.str("ServerHostname")?,
                    on_prem_config,
                    mount_options: mount_options.transpose()?,
                    tags: o.tags()?,
                }
            }
            "efs" => {
                let o = Obj::top(
                    param,
                    map,
                    &[
                        "Subdirectory",
                        "EfsFilesystemArn",
                        "Ec2Config",
                        "Tags",
                        "AccessPointArn",
                        "FileSystemAccessRoleArn",
                        "InTransitEncryption",
                    ],
                )?;
                let ec2_config = match o.obj("Ec2Config", &["SubnetArn", "SecurityGroupArns"])? {
                    None => None,
                    Some(c) => Some(
                        Ec2Config::builder()
                            .subnet_arn(c.required("SubnetArn")?)
                            .set_security_group_arns(c.strs("SecurityGroupArns")?)
                            .build()
                            .map_err(|e| o.bad(e.to_string()))?,
                    ),
                };
                CreateLocation::Efs {
                    subdirectory: o.str("Subdirectory")?,
                    efs_filesystem_arn: o.str("EfsFilesystemArn")?,
                    ec2_config,
                    tags: o.tags()?,
                    access_point_arn: o.str("AccessPointArn")?,
                    file_system_access_role_arn: o.str("FileSystemAccessRoleArn")?,
                    in_transit_encryption: o
                        .str("InTransitEncryption")?
                        .map(|v| EfsInTransitEncryption::from(v.as_str())),
                }
            }
            other => CreateLocation::Unsupported(other.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn kwargs_are_typed_and_unknown_keys_refused() {
        let c = CreateTask::read(&map(json!({
            "Name": "t",
            "Options": {"VerifyMode": "NONE", "BytesPerSecond": 100},
            "Excludes": [{"FilterType": "SIMPLE_PATTERN", "Value": "/tmp"}],
            "Tags": [{"Key": "k", "Value": "v"}],
        })))
        .unwrap();
        assert_eq!(c.name.as_deref(), Some("t"));
        assert_eq!(
            c.options.as_ref().and_then(|o| o.bytes_per_second()),
            Some(100)
        );
        assert_eq!(c.excludes.as_ref().map(Vec::len), Some(1));
        let e = CreateTask::read(&map(json!({"Options": {"Verify": "NONE"}}))).unwrap_err();
        assert_eq!(e.param(), Some("create_task_kwargs"));
        assert!(e.message().contains("unknown key `Options.Verify`"), "{e}");
        let e = StartExecution::read(&map(json!({"Tags": [{"Value": "v"}]}))).unwrap_err();
        assert!(e.message().contains("`Tags[0].Key` is required"), "{e}");
    }

    #[test]
    fn locations_follow_the_uri_scheme() {
        let l = CreateLocation::read(
            "create_source_location_kwargs",
            "S3://bucket/dir",
            &map(json!({"S3BucketArn": "arn:aws:s3:::bucket", "S3Config": {"BucketAccessRoleArn": "r"}})),
        )
        .unwrap();
        assert!(matches!(l, CreateLocation::S3 { .. }));
        let l = CreateLocation::read(
            "p",
            "smb://host/share",
            &map(json!({"ServerHostname": "h", "MountOptions": {"Version": "SMB3"}})),
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
            CreateLocation::read("p", "nfs://h/d", &map(json!({"S3BucketArn": "x"}))).unwrap_err();
        assert!(e.message().contains("unknown key `S3BucketArn`"), "{e}");
        let l = CreateLocation::read("p", "hdfs://h/d", &map(json!({}))).unwrap();
        assert!(matches!(l, CreateLocation::Unsupported(s) if s == "hdfs"));
        assert_eq!(scheme("no-scheme"), "");
    }
}
