//! Requests whose body is written as boto3 writes it, and responses read as boto3 reads them.
//!
//! The ECS (JSON 1.1) and Batch (REST-JSON) APIs take a JSON body whose keys are boto3's
//! keyword arguments, and answer JSON whose keys are what boto3 returns. The operators built on
//! them pass user-written arguments through (`overrides`, `container_definitions`,
//! `compute_resources`...) and hand parts of the answers back as XCom values, so they send
//! those bodies as JSON rather than through the SDK's typed builders: [`RawJson`] is an SDK
//! interceptor that replaces the serialized body with the given JSON before the request is
//! signed (the SDK still signs, retries and records the call's IAM action) and keeps the body
//! of the answer.
//!
//! ```ignore
//! let raw = RawJson::new(json!({"cluster": "c", "taskDefinition": "td", "overrides": {}}));
//! ecs.run_task().task_definition("td").customize().interceptor(raw.clone()).send().await?;
//! let answer: Value = raw.response()?;
//! ```

use std::sync::{Arc, Mutex};

use airtask_core::TaskError;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// An SDK interceptor for one call: sends `body` as the request's JSON body and keeps the
/// answer's body (see the module documentation). Clones share the kept answer.
#[derive(Debug, Clone)]
pub struct RawJson {
    body: Option<Arc<Vec<u8>>>,
    answer: Arc<Mutex<Option<Vec<u8>>>>,
}

impl RawJson {
    /// Sends `body` instead of what the SDK serialized.
    pub fn new(body: &Value) -> RawJson {
        RawJson {
            body: Some(Arc::new(body.to_string().into_bytes())),
            answer: Arc::default(),
        }
    }

    /// Keeps the SDK's request as it is and only keeps the answer.
    pub fn answer_only() -> RawJson {
        RawJson {
            body: None,
            answer: Arc::default(),
        }
    }

    /// The answer's body as JSON (an empty body reads as `{}`).
    ///
    /// # Errors
    /// When no answer was kept (the call failed or was not made) or it is not JSON.
    pub fn response(&self) -> Result<Value, TaskError> {
        let kept = self.answer.lock().map(|a| a.clone()).unwrap_or_default();
        let Some(bytes) = kept else {
            return Err(TaskError::retryable(
                "the AWS answer's body could not be read (no answer was kept)",
            ));
        };
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(serde_json::Map::new()));
        }
        serde_json::from_slice(&bytes).map_err(|e| {
            TaskError::retryable(format!(
                "the AWS answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        })
    }
}

impl Intercept for RawJson {
    fn name(&self) -> &'static str {
        "airtask::RawJson"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = &self.body {
            let request = context.request_mut();
            *request.body_mut() = SdkBody::from(body.as_ref().clone());
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(bytes) = context.response().body().bytes()
            && let Ok(mut answer) = self.answer.lock()
        {
            *answer = Some(bytes.to_vec());
        }
        Ok(())
    }
}

/// Drops the keys whose value is null, as the provider's `trim_none_values` and `prune_dict`
/// do before a call.
pub fn trim_none(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        m.retain(|_, v| !v.is_null());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_kept_answer_is_read_as_json() {
        let raw = RawJson::new(&json!({"a": 1}));
        assert!(raw.response().is_err());
        *raw.answer.lock().unwrap() = Some(b"{\"tasks\": []}".to_vec());
        assert_eq!(raw.response().unwrap(), json!({"tasks": []}));
        let clone = raw.clone();
        *clone.answer.lock().unwrap() = Some(Vec::new());
        assert_eq!(raw.response().unwrap(), json!({}));
        *clone.answer.lock().unwrap() = Some(b"<html>".to_vec());
        assert!(raw.response().unwrap_err().message.contains("not JSON"));
        assert_eq!(raw.body.as_deref().unwrap(), b"{\"a\":1}");
    }

    #[test]
    fn nulls_are_trimmed() {
        assert_eq!(
            trim_none(json!({"a": null, "b": {}, "c": 0})),
            json!({"b": {}, "c": 0})
        );
    }
}
