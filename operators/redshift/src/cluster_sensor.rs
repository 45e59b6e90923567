//! `RedshiftClusterSensor`: waits until a cluster's status is `target_status` (default
//! `available`). Each poke is the hook's `cluster_status`: a missing cluster reads as
//! `cluster_not_found`, so a sensor can wait for a deletion with that target.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::cluster;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A configured `RedshiftClusterSensor`.
#[derive(Debug)]
pub struct RedshiftClusterSensor {
    aws: AwsParams,
    cluster_identifier: String,
    target_status: String,
    settings: SensorSettings,
}

impl Operator for RedshiftClusterSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.redshift_cluster.RedshiftClusterSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.redshift.AwsRedshiftClusterSensor"],
        template_fields: &[
            "aws_conn_id",
            "cluster_identifier",
            "region_name",
            "target_status",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let cluster_identifier = p.required_str(
            "cluster_identifier",
            "the identifier of the Redshift cluster to wait for",
        )?;
        let target_status = p
            .str("target_status")?
            .unwrap_or_else(|| "available".to_owned());
        // deferrable runs as the same poke loop in the process.
        p.bool("deferrable", false)?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(RedshiftClusterSensor {
            aws,
            cluster_identifier,
            target_status,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rs =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_redshift))?;
        let (rs, id, target) = (
            &rs,
            self.cluster_identifier.as_str(),
            self.target_status.as_str(),
        );
        sensor::run(&self.settings, ctx, || async move {
            let status = cluster::cluster_status(rs, id).await?;
            ctx.info(&format!(
                "Poked cluster {id} for status '{target}', found status '{status}'"
            ));
            Ok(status == target)
        })
        .await
    }

    /// DescribeClusters on the cluster.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["redshift:DescribeClusters"],
            [airtask_core::permissions::arn(
                "redshift",
                self.aws.region(),
                &format!("cluster:{}", self.cluster_identifier),
            )],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::json;

    use super::*;

    #[test]
    fn defaults_follow_the_provider() {
        let p: Params = json!({"cluster_identifier": "c"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<RedshiftClusterSensor>(&p).unwrap();
        assert_eq!(s.target_status, "available");
        assert_eq!(s.settings.poke_interval, 60.0);
        let p: Params = json!({"target_status": "paused"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<RedshiftClusterSensor>(&p).unwrap_err();
        assert!(e.message().contains("needs `cluster_identifier`"), "{e}");
    }
}
