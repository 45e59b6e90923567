//! Reading an operator's parameters with Airflow's types and defaults, and errors that name
//! the operator, the parameter and what is allowed. Every parameter an operator reads is
//! recorded, so that [`ParamReader::finish`] can refuse the ones it does not take.
//!
//! A reader works on the rendered parameters (a try) or on the unrendered ones (`airtask
//! validate`, [`ParamReader::unrendered`]); then a string holding a template (`{{`, `{%`)
//! passes wherever a string may be, and where a number, a boolean, a list or a mapping is
//! expected it reads as absent (the default), since only its rendering can say.

use std::ops::RangeInclusive;

use serde_json::Value;

use crate::Params;

/// A parameter that is missing, of the wrong type or not allowed: one paragraph saying what
/// was wrong and what is allowed, and the parameter when one is to blame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    message: String,
    param: Option<String>,
    unknown: bool,
}

impl ParamError {
    /// An error with `message` (which should name the parameter and say what is allowed).
    pub fn new(message: impl Into<String>) -> ParamError {
        ParamError {
            message: message.into(),
            param: None,
            unknown: false,
        }
    }

    /// An error about the parameter `param`.
    pub fn at(param: impl Into<String>, message: impl Into<String>) -> ParamError {
        ParamError {
            message: message.into(),
            param: Some(param.into()),
            unknown: false,
        }
    }

    /// The same error, blamed on `param` (unless it already names one).
    #[must_use]
    pub fn for_param(mut self, param: impl Into<String>) -> ParamError {
        if self.param.is_none() {
            self.param = Some(param.into());
        }
        self
    }

    /// What was wrong.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The parameter to blame, when one is.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// True when the parameter is one the operator does not take (from
    /// [`ParamReader::finish`]).
    pub fn is_unknown_parameter(&self) -> bool {
        self.unknown
    }
}

impl From<String> for ParamError {
    fn from(message: String) -> ParamError {
        ParamError::new(message)
    }
}

impl From<&str> for ParamError {
    fn from(message: &str) -> ParamError {
        ParamError::new(message)
    }
}

impl From<ParamError> for String {
    fn from(e: ParamError) -> String {
        e.message
    }
}

/// Whether a string holds a Jinja template.
pub fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Whether a value holds a Jinja template anywhere (in a string, a list or a mapping).
pub fn holds_template(v: &Value) -> bool {
    match v {
        Value::String(s) => is_template(s),
        Value::Array(items) => items.iter().any(holds_template),
        Value::Object(m) => m.values().any(holds_template),
        _ => false,
    }
}

/// Reads the parameters of one operator.
#[derive(Debug)]
pub struct ParamReader<'a> {
    operator: &'static str,
    params: &'a Params,
    known: Vec<&'static str>,
    rendered: bool,
}

impl<'a> ParamReader<'a> {
    /// Starts reading the rendered `params` of `operator` (its class name, for messages).
    pub fn new(operator: &'static str, params: &'a Params) -> ParamReader<'a> {
        ParamReader {
            operator,
            params,
            known: Vec::new(),
            rendered: true,
        }
    }

    /// Starts reading unrendered `params` (for `airtask validate`): see the module
    /// documentation.
    pub fn unrendered(operator: &'static str, params: &'a Params) -> ParamReader<'a> {
        ParamReader {
            rendered: false,
            ..ParamReader::new(operator, params)
        }
    }

    /// The operator's class name.
    pub fn operator(&self) -> &'static str {
        self.operator
    }

    /// False when the parameters are unrendered (`airtask validate`): checks that depend on
    /// a value's content should then pass over [templated](ParamReader::is_templated) values.
    pub fn rendered(&self) -> bool {
        self.rendered
    }

    /// Whether `s` is an unrendered template, whose value only a try can know.
    pub fn is_templated(&self, s: &str) -> bool {
        !self.rendered && is_template(s)
    }

    fn get(&mut self, name: &'static str) -> Option<&'a Value> {
        self.known.push(name);
        self.params.get(name).filter(|v| !v.is_null())
    }

    /// Like `get`, but an unrendered template where a non-string is expected reads as absent.
    fn get_typed(&mut self, name: &'static str) -> Option<&'a Value> {
        let rendered = self.rendered;
        self.get(name)
            .filter(|v| rendered || !matches!(v, Value::String(s) if is_template(s)))
    }

    fn wrong(&self, name: &str, expected: &str, found: &Value) -> ParamError {
        ParamError::at(
            name,
            format!(
                "{} parameter `{name}` must be {expected}, not {}",
                self.operator,
                describe(found)
            ),
        )
    }

    /// Accepts a parameter without reading it (one Airflow takes that changes nothing here).
    pub fn accept(&mut self, name: &'static str) {
        self.known.push(name);
    }

    /// Whether a parameter is given, null included (where null means something else than
    /// absent, as `skip_on_exit_code: null`).
    pub fn contains(&mut self, name: &'static str) -> bool {
        self.known.push(name);
        self.params.contains_key(name)
    }

    /// The raw value of a parameter, `None` when absent or null.
    pub fn value(&mut self, name: &'static str) -> Option<&'a Value> {
        self.get(name)
    }

    /// An optional string.
    ///
    /// # Errors
    /// When the value is not a string.
    pub fn str(&mut self, name: &'static str) -> Result<Option<String>, ParamError> {
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
    pub fn required_str(&mut self, name: &'static str, what: &str) -> Result<String, ParamError> {
        self.str(name)?.ok_or_else(|| {
            ParamError::at(name, format!("{} needs `{name}`: {what}", self.operator))
        })
    }

    /// A boolean with a default.
    ///
    /// # Errors
    /// When the value is not true or false.
    pub fn bool(&mut self, name: &'static str, default: bool) -> Result<bool, ParamError> {
        match self.get_typed(name) {
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
    pub fn seconds(&mut self, name: &'static str, default: f64) -> Result<f64, ParamError> {
        Ok(self.optional_seconds(name)?.unwrap_or(default))
    }

    /// An optional non-negative number of seconds.
    ///
    /// # Errors
    /// When the value is not a number, or is negative.
    pub fn optional_seconds(&mut self, name: &'static str) -> Result<Option<f64>, ParamError> {
        let v = match self.get_typed(name) {
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

    /// An optional whole number within `range` (a number, or a string of digits as a rendered
    /// template gives).
    ///
    /// # Errors
    /// When the value is not a whole number, or is outside `range`.
    pub fn i64(
        &mut self,
        name: &'static str,
        range: RangeInclusive<i64>,
    ) -> Result<Option<i64>, ParamError> {
        let (low, high) = (*range.start() == i64::MIN, *range.end() == i64::MAX);
        self.integer(name, range, low, high)
    }

    /// A whole number in `range`; `open_start`/`open_end` leave a bound out of the message.
    fn integer(
        &mut self,
        name: &'static str,
        range: RangeInclusive<i64>,
        open_start: bool,
        open_end: bool,
    ) -> Result<Option<i64>, ParamError> {
        let v = match self.get_typed(name) {
            None => return Ok(None),
            Some(v) => v,
        };
        let n = match v {
            Value::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            Value::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let expected = || match (open_start, open_end) {
            (true, true) => "a whole number".to_owned(),
            (false, true) => format!("a whole number, {} or more", range.start()),
            (true, false) => format!("a whole number, at most {}", range.end()),
            (false, false) => {
                format!("a whole number from {} to {}", range.start(), range.end())
            }
        };
        match n {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(self.wrong(name, &expected(), v)),
        }
    }

    /// An optional whole number within `range`, as a `u32`.
    ///
    /// # Errors
    /// When the value is not a whole number, or is outside `range`.
    pub fn u32(
        &mut self,
        name: &'static str,
        range: RangeInclusive<u32>,
    ) -> Result<Option<u32>, ParamError> {
        let open_end = *range.end() == u32::MAX;
        let wide = i64::from(*range.start())..=i64::from(*range.end());
        Ok(self
            .integer(name, wide, false, open_end)?
            .and_then(|n| u32::try_from(n).ok()))
    }

    /// An optional string or list of strings, as a list.
    ///
    /// # Errors
    /// When the value is neither.
    pub fn str_or_list(&mut self, name: &'static str) -> Result<Option<Vec<String>>, ParamError> {
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

    /// An optional mapping (a JSON object, as Python's dict arguments arrive).
    ///
    /// # Errors
    /// When the value is not a mapping.
    pub fn map(
        &mut self,
        name: &'static str,
    ) -> Result<Option<&'a serde_json::Map<String, Value>>, ParamError> {
        match self.get_typed(name) {
            None => Ok(None),
            Some(Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(self.wrong(name, "a mapping", other)),
        }
    }

    /// An optional mapping of strings to strings (tags, environment variables), in the order
    /// written.
    ///
    /// # Errors
    /// When the value is not a mapping, or a value in it is not a string.
    pub fn str_map(
        &mut self,
        name: &'static str,
    ) -> Result<Option<Vec<(String, String)>>, ParamError> {
        let Some(m) = self.map(name)? else {
            return Ok(None);
        };
        m.iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(ParamError::at(
                    name,
                    format!(
                        "{} parameter `{name}` must map names to strings; `{k}` is {}",
                        self.operator,
                        describe(other)
                    ),
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// An optional list.
    ///
    /// # Errors
    /// When the value is not a list.
    pub fn list(&mut self, name: &'static str) -> Result<Option<&'a Vec<Value>>, ParamError> {
        match self.get_typed(name) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(self.wrong(name, "a list", other)),
        }
    }

    /// Refuses parameters the operator does not take.
    ///
    /// # Errors
    /// Names the first unknown parameter and lists the known ones.
    pub fn finish(self) -> Result<(), ParamError> {
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
                let takes = if known.is_empty() {
                    "it takes no parameters".to_owned()
                } else {
                    format!("it takes {}", known.join(", "))
                };
                Err(ParamError {
                    unknown: true,
                    ..ParamError::at(
                        k.as_str(),
                        format!(
                            "{} has no parameter `{k}`; {takes} (Airflow: Invalid arguments \
                             were passed to {})",
                            self.operator, self.operator
                        ),
                    )
                })
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
        assert_eq!(err.param(), Some("zz"));
        assert!(
            err.message()
                .starts_with("Op has no parameter `zz`; it takes a, b, c, d, e"),
            "{err}"
        );
    }

    #[test]
    fn wrong_types_name_the_parameter_and_the_value() {
        let p = params(json!({"b": "yes", "c": -1, "s": 3}));
        let mut r = ParamReader::new("Op", &p);
        assert_eq!(
            r.bool("b", false).unwrap_err().message(),
            "Op parameter `b` must be true or false, not a string (\"yes\")"
        );
        assert!(
            r.seconds("c", 0.0)
                .unwrap_err()
                .message()
                .contains("0 or more")
        );
        assert!(
            r.str("s")
                .unwrap_err()
                .message()
                .contains("must be a string, not a number (3)")
        );
        assert!(
            r.required_str("absent", "what it is")
                .unwrap_err()
                .message()
                .contains("needs `absent`")
        );
    }

    #[test]
    fn typed_helpers() {
        let p = params(json!({
            "i": 5, "f": 3.0, "s": " 7 ", "neg": -1, "big": 1.5,
            "m": {"k": "v", "n": "w"}, "sm": {"k": 1}, "l": [1, "a"], "t": "x"
        }));
        let mut r = ParamReader::new("Op", &p);
        assert_eq!(r.i64("i", 0..=10).unwrap(), Some(5));
        assert_eq!(r.i64("f", 0..=10).unwrap(), Some(3));
        assert_eq!(r.u32("s", 1..=10).unwrap(), Some(7));
        assert_eq!(r.u32("absent", 1..=10).unwrap(), None);
        let e = r.u32("neg", 0..=u32::MAX).unwrap_err();
        assert_eq!(e.param(), Some("neg"));
        assert_eq!(
            e.message(),
            "Op parameter `neg` must be a whole number, 0 or more, not a number (-1)"
        );
        assert!(
            r.i64("big", i64::MIN..=i64::MAX)
                .unwrap_err()
                .message()
                .contains("a whole number, not")
        );
        assert_eq!(r.map("m").unwrap().map(|m| m.len()), Some(2));
        assert_eq!(
            r.str_map("m").unwrap(),
            Some(vec![("k".into(), "v".into()), ("n".into(), "w".into())])
        );
        let e = r.str_map("sm").unwrap_err();
        assert!(
            e.message()
                .contains("must map names to strings; `k` is a number (1)"),
            "{e}"
        );
        assert_eq!(r.list("l").unwrap().map(Vec::len), Some(2));
        assert!(
            r.list("t")
                .unwrap_err()
                .message()
                .contains("must be a list, not a string")
        );
        assert!(
            r.map("t")
                .unwrap_err()
                .message()
                .contains("must be a mapping")
        );
        assert!(r.finish().is_ok());
    }

    #[test]
    fn unrendered_templates_pass_where_only_rendering_can_tell() {
        let p = params(json!({
            "b": "{{ params.flag }}", "n": "{% if x %}1{% endif %}", "m": "{{ var.json.cfg }}",
            "l": "{{ ti.xcom_pull('x') }}", "s": "{{ ds }}", "plain": "yes"
        }));
        let mut r = ParamReader::unrendered("Op", &p);
        assert!(!r.rendered());
        assert!(r.bool("b", true).unwrap());
        assert_eq!(r.u32("n", 1..=3).unwrap(), None);
        assert_eq!(r.seconds("n", 4.0).unwrap(), 4.0);
        assert!(r.map("m").unwrap().is_none());
        assert!(r.list("l").unwrap().is_none());
        assert_eq!(r.str("s").unwrap().as_deref(), Some("{{ ds }}"));
        assert!(r.is_templated("{{ ds }}"));
        // A plain string where a boolean is expected is wrong before rendering too.
        assert!(r.bool("plain", false).is_err());
        assert!(r.finish().is_ok());
        // Rendered, the same values are what they are.
        let mut r = ParamReader::new("Op", &p);
        assert!(!r.is_templated("{{ ds }}"));
        assert!(r.bool("b", true).is_err());
    }

    #[test]
    fn an_operator_without_parameters_says_so() {
        let p = params(json!({"x": 1}));
        let e = ParamReader::new("EmptyOperator", &p).finish().unwrap_err();
        assert_eq!(
            e.message(),
            "EmptyOperator has no parameter `x`; it takes no parameters (Airflow: Invalid \
             arguments were passed to EmptyOperator)"
        );
    }
}
