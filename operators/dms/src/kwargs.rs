//! Reading the `*_kwargs` mappings the provider passes on to boto3 (`create_task_kwargs`,
//! `start_task_kwargs`, `describe_tasks_kwargs`): only the keys the boto3 call takes, each of
//! its type, as boto3's parameter validation refuses anything else. Keys the operator sets
//! itself are refused too (Python: "got multiple values for keyword argument").

use airtask_core::ParamError;
use airtask_core::params::describe;
use aws_sdk_databasemigration::types::{Filter, Tag};
use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use serde_json::{Map, Value};

/// One `*_kwargs` mapping of an operator.
pub(crate) struct Kwargs<'a> {
    operator: &'static str,
    param: &'static str,
    map: &'a Map<String, Value>,
}

impl<'a> Kwargs<'a> {
    /// The mapping `map` given as `param` of `operator`. `allowed` are the keys its boto3 call
    /// takes; `taken` those the operator passes itself.
    ///
    /// # Errors
    /// A key outside `allowed`.
    pub(crate) fn new(
        operator: &'static str,
        param: &'static str,
        map: &'a Map<String, Value>,
        allowed: &[&str],
        taken: &[&str],
    ) -> Result<Kwargs<'a>, ParamError> {
        let k = Kwargs {
            operator,
            param,
            map,
        };
        if let Some(key) = map.keys().find(|key| taken.contains(&key.as_str())) {
            return Err(k.bad(format!(
                "`{key}` is set by the operator itself (boto3 would get it twice); use the \
                 operator's own parameter instead"
            )));
        }
        if let Some(key) = map.keys().find(|key| !allowed.contains(&key.as_str())) {
            return Err(k.bad(format!(
                "unknown key `{key}`; the keys allowed are {}",
                allowed.join(", ")
            )));
        }
        Ok(k)
    }

    fn bad(&self, message: String) -> ParamError {
        ParamError::at(
            self.param,
            format!("{} parameter `{}`: {message}", self.operator, self.param),
        )
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A string entry.
    ///
    /// # Errors
    /// A value that is not a string.
    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => {
                Err(self.bad(format!("`{key}` must be a string, not {}", describe(other))))
            }
        }
    }

    /// A whole-number entry.
    ///
    /// # Errors
    /// A value that is not a whole number.
    pub(crate) fn i32(&self, key: &str) -> Result<Option<i32>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(Some)
                .ok_or_else(|| {
                    self.bad(format!(
                        "`{key}` must be a whole number, not {}",
                        describe(v)
                    ))
                }),
        }
    }

    /// A boolean entry.
    ///
    /// # Errors
    /// A value that is not true or false.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, ParamError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.bad(format!(
                "`{key}` must be true or false, not {}",
                describe(other)
            ))),
        }
    }

    /// A timestamp entry, as boto3 takes one: seconds since the epoch, or an ISO 8601 date and
    /// time.
    ///
    /// # Errors
    /// Anything else.
    pub(crate) fn timestamp(&self, key: &str) -> Result<Option<DateTime>, ParamError> {
        let v = match self.get(key) {
            None => return Ok(None),
            Some(v) => v,
        };
        let parsed = match v {
            Value::Number(n) => n.as_f64().map(DateTime::from_secs_f64),
            Value::String(s) => timestamp_text(s),
            _ => None,
        };
        parsed.map(Some).ok_or_else(|| {
            self.bad(format!(
                "`{key}` must be a time: seconds since the epoch or an ISO 8601 date and time \
                 (2026-01-02T03:04:05Z), not {}",
                describe(v)
            ))
        })
    }

    /// A `Tags` entry: a list of `{Key, Value, ResourceArn}` mappings.
    ///
    /// # Errors
    /// Anything else.
    pub(crate) fn tags(&self, key: &str) -> Result<Option<Vec<Tag>>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(self.bad(format!(
                "`{key}` must be a list of {{Key, Value}} mappings, not {}",
                describe(v)
            )));
        };
        items
            .iter()
            .map(|item| {
                let m = self.entry_map(key, item, &["Key", "Value", "ResourceArn"])?;
                let field = |name: &str| match m.get(name) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    Some(other) => Err(self.bad(format!(
                        "`{key}` entry `{name}` must be a string, not {}",
                        describe(other)
                    ))),
                };
                Ok(Tag::builder()
                    .set_key(field("Key")?)
                    .set_value(field("Value")?)
                    .set_resource_arn(field("ResourceArn")?)
                    .build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A `Filters` entry: a list of `{Name, Values}` mappings.
    ///
    /// # Errors
    /// Anything else.
    pub(crate) fn filters(&self, key: &str) -> Result<Option<Vec<Filter>>, ParamError> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let Value::Array(items) = v else {
            return Err(self.bad(format!(
                "`{key}` must be a list of {{Name, Values}} mappings, not {}",
                describe(v)
            )));
        };
        items
            .iter()
            .map(|item| {
                let m = self.entry_map(key, item, &["Name", "Values"])?;
                let name = match m.get("Name") {
                    Some(Value::String(s)) => s.clone(),
                    other => {
                        return Err(self.bad(format!(
                            "each `{key}` entry needs `Name`, a string (replication-task-arn, \
                             replication-task-id, migration-type, endpoint-arn or \
                             replication-instance-arn); found {}",
                            other.map_or_else(|| "none".to_owned(), describe)
                        )));
                    }
                };
                let values = match m.get("Values") {
                    Some(Value::Array(vs)) => vs
                        .iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s.clone()),
                            other => Err(self.bad(format!(
                                "`{key}` entry `Values` must list strings, not {}",
                                describe(other)
                            ))),
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                    other => {
                        return Err(self.bad(format!(
                            "each `{key}` entry needs `Values`, a list of strings; found {}",
                            other.map_or_else(|| "none".to_owned(), describe)
                        )));
                    }
                };
                Filter::builder()
                    .name(name)
                    .set_values(Some(values))
                    .build()
                    .map_err(|e| self.bad(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    fn entry_map(
        &self,
        key: &str,
        item: &'a Value,
        allowed: &[&str],
    ) -> Result<&'a Map<String, Value>, ParamError> {
        let Value::Object(m) = item else {
            return Err(self.bad(format!(
                "`{key}` entries must be mappings, not {}",
                describe(item)
            )));
        };
        if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(self.bad(format!(
                "`{key}` entry has unknown key `{k}`; the keys allowed are {}",
                allowed.join(", ")
            )));
        }
        Ok(m)
    }
}

/// An ISO 8601 date and time (`Z` or an offset; a bare date or a time without a zone reads as
/// UTC, as botocore reads it).
fn timestamp_text(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if let Ok(t) = DateTime::from_str(s, Format::DateTime) {
        return Some(t);
    }
    let with_zone = if s.len() == 10 {
        format!("{s}T00:00:00Z")
    } else {
        format!("{}Z", s.replace(' ', "T"))
    };
    DateTime::from_str(&with_zone, Format::DateTime).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kwargs(v: &Value) -> Kwargs<'_> {
        Kwargs::new(
            "Op",
            "create_task_kwargs",
            v.as_object().unwrap(),
            &["Tags", "CdcStartTime", "Filters", "MaxRecords", "X"],
            &["TableMappings"],
        )
        .unwrap()
    }

    #[test]
    fn keys_are_checked_and_values_typed() {
        let v = json!({"TableMappings": "{}"});
        let e = Kwargs::new(
            "Op",
            "p",
            v.as_object().unwrap(),
            &["A"],
            &["TableMappings"],
        )
        .err()
        .unwrap();
        assert!(e.message().contains("set by the operator itself"), "{e}");
        let v = json!({"Nope": 1});
        let e = Kwargs::new("Op", "p", v.as_object().unwrap(), &["A"], &[])
            .err()
            .unwrap();
        assert!(
            e.message()
                .contains("unknown key `Nope`; the keys allowed are A"),
            "{e}"
        );
        let v = json!({
            "Tags": [{"Key": "k", "Value": "v"}],
            "CdcStartTime": "2026-01-02T03:04:05Z",
            "Filters": [{"Name": "migration-type", "Values": ["cdc"]}],
            "MaxRecords": 20,
        });
        let k = kwargs(&v);
        assert_eq!(k.tags("Tags").unwrap().unwrap()[0].key(), Some("k"));
        assert_eq!(
            k.timestamp("CdcStartTime").unwrap().unwrap().secs(),
            1_767_323_045
        );
        assert_eq!(k.filters("Filters").unwrap().unwrap()[0].values(), ["cdc"]);
        assert_eq!(k.i32("MaxRecords").unwrap(), Some(20));
        let v = json!({"CdcStartTime": "soon", "Filters": [{"Values": []}], "Tags": {"k": "v"}});
        let k = kwargs(&v);
        assert!(k.timestamp("CdcStartTime").is_err());
        assert!(
            k.filters("Filters")
                .unwrap_err()
                .message()
                .contains("needs `Name`")
        );
        assert!(k.tags("Tags").is_err());
        assert_eq!(
            timestamp_text("2026-01-02").map(|t| t.secs()),
            Some(1_767_312_000)
        );
    }
}
