//! `SnsPublishOperator`: Publish to a topic or an endpoint. The message goes as
//! `{"default": message}` with `MessageStructure: json`, and `message_attributes` is a flat
//! mapping whose values choose their DataType (the provider's `_get_message_attribute`).
//! XCom is the Publish answer (MessageId, and SequenceNumber for FIFO topics).

use std::collections::HashMap;

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Map, Value, json};

/// A configured `SnsPublishOperator`.
#[derive(Debug)]
pub struct SnsPublishOperator {
    aws: AwsParams,
    target_arn: String,
    message: String,
    subject: Option<String>,
    message_attributes: Option<Map<String, Value>>,
    message_deduplication_id: Option<String>,
    message_group_id: Option<String>,
}

/// The SNS attribute of one value of `message_attributes`: a string is `String`, a number or
/// a boolean `Number` (as Python's `str()` writes it), a list or a mapping `String.Array` (its
/// JSON as Python's `json.dumps` writes it).
///
/// # Errors
/// A null value: the provider refuses it too (a TypeError).
pub(crate) fn attribute(name: &str, v: &Value) -> Result<(&'static str, String), String> {
    match v {
        Value::String(s) => Ok(("String", s.clone())),
        Value::Bool(b) => Ok(("Number", if *b { "True" } else { "False" }.to_owned())),
        Value::Number(n) => Ok(("Number", n.to_string())),
        Value::Array(_) | Value::Object(_) => Ok(("String.Array", python_json(v))),
        Value::Null => Err(format!(
            "`{name}` is null; values in message_attributes must be a string, a number, a \
             boolean or a list"
        )),
    }
}

/// JSON as Python's `json.dumps` writes it by default: `", "` and `": "` between items, and
/// every character outside ASCII escaped.
pub(crate) fn python_json(v: &Value) -> String {
    match v {
        Value::String(s) => {
            let mut out = String::from("\"");
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '\u{8}' => out.push_str("\\b"),
                    '\u{c}' => out.push_str("\\f"),
                    c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                        let mut buf = [0u16; 2];
                        for unit in c.encode_utf16(&mut buf) {
                            out.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!(
                    "{}: {}",
                    python_json(&Value::String(k.clone())),
                    python_json(v)
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A value as Python's `%s` prints it in the provider's log line (`None` for absent).
fn py(v: Option<&str>) -> String {
    v.unwrap_or("None").to_owned()
}

impl Operator for SnsPublishOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.sns.SnsPublishOperator",
        aliases: &[],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "message",
            "message_attributes",
            "message_deduplication_id",
            "message_group_id",
            "region_name",
            "subject",
            "target_arn",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let target_arn = p.required_str(
            "target_arn",
            "the ARN of the SNS topic (or platform endpoint) to publish to",
        )?;
        let message = p.required_str("message", "the message to publish")?;
        let subject = p.str("subject")?;
        let message_attributes = p.map("message_attributes")?.cloned();
        if let Some(m) = &message_attributes {
            for (k, v) in m {
                attribute(k, v).map_err(|e| {
                    ParamError::at(
                        "message_attributes",
                        format!("SnsPublishOperator parameter `message_attributes`: {e}"),
                    )
                })?;
            }
        }
        let message_deduplication_id = p.str("message_deduplication_id")?;
        let message_group_id = p.str("message_group_id")?;
        Ok(SnsPublishOperator {
            aws,
            target_arn,
            message,
            subject,
            message_attributes,
            message_deduplication_id,
            message_group_id,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let sns = airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_sns))?;
        let attributes_text = self.message_attributes.as_ref().map_or_else(
            || "None".to_owned(),
            |m| python_json(&Value::Object(m.clone())),
        );
        ctx.info(&format!(
            "Sending SNS notification to {} using aws_default:\nsubject={}\nattributes={}\n\
             message={}\nmessage_deduplication_id={}\nmessage_group_id={}",
            self.target_arn,
            py(self.subject.as_deref()),
            attributes_text,
            self.message,
            py(self.message_deduplication_id.as_deref()),
            py(self.message_group_id.as_deref()),
        ));
        // An empty mapping sends no attributes (the provider's `if message_attributes:`).
        let attributes = match &self.message_attributes {
            Some(m) if !m.is_empty() => {
                let mut out = HashMap::new();
                for (k, v) in m {
                    let (data_type, value) = attribute(k, v).map_err(TaskError::fatal)?;
                    let value = MessageAttributeValue::builder()
                        .data_type(data_type)
                        .string_value(value)
                        .build()
                        .map_err(|e| TaskError::fatal(format!("message attribute `{k}`: {e}")))?;
                    out.insert(k.clone(), value);
                }
                Some(out)
            }
            _ => None,
        };
        let out = sns
            .publish()
            .target_arn(&self.target_arn)
            .message_structure("json")
            .message(python_json(&json!({"default": self.message})))
            .set_subject(self.subject.clone())
            .set_message_deduplication_id(self.message_deduplication_id.clone())
            .set_message_group_id(self.message_group_id.clone())
            .set_message_attributes(attributes)
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("Publish to {}", self.target_arn), &e)
            })?;
        let mut xcom = Map::new();
        if let Some(id) = out.message_id() {
            xcom.insert("MessageId".into(), json!(id));
        }
        if let Some(n) = out.sequence_number() {
            xcom.insert("SequenceNumber".into(), json!(n));
        }
        Ok(Outcome::Success(Some(Value::Object(xcom))))
    }

    /// Publish on `target_arn` (the topic, or the platform endpoint).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(&["sns:Publish"], [self.target_arn.clone()])]
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<SnsPublishOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<SnsPublishOperator>(&p)
    }

    #[test]
    fn attributes_take_their_data_type_from_the_value() {
        assert_eq!(attribute("a", &json!("x")), Ok(("String", "x".to_owned())));
        assert_eq!(attribute("a", &json!(3)), Ok(("Number", "3".to_owned())));
        assert_eq!(
            attribute("a", &json!(2.5)),
            Ok(("Number", "2.5".to_owned()))
        );
        assert_eq!(
            attribute("a", &json!(true)),
            Ok(("Number", "True".to_owned()))
        );
        assert_eq!(
            attribute("a", &json!(["x", 1])),
            Ok(("String.Array", "[\"x\", 1]".to_owned()))
        );
        assert!(
            attribute("a", &Value::Null)
                .unwrap_err()
                .contains("`a` is null")
        );
    }

    #[test]
    fn python_json_escapes_as_json_dumps() {
        assert_eq!(
            python_json(&json!({"default": "héllo \"x\"\n"})),
            "{\"default\": \"h\\u00e9llo \\\"x\\\"\\n\"}"
        );
        assert_eq!(python_json(&json!("😀")), "\"\\ud83d\\ude00\"");
    }

    #[test]
    fn parameters_are_read_and_checked() {
        let op = build(json!({
            "target_arn": "arn:aws:sns:us-east-1:123456789012:t",
            "message": "hi",
            "subject": "s",
            "message_attributes": {"n": 1},
        }))
        .unwrap();
        assert_eq!(op.subject.as_deref(), Some("s"));
        let e = build(json!({"message": "hi"})).unwrap_err();
        assert!(e.message().contains("needs `target_arn`"), "{e}");
        let e =
            build(json!({"target_arn": "t", "message": "m", "message_attributes": {"x": null}}))
                .unwrap_err();
        assert_eq!(e.param(), Some("message_attributes"));
        assert!(e.message().contains("`x` is null"), "{e}");
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::SnsPublishOperator;

    #[test]
    fn publishing_to_the_target() {
        let topic = "arn:aws:sns:us-east-1:1:t";
        let p: Params = json!({"target_arn": topic, "message": "m"})
            .as_object()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            build_operator::<SnsPublishOperator>(&p)
                .expect("valid parameters")
                .permissions(),
            [Permission::new(&["sns:Publish"], [topic])]
        );
    }
}
