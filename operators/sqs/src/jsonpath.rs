//! The JSONPath subset `SqsSensor` filters message bodies with (the provider uses
//! `jsonpath_ng`): an optional root `$`, then any of `.name`, `['name']` or `["name"]`, `[n]`
//! (negative counts from the end), `[*]` or `.*` (every element or value), and `..name` /
//! `..*` (that key at any depth). A leading bare name (`foo.bar`) is read as `$.foo.bar`, as
//! jsonpath_ng reads it. Filters (`[?(...)]`), slices, unions and functions are refused with
//! an error naming the expression.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// A key of a mapping.
    Field(String),
    /// An element of a list.
    Index(i64),
    /// Every element of a list or value of a mapping.
    Wildcard,
    /// The key (or, with `None`, every value) at any depth below.
    Descend(Option<String>),
}

/// A parsed JSONPath expression of the supported subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    steps: Vec<Step>,
}

fn unsupported(expr: &str, what: &str) -> String {
    format!(
        "JSONPath '{expr}': {what}; airtask supports $, .name, ['name'], [n], [*], .* and \
         ..name (no filters, slices or unions)"
    )
}

/// Whether `c` may be part of a bare name.
fn name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '$' || c == '@'
}

impl Path {
    /// Parses `expr`.
    ///
    /// # Errors
    /// Syntax outside the supported subset, or an empty expression.
    pub fn parse(expr: &str) -> Result<Path, String> {
        let chars: Vec<char> = expr.trim().chars().collect();
        let mut i = 0;
        let mut steps = Vec::new();
        if chars.is_empty() {
            return Err(unsupported(expr, "the expression is empty"));
        }
        if chars[0] == '$' {
            i = 1;
        } else if name_char(chars[0]) {
            // A bare leading name: `foo.bar` is `$.foo.bar`.
            let start = i;
            while i < chars.len() && name_char(chars[i]) {
                i += 1;
            }
            steps.push(Step::Field(chars[start..i].iter().collect()));
        } else if chars[0] != '[' {
            return Err(unsupported(expr, "it must start with $, a name or ["));
        }
        while i < chars.len() {
            match chars[i] {
                '.' if chars.get(i + 1) == Some(&'.') => {
                    i += 2;
                    if chars.get(i) == Some(&'*') {
                        i += 1;
                        steps.push(Step::Descend(None));
                    } else {
                        let start = i;
                        while i < chars.len() && name_char(chars[i]) {
                            i += 1;
                        }
                        if start == i {
                            return Err(unsupported(expr, "`..` must be followed by a name or *"));
                        }
                        steps.push(Step::Descend(Some(chars[start..i].iter().collect())));
                    }
                }
                '.' => {
                    i += 1;
                    if chars.get(i) == Some(&'*') {
                        i += 1;
                        steps.push(Step::Wildcard);
                    } else if chars.get(i) == Some(&'[') {
                        // `.[0]` reads as `[0]`.
                    } else {
                        let start = i;
                        while i < chars.len() && name_char(chars[i]) {
                            i += 1;
                        }
                        if start == i {
                            return Err(unsupported(expr, "`.` must be followed by a name or *"));
                        }
                        steps.push(Step::Field(chars[start..i].iter().collect()));
                    }
                }
                '[' => {
                    let close = chars[i..]
                        .iter()
                        .position(|c| *c == ']')
                        .map(|p| i + p)
                        .ok_or_else(|| unsupported(expr, "a `[` is never closed"))?;
                    let inner: String = chars[i + 1..close].iter().collect();
                    let inner = inner.trim();
                    steps.push(Self::bracket(expr, inner)?);
                    i = close + 1;
                }
                c if c.is_whitespace() => i += 1,
                c => return Err(unsupported(expr, &format!("unexpected `{c}`"))),
            }
        }
        Ok(Path { steps })
    }

    fn bracket(expr: &str, inner: &str) -> Result<Step, String> {
        if inner == "*" {
            return Ok(Step::Wildcard);
        }
        for q in ['\'', '"'] {
            if inner.len() >= 2 && inner.starts_with(q) && inner.ends_with(q) {
                let name = &inner[1..inner.len() - 1];
                if name.contains(q) {
                    return Err(unsupported(expr, "unions of names are not supported"));
                }
                return Ok(Step::Field(name.to_owned()));
            }
        }
        if let Ok(n) = inner.parse::<i64>() {
            return Ok(Step::Index(n));
        }
        let what = if inner.starts_with('?') {
            "filters are not supported"
        } else if inner.contains(':') {
            "slices are not supported"
        } else if inner.contains(',') {
            "unions are not supported"
        } else {
            "brackets must hold 'name', a whole number or *"
        };
        Err(unsupported(expr, &format!("[{inner}]: {what}")))
    }

    /// The values the path finds in `doc`, in document order.
    pub fn find<'a>(&self, doc: &'a Value) -> Vec<&'a Value> {
        let mut current = vec![doc];
        for step in &self.steps {
            let mut next = Vec::new();
            for v in current {
                match step {
                    Step::Field(name) => {
                        if let Some(found) = v.as_object().and_then(|m| m.get(name)) {
                            next.push(found);
                        }
                    }
                    Step::Index(n) => {
                        if let Some(items) = v.as_array() {
                            let len = items.len() as i64;
                            let at = if *n < 0 { len + n } else { *n };
                            if let Some(found) = usize::try_from(at).ok().and_then(|a| items.get(a))
                            {
                                next.push(found);
                            }
                        }
                    }
                    Step::Wildcard => children(v, &mut next),
                    Step::Descend(name) => descend(v, name.as_deref(), &mut next),
                }
            }
            current = next;
        }
        current
    }
}

fn children<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => out.extend(items.iter()),
        Value::Object(m) => out.extend(m.values()),
        _ => {}
    }
}

/// `..name` (or `..*`): the matches in `v` and in everything below it.
fn descend<'a>(v: &'a Value, name: Option<&str>, out: &mut Vec<&'a Value>) {
    match name {
        Some(name) => {
            if let Some(found) = v.as_object().and_then(|m| m.get(name)) {
                out.push(found);
            }
        }
        None => children(v, out),
    }
    let mut below = Vec::new();
    children(v, &mut below);
    for child in below {
        descend(child, name, out);
    }
}

/// Python's `==` between two JSON values: numbers (booleans as 0 and 1) by value, everything
/// else as JSON.
pub fn python_eq(a: &Value, b: &Value) -> bool {
    fn num(v: &Value) -> Option<f64> {
        match v {
            Value::Number(n) => n.as_f64(),
            Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn find(expr: &str, doc: &Value) -> Vec<Value> {
        Path::parse(expr)
            .unwrap()
            .find(doc)
            .into_iter()
            .cloned()
            .collect()
    }

    #[test]
    fn the_provider_examples_and_the_usual_forms() {
        let doc = json!({"foo": [{"baz": 1}, {"baz": 2}, {"bar": 3}], "a": {"b": {"c": "x"}}});
        assert_eq!(find("foo[*].baz", &doc), vec![json!(1), json!(2)]);
        assert_eq!(find("$.foo[*].baz", &doc), vec![json!(1), json!(2)]);
        assert_eq!(find("$.a.b.c", &doc), vec![json!("x")]);
        assert_eq!(find("$['a'][\"b\"].c", &doc), vec![json!("x")]);
        assert_eq!(find("$.foo[-1].bar", &doc), vec![json!(3)]);
        assert_eq!(find("$.foo[5]", &doc), Vec::<Value>::new());
        assert_eq!(find("$..c", &doc), vec![json!("x")]);
        assert_eq!(find("$..baz", &doc), vec![json!(1), json!(2)]);
        assert_eq!(find("$.a.*", &doc), vec![json!({"c": "x"})]);
        assert_eq!(find("$", &doc), vec![doc.clone()]);
        assert_eq!(find("$.missing", &doc), Vec::<Value>::new());
    }

    #[test]
    fn unsupported_syntax_is_refused_with_what_is_supported() {
        for (expr, why) in [
            ("$.foo[?(@.baz > 1)]", "filters"),
            ("$.foo[0:2]", "slices"),
            ("$.foo[0,1]", "unions"),
            ("$.foo[", "never closed"),
            ("", "empty"),
            ("$.", "followed by a name"),
        ] {
            let e = Path::parse(expr).unwrap_err();
            assert!(e.contains(why), "{expr}: {e}");
        }
    }

    #[test]
    fn equality_is_python_s() {
        assert!(python_eq(&json!(1), &json!(1.0)));
        assert!(python_eq(&json!(true), &json!(1)));
        assert!(!python_eq(&json!("1"), &json!(1)));
        assert!(python_eq(&json!("a"), &json!("a")));
    }
}
