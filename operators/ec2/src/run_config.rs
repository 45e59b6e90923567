//! `config` of `EC2CreateInstanceOperator`: the provider passes it to boto3's `run_instances`
//! as keyword arguments. airtask reads the RunInstances keys workflows use into the SDK's
//! request (with [`airtask_core::kwargs`]) and refuses any other key by name, so `validate`
//! catches a typo (or a key airtask does not pass) before AWS is called.

use airtask_core::kwargs::Obj;
use serde_json::Value;

use aws_sdk_ec2::operation::run_instances::builders::RunInstancesInputBuilder;
use aws_sdk_ec2::types::{
    BlockDeviceMapping, EbsBlockDevice, HibernationOptionsRequest, HttpTokensState,
    IamInstanceProfileSpecification, InstanceMetadataEndpointState, InstanceMetadataOptionsRequest,
    InstanceMetadataTagsState, InstanceType, LaunchTemplateSpecification, Placement, ResourceType,
    RunInstancesMonitoringEnabled, ShutdownBehavior, Tag, TagSpecification, Tenancy, VolumeType,
};

/// The keys the operator passes itself (boto3 would refuse them twice: "got multiple values
/// for keyword argument").
const OWN_KEYS: &[(&str, &str)] = &[
    ("ImageId", "image_id"),
    ("MinCount", "min_count"),
    ("MaxCount", "max_count"),
];

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
    let mut c = Obj::new("config", config, rendered)?;
    let b = RunInstancesInputBuilder::default()
        .set_instance_type(c.str_into::<InstanceType>("InstanceType")?)
        .set_key_name(c.str("KeyName")?)
        .set_subnet_id(c.str("SubnetId")?)
        .set_security_group_ids(c.str_list("SecurityGroupIds")?)
        .set_security_groups(c.str_list("SecurityGroups")?)
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
            c.str_into::<ShutdownBehavior>("InstanceInitiatedShutdownBehavior")?,
        )
        .set_monitoring(c.nested("Monitoring", |m| {
            Ok(RunInstancesMonitoringEnabled::builder()
                .set_enabled(m.bool("Enabled")?)
                .build())
        })?)
        .set_placement(c.nested("Placement", |p| {
            Ok(Placement::builder()
                .set_availability_zone(p.str("AvailabilityZone")?)
                .set_group_name(p.str("GroupName")?)
                .set_tenancy(p.str_into::<Tenancy>("Tenancy")?)
                .set_host_id(p.str("HostId")?)
                .set_partition_number(p.i32("PartitionNumber")?)
                .build())
        })?)
        .set_iam_instance_profile(c.nested("IamInstanceProfile", |p| {
            Ok(IamInstanceProfileSpecification::builder()
                .set_arn(p.str("Arn")?)
                .set_name(p.str("Name")?)
                .build())
        })?)
        .set_hibernation_options(c.nested("HibernationOptions", |h| {
            Ok(HibernationOptionsRequest::builder()
                .set_configured(h.bool("Configured")?)
                .build())
        })?)
        .set_metadata_options(c.nested("MetadataOptions", |m| {
            Ok(InstanceMetadataOptionsRequest::builder()
                .set_http_tokens(m.str_into::<HttpTokensState>("HttpTokens")?)
                .set_http_put_response_hop_limit(m.i32("HttpPutResponseHopLimit")?)
                .set_http_endpoint(m.str_into::<InstanceMetadataEndpointState>("HttpEndpoint")?)
                .set_instance_metadata_tags(
                    m.str_into::<InstanceMetadataTagsState>("InstanceMetadataTags")?,
                )
                .build())
        })?)
        .set_launch_template(c.nested("LaunchTemplate", |l| {
            Ok(LaunchTemplateSpecification::builder()
                .set_launch_template_id(l.str("LaunchTemplateId")?)
                .set_launch_template_name(l.str("LaunchTemplateName")?)
                .set_version(l.str("Version")?)
                .build())
        })?);
    let tag_specifications = c.each("TagSpecifications", |spec| {
        Ok(TagSpecification::builder()
            .set_resource_type(spec.str_into::<ResourceType>("ResourceType")?)
            .set_tags(spec.each("Tags", |tag| {
                Ok(Tag::builder()
                    .set_key(tag.str("Key")?)
                    .set_value(tag.str("Value")?)
                    .build())
            })?)
            .build())
    })?;
    let block_device_mappings = c.each("BlockDeviceMappings", |m| {
        Ok(BlockDeviceMapping::builder()
            .set_device_name(m.str("DeviceName")?)
            .set_virtual_name(m.str("VirtualName")?)
            .set_no_device(m.str("NoDevice")?)
            .set_ebs(m.nested("Ebs", |e| {
                Ok(EbsBlockDevice::builder()
                    .set_delete_on_termination(e.bool("DeleteOnTermination")?)
                    .set_encrypted(e.bool("Encrypted")?)
                    .set_iops(e.i32("Iops")?)
                    .set_kms_key_id(e.str("KmsKeyId")?)
                    .set_snapshot_id(e.str("SnapshotId")?)
                    .set_throughput(e.i32("Throughput")?)
                    .set_volume_size(e.i32("VolumeSize")?)
                    .set_volume_type(e.str_into::<VolumeType>("VolumeType")?)
                    .build())
            })?)
            .build())
    })?;
    c.finish()?;
    Ok(b.set_tag_specifications(tag_specifications)
        .set_block_device_mappings(block_device_mappings))
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
            e.contains("`config.InstanceTyp` is not a setting airtask knows here")
                && e.contains("InstanceType"),
            "{e}"
        );
        let e = read(&json!({"MinCount": 2}), true).unwrap_err();
        assert!(e.contains("parameter `min_count`"), "{e}");
        let e = read(&json!({"Placement": {"Zone": "a"}}), true).unwrap_err();
        assert!(
            e.contains("`config.Placement.Zone` is not a setting airtask knows here"),
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
