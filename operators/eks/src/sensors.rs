//! `EksClusterStateSensor`, `EksNodegroupStateSensor` and `EksFargateProfileStateSensor`
//! (the provider's `EksBaseSensor`): poke the resource's state (NONEXISTENT when EKS does not
//! know it) until it is `target_state`; another terminal state fails the task at once.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{Target, deprecated_region, eks};

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// The states of each kind (the hook's enums) and the terminal ones (the sensors' sets).
struct States {
    all: &'static [&'static str],
    terminal: &'static [&'static str],
}

const CLUSTER: States = States {
    all: &[
        "CREATING",
        "ACTIVE",
        "DELETING",
        "FAILED",
        "UPDATING",
        "NONEXISTENT",
    ],
    terminal: &["ACTIVE", "FAILED", "NONEXISTENT"],
};
const NODEGROUP: States = States {
    all: &[
        "CREATING",
        "ACTIVE",
        "UPDATING",
        "DELETING",
        "CREATE_FAILED",
        "DELETE_FAILED",
        "DEGRADED",
        "NONEXISTENT",
    ],
    terminal: &["ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "NONEXISTENT"],
};
const FARGATE: States = States {
    all: &[
        "CREATING",
        "ACTIVE",
        "DELETING",
        "CREATE_FAILED",
        "DELETE_FAILED",
        "NONEXISTENT",
    ],
    terminal: &["ACTIVE", "CREATE_FAILED", "DELETE_FAILED", "NONEXISTENT"],
};

/// What the three sensors share.
#[derive(Debug)]
struct EksSensor {
    aws: AwsParams,
    target: Target,
    target_state: String,
    terminal: &'static [&'static str],
    settings: SensorSettings,
}

impl EksSensor {
    /// Reads `target_state` (upper-cased, as the provider converts it to the state enum) and
    /// the sensor settings.
    fn read(
        p: &mut ParamReader<'_>,
        aws: AwsParams,
        target: Target,
        states: &States,
    ) -> Result<EksSensor, ParamError> {
        let target_state = p
            .str("target_state")?
            .map_or_else(|| "ACTIVE".to_owned(), |s| s.to_uppercase());
        if !states.all.contains(&target_state.as_str()) && !p.is_templated(&target_state) {
            return Err(ParamError::at(
                "target_state",
                format!(
                    "{} parameter `target_state`: '{target_state}' is not a valid state; it \
                     must be one of {}",
                    p.operator(),
                    states.all.join(", ")
                ),
            ));
        }
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(EksSensor {
            aws,
            target,
            target_state,
            terminal: states.terminal,
            settings,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &[self.target.describe_action()],
            [self.target.arn(self.aws.region())],
        )]
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let client = eks(ctx, &self.aws)?;
        if self.settings.deferrable {
            ctx.info(
                "deferrable is set: airtask pokes in the task's process (there is no \
                 triggerer), every poke_interval, with the same result",
            );
        }
        let (client, target, want, terminal) = (
            &client,
            &self.target,
            self.target_state.as_str(),
            self.terminal,
        );
        sensor::run(&self.settings, ctx, || async move {
            let state = target.state(client).await?;
            ctx.info(&format!("Current state: {state}"));
            if state != want && terminal.contains(&state.as_str()) {
                return Err(TaskError::fatal(format!(
                    "Terminal state reached. Current state: {state}, Expected state: {want} ({})",
                    target.what()
                )));
            }
            Ok(state == want)
        })
        .await
    }
}

/// Reads the cluster name and the AWS parameters (the deprecated `region` too).
fn base(p: &mut ParamReader<'_>, what: &str) -> Result<(AwsParams, String), ParamError> {
    let mut aws = AwsParams::read(p)?;
    deprecated_region(p, &mut aws)?;
    let cluster = p.required_str("cluster_name", what)?;
    Ok((aws, cluster))
}

/// A configured `EksClusterStateSensor`.
#[derive(Debug)]
pub struct EksClusterStateSensor(EksSensor);

impl Operator for EksClusterStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.eks.EksClusterStateSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "target_state",
            "region",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, cluster) = base(p, "the name of the EKS cluster to watch")?;
        EksSensor::read(p, aws, Target::Cluster(cluster), &CLUSTER).map(EksClusterStateSensor)
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }
}

/// A configured `EksNodegroupStateSensor`.
#[derive(Debug)]
pub struct EksNodegroupStateSensor(EksSensor);

impl Operator for EksNodegroupStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.eks.EksNodegroupStateSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "nodegroup_name",
            "target_state",
            "region",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, cluster) = base(p, "the name of the node group's EKS cluster")?;
        let name = p.required_str("nodegroup_name", "the name of the node group to watch")?;
        EksSensor::read(p, aws, Target::Nodegroup { cluster, name }, &NODEGROUP)
            .map(EksNodegroupStateSensor)
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }
}

/// A configured `EksFargateProfileStateSensor`.
#[derive(Debug)]
pub struct EksFargateProfileStateSensor(EksSensor);

impl Operator for EksFargateProfileStateSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.eks.EksFargateProfileStateSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "region_name",
            "verify",
            "cluster_name",
            "fargate_profile_name",
            "target_state",
            "region",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let (aws, cluster) = base(p, "the name of the Fargate profile's EKS cluster")?;
        let name = p.required_str(
            "fargate_profile_name",
            "the name of the Fargate profile to watch",
        )?;
        EksSensor::read(p, aws, Target::FargateProfile { cluster, name }, &FARGATE)
            .map(EksFargateProfileStateSensor)
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    fn params(v: serde_json::Value) -> Params {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn target_state_is_upper_cased_and_checked() {
        let s = build_operator::<EksNodegroupStateSensor>(&params(json!({
            "cluster_name": "c1", "nodegroup_name": "ng", "target_state": "nonexistent",
        })))
        .unwrap();
        assert_eq!(s.0.target_state, "NONEXISTENT");
        assert_eq!(s.0.settings.poke_interval, 60.0);
        let e = build_operator::<EksClusterStateSensor>(&params(json!({
            "cluster_name": "c1", "target_state": "CREATE_FAILED",
        })))
        .unwrap_err();
        assert_eq!(e.param(), Some("target_state"));
        let s = build_operator::<EksFargateProfileStateSensor>(&params(json!({
            "cluster_name": "c1", "fargate_profile_name": "fp", "region": "eu-west-1",
        })))
        .unwrap();
        assert_eq!(s.0.target_state, "ACTIVE");
        assert_eq!(
            s.permissions(),
            vec![Permission::new(
                &["eks:DescribeFargateProfile"],
                ["arn:aws:eks:eu-west-1:{account}:fargateprofile/c1/fp/*"]
            )]
        );
    }
}
