//! Reading an operator's rendered parameters with Airflow's types and defaults, and errors
//! that name the operator, the parameter and what is allowed. Every parameter an operator
//! reads is recorded, so that [`ParamReader::finish`] can refuse the ones it does not take.

use serde_json::Value;

use crate::Params;

/// Reads the parameters of one operator.
#[derive(Debug)]
pub struct ParamReader<'a> {
    operator: &'static str,
    params: &'a Params,
    known: Vec<&'static str>,
}

impl<'a> ParamReader<'a> {
    /// Starts reading `params` of `operator` (its class name, for messages).
    pub fn new(operator: &'static str, params: &'a Params) -> ParamReader<'a> {
        ParamReader {
            operator,
            params,
            known: Vec::new(),
        }
    }

    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.push(name);
        self.params.get(name).filter(|v| !v.is_null())
    }

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> String {
        format!(
            "{} parameter `{name}` must be {expected}, not {}",
            self.operator,
            describe(found)
        )
    }

    /// Accepts a parameter without reading it (one Airflow takes that changes nothing here).
    pub fn accept(&mut self, name: &'static str) {
        self.known.push(name);
    }

    /// The raw value of a parameter, `None` when absent or null.
    pub fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        self.get(name)
    }

    /// An optional string.
    ///
    /// # Errors
    /// When the value is not a string.
    pub fn str(&mut self, name: &'static str) -> Result<Option<String>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(self.wrong(name, "a string", other)),
        }
    }

    /// A required string; `what` says what it is, for the error.
    ///
    /// # Errors
    /// When the value is absent or not a string.
    pub fn required_str(&mut self, name: &'static str, what: &str) -> Result<String, String> {
        self.str(name)?
            .ok_or_else(|| format!("{} needs `{name}`: {what}", self.operator))
    }

    /// A boolean with a default.
    ///
    /// # Errors
    /// When the value is not true or false.
    pub fn bool(&mut self, name: &'static str, default: bool) -> Result<bool, String> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.wrong(name, "true or false", other)),
        }
    }

    /// A non-negative number of seconds (a number, or a `datetime.timedelta` cast), with a
    /// default.
    ///
    /// # Errors
    /// When the value is not a number, or is negative.
    pub fn seconds(&mut self, name: &'static str, default: f64) -> Result<f64, String> {
        Ok(self.optional_seconds(name)?.unwrap_or(default))
    }

    /// An optional non-negative number of seconds.
    ///
    /// # Errors
    /// When the value is not a number, or is negative.
    pub fn optional_seconds(&mut self, name: &'static str) -> Result<Option<f64>, String> {
        let v = match self.get(name) {
            None => return Ok(None),
            Some(v) => v,
        };
        let secs = match v {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match secs {
            Some(s) if s >= 0.0 && s.is_finite() => Ok(Some(s)),
            _ => Err(self.wrong(name, "a number of seconds, 0 or more", v)),
        }
    }

    /// An optional string or list of strings, as a list.
    ///
    /// # Errors
    /// When the value is neither.
    pub fn str_or_list(&mut self, name: &'static str) -> Result<Option<Vec<String>>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(vec![s.clone()])),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.wrong(name, "a string or a list of strings", other)),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(self.wrong(name, "a string or a list of strings", other)),
        }
    }

    /// Refuses parameters the operator does not take.
    ///
    /// # Errors
    /// Names the first unknown parameter and lists the known ones.
    pub fn finish(self) -> Result<(), String> {
        match self
            .params
            .keys()
            .find(|k| !self.known.contains(&k.as_str()))
        {
            None => Ok(()),
            Some(k) => {
                let mut known = self.known.clone();
                known.sort_unstable();
                known.dedup();
                Err(format!(
                    "{} has no parameter `{k}`; it takes {}",
                    self.operator,
                    known.join(", ")
                ))
            }
        }
    }
}

/// A JSON value as a user would describe it in an error: its type and a short form.
pub fn describe(v: &Value) -> String {
    let kind = match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    };
    let mut text = v.to_string();
    if text.len() > 60 {
        let cut = (0..=57)
            .rev()
            .find(|i| text.is_char_boundary(*i))
            .unwrap_or(0);
        text.truncate(cut);
        text.push_str("...");
    }
    format!("{kind} ({text})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn reads_types_and_refuses_unknown_parameters() {
        let p = params(json!({"a": "x", "b": true, "c": 1.5, "d": ["k"], "e": "k2", "zz": 1}));
        let mut r = ParamReader::new("Op", &p);
        assert_eq!(r.required_str("a", "the a").unwrap(), "x");
        assert!(r.bool("b", false).unwrap());
        assert_eq!(r.seconds("c", 60.0).unwrap(), 1.5);
        assert_eq!(r.seconds("missing", 60.0).unwrap(), 60.0);
        assert_eq!(r.str_or_list("d").unwrap(), Some(vec!["k".to_owned()]));
        assert_eq!(r.str_or_list("e").unwrap(), Some(vec!["k2".to_owned()]));
        let err = r.finish().unwrap_err();
        assert!(
            err.starts_with("Op has no parameter `zz`; it takes a, b, c, d, e"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_name_the_parameter_and_the_value() {
        let p = params(json!({"b": "yes", "c": -1, "s": 3}));
        let mut r = ParamReader::new("Op", &p);
        assert_eq!(
            r.bool("b", false).unwrap_err(),
            "Op parameter `b` must be true or false, not a string (\"yes\")"
        );
        assert!(r.seconds("c", 0.0).unwrap_err().contains("0 or more"));
        assert!(
            r.str("s")
                .unwrap_err()
                .contains("must be a string, not a number (3)")
        );
        assert!(
            r.required_str("absent", "what it is")
                .unwrap_err()
                .contains("needs `absent`")
        );
    }
}
