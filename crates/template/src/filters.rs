//! Jinja2's built-in filters and tests, and Airflow's date filters, with Jinja2 3.1's
//! behaviour.

use std::rc::Rc;

use crate::error::Error;
use crate::eval::{State, compare, contains, get_attr};
use crate::methods::{capitalize, center};
use crate::pyfmt;
use crate::value::{Args, Value};

fn arg<'a>(args: &'a Args, i: usize, name: &str) -> Option<&'a Value> {
    args.get(i, name)
}

fn bool_arg(args: &Args, i: usize, name: &str) -> Result<bool, Error> {
    arg(args, i, name)
        .map(Value::truthy)
        .transpose()
        .map(|b| b.unwrap_or(false))
}

fn unknown_filter(name: &str) -> Error {
    Error::new(
        "TemplateAssertionError",
        format!("No filter named '{name}'."),
    )
}

/// `getattr` for a dotted attribute path (`attribute="a.b"` of sort/map/groupby).
fn attr_path(v: &Value, path: &str) -> Result<Value, Error> {
    let mut cur = v.clone();
    for part in path.split('.') {
        cur = match part.parse::<i64>() {
            Ok(i) => crate::eval::get_item(&cur, &Value::Int(i))?,
            Err(_) => crate::eval::get_item(&cur, &Value::from(part))?,
        };
    }
    Ok(cur)
}

fn sort_key(v: &Value, case_sensitive: bool) -> Value {
    match v {
        Value::Str(s) if !case_sensitive => Value::from(s.to_lowercase()),
        other => other.clone(),
    }
}

/// Sorts values with Python's ordering (a TypeError for mixed types).
/// A sort key function.
pub(crate) type KeyFn<'a> = &'a dyn Fn(&Value) -> Result<Value, Error>;

pub(crate) fn sort_values(
    mut items: Vec<Value>,
    reverse: bool,
    key: Option<KeyFn<'_>>,
) -> Result<Vec<Value>, Error> {
    let keys: Vec<Value> = match key {
        Some(k) => items.iter().map(k).collect::<Result<_, _>>()?,
        None => items.clone(),
    };
    let mut idx: Vec<usize> = (0..items.len()).collect();
    let mut err = None;
    idx.sort_by(|&a, &b| match keys[a].py_cmp(&keys[b], "<") {
        Ok(o) => {
            if reverse {
                o.reverse()
            } else {
                o
            }
        }
        Err(e) => {
            err.get_or_insert(e);
            std::cmp::Ordering::Equal
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let mut slots: Vec<Option<Value>> = items.drain(..).map(Some).collect();
    Ok(idx.into_iter().filter_map(|i| slots[i].take()).collect())
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Python's `json.dumps(v, indent=indent, sort_keys=sort)` (ASCII only).
pub(crate) fn json_dumps(v: &Value, indent: Option<usize>, sort: bool) -> Result<String, Error> {
    to_json(v, indent, 0, sort)
}

fn to_json(v: &Value, indent: Option<usize>, level: usize, sort: bool) -> Result<String, Error> {
    v.check_defined()?;
    let nl = |lvl: usize| match indent {
        Some(n) => format!("\n{}", " ".repeat(n * lvl)),
        None => String::new(),
    };
    let sep = if indent.is_some() { "," } else { ", " };
    Ok(match v {
        Value::None => "null".into(),
        Value::Bool(b) => if *b { "true" } else { "false" }.into(),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                "NaN".into()
            } else if f.is_infinite() {
                if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()
            } else {
                pyfmt::float_repr(*f)
            }
        }
        Value::Str(s) => json_str(s),
        Value::List(_) | Value::Tuple(_) => {
            let items = v.iterate()?;
            if items.is_empty() {
                return Ok("[]".into());
            }
            let parts: Vec<String> = items
                .iter()
                .map(|i| {
                    Ok(format!(
                        "{}{}",
                        nl(level + 1),
                        to_json(i, indent, level + 1, sort)?
                    ))
                })
                .collect::<Result<_, Error>>()?;
            format!("[{}{}]", parts.join(sep), nl(level))
        }
        Value::Dict(d) => {
            let d = d.borrow();
            if d.entries.is_empty() {
                return Ok("{}".into());
            }
            let mut entries: Vec<(String, &Value)> = Vec::new();
            for (k, val) in &d.entries {
                let key = match k {
                    Value::Str(s) => s.to_string(),
                    Value::None => "null".into(),
                    Value::Bool(b) => if *b { "true" } else { "false" }.into(),
                    Value::Int(_) | Value::Float(_) => k.py_repr()?,
                    other => {
                        return Err(Error::type_error(format!(
                            "keys must be str, int, float, bool or None, not {}",
                            other.type_name()
                        )));
                    }
                };
                entries.push((key, val));
            }
            if sort {
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            let parts: Vec<String> = entries
                .iter()
                .map(|(k, val)| {
                    Ok(format!(
                        "{}{}: {}",
                        nl(level + 1),
                        json_str(k),
                        to_json(val, indent, level + 1, sort)?
                    ))
                })
                .collect::<Result<_, Error>>()?;
            format!("{{{}{}}}", parts.join(sep), nl(level))
        }
        other => {
            return Err(Error::type_error(format!(
                "Object of type {} is not JSON serializable",
                other.type_name()
            )));
        }
    })
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn airflow_date_filter(name: &str, v: &Value) -> Result<Value, Error> {
    v.check_defined()?;
    let d = match v {
        Value::None => return Ok(Value::None),
        Value::DateTime(d) => d,
        Value::Date(d) => {
            return Ok(Value::from(match name {
                "ds" => d.strftime("%Y-%m-%d"),
                "ds_nodash" => d.strftime("%Y%m%d"),
                "ts" => d.isoformat(),
                _ => {
                    return Err(Error::new(
                        "AttributeError",
                        format!("'date' object has no attribute '{name}'"),
                    ));
                }
            }));
        }
        other => {
            return Err(Error::new(
                "AttributeError",
                format!(
                    "'{}' object has no attribute '{}'",
                    other.type_name(),
                    if name.starts_with("ds") || name == "ts_nodash" {
                        "strftime"
                    } else {
                        "isoformat"
                    }
                ),
            ));
        }
    };
    Ok(Value::from(match name {
        "ds" => d.strftime("%Y-%m-%d"),
        "ds_nodash" => d.strftime("%Y%m%d"),
        "ts" => d.isoformat(),
        "ts_nodash" => d.strftime("%Y%m%dT%H%M%S"),
        _ => d.isoformat().replace(['-', ':'], ""),
    }))
}

/// Python's `int(s, base)`: underscores between digits, a sign, and `0x`/`0o`/`0b` prefixes
/// that match the base (base 0 infers it).
fn parse_int(s: &str, base: i64) -> Option<i64> {
    let t = s.trim().replace('_', "");
    let (neg, body) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.to_owned()),
        None => (false, t.strip_prefix('+').unwrap_or(&t).to_owned()),
    };
    let lower = body.to_ascii_lowercase();
    let (base, digits) = match (base, lower.get(..2)) {
        (0 | 16, Some("0x")) => (16, &body[2..]),
        (0 | 8, Some("0o")) => (8, &body[2..]),
        (0 | 2, Some("0b")) => (2, &body[2..]),
        (0, _) => (10, body.as_str()),
        (b, _) => (b, body.as_str()),
    };
    let v = i64::from_str_radix(digits, u32::try_from(base).ok()?).ok()?;
    Some(if neg { -v } else { v })
}

/// Applies filter `name`.
pub(crate) fn apply(
    state: &mut State<'_>,
    name: &str,
    v: Value,
    args: Args,
) -> Result<Value, Error> {
    // Filters that accept undefined values.
    match name {
        "default" | "d" => {
            let use_bool = bool_arg(&args, 1, "boolean")?;
            let fallback = arg(&args, 0, "default_value")
                .cloned()
                .unwrap_or_else(|| Value::from(""));
            let missing = v.is_undefined() || (use_bool && !v.truthy()?);
            return Ok(if missing { fallback } else { v });
        }
        "ds" | "ds_nodash" | "ts" | "ts_nodash" | "ts_nodash_with_tz" => {
            return airflow_date_filter(name, &v);
        }
        _ => {}
    }
    v.check_defined()?;
    Ok(match name {
        "abs" => match v {
            Value::Int(i) => Value::Int(i.abs()),
            Value::Float(f) => Value::Float(f.abs()),
            Value::Bool(b) => Value::Int(i64::from(b)),
            other => {
                return Err(Error::type_error(format!(
                    "bad operand type for abs(): '{}'",
                    other.type_name()
                )));
            }
        },
        "attr" => {
            let n = arg(&args, 0, "name")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            get_attr(&v, &n)?
        }
        "capitalize" => Value::from(capitalize(&v.py_str()?)),
        "center" => {
            let width = arg(&args, 0, "width").and_then(Value::as_int).unwrap_or(80);
            Value::from(center(&v.py_str()?, width)?)
        }
        "count" | "length" => Value::Int(v.py_len()? as i64),
        "dictsort" => {
            let Value::Dict(d) = &v else {
                return Err(Error::type_error("dictsort filter expects a dict"));
            };
            let case_sensitive = bool_arg(&args, 0, "case_sensitive")?;
            let by_value = arg(&args, 1, "by").and_then(Value::as_str) == Some("value");
            let reverse = bool_arg(&args, 2, "reverse")?;
            let items: Vec<Value> = d
                .borrow()
                .entries
                .iter()
                .map(|(k, val)| Value::tuple(vec![k.clone(), val.clone()]))
                .collect();
            let key = move |item: &Value| -> Result<Value, Error> {
                let Value::Tuple(t) = item else {
                    return Ok(item.clone());
                };
                Ok(sort_key(&t[usize::from(by_value)], case_sensitive))
            };
            Value::list(sort_values(items, reverse, Some(&key))?)
        }
        "escape" | "e" | "forceescape" => Value::from(html_escape(&v.py_str()?)),
        "safe" => v,
        "first" => v
            .iterate()?
            .into_iter()
            .next()
            .unwrap_or_else(|| Value::undefined("No first item, sequence was empty.")),
        "last" => v
            .iterate()?
            .pop()
            .unwrap_or_else(|| Value::undefined("No last item, sequence was empty.")),
        "float" => {
            let default = arg(&args, 0, "default")
                .cloned()
                .unwrap_or(Value::Float(0.0));
            match &v {
                Value::Float(_) => v,
                Value::Int(i) => Value::Float(*i as f64),
                Value::Bool(b) => Value::Float(f64::from(u8::from(*b))),
                Value::Str(s) => s.trim().parse::<f64>().map(Value::Float).unwrap_or(default),
                _ => default,
            }
        }
        "int" => {
            let default = arg(&args, 0, "default").cloned().unwrap_or(Value::Int(0));
            let base = arg(&args, 1, "base").and_then(Value::as_int).unwrap_or(10);
            match &v {
                Value::Int(_) => v,
                Value::Bool(b) => Value::Int(i64::from(*b)),
                Value::Float(f) => Value::Int(f.trunc() as i64),
                Value::Str(s) => match parse_int(s, base) {
                    Some(i) => Value::Int(i),
                    None => s
                        .trim()
                        .parse::<f64>()
                        .map(|f| Value::Int(f.trunc() as i64))
                        .unwrap_or(default),
                },
                _ => default,
            }
        }
        "format" => {
            let fmt = v.py_str()?;
            let pa = if !args.kwargs.is_empty() {
                pyfmt::PercentArgs::Mapping(
                    args.kwargs
                        .iter()
                        .map(|(k, a)| Ok((k.clone(), crate::eval::fmt_arg(a)?)))
                        .collect::<Result<_, Error>>()?,
                )
            } else {
                pyfmt::PercentArgs::Tuple(
                    args.args
                        .iter()
                        .map(crate::eval::fmt_arg)
                        .collect::<Result<_, _>>()?,
                )
            };
            Value::from(pyfmt::percent_format(&fmt, pa).map_err(Error::type_error)?)
        }
        "groupby" => {
            let attribute = arg(&args, 0, "attribute")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            let items = v.iterate()?;
            let key = |i: &Value| attr_path(i, &attribute);
            let sorted = sort_values(items, false, Some(&key))?;
            let mut groups: Vec<(Value, Vec<Value>)> = Vec::new();
            for item in sorted {
                let k = key(&item)?;
                match groups.last_mut() {
                    Some((g, members)) if g.py_eq(&k) => members.push(item),
                    _ => groups.push((k, vec![item])),
                }
            }
            Value::list(
                groups
                    .into_iter()
                    .map(|(k, m)| Value::tuple(vec![k, Value::list(m)]))
                    .collect(),
            )
        }
        "indent" => {
            let width = match arg(&args, 0, "width") {
                Some(Value::Str(s)) => s.to_string(),
                Some(w) => {
                    let n = usize::try_from(w.as_int().unwrap_or(4)).unwrap_or(0);
                    Error::check_size(n)?;
                    " ".repeat(n)
                }
                None => "    ".into(),
            };
            let first = bool_arg(&args, 1, "first")?;
            let blank = bool_arg(&args, 2, "blank")?;
            let s = v.py_str()?;
            let mut out = String::new();
            for (i, line) in s.split('\n').enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                if (i > 0 || first) && (blank || !line.trim().is_empty()) {
                    out.push_str(&width);
                }
                out.push_str(line);
            }
            Value::from(out)
        }
        "items" => match &v {
            Value::Dict(d) => Value::list(
                d.borrow()
                    .entries
                    .iter()
                    .map(|(k, val)| Value::tuple(vec![k.clone(), val.clone()]))
                    .collect(),
            ),
            other => {
                return Err(Error::type_error(format!(
                    "Can only get item pairs from a mapping, not {}",
                    other.type_name()
                )));
            }
        },
        "join" => {
            let sep = arg(&args, 0, "d")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            let attribute = arg(&args, 1, "attribute").map(Value::py_str).transpose()?;
            let mut parts = Vec::new();
            for item in v.iterate()? {
                let item = match &attribute {
                    Some(a) => attr_path(&item, a)?,
                    None => item,
                };
                parts.push(item.py_str()?);
            }
            Value::from(parts.join(&sep))
        }
        "list" => Value::list(v.iterate()?),
        "lower" => Value::from(v.py_str()?.to_lowercase()),
        "upper" => Value::from(v.py_str()?.to_uppercase()),
        "map" => {
            let items = v.iterate()?;
            if let Some(attribute) = args
                .kwargs
                .iter()
                .find(|(k, _)| k == "attribute")
                .map(|(_, a)| a.py_str())
                .transpose()?
            {
                let default = args
                    .kwargs
                    .iter()
                    .find(|(k, _)| k == "default")
                    .map(|(_, d)| d.clone());
                let mut out = Vec::new();
                for item in items {
                    let val = attr_path(&item, &attribute)?;
                    out.push(match (&val, &default) {
                        (Value::Undefined(_), Some(d)) => d.clone(),
                        _ => val,
                    });
                }
                Value::list(out)
            } else {
                let Some(filter) = args.args.first().map(Value::py_str).transpose()? else {
                    return Err(Error::new(
                        "FilterArgumentError",
                        "map requires a filter argument",
                    ));
                };
                let rest = Args {
                    args: args.args[1..].to_vec(),
                    kwargs: args.kwargs.clone(),
                };
                let mut out = Vec::new();
                for item in items {
                    out.push(apply(state, &filter, item, rest.clone())?);
                }
                Value::list(out)
            }
        }
        "max" | "min" => {
            let case_sensitive = bool_arg(&args, 0, "case_sensitive")?;
            let attribute = arg(&args, 1, "attribute").map(Value::py_str).transpose()?;
            let key = |i: &Value| -> Result<Value, Error> {
                let val = match &attribute {
                    Some(a) => attr_path(i, a)?,
                    None => i.clone(),
                };
                Ok(sort_key(&val, case_sensitive))
            };
            let sorted = sort_values(v.iterate()?, name == "max", Some(&key))?;
            sorted
                .into_iter()
                .next()
                .unwrap_or_else(|| Value::undefined("No aggregated item, sequence was empty."))
        }
        "pprint" => Value::from(v.py_repr()?),
        "random" => {
            let items = v.iterate()?;
            if items.is_empty() {
                Value::undefined("No random item, sequence was empty.")
            } else {
                let i = (crate::context::random_u64() % items.len() as u64) as usize;
                items[i].clone()
            }
        }
        "reject" | "select" => {
            let test_name = arg(&args, 0, "test").map(Value::py_str).transpose()?;
            let rest: Vec<Value> = args.args.iter().skip(1).cloned().collect();
            let mut out = Vec::new();
            for item in v.iterate()? {
                let ok = match &test_name {
                    Some(t) => test(state, t, &item, &rest)?,
                    None => item.truthy()?,
                };
                if ok == (name == "select") {
                    out.push(item);
                }
            }
            Value::list(out)
        }
        "rejectattr" | "selectattr" => {
            let attribute = arg(&args, 0, "attr")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            let test_name = args.args.get(1).map(Value::py_str).transpose()?;
            let rest: Vec<Value> = args.args.iter().skip(2).cloned().collect();
            let mut out = Vec::new();
            for item in v.iterate()? {
                let val = attr_path(&item, &attribute)?;
                let ok = match &test_name {
                    Some(t) => test(state, t, &val, &rest)?,
                    None => val.truthy()?,
                };
                if ok == (name == "selectattr") {
                    out.push(item);
                }
            }
            Value::list(out)
        }
        "replace" => {
            let s = v.py_str()?;
            let old = arg(&args, 0, "old")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            let new = arg(&args, 1, "new")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_default();
            match arg(&args, 2, "count").and_then(Value::as_int) {
                Some(n) if n >= 0 => Value::from(s.replacen(&old, &new, n as usize)),
                _ => Value::from(s.replace(&old, &new)),
            }
        }
        "reverse" => match &v {
            Value::Str(s) => Value::from(s.chars().rev().collect::<String>()),
            other => {
                let mut items = other.iterate()?;
                items.reverse();
                Value::list(items)
            }
        },
        "round" => {
            let precision = arg(&args, 0, "precision")
                .and_then(Value::as_int)
                .unwrap_or(0);
            let method = arg(&args, 1, "method")
                .and_then(Value::as_str)
                .unwrap_or("common")
                .to_owned();
            let Some(f) = v.as_f64() else {
                return Err(Error::type_error(format!(
                    "type {} doesn't define __round__ method",
                    v.type_name()
                )));
            };
            let p = i32::try_from(precision).unwrap_or(0);
            match method.as_str() {
                "common" => match v {
                    Value::Int(_) | Value::Bool(_) => Value::Int(v.as_int().unwrap_or(0)),
                    _ => Value::Float(pyfmt::py_round(f, p)),
                },
                "ceil" | "floor" => {
                    let m = 10f64.powi(p);
                    let r = if method == "ceil" {
                        (f * m).ceil()
                    } else {
                        (f * m).floor()
                    };
                    Value::Float(r / m)
                }
                _ => {
                    return Err(Error::new(
                        "FilterArgumentError",
                        "method must be common, ceil or floor",
                    ));
                }
            }
        }
        "sort" => {
            let reverse = bool_arg(&args, 0, "reverse")?;
            let case_sensitive = bool_arg(&args, 1, "case_sensitive")?;
            let attribute = arg(&args, 2, "attribute").map(Value::py_str).transpose()?;
            let key = |i: &Value| -> Result<Value, Error> {
                let val = match &attribute {
                    Some(a) => attr_path(i, a)?,
                    None => i.clone(),
                };
                Ok(sort_key(&val, case_sensitive))
            };
            Value::list(sort_values(v.iterate()?, reverse, Some(&key))?)
        }
        "string" => Value::from(v.py_str()?),
        "striptags" => {
            let s = v.py_str()?;
            let mut out = String::new();
            let mut in_tag = false;
            for c in s.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' if in_tag => in_tag = false,
                    c if !in_tag => out.push(c),
                    _ => {}
                }
            }
            Value::from(out.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        "sum" => {
            let attribute = arg(&args, 0, "attribute").map(Value::py_str).transpose()?;
            let mut total = arg(&args, 1, "start").cloned().unwrap_or(Value::Int(0));
            for item in v.iterate()? {
                let item = match &attribute {
                    Some(a) => attr_path(&item, a)?,
                    None => item,
                };
                total = crate::eval::binary("+", &total, &item)?;
            }
            total
        }
        "title" => {
            let s = v.py_str()?;
            let mut out = String::new();
            let mut at_start = true;
            for c in s.chars() {
                if c.is_whitespace() || "-({[<".contains(c) {
                    out.push(c);
                    at_start = true;
                } else if at_start {
                    out.extend(c.to_uppercase());
                    at_start = false;
                } else {
                    out.extend(c.to_lowercase());
                }
            }
            Value::from(out)
        }
        "tojson" => {
            let indent = arg(&args, 0, "indent")
                .and_then(Value::as_int)
                .and_then(|i| usize::try_from(i).ok());
            let s = json_dumps(&v, indent, true)?;
            Value::from(
                s.replace('<', "\\u003c")
                    .replace('>', "\\u003e")
                    .replace('&', "\\u0026")
                    .replace('\'', "\\u0027"),
            )
        }
        "trim" => {
            let s = v.py_str()?;
            match arg(&args, 0, "chars").and_then(Value::as_str) {
                Some(chars) => Value::from(s.trim_matches(|c| chars.contains(c))),
                None => Value::from(s.trim()),
            }
        }
        "truncate" => {
            let s = v.py_str()?;
            let length = arg(&args, 0, "length")
                .and_then(Value::as_int)
                .unwrap_or(255)
                .max(0) as usize;
            let killwords = bool_arg(&args, 1, "killwords")?;
            let end = arg(&args, 2, "end")
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_else(|| "...".into());
            let leeway = arg(&args, 3, "leeway")
                .and_then(Value::as_int)
                .unwrap_or(5)
                .max(0) as usize;
            let chars: Vec<char> = s.chars().collect();
            if chars.len() <= length + leeway {
                Value::from(s)
            } else {
                let keep = length.saturating_sub(end.chars().count());
                let head: String = chars[..keep.min(chars.len())].iter().collect();
                if killwords {
                    Value::from(format!("{head}{end}"))
                } else {
                    let cut = head.rsplit_once(' ').map_or(head.as_str(), |(a, _)| a);
                    Value::from(format!("{cut}{end}"))
                }
            }
        }
        "unique" => {
            let case_sensitive = bool_arg(&args, 0, "case_sensitive")?;
            let attribute = arg(&args, 1, "attribute").map(Value::py_str).transpose()?;
            let mut seen: Vec<Value> = Vec::new();
            let mut out = Vec::new();
            for item in v.iterate()? {
                let k = match &attribute {
                    Some(a) => attr_path(&item, a)?,
                    None => item.clone(),
                };
                let k = sort_key(&k, case_sensitive);
                if !seen.iter().any(|s| s.py_eq(&k)) {
                    seen.push(k);
                    out.push(item);
                }
            }
            Value::list(out)
        }
        "urlencode" => {
            let s = v.py_str()?;
            let mut out = String::new();
            for b in s.bytes() {
                if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                    out.push(b as char);
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            Value::from(out)
        }
        "wordcount" => {
            let s = v.py_str()?;
            Value::Int(
                s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .count() as i64,
            )
        }
        "wordwrap" => {
            let s = v.py_str()?;
            let width = arg(&args, 0, "width")
                .and_then(Value::as_int)
                .unwrap_or(79)
                .max(1) as usize;
            let mut lines = Vec::new();
            let mut line = String::new();
            for word in s.split_whitespace() {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                    lines.push(std::mem::take(&mut line));
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if !line.is_empty() {
                lines.push(line);
            }
            Value::from(lines.join("\n"))
        }
        "filesizeformat" => {
            let bytes = v.as_f64().unwrap_or(0.0);
            let binary = bool_arg(&args, 0, "binary")?;
            let base: f64 = if binary { 1024.0 } else { 1000.0 };
            let prefixes = if binary {
                ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
            } else {
                ["kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]
            };
            if bytes == 1.0 {
                Value::from("1 Byte")
            } else if bytes < base {
                Value::from(format!("{} Bytes", bytes as i64))
            } else {
                let mut unit = base;
                let mut out = String::new();
                for (i, p) in prefixes.iter().enumerate() {
                    unit = base.powi(i as i32 + 2);
                    if bytes < unit {
                        out = format!("{:.1} {p}", base * bytes / unit);
                        break;
                    }
                }
                if out.is_empty() {
                    out = format!("{:.1} {}", base * bytes / unit, prefixes[7]);
                }
                Value::from(out)
            }
        }
        "batch" | "slice" => {
            let n = arg(
                &args,
                0,
                if name == "batch" {
                    "linecount"
                } else {
                    "slices"
                },
            )
            .and_then(Value::as_int)
            .unwrap_or(1)
            .max(1) as usize;
            let fill = arg(&args, 1, "fill_with").cloned();
            let items = v.iterate()?;
            let mut out = Vec::new();
            if name == "batch" {
                for chunk in items.chunks(n) {
                    let mut c = chunk.to_vec();
                    if let Some(f) = &fill {
                        while c.len() < n {
                            c.push(f.clone());
                        }
                    }
                    out.push(Value::list(c));
                }
            } else {
                let per = items.len() / n;
                let extra = items.len() % n;
                let mut offset = 0;
                for i in 0..n {
                    let size = per + usize::from(i < extra);
                    let mut c = items[offset..offset + size].to_vec();
                    offset += size;
                    if let Some(f) = &fill
                        && i >= extra
                        && extra > 0
                    {
                        c.push(f.clone());
                    }
                    out.push(Value::list(c));
                }
            }
            Value::list(out)
        }
        "xmlattr" | "urlize" => return Err(unknown_filter(name)),
        _ => return Err(unknown_filter(name)),
    })
}

/// Applies test `name` (`x is defined`).
pub(crate) fn test(
    _state: &mut State<'_>,
    name: &str,
    v: &Value,
    args: &[Value],
) -> Result<bool, Error> {
    match name {
        "defined" => return Ok(!v.is_undefined()),
        "undefined" => return Ok(v.is_undefined()),
        _ => {}
    }
    v.check_defined()?;
    let a0 = args.first().cloned().unwrap_or(Value::None);
    Ok(match name {
        "none" => matches!(v, Value::None),
        "boolean" => matches!(v, Value::Bool(_)),
        "true" => matches!(v, Value::Bool(true)),
        "false" => matches!(v, Value::Bool(false)),
        "integer" => matches!(v, Value::Int(_)),
        "float" => matches!(v, Value::Float(_)),
        "number" => matches!(v, Value::Int(_) | Value::Float(_) | Value::Bool(_)),
        "string" => matches!(v, Value::Str(_)),
        "mapping" => matches!(v, Value::Dict(_)),
        "iterable" => matches!(
            v,
            Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Dict(_)
        ),
        "sequence" => matches!(
            v,
            Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Dict(_)
        ),
        "callable" => {
            matches!(v, Value::Object(o) if o.type_name().contains("function") || o.type_name().contains("method") || o.type_name() == "Macro" || o.type_name() == "type")
        }
        "sameas" => match (v, &a0) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::List(a), Value::List(b)) => Rc::ptr_eq(a, b),
            (Value::Dict(a), Value::Dict(b)) => Rc::ptr_eq(a, b),
            _ => false,
        },
        "escaped" => false,
        "odd" | "even" => {
            let i = v.as_int().ok_or_else(|| {
                Error::type_error(format!(
                    "not all arguments converted during string formatting ({})",
                    v.type_name()
                ))
            })?;
            (i.rem_euclid(2) == 1) == (name == "odd")
        }
        "divisibleby" => {
            let (Some(a), Some(b)) = (v.as_int(), a0.as_int()) else {
                return Err(Error::type_error("divisibleby needs integers"));
            };
            b != 0 && a.rem_euclid(b) == 0
        }
        "eq" | "equalto" | "==" => compare("==", v, &a0)?,
        "ne" | "!=" => compare("!=", v, &a0)?,
        "lt" | "lessthan" | "<" => compare("<", v, &a0)?,
        "le" | "<=" => compare("<=", v, &a0)?,
        "gt" | "greaterthan" | ">" => compare(">", v, &a0)?,
        "ge" | ">=" => compare(">=", v, &a0)?,
        "in" => contains(&a0, v)?,
        "lower" => v.as_str().is_some_and(|s| {
            s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase)
        }),
        "upper" => v.as_str().is_some_and(|s| {
            s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)
        }),
        "filter" => v.as_str().is_some_and(is_filter),
        "test" => v
            .as_str()
            .is_some_and(|s| matches!(s, "defined" | "undefined" | "none" | "number" | "string")),
        other => {
            return Err(Error::new(
                "TemplateAssertionError",
                format!("No test named '{other}'."),
            ));
        }
    })
}

/// Whether `name` is a filter.
pub(crate) fn is_filter(name: &str) -> bool {
    const ALL: &[&str] = &[
        "abs",
        "attr",
        "batch",
        "capitalize",
        "center",
        "count",
        "d",
        "default",
        "dictsort",
        "e",
        "escape",
        "filesizeformat",
        "first",
        "float",
        "forceescape",
        "format",
        "groupby",
        "indent",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "pprint",
        "random",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "safe",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
        "wordwrap",
        "ds",
        "ds_nodash",
        "ts",
        "ts_nodash",
        "ts_nodash_with_tz",
    ];
    ALL.contains(&name)
}
