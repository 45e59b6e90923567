//! `EC2CreateInstanceOperator`: RunInstances (ImageId, MinCount, MaxCount and `config`), then
//! with `wait_for_completion` boto3's `instance_running` waiter, one instance after the other.
//! XCom is the list of instance ids; on_kill terminates the instances it launched.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::run_instances::builders::RunInstancesInputBuilder;
use serde_json::{Value, json};

use crate::instances::WaiterParams;
use crate::run_config;
use crate::state::{HOOK_LOGGER, Waiter};

/// A configured `EC2CreateInstanceOperator`.
#[derive(Debug)]
pub struct EC2CreateInstanceOperator {
    aws: AwsParams,
    request: RunInstancesInputBuilder,
    wait: WaiterParams,
    /// The instances `execute` launched, for `on_kill`.
    launched: Option<(Client, Vec<String>)>,
}

impl Operator for EC2CreateInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2CreateInstanceOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "image_id",
            "max_count",
            "min_count",
            "config",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let image_id =
            p.required_str("image_id", "the id of the AMI to launch the instances from")?;
        let max_count = p.i64("max_count", 1..=i64::from(i32::MAX))?.unwrap_or(1);
        let min_count = p.i64("min_count", 1..=i64::from(i32::MAX))?.unwrap_or(1);
        let rendered = p.rendered();
        let config = match p.map("config")? {
            Some(m) => run_config::read(&Value::Object(m.clone()), rendered).map_err(|e| {
                ParamError::at(
                    "config",
                    format!("EC2CreateInstanceOperator parameter `config`: {e}"),
                )
            })?,
            None => RunInstancesInputBuilder::default(),
        };
        let wait = WaiterParams::read(p)?;
        // The bounds above keep both within i32.
        let (min, max) = (
            i32::try_from(min_count).unwrap_or(1),
            i32::try_from(max_count).unwrap_or(1),
        );
        Ok(EC2CreateInstanceOperator {
            aws,
            request: config.image_id(image_id).min_count(min).max_count(max),
            wait,
            launched: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_ec2))?;
        let image = self.request.get_image_id().clone().unwrap_or_default();
        let out =
            self.request.clone().send_with(&ec2).await.map_err(|e| {
                airtask_aws::error::task_error(&format!("RunInstances of {image}"), &e)
            })?;
        let ids: Vec<String> = out
            .instances()
            .iter()
            .filter_map(|i| i.instance_id().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            return Err(TaskError::retryable(
                "RunInstances answered without an instance",
            ));
        }
        self.launched = Some((ec2.clone(), ids.clone()));
        for id in &ids {
            ctx.info(&format!("Created EC2 instance {id}"));
            if self.wait.wait_for_completion {
                Waiter::Running
                    .wait(
                        ctx,
                        &ec2,
                        std::slice::from_ref(id),
                        self.wait.poll_interval,
                        self.wait.max_attempts,
                    )
                    .await?;
            }
        }
        self.launched = None;
        Ok(Outcome::Success(Some(json!(ids))))
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((ec2, ids)) = self.launched.take() else {
            return;
        };
        let list = ids.join(", ");
        ctx.info(&format!("on_kill: Terminating instance/s {list}"));
        ctx.hook_info(HOOK_LOGGER, &format!("Terminating instances: {ids:?}"));
        if let Err(e) = ec2
            .terminate_instances()
            .set_instance_ids(Some(ids))
            .send()
            .await
        {
            let err = airtask_aws::error::task_error(&format!("TerminateInstances {list}"), &e);
            ctx.error(&format!("on_kill could not terminate the instances: {err}"));
        }
    }

    /// RunInstances, which IAM authorizes on the AMI and on every resource it creates or
    /// uses (instances, volumes, network interfaces, the subnet and security groups, the key
    /// pair); `ec2:CreateTags` with `TagSpecifications`, `iam:PassRole` with an
    /// `IamInstanceProfile` (on any role: the profile's role is not a parameter);
    /// DescribeInstances with `wait_for_completion`; TerminateInstances on kill.
    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let ec2 = |r: &str| airtask_core::permissions::arn("ec2", region, r);
        let image = self.request.get_image_id().clone().unwrap_or_default();
        let key = self
            .request
            .get_key_name()
            .clone()
            .unwrap_or_else(|| "*".to_owned());
        let subnet = self
            .request
            .get_subnet_id()
            .clone()
            .unwrap_or_else(|| "*".to_owned());
        let mut out = vec![
            Permission::new(
                &["ec2:RunInstances"],
                [
                    format!(
                        "arn:aws:ec2:{}::image/{image}",
                        region.unwrap_or(airtask_core::permissions::REGION)
                    ),
                    ec2("instance/*"),
                    ec2("volume/*"),
                    ec2("network-interface/*"),
                    ec2(&format!("subnet/{subnet}")),
                    ec2("security-group/*"),
                    ec2(&format!("key-pair/{key}")),
                ],
            ),
            Permission::new(&["ec2:TerminateInstances"], [ec2("instance/*")]),
        ];
        if self.request.get_tag_specifications().is_some() {
            out.push(Permission::new(
                &["ec2:CreateTags"],
                [ec2("instance/*"), ec2("volume/*")],
            ));
        }
        if self.request.get_iam_instance_profile().is_some() {
            out.push(Permission::new(
                &["iam:PassRole"],
                [airtask_core::permissions::arn("iam", Some(""), "role/*")],
            ));
        }
        if self.wait.wait_for_completion {
            out.push(Permission::on_any(&["ec2:DescribeInstances"]));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use airtask_core::{Params, build_operator};

    use super::*;

    /// The provider's waiter defaults.
    const DEFAULT_WAIT: (Duration, u32) = (
        Duration::from_secs(crate::instances::DEFAULT_POLL_INTERVAL as u64),
        crate::instances::DEFAULT_MAX_ATTEMPTS,
    );

    fn build(v: Value) -> Result<EC2CreateInstanceOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EC2CreateInstanceOperator>(&p)
    }

    #[test]
    fn image_counts_and_config_make_the_request() {
        let op = build(json!({
            "image_id": "ami-1", "max_count": 3, "min_count": "2",
            "config": {"InstanceType": "t3.micro"},
        }))
        .unwrap();
        assert_eq!(op.request.get_image_id().as_deref(), Some("ami-1"));
        assert_eq!(op.request.get_min_count(), &Some(2));
        assert_eq!(op.request.get_max_count(), &Some(3));
        assert_eq!(
            op.request.get_instance_type().as_ref().map(|t| t.as_str()),
            Some("t3.micro")
        );
        assert!(!op.wait.wait_for_completion);
        assert_eq!((op.wait.poll_interval, op.wait.max_attempts), DEFAULT_WAIT);
    }

    #[test]
    fn bad_parameters_name_the_key() {
        let e = build(json!({"max_count": 1})).unwrap_err();
        assert!(e.message().contains("needs `image_id`"), "{e}");
        let e = build(json!({"image_id": "ami-1", "min_count": 0})).unwrap_err();
        assert_eq!(e.param(), Some("min_count"));
        let e = build(json!({"image_id": "ami-1", "config": {"ImageId": "ami-2"}})).unwrap_err();
        assert_eq!(e.param(), Some("config"));
        assert!(
            e.message().starts_with(
                "EC2CreateInstanceOperator parameter `config`: `config` must not contain `ImageId`"
            ),
            "{e}"
        );
        let e = build(json!({"image_id": "ami-1", "config": "x"})).unwrap_err();
        assert_eq!(e.param(), Some("config"));
    }
}
