//! `EC2InstanceStateSensor`: pokes the instance's state (DescribeInstances) until it is
//! `target_state` (running, stopped or terminated). `deferrable: true` runs the same pokes in
//! the process (there is no triggerer).

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::state;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// The sensor's `valid_states`.
const VALID_STATES: &[&str] = &["running", "stopped", "terminated"];

/// A configured `EC2InstanceStateSensor`.
#[derive(Debug)]
pub struct EC2InstanceStateSensor {
    aws: AwsParams,
    target_state: String,
    instance_id: String,
    deferrable: bool,
    settings: SensorSettings,
}

impl Operator for EC2InstanceStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.ec2.EC2InstanceStateSensor",
        aliases: &[
            "airflow.providers.amazon.aws.sensors.ec2_instance_state.EC2InstanceStateSensor",
        ],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "target_state",
            "instance_id",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let target_state = p.required_str(
            "target_state",
            "the state to wait for: running, stopped or terminated",
        )?;
        if !VALID_STATES.contains(&target_state.as_str()) && !p.is_templated(&target_state) {
            return Err(ParamError::at(
                "target_state",
                format!(
                    "EC2InstanceStateSensor parameter `target_state`: Invalid target_state: \
                     {target_state} (it must be running, stopped or terminated)"
                ),
            ));
        }
        let instance_id = p.required_str("instance_id", "the id of the EC2 instance to watch")?;
        let deferrable = p.bool("deferrable", false)?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(EC2InstanceStateSensor {
            aws,
            target_state,
            instance_id,
            deferrable,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let ec2 = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_ec2))?;
        if self.deferrable {
            ctx.info(
                "deferrable is set: airtask pokes in the task's process (there is no \
                 triggerer), every poke_interval, with the same result",
            );
        }
        let (ec2, id, target) = (&ec2, self.instance_id.as_str(), self.target_state.as_str());
        sensor::run(&self.settings, ctx, || async move {
            let state = state::state_of(ec2, id).await?;
            ctx.info(&format!("instance state: {state}"));
            Ok(state == target)
        })
        .await
    }

    /// DescribeInstances (not scoped to the instance).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["ec2:DescribeInstances"])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    fn build(v: serde_json::Value) -> Result<EC2InstanceStateSensor, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<EC2InstanceStateSensor>(&p)
    }

    #[test]
    fn target_state_is_checked_and_defaults_follow_the_provider() {
        let s = build(json!({"instance_id": "i-1", "target_state": "stopped"})).unwrap();
        assert_eq!(s.settings.poke_interval, 60.0);
        assert!(!s.deferrable);
        let e = build(json!({"instance_id": "i-1", "target_state": "pending"})).unwrap_err();
        assert_eq!(e.param(), Some("target_state"));
        assert!(e.message().contains("Invalid target_state: pending"), "{e}");
        let e = build(json!({"target_state": "running"})).unwrap_err();
        assert!(e.message().contains("needs `instance_id`"), "{e}");
    }
}
