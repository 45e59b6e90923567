//! `GlacierJobOperationSensor`: pokes a Glacier job (DescribeJob) until it has Succeeded; it
//! fails on any status other than InProgress (Failed). The provider's defaults: a poke every
//! 20 minutes, `mode: reschedule` (which runs as poke here).

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::HOOK_LOGGER;

/// The sensor's default `poke_interval` (`60 * 20`).
const DEFAULT_POKE_INTERVAL: f64 = 1200.0;

/// A configured `GlacierJobOperationSensor`.
#[derive(Debug)]
pub struct GlacierJobOperationSensor {
    aws: AwsParams,
    vault_name: String,
    job_id: String,
    settings: SensorSettings,
}

impl Operator for GlacierJobOperationSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glacier.GlacierJobOperationSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "job_id",
            "region_name",
            "vault_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let vault_name = p.required_str("vault_name", "the name of the Glacier vault")?;
        let job_id = p.required_str(
            "job_id",
            "the id of the Glacier job (the jobId of a GlacierCreateJobOperator's XCom)",
        )?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(GlacierJobOperationSensor {
            aws,
            vault_name,
            job_id,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glacier =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_glacier))?;
        let (glacier, vault, job) = (&glacier, self.vault_name.as_str(), self.job_id.as_str());
        sensor::run(&self.settings, ctx, || async move {
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("Retrieving status for vault: {vault} and job {job}"),
            );
            let out = glacier
                .describe_job()
                .account_id("-")
                .vault_name(vault)
                .job_id(job)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("DescribeJob {job} in vault {vault}"),
                        &e,
                    )
                })?;
            let action = out.action().map_or("", |a| a.as_str());
            let status = out.status_code().map_or("", |s| s.as_str());
            let line = format!("Job status: {action}, code status: {status}");
            ctx.hook_info(HOOK_LOGGER, &line);
            match status {
                "Succeeded" => {
                    ctx.info(&line);
                    ctx.info("Job finished successfully");
                    Ok(true)
                }
                "InProgress" => {
                    ctx.info("Processing...");
                    ctx.warning(&format!("Code status: {status}"));
                    Ok(false)
                }
                _ => Err(TaskError::retryable(format!(
                    "Sensor failed. Job status: {action}, code status: {status}{}",
                    out.status_message()
                        .map(|m| format!(" ({m})"))
                        .unwrap_or_default()
                ))),
            }
        })
        .await
    }

    /// DescribeJob on the vault.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["glacier:DescribeJob"],
            [airtask_core::permissions::arn(
                "glacier",
                self.aws.region(),
                &format!("vaults/{}", self.vault_name),
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
        let p: Params = json!({"vault_name": "v", "job_id": "j", "mode": "reschedule"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<GlacierJobOperationSensor>(&p).unwrap();
        assert_eq!(s.settings.poke_interval, 1200.0);
        assert!(s.settings.reschedule);
    }
}
