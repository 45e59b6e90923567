//! `SqsPublishOperator`: SendMessage to a queue. `message_attributes` is boto3's
//! MessageAttributes (`{name: {DataType, StringValue | BinaryValue | ...}}`); XCom is the
//! SendMessage answer (MessageId, MD5OfMessageBody, MD5OfMessageAttributes, SequenceNumber).

use std::collections::HashMap;

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use serde_json::{Map, Value, json};

/// The keys boto3 takes in one message attribute.
const ATTRIBUTE_KEYS: &[&str] = &[
    "DataType",
    "StringValue",
    "BinaryValue",
    "StringListValues",
    "BinaryListValues",
];

/// The ARN of the queue at `url` (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`, or
/// another endpoint's `.../ACCOUNT/NAME`): the region from the host where it names one (else
/// the operator's), the account from the path where it is one (else the policy's).
pub(crate) fn queue_arn(aws: &AwsParams, url: &str) -> String {
    if url.starts_with("arn:") {
        return url.to_owned();
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let mut parts = rest.trim_end_matches('/').split('/');
    let host = parts.next().unwrap_or_default();
    let path: Vec<&str> = parts.collect();
    let name = path.last().copied().unwrap_or(rest);
    let account = path
        .len()
        .checked_sub(2)
        .and_then(|i| path.get(i))
        .filter(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_digit()))
        .copied()
        .unwrap_or(airtask_core::permissions::ACCOUNT);
    let labels: Vec<&str> = host.split('.').collect();
    let region = match labels.as_slice() {
        ["sqs", region, ..] if host.ends_with(".amazonaws.com") => Some(*region),
        [region, "queue", ..] if host.ends_with(".amazonaws.com") => Some(*region),
        _ => aws.region(),
    };
    format!(
        "arn:aws:sqs:{}:{account}:{name}",
        region.unwrap_or(airtask_core::permissions::REGION)
    )
}

/// A configured `SqsPublishOperator`.
#[derive(Debug)]
pub struct SqsPublishOperator {
    aws: AwsParams,
    sqs_queue: String,
    message_content: String,
    message_attributes: HashMap<String, MessageAttributeValue>,
    delay_seconds: i32,
    message_group_id: Option<String>,
    message_deduplication_id: Option<String>,
}

fn bad(message: String) -> ParamError {
    ParamError::at(
        "message_attributes",
        format!("SqsPublishOperator parameter `message_attributes`: {message}"),
    )
}

fn string_list(name: &str, key: &str, v: &Value) -> Result<Vec<String>, ParamError> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                other => Err(bad(format!(
                    "`{name}.{key}` must be a list of strings; it holds {}",
                    airtask_core::params::describe(other)
                ))),
            })
            .collect(),
        other => Err(bad(format!(
            "`{name}.{key}` must be a list of strings, not {}",
            airtask_core::params::describe(other)
        ))),
    }
}

/// One attribute of boto3's MessageAttributes.
fn attribute(name: &str, v: &Value) -> Result<MessageAttributeValue, ParamError> {
    let Value::Object(m) = v else {
        return Err(bad(format!(
            "`{name}` must be a mapping with DataType and StringValue or BinaryValue (boto3's \
             MessageAttributeValue), not {}",
            airtask_core::params::describe(v)
        )));
    };
    if let Some(k) = m.keys().find(|k| !ATTRIBUTE_KEYS.contains(&k.as_str())) {
        return Err(bad(format!(
            "`{name}` has an unknown key `{k}`; the keys allowed are {}",
            ATTRIBUTE_KEYS.join(", ")
        )));
    }
    let text = |key: &str| -> Result<Option<String>, ParamError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(bad(format!(
                "`{name}.{key}` must be a string, not {}",
                airtask_core::params::describe(other)
            ))),
        }
    };
    let data_type = text("DataType")?.ok_or_else(|| {
        bad(format!(
            "`{name}` needs DataType (String, Number or Binary, optionally with a .suffix)"
        ))
    })?;
    let mut b = MessageAttributeValue::builder()
        .data_type(data_type)
        .set_string_value(text("StringValue")?)
        .set_binary_value(text("BinaryValue")?.map(|s| Blob::new(s.into_bytes())));
    if let Some(v) = m.get("StringListValues").filter(|v| !v.is_null()) {
        b = b.set_string_list_values(Some(string_list(name, "StringListValues", v)?));
    }
    if let Some(v) = m.get("BinaryListValues").filter(|v| !v.is_null()) {
        b = b.set_binary_list_values(Some(
            string_list(name, "BinaryListValues", v)?
                .into_iter()
                .map(|s| Blob::new(s.into_bytes()))
                .collect(),
        ));
    }
    b.build().map_err(|e| bad(format!("`{name}`: {e}")))
}

impl Operator for SqsPublishOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sqs.SqsPublishOperator",
        aliases: &["airflow.providers.amazon.aws.operators.sqs.SQSPublishOperator"],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "delay_seconds",
            "message_attributes",
            "message_content",
            "message_deduplication_id",
            "message_group_id",
            "region_name",
            "sqs_queue",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sqs_queue = p.required_str("sqs_queue", "the URL of the SQS queue to send to")?;
        let message_content =
            p.required_str("message_content", "the body of the message to send")?;
        let mut message_attributes = HashMap::new();
        if let Some(m) = p.map("message_attributes")? {
            for (k, v) in m {
                message_attributes.insert(k.clone(), attribute(k, v)?);
            }
        }
        let delay_seconds = p
            .i64("delay_seconds", 0..=900)?
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(0);
        let message_group_id = p.str("message_group_id")?;
        let message_deduplication_id = p.str("message_deduplication_id")?;
        Ok(SqsPublishOperator {
            aws,
            sqs_queue,
            message_content,
            message_attributes,
            delay_seconds,
            message_group_id,
            message_deduplication_id,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sqs = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sqs))?;
        let out = sqs
            .send_message()
            .queue_url(&self.sqs_queue)
            .message_body(&self.message_content)
            .delay_seconds(self.delay_seconds)
            .set_message_attributes(Some(self.message_attributes.clone()).filter(|m| !m.is_empty()))
            .set_message_group_id(self.message_group_id.clone())
            .set_message_deduplication_id(self.message_deduplication_id.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("SendMessage to {}", self.sqs_queue), &e)
            })?;
        let mut result = Map::new();
        for (k, v) in [
            ("MD5OfMessageBody", out.md5_of_message_body()),
            ("MD5OfMessageAttributes", out.md5_of_message_attributes()),
            (
                "MD5OfMessageSystemAttributes",
                out.md5_of_message_system_attributes(),
            ),
            ("MessageId", out.message_id()),
            ("SequenceNumber", out.sequence_number()),
        ] {
            if let Some(v) = v {
                result.insert(k.into(), json!(v));
            }
        }
        let result = Value::Object(result);
        ctx.info(&format!("send_message result: {result}"));
        Ok(Outcome::Success(Some(result)))
    }

    /// SendMessage on the queue.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["sqs:SendMessage"],
            [queue_arn(&self.aws, &self.sqs_queue)],
        )]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<SqsPublishOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<SqsPublishOperator>(&p)
    }

    #[test]
    fn attributes_follow_boto3_and_bad_ones_are_refused() {
        let op = build(json!({
            "sqs_queue": "http://q",
            "message_content": "m",
            "delay_seconds": "5",
            "message_attributes": {
                "color": {"DataType": "String", "StringValue": "blue"},
                "n": {"DataType": "Number", "StringValue": "3"},
            },
        }))
        .unwrap();
        assert_eq!(op.delay_seconds, 5);
        assert_eq!(op.message_attributes["color"].string_value(), Some("blue"));
        for (attrs, says) in [
            (json!({"c": "blue"}), "must be a mapping with DataType"),
            (json!({"c": {"StringValue": "x"}}), "needs DataType"),
            (
                json!({"c": {"DataType": "String", "Value": "x"}}),
                "unknown key `Value`",
            ),
            (
                json!({"c": {"DataType": 1}}),
                "`c.DataType` must be a string",
            ),
        ] {
            let e = build(
                json!({"sqs_queue": "q", "message_content": "m", "message_attributes": attrs}),
            )
            .unwrap_err();
            assert_eq!(e.param(), Some("message_attributes"));
            assert!(e.message().contains(says), "{}", e.message());
        }
        let e = build(json!({"sqs_queue": "q", "message_content": "m", "delay_seconds": 901}))
            .unwrap_err();
        assert_eq!(e.param(), Some("delay_seconds"));
    }
}
