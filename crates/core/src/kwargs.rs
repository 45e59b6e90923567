//! boto3-style keyword arguments (`create_job_kwargs`, `run_job_kwargs`, a crawler's `config`)
//! read into the SDK's types: every key checked, an unknown one refused with the path to it
//! and the keys that are accepted, so `validate` catches a typo before AWS does.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// One JSON object being read; the keys read are remembered so that [`Obj::finish`] can refuse
/// the others.
pub struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
    known: Vec<&'static str>,
    /// False for `airtask validate`: an unrendered template where a number, a boolean or a
    /// mapping is expected then reads as absent (only a try knows its value).
    rendered: bool,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

impl<'a> Obj<'a> {
    /// Reads `value` as an object; `path` names it in messages (`create_job_kwargs`).
    /// `rendered` is false for unrendered parameters (`airtask validate`).
    pub fn new(
        path: impl Into<String>,
        value: &'a Value,
        rendered: bool,
    ) -> Result<Obj<'a>, String> {
        let path = path.into();
        match value {
            Value::Object(map) => Ok(Obj {
                path,
                map,
                known: Vec::new(),
                rendered,
            }),
            other => Err(format!("`{path}` must be a mapping, not {}", kind(other))),
        }
    }

    fn at(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.known.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Like `get`, but an unrendered template where a non-string is expected reads as absent.
    fn get_typed(&mut self, key: &'static str) -> Option<&'a Value> {
        let rendered = self.rendered;
        self.get(key)
            .filter(|v| rendered || !matches!(v, Value::String(s) if crate::params::is_template(s)))
    }

    /// Whether `key` is present (and not null), without reading it.
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// An optional string.
    pub fn str(&mut self, key: &'static str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(format!(
                "`{}` must be a string, not {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    /// An optional string converted with `From<&str>`, as the SDK's enums are built.
    pub fn str_into<T: for<'s> From<&'s str>>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<T>, String> {
        Ok(self.str(key)?.as_deref().map(T::from))
    }

    /// A required string: absent (or null) is an error naming its path.
    pub fn required_str(&mut self, key: &'static str) -> Result<String, String> {
        let path = self.at(key);
        self.str(key)?
            .ok_or_else(|| format!("`{path}` is required"))
    }

    /// An optional integer (a number, or a string of one as a template renders it).
    pub fn i32(&mut self, key: &'static str) -> Result<Option<i32>, String> {
        self.integer(key, |n| i32::try_from(n).ok())
    }

    /// An optional 64-bit integer (a number, or a string of one as a template renders it).
    pub fn i64(&mut self, key: &'static str) -> Result<Option<i64>, String> {
        self.integer(key, Some)
    }

    fn integer<T>(
        &mut self,
        key: &'static str,
        fit: impl FnOnce(i64) -> Option<T>,
    ) -> Result<Option<T>, String> {
        let Some(v) = self.get_typed(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.and_then(fit)
            .map(Some)
            .ok_or_else(|| format!("`{}` must be a whole number, not {v}", self.at(key)))
    }

    /// An optional number.
    pub fn f64(&mut self, key: &'static str) -> Result<Option<f64>, String> {
        let Some(v) = self.get_typed(key) else {
            return Ok(None);
        };
        let n = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        n.filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(|| format!("`{}` must be a number, not {v}", self.at(key)))
    }

    /// An optional boolean.
    pub fn bool(&mut self, key: &'static str) -> Result<Option<bool>, String> {
        match self.get_typed(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(format!(
                "`{}` must be true or false, not {}",
                self.at(key),
                kind(other)
            )),
        }
    }

    /// An optional mapping of strings to strings.
    pub fn str_map(
        &mut self,
        key: &'static str,
    ) -> Result<Option<HashMap<String, String>>, String> {
        let Some(v) = self.get_typed(key) else {
            return Ok(None);
        };
        let path = self.at(key);
        str_map(&path, v).map(Some)
    }

    /// An optional list of strings.
    pub fn str_list(&mut self, key: &'static str) -> Result<Option<Vec<String>>, String> {
        let Some(v) = self.get_typed(key) else {
            return Ok(None);
        };
        let path = self.at(key);
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(format!(
                        "`{path}[{i}]` must be a string, not {}",
                        kind(other)
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            other => Err(format!(
                "`{path}` must be a list of strings, not {}",
                kind(other)
            )),
        }
    }

    /// An optional nested object.
    pub fn obj(&mut self, key: &'static str) -> Result<Option<Obj<'a>>, String> {
        let path = self.at(key);
        let rendered = self.rendered;
        self.get_typed(key)
            .map(|v| Obj::new(path, v, rendered))
            .transpose()
    }

    /// Reads the optional nested object under `key` with `read`, then refuses the keys `read`
    /// did not take.
    pub fn nested<T>(
        &mut self,
        key: &'static str,
        read: impl FnOnce(&mut Obj<'a>) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.obj(key)? {
            None => Ok(None),
            Some(mut o) => {
                let value = read(&mut o)?;
                o.finish()?;
                Ok(Some(value))
            }
        }
    }

    /// An optional list of objects.
    pub fn objs(&mut self, key: &'static str) -> Result<Option<Vec<Obj<'a>>>, String> {
        let path = self.at(key);
        let rendered = self.rendered;
        match self.get_typed(key) {
            None => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| Obj::new(format!("{path}[{i}]"), item, rendered))
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(format!(
                "`{path}` must be a list of mappings, not {}",
                kind(other)
            )),
        }
    }

    /// Reads each mapping of the optional list under `key` with `read`, refusing in each the
    /// keys `read` did not take.
    pub fn each<T>(
        &mut self,
        key: &'static str,
        mut read: impl FnMut(&mut Obj<'a>) -> Result<T, String>,
    ) -> Result<Option<Vec<T>>, String> {
        let Some(items) = self.objs(key)? else {
            return Ok(None);
        };
        items
            .into_iter()
            .map(|mut o| {
                let value = read(&mut o)?;
                o.finish()?;
                Ok(value)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Refuses any key that was not read, naming it and the accepted ones.
    pub fn finish(self) -> Result<(), String> {
        for key in self.map.keys() {
            if !self.known.contains(&key.as_str()) {
                return Err(format!(
                    "`{}` is not a setting airtask knows here; the accepted keys are {}",
                    self.at(key),
                    self.known.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// A mapping parameter of `p` (`create_job_kwargs`, `config`): `None` when absent, or when it
/// is an unrendered template (`airtask validate`; only a try knows its value).
pub fn mapping<'a>(p: &mut crate::ParamReader<'a>, name: &'static str) -> Option<&'a Value> {
    match p.value(name) {
        Some(Value::String(s)) if p.is_templated(s) => None,
        other => other,
    }
}

/// The error of a parameter read with [`Obj`]: the operator, then what is wrong where.
pub fn param_error(p: &crate::ParamReader<'_>, name: &str, message: String) -> crate::ParamError {
    crate::ParamError::at(name, format!("{} parameter {message}", p.operator()))
}

/// A mapping of strings to strings at `path`.
pub fn str_map(path: &str, v: &Value) -> Result<HashMap<String, String>, String> {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(format!(
                    "`{path}.{k}` must be a string, not {} (quote it in the YAML)",
                    kind(other)
                )),
            })
            .collect(),
        other => Err(format!(
            "`{path}` must be a mapping of strings, not {}",
            kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_typed_values_and_refuses_unknown_keys_with_their_path() {
        let v = json!({"Timeout": "60", "MaxCapacity": 2, "Args": {"--a": "1"}, "Typo": 1});
        let mut o = Obj::new("create_job_kwargs", &v, true).unwrap();
        assert_eq!(o.i32("Timeout").unwrap(), Some(60));
        assert_eq!(o.f64("MaxCapacity").unwrap(), Some(2.0));
        assert_eq!(
            o.str_map("Args")
                .unwrap()
                .unwrap()
                .get("--a")
                .map(String::as_str),
            Some("1")
        );
        let e = o.finish().unwrap_err();
        assert!(e.contains("`create_job_kwargs.Typo`"), "{e}");
        assert!(e.contains("Timeout, MaxCapacity, Args"), "{e}");
    }

    #[test]
    fn lists_of_mappings_integers_and_required_strings() {
        let v = json!({
            "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Typo": 2}],
            "Big": 5_000_000_000_i64,
            "Small": 5_000_000_000_i64,
        });
        let mut o = Obj::new("kw", &v, true).unwrap();
        assert_eq!(o.i64("Big").unwrap(), Some(5_000_000_000));
        assert_eq!(o.str_into::<String>("Absent").unwrap(), None);
        let e = o.i32("Small").unwrap_err();
        assert!(e.contains("`kw.Small` must be a whole number"), "{e}");
        let e = o
            .each("Tags", |t| Ok((t.required_str("Key")?, t.str("Value")?)))
            .unwrap_err();
        assert!(e.contains("`kw.Tags[1].Typo` is not a setting"), "{e}");
        let v = json!({"Tags": [{"Key": "a"}, {"Value": "2"}]});
        let mut o = Obj::new("kw", &v, true).unwrap();
        let e = o
            .each("Tags", |t| Ok((t.required_str("Key")?, t.str("Value")?)))
            .unwrap_err();
        assert_eq!(e, "`kw.Tags[1].Key` is required");
        let v = json!({"Tags": [{"Key": "a"}]});
        let mut o = Obj::new("kw", &v, true).unwrap();
        let tags = o
            .each("Tags", |t| Ok((t.required_str("Key")?, t.str("Value")?)))
            .unwrap();
        assert_eq!(tags, Some(vec![("a".to_owned(), None)]));
        assert_eq!(o.each("Missing", |t| t.str("X")).unwrap(), None);
        o.finish().unwrap();
    }

    #[test]
    fn wrong_types_name_the_path() {
        let v = json!({"Command": {"Name": 3}, "Args": {"--x": true}, "N": 1.5});
        let mut o = Obj::new("k", &v, true).unwrap();
        let mut c = o.obj("Command").unwrap().unwrap();
        assert_eq!(
            c.str("Name").unwrap_err(),
            "`k.Command.Name` must be a string, not a number"
        );
        assert!(o.str_map("Args").unwrap_err().contains("`k.Args.--x`"));
        assert!(o.i32("N").unwrap_err().contains("whole number"));
        assert!(Obj::new("k", &json!([1]), true).is_err());
        // Unrendered (validate): a template where a number is expected passes.
        let v = json!({"Timeout": "{{ params.t }}", "Command": "{{ params.c }}"});
        let mut o = Obj::new("k", &v, false).unwrap();
        assert_eq!(o.i32("Timeout").unwrap(), None);
        assert!(o.obj("Command").unwrap().is_none());
        let mut o = Obj::new("k", &v, true).unwrap();
        assert!(o.i32("Timeout").is_err(), "rendered, it must be a number");
    }
}
