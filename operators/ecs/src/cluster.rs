//! `EcsCreateClusterOperator` and `EcsDeleteClusterOperator`: CreateCluster / DeleteCluster,
//! then (unless the cluster is already ACTIVE / INACTIVE) the provider's `cluster_active` /
//! `cluster_inactive` waiter with `waiter_delay` and `waiter_max_attempts`. XCom: the cluster's
//! description as CreateCluster / DeleteCluster returned it.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_awsjson::{RawJson, show};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_ecs::Client;
use serde_json::{Map, Value, json};

use crate::{call, cluster_arn, kwargs_param};

/// Which waiter follows the call.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Waiter {
    /// `cluster_active`: ACTIVE succeeds; FAILED, INACTIVE and a missing cluster fail.
    Active,
    /// `cluster_inactive`: INACTIVE or a missing cluster succeeds; nothing fails.
    Inactive,
}

/// One DescribeClusters poll of `waiter` on cluster `arn`.
async fn poll(ecs: &Client, arn: &str, waiter: Waiter) -> Result<Poll<()>, TaskError> {
    let answer = call!(
        format!("DescribeClusters {arn}"),
        ecs.describe_clusters().clusters(arn),
        RawJson::answer_only()
    )?;
    classify(&answer, arn, waiter)
}

/// What a DescribeClusters answer means to `waiter`.
fn classify(answer: &Value, arn: &str, waiter: Waiter) -> Result<Poll<()>, TaskError> {
    let statuses: Vec<&str> = answer["clusters"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["status"].as_str())
        .collect();
    let missing = answer["failures"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["reason"] == "MISSING");
    let name = match waiter {
        Waiter::Active => "cluster_active",
        Waiter::Inactive => "cluster_inactive",
    };
    match waiter {
        Waiter::Active => {
            if statuses.contains(&"ACTIVE") {
                return Ok(Poll::Done(()));
            }
            if let Some(bad) = statuses
                .iter()
                .find(|s| matches!(**s, "FAILED" | "INACTIVE"))
            {
                return Err(TaskError::retryable(format!(
                    "Waiter {name} failed: Waiter encountered a terminal failure state: ECS \
                     cluster {arn} is {bad}"
                )));
            }
            if missing {
                return Err(TaskError::retryable(format!(
                    "Waiter {name} failed: Waiter encountered a terminal failure state: ECS \
                     cluster {arn} is MISSING"
                )));
            }
        }
        Waiter::Inactive => {
            if statuses.contains(&"INACTIVE") || missing {
                return Ok(Poll::Done(()));
            }
        }
    }
    Ok(Poll::Pending {
        state: statuses.first().copied().unwrap_or("unknown").to_owned(),
    })
}

/// The cluster's state and ARN in a CreateCluster / DeleteCluster answer.
fn cluster_of(answer: &Value) -> (Value, String, String) {
    let cluster = answer.get("cluster").cloned().unwrap_or(Value::Null);
    let state = cluster["status"].as_str().unwrap_or_default().to_owned();
    let arn = cluster["clusterArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (cluster, state, arn)
}

/// Reads `wait_for_completion`, `waiter_delay` (15), `waiter_max_attempts` (60), `deferrable`.
fn wait_settings(p: &mut ParamReader<'_>) -> Result<WaitSettings, ParamError> {
    WaitSettings::read(p, 15, 60)
}

/// Waits as the provider does after the call: not when the cluster already has its state;
/// with `deferrable` or `wait_for_completion` otherwise.
async fn wait_for(
    ctx: &TaskContext,
    settings: &WaitSettings,
    ecs: &Client,
    arn: &str,
    waiter: Waiter,
) -> Result<(), TaskError> {
    let mut settings = settings.clone();
    if !(settings.deferrable || settings.wait_for_completion) {
        return Ok(());
    }
    settings.waiter_delay = settings.waiter_delay.max(Duration::from_millis(1));
    wait::until_terminal(ctx, &settings, &format!("ECS cluster {arn}"), || {
        poll(ecs, arn, waiter)
    })
    .await
}

/// A configured `EcsCreateClusterOperator`.
#[derive(Debug)]
pub struct EcsCreateClusterOperator {
    aws: AwsParams,
    cluster_name: String,
    create_cluster_kwargs: Map<String, Value>,
    wait: WaitSettings,
}

impl Operator for EcsCreateClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ecs.EcsCreateClusterOperator",
        aliases: &[],
        // aws_template_fields("cluster_name", "create_cluster_kwargs", "wait_for_completion",
        // "deferrable"), sorted.
        template_fields: &[
            "aws_conn_id",
            "cluster_name",
            "create_cluster_kwargs",
            "deferrable",
            "region_name",
            "verify",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_name = p.required_str("cluster_name", "the name of the cluster to create")?;
        let create_cluster_kwargs = kwargs_param(
            p,
            "create_cluster_kwargs",
            "CreateCluster",
            &[("clusterName", "cluster_name")],
        )?;
        Ok(EcsCreateClusterOperator {
            aws,
            cluster_name,
            create_cluster_kwargs,
            wait: wait_settings(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        let kwargs = Value::Object(self.create_cluster_kwargs.clone());
        ctx.info(&format!(
            "Creating cluster '{}' using the following values: {}",
            self.cluster_name,
            show(&kwargs)
        ));
        let mut body = self.create_cluster_kwargs.clone();
        body.insert("clusterName".into(), json!(self.cluster_name));
        let answer = call!(
            format!("CreateCluster {}", self.cluster_name),
            ecs.create_cluster().cluster_name(&self.cluster_name),
            RawJson::new(&Value::Object(body))
        )?;
        let (cluster, state, arn) = cluster_of(&answer);
        if state == "ACTIVE" {
            ctx.info(&format!(
                "Cluster '{}' in state: '{state}'.",
                self.cluster_name
            ));
        } else {
            wait_for(ctx, &self.wait, &ecs, &arn, Waiter::Active).await?;
        }
        Ok(Outcome::Success(Some(cluster)))
    }

    /// CreateCluster (not scoped to a resource; `ecs:TagResource` too with `tags`, and the
    /// service-linked role ECS makes for a first cluster); DescribeClusters on the cluster
    /// when waiting.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::on_any(&["ecs:CreateCluster"])];
        if self.create_cluster_kwargs.contains_key("tags") {
            out.push(Permission::new(
                &["ecs:TagResource"],
                [cluster_arn(&self.aws, &self.cluster_name)],
            ));
        }
        out.push(Permission::new(
            &["iam:CreateServiceLinkedRole"],
            [airtask_core::permissions::arn(
                "iam",
                Some(""),
                "role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",
            )],
        ));
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(
                &["ecs:DescribeClusters"],
                [cluster_arn(&self.aws, &self.cluster_name)],
            ));
        }
        out
    }
}

/// A configured `EcsDeleteClusterOperator`.
#[derive(Debug)]
pub struct EcsDeleteClusterOperator {
    aws: AwsParams,
    cluster_name: String,
    wait: WaitSettings,
}

impl Operator for EcsDeleteClusterOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ecs.EcsDeleteClusterOperator",
        aliases: &[],
        template_fields: &["cluster_name", "wait_for_completion", "deferrable"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_name =
            p.required_str("cluster_name", "the name or ARN of the cluster to delete")?;
        Ok(EcsDeleteClusterOperator {
            aws,
            cluster_name,
            wait: wait_settings(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ecs = crate::client(ctx, &self.aws)?;
        ctx.info(&format!("Deleting cluster '{}'.", self.cluster_name));
        let answer = call!(
            format!("DeleteCluster {}", self.cluster_name),
            ecs.delete_cluster().cluster(&self.cluster_name),
            RawJson::new(&json!({"cluster": self.cluster_name}))
        )?;
        let (cluster, state, arn) = cluster_of(&answer);
        if state == "INACTIVE" {
            ctx.info(&format!(
                "Cluster '{}' in state: '{state}'.",
                self.cluster_name
            ));
        } else {
            wait_for(ctx, &self.wait, &ecs, &arn, Waiter::Inactive).await?;
        }
        Ok(Outcome::Success(Some(cluster)))
    }

    /// DeleteCluster on the cluster; DescribeClusters when waiting.
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["ecs:DeleteCluster"];
        if self.wait.wait_for_completion || self.wait.deferrable {
            actions.push("ecs:DescribeClusters");
        }
        vec![Permission::new(
            &actions,
            [cluster_arn(&self.aws, &self.cluster_name)],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn answer(status: &str) -> Value {
        json!({"clusters": [{"clusterArn": "arn:c", "status": status}], "failures": []})
    }

    #[test]
    fn the_waiters_follow_the_provider() {
        assert_eq!(
            classify(&answer("ACTIVE"), "arn:c", Waiter::Active).unwrap(),
            Poll::Done(())
        );
        assert_eq!(
            classify(&answer("PROVISIONING"), "arn:c", Waiter::Active).unwrap(),
            Poll::Pending {
                state: "PROVISIONING".into()
            }
        );
        let e = classify(&answer("INACTIVE"), "arn:c", Waiter::Active).unwrap_err();
        assert!(e.message.contains("cluster arn:c is INACTIVE"), "{e}");
        let missing = json!({"clusters": [], "failures": [{"arn": "arn:c", "reason": "MISSING"}]});
        assert!(classify(&missing, "arn:c", Waiter::Active).is_err());
        assert_eq!(
            classify(&missing, "arn:c", Waiter::Inactive).unwrap(),
            Poll::Done(())
        );
        assert_eq!(
            classify(&answer("DEPROVISIONING"), "arn:c", Waiter::Inactive).unwrap(),
            Poll::Pending {
                state: "DEPROVISIONING".into()
            }
        );
        // cluster_inactive has no failure state: FAILED waits on.
        assert!(matches!(
            classify(&answer("FAILED"), "arn:c", Waiter::Inactive),
            Ok(Poll::Pending { .. })
        ));
    }

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    #[test]
    fn create_reads_its_kwargs_and_declares_its_permissions() {
        let op: EcsCreateClusterOperator = build(json!({
            "cluster_name": "c1",
            "create_cluster_kwargs": {"tags": [{"key": "k", "value": "v"}], "settings": [{"name": "containerInsights", "value": "enabled"}]},
            "waiter_delay": 1
        }))
        .unwrap();
        assert_eq!(op.wait.waiter_max_attempts, 60);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(1));
        assert_eq!(
            op.permissions(),
            vec![
                Permission::on_any(&["ecs:CreateCluster"]),
                Permission::new(
                    &["ecs:TagResource"],
                    ["arn:aws:ecs:{region}:{account}:cluster/c1"]
                ),
                Permission::new(
                    &["iam:CreateServiceLinkedRole"],
                    [
                        "arn:aws:iam::{account}:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS"
                    ]
                ),
                Permission::new(
                    &["ecs:DescribeClusters"],
                    ["arn:aws:ecs:{region}:{account}:cluster/c1"]
                ),
            ]
        );
        let e = build::<EcsCreateClusterOperator>(
            json!({"cluster_name": "c", "create_cluster_kwargs": {"clusterName": "x"}}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("create_cluster_kwargs"));
        assert!(
            e.message().contains("from its parameter `cluster_name`"),
            "{e}"
        );
        let e = build::<EcsCreateClusterOperator>(
            json!({"cluster_name": "c", "create_cluster_kwargs": {"setting": []}}),
        )
        .unwrap_err();
        assert!(e.message().starts_with("EcsCreateClusterOperator parameter `create_cluster_kwargs` has the unknown key `setting`"), "{e}");
        let op: EcsDeleteClusterOperator =
            build(json!({"cluster_name": "c1", "wait_for_completion": false})).unwrap();
        assert_eq!(
            op.permissions(),
            vec![Permission::new(
                &["ecs:DeleteCluster"],
                ["arn:aws:ecs:{region}:{account}:cluster/c1"]
            )]
        );
    }
}
