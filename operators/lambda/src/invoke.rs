//! `LambdaInvokeFunctionOperator`: invokes a function and pushes its response payload, as
//! the string the function returned.

use airtask_aws::AwsParams;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_lambda::operation::RequestId as _;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;
use serde_json::Value;

use crate::common::{client, function_arn};

/// The invocation types Lambda takes.
const INVOCATION_TYPES: [&str; 3] = ["RequestResponse", "Event", "DryRun"];

/// A configured `LambdaInvokeFunctionOperator`.
#[derive(Debug)]
pub struct LambdaInvokeFunctionOperator {
    aws: AwsParams,
    function_name: String,
    payload: Option<String>,
    invocation_type: Option<String>,
    log_type: Option<String>,
    keep_empty_log_lines: bool,
    qualifier: Option<String>,
    client_context: Option<String>,
    deserialize_payload: bool,
}

impl Operator for LambdaInvokeFunctionOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.lambda_function.AwsLambdaInvokeFunctionOperator",
            "airflow.providers.amazon.aws.operators.aws_lambda.AwsLambdaInvokeFunctionOperator",
        ],
        // The provider's `aws_template_fields(...)`: its own and the AWS ones, sorted.
        template_fields: &[
            "aws_conn_id",
            "function_name",
            "invocation_type",
            "payload",
            "qualifier",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let function_name = p.required_str(
            "function_name",
            "the name, ARN or partial ARN of the Lambda function to invoke",
        )?;
        let payload = match p.value("payload") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            // A mapping or list (a YAML mapping, or a lone xcom_pull rendered natively) is the
            // JSON the function gets; the provider would refuse it (boto3 wants bytes or str).
            Some(v @ (Value::Object(_) | Value::Array(_))) => Some(v.to_string()),
            Some(other) => {
                return Err(ParamError::at(
                    "payload",
                    format!(
                        "LambdaInvokeFunctionOperator parameter `payload` must be the JSON text \
                         the function gets (a string, or a mapping or list written as YAML), not \
                         {}",
                        airtask_core::params::describe(other)
                    ),
                ));
            }
        };
        let invocation_type = p.str("invocation_type")?;
        if let Some(t) = &invocation_type
            && !p.is_templated(t)
            && !INVOCATION_TYPES.contains(&t.as_str())
        {
            return Err(ParamError::at(
                "invocation_type",
                format!(
                    "LambdaInvokeFunctionOperator parameter `invocation_type` is '{t}'; Lambda \
                     takes {} (RequestResponse when omitted)",
                    INVOCATION_TYPES.join(", ")
                ),
            ));
        }
        // Not a template field in the provider, so never a template here.
        let log_type = p.str("log_type")?;
        if let Some(t) = &log_type
            && t != "Tail"
            && t != "None"
        {
            return Err(ParamError::at(
                "log_type",
                format!(
                    "LambdaInvokeFunctionOperator parameter `log_type` is '{t}'; Lambda takes \
                     Tail (the last 4 KB of the execution log, printed in the task log) or None"
                ),
            ));
        }
        Ok(LambdaInvokeFunctionOperator {
            aws,
            function_name,
            payload,
            invocation_type,
            log_type,
            keep_empty_log_lines: p.bool("keep_empty_log_lines", true)?,
            qualifier: p.str("qualifier")?,
            client_context: p.str("client_context")?,
            deserialize_payload: p.bool("deserialize_payload", false)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let lambda = client(ctx, self.aws.region())?;
        self.invoke(ctx, &lambda).await
    }

    /// Invoke (`lambda:InvokeFunction`) on the function, at `qualifier` when given.
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["lambda:InvokeFunction"],
            [function_arn(
                &self.aws,
                &self.function_name,
                self.qualifier.as_deref(),
            )],
        )]
    }
}

impl LambdaInvokeFunctionOperator {
    /// Invokes the function with `lambda` and checks the answer, as the provider does.
    async fn invoke(
        &self,
        ctx: &TaskContext,
        lambda: &aws_sdk_lambda::Client,
    ) -> Result<Outcome, TaskError> {
        let name = &self.function_name;
        ctx.info(&format!(
            "Invoking AWS Lambda function: {name} with payload: {}",
            self.payload.as_deref().unwrap_or("None")
        ));
        let out = lambda
            .invoke()
            .function_name(name)
            .set_invocation_type(self.invocation_type.as_deref().map(InvocationType::from))
            .set_log_type(self.log_type.as_deref().map(LogType::from))
            .set_client_context(self.client_context.clone())
            .set_payload(self.payload.as_ref().map(|p| Blob::new(p.as_bytes())))
            .set_qualifier(self.qualifier.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(&format!("Invoke of the Lambda function {name}"), &e)
            })?;
        let metadata = format!(
            "{{'RequestId': '{}', 'HTTPStatusCode': {}}}",
            out.request_id().unwrap_or_default(),
            out.status_code()
        );
        ctx.info(&format!("Lambda response metadata: {metadata}"));

        // Printed before the checks below, so a failed invocation shows its log too.
        if let Some(lines) = out.log_result().and_then(decode_log_result) {
            let lines: Vec<&str> = split_lines(&lines)
                .into_iter()
                .filter(|l| self.keep_empty_log_lines || !l.is_empty())
                .collect();
            if !lines.is_empty() {
                ctx.info(&format!(
                    "The last 4 KB of the Lambda execution log (keep_empty_log_lines={}).",
                    if self.keep_empty_log_lines {
                        "True"
                    } else {
                        "False"
                    }
                ));
                for line in lines {
                    ctx.info(line);
                }
            }
        }

        if ![200, 202, 204].contains(&out.status_code()) {
            return Err(TaskError::retryable(format!(
                "Lambda function did not execute: Invoke of {name} answered HTTP status {} \
                 (expected 200, 202 or 204); response metadata {metadata}",
                out.status_code()
            )));
        }
        let payload = match out.payload() {
            None => String::new(),
            Some(blob) => String::from_utf8(blob.as_ref().to_vec()).map_err(|_| {
                TaskError::retryable(format!(
                    "The response payload of the Lambda function {name} is not UTF-8 text \
                     (response metadata {metadata})"
                ))
            })?,
        };
        if let Some(kind) = out.function_error() {
            return Err(TaskError::retryable(format!(
                "Lambda function execution resulted in error: {name} returned FunctionError \
                 '{kind}'; its payload: {payload} (response metadata {metadata})"
            )));
        }
        ctx.info(&format!("Lambda function invocation succeeded: {metadata}"));
        let value = if self.deserialize_payload {
            serde_json::from_str(&payload).map_err(|e| {
                TaskError::retryable(format!(
                    "deserialize_payload is set but the payload of the Lambda function {name} \
                     is not JSON ({e}): {payload}"
                ))
            })?
        } else {
            Value::String(payload)
        };
        Ok(Outcome::Success(Some(value)))
    }
}

/// The text of a base64 `LogResult`; `None` when it is not base64 of UTF-8 (the provider then
/// prints nothing).
fn decode_log_result(encoded: &str) -> Option<String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// Python's `str.splitlines()`: the line boundaries it knows, no empty line after a final one.
fn split_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let boundary = matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        );
        if boundary {
            lines.push(&text[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r'
                && let Some((j, '\n')) = chars.peek().copied()
            {
                chars.next();
                end = j + 1;
            }
            start = end;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params};
    use aws_sdk_lambda::operation::invoke::{InvokeError, InvokeOutput};
    use aws_sdk_lambda::types::error::ResourceNotFoundException;
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);

    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().expect("log lock").push(message.to_owned());
        }
    }

    fn operator(params: serde_json::Value) -> LambdaInvokeFunctionOperator {
        let params: Params = params.as_object().cloned().expect("a mapping");
        let mut reader = ParamReader::new("LambdaInvokeFunctionOperator", &params);
        let op = LambdaInvokeFunctionOperator::from_params(&mut reader).expect("valid");
        reader.finish().expect("no unknown parameters");
        op
    }

    fn context() -> (TaskContext, Arc<Lines>) {
        let lines = Arc::new(Lines::default());
        let ctx = TaskContext::new(
            &LambdaInvokeFunctionOperator::SPEC,
            "invoke",
            1,
            lines.clone(),
        );
        (ctx, lines)
    }

    fn tail(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[tokio::test]
    async fn a_function_error_fails_the_try_with_the_payload_after_printing_the_tail() {
        let rule = mock!(aws_sdk_lambda::Client::invoke).then_output(|| {
            InvokeOutput::builder()
                .status_code(200)
                .function_error("Unhandled")
                .log_result(tail("START\n\n[ERROR] boom\nEND\n"))
                .payload(Blob::new(&br#"{"errorMessage":"boom"}"#[..]))
                .build()
        });
        let lambda = mock_client!(aws_sdk_lambda, [&rule]);
        let op = operator(serde_json::json!({"function_name": "f", "log_type": "Tail",
            "keep_empty_log_lines": false}));
        let (ctx, lines) = context();
        let err = op
            .invoke(&ctx, &lambda)
            .await
            .expect_err("FunctionError fails");
        assert!(
            err.retryable,
            "retried per retries, as Airflow retries a ValueError"
        );
        assert!(err.message.contains("FunctionError 'Unhandled'"), "{err}");
        assert!(err.message.contains(r#"{"errorMessage":"boom"}"#), "{err}");
        let lines = lines.0.lock().expect("log lock").clone();
        let header = lines
            .iter()
            .position(|l| l.contains("(keep_empty_log_lines=False)"))
            .expect("tail header");
        assert_eq!(
            &lines[header + 1..header + 4],
            ["START", "[ERROR] boom", "END"]
        );
    }

    #[tokio::test]
    async fn an_unexpected_status_fails_and_an_event_pushes_the_empty_string() {
        let rule = mock!(aws_sdk_lambda::Client::invoke)
            .sequence()
            .output(|| InvokeOutput::builder().status_code(299).build())
            .output(|| InvokeOutput::builder().status_code(202).build())
            .build();
        let lambda = mock_client!(aws_sdk_lambda, [&rule]);
        let op = operator(serde_json::json!({"function_name": "f", "invocation_type": "Event"}));
        let (ctx, _) = context();
        let err = op
            .invoke(&ctx, &lambda)
            .await
            .expect_err("299 is not 200/202/204");
        assert!(
            err.message.contains("Lambda function did not execute"),
            "{err}"
        );
        let out = op.invoke(&ctx, &lambda).await.expect("202");
        assert_eq!(out, Outcome::Success(Some(Value::String(String::new()))));
    }

    #[tokio::test]
    async fn an_unknown_function_is_fatal() {
        let rule = mock!(aws_sdk_lambda::Client::invoke).then_error(|| {
            InvokeError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .message("Function not found: arn:aws:lambda:us-east-1:1:function:f")
                    .build(),
            )
        });
        let lambda = mock_client!(aws_sdk_lambda, [&rule]);
        let (ctx, _) = context();
        let err = operator(serde_json::json!({"function_name": "f"}))
            .invoke(&ctx, &lambda)
            .await
            .expect_err("not found");
        assert!(!err.retryable, "{err}");
        assert!(err.message.contains("ResourceNotFoundException"), "{err}");
    }

    #[test]
    fn bad_invocation_and_log_types_are_refused_listing_the_allowed_ones() {
        for (params, expected) in [
            (
                serde_json::json!({"function_name": "f", "invocation_type": "Sync"}),
                "RequestResponse, Event, DryRun",
            ),
            (
                serde_json::json!({"function_name": "f", "log_type": "Full"}),
                "Tail",
            ),
            (
                serde_json::json!({"function_name": "f", "payload": 3}),
                "JSON text",
            ),
        ] {
            let params: Params = params.as_object().cloned().expect("a mapping");
            let mut reader = ParamReader::new("LambdaInvokeFunctionOperator", &params);
            let err = LambdaInvokeFunctionOperator::from_params(&mut reader).expect_err("refused");
            assert!(err.message().contains(expected), "{err}");
        }
    }

    #[test]
    fn lines_split_as_python_splitlines() {
        assert_eq!(split_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(split_lines("a\n\nb\n"), ["a", "", "b"]);
        assert_eq!(split_lines(""), Vec::<&str>::new());
        assert_eq!(split_lines("\n"), [""]);
        assert_eq!(split_lines("x\u{2028}y"), ["x", "y"]);
    }

    #[test]
    fn log_result_that_is_not_base64_is_skipped() {
        assert_eq!(decode_log_result("not base64!"), None);
        assert_eq!(decode_log_result("aGkK").as_deref(), Some("hi\n"));
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::LambdaInvokeFunctionOperator;

    #[test]
    fn the_function_is_invoked_at_its_qualifier() {
        let perms = |v: serde_json::Value| {
            let p: Params = v.as_object().cloned().unwrap_or_default();
            build_operator::<LambdaInvokeFunctionOperator>(&p)
                .expect("valid parameters")
                .permissions()
        };
        assert_eq!(
            perms(json!({"function_name": "f", "qualifier": "live"})),
            [Permission::new(
                &["lambda:InvokeFunction"],
                ["arn:aws:lambda:{region}:{account}:function:f:live"]
            )]
        );
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:g";
        assert_eq!(
            perms(json!({"function_name": arn})),
            [Permission::new(&["lambda:InvokeFunction"], [arn])]
        );
    }
}
