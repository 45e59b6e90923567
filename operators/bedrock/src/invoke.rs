//! `BedrockInvokeModelOperator`: InvokeModel with the JSON of `input_data` as the body; XCom is
//! the model's answer, decoded from JSON (the provider's `json.loads(response["body"].read())`).

use airtask_aws::AwsParams;
use airtask_core::permissions::REGION;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_smithy_types::Blob;
use serde_json::Value;

/// A configured `BedrockInvokeModelOperator`.
#[derive(Debug)]
pub struct BedrockInvokeModelOperator {
    aws: AwsParams,
    model_id: String,
    input_data: Value,
    content_type: Option<String>,
    accept_type: Option<String>,
}

/// The body's MIME type when `content_type` is not given: the API's default, what the
/// provider's call gets.
const JSON: &str = "application/json";

/// The prefixes of cross-region inference profile ids (`us.anthropic.claude...`).
const PROFILE_PREFIXES: &[&str] = &[
    "us.", "eu.", "apac.", "us-gov.", "ca.", "jp.", "au.", "global.",
];

/// The resources InvokeModel of `model_id` needs: the model's ARN as given; a foundation
/// model's ARN in the task's region; for a cross-region inference profile, the profile and
/// the foundation model in every region it routes to.
pub(crate) fn model_resources(region: Option<&str>, model_id: &str) -> Vec<String> {
    if model_id.starts_with("arn:") {
        return vec![model_id.to_owned()];
    }
    let region = region.unwrap_or(REGION);
    if let Some(prefix) = PROFILE_PREFIXES.iter().find(|p| model_id.starts_with(**p)) {
        let model = &model_id[prefix.len()..];
        return vec![
            airtask_core::permissions::arn(
                "bedrock",
                Some(region),
                &format!("inference-profile/{model_id}"),
            ),
            format!("arn:aws:bedrock:*::foundation-model/{model}"),
        ];
    }
    vec![format!(
        "arn:aws:bedrock:{region}::foundation-model/{model_id}"
    )]
}

impl Operator for BedrockInvokeModelOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockInvokeModelOperator",
        aliases: &[],
        // aws_template_fields("model_id", "input_data", "content_type", "accept_type").
        template_fields: &[
            "accept_type",
            "aws_conn_id",
            "content_type",
            "input_data",
            "model_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let model_id = p.required_str(
            "model_id",
            "the id or ARN of the model (or inference profile) to invoke",
        )?;
        let input_data = p.value("input_data").cloned().ok_or_else(|| {
            ParamError::at(
                "input_data",
                "BedrockInvokeModelOperator needs `input_data`: the request body, a mapping in \
                 the model's own format (it is sent as JSON)",
            )
        })?;
        Ok(BedrockInvokeModelOperator {
            aws,
            model_id,
            input_data,
            content_type: p.str("content_type")?,
            accept_type: p.str("accept_type")?,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["bedrock:InvokeModel"],
            model_resources(self.aws.region(), &self.model_id),
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let runtime = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockruntime),
        )?;
        self.run_with(ctx, &runtime).await
    }
}

impl BedrockInvokeModelOperator {
    /// InvokeModel through `runtime`, the answer decoded.
    async fn run_with(
        &self,
        ctx: &TaskContext,
        runtime: &aws_sdk_bedrockruntime::Client,
    ) -> Result<Outcome, TaskError> {
        let body = serde_json::to_vec(&self.input_data)
            .map_err(|e| TaskError::fatal(format!("input_data cannot be sent as JSON: {e}")))?;
        let model = &self.model_id;
        let out = runtime
            .invoke_model()
            .model_id(model)
            .body(Blob::new(body))
            // Unset, boto3 sends no Content-Type and AWS takes the body as application/json;
            // the Rust SDK would send application/octet-stream, so the API's default is sent.
            .content_type(self.content_type.as_deref().unwrap_or(JSON))
            .set_accept(self.accept_type.clone())
            .send()
            .await
            .map_err(|e| airtask_aws::error::task_error(&format!("InvokeModel {model}"), &e))?;
        let bytes = out.body().as_ref();
        let response: Value = serde_json::from_slice(bytes).map_err(|e| {
            TaskError::fatal(format!(
                "the answer of model {model} is not JSON ({e}; content type {}): {}",
                out.content_type(),
                String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
            ))
        })?;
        ctx.info(&format!("Bedrock {model} prompt: {}", self.input_data));
        ctx.info(&format!("Bedrock model response: {response}"));
        Ok(Outcome::Success(Some(response)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use airtask_core::{Level, LogSink, Params, build_operator};
    use aws_sdk_bedrockruntime::Client;
    use aws_sdk_bedrockruntime::operation::invoke_model::InvokeModelOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use serde_json::json;

    use super::*;

    #[derive(Default)]
    struct Lines(Mutex<Vec<String>>);
    impl LogSink for Lines {
        fn line(&self, _: Level, _: &str, message: &str) {
            self.0.lock().unwrap().push(message.to_owned());
        }
    }

    fn ctx() -> (TaskContext, Arc<Lines>) {
        let lines = Arc::new(Lines::default());
        let ctx = TaskContext::new(
            &BedrockInvokeModelOperator::SPEC,
            "invoke",
            1,
            lines.clone(),
        );
        (ctx, lines)
    }

    fn answer(body: &'static str, content_type: &'static str) -> InvokeModelOutput {
        InvokeModelOutput::builder()
            .body(Blob::new(body))
            .content_type(content_type)
            .build()
            .unwrap()
    }

    /// The body goes as JSON with Content-Type application/json unless `content_type` says
    /// otherwise, `accept_type` only when given; the XCom is the decoded answer.
    #[tokio::test]
    async fn the_body_is_sent_as_json_and_the_answer_decoded() {
        let default_type = mock!(Client::invoke_model)
            .match_requests(|r| {
                r.content_type() == Some("application/json")
                    && r.accept().is_none()
                    && r.model_id() == Some("amazon.nova-lite-v1:0")
                    && r.body().map(|b| b.as_ref()) == Some(br#"{"prompt":"hi"}"#.as_slice())
            })
            .then_output(|| answer(r#"{"completion": "hello"}"#, "application/json"));
        let given_types = mock!(Client::invoke_model)
            .match_requests(|r| {
                r.content_type() == Some("application/vnd.x+json")
                    && r.accept() == Some("application/vnd.y+json")
            })
            .then_output(|| answer(r#"[1, 2]"#, "application/vnd.y+json"));
        let runtime = mock_client!(
            aws_sdk_bedrockruntime,
            RuleMode::Sequential,
            [&default_type, &given_types]
        );
        let op =
            build(json!({"model_id": "amazon.nova-lite-v1:0", "input_data": {"prompt": "hi"}}))
                .unwrap();
        let (c, lines) = ctx();
        assert_eq!(
            op.run_with(&c, &runtime).await.unwrap(),
            Outcome::Success(Some(json!({"completion": "hello"})))
        );
        assert_eq!(
            *lines.0.lock().unwrap(),
            [
                r#"Bedrock amazon.nova-lite-v1:0 prompt: {"prompt":"hi"}"#,
                r#"Bedrock model response: {"completion":"hello"}"#
            ]
        );
        let op = build(json!({"model_id": "m", "input_data": {}, "content_type":
            "application/vnd.x+json", "accept_type": "application/vnd.y+json"}))
        .unwrap();
        assert_eq!(
            op.run_with(&ctx().0, &runtime).await.unwrap(),
            Outcome::Success(Some(json!([1, 2])))
        );
    }

    /// An answer that is not JSON fails the try without another (the provider's json.loads
    /// raises): the local endpoint answers every model in JSON, so only a mock reaches it.
    #[tokio::test]
    async fn an_answer_that_is_not_json_fails_without_retry() {
        let text = mock!(Client::invoke_model).then_output(|| answer("plain words", "text/plain"));
        let runtime = mock_client!(aws_sdk_bedrockruntime, [&text]);
        let op = build(json!({"model_id": "m", "input_data": {}})).unwrap();
        let e = op.run_with(&ctx().0, &runtime).await.unwrap_err();
        assert!(!e.retryable, "{e:?}");
        assert!(
            e.message.starts_with("the answer of model m is not JSON (")
                && e.message
                    .ends_with("; content type text/plain): plain words"),
            "{e}"
        );
    }

    fn build(v: Value) -> Result<BedrockInvokeModelOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<BedrockInvokeModelOperator>(&p)
    }

    #[test]
    fn parameters_and_permissions() {
        let op =
            build(json!({"model_id": "amazon.nova-lite-v1:0", "input_data": {"a": 1}})).unwrap();
        assert_eq!(op.input_data, json!({"a": 1}));
        assert_eq!(
            op.permissions(),
            [Permission::new(
                &["bedrock:InvokeModel"],
                ["arn:aws:bedrock:{region}::foundation-model/amazon.nova-lite-v1:0"]
            )]
        );
        let op = build(json!({"model_id": "us.anthropic.claude-3", "input_data": {}, "region_name": "us-west-2"}))
            .unwrap();
        assert_eq!(
            op.permissions()[0].resources,
            [
                "arn:aws:bedrock:us-west-2:{account}:inference-profile/us.anthropic.claude-3",
                "arn:aws:bedrock:*::foundation-model/anthropic.claude-3"
            ]
        );
        let e = build(json!({"model_id": "m"})).unwrap_err();
        assert_eq!(e.param(), Some("input_data"));
        let e = build(json!({"input_data": {}})).unwrap_err();
        assert_eq!(e.param(), Some("model_id"));
    }
}
