//! `QuickSightCreateIngestionOperator`: CreateIngestion, then (by default) poll
//! DescribeIngestion every `check_interval` seconds until the ingestion leaves INITIALIZED,
//! QUEUED and RUNNING. XCom is the CreateIngestion answer (Arn, IngestionId, IngestionStatus,
//! RequestId, Status); a FAILED ingestion fails the task with its error info, a CANCELLED one
//! with the provider's message.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_quicksight::types::IngestionType;
use serde_json::{Map, Value, json};

use crate::ingestion::{self, HOOK_LOGGER};

/// The ingestion types QuickSight knows.
const INGESTION_TYPES: &[&str] = &["FULL_REFRESH", "INCREMENTAL_REFRESH"];

/// The hook's non-terminal states.
pub(crate) const NON_TERMINAL: &[&str] = &["INITIALIZED", "QUEUED", "RUNNING"];

/// A configured `QuickSightCreateIngestionOperator`.
#[derive(Debug)]
pub struct QuickSightCreateIngestionOperator {
    aws: AwsParams,
    data_set_id: String,
    ingestion_id: String,
    ingestion_type: String,
    wait: WaitSettings,
}

impl Operator for QuickSightCreateIngestionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.quicksight.QuickSightCreateIngestionOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "check_interval",
            "data_set_id",
            "ingestion_id",
            "ingestion_type",
            "region_name",
            "verify",
            "wait_for_completion",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let data_set_id = p.required_str(
            "data_set_id",
            "the ID of the QuickSight data set whose SPICE copy to refresh",
        )?;
        let ingestion_id = p.required_str(
            "ingestion_id",
            "an ID for the new ingestion (unique per data set)",
        )?;
        let ingestion_type = p
            .str("ingestion_type")?
            .unwrap_or_else(|| "FULL_REFRESH".to_owned());
        if !p.is_templated(&ingestion_type) && !INGESTION_TYPES.contains(&ingestion_type.as_str()) {
            return Err(ParamError::at(
                "ingestion_type",
                format!(
                    "QuickSightCreateIngestionOperator parameter `ingestion_type` is \
                     '{ingestion_type}'; it must be FULL_REFRESH or INCREMENTAL_REFRESH"
                ),
            ));
        }
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let check_interval = p.seconds("check_interval", 30.0)?;
        Ok(QuickSightCreateIngestionOperator {
            aws,
            data_set_id,
            ingestion_id,
            ingestion_type,
            wait: WaitSettings {
                wait_for_completion,
                waiter_delay: Duration::from_secs_f64(check_interval),
                // The hook polls until a terminal state, however long it takes (the try's
                // execution_timeout bounds it).
                waiter_max_attempts: u32::MAX,
                deferrable: false,
            },
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let qs = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_quicksight),
        )?;
        ctx.info(&format!(
            "Running the Amazon QuickSight SPICE Ingestion on Dataset ID: {}",
            self.data_set_id
        ));
        let account = ingestion::account_id(ctx).await?;
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "Creating QuickSight Ingestion for data set id {}.",
                self.data_set_id
            ),
        );
        let out = qs
            .create_ingestion()
            .aws_account_id(&account)
            .data_set_id(&self.data_set_id)
            .ingestion_id(&self.ingestion_id)
            .ingestion_type(IngestionType::from(self.ingestion_type.as_str()))
            .send()
            .await
            .map_err(|e| {
                let err = airtask_aws::error::task_error(
                    &format!(
                        "CreateIngestion {} of data set {}",
                        self.ingestion_id, self.data_set_id
                    ),
                    &e,
                );
                ctx.error(&format!(
                    "Failed to run Amazon QuickSight create_ingestion API, error: {err}"
                ));
                err
            })?;
        let mut xcom = Map::new();
        if let Some(a) = out.arn() {
            xcom.insert("Arn".into(), json!(a));
        }
        if let Some(i) = out.ingestion_id() {
            xcom.insert("IngestionId".into(), json!(i));
        }
        if let Some(s) = out.ingestion_status() {
            xcom.insert("IngestionStatus".into(), json!(s.as_str()));
        }
        if let Some(r) = out.request_id() {
            xcom.insert("RequestId".into(), json!(r));
        }
        xcom.insert("Status".into(), json!(out.status()));
        if self.wait.wait_for_completion {
            let (qs, account) = (&qs, account.as_str());
            let (ds, id) = (self.data_set_id.as_str(), self.ingestion_id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("QuickSight ingestion {id} of data set {ds}"),
                || async move {
                    let s = ingestion::status(qs, account, ds, id).await?;
                    ctx.hook_info(HOOK_LOGGER, &format!("Current status is {}", s.status));
                    match s.status.as_str() {
                        "FAILED" => Err(TaskError::retryable(format!(
                            "The Amazon QuickSight Ingestion failed. Error info: {}",
                            s.error_info
                        ))),
                        "CANCELLED" => Err(TaskError::retryable(
                            "The Amazon QuickSight SPICE ingestion cancelled!",
                        )),
                        st if NON_TERMINAL.contains(&st) => Ok(Poll::Pending { state: s.status }),
                        _ => Ok(Poll::Done(())),
                    }
                },
            )
            .await
            .inspect_err(|e| {
                ctx.error(&format!(
                    "Failed to run Amazon QuickSight create_ingestion API, error: {e}"
                ));
            })?;
            ctx.hook_info(HOOK_LOGGER, "QuickSight Ingestion completed");
        }
        Ok(Outcome::Success(Some(Value::Object(xcom))))
    }

    /// CreateIngestion, and DescribeIngestion with `wait_for_completion`, on the ingestion
    /// (the account is the task's own, which STS names without a permission).
    fn permissions(&self) -> Vec<Permission> {
        let actions: &[&str] = if self.wait.wait_for_completion {
            &["quicksight:CreateIngestion", "quicksight:DescribeIngestion"]
        } else {
            &["quicksight:CreateIngestion"]
        };
        vec![Permission::new(
            actions,
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

    use super::*;

    fn build(v: Value) -> Result<QuickSightCreateIngestionOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<QuickSightCreateIngestionOperator>(&p)
    }

    #[test]
    fn defaults_follow_the_provider() {
        let op = build(json!({"data_set_id": "ds", "ingestion_id": "i1"})).unwrap();
        assert_eq!(op.ingestion_type, "FULL_REFRESH");
        assert!(op.wait.wait_for_completion);
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(30));
    }

    #[test]
    fn bad_parameters_are_refused_with_their_key() {
        let e = build(json!({"data_set_id": "ds", "ingestion_id": "i", "ingestion_type": "X"}))
            .unwrap_err();
        assert_eq!(e.param(), Some("ingestion_type"));
        assert!(e.message().contains("FULL_REFRESH or INCREMENTAL_REFRESH"));
        let e = build(json!({"data_set_id": "ds"})).unwrap_err();
        assert!(e.message().contains("`ingestion_id`"), "{}", e.message());
        let e =
            build(json!({"data_set_id": "ds", "ingestion_id": "i", "region": "x"})).unwrap_err();
        assert!(e.is_unknown_parameter(), "{}", e.message());
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::QuickSightCreateIngestionOperator;

    #[test]
    fn the_ingestion_is_described_only_when_waited_for() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<QuickSightCreateIngestionOperator>(&p)
                .expect("valid parameters")
                .permissions()
        };
        let ingestion = ["arn:aws:quicksight:{region}:{account}:dataset/ds/ingestion/i1"];
        assert_eq!(
            perms(json!({"data_set_id": "ds", "ingestion_id": "i1"})),
            [Permission::new(
                &["quicksight:CreateIngestion", "quicksight:DescribeIngestion"],
                ingestion
            )]
        );
        assert_eq!(
            perms(json!({"data_set_id": "ds", "ingestion_id": "i1", "wait_for_completion": false})),
            [Permission::new(&["quicksight:CreateIngestion"], ingestion)]
        );
    }
}
