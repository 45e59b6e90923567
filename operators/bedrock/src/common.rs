//! What the Bedrock operators and sensors share: the state groups of the provider's waiters and
//! sensors, the reads of boto3-style keyword arguments, JSON <-> smithy `Document`, and the
//! clock the job names take their timestamp from.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airtask_core::kwargs::Obj;
use airtask_core::wait::{Poll, WaitSettings};
use airtask_core::{ParamError, ParamReader, TaskError};
use aws_smithy_types::{Document, Number};
use serde_json::Value;

/// The states of one kind of Bedrock resource, as the provider's waiter (an operator's
/// `wait_for_completion`) and its sensor group them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct States {
    /// What is watched, for messages ("Bedrock model customization job").
    pub(crate) what: &'static str,
    /// The waiter's success states.
    pub(crate) success: &'static [&'static str],
    /// The waiter's failure states (a terminal failure of the wait).
    pub(crate) failure: &'static [&'static str],
    /// The sensor's intermediate states (any other state that is not a failure meets it).
    pub(crate) sensor_intermediate: &'static [&'static str],
    /// The sensor's failure states.
    pub(crate) sensor_failure: &'static [&'static str],
    /// The sensor's `FAILURE_MESSAGE`.
    pub(crate) failure_message: &'static str,
}

/// The provider's `model_customization_job_complete` waiter and
/// `BedrockCustomizeModelCompletedSensor`.
pub(crate) const CUSTOMIZATION_JOB: States = States {
    what: "Bedrock model customization job",
    success: &["Completed"],
    failure: &["Failed", "Stopping", "Stopped"],
    sensor_intermediate: &["InProgress"],
    sensor_failure: &["Failed", "Stopping", "Stopped"],
    failure_message: "Bedrock model customization job sensor failed.",
};

/// `provisioned_model_throughput_complete` and `BedrockProvisionModelThroughputCompletedSensor`.
pub(crate) const PROVISIONED_THROUGHPUT: States = States {
    what: "Bedrock provisioned model throughput",
    success: &["InService"],
    failure: &["Failed"],
    sensor_intermediate: &["Creating", "Updating"],
    sensor_failure: &["Failed"],
    failure_message: "Bedrock provision model throughput sensor failed.",
};

/// `knowledge_base_active` and `BedrockKnowledgeBaseActiveSensor`.
pub(crate) const KNOWLEDGE_BASE: States = States {
    what: "Bedrock knowledge base",
    success: &["ACTIVE"],
    failure: &["DELETING", "FAILED"],
    sensor_intermediate: &["CREATING", "UPDATING"],
    sensor_failure: &["DELETING", "FAILED"],
    failure_message: "Bedrock Knowledge Base Active sensor failed.",
};

/// `ingestion_job_complete` and `BedrockIngestionJobSensor`.
pub(crate) const INGESTION_JOB: States = States {
    what: "Bedrock ingestion job",
    success: &["COMPLETE"],
    failure: &["FAILED"],
    sensor_intermediate: &["STARTING", "IN_PROGRESS"],
    sensor_failure: &["FAILED"],
    failure_message: "Bedrock ingestion job sensor failed.",
};

/// What a describe call says of a resource: its status and, when it failed, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// The status as the API spells it.
    pub(crate) status: String,
    /// The failure message or reasons, when the API gives them.
    pub(crate) reason: Option<String>,
}

impl Status {
    fn why(&self) -> String {
        match &self.reason {
            Some(r) if !r.is_empty() => format!(" ({r})"),
            _ => String::new(),
        }
    }
}

impl States {
    /// One poll of the operator's wait: success is done, a failure state fails the task (as
    /// botocore's "terminal failure state"), anything else waits on.
    ///
    /// # Errors
    /// The failure state, with the resource and its reason.
    pub(crate) fn waiter_poll(&self, name: &str, s: &Status) -> Result<Poll<()>, TaskError> {
        if self.success.contains(&s.status.as_str()) {
            Ok(Poll::Done(()))
        } else if self.failure.contains(&s.status.as_str()) {
            Err(TaskError::retryable(format!(
                "Waiter encountered a terminal failure state: {} {name} is {}{}",
                self.what,
                s.status,
                s.why()
            )))
        } else {
            Ok(Poll::Pending {
                state: s.status.clone(),
            })
        }
    }

    /// One poke of the sensor: a failure state fails with the provider's message, an
    /// intermediate state is not met, anything else is.
    ///
    /// # Errors
    /// The failure state.
    pub(crate) fn sensor_poke(&self, name: &str, s: &Status) -> Result<bool, TaskError> {
        if self.sensor_failure.contains(&s.status.as_str()) {
            return Err(TaskError::retryable(format!(
                "{} ({} {name} is {}{})",
                self.failure_message,
                self.what,
                s.status,
                s.why()
            )));
        }
        Ok(!self.sensor_intermediate.contains(&s.status.as_str()))
    }
}

/// The waiting parameters of a sensor's deferrable mode: the provider's trigger polls every
/// `poke_interval` seconds, at most `max_retries` times.
pub(crate) fn deferred_wait(poke_interval: f64, max_retries: u32) -> WaitSettings {
    WaitSettings {
        wait_for_completion: true,
        waiter_delay: Duration::from_secs_f64(poke_interval),
        waiter_max_attempts: max_retries.max(1),
        deferrable: true,
    }
}

/// The error of a keyword-argument parameter: the operator, the parameter, what is wrong.
pub(crate) fn kwargs_error(p: &ParamReader<'_>, name: &'static str, e: String) -> ParamError {
    airtask_core::kwargs::param_error(p, name, e)
}

/// A required string `key` of the mapping at `path`.
///
/// # Errors
/// When it is absent or not a string.
pub(crate) fn required(o: &mut Obj<'_>, path: &str, key: &'static str) -> Result<String, String> {
    o.str(key)?
        .ok_or_else(|| format!("`{path}.{key}` is required"))
}

/// The list of `{key, value}` tags at `key` (Bedrock's tag shape).
///
/// # Errors
/// When it is not a list of such mappings.
pub(crate) fn tag_pairs(
    o: &mut Obj<'_>,
    path: &str,
    key: &'static str,
) -> Result<Option<Vec<(String, String)>>, String> {
    let Some(items) = o.objs(key)? else {
        return Ok(None);
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            let at = format!("{path}.{key}[{i}]");
            let k = required(&mut t, &at, "key")?;
            let v = required(&mut t, &at, "value")?;
            t.finish()?;
            Ok((k, v))
        })
        .collect::<Result<Vec<_>, String>>()
        .map(Some)
}

/// A JSON value as a smithy `Document` (a filter's value, a model request field).
pub(crate) fn to_document(v: &Value) -> Document {
    match v {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => Document::Number(if let Some(u) = n.as_u64() {
            Number::PosInt(u)
        } else if let Some(i) = n.as_i64() {
            Number::NegInt(i)
        } else {
            Number::Float(n.as_f64().unwrap_or_default())
        }),
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(to_document).collect()),
        Value::Object(m) => Document::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), to_document(v)))
                .collect::<HashMap<_, _>>(),
        ),
    }
}

/// A smithy `Document` as JSON (a retrieved chunk's metadata); object keys sorted, as the
/// SDK's map keeps no order.
pub(crate) fn from_document(d: &Document) -> Value {
    match d {
        Document::Null => Value::Null,
        Document::Bool(b) => Value::Bool(*b),
        Document::Number(Number::PosInt(u)) => Value::from(*u),
        Document::Number(Number::NegInt(i)) => Value::from(*i),
        Document::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Document::String(s) => Value::String(s.clone()),
        Document::Array(items) => Value::Array(items.iter().map(from_document).collect()),
        Document::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), from_document(&m[k])))
                    .collect(),
            )
        }
    }
}

/// A metadata map of `Document`s as a JSON object, keys sorted.
pub(crate) fn metadata(m: &HashMap<String, Document>) -> Value {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    Value::Object(
        keys.into_iter()
            .map(|k| (k.clone(), from_document(&m[k])))
            .collect(),
    )
}

/// Whole seconds since the Unix epoch at `now` (what the provider's
/// `int(timezone.utcnow().timestamp())` gives); `now` comes from the SDK client's time source
/// (`client.config().time_source()`), 0 when it has none.
pub(crate) fn unix_seconds(now: Option<SystemTime>) -> u64 {
    now.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn st(s: &str) -> Status {
        Status {
            status: s.to_owned(),
            reason: Some("boom".to_owned()),
        }
    }

    #[test]
    fn waiters_and_sensors_group_states_as_the_provider() {
        let c = CUSTOMIZATION_JOB;
        assert_eq!(
            c.waiter_poll("j", &st("Completed")).unwrap(),
            Poll::Done(())
        );
        assert_eq!(
            c.waiter_poll("j", &st("InProgress")).unwrap(),
            Poll::Pending {
                state: "InProgress".into()
            }
        );
        let e = c.waiter_poll("j", &st("Stopped")).unwrap_err();
        assert_eq!(
            e.message,
            "Waiter encountered a terminal failure state: Bedrock model customization job j is \
             Stopped (boom)"
        );
        assert!(!c.sensor_poke("j", &st("InProgress")).unwrap());
        assert!(c.sensor_poke("j", &st("Completed")).unwrap());
        let e = c.sensor_poke("j", &st("Failed")).unwrap_err();
        assert!(
            e.message
                .starts_with("Bedrock model customization job sensor failed."),
            "{e}"
        );
        // A state the sensor does not list as intermediate meets it (the provider's poke).
        assert!(KNOWLEDGE_BASE.sensor_poke("kb", &st("ACTIVE")).unwrap());
        assert!(!KNOWLEDGE_BASE.sensor_poke("kb", &st("UPDATING")).unwrap());
        assert!(KNOWLEDGE_BASE.sensor_poke("kb", &st("DELETING")).is_err());
        assert!(INGESTION_JOB.sensor_poke("i", &st("FAILED")).is_err());
        assert!(
            PROVISIONED_THROUGHPUT
                .sensor_poke("p", &st("Failed"))
                .is_err()
        );
    }

    #[test]
    fn documents_round_trip() {
        let v = json!({"a": [1, -2, 1.5, "x", true, null], "b": {"c": "d"}});
        assert_eq!(from_document(&to_document(&v)), v);
    }
}
