//! `config` of `EC2CreateInstanceOperator`: the provider passes it to boto3's `run_instances`
//! as keyword arguments. airtask reads the RunInstances keys workflows use into the SDK's
//! request and refuses any other key by name, so `validate` catches a typo (or a key airtask
//! does not pass) before AWS is called.

use serde_json::{Map, Value};

use aws_sdk_ec2::operation::run_instances::builders::RunInstancesInputBuilder;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HibernationOptionsRequest, HttpTokensState,
    IamInstanceProfileSpecification, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceMetadataTagsState, InstanceType, LaunchTemplateSpecification, Placement, ResourceType,
    RunInstancesMonitoringEnabled, ShutdownBehavior, Tag, TagSpecification, Tenancy, VolumeType,
};

/// The keys of `config` airtask passes to RunInstances.
pub(crate) const KEYS: &[&str] = &[
    "BlockDeviceMappings",
    "ClientToken",
    "DisableApiStop",
    "DisableApiTermination",
    "DryRun",
    "EbsOptimized",
    "HibernationOptions",
    "IamInstanceProfile",
    "InstanceInitiatedShutdownBehavior",
    "InstanceType",
    "Ipv6AddressCount",
    "KernelId",
    "KeyName",
    "LaunchTemplate",
    "MetadataOptions",
    "Monitoring",
    "Placement",
    "PrivateIpAddress",
    "RamdiskId",
    "SecurityGroupIds",
    "SecurityGroups",
    "SubnetId",
    "TagSpecifications",
    "UserData",
];

/// The keys the operator passes itself (boto3 would refuse them twice: "got multiple values
/// for keyword argument").
const OWN_KEYS: &[(&str, &str)] = &[
    ("ImageId", "image_id"),
    ("MinCount", "min_count"),
    ("MaxCount", "max_count"),
];

fn kind(v: &Value) -> String {
    airtask_core::params::describe(v)
}

/// One mapping being read; `path` names it in messages (`config.Placement`).
struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    allowed: &'static [&'static str],
    rendered: bool,
}

impl<'a> Obj<'a> {
    fn new(
        path: String,
        v: &'a Value,
        allowed: &'static [&'static str],
        rendered: bool,
    ) -> Result<Obj<'a>, String> {
        let Value::Object(map) = v else {
            return Err(format!("`{path}` must be a mapping, not {}", kind(v)));
        };
        if let Some(k) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(format!(
                "`{path}` has the unknown key `{k}`; the keys allowed are {}",
                allowed.join(", ")
            ));
        }
        Ok(Obj {
            path,
            map,
            allowed,
            rendered,
        })
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        debug_assert!(self.allowed.contains(&key), "{key}");
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Like `get`, but an unrendered template where a non-string is expected reads as absent
    /// (only a try knows its value).
    fn typed(&self, key: &str) -> Option<&'a Value> {
        let rendered = self.rendered;
        self.get(key).filter(|v| {
            rendered || !matches!(v, Value::String(s) if airtask_core::params::is_template(s))
        })
    }

    fn str(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "`{}` must be a string, not {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, String> {
        match self.typed(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!(
                "`{}` must be true or false, not {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    fn i32(&self, key: &str) -> Result<Option<i32>, String> {
        let Some(v) = self.typed(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{}` must be a whole number, not {}", self.at(key), kind(v)))
    }

    fn strs(&self, key: &str) -> Result<Option<Vec<String>>, String> {
        let Some(v) = self.typed(key) else {
            return Ok(None);
        };
        let wrong = || {
            format!(
                "`{}` must be a list of strings, not {}",
                self.at(key),
                kind(v)
            )
        };
        match v {
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_owned).ok_or_else(wrong))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            _ => Err(wrong()),
        }
    }

    fn obj(&self, key: &str, allowed: &'static [&'static str]) -> Result<Option<Obj<'a>>, String> {
        self.typed(key)
            .map(|v| Obj::new(self.at(key), v, allowed, self.rendered))
            .transpose()
    }

    fn objs(
        &self,
        key: &str,
        allowed: &'static [&'static str],
    ) -> Result<Option<Vec<Obj<'a>>>, String> {
        match self.typed(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, v)| Obj::new(format!("{}[{i}]", self.at(key)), v, allowed, self.rendered))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(format!(
                "`{}` must be a list of mappings, not {}",
                self.at(key),
                kind(other)
            )),
        }
    }
}

/// Reads `config` into a RunInstances request (without ImageId, MinCount and MaxCount, which
/// the operator adds). `rendered` is false for `airtask validate`.
///
/// # Errors
/// One sentence naming the key that is unknown, taken by the operator, or ill-typed.
pub(crate) fn read(config: &Value, rendered: bool) -> Result<RunInstancesInputBuilder, String> {
    if let Value::Object(m) = config {
        for (key, param) in OWN_KEYS {
            if m.contains_key(*key) {
                return Err(format!(
                    "`config` must not contain `{key}`: the operator passes it from its own \
                     parameter `{param}`"
                ));
            }
        }
    }
    let c = Obj::new("config".to_owned(), config, KEYS, rendered)?;
    let mut b = RunInstancesInputBuilder::default()
        .set_instance_type(
            c.str("InstanceType")?
                .map(|t| InstanceType::from(t.as_str())),
        )
        .set_key_name(c.str("KeyName")?)
        .set_subnet_id(c.str("SubnetId")?)
        .set_security_group_ids(c.strs("SecurityGroupIds")?)
        .set_security_groups(c.strs("SecurityGroups")?)
        .set_user_data(c.str("UserData")?)
        .set_client_token(c.str("ClientToken")?)
        .set_private_ip_address(c.str("PrivateIpAddress")?)
        .set_kernel_id(c.str("KernelId")?)
        .set_ramdisk_id(c.str("RamdiskId")?)
        .set_ebs_optimized(c.bool("EbsOptimized")?)
        .set_disable_api_termination(c.bool("DisableApiTermination")?)
        .set_disable_api_stop(c.bool("DisableApiStop")?)
        .set_dry_run(c.bool("DryRun")?)
        .set_ipv6_address_count(c.i32("Ipv6AddressCount")?)
        .set_instance_initiated_shutdown_behavior(
            c.str("InstanceInitiatedShutdownBehavior")?
                .map(|s| ShutdownBehavior::from(s.as_str())),
        );
    if let Some(m) = c.obj("Monitoring", &["Enabled"])? {
        b = b.monitoring(
            RunInstancesMonitoringEnabled::builder()
                .set_enabled(m.bool("Enabled")?)
                .build(),
        );
    }
    if let Some(p) = c.obj(
        "Placement",
        &[
            "AvailabilityZone",
            "GroupName",
            "Tenancy",
            "HostId",
            "PartitionNumber",
        ],
    )? {
        b = b.placement(
            Placement::builder()
                .set_availability_zone(p.str("AvailabilityZone")?)
                .set_group_name(p.str("GroupName")?)
                .set_tenancy(p.str("Tenancy")?.map(|t| Tenancy::from(t.as_str())))
                .set_host_id(p.str("HostId")?)
                .set_partition_number(p.i32("PartitionNumber")?)
                .build(),
        );
    }
    if let Some(p) = c.obj("IamInstanceProfile", &["Arn", "Name"])? {
        b = b.iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .set_arn(p.str("Arn")?)
                .set_name(p.str("Name")?)
                .build(),
        );
    }
    if let Some(h) = c.obj("HibernationOptions", &["Configured"])? {
        b = b.hibernation_options(
            HibernationOptionsRequest::builder()
                .set_configured(h.bool("Configured")?)
                .build(),
        );
    }
    if let Some(m) = c.obj(
        "MetadataOptions",
        &[
            "HttpTokens",
            "HttpPutResponseHopLimit",
            "HttpEndpoint",
            "InstanceMetadataTags",
        ],
    )? {
        b = b.metadata_options(
            InstanceMetadataOptionsRequest::builder()
                .set_http_tokens(
                    m.str("HttpTokens")?
                        .map(|s| HttpTokensState::from(s.as_str())),
                )
                .set_http_put_response_hop_limit(m.i32("HttpPutResponseHopLimit")?)
                .set_http_endpoint(
                    m.str("HttpEndpoint")?
                        .map(|s| InstanceMetadataEndpointState::from(s.as_str())),
                )
                .set_instance_metadata_tags(
                    m.str("InstanceMetadataTags")?
                        .map(|s| InstanceMetadataTagsState::from(s.as_str())),
                )
                .build(),
        );
    }
    if let Some(l) = c.obj(
        "LaunchTemplate",
        &["LaunchTemplateId", "LaunchTemplateName", "Version"],
    )? {
        b = b.launch_template(
            LaunchTemplateSpecification::builder()
                .set_launch_template_id(l.str("LaunchTemplateId")?)
                .set_launch_template_name(l.str("LaunchTemplateName")?)
                .set_version(l.str("Version")?)
                .build(),
        );
    }
    for spec in c
        .objs("TagSpecifications", &["ResourceType", "Tags"])?
        .unwrap_or_default()
    {
        let mut t = TagSpecification::builder().set_resource_type(
            spec.str("ResourceType")?
                .map(|r| ResourceType::from(r.as_str())),
        );
        for tag in spec.objs("Tags", &["Key", "Value"])?.unwrap_or_default() {
            t = t.tags(
                Tag::builder()
                    .set_key(tag.str("Key")?)
                    .set_value(tag.str("Value")?)
                    .build(),
            );
        }
        b = b.tag_specifications(t.build());
    }
    for m in c
        .objs(
            "BlockDeviceMappings",
            &["DeviceName", "VirtualName", "NoDevice", "Ebs"],
        )?
        .unwrap_or_default()
    {
        let mut d = BlockDeviceMapping::builder()
            .set_device_name(m.str("DeviceName")?)
            .set_virtual_name(m.str("VirtualName")?)
            .set_no_device(m.str("NoDevice")?);
        if let Some(e) = m.obj(
            "Ebs",
            &[
                "DeleteOnTermination",
                "Encrypted",
                "Iops",
                "KmsKeyId",
                "SnapshotId",
                "Throughput",
                "VolumeSize",
                "VolumeType",
            ],
        )? {
            d = d.ebs(
                EbsBlockDevice::builder()
                    .set_delete_on_termination(e.bool("DeleteOnTermination")?)
                    .set_encrypted(e.bool("Encrypted")?)
                    .set_iops(e.i32("Iops")?)
                    .set_kms_key_id(e.str("KmsKeyId")?)
                    .set_snapshot_id(e.str("SnapshotId")?)
                    .set_throughput(e.i32("Throughput")?)
                    .set_volume_size(e.i32("VolumeSize")?)
                    .set_volume_type(e.str("VolumeType")?.map(|v| VolumeType::from(v.as_str())))
                    .build(),
            );
        }
        b = b.block_device_mappings(d.build());
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_the_run_instances_keys() {
        let b = read(
            &json!({
                "InstanceType": "t3.micro",
                "SecurityGroupIds": ["sg-1"],
                "Monitoring": {"Enabled": true},
                "HibernationOptions": {"Configured": true},
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "x"}]}],
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": "8", "Encrypted": true}}],
            }),
            true,
        )
        .unwrap();
        assert_eq!(
            b.get_instance_type().as_ref().map(|t| t.as_str()),
            Some("t3.micro")
        );
        assert_eq!(
            b.get_security_group_ids().as_deref(),
            Some(&["sg-1".to_owned()][..])
        );
        assert_eq!(
            b.get_hibernation_options()
                .as_ref()
                .and_then(|h| h.configured()),
            Some(true)
        );
        let tags = b.get_tag_specifications().clone().unwrap_or_default();
        assert_eq!(tags[0].tags()[0].key(), Some("Name"));
        let bdm = b.get_block_device_mappings().clone().unwrap_or_default();
        assert_eq!(bdm[0].ebs().and_then(|e| e.volume_size()), Some(8));
    }

    #[test]
    fn refuses_unknown_own_and_ill_typed_keys() {
        let e = read(&json!({"InstanceTyp": "t3.micro"}), true).unwrap_err();
        assert!(
            e.contains("unknown key `InstanceTyp`") && e.contains("InstanceType"),
            "{e}"
        );
        let e = read(&json!({"MinCount": 2}), true).unwrap_err();
        assert!(e.contains("parameter `min_count`"), "{e}");
        let e = read(&json!({"Placement": {"Zone": "a"}}), true).unwrap_err();
        assert!(
            e.contains("`config.Placement` has the unknown key `Zone`"),
            "{e}"
        );
        let e = read(&json!({"SecurityGroupIds": "sg-1"}), true).unwrap_err();
        assert!(
            e.contains("`config.SecurityGroupIds` must be a list of strings"),
            "{e}"
        );
        let e = read(
            &json!({"TagSpecifications": [{"Tags": [{"Key": 1}]}]}),
            true,
        )
        .unwrap_err();
        assert!(
            e.contains("`config.TagSpecifications[0].Tags[0].Key` must be a string"),
            "{e}"
        );
        // Unrendered, a template stands in for a boolean.
        assert!(read(&json!({"EbsOptimized": "{{ params.ebs }}"}), false).is_ok());
        assert!(read(&json!({"EbsOptimized": "{{ params.ebs }}"}), true).is_err());
    }
}
