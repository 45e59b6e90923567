//! `QuickSightSensor`: waits until an ingestion is COMPLETED; fails when it is FAILED or
//! CANCELLED, with its error info.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::ingestion;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A configured `QuickSightSensor`.
#[derive(Debug)]
pub struct QuickSightSensor {
    aws: AwsParams,
    data_set_id: String,
    ingestion_id: String,
    settings: SensorSettings,
}

impl Operator for QuickSightSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.quicksight.QuickSightSensor",
        aliases: &[],
        template_fields: &["data_set_id", "ingestion_id", "aws_conn_id"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let data_set_id = p.required_str(
            "data_set_id",
            "the ID of the QuickSight data set of the ingestion",
        )?;
        let ingestion_id = p.required_str("ingestion_id", "the ID of the ingestion to wait for")?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(QuickSightSensor {
            aws,
            data_set_id,
            ingestion_id,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let qs = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_quicksight),
        )?;
        let account = ingestion::account_id(ctx).await?;
        let (qs, account) = (&qs, account.as_str());
        let (ds, id) = (self.data_set_id.as_str(), self.ingestion_id.as_str());
        sensor::run(&self.settings, ctx, || async move {
            ctx.info(&format!("Poking for Amazon QuickSight Ingestion ID: {id}"));
            let s = ingestion::status(qs, account, ds, id).await?;
            ctx.info(&format!("QuickSight Status: {}", s.status));
            if s.status == "FAILED" || s.status == "CANCELLED" {
                return Err(TaskError::retryable(format!(
                    "The QuickSight Ingestion failed. Error info: {}",
                    s.error_info
                )));
            }
            Ok(s.status == "COMPLETED")
        })
        .await
    }

    /// DescribeIngestion on the ingestion.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["quicksight:DescribeIngestion"],
            [crate::ingestion::ingestion_arn(
                &self.aws,
                &self.data_set_id,
                &self.ingestion_id,
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
    fn both_ids_are_required() {
        let p: Params = json!({"data_set_id": "ds"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<QuickSightSensor>(&p).unwrap_err();
        assert!(e.message().contains("`ingestion_id`"), "{}", e.message());
        let p: Params = json!({"data_set_id": "ds", "ingestion_id": "i"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<QuickSightSensor>(&p).unwrap();
        assert_eq!(s.settings.poke_interval, 60.0);
    }
}
