//! The EKS operators and sensors through `airtask run-task` against the local endpoint:
//! a cluster with a node group created and waited for, sensed, refused deletion while the node
//! group is attached, then deleted with force_delete_compute; a cluster that fails and is torn
//! down; Fargate compute with the default selector, the Fargate operators and sensor; the node
//! group operators' and the sensors' failures. Clusters, node groups and profiles stay CREATING
//! or DELETING, and fail, through the endpoint's EKS patch (scripts/moto_patches/eks.py): tags
//! `moto:transition-reads`, `moto:create` and `moto:delete`.
//!
//! EksPodOperator runs against scripts/k8s_standin.py, a stand-in of the four Kubernetes API
//! calls it makes (create, read and delete a pod, read its log), served over TLS with a CA of
//! its own and refusing any request whose bearer token is not a valid EKS token of the cluster
//! (it recomputes the presigned URL's SigV4 signature); the cluster's endpoint and CA point at
//! it through the tags `moto:endpoint` and `moto:certificate-authority-data`. No real
//! Kubernetes cluster is involved. Every test has resource names of its own.

use std::path::PathBuf;
use std::process::{Child, Command};

use airtask_tests::{TempDir, endpoint, workspace_root};
use serde_json::Value;

use crate::flow::Flow;

const OPS: &str = "airflow.providers.amazon.aws.operators.eks";
const SENSORS: &str = "airflow.providers.amazon.aws.sensors.eks";
const ROLE: &str = "arn:aws:iam::123456789012:role/eks-cluster";
const NODE_ROLE: &str = "arn:aws:iam::123456789012:role/eks-nodes";
const POD_ROLE: &str = "arn:aws:iam::123456789012:role/eks-pods";

fn op(name: &str) -> String {
    format!("{OPS}.{name}")
}

fn sensor(name: &str) -> String {
    format!("{SENSORS}.{name}")
}

async fn eks() -> aws_sdk_eks::Client {
    aws_sdk_eks::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

/// Creates cluster `name` directly (ACTIVE at once unless `tags` say otherwise).
async fn cluster(name: &str, tags: &[(&str, &str)]) {
    let mut req = eks()
        .await
        .create_cluster()
        .name(name)
        .role_arn(ROLE)
        .resources_vpc_config(
            aws_sdk_eks::types::VpcConfigRequest::builder()
                .subnet_ids("subnet-1")
                .build(),
        );
    for (k, v) in tags {
        req = req.tags(*k, *v);
    }
    req.send().await.expect("CreateCluster");
}

/// Creates node group `ng` of `cluster` directly.
async fn nodegroup(cluster: &str, ng: &str, tags: &[(&str, &str)]) {
    let mut req = eks()
        .await
        .create_nodegroup()
        .cluster_name(cluster)
        .nodegroup_name(ng)
        .node_role(NODE_ROLE)
        .subnets("subnet-1");
    for (k, v) in tags {
        req = req.tags(*k, *v);
    }
    req.send().await.expect("CreateNodegroup");
}

/// The cluster's status, `None` when EKS does not know it (this read counts as one of its
/// transitional reads).
async fn cluster_status(name: &str) -> Option<String> {
    match eks().await.describe_cluster().name(name).send().await {
        Ok(out) => out
            .cluster()
            .and_then(|c| c.status())
            .map(|s| s.as_str().to_owned()),
        Err(e) => {
            let text = format!("{e:?}");
            assert!(text.contains("ResourceNotFoundException"), "{text}");
            None
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn eks_cluster_with_a_nodegroup_is_created_sensed_and_force_deleted() {
    let flow = Flow::new(
        "ekst_cluster",
        &[
            (
                "create",
                &op("EksCreateClusterOperator"),
                format!(
                    "cluster_name: ekst-c1\ncluster_role_arn: {ROLE}\nresources_vpc_config: {{subnetIds: [subnet-a, subnet-b]}}\ncompute: nodegroup\nnodegroup_name: ng1\nnodegroup_role_arn: {NODE_ROLE}\ncreate_cluster_kwargs: {{version: '1.31', tags: {{'moto:transition-reads': '2'}}}}\ncreate_nodegroup_kwargs: {{scalingConfig: {{minSize: 1, maxSize: 2, desiredSize: 1}}, tags: {{team: data, 'moto:transition-reads': '1'}}}}\nwait_for_completion: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "cluster_active",
                &sensor("EksClusterStateSensor"),
                "cluster_name: ekst-c1\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "nodegroup_active",
                &sensor("EksNodegroupStateSensor"),
                "cluster_name: ekst-c1\nnodegroup_name: ng1\ntarget_state: active\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "delete_refused",
                &op("EksDeleteClusterOperator"),
                "cluster_name: ekst-c1\nexecution_timeout: 6".to_owned(),
            ),
            (
                "delete",
                &op("EksDeleteClusterOperator"),
                "cluster_name: ekst-c1\nforce_delete_compute: true\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "cluster_gone",
                &sensor("EksClusterStateSensor"),
                "cluster_name: ekst-c1\ntarget_state: NONEXISTENT\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    assert!(run.xcom.is_none(), "the create operators return nothing");
    for line in [
        "Created Amazon EKS cluster with the name ekst-c1.",
        "Waiting for EKS Cluster to provision. This will take some time.",
        "EKS cluster ekst-c1 (waiter ClusterActive): CREATING (poll 1 of 40",
        "EKS cluster ekst-c1 (waiter ClusterActive): CREATING (poll 2 of 40",
        "Created an Amazon EKS managed node group named ng1 in Amazon EKS cluster ekst-c1",
        "Nodegroup status is: CREATING",
        "Nodegroup status is: ACTIVE",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let ng = eks()
        .await
        .describe_nodegroup()
        .cluster_name("ekst-c1")
        .nodegroup_name("ng1")
        .send()
        .await
        .expect("DescribeNodegroup");
    let ng = ng.nodegroup().expect("the node group");
    // The node group gets the cluster's subnets, the node role, the kwargs and the hook's tag.
    assert_eq!(ng.subnets(), ["subnet-a", "subnet-b"]);
    assert_eq!(ng.node_role(), Some(NODE_ROLE));
    assert_eq!(ng.scaling_config().and_then(|s| s.max_size()), Some(2));
    let tags = ng.tags().expect("tags");
    assert_eq!(
        tags.get("kubernetes.io/cluster/ekst-c1")
            .map(String::as_str),
        Some("owned")
    );
    assert_eq!(tags.get("team").map(String::as_str), Some("data"));

    let run = flow.expect("cluster_active", 0);
    assert!(run.log.contains("Current state: ACTIVE"), "{}", run.log);
    let run = flow.expect("nodegroup_active", 0);
    assert!(
        run.log.contains("Current state: ACTIVE") && run.log.contains("Success criteria met"),
        "{}",
        run.log
    );

    // Without force_delete_compute, EKS refuses while the node group is attached: the delete
    // is retried, and fails when the try's time runs out.
    let run = flow.expect("delete_refused", 1);
    assert!(
        run.error()
            .starts_with("DeleteCluster ekst-c1 failed: ResourceInUseException")
            && run.error().contains("Cluster has nodegroups attached")
            && run.error().contains("the resource stayed in use"),
        "{}",
        run.log
    );
    assert!(run.log.contains("trying again in 1 s"), "{}", run.log);

    let run = flow.expect("delete", 0);
    for line in [
        "A cluster can not be deleted with attached Amazon EKS managed node groups.  Deleting 1 Amazon EKS managed node groups.",
        "Waiting for all nodegroups to delete.  This will take some time.",
        "(waiter all_nodegroups_deleted): 1 left (ng1)",
        "No Amazon EKS managed node groups remain, deleting cluster.",
        "No AWS Fargate profiles remain, deleting cluster.",
        "Deleted Amazon EKS cluster with the name ekst-c1.",
        "EKS cluster ekst-c1 (waiter ClusterDeleted): DELETING (poll 1 of 40",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let run = flow.expect("cluster_gone", 0);
    assert!(
        run.log.contains("Current state: NONEXISTENT"),
        "{}",
        run.log
    );
    assert_eq!(cluster_status("ekst-c1").await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn eks_cluster_that_fails_to_create_is_torn_down() {
    let flow = Flow::new(
        "ekst_failed",
        &[
            (
                "create",
                &op("EksCreateClusterOperator"),
                format!(
                    "cluster_name: ekst-failed\ncluster_role_arn: {ROLE}\nresources_vpc_config: {{subnetIds: [subnet-a]}}\ncompute: null\ncreate_cluster_kwargs: {{tags: {{'moto:transition-reads': '1', 'moto:create': fails}}}}\ndeferrable: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "bad_compute",
                &op("EksCreateClusterOperator"),
                format!(
                    "cluster_name: ekst-never\ncluster_role_arn: {ROLE}\nresources_vpc_config: {{subnetIds: [subnet-a]}}\ncompute: fargate"
                ),
            ),
        ],
    );
    let run = flow.expect("create", 1);
    assert!(
        run.error().starts_with(
            "Waiter ClusterActive failed: Waiter encountered a terminal failure state: For \
             expression \"cluster.status\" we matched expected path: \"FAILED\""
        ),
        "{}",
        run.log
    );
    assert!(
        run.log
            .contains("deferrable is set: airtask waits in the task's process")
            && run
                .log
                .contains("Cluster failed to start and will be torn down.")
            && run
                .log
                .contains("(waiter ClusterDeleted): DELETING (poll 1 of 40")
            && run.log.contains("Cluster deleted"),
        "{}",
        run.log
    );
    assert_eq!(cluster_status("ekst-failed").await, None);

    // A missing role fails the try before any call (the provider's ValueError).
    let run = flow.expect("bad_compute", 1);
    assert!(
        run.error().contains(
            "Creating an AWS Fargate profiles requires fargate_pod_execution_role_arn to be \
             passed in"
        ),
        "{}",
        run.log
    );
    assert_eq!(cluster_status("ekst-never").await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn eks_fargate_profiles_are_created_sensed_and_deleted() {
    let flow = Flow::new(
        "ekst_fargate",
        &[
            (
                "create",
                &op("EksCreateClusterOperator"),
                format!(
                    "cluster_name: ekst-fg\ncluster_role_arn: {ROLE}\nresources_vpc_config: {{subnetIds: [subnet-a]}}\ncompute: fargate\nfargate_pod_execution_role_arn: {POD_ROLE}\nwaiter_delay: 0.2"
                ),
            ),
            (
                "create_profile",
                &op("EksCreateFargateProfileOperator"),
                format!(
                    "cluster_name: ekst-fg\nfargate_profile_name: jobs\npod_execution_role_arn: {POD_ROLE}\nselectors: [{{namespace: jobs, labels: {{app: etl}}}}]\ncreate_fargate_profile_kwargs: {{tags: {{'moto:transition-reads': '1'}}}}\nwait_for_completion: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "profile_active",
                &sensor("EksFargateProfileStateSensor"),
                "cluster_name: ekst-fg\nfargate_profile_name: jobs\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "delete_refused",
                &op("EksDeleteClusterOperator"),
                "cluster_name: ekst-fg\nexecution_timeout: 6".to_owned(),
            ),
            (
                "delete_profile",
                &op("EksDeleteFargateProfileOperator"),
                "cluster_name: ekst-fg\nfargate_profile_name: jobs\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "profile_gone",
                &sensor("EksFargateProfileStateSensor"),
                "cluster_name: ekst-fg\nfargate_profile_name: jobs\ntarget_state: NONEXISTENT\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "delete",
                &op("EksDeleteClusterOperator"),
                "cluster_name: ekst-fg\nforce_delete_compute: true\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create", 0);
    assert!(
        run.log.contains(
            "Created AWS Fargate profile with the name profile for Amazon EKS cluster ekst-fg."
        ),
        "{}",
        run.log
    );
    // Without wait_for_completion the profile is not waited for.
    assert!(
        !run.log.contains("Fargate profile status is"),
        "{}",
        run.log
    );
    let fp = eks()
        .await
        .describe_fargate_profile()
        .cluster_name("ekst-fg")
        .fargate_profile_name("profile")
        .send()
        .await
        .expect("DescribeFargateProfile");
    let fp = fp.fargate_profile().expect("the profile");
    assert_eq!(fp.pod_execution_role_arn(), Some(POD_ROLE));
    assert_eq!(fp.selectors()[0].namespace(), Some("default"));

    let run = flow.expect("create_profile", 0);
    for line in [
        "Waiting for Fargate profile to provision.  This will take some time.",
        "Fargate profile status is: CREATING",
        "Fargate profile status is: ACTIVE",
        "Fargate profile created successfully",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let run = flow.expect("profile_active", 0);
    assert!(run.log.contains("Current state: ACTIVE"), "{}", run.log);

    let run = flow.expect("delete_refused", 1);
    assert!(
        run.error().contains("ResourceInUseException")
            && run
                .error()
                .contains("Cluster has fargate profiles attached"),
        "{}",
        run.log
    );

    let run = flow.expect("delete_profile", 0);
    assert!(
        run.log.contains(
            "Deleted AWS Fargate profile with the name jobs from Amazon EKS cluster ekst-fg."
        ) && run
            .log
            .contains("(waiter FargateProfileDeleted): DELETING (poll 1 of 60")
            && run.log.contains("Fargate profile deleted successfully"),
        "{}",
        run.log
    );
    let run = flow.expect("profile_gone", 0);
    assert!(
        run.log.contains("Current state: NONEXISTENT"),
        "{}",
        run.log
    );

    let run = flow.expect("delete", 0);
    assert!(
        run.log.contains(
            "A cluster can not be deleted with attached AWS Fargate profiles.  Deleting 1 AWS \
             Fargate profiles."
        ) && run
            .log
            .contains("Deleted AWS Fargate profile with the name profile"),
        "{}",
        run.log
    );
    assert_eq!(cluster_status("ekst-fg").await, None);
}

#[tokio::test(flavor = "current_thread")]
async fn eks_nodegroup_operators_and_sensors_fail_as_the_provider_does() {
    cluster("ekst-ng", &[]).await;
    nodegroup("ekst-ng", "broken", &[("moto:create", "fails")]).await;
    nodegroup("ekst-ng", "stuck", &[("moto:transition-reads", "1000000")]).await;
    nodegroup(
        "ekst-ng",
        "sticky",
        &[("moto:delete", "fails"), ("moto:transition-reads", "1")],
    )
    .await;
    let flow = Flow::new(
        "ekst_ng",
        &[
            (
                "create_fails",
                &op("EksCreateNodegroupOperator"),
                format!(
                    "cluster_name: ekst-ng\nnodegroup_name: ng-fails\nnodegroup_subnets: \"['subnet-a', 'subnet-b']\"\nnodegroup_role_arn: {NODE_ROLE}\ncreate_nodegroup_kwargs: {{tags: {{'moto:transition-reads': '1', 'moto:create': fails}}}}\nwait_for_completion: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "create_slow",
                &op("EksCreateNodegroupOperator"),
                format!(
                    "cluster_name: ekst-ng\nnodegroup_name: ng-slow\nnodegroup_subnets: [subnet-a]\nnodegroup_role_arn: {NODE_ROLE}\ncreate_nodegroup_kwargs: {{tags: {{'moto:transition-reads': '1000000'}}}}\nwait_for_completion: true\nwaiter_delay: 0.2\nwaiter_max_attempts: 3\ndelete_nodegroup_on_failure: false"
                ),
            ),
            (
                "create_no_cluster",
                &op("EksCreateNodegroupOperator"),
                format!(
                    "cluster_name: ekst-nosuch\nnodegroup_subnets: [subnet-a]\nnodegroup_role_arn: {NODE_ROLE}"
                ),
            ),
            (
                "terminal",
                &sensor("EksNodegroupStateSensor"),
                "cluster_name: ekst-ng\nnodegroup_name: broken\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "no_cluster",
                &sensor("EksClusterStateSensor"),
                "cluster_name: ekst-nosuch\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "timeout",
                &sensor("EksNodegroupStateSensor"),
                "cluster_name: ekst-ng\nnodegroup_name: stuck\npoke_interval: 0.3\ntimeout: 1".to_owned(),
            ),
            (
                "delete_fails",
                &op("EksDeleteNodegroupOperator"),
                "cluster_name: ekst-ng\nnodegroup_name: sticky\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "delete_unknown",
                &op("EksDeleteNodegroupOperator"),
                "cluster_name: ekst-ng\nnodegroup_name: nosuch".to_owned(),
            ),
            (
                "bad_state",
                &sensor("EksFargateProfileStateSensor"),
                "cluster_name: ekst-ng\nfargate_profile_name: x\ntarget_state: DEGRADED".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create_fails", 1);
    assert!(
        run.error().starts_with(
            "Nodegroup creation failed: Waiter NodegroupActive failed: Waiter encountered a \
             terminal failure state: For expression \"nodegroup.status\" we matched expected \
             path: \"CREATE_FAILED\""
        ),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Nodegroup status is: CREATING")
            && run.log.contains(
                "Issued delete request for nodegroup 'ng-fails' in cluster 'ekst-ng' after failure."
            ),
        "{}",
        run.log
    );
    // The string of a Python list gave the subnets.
    let ng = eks()
        .await
        .describe_nodegroup()
        .cluster_name("ekst-ng")
        .nodegroup_name("ng-fails")
        .send()
        .await
        .expect("DescribeNodegroup: deleting, one read left");
    let ng = ng.nodegroup().expect("the node group");
    assert_eq!(ng.subnets(), ["subnet-a", "subnet-b"]);
    assert_eq!(ng.status().map(|s| s.as_str()), Some("DELETING"));

    let run = flow.expect("create_slow", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 3 attempts")
            && run.error().contains("Waiter error: max attempts reached"),
        "{}",
        run.log
    );
    assert!(!run.log.contains("Issued delete request"), "{}", run.log);

    let run = flow.expect("create_no_cluster", 1);
    assert!(
        run.error().starts_with(
            "CreateNodegroup nodegroup in EKS cluster ekst-nosuch failed: ResourceNotFoundException"
        ),
        "{}",
        run.log
    );

    let run = flow.expect("terminal", 1);
    assert!(
        run.error().starts_with(
            "Terminal state reached. Current state: CREATE_FAILED, Expected state: ACTIVE"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("no_cluster", 1);
    assert!(
        run.error().starts_with(
            "Terminal state reached. Current state: NONEXISTENT, Expected state: ACTIVE"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("timeout", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
    assert!(run.log.contains("Current state: CREATING"), "{}", run.log);

    let run = flow.expect("delete_fails", 1);
    assert!(
        run.error().starts_with(
            "Waiter NodegroupDeleted failed: Waiter encountered a terminal failure state: For \
             expression \"nodegroup.status\" we matched expected path: \"DELETE_FAILED\""
        ),
        "{}",
        run.log
    );
    assert!(run.log.contains("DELETING (poll 1 of 40"), "{}", run.log);

    let run = flow.expect("delete_unknown", 1);
    assert!(
        run.error().starts_with(
            "DeleteNodegroup nosuch of EKS cluster ekst-ng failed: ResourceNotFoundException"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("bad_state", 2);
    assert!(
        run.error().contains("'DEGRADED' is not a valid state"),
        "{}",
        run.log
    );
}

/// Creates Fargate profile `name` of `cluster` directly.
async fn fargate_profile(cluster: &str, name: &str, tags: &[(&str, &str)]) {
    let mut req = eks()
        .await
        .create_fargate_profile()
        .cluster_name(cluster)
        .fargate_profile_name(name)
        .pod_execution_role_arn(POD_ROLE)
        .selectors(
            aws_sdk_eks::types::FargateProfileSelector::builder()
                .namespace("jobs")
                .build(),
        );
    for (k, v) in tags {
        req = req.tags(*k, *v);
    }
    req.send().await.expect("CreateFargateProfile");
}

#[tokio::test(flavor = "current_thread")]
async fn eks_nodegroups_are_created_and_deleted_and_the_other_failures() {
    cluster("ekst-more", &[]).await;
    fargate_profile(
        "ekst-more",
        "sticky",
        &[("moto:delete", "fails"), ("moto:transition-reads", "1")],
    )
    .await;
    let flow = Flow::new(
        "ekst_more",
        &[
            (
                "create_ng",
                &op("EksCreateNodegroupOperator"),
                format!(
                    "cluster_name: ekst-more\nnodegroup_name: workers\nnodegroup_subnets: [subnet-a]\nnodegroup_role_arn: {NODE_ROLE}\ncreate_nodegroup_kwargs: {{instanceTypes: [m5.large], labels: {{tier: batch}}, tags: {{'moto:transition-reads': '1'}}}}\nwait_for_completion: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "delete_ng",
                &op("EksDeleteNodegroupOperator"),
                "cluster_name: ekst-more\nnodegroup_name: workers\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "ng_gone",
                &sensor("EksNodegroupStateSensor"),
                "cluster_name: ekst-more\nnodegroup_name: workers\ntarget_state: NONEXISTENT\npoke_interval: 0.2\ntimeout: 30".to_owned(),
            ),
            (
                "profile_fails",
                &op("EksCreateFargateProfileOperator"),
                format!(
                    "cluster_name: ekst-more\nfargate_profile_name: broken\npod_execution_role_arn: {POD_ROLE}\nselectors: [{{namespace: jobs}}]\ncreate_fargate_profile_kwargs: {{tags: {{'moto:transition-reads': '1', 'moto:create': fails}}}}\nwait_for_completion: true\nwaiter_delay: 0.2"
                ),
            ),
            (
                "profile_delete_fails",
                &op("EksDeleteFargateProfileOperator"),
                "cluster_name: ekst-more\nfargate_profile_name: sticky\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
            (
                "profile_unknown",
                &op("EksDeleteFargateProfileOperator"),
                "cluster_name: ekst-more\nfargate_profile_name: nosuch".to_owned(),
            ),
            (
                "cluster_exists",
                &op("EksCreateClusterOperator"),
                format!(
                    "cluster_name: ekst-more\ncluster_role_arn: {ROLE}\nresources_vpc_config: {{subnetIds: [subnet-a]}}\ncompute: null"
                ),
            ),
            (
                "cluster_unknown",
                &op("EksDeleteClusterOperator"),
                "cluster_name: ekst-nosuch\nwait_for_completion: true\nwaiter_delay: 0.2".to_owned(),
            ),
        ],
    );
    let run = flow.expect("create_ng", 0);
    assert!(run.xcom.is_none(), "{}", run.log);
    for line in [
        "Created an Amazon EKS managed node group named workers in Amazon EKS cluster ekst-more",
        "Waiting for nodegroup to provision. This will take some time.",
        "Nodegroup status is: CREATING",
        "Nodegroup status is: ACTIVE",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let ng = eks()
        .await
        .describe_nodegroup()
        .cluster_name("ekst-more")
        .nodegroup_name("workers")
        .send()
        .await
        .expect("DescribeNodegroup");
    let ng = ng.nodegroup().expect("the node group");
    assert_eq!(ng.subnets(), ["subnet-a"]);
    assert_eq!(ng.instance_types(), ["m5.large"]);
    assert_eq!(
        ng.labels().and_then(|l| l.get("tier")).map(String::as_str),
        Some("batch")
    );

    let run = flow.expect("delete_ng", 0);
    assert!(run.xcom.is_none(), "{}", run.log);
    for line in [
        "Deleted Amazon EKS managed node group named workers from Amazon EKS cluster ekst-more.",
        "Waiting for nodegroup to delete.  This will take some time.",
        "(waiter NodegroupDeleted): DELETING (poll 1 of 40",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let run = flow.expect("ng_gone", 0);
    assert!(
        run.log.contains("Current state: NONEXISTENT"),
        "{}",
        run.log
    );

    let run = flow.expect("profile_fails", 1);
    assert!(
        run.error().starts_with(
            "Fargate profile creation failed: Waiter FargateProfileActive failed: Waiter \
             encountered a terminal failure state: For expression \"fargateProfile.status\" we \
             matched expected path: \"CREATE_FAILED\""
        ),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Fargate profile status is: CREATING"),
        "{}",
        run.log
    );

    let run = flow.expect("profile_delete_fails", 1);
    assert!(
        run.error().starts_with(
            "Waiter FargateProfileDeleted failed: Waiter encountered a terminal failure state: \
             For expression \"fargateProfile.status\" we matched expected path: \
             \"DELETE_FAILED\""
        ),
        "{}",
        run.log
    );
    assert!(
        !run.log.contains("Fargate profile deleted successfully"),
        "{}",
        run.log
    );

    let run = flow.expect("profile_unknown", 1);
    assert!(
        run.error().starts_with(
            "DeleteFargateProfile nosuch of EKS cluster ekst-more failed: \
             ResourceNotFoundException"
        ),
        "{}",
        run.log
    );

    let run = flow.expect("cluster_exists", 1);
    assert!(
        run.error()
            .starts_with("CreateCluster ekst-more failed: ResourceInUseException"),
        "{}",
        run.log
    );

    let run = flow.expect("cluster_unknown", 1);
    assert!(
        run.error()
            .starts_with("DeleteCluster ekst-nosuch failed: ResourceNotFoundException"),
        "{}",
        run.log
    );
    assert_eq!(cluster_status("ekst-nosuch").await, None);
}

/// A running scripts/k8s_standin.py for cluster `cluster`, and the EKS cluster `cluster` whose
/// endpoint and CA point at it.
struct StandIn {
    child: Child,
    dir: TempDir,
}

impl StandIn {
    async fn start(standin_for: &str, cluster_name: &str) -> StandIn {
        let dir = TempDir::new(&format!("k8s-{cluster_name}"));
        let python: PathBuf = workspace_root().join(".venv-aws/bin/python");
        let secret = std::env::var("AWS_SECRET_ACCESS_KEY").expect("the test credentials");
        let child = Command::new(python)
            .arg(workspace_root().join("scripts/k8s_standin.py"))
            .arg("--dir")
            .arg(dir.path())
            .args(["--cluster", standin_for, "--secret", secret.as_str()])
            .spawn()
            .expect("start scripts/k8s_standin.py");
        let port_file = dir.path().join("port");
        let mut port = String::new();
        for _ in 0..300 {
            if let Ok(p) = std::fs::read_to_string(&port_file) {
                port = p.trim().to_owned();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        // From here on a failed assertion stops the stand-in (its Drop).
        let standin = StandIn { child, dir };
        assert!(!port.is_empty(), "the Kubernetes stand-in did not start");
        let ca =
            std::fs::read_to_string(standin.dir.path().join("ca.b64")).expect("the stand-in's CA");
        let url = format!("https://127.0.0.1:{port}");
        // A cluster of an earlier run against the same endpoint points at a stand-in that is
        // gone: it is replaced.
        let _ = eks().await.delete_cluster().name(cluster_name).send().await;
        cluster(
            cluster_name,
            &[
                ("moto:endpoint", url.as_str()),
                ("moto:certificate-authority-data", ca.as_str()),
            ],
        )
        .await;
        standin
    }

    /// The requests the stand-in received.
    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.dir.path().join("journal.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("a journal line"))
            .collect()
    }

    /// The requests of `method` whose path ends with `suffix`.
    fn requests(&self, method: &str, suffix: &str) -> Vec<Value> {
        self.journal()
            .into_iter()
            .filter(|r| {
                r["method"] == method && r["path"].as_str().is_some_and(|p| p.ends_with(suffix))
            })
            .collect()
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pod_params(cluster: &str, extra: &str) -> String {
    format!("cluster_name: {cluster}\nstartup_check_interval_seconds: 0.2\n{extra}")
}

#[tokio::test(flavor = "current_thread")]
async fn eks_pod_operator_runs_a_pod_through_the_kubernetes_api() {
    let k8s = StandIn::start("ekst-pods", "ekst-pods").await;
    let flow = Flow::new(
        "ekst_pods",
        &[
            (
                "echo",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "namespace: jobs\npod_name: My_Pod\nimage: standin/echo\ncmds: [sh, -c]\narguments: ['hello {{ ds }}', second line]\nenv_vars: {GREETING: hi}\nlabels: {team: data}\nannotations: {owner: etl}\ncontainer_resources: {limits: {memory: 128Mi}}",
                ),
            ),
            (
                "fails",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "image: standin/fail\narguments: [working]\nenv_vars: [{name: EXIT_CODE, value: '3'}]\non_finish_action: delete_succeeded_pod",
                ),
            ),
            (
                "skips",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "image: standin/fail\nenv_vars: {EXIT_CODE: '3'}\nskip_on_exit_code: 3\nget_logs: false\nbase_container_status_polling_interval: 0.2",
                ),
            ),
            (
                "badimage",
                &op("EksPodOperator"),
                pod_params("ekst-pods", "image: standin/badimage\npod_name: bad"),
            ),
            (
                "unschedulable",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "image: standin/unschedulable\npod_name: kept\nrandom_name_suffix: false\nschedule_timeout_seconds: 1\nis_delete_operator_pod: false",
                ),
            ),
            (
                "taken",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "image: standin/echo\npod_name: kept\nrandom_name_suffix: false",
                ),
            ),
            (
                "stuck",
                &op("EksPodOperator"),
                pod_params(
                    "ekst-pods",
                    "image: standin/stuck\nstartup_timeout_seconds: 1",
                ),
            ),
        ],
    );
    let run = flow.expect("echo", 0);
    assert!(
        run.xcom.is_none(),
        "no do_xcom_push sidecar: no return value"
    );
    let name = flow
        .xcom("echo", "pod_name")
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| panic!("no pod_name XCom:\n{}", run.log));
    assert!(
        name.starts_with("my-pod-") && name.len() == "my-pod-".len() + 8,
        "{name}"
    );
    assert_eq!(
        flow.xcom("echo", "pod_namespace"),
        Some(Value::from("jobs"))
    );
    let deleting = format!("Deleting pod: {name}");
    for line in [
        "[base] hello 2025-03-09",
        "[base] second line",
        "[base] env GREETING=hi",
        deleting.as_str(),
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    // Every request carried a valid EKS token of the cluster.
    let journal = k8s.journal();
    assert!(!journal.is_empty());
    for r in &journal {
        assert_eq!(r["auth"], "ok", "{r}");
    }
    let created = k8s.requests("POST", "/api/v1/namespaces/jobs/pods");
    assert_eq!(created.len(), 1, "{journal:?}");
    let pod = &created[0]["body"];
    assert_eq!(pod["metadata"]["name"], Value::from(name.clone()));
    assert_eq!(pod["spec"]["restartPolicy"], "Never");
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["name"], "base");
    assert_eq!(c["image"], "standin/echo");
    assert_eq!(c["command"], serde_json::json!(["sh", "-c"]));
    assert_eq!(
        c["args"],
        serde_json::json!(["hello 2025-03-09", "second line"])
    );
    assert_eq!(
        c["env"],
        serde_json::json!([{"name": "GREETING", "value": "hi"}])
    );
    assert_eq!(c["resources"]["limits"]["memory"], "128Mi");
    let labels = &pod["metadata"]["labels"];
    assert_eq!(labels["team"], "data");
    assert_eq!(labels["task_id"], "echo");
    assert_eq!(labels["dag_id"], "ekst_pods");
    assert_eq!(labels["kubernetes_pod_operator"], "True");
    assert_eq!(labels["try_number"], "1");
    assert_eq!(pod["metadata"]["annotations"]["owner"], "etl");
    assert_eq!(k8s.requests("DELETE", &format!("/pods/{name}")).len(), 1);
    assert_eq!(k8s.requests("GET", &format!("/pods/{name}/log")).len(), 1);

    let run = flow.expect("fails", 1);
    assert!(
        run.error().contains("returned a failure (phase Failed).")
            && run.error().contains("standin: failed on purpose"),
        "{}",
        run.log
    );
    assert!(run.log.contains("[base] working"), "{}", run.log);
    // delete_succeeded_pod keeps a failed pod.
    assert!(
        run.log.contains("Skipping deleting pod: fails-"),
        "{}",
        run.log
    );
    let failed = flow
        .xcom("fails", "pod_name")
        .and_then(|v| v.as_str().map(str::to_owned));
    assert!(failed.is_none(), "a failed task keeps no XCom");

    let run = flow.expect("skips", 0);
    assert_eq!(run.record["status"], "SKIPPED", "{}", run.log);
    assert!(
        run.error().contains("returned exit code 3. Skipping."),
        "{}",
        run.log
    );
    assert!(!run.log.contains("[base]"), "get_logs: false: {}", run.log);

    let run = flow.expect("badimage", 1);
    assert!(
        run.error()
            .starts_with("Pod docker image cannot be pulled, unable to start: ErrImagePull"),
        "{}",
        run.log
    );
    assert!(run.log.contains("Deleting pod: bad-"), "{}", run.log);

    let run = flow.expect("unschedulable", 1);
    assert!(
        run.error().starts_with(
            "Pod took too long to be scheduled on the cluster, giving up. More than 1s."
        ),
        "{}",
        run.log
    );
    // is_delete_operator_pod: false keeps it.
    assert!(
        run.log.contains("Skipping deleting pod: kept"),
        "{}",
        run.log
    );

    // A pod of that name exists: the API refuses the create, and the task leaves that pod be.
    let run = flow.expect("taken", 1);
    assert!(
        run.error().starts_with(
            "Kubernetes API: creating pod kept in namespace default failed: HTTP 409 \
             AlreadyExists: pods \"kept\" already exists"
        ),
        "{}",
        run.log
    );
    assert!(!run.log.contains("Deleting pod"), "{}", run.log);

    // Scheduled, but its container never starts.
    let run = flow.expect("stuck", 1);
    assert!(
        run.error()
            .starts_with("Pod took too long to start. More than 1s."),
        "{}",
        run.log
    );
    assert!(run.log.contains("Deleting pod: stuck-"), "{}", run.log);

    // Deleted: echo, skips (delete_pod), badimage and stuck; kept: fails and kept.
    assert_eq!(k8s.requests("DELETE", "").len(), 4, "{:?}", k8s.journal());
    assert_eq!(k8s.requests("DELETE", "/pods/kept").len(), 0);
}

#[tokio::test(flavor = "current_thread")]
async fn eks_pod_operator_deletes_its_pod_on_kill_and_needs_a_valid_token() {
    let k8s = StandIn::start("ekst-kill", "ekst-kill").await;
    // A stand-in that serves another cluster: the token of ekst-wrong does not verify there.
    let other = StandIn::start("ekst-other", "ekst-wrong").await;
    let flow = Flow::new(
        "ekst_kill",
        &[
            (
                "sleeps",
                &op("EksPodOperator"),
                pod_params("ekst-kill", "image: standin/sleep\narguments: [started]"),
            ),
            (
                "unauthorized",
                &op("EksPodOperator"),
                pod_params("ekst-wrong", "image: standin/echo"),
            ),
        ],
    );
    let started = flow.start_until("sleeps", |l| l.contains("[base] started"));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(log.contains("on_kill: deleting pod sleeps-"), "{log}");
    assert_eq!(k8s.requests("DELETE", "").len(), 1, "{:?}", k8s.journal());

    let run = flow.expect("unauthorized", 1);
    assert!(
        run.error().contains("HTTP 401") && run.error().contains("access entries"),
        "{}",
        run.log
    );
    let journal = other.journal();
    assert!(
        journal.iter().all(|r| r["auth"]
            .as_str()
            .is_some_and(|a| a.contains("does not verify for cluster ekst-other"))),
        "{journal:?}"
    );
}
