//! What the EMR operators and sensors share: the hooks' loggers, the ARNs their permissions
//! name, state lists as Airflow's converter writes them, and Python literals (the provider
//! `ast.literal_eval`s a `steps` or `job_flow_overrides` string).

use airtask_core::permissions::{ACCOUNT, arn};
use airtask_core::{ParamError, ParamReader};
use serde_json::{Map, Value};

/// The logger of the EMR hook's lines.
pub(crate) const EMR_HOOK: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.emr.EmrHook";
/// The logger of the EMR on EKS hook's lines.
pub(crate) const CONTAINER_HOOK: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.emr.EmrContainerHook";

/// The ARN of EMR cluster `id` (`arn:aws:elasticmapreduce:{region}:{account}:cluster/ID`).
pub(crate) fn cluster_arn(region: Option<&str>, id: &str) -> String {
    arn("elasticmapreduce", region, &format!("cluster/{}", wild(id)))
}

/// The ARN of the IAM role `role`: a role ARN as given, or a role name in the task's account
/// (EMR takes either, and an instance profile's name for the job flow role, which by AWS's
/// convention is the name of its role).
pub(crate) fn role_arn(role: &str) -> String {
    if role.starts_with("arn:") {
        role.to_owned()
    } else {
        format!("arn:aws:iam::{ACCOUNT}:role/{}", wild(role))
    }
}

/// A resource name, or `*` when it still holds a template (`airtask policy` on an unrendered
/// workflow).
pub(crate) fn wild(name: &str) -> &str {
    if airtask_core::params::is_template(name) || name.is_empty() {
        "*"
    } else {
        name
    }
}

/// A random UUID (version 4), as Python's `uuid4()` writes it: 64 random bits at a time from
/// the standard library's per-process random hasher keys (no extra dependency).
pub(crate) fn uuid4() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    for half in bytes.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        half.copy_from_slice(&h.finish().to_le_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = bytes.iter().fold(String::new(), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    });
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A list of states: a list of strings, one state as a string, or a Python collection as
/// Airflow's converter writes a set (`"frozenset({'STARTED', 'CREATED'})"`). `None` when
/// absent, or when the value is an unrendered template.
///
/// # Errors
/// Any other value.
pub(crate) fn states(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<Option<Vec<String>>, ParamError> {
    let op = p.operator();
    let wrong = |v: &Value| {
        ParamError::at(
            name,
            format!(
                "{op} parameter `{name}` must be a list of states (or one state), not {}",
                airtask_core::params::describe(v)
            ),
        )
    };
    let v = match p.value(name) {
        None => return Ok(None),
        Some(Value::String(s)) if p.is_templated(s) => return Ok(None),
        Some(v) => v,
    };
    let list = match v {
        Value::String(s) => {
            let t = s.trim();
            let t = t
                .strip_prefix("frozenset(")
                .or_else(|| t.strip_prefix("set("))
                .and_then(|t| t.strip_suffix(')'))
                .unwrap_or(t);
            if t.starts_with(['[', '(', '{']) {
                match python_literal(t) {
                    Ok(Value::Array(items)) => Value::Array(items),
                    Ok(Value::Object(m)) if m.is_empty() => Value::Array(Vec::new()),
                    _ => return Err(wrong(v)),
                }
            } else {
                return Ok(Some(vec![t.to_owned()]));
            }
        }
        other => other.clone(),
    };
    match list {
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(wrong(v)),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(wrong(v)),
    }
}

/// Parses a Python literal (what `ast.literal_eval` takes for these parameters): dicts, lists,
/// tuples and sets (as lists), strings, numbers, `True`, `False` and `None`. JSON is one too.
///
/// # Errors
/// Text that is not such a literal, with the position.
pub(crate) fn python_literal(text: &str) -> Result<Value, String> {
    let mut p = Lit {
        s: text.as_bytes(),
        i: 0,
    };
    let v = p.value()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(format!("unexpected text at character {}", p.i + 1));
    }
    Ok(v)
}

struct Lit<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lit<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!("{what} at character {}", self.i + 1))
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some(b'{') => self.braces(),
            Some(b'[') => self.seq(b']'),
            Some(b'(') => self.seq(b')'),
            Some(q @ (b'\'' | b'"')) => self.string(q).map(Value::String),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() || c == b'.' => self.number(),
            Some(_) => self.word(),
            None => self.err("a value expected"),
        }
    }

    fn word(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        match &self.s[start..self.i] {
            b"True" | b"true" => Ok(Value::Bool(true)),
            b"False" | b"false" => Ok(Value::Bool(false)),
            b"None" | b"null" => Ok(Value::Null),
            _ => {
                self.i = start;
                self.err("not a literal")
            }
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"+-._".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        let t: String = String::from_utf8_lossy(&self.s[start..self.i]).replace('_', "");
        if let Ok(n) = t.parse::<i64>() {
            return Ok(Value::from(n));
        }
        match t.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.i = start;
                self.err("not a number")
            }
        }
    }

    fn string(&mut self, quote: u8) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        while let Some(&c) = self.s.get(self.i) {
            self.i += 1;
            if c == quote {
                return String::from_utf8(out).or_else(|_| self.err("not UTF-8"));
            }
            if c != b'\\' {
                out.push(c);
                continue;
            }
            let Some(&e) = self.s.get(self.i) else { break };
            self.i += 1;
            match e {
                b'n' => out.push(b'\n'),
                b't' => out.push(b'\t'),
                b'r' => out.push(b'\r'),
                b'0' => out.push(0),
                b'u' => {
                    let hex = self.s.get(self.i..self.i + 4).unwrap_or_default();
                    let ch = std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok())
                        .and_then(char::from_u32);
                    match ch {
                        Some(ch) => {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                            self.i += 4;
                        }
                        None => return self.err("a bad \\u escape"),
                    }
                }
                other => out.push(other),
            }
        }
        self.err("an unterminated string")
    }

    /// A list, tuple or set up to `close`.
    fn seq(&mut self, close: u8) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.i += 1;
                return Ok(Value::Array(items));
            }
            items.push(self.value()?);
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                _ => return self.err("',' expected"),
            }
        }
    }

    /// A dict, or a set (as a list).
    fn braces(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = Map::new();
        let mut set = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Ok(if set.is_empty() {
                    Value::Object(map)
                } else {
                    Value::Array(set)
                });
            }
            let key = self.value()?;
            if self.peek() == Some(b':') && set.is_empty() {
                self.i += 1;
                let Value::String(k) = key else {
                    return self.err("a string key expected");
                };
                let v = self.value()?;
                map.insert(k, v);
            } else if map.is_empty() {
                set.push(key);
            } else {
                return self.err("':' expected");
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {}
                _ => return self.err("',' expected"),
            }
        }
    }
}

/// The value of a parameter the provider `ast.literal_eval`s when it is a string (`steps`,
/// `job_flow_overrides`): a string is parsed as a Python literal. `None` when absent or an
/// unrendered template.
///
/// # Errors
/// A string that is not a literal.
pub(crate) fn literal_param(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<Option<Value>, ParamError> {
    match p.value(name) {
        None => Ok(None),
        Some(Value::String(s)) if p.is_templated(s) => Ok(None),
        Some(Value::String(s)) => python_literal(s).map(Some).map_err(|e| {
            ParamError::at(
                name,
                format!(
                    "{} parameter `{name}` is a string that is not a Python or JSON literal \
                     ({e}); write it as a mapping or list in the YAML",
                    p.operator()
                ),
            )
        }),
        Some(v) => Ok(Some(v.clone())),
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::Params;
    use serde_json::json;

    use super::*;

    #[test]
    fn uuids_are_version_4_and_differ() {
        let (a, b) = (uuid4(), uuid4());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn python_literals_parse_as_json() {
        assert_eq!(
            python_literal(
                "[{'Name': 'a', 'Args': ('x', \"y\"), 'On': True, 'N': None, 'C': -2, 'F': 1.5}]"
            )
            .unwrap(),
            json!([{"Name": "a", "Args": ["x", "y"], "On": true, "N": null, "C": -2, "F": 1.5}])
        );
        assert_eq!(python_literal("{'A', 'B'}").unwrap(), json!(["A", "B"]));
        assert_eq!(python_literal("{}").unwrap(), json!({}));
        assert_eq!(python_literal(r"'it\'s\n'").unwrap(), json!("it's\n"));
        assert!(python_literal("[1, 2").is_err());
        assert!(python_literal("open('x')").is_err());
        assert!(python_literal("{'a': 1} x").is_err());
    }

    fn read(v: Value) -> Result<Option<Vec<String>>, ParamError> {
        let params: Params = json!({ "target_states": v }).as_object().cloned().unwrap();
        let mut p = ParamReader::new("S", &params);
        states(&mut p, "target_states")
    }

    #[test]
    fn states_come_as_lists_strings_or_python_sets() {
        assert_eq!(read(json!(["A", "B"])).unwrap().unwrap(), ["A", "B"]);
        assert_eq!(read(json!("RUNNING")).unwrap().unwrap(), ["RUNNING"]);
        assert_eq!(
            read(json!("frozenset({'STARTED', 'CREATED'})"))
                .unwrap()
                .unwrap(),
            ["STARTED", "CREATED"]
        );
        assert_eq!(read(json!("['X']")).unwrap().unwrap(), ["X"]);
        assert!(read(json!(3)).is_err());
        assert!(read(json!([1])).is_err());
        assert_eq!(read(Value::Null).unwrap(), None);
    }
}
