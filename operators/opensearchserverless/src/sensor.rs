//! `OpenSearchServerlessCollectionActiveSensor`: each poke is BatchGetCollection of the one
//! collection; CREATING is not met, DELETING and FAILED fail the task, any other status
//! (ACTIVE) is met. With `deferrable: true` the provider's trigger waits instead (every
//! `poke_interval` seconds, at most `max_retries` polls), which runs here as an in-process
//! wait with the same result.

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_opensearchserverless::Client;
use serde_json::json;

/// The provider's failure message.
const FAILURE_MESSAGE: &str = "OpenSearch Serverless Collection sensor failed";

/// Which collection to watch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Collection {
    Id(String),
    Name(String),
}

/// A configured `OpenSearchServerlessCollectionActiveSensor`.
#[derive(Debug)]
pub struct OpenSearchServerlessCollectionActiveSensor {
    aws: AwsParams,
    collection: Collection,
    settings: SensorSettings,
    max_retries: u32,
    deferrable: bool,
}

/// What one look at the collection found.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Found {
    Creating,
    Done(String),
}

/// BatchGetCollection of the collection: its status, sorted into the provider's groups.
async fn look(aoss: &Client, c: &Collection) -> Result<Found, TaskError> {
    let (req, what) = match c {
        Collection::Id(id) => (aoss.batch_get_collection().ids(id), format!("id {id}")),
        Collection::Name(n) => (aoss.batch_get_collection().names(n), format!("name {n}")),
    };
    let out = req.send().await.map_err(|e| {
        airtask_aws::error::task_error(&format!("BatchGetCollection of collection {what}"), &e)
    })?;
    let Some(detail) = out.collection_details().first() else {
        let why = out
            .collection_error_details()
            .first()
            .and_then(|e| e.error_message())
            .unwrap_or("no such collection");
        return Err(TaskError::retryable(format!(
            "{FAILURE_MESSAGE}: BatchGetCollection found no collection with {what} ({why})"
        )));
    };
    let status = detail.status().map_or("", |s| s.as_str()).to_owned();
    classify(&what, status)
}

/// The provider's groups: CREATING pending, DELETING and FAILED failures, anything else met.
fn classify(what: &str, status: String) -> Result<Found, TaskError> {
    match status.as_str() {
        "DELETING" | "FAILED" => Err(TaskError::retryable(format!(
            "{FAILURE_MESSAGE}: the collection with {what} is {status}"
        ))),
        "CREATING" => Ok(Found::Creating),
        _ => Ok(Found::Done(status)),
    }
}

impl Operator for OpenSearchServerlessCollectionActiveSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.opensearch_serverless.OpenSearchServerlessCollectionActiveSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "collection_id",
            "collection_name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let id = p.str("collection_id")?;
        let name = p.str("collection_name")?;
        let collection = match (id, name) {
            (Some(id), None) => Collection::Id(id),
            (None, Some(name)) => Collection::Name(name),
            (id, _) => {
                return Err(ParamError::at(
                    if id.is_some() {
                        "collection_name"
                    } else {
                        "collection_id"
                    },
                    "OpenSearchServerlessCollectionActiveSensor needs exactly one of \
                     `collection_id` and `collection_name` (the provider: \"Either \
                     collection_ids or collection_names must be provided, not both.\")",
                ));
            }
        };
        let settings = SensorSettings::read(p, 10.0)?;
        let max_retries = p.u32("max_retries", 1..=u32::MAX)?.unwrap_or(60);
        let deferrable = p.bool("deferrable", false)?;
        Ok(OpenSearchServerlessCollectionActiveSensor {
            aws,
            collection,
            settings,
            max_retries,
            deferrable,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let aoss = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_opensearchserverless),
        )?;
        let (aoss, c) = (&aoss, &self.collection);
        if self.deferrable {
            // The trigger's waiter, then the resumed `poke` (whose true is the XCom).
            let settings = WaitSettings {
                wait_for_completion: true,
                waiter_delay: Duration::from_secs_f64(self.settings.poke_interval),
                waiter_max_attempts: self.max_retries,
                deferrable: true,
            };
            wait::until_terminal(
                ctx,
                &settings,
                "OpenSearch Serverless collection",
                move || async move {
                    Ok(match look(aoss, c).await? {
                        Found::Creating => Poll::Pending {
                            state: "CREATING".to_owned(),
                        },
                        Found::Done(_) => Poll::Done(()),
                    })
                },
            )
            .await?;
            return Ok(Outcome::Success(Some(json!(true))));
        }
        sensor::run(&self.settings, ctx, move || async move {
            let found = look(aoss, c).await?;
            ctx.info(&format!(
                "OpenSearch Serverless collection status: {}",
                match &found {
                    Found::Creating => "CREATING",
                    Found::Done(s) => s,
                }
            ));
            Ok(matches!(found, Found::Done(_)))
        })
        .await
    }

    /// BatchGetCollection (which IAM does not scope to a collection).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::on_any(&["aoss:BatchGetCollection"])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use serde_json::{Value, json};

    use super::*;

    fn build(v: Value) -> Result<OpenSearchServerlessCollectionActiveSensor, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<OpenSearchServerlessCollectionActiveSensor>(&p)
    }

    #[test]
    fn exactly_one_of_id_and_name() {
        let s = build(json!({"collection_name": "c"})).unwrap();
        assert_eq!(s.collection, Collection::Name("c".into()));
        assert_eq!(s.settings.poke_interval, 10.0);
        assert_eq!(s.max_retries, 60);
        let e = build(json!({"collection_name": "c", "collection_id": "i"})).unwrap_err();
        assert!(e.message().contains("exactly one"), "{}", e.message());
        let e = build(json!({})).unwrap_err();
        assert_eq!(e.param(), Some("collection_id"));
    }

    #[test]
    fn statuses_fall_into_the_provider_groups() {
        assert_eq!(classify("x", "CREATING".into()), Ok(Found::Creating));
        assert_eq!(
            classify("x", "ACTIVE".into()),
            Ok(Found::Done("ACTIVE".into()))
        );
        let e = classify("name c", "DELETING".into()).unwrap_err();
        assert!(e.message.starts_with(FAILURE_MESSAGE), "{e}");
        assert!(classify("x", "FAILED".into()).is_err());
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::OpenSearchServerlessCollectionActiveSensor;

    #[test]
    fn collections_are_read_unscoped() {
        let p: Params = json!({"collection_name": "c"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            build_operator::<OpenSearchServerlessCollectionActiveSensor>(&p)
                .expect("valid parameters")
                .permissions(),
            [Permission::on_any(&["aoss:BatchGetCollection"])]
        );
    }
}
