//! The operators that act on existing instances: start and stop one instance (and wait for
//! its state, as the hook's `wait_for_state` does), reboot, hibernate and terminate one or
//! more (and with `wait_for_completion`, wait as boto3's instance waiters do). None returns a
//! value.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_ec2::Client;

use crate::state::{self, HOOK_LOGGER, Waiter};

/// The provider's default `check_interval` of the start and stop operators.
const DEFAULT_CHECK_INTERVAL: f64 = 15.0;

/// The provider's default `poll_interval` and `max_attempts` of the waiting operators.
pub(crate) const DEFAULT_POLL_INTERVAL: f64 = 20.0;
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 20;

/// The waiting parameters of reboot, hibernate and terminate (and create).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct WaiterParams {
    /// `wait_for_completion` (default false).
    pub(crate) wait_for_completion: bool,
    /// `poll_interval`: the waiter's Delay.
    pub(crate) poll_interval: Duration,
    /// `max_attempts`: the waiter's MaxAttempts.
    pub(crate) max_attempts: u32,
}

impl WaiterParams {
    /// Reads `wait_for_completion`, `poll_interval` and `max_attempts` with the provider's
    /// defaults (false, 20 s, 20).
    pub(crate) fn read(p: &mut ParamReader<'_>) -> Result<WaiterParams, ParamError> {
        Ok(WaiterParams {
            wait_for_completion: p.bool("wait_for_completion", false)?,
            poll_interval: Duration::from_secs_f64(
                p.seconds("poll_interval", DEFAULT_POLL_INTERVAL)?,
            ),
            max_attempts: p
                .u32("max_attempts", 1..=u32::MAX)?
                .unwrap_or(DEFAULT_MAX_ATTEMPTS),
        })
    }

    async fn wait(
        &self,
        ctx: &TaskContext,
        ec2: &Client,
        waiter: Waiter,
        ids: &[String],
    ) -> Result<(), TaskError> {
        waiter
            .wait(ctx, ec2, ids, self.poll_interval, self.max_attempts)
            .await
    }
}

/// `instance_ids`: one id or a list of them (the provider takes both).
fn instance_ids(p: &mut ParamReader<'_>, what: &str) -> Result<Vec<String>, ParamError> {
    let ids = p.str_or_list("instance_ids")?.unwrap_or_default();
    if ids.is_empty() {
        return Err(ParamError::at(
            "instance_ids",
            format!(
                "{} needs `instance_ids`: the id of the instance to {what}, or a list of ids",
                p.operator()
            ),
        ));
    }
    Ok(ids)
}

fn check_interval(p: &mut ParamReader<'_>) -> Result<Duration, ParamError> {
    Ok(Duration::from_secs_f64(
        p.seconds("check_interval", DEFAULT_CHECK_INTERVAL)?,
    ))
}

/// The ARNs of the instances `ids` in the operator's region.
pub(crate) fn instance_arns<'a>(
    aws: &AwsParams,
    ids: impl IntoIterator<Item = &'a String>,
) -> Vec<String> {
    ids.into_iter()
        .map(|id| airtask_core::permissions::arn("ec2", aws.region(), &format!("instance/{id}")))
        .collect()
}

/// `action` on the instances, and DescribeInstances (which IAM does not scope) when `describe`.
fn on_instances(
    aws: &AwsParams,
    ids: &[String],
    action: &'static str,
    describe: bool,
) -> Vec<Permission> {
    let mut out = vec![Permission::new(&[action], instance_arns(aws, ids))];
    if describe {
        out.push(Permission::on_any(&["ec2:DescribeInstances"]));
    }
    out
}

fn ec2(ctx: &TaskContext, aws: &AwsParams) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_ec2))
}

/// A configured `EC2StartInstanceOperator`: StartInstances, then wait until running.
#[derive(Debug)]
pub struct EC2StartInstanceOperator {
    aws: AwsParams,
    instance_id: String,
    check_interval: Duration,
}

impl Operator for EC2StartInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2StartInstanceOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.ec2_start_instance.EC2StartInstanceOperator",
        ],
        template_fields: &["aws_conn_id", "region_name", "verify", "instance_id"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let instance_id = p.required_str("instance_id", "the id of the EC2 instance to start")?;
        let check_interval = check_interval(p)?;
        Ok(EC2StartInstanceOperator {
            aws,
            instance_id,
            check_interval,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = ec2(ctx, &self.aws)?;
        let id = &self.instance_id;
        ctx.info(&format!("Starting EC2 instance {id}"));
        ec2.start_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("StartInstances {id}"), &e))?;
        state::wait_for_state(ctx, &ec2, id, "running", self.check_interval).await?;
        Ok(Outcome::Success(None))
    }

    /// StartInstances on the instance, then DescribeInstances until it runs.
    fn permissions(&self) -> Vec<Permission> {
        on_instances(
            &self.aws,
            std::slice::from_ref(&self.instance_id),
            "ec2:StartInstances",
            true,
        )
    }
}

/// A configured `EC2StopInstanceOperator`: StopInstances, then wait until stopped.
#[derive(Debug)]
pub struct EC2StopInstanceOperator {
    aws: AwsParams,
    instance_id: String,
    check_interval: Duration,
}

impl Operator for EC2StopInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2StopInstanceOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.ec2_stop_instance.EC2StopInstanceOperator",
        ],
        template_fields: &["aws_conn_id", "region_name", "verify", "instance_id"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let instance_id = p.required_str("instance_id", "the id of the EC2 instance to stop")?;
        let check_interval = check_interval(p)?;
        Ok(EC2StopInstanceOperator {
            aws,
            instance_id,
            check_interval,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = ec2(ctx, &self.aws)?;
        let id = &self.instance_id;
        ctx.info(&format!("Stopping EC2 instance {id}"));
        ec2.stop_instances()
            .instance_ids(id)
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("StopInstances {id}"), &e))?;
        state::wait_for_state(ctx, &ec2, id, "stopped", self.check_interval).await?;
        Ok(Outcome::Success(None))
    }

    /// StopInstances on the instance, then DescribeInstances until it stopped.
    fn permissions(&self) -> Vec<Permission> {
        on_instances(
            &self.aws,
            std::slice::from_ref(&self.instance_id),
            "ec2:StopInstances",
            true,
        )
    }
}

/// A configured `EC2RebootInstanceOperator`: RebootInstances, then (with
/// `wait_for_completion`) boto3's `instance_running` waiter over every instance.
#[derive(Debug)]
pub struct EC2RebootInstanceOperator {
    aws: AwsParams,
    instance_ids: Vec<String>,
    wait: WaiterParams,
}

impl Operator for EC2RebootInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2RebootInstanceOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "verify", "instance_ids"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(EC2RebootInstanceOperator {
            aws: AwsParams::read(p)?,
            instance_ids: instance_ids(p, "reboot")?,
            wait: WaiterParams::read(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = ec2(ctx, &self.aws)?;
        let ids = self.instance_ids.join(", ");
        ctx.info(&format!("Rebooting EC2 instances {ids}"));
        ec2.reboot_instances()
            .set_instance_ids(Some(self.instance_ids.clone()))
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("RebootInstances {ids}"), &e))?;
        if self.wait.wait_for_completion {
            self.wait
                .wait(ctx, &ec2, Waiter::Running, &self.instance_ids)
                .await?;
        }
        Ok(Outcome::Success(None))
    }

    /// RebootInstances on the instances; DescribeInstances with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        on_instances(
            &self.aws,
            &self.instance_ids,
            "ec2:RebootInstances",
            self.wait.wait_for_completion,
        )
    }
}

/// A configured `EC2HibernateInstanceOperator`: checks that every instance is configured for
/// hibernation, StopInstances with Hibernate, then (with `wait_for_completion`) boto3's
/// `instance_stopped` waiter over every instance.
#[derive(Debug)]
pub struct EC2HibernateInstanceOperator {
    aws: AwsParams,
    instance_ids: Vec<String>,
    wait: WaiterParams,
}

impl Operator for EC2HibernateInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2HibernateInstanceOperator",
        aliases: &[],
        template_fields: &["aws_conn_id", "region_name", "verify", "instance_ids"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(EC2HibernateInstanceOperator {
            aws: AwsParams::read(p)?,
            instance_ids: instance_ids(p, "hibernate")?,
            wait: WaiterParams::read(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = ec2(ctx, &self.aws)?;
        let ids = self.instance_ids.join(", ");
        ctx.info(&format!("Hibernating EC2 instances {ids}"));
        ctx.hook_info(HOOK_LOGGER, "Filters provided: []");
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Instance ids provided: {:?}", self.instance_ids),
        );
        for seen in state::describe(&ec2, &self.instance_ids).await? {
            if !seen.hibernation {
                return Err(TaskError::fatal(format!(
                    "Instance {} is not configured for hibernation (its HibernationOptions \
                     must say Configured: true, which is set when the instance is launched)",
                    seen.id
                )));
            }
        }
        ec2.stop_instances()
            .set_instance_ids(Some(self.instance_ids.clone()))
            .hibernate(true)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("StopInstances {ids} with Hibernate"), &e)
            })?;
        if self.wait.wait_for_completion {
            self.wait
                .wait(ctx, &ec2, Waiter::Stopped, &self.instance_ids)
                .await?;
        }
        Ok(Outcome::Success(None))
    }

    /// DescribeInstances (each must be configured for hibernation), StopInstances with
    /// Hibernate on the instances.
    fn permissions(&self) -> Vec<Permission> {
        on_instances(&self.aws, &self.instance_ids, "ec2:StopInstances", true)
    }
}

/// A configured `EC2TerminateInstanceOperator`: TerminateInstances, then (with
/// `wait_for_completion`) boto3's `instance_terminated` waiter, one instance after the other.
#[derive(Debug)]
pub struct EC2TerminateInstanceOperator {
    aws: AwsParams,
    instance_ids: Vec<String>,
    wait: WaiterParams,
}

impl Operator for EC2TerminateInstanceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.ec2.EC2TerminateInstanceOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "instance_ids",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(EC2TerminateInstanceOperator {
            aws: AwsParams::read(p)?,
            instance_ids: instance_ids(p, "terminate")?,
            wait: WaiterParams::read(p)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = ec2(ctx, &self.aws)?;
        let ids = self.instance_ids.join(", ");
        ec2.terminate_instances()
            .set_instance_ids(Some(self.instance_ids.clone()))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("TerminateInstances {ids}"), &e)
            })?;
        for id in &self.instance_ids {
            ctx.info(&format!("Terminating EC2 instance {id}"));
            if self.wait.wait_for_completion {
                self.wait
                    .wait(ctx, &ec2, Waiter::Terminated, std::slice::from_ref(id))
                    .await?;
            }
        }
        Ok(Outcome::Success(None))
    }

    /// TerminateInstances on the instances; DescribeInstances with `wait_for_completion`.
    fn permissions(&self) -> Vec<Permission> {
        on_instances(
            &self.aws,
            &self.instance_ids,
            "ec2:TerminateInstances",
            self.wait.wait_for_completion,
        )
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::{Value, json};

    use super::*;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_follow_the_provider() {
        let op = build_operator::<EC2StartInstanceOperator>(&params(json!({"instance_id": "i-1"})))
            .unwrap();
        assert_eq!(op.check_interval, Duration::from_secs(15));
        let op =
            build_operator::<EC2TerminateInstanceOperator>(&params(json!({"instance_ids": "i-1"})))
                .unwrap();
        assert_eq!(op.instance_ids, ["i-1"]);
        assert_eq!(
            op.wait,
            WaiterParams {
                wait_for_completion: false,
                poll_interval: Duration::from_secs(20),
                max_attempts: 20,
            }
        );
        let op = build_operator::<EC2RebootInstanceOperator>(&params(json!({
            "instance_ids": ["i-1", "i-2"], "wait_for_completion": true,
            "poll_interval": 1, "max_attempts": 3,
        })))
        .unwrap();
        assert_eq!(op.instance_ids, ["i-1", "i-2"]);
        assert!(op.wait.wait_for_completion);
        assert_eq!(op.wait.max_attempts, 3);
    }

    #[test]
    fn missing_and_ill_typed_ids_are_refused() {
        let e = build_operator::<EC2HibernateInstanceOperator>(&params(json!({}))).unwrap_err();
        assert_eq!(e.param(), Some("instance_ids"));
        assert!(e.message().contains("needs `instance_ids`"), "{e}");
        let e = build_operator::<EC2StopInstanceOperator>(&params(json!({"instance_id": 3})))
            .unwrap_err();
        assert_eq!(e.param(), Some("instance_id"));
        let e = build_operator::<EC2StopInstanceOperator>(&params(
            json!({"instance_id": "i-1", "poll_interval": 3}),
        ))
        .unwrap_err();
        assert!(e.is_unknown_parameter(), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::EC2TerminateInstanceOperator;

    #[test]
    fn terminating_describes_the_instances_only_when_it_waits() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<EC2TerminateInstanceOperator>(&p)
                .expect("valid parameters")
                .permissions()
        };
        let arns = [
            "arn:aws:ec2:{region}:{account}:instance/i-1",
            "arn:aws:ec2:{region}:{account}:instance/i-2",
        ];
        assert_eq!(
            perms(json!({"instance_ids": ["i-1", "i-2"]})),
            [Permission::new(&["ec2:TerminateInstances"], arns)]
        );
        assert_eq!(
            perms(json!({"instance_ids": ["i-1", "i-2"], "wait_for_completion": true})),
            [
                Permission::new(&["ec2:TerminateInstances"], arns),
                Permission::on_any(&["ec2:DescribeInstances"]),
            ]
        );
    }
}
