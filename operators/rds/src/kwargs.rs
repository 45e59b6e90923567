//! `rds_kwargs`: the boto3 keyword arguments the instance operators pass through to
//! CreateDBInstance and DeleteDBInstance, read key by key with boto3's types. A key airtask
//! does not send is refused with the list of those it does.

use airtask_core::ParamError;
use airtask_core::params::describe;
use aws_sdk_rds::types::Tag;
use serde_json::{Map, Value};

/// Reads one `rds_kwargs` mapping of `operator`.
pub(crate) struct Kwargs<'a> {
    operator: &'static str,
    map: Option<&'a Map<String, Value>>,
}

impl<'a> Kwargs<'a> {
    /// Starts reading `map` (absent: every key reads as absent).
    pub(crate) fn new(operator: &'static str, map: Option<&'a Map<String, Value>>) -> Kwargs<'a> {
        Kwargs { operator, map }
    }

    /// Refuses keys outside `allowed`.
    pub(crate) fn only(&self, allowed: &[&str], call: &str) -> Result<(), ParamError> {
        let Some(m) = self.map else { return Ok(()) };
        match m.keys().find(|k| !allowed.contains(&k.as_str())) {
            None => Ok(()),
            Some(k) => Err(ParamError::at(
                "rds_kwargs",
                format!(
                    "{} parameter `rds_kwargs` has the key `{k}`, which airtask does not pass \
                     to {call}; the keys it passes are {}",
                    self.operator,
                    allowed.join(", ")
                ),
            )),
        }
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, v: &Value) -> ParamError {
        ParamError::at(
            "rds_kwargs",
            format!(
                "{} parameter `rds_kwargs`: `{key}` must be {expected}, not {}",
                self.operator,
                describe(v)
            ),
        )
    }

    /// A string.
    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v) => Err(self.wrong(key, "a string", v)),
        }
    }

    /// A boolean.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong(key, "true or false", v)),
        }
    }

    /// A whole number (boto3 takes an integer; a string of digits, as a rendered template
    /// gives, is accepted too).
    pub(crate) fn int(&self, key: &str) -> Result<Option<i32>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                let n = match v {
                    Value::Number(n) => n.as_i64(),
                    Value::String(s) => s.trim().parse::<i64>().ok(),
                    _ => None,
                };
                n.and_then(|n| i32::try_from(n).ok())
                    .map(Some)
                    .ok_or_else(|| self.wrong(key, "a whole number", v))
            }
        }
    }

    /// A list of strings.
    pub(crate) fn list(&self, key: &str) -> Result<Option<Vec<String>>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.wrong(key, "a list of strings", other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(v) => Err(self.wrong(key, "a list of strings", v)),
        }
    }

    /// A list of `{Key, Value}` tags.
    pub(crate) fn tags(&self, key: &str) -> Result<Option<Vec<Tag>>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(self.wrong(key, "a list of {Key, Value} mappings", v));
        };
        items
            .iter()
            .map(|i| match i {
                Value::Object(m) if m.keys().all(|k| k == "Key" || k == "Value") => {
                    Ok(Tag::builder()
                        .set_key(m.get("Key").and_then(Value::as_str).map(str::to_owned))
                        .set_value(m.get("Value").and_then(Value::as_str).map(str::to_owned))
                        .build())
                }
                other => Err(self.wrong(key, "a list of {Key, Value} mappings", other)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
