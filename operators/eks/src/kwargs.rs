//! The boto3-style mappings the EKS operators take (`resources_vpc_config`,
//! `create_cluster_kwargs`, `create_nodegroup_kwargs`, `create_fargate_profile_kwargs`, the
//! Fargate `selectors`), read into the SDK's request builders: every key checked, an unknown
//! one refused with the path to it and the keys that are accepted.

use airtask_core::kwargs::{Obj, str_map};
use aws_sdk_eks::operation::create_cluster::builders::CreateClusterInputBuilder;
use aws_sdk_eks::operation::create_fargate_profile::builders::CreateFargateProfileInputBuilder;
use aws_sdk_eks::operation::create_nodegroup::builders::CreateNodegroupInputBuilder;
use aws_sdk_eks::types::{
    AmiTypes, AuthenticationMode, CapacityTypes, CreateAccessConfigRequest, EncryptionConfig,
    FargateProfileSelector, IpFamily, KubernetesNetworkConfigRequest, LaunchTemplateSpecification,
    LogSetup, LogType, Logging, NodegroupScalingConfig, NodegroupUpdateConfig, Provider,
    RemoteAccessConfig, SupportType, Taint, TaintEffect, UpgradePolicyRequest, VpcConfigRequest,
    ZonalShiftConfigRequest,
};
use serde_json::Value;

/// `resources_vpc_config` (CreateCluster's `resourcesVpcConfig`).
pub(crate) fn vpc_config(v: &Value, rendered: bool) -> Result<VpcConfigRequest, String> {
    let mut o = Obj::new("resources_vpc_config", v, rendered)?;
    let c = VpcConfigRequest::builder()
        .set_subnet_ids(o.str_list("subnetIds")?)
        .set_security_group_ids(o.str_list("securityGroupIds")?)
        .set_endpoint_public_access(o.bool("endpointPublicAccess")?)
        .set_endpoint_private_access(o.bool("endpointPrivateAccess")?)
        .set_public_access_cidrs(o.str_list("publicAccessCidrs")?)
        .build();
    o.finish()?;
    Ok(c)
}

/// `create_cluster_kwargs` onto a CreateCluster request.
pub(crate) fn cluster_kwargs(
    v: &Value,
    rendered: bool,
    mut b: CreateClusterInputBuilder,
) -> Result<CreateClusterInputBuilder, String> {
    let mut o = Obj::new("create_cluster_kwargs", v, rendered)?;
    for key in ["name", "roleArn", "resourcesVpcConfig"] {
        if o.has(key) {
            return Err(format!(
                "`create_cluster_kwargs` must not contain `{key}`: the operator's own parameter \
                 (cluster_name, cluster_role_arn, resources_vpc_config) gives it"
            ));
        }
    }
    b = b
        .set_version(o.str("version")?)
        .set_client_request_token(o.str("clientRequestToken")?)
        .set_tags(o.str_map("tags")?)
        .set_bootstrap_self_managed_addons(o.bool("bootstrapSelfManagedAddons")?)
        .set_deletion_protection(o.bool("deletionProtection")?);
    if let Some(n) = o.nested("kubernetesNetworkConfig", |n| {
        Ok(KubernetesNetworkConfigRequest::builder()
            .set_service_ipv4_cidr(n.str("serviceIpv4Cidr")?)
            .set_ip_family(n.str("ipFamily")?.map(|s| IpFamily::from(s.as_str())))
            .build())
    })? {
        b = b.kubernetes_network_config(n);
    }
    if let Some(l) = o.nested("logging", |l| {
        let mut setups = Vec::new();
        for mut s in l.objs("clusterLogging")?.unwrap_or_default() {
            let types = s
                .str_list("types")?
                .unwrap_or_default()
                .iter()
                .map(|t| LogType::from(t.as_str()))
                .collect();
            setups.push(
                LogSetup::builder()
                    .set_types(Some(types))
                    .set_enabled(s.bool("enabled")?)
                    .build(),
            );
            s.finish()?;
        }
        Ok(Logging::builder().set_cluster_logging(Some(setups)).build())
    })? {
        b = b.logging(l);
    }
    for mut e in o.objs("encryptionConfig")?.unwrap_or_default() {
        let provider = e.nested("provider", |p| {
            Ok(Provider::builder().set_key_arn(p.str("keyArn")?).build())
        })?;
        let config = EncryptionConfig::builder()
            .set_resources(e.str_list("resources")?)
            .set_provider(provider)
            .build();
        e.finish()?;
        b = b.encryption_config(config);
    }
    if let Some(a) = o.nested("accessConfig", |a| {
        Ok(CreateAccessConfigRequest::builder()
            .set_bootstrap_cluster_creator_admin_permissions(
                a.bool("bootstrapClusterCreatorAdminPermissions")?,
            )
            .set_authentication_mode(
                a.str("authenticationMode")?
                    .map(|s| AuthenticationMode::from(s.as_str())),
            )
            .build())
    })? {
        b = b.access_config(a);
    }
    if let Some(u) = o.nested("upgradePolicy", |u| {
        Ok(UpgradePolicyRequest::builder()
            .set_support_type(u.str("supportType")?.map(|s| SupportType::from(s.as_str())))
            .build())
    })? {
        b = b.upgrade_policy(u);
    }
    if let Some(z) = o.nested("zonalShiftConfig", |z| {
        Ok(ZonalShiftConfigRequest::builder()
            .set_enabled(z.bool("enabled")?)
            .build())
    })? {
        b = b.zonal_shift_config(z);
    }
    o.finish()?;
    Ok(b)
}

/// `create_nodegroup_kwargs` onto a CreateNodegroup request; also returns the `tags` given
/// (the hook adds the cluster's ownership tag to them).
pub(crate) fn nodegroup_kwargs(
    v: &Value,
    rendered: bool,
    mut b: CreateNodegroupInputBuilder,
) -> Result<(CreateNodegroupInputBuilder, Vec<(String, String)>), String> {
    let mut o = Obj::new("create_nodegroup_kwargs", v, rendered)?;
    for key in ["clusterName", "nodegroupName", "subnets", "nodeRole"] {
        if o.has(key) {
            return Err(format!(
                "`create_nodegroup_kwargs` must not contain `{key}`: the operator's own \
                 parameters give it"
            ));
        }
    }
    let tags: Vec<(String, String)> = match v.get("tags") {
        Some(t) if !t.is_null() => {
            let mut t: Vec<(String, String)> = str_map("create_nodegroup_kwargs.tags", t)?
                .into_iter()
                .collect();
            t.sort();
            t
        }
        _ => Vec::new(),
    };
    // Read (and so accept) `tags`; the caller sets them with the ownership tag.
    let _ = o.str_map("tags")?;
    b = b
        .set_disk_size(o.i32("diskSize")?)
        .set_instance_types(o.str_list("instanceTypes")?)
        .set_ami_type(o.str("amiType")?.map(|s| AmiTypes::from(s.as_str())))
        .set_labels(o.str_map("labels")?)
        .set_client_request_token(o.str("clientRequestToken")?)
        .set_capacity_type(
            o.str("capacityType")?
                .map(|s| CapacityTypes::from(s.as_str())),
        )
        .set_version(o.str("version")?)
        .set_release_version(o.str("releaseVersion")?);
    if let Some(s) = o.nested("scalingConfig", |s| {
        Ok(NodegroupScalingConfig::builder()
            .set_min_size(s.i32("minSize")?)
            .set_max_size(s.i32("maxSize")?)
            .set_desired_size(s.i32("desiredSize")?)
            .build())
    })? {
        b = b.scaling_config(s);
    }
    if let Some(r) = o.nested("remoteAccess", |r| {
        Ok(RemoteAccessConfig::builder()
            .set_ec2_ssh_key(r.str("ec2SshKey")?)
            .set_source_security_groups(r.str_list("sourceSecurityGroups")?)
            .build())
    })? {
        b = b.remote_access(r);
    }
    for mut t in o.objs("taints")?.unwrap_or_default() {
        let taint = Taint::builder()
            .set_key(t.str("key")?)
            .set_value(t.str("value")?)
            .set_effect(t.str("effect")?.map(|s| TaintEffect::from(s.as_str())))
            .build();
        t.finish()?;
        b = b.taints(taint);
    }
    if let Some(l) = o.nested("launchTemplate", |l| {
        Ok(LaunchTemplateSpecification::builder()
            .set_name(l.str("name")?)
            .set_version(l.str("version")?)
            .set_id(l.str("id")?)
            .build())
    })? {
        b = b.launch_template(l);
    }
    if let Some(u) = o.nested("updateConfig", |u| {
        Ok(NodegroupUpdateConfig::builder()
            .set_max_unavailable(u.i32("maxUnavailable")?)
            .set_max_unavailable_percentage(u.i32("maxUnavailablePercentage")?)
            .build())
    })? {
        b = b.update_config(u);
    }
    o.finish()?;
    Ok((b, tags))
}

/// `create_fargate_profile_kwargs` onto a CreateFargateProfile request.
pub(crate) fn fargate_kwargs(
    v: &Value,
    rendered: bool,
    b: CreateFargateProfileInputBuilder,
) -> Result<CreateFargateProfileInputBuilder, String> {
    let mut o = Obj::new("create_fargate_profile_kwargs", v, rendered)?;
    for key in [
        "clusterName",
        "fargateProfileName",
        "podExecutionRoleArn",
        "selectors",
    ] {
        if o.has(key) {
            return Err(format!(
                "`create_fargate_profile_kwargs` must not contain `{key}`: the operator's own \
                 parameters give it"
            ));
        }
    }
    let b = b
        .set_subnets(o.str_list("subnets")?)
        .set_client_request_token(o.str("clientRequestToken")?)
        .set_tags(o.str_map("tags")?);
    o.finish()?;
    Ok(b)
}

/// The Fargate profile's `selectors` (`[{"namespace": "default", "labels": {...}}]`).
pub(crate) fn selectors(
    name: &str,
    v: &Value,
    rendered: bool,
) -> Result<Vec<FargateProfileSelector>, String> {
    let Value::Array(items) = v else {
        return Err(format!(
            "`{name}` must be a list of selectors ({{namespace: ..., labels: {{...}}}})"
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut o = Obj::new(format!("{name}[{i}]"), item, rendered)?;
            let s = FargateProfileSelector::builder()
                .set_namespace(o.str("namespace")?)
                .set_labels(o.str_map("labels")?)
                .build();
            o.finish()?;
            Ok(s)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn cluster_kwargs_are_read_and_unknown_keys_refused() {
        let b = cluster_kwargs(
            &json!({"version": "1.31", "tags": {"team": "data"},
                    "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": true}]},
                    "accessConfig": {"authenticationMode": "API"}}),
            true,
            CreateClusterInputBuilder::default(),
        )
        .unwrap();
        assert_eq!(b.get_version().as_deref(), Some("1.31"));
        assert_eq!(
            b.get_tags()
                .as_ref()
                .and_then(|t| t.get("team"))
                .map(String::as_str),
            Some("data")
        );
        let logging = b.get_logging().clone().unwrap();
        assert_eq!(logging.cluster_logging()[0].types().len(), 2);
        let e = cluster_kwargs(
            &json!({"versoin": "1"}),
            true,
            CreateClusterInputBuilder::default(),
        )
        .unwrap_err();
        assert!(
            e.starts_with("`create_cluster_kwargs.versoin` is not a setting airtask knows here"),
            "{e}"
        );
        let e = cluster_kwargs(
            &json!({"name": "x"}),
            true,
            CreateClusterInputBuilder::default(),
        )
        .unwrap_err();
        assert!(e.contains("must not contain `name`"), "{e}");
    }

    #[test]
    fn nodegroup_kwargs_keep_the_tags_apart() {
        let (b, tags) = nodegroup_kwargs(
            &json!({"scalingConfig": {"minSize": 1, "maxSize": 2, "desiredSize": 1},
                    "instanceTypes": ["t3.small"], "tags": {"a": "1"},
                    "taints": [{"key": "k", "value": "v", "effect": "NO_SCHEDULE"}]}),
            true,
            CreateNodegroupInputBuilder::default(),
        )
        .unwrap();
        assert_eq!(tags, [("a".to_owned(), "1".to_owned())]);
        assert_eq!(
            b.get_scaling_config().as_ref().and_then(|s| s.max_size()),
            Some(2)
        );
        assert_eq!(b.get_taints().as_ref().map(Vec::len), Some(1));
        assert!(
            nodegroup_kwargs(
                &json!({"diskSize": "x"}),
                true,
                CreateNodegroupInputBuilder::default()
            )
            .is_err()
        );
    }

    #[test]
    fn selectors_and_vpc_config() {
        let s = selectors(
            "selectors",
            &json!([{"namespace": "default", "labels": {"app": "x"}}]),
            true,
        )
        .unwrap();
        assert_eq!(s[0].namespace(), Some("default"));
        assert!(selectors("selectors", &json!({"namespace": "x"}), true).is_err());
        assert!(selectors("selectors", &json!([{"ns": "x"}]), true).is_err());
        let v = vpc_config(&json!({"subnetIds": ["s-1", "s-2"]}), true).unwrap();
        assert_eq!(v.subnet_ids().len(), 2);
        assert!(vpc_config(&json!({"subnets": ["s-1"]}), true).is_err());
    }
}
