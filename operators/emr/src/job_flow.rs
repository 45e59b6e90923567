//! `job_flow_overrides` (boto3's `run_job_flow` keyword arguments) and `steps` (the `Steps`
//! list of `add_job_flow_steps`) read into the SDK's request: every key checked, an unknown
//! one refused with its path and the keys airtask passes, so `validate` catches a typo (or a
//! key airtask does not pass) before AWS does.

use airtask_core::kwargs::Obj;
use aws_sdk_emr::operation::run_job_flow::builders::RunJobFlowInputBuilder;
use aws_sdk_emr::types::{
    ActionOnFailure, Application, AutoTerminationPolicy, BootstrapActionConfig, Configuration,
    EbsBlockDeviceConfig, EbsConfiguration, HadoopJarStepConfig, InstanceFleetConfig,
    InstanceFleetType, InstanceGroupConfig, InstanceRoleType, InstanceTypeConfig,
    JobFlowInstancesConfig, KeyValue, MarketType, PlacementType, RepoUpgradeOnBoot,
    ScaleDownBehavior, ScriptBootstrapActionConfig, StepConfig, Tag, VolumeSpecification,
};
use serde_json::Value;

/// An enum value checked against the SDK's list of allowed values.
fn enum_of<T: for<'a> From<&'a str>>(
    o: &mut Obj<'_>,
    key: &'static str,
    allowed: &[&str],
    path: &str,
) -> Result<Option<T>, String> {
    match o.str(key)? {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(T::from(v.as_str()))),
        Some(v) => Err(format!(
            "`{path}.{key}` is '{v}'; it must be one of {}",
            allowed.join(", ")
        )),
    }
}

fn i32_of(o: &mut Obj<'_>, key: &'static str) -> Result<Option<i32>, String> {
    o.i32(key)
}

/// Reads `job_flow_overrides` into a RunJobFlow request.
///
/// # Errors
/// A key airtask does not pass, or a value of the wrong type, with its path.
pub(crate) fn run_job_flow(v: &Value, rendered: bool) -> Result<RunJobFlowInputBuilder, String> {
    let mut o = Obj::new("job_flow_overrides", v, rendered)?;
    let mut b = RunJobFlowInputBuilder::default()
        .set_name(o.str("Name")?)
        .set_log_uri(o.str("LogUri")?)
        .set_log_encryption_kms_key_id(o.str("LogEncryptionKmsKeyId")?)
        .set_additional_info(o.str("AdditionalInfo")?)
        .set_ami_version(o.str("AmiVersion")?)
        .set_release_label(o.str("ReleaseLabel")?)
        .set_supported_products(o.str_list("SupportedProducts")?)
        .set_visible_to_all_users(o.bool("VisibleToAllUsers")?)
        .set_job_flow_role(o.str("JobFlowRole")?)
        .set_service_role(o.str("ServiceRole")?)
        .set_security_configuration(o.str("SecurityConfiguration")?)
        .set_auto_scaling_role(o.str("AutoScalingRole")?)
        .set_custom_ami_id(o.str("CustomAmiId")?)
        .set_ebs_root_volume_size(i32_of(&mut o, "EbsRootVolumeSize")?)
        .set_ebs_root_volume_iops(i32_of(&mut o, "EbsRootVolumeIops")?)
        .set_ebs_root_volume_throughput(i32_of(&mut o, "EbsRootVolumeThroughput")?)
        .set_step_concurrency_level(i32_of(&mut o, "StepConcurrencyLevel")?)
        .set_os_release_label(o.str("OSReleaseLabel")?)
        .set_extended_support(o.bool("ExtendedSupport")?);
    b = b.set_scale_down_behavior(enum_of::<ScaleDownBehavior>(
        &mut o,
        "ScaleDownBehavior",
        ScaleDownBehavior::values(),
        "job_flow_overrides",
    )?);
    b = b.set_repo_upgrade_on_boot(enum_of::<RepoUpgradeOnBoot>(
        &mut o,
        "RepoUpgradeOnBoot",
        RepoUpgradeOnBoot::values(),
        "job_flow_overrides",
    )?);
    b = b.set_instances(o.nested("Instances", instances)?);
    if let Some(steps) = o.objs("Steps")? {
        b = b.set_steps(Some(
            steps.into_iter().map(step).collect::<Result<Vec<_>, _>>()?,
        ));
    }
    if let Some(actions) = o.objs("BootstrapActions")? {
        b = b.set_bootstrap_actions(Some(
            actions
                .into_iter()
                .map(bootstrap_action)
                .collect::<Result<Vec<_>, _>>()?,
        ));
    }
    if let Some(apps) = o.objs("Applications")? {
        b = b.set_applications(Some(
            apps.into_iter()
                .map(application)
                .collect::<Result<Vec<_>, _>>()?,
        ));
    }
    b = b.set_configurations(configurations(&mut o, "Configurations")?);
    if let Some(tags) = o.objs("Tags")? {
        b = b.set_tags(Some(
            tags.into_iter()
                .map(|mut t| {
                    let tag = Tag::builder()
                        .set_key(t.str("Key")?)
                        .set_value(t.str("Value")?)
                        .build();
                    t.finish()?;
                    Ok(tag)
                })
                .collect::<Result<Vec<_>, String>>()?,
        ));
    }
    b = b.set_auto_termination_policy(o.nested("AutoTerminationPolicy", |p| {
        let idle = match p.f64("IdleTimeout")? {
            Some(n) if n.fract() == 0.0 && n >= 0.0 => Some(n as i64),
            Some(_) => {
                return Err(
                    "`job_flow_overrides.AutoTerminationPolicy.IdleTimeout` must be a whole \
                     number of seconds"
                        .to_owned(),
                );
            }
            None => None,
        };
        Ok(AutoTerminationPolicy::builder()
            .set_idle_timeout(idle)
            .build())
    })?);
    o.finish()?;
    Ok(b)
}

fn instances(o: &mut Obj<'_>) -> Result<JobFlowInstancesConfig, String> {
    let mut b = JobFlowInstancesConfig::builder()
        .set_master_instance_type(o.str("MasterInstanceType")?)
        .set_slave_instance_type(o.str("SlaveInstanceType")?)
        .set_instance_count(o.i32("InstanceCount")?)
        .set_ec2_key_name(o.str("Ec2KeyName")?)
        .set_keep_job_flow_alive_when_no_steps(o.bool("KeepJobFlowAliveWhenNoSteps")?)
        .set_termination_protected(o.bool("TerminationProtected")?)
        .set_unhealthy_node_replacement(o.bool("UnhealthyNodeReplacement")?)
        .set_hadoop_version(o.str("HadoopVersion")?)
        .set_ec2_subnet_id(o.str("Ec2SubnetId")?)
        .set_ec2_subnet_ids(o.str_list("Ec2SubnetIds")?)
        .set_emr_managed_master_security_group(o.str("EmrManagedMasterSecurityGroup")?)
        .set_emr_managed_slave_security_group(o.str("EmrManagedSlaveSecurityGroup")?)
        .set_service_access_security_group(o.str("ServiceAccessSecurityGroup")?)
        .set_additional_master_security_groups(o.str_list("AdditionalMasterSecurityGroups")?)
        .set_additional_slave_security_groups(o.str_list("AdditionalSlaveSecurityGroups")?);
    b = b.set_placement(o.nested("Placement", |p| {
        Ok(PlacementType::builder()
            .set_availability_zone(p.str("AvailabilityZone")?)
            .set_availability_zones(p.str_list("AvailabilityZones")?)
            .build())
    })?);
    if let Some(groups) = o.objs("InstanceGroups")? {
        let path = "job_flow_overrides.Instances.InstanceGroups";
        b = b.set_instance_groups(Some(
            groups
                .into_iter()
                .map(|mut g| {
                    let group = InstanceGroupConfig::builder()
                        .set_name(g.str("Name")?)
                        .set_market(enum_of::<MarketType>(
                            &mut g,
                            "Market",
                            MarketType::values(),
                            path,
                        )?)
                        .set_instance_role(enum_of::<InstanceRoleType>(
                            &mut g,
                            "InstanceRole",
                            InstanceRoleType::values(),
                            path,
                        )?)
                        .set_bid_price(g.str("BidPrice")?)
                        .set_instance_type(g.str("InstanceType")?)
                        .set_instance_count(g.i32("InstanceCount")?)
                        .set_configurations(configurations(&mut g, "Configurations")?)
                        .set_ebs_configuration(g.nested("EbsConfiguration", ebs)?)
                        .set_custom_ami_id(g.str("CustomAmiId")?)
                        .build();
                    g.finish()?;
                    Ok(group)
                })
                .collect::<Result<Vec<_>, String>>()?,
        ));
    }
    if let Some(fleets) = o.objs("InstanceFleets")? {
        let path = "job_flow_overrides.Instances.InstanceFleets";
        b = b.set_instance_fleets(Some(
            fleets
                .into_iter()
                .map(|mut f| {
                    let mut fleet = InstanceFleetConfig::builder()
                        .set_name(f.str("Name")?)
                        .set_instance_fleet_type(enum_of::<InstanceFleetType>(
                            &mut f,
                            "InstanceFleetType",
                            InstanceFleetType::values(),
                            path,
                        )?)
                        .set_target_on_demand_capacity(f.i32("TargetOnDemandCapacity")?)
                        .set_target_spot_capacity(f.i32("TargetSpotCapacity")?);
                    if let Some(types) = f.objs("InstanceTypeConfigs")? {
                        fleet = fleet.set_instance_type_configs(Some(
                            types
                                .into_iter()
                                .map(|mut t| {
                                    let c = InstanceTypeConfig::builder()
                                        .set_instance_type(t.str("InstanceType")?)
                                        .set_weighted_capacity(t.i32("WeightedCapacity")?)
                                        .set_bid_price(t.str("BidPrice")?)
                                        .set_bid_price_as_percentage_of_on_demand_price(
                                            t.f64("BidPriceAsPercentageOfOnDemandPrice")?,
                                        )
                                        .set_ebs_configuration(t.nested("EbsConfiguration", ebs)?)
                                        .set_configurations(configurations(
                                            &mut t,
                                            "Configurations",
                                        )?)
                                        .set_custom_ami_id(t.str("CustomAmiId")?)
                                        .build();
                                    t.finish()?;
                                    Ok(c)
                                })
                                .collect::<Result<Vec<_>, String>>()?,
                        ));
                    }
                    f.finish()?;
                    Ok(fleet.build())
                })
                .collect::<Result<Vec<_>, String>>()?,
        ));
    }
    Ok(b.build())
}

fn ebs(o: &mut Obj<'_>) -> Result<EbsConfiguration, String> {
    let mut b = EbsConfiguration::builder().set_ebs_optimized(o.bool("EbsOptimized")?);
    if let Some(devices) = o.objs("EbsBlockDeviceConfigs")? {
        b = b.set_ebs_block_device_configs(Some(
            devices
                .into_iter()
                .map(|mut d| {
                    let device = EbsBlockDeviceConfig::builder()
                        .set_volume_specification(d.nested("VolumeSpecification", |v| {
                            Ok(VolumeSpecification::builder()
                                .set_volume_type(v.str("VolumeType")?)
                                .set_iops(v.i32("Iops")?)
                                .set_size_in_gb(v.i32("SizeInGB")?)
                                .set_throughput(v.i32("Throughput")?)
                                .build())
                        })?)
                        .set_volumes_per_instance(d.i32("VolumesPerInstance")?)
                        .build();
                    d.finish()?;
                    Ok(device)
                })
                .collect::<Result<Vec<_>, String>>()?,
        ));
    }
    Ok(b.build())
}

/// `Configurations`: classification, properties and nested configurations.
fn configurations(
    o: &mut Obj<'_>,
    key: &'static str,
) -> Result<Option<Vec<Configuration>>, String> {
    o.each(key, |c| {
        Ok(Configuration::builder()
            .set_classification(c.str("Classification")?)
            .set_properties(c.str_map("Properties")?)
            .set_configurations(configurations(c, "Configurations")?)
            .build())
    })
}

fn bootstrap_action(mut o: Obj<'_>) -> Result<BootstrapActionConfig, String> {
    let action = BootstrapActionConfig::builder()
        .set_name(o.str("Name")?)
        .set_script_bootstrap_action(o.nested("ScriptBootstrapAction", |s| {
            Ok(ScriptBootstrapActionConfig::builder()
                .set_path(s.str("Path")?)
                .set_args(s.str_list("Args")?)
                .build())
        })?)
        .build();
    o.finish()?;
    Ok(action)
}

fn application(mut o: Obj<'_>) -> Result<Application, String> {
    let app = Application::builder()
        .set_name(o.str("Name")?)
        .set_version(o.str("Version")?)
        .set_args(o.str_list("Args")?)
        .set_additional_info(o.str_map("AdditionalInfo")?)
        .build();
    o.finish()?;
    Ok(app)
}

/// One step (`StepConfig`): Name, ActionOnFailure and HadoopJarStep.
pub(crate) fn step(mut o: Obj<'_>) -> Result<StepConfig, String> {
    let path = "the step";
    let s = StepConfig::builder()
        .set_name(o.str("Name")?)
        .set_action_on_failure(enum_of::<ActionOnFailure>(
            &mut o,
            "ActionOnFailure",
            ActionOnFailure::values(),
            path,
        )?)
        .set_hadoop_jar_step(o.nested("HadoopJarStep", |h| {
            let mut b = HadoopJarStepConfig::builder()
                .set_jar(h.str("Jar")?)
                .set_main_class(h.str("MainClass")?)
                .set_args(h.str_list("Args")?);
            if let Some(props) = h.objs("Properties")? {
                b = b.set_properties(Some(
                    props
                        .into_iter()
                        .map(|mut kv| {
                            let p = KeyValue::builder()
                                .set_key(kv.str("Key")?)
                                .set_value(kv.str("Value")?)
                                .build();
                            kv.finish()?;
                            Ok(p)
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                ));
            }
            Ok(b.build())
        })?)
        .build();
    o.finish()?;
    Ok(s)
}

/// The `steps` parameter: a list of step mappings.
///
/// # Errors
/// Not a list of mappings, or a step with an unknown key.
pub(crate) fn steps(v: &Value, rendered: bool) -> Result<Vec<StepConfig>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "`steps` must be a list of steps, not {}",
            airtask_core::params::describe(v)
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| step(Obj::new(format!("steps[{i}]"), item, rendered)?))
        .collect()
}

/// The roles a RunJobFlow request passes (JobFlowRole, ServiceRole, AutoScalingRole), for
/// `iam:PassRole`.
pub(crate) fn passed_roles(b: &RunJobFlowInputBuilder) -> Vec<String> {
    [
        b.get_job_flow_role(),
        b.get_service_role(),
        b.get_auto_scaling_role(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn overrides_build_the_request() {
        let b = run_job_flow(
            &json!({
                "Name": "c", "ReleaseLabel": "emr-7.0.0", "JobFlowRole": "EMR_EC2_DefaultRole",
                "ServiceRole": "EMR_DefaultRole",
                "Instances": {
                    "InstanceGroups": [{"Name": "Primary", "Market": "ON_DEMAND", "InstanceRole": "MASTER",
                        "InstanceType": "m5.xlarge", "InstanceCount": 1}],
                    "KeepJobFlowAliveWhenNoSteps": false, "TerminationProtected": false},
                "Steps": [{"Name": "s", "ActionOnFailure": "CONTINUE",
                    "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit", "x.py"]}}],
                "Applications": [{"Name": "Spark"}],
                "Configurations": [{"Classification": "spark", "Properties": {"a": "1"},
                    "Configurations": [{"Classification": "export", "Properties": {}}]}],
                "Tags": [{"Key": "k", "Value": "v"}],
                "AutoTerminationPolicy": {"IdleTimeout": 3600},
            }),
            true,
        )
        .unwrap();
        assert_eq!(b.get_name().as_deref(), Some("c"));
        let inst = b.get_instances().as_ref().unwrap();
        assert_eq!(inst.instance_groups()[0].instance_count(), Some(1));
        assert_eq!(inst.keep_job_flow_alive_when_no_steps(), Some(false));
        assert_eq!(b.get_steps().as_ref().unwrap()[0].name(), Some("s"));
        assert_eq!(passed_roles(&b), ["EMR_EC2_DefaultRole", "EMR_DefaultRole"]);
    }

    #[test]
    fn unknown_keys_and_bad_enums_are_named() {
        let e = run_job_flow(&json!({"Nmae": "x"}), true).unwrap_err();
        assert!(
            e.starts_with("`job_flow_overrides.Nmae` is not a setting"),
            "{e}"
        );
        let e = run_job_flow(
            &json!({"Instances": {"InstanceGroups": [{"Market": "CHEAP"}]}}),
            true,
        )
        .unwrap_err();
        assert!(
            e.starts_with("`job_flow_overrides.Instances.InstanceGroups.Market` is 'CHEAP'"),
            "{e}"
        );
        let e = steps(
            &json!([{"Name": "s", "HadoopJarStep": {"Jarr": "x"}}]),
            true,
        )
        .unwrap_err();
        assert!(
            e.starts_with("`steps[0].HadoopJarStep.Jarr` is not a setting"),
            "{e}"
        );
        assert!(steps(&json!({"Name": "s"}), true).is_err());
    }
}
