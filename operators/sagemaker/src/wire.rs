//! The provider's dicts on the wire. SageMaker speaks JSON 1.1: the request boto3 sends for
//! `create_training_job(**config)` is the `config` dict itself, and a `describe_*` answer is
//! the dict the provider serializes into XCom. [`Wire`] is an SDK interceptor that does both
//! for one call of the SDK's client: it sends a request body checked against the operation's
//! shape ([`crate::shapes`]) in place of the (empty) typed input, and keeps the answer's JSON
//! so that the XCom is the whole answer, not the part a hand-written conversion would keep.
//! The SDK still signs, retries, resolves the endpoint, records the IAM action and parses
//! errors.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::{Map, Value};

/// The answer of one call, as JSON (see [`answer_json`]).
#[derive(Debug, Clone, Default)]
pub(crate) struct Answer(Arc<Mutex<Option<Value>>>);

impl Answer {
    /// The answer's JSON; `{}` when the call had no JSON answer.
    pub(crate) fn take(&self) -> Value {
        self.0
            .lock()
            .ok()
            .and_then(|mut a| a.take())
            .unwrap_or_else(|| Value::Object(Map::new()))
    }
}

/// The interceptor: an optional request body to send, and where the answer goes.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    body: Option<String>,
    answer: Answer,
}

impl Wire {
    /// Sends `body` (a JSON object) as the request, when given; keeps the answer.
    pub(crate) fn new(body: Option<&Value>) -> Wire {
        Wire {
            body: body.map(Value::to_string),
            answer: Answer::default(),
        }
    }

    /// Where the answer will be.
    pub(crate) fn answer(&self) -> Answer {
        self.answer.clone()
    }
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "airtask::sagemaker::Wire"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(body) = &self.body {
            let request = context.request_mut();
            request
                .headers_mut()
                .insert("content-length", body.len().to_string());
            *request.body_mut() = SdkBody::from(body.clone());
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        if !response.status().is_success() {
            return Ok(());
        }
        let Some(bytes) = response.body().bytes() else {
            return Ok(());
        };
        let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(bytes) else {
            return Ok(());
        };
        let mut headers = Map::new();
        for (name, value) in response.headers() {
            headers.insert(name.to_ascii_lowercase(), Value::String(value.to_owned()));
        }
        let request_id = headers
            .get("x-amzn-requestid")
            .cloned()
            .unwrap_or(Value::Null);
        body.insert(
            "ResponseMetadata".to_owned(),
            serde_json::json!({
                "RequestId": request_id,
                "HTTPStatusCode": response.status().as_u16(),
                "HTTPHeaders": headers,
                "RetryAttempts": 0,
            }),
        );
        if let Ok(mut a) = self.answer.0.lock() {
            *a = Some(answer_json(Value::Object(body)));
        }
        Ok(())
    }
}

/// Whether `key` names a timestamp in SageMaker's answers (`CreationTime`, `TrainingEndTime`,
/// `LastModifiedTime`, `StartTime`...): the JSON protocol sends those as epoch seconds.
fn is_time_key(key: &str) -> bool {
    key.ends_with("Time") || key.ends_with("Timestamp") || key.ends_with("Date")
}

/// An answer as the XCom value: the JSON as AWS sent it, with every timestamp (epoch seconds
/// on the wire, a `datetime` in boto3's answer) written as an ISO 8601 string.
pub(crate) fn answer_json(v: Value) -> Value {
    fn go(v: Value, time: bool) -> Value {
        match v {
            Value::Object(m) => Value::Object(
                m.into_iter()
                    .map(|(k, v)| {
                        let t = is_time_key(&k);
                        (k, go(v, t))
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(|i| go(i, time)).collect()),
            Value::Number(n) if time => match n.as_f64().and_then(iso) {
                Some(s) => Value::String(s),
                None => Value::Number(n),
            },
            other => other,
        }
    }
    go(v, false)
}

/// Epoch seconds as an ISO 8601 UTC timestamp (`2024-05-01T10:00:00.5+00:00`).
pub(crate) fn iso(secs: f64) -> Option<String> {
    let micros = (secs * 1_000_000.0).round();
    if !micros.is_finite() {
        return None;
    }
    let ts = jiff::Timestamp::from_microsecond(micros as i64).ok()?;
    Some(format!("{}", ts.strftime("%Y-%m-%dT%H:%M:%S%.f+00:00")))
}

/// Calls the fluent builder `$call` with [`Wire`]: `$body` (an `Option<&Value>`) as the request
/// when given; evaluates to `Result<Value, SdkError<..>>` with the answer's JSON.
macro_rules! call {
    ($call:expr, $body:expr) => {{
        let wire = $crate::wire::Wire::new($body);
        let answer = wire.answer();
        $call
            .customize()
            .interceptor(wire)
            .send()
            .await
            .map(|_| answer.take())
    }};
}
pub(crate) use call;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn timestamps_become_iso_strings_and_the_rest_stays() {
        let v = answer_json(json!({
            "CreationTime": 1_700_000_000.5,
            "TrainingTimeInSeconds": 12,
            "SecondaryStatusTransitions": [{"StartTime": 1_700_000_000, "Status": "Starting"}],
            "ResourceConfig": {"InstanceCount": 1},
        }));
        assert_eq!(v["CreationTime"], "2023-11-14T22:13:20.5+00:00");
        assert_eq!(v["TrainingTimeInSeconds"], 12);
        assert_eq!(
            v["SecondaryStatusTransitions"][0]["StartTime"],
            "2023-11-14T22:13:20+00:00"
        );
        assert_eq!(v["ResourceConfig"]["InstanceCount"], 1);
    }
}
