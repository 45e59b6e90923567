//! `SqsSensor`: each poke receives up to `num_batches` batches of at most `max_messages`
//! messages (ReceiveMessage with `wait_time_seconds` of long polling), keeps those the
//! filter accepts, deletes them (DeleteMessageBatch) unless `delete_message_on_reception` is
//! false, and is met once a message was kept: the messages are then pushed as the XCom
//! `messages`, as boto3 returns them.

use airtask_aws::AwsParams;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message};
use serde_json::{Map, Value, json};

use crate::jsonpath::{self, Path};

/// The logger of the provider's `utils.sqs` lines.
const UTILS_LOGGER: &str = "airflow.task.hooks.airflow.providers.amazon.aws.utils.sqs";

/// BaseSensorOperator's default `poke_interval`.
const DEFAULT_POKE_INTERVAL: f64 = 60.0;

/// How received messages are filtered (`message_filtering`).
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// No filtering.
    None,
    /// The body equals one of the values.
    Literal(Vec<Value>),
    /// The JSONPath finds something in the JSON body (equal to one of the values, if given).
    JsonPath {
        /// The expression as written (for messages).
        expr: String,
        /// The parsed expression; `None` while unrendered.
        path: Option<Path>,
        /// `message_filtering_match_values`.
        values: Option<Vec<Value>>,
    },
}

/// A configured `SqsSensor`.
#[derive(Debug)]
pub struct SqsSensor {
    aws: AwsParams,
    sqs_queue: String,
    max_messages: i32,
    num_batches: u32,
    wait_time_seconds: i32,
    visibility_timeout: Option<i32>,
    filter: Filter,
    delete_message_on_reception: bool,
    deferrable: bool,
    settings: SensorSettings,
}

fn bad(name: &str, message: String) -> ParamError {
    ParamError::at(
        name.to_owned(),
        format!("SqsSensor parameter `{name}`: {message}"),
    )
}

/// `message_filtering_match_values`: a list is its values; one value is a list of it (the
/// provider would take a lone string as the set of its characters).
fn match_values(v: Option<&Value>) -> Option<Vec<Value>> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(items)) => Some(items.clone()),
        Some(one) => Some(vec![one.clone()]),
    }
}

impl SqsSensor {
    fn read_filter(p: &mut ParamReader<'_>) -> Result<Filter, ParamError> {
        const F: &str = "message_filtering";
        let kind = p.str(F)?;
        let values = match_values(p.value("message_filtering_match_values"));
        let config = p.value("message_filtering_config").cloned();
        match kind.as_deref() {
            None => Ok(Filter::None),
            Some(k) if p.is_templated(k) => Ok(Filter::None),
            Some("literal") => values.map(Filter::Literal).ok_or_else(|| {
                bad(
                    "message_filtering_match_values",
                    "must be given for literal matching (the message bodies to accept)".to_owned(),
                )
            }),
            Some("jsonpath" | "jsonpath-ext") => {
                let expr = match config {
                    Some(Value::String(s)) => s,
                    other => {
                        return Err(bad(
                            "message_filtering_config",
                            format!(
                                "must be the JSONPath expression (a string such as 'foo[*].baz') \
                                 when message_filtering is jsonpath, not {}",
                                other.map_or("nothing".to_owned(), |v| {
                                    airtask_core::params::describe(&v)
                                })
                            ),
                        ));
                    }
                };
                let path = if p.is_templated(&expr) {
                    None
                } else {
                    Some(Path::parse(&expr).map_err(|e| bad("message_filtering_config", e))?)
                };
                Ok(Filter::JsonPath { expr, path, values })
            }
            Some(other) => Err(bad(
                F,
                format!("is '{other}'; it must be literal, jsonpath or jsonpath-ext (or left out)"),
            )),
        }
    }

    /// The messages of `received` the filter keeps.
    fn filter<'a>(&self, received: &'a [Message]) -> Result<Vec<&'a Message>, TaskError> {
        match &self.filter {
            Filter::None => Ok(received.iter().collect()),
            Filter::Literal(values) => Ok(received
                .iter()
                .filter(|m| {
                    let body = Value::String(m.body().unwrap_or_default().to_owned());
                    values.contains(&body)
                })
                .collect()),
            Filter::JsonPath { expr, path, values } => {
                let path = match path {
                    Some(p) => p.clone(),
                    None => Path::parse(expr).map_err(|e| {
                        TaskError::fatal(format!(
                            "SqsSensor parameter `message_filtering_config`: {e}"
                        ))
                    })?,
                };
                let mut kept = Vec::new();
                for m in received {
                    let body: Value =
                        serde_json::from_str(m.body().unwrap_or_default()).map_err(|e| {
                            TaskError::retryable(format!(
                                "SqsSensor: the body of message {} is not JSON ({e}), so the \
                                 JSONPath filter '{expr}' cannot read it",
                                m.message_id().unwrap_or("?")
                            ))
                        })?;
                    let found = path.find(&body);
                    let matched = !found.is_empty()
                        && values.as_ref().is_none_or(|vals| {
                            found
                                .iter()
                                .any(|f| vals.iter().any(|v| jsonpath::python_eq(f, v)))
                        });
                    if matched {
                        kept.push(m);
                    }
                }
                Ok(kept)
            }
        }
    }

    /// One poke: the messages kept, pushed when there are any.
    async fn poke(&self, sqs: &Client, ctx: &TaskContext) -> Result<bool, TaskError> {
        let mut batch: Vec<Value> = Vec::new();
        for _ in 0..self.num_batches {
            ctx.info(&format!(
                "SqsSensor checking for message on queue: {}",
                self.sqs_queue
            ));
            let out = sqs
                .receive_message()
                .queue_url(&self.sqs_queue)
                .max_number_of_messages(self.max_messages)
                .wait_time_seconds(self.wait_time_seconds)
                .set_visibility_timeout(self.visibility_timeout)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("ReceiveMessage from {}", self.sqs_queue),
                        &e,
                    )
                })?;
            let received = out.messages();
            if received.is_empty() {
                continue;
            }
            ctx.hook_info(
                UTILS_LOGGER,
                &format!("Received {} messages", received.len()),
            );
            let kept = self.filter(received)?;
            if self.filter != Filter::None {
                ctx.hook_info(
                    UTILS_LOGGER,
                    &format!("There are {} messages left after filtering", kept.len()),
                );
            }
            if kept.is_empty() {
                continue;
            }
            batch.extend(kept.iter().map(|m| message_json(m)));
            if self.delete_message_on_reception {
                ctx.info(&format!("Deleting {} messages", kept.len()));
                let entries = kept
                    .iter()
                    .map(|m| {
                        DeleteMessageBatchRequestEntry::builder()
                            .id(m.message_id().unwrap_or_default())
                            .receipt_handle(m.receipt_handle().unwrap_or_default())
                            .build()
                            .map_err(|e| TaskError::fatal(format!("DeleteMessageBatch: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let deleted = sqs
                    .delete_message_batch()
                    .queue_url(&self.sqs_queue)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("DeleteMessageBatch on {}", self.sqs_queue),
                            &e,
                        )
                    })?;
                if !deleted.failed().is_empty() {
                    let failed: Vec<String> = deleted
                        .failed()
                        .iter()
                        .map(|f| {
                            format!("{} ({}: {})", f.id(), f.code(), f.message().unwrap_or(""))
                        })
                        .collect();
                    ctx.warning(&format!("SQS batch deletion failed: {}", failed.join("; ")));
                }
            }
        }
        if batch.is_empty() {
            return Ok(false);
        }
        ctx.xcom_push("messages", Value::Array(batch));
        Ok(true)
    }
}

/// A received message as boto3 returns it.
fn message_json(m: &Message) -> Value {
    let mut out = Map::new();
    for (k, v) in [
        ("MessageId", m.message_id()),
        ("ReceiptHandle", m.receipt_handle()),
        ("MD5OfBody", m.md5_of_body()),
        ("Body", m.body()),
        ("MD5OfMessageAttributes", m.md5_of_message_attributes()),
    ] {
        if let Some(v) = v {
            out.insert(k.into(), json!(v));
        }
    }
    if let Some(a) = m.attributes().filter(|a| !a.is_empty()) {
        let mut attrs: Vec<(String, Value)> = a
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
            .collect();
        attrs.sort_by(|x, y| x.0.cmp(&y.0));
        out.insert(
            "Attributes".into(),
            Value::Object(attrs.into_iter().collect()),
        );
    }
    if let Some(a) = m.message_attributes().filter(|a| !a.is_empty()) {
        let mut attrs: Vec<(String, Value)> = a
            .iter()
            .map(|(k, v)| {
                let mut one = Map::new();
                if let Some(s) = v.string_value() {
                    one.insert("StringValue".into(), json!(s));
                }
                one.insert("DataType".into(), json!(v.data_type()));
                (k.clone(), Value::Object(one))
            })
            .collect();
        attrs.sort_by(|x, y| x.0.cmp(&y.0));
        out.insert(
            "MessageAttributes".into(),
            Value::Object(attrs.into_iter().collect()),
        );
    }
    Value::Object(out)
}

impl Operator for SqsSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.sqs.SqsSensor",
        aliases: &["airflow.providers.amazon.aws.sensors.sqs.SQSSensor"],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "max_messages",
            "message_filtering_config",
            "region_name",
            "sqs_queue",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sqs_queue = p.required_str("sqs_queue", "the URL of the SQS queue to read")?;
        let max_messages = p
            .i64("max_messages", 1..=10)?
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(5);
        let num_batches = p.u32("num_batches", 1..=u32::MAX)?.unwrap_or(1);
        let wait_time_seconds = p
            .i64("wait_time_seconds", 0..=20)?
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(1);
        let visibility_timeout = p
            .i64("visibility_timeout", 0..=43_200)?
            .and_then(|n| i32::try_from(n).ok());
        let filter = Self::read_filter(p)?;
        let delete_message_on_reception = p.bool("delete_message_on_reception", true)?;
        let deferrable = p.bool("deferrable", false)?;
        let settings = SensorSettings::read(p, DEFAULT_POKE_INTERVAL)?;
        Ok(SqsSensor {
            aws,
            sqs_queue,
            max_messages,
            num_batches,
            wait_time_seconds,
            visibility_timeout,
            filter,
            delete_message_on_reception,
            deferrable,
            settings,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sqs = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sqs))?;
        if self.deferrable {
            ctx.info(
                "deferrable is set: airtask pokes in the task's process (there is no \
                 triggerer), with the same result",
            );
        }
        let this = &*self;
        let sqs = &sqs;
        sensor::run(&this.settings, ctx, || this.poke(sqs, ctx)).await
    }

    /// ReceiveMessage on the queue; DeleteMessageBatch with `delete_message_on_reception`
    /// (which IAM authorizes as `sqs:DeleteMessage`).
    fn permissions(&self) -> Vec<Permission> {
        let actions: &[&str] = if self.delete_message_on_reception {
            &["sqs:ReceiveMessage", "sqs:DeleteMessage"]
        } else {
            &["sqs:ReceiveMessage"]
        };
        vec![Permission::new(
            actions,
            [crate::publish::queue_arn(&self.aws, &self.sqs_queue)],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<SqsSensor, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<SqsSensor>(&p)
    }

    fn message(id: &str, body: &str) -> Message {
        Message::builder().message_id(id).body(body).build()
    }

    #[test]
    fn defaults_follow_the_provider() {
        let s = build(json!({"sqs_queue": "http://q"})).unwrap();
        assert_eq!(
            (s.max_messages, s.num_batches, s.wait_time_seconds),
            (5, 1, 1)
        );
        assert!(s.delete_message_on_reception);
        assert_eq!(s.filter, Filter::None);
        assert_eq!(s.settings.poke_interval, 60.0);
    }

    #[test]
    fn filters_are_checked_when_built() {
        let e = build(json!({"sqs_queue": "q", "message_filtering": "literal"})).unwrap_err();
        assert_eq!(e.param(), Some("message_filtering_match_values"));
        let e = build(json!({"sqs_queue": "q", "message_filtering": "jsonpath"})).unwrap_err();
        assert!(
            e.message().contains("must be the JSONPath expression"),
            "{e}"
        );
        let e = build(json!({"sqs_queue": "q", "message_filtering": "jsonpath", "message_filtering_config": "$[?(@.a)]"}))
            .unwrap_err();
        assert!(e.message().contains("filters are not supported"), "{e}");
        let e = build(json!({"sqs_queue": "q", "message_filtering": "regex"})).unwrap_err();
        assert!(
            e.message().contains("literal, jsonpath or jsonpath-ext"),
            "{e}"
        );
        let e = build(json!({"sqs_queue": "q", "max_messages": 11})).unwrap_err();
        assert_eq!(e.param(), Some("max_messages"));
    }

    #[test]
    fn literal_and_jsonpath_filters_keep_the_matching_messages() {
        let received = [
            message("1", "{\"foo\": [{\"baz\": \"x\"}]}"),
            message("2", "{\"foo\": [{\"baz\": \"y\"}]}"),
            message("3", "{\"other\": 1}"),
        ];
        let ids = |s: &SqsSensor| -> Vec<String> {
            s.filter(&received)
                .unwrap()
                .iter()
                .map(|m| m.message_id().unwrap_or_default().to_owned())
                .collect()
        };
        let s = build(json!({"sqs_queue": "q", "message_filtering": "jsonpath", "message_filtering_config": "foo[*].baz"}))
            .unwrap();
        assert_eq!(ids(&s), ["1", "2"]);
        let s = build(json!({"sqs_queue": "q", "message_filtering": "jsonpath", "message_filtering_config": "foo[*].baz", "message_filtering_match_values": ["y"]}))
            .unwrap();
        assert_eq!(ids(&s), ["2"]);
        let s = build(json!({"sqs_queue": "q", "message_filtering": "literal", "message_filtering_match_values": ["{\"other\": 1}"]}))
            .unwrap();
        assert_eq!(ids(&s), ["3"]);
        let not_json = [message("4", "plain")];
        let s = build(json!({"sqs_queue": "q", "message_filtering": "jsonpath", "message_filtering_config": "$.a"}))
            .unwrap();
        let e = s.filter(&not_json).unwrap_err();
        assert!(e.message.contains("message 4 is not JSON"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::SqsSensor;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<SqsSensor>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn received_messages_are_deleted_unless_asked_not_to() {
        let url = "https://sqs.eu-west-1.amazonaws.com/123456789012/q";
        let queue = ["arn:aws:sqs:eu-west-1:123456789012:q"];
        assert_eq!(
            perms(json!({"sqs_queue": url})),
            [Permission::new(
                &["sqs:ReceiveMessage", "sqs:DeleteMessage"],
                queue
            )]
        );
        assert_eq!(
            perms(json!({"sqs_queue": url, "delete_message_on_reception": false})),
            [Permission::new(&["sqs:ReceiveMessage"], queue)]
        );
        assert_eq!(
            perms(
                json!({"sqs_queue": "http://127.0.0.1:5000/000000000000/local", "delete_message_on_reception": false})
            ),
            [Permission::new(
                &["sqs:ReceiveMessage"],
                ["arn:aws:sqs:{region}:000000000000:local"]
            )]
        );
    }
}
