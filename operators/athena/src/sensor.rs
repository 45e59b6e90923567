//! `AthenaSensor`: waits for a query execution to finish. Each poke is the provider's
//! `AthenaHook.poll_query_status`: it reads the query's state up to `max_retries` times (120
//! when unset), `sleep_time` apart, and stops early at a terminal state. The sensor is met at
//! SUCCEEDED and fails at FAILED or CANCELLED.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::query::{self, HOOK_LOGGER, State};

/// The hook's `max_polling_attempts or 120`.
const DEFAULT_MAX_RETRIES: u32 = 120;

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// A configured `AthenaSensor`.
#[derive(Debug)]
pub struct AthenaSensor {
    aws: AwsParams,
    query_execution_id: String,
    max_retries: u32,
    sleep_time: Duration,
    settings: SensorSettings,
}

impl Operator for AthenaSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.athena.AthenaSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "query_execution_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let query_execution_id = p.required_str(
            "query_execution_id",
            "the QueryExecutionId of the Athena query to wait for (an AthenaOperator's XCom)",
        )?;
        let max_retries = p
            .u32("max_retries", 0..=u32::MAX)?
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_RETRIES);
        let sleep_time = Duration::from_secs_f64(p.seconds("sleep_time", 10.0)?);
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(AthenaSensor {
            aws,
            query_execution_id,
            max_retries,
            sleep_time,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let athena =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_athena))?;
        let (athena, id) = (&athena, self.query_execution_id.as_str());
        let (max_retries, sleep_time) = (self.max_retries, self.sleep_time);
        sensor::run(&self.settings, ctx, || async move {
            let mut attempt = 1;
            loop {
                match query::state(athena, id).await? {
                    State::Succeeded => return Ok(true),
                    State::Failed(state, reason) => {
                        return Err(TaskError::retryable(format!(
                            "Athena sensor failed: query {id} ended {state}: {}",
                            reason.as_deref().unwrap_or("(no StateChangeReason)")
                        )));
                    }
                    State::Intermediate(state) => {
                        ctx.hook_info(
                            HOOK_LOGGER,
                            &format!(
                                "Query execution id: {id}, Query is still in non-terminal \
                                 state: {state}"
                            ),
                        );
                        if attempt >= max_retries {
                            return Ok(false);
                        }
                    }
                }
                tokio::time::sleep(sleep_time).await;
                attempt += 1;
            }
        })
        .await
    }

    /// GetQueryExecution, on any workgroup (the query's is not a parameter).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["athena:GetQueryExecution"],
            [airtask_core::permissions::arn(
                "athena",
                self.aws.region(),
                "workgroup/*",
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
        let p: Params = json!({"query_execution_id": "q1"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let s = build_operator::<AthenaSensor>(&p).unwrap();
        assert_eq!(s.max_retries, 120);
        assert_eq!(s.sleep_time, Duration::from_secs(10));
        assert_eq!(s.settings.poke_interval, 60.0);
        let p: Params = json!({"query_execution_id": "q1", "max_retries": "x"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let e = build_operator::<AthenaSensor>(&p).unwrap_err();
        assert!(e.message().contains("`max_retries`"), "{}", e.message());
    }
}
