//! Attributes and methods of built-in values: the Python `str`, `list` and `dict` methods
//! templates call, and the `datetime` / pendulum API.

use std::rc::Rc;

use crate::error::Error;
use crate::eval::fmt_arg;
use crate::pyfmt;
use crate::pytime::PyTimeDelta;
use crate::value::{Args, Object, Value};

const STR_METHODS: &[&str] = &[
    "upper",
    "lower",
    "strip",
    "lstrip",
    "rstrip",
    "split",
    "rsplit",
    "replace",
    "startswith",
    "endswith",
    "join",
    "format",
    "title",
    "capitalize",
    "zfill",
    "find",
    "rfind",
    "index",
    "rindex",
    "count",
    "isdigit",
    "isalpha",
    "isalnum",
    "isnumeric",
    "isdecimal",
    "isspace",
    "isupper",
    "islower",
    "istitle",
    "splitlines",
    "partition",
    "rpartition",
    "center",
    "ljust",
    "rjust",
    "removeprefix",
    "removesuffix",
    "swapcase",
    "casefold",
    "expandtabs",
];
const LIST_METHODS: &[&str] = &[
    "append", "extend", "insert", "pop", "remove", "index", "count", "reverse", "copy", "clear",
    "sort",
];
const TUPLE_METHODS: &[&str] = &["index", "count"];
const DICT_METHODS: &[&str] = &[
    "keys",
    "values",
    "items",
    "get",
    "copy",
    "update",
    "pop",
    "setdefault",
    "clear",
];
const DATETIME_METHODS: &[&str] = &[
    "isoformat",
    "strftime",
    "replace",
    "add",
    "subtract",
    "in_timezone",
    "in_tz",
    "format",
    "start_of",
    "end_of",
    "to_date_string",
    "to_datetime_string",
    "to_iso8601_string",
    "date",
    "timestamp",
    "weekday",
    "isoweekday",
    "diff_for_humans",
    "naive",
    "utcoffset",
];
const DATE_METHODS: &[&str] = &["isoformat", "strftime", "weekday", "isoweekday", "replace"];
const TIMEDELTA_METHODS: &[&str] = &["total_seconds"];

/// A method bound to its receiver (`'a,b'.split`).
#[derive(Debug)]
struct Bound {
    recv: Value,
    name: String,
}

impl Object for Bound {
    fn type_name(&self) -> &str {
        "builtin_function_or_method"
    }
    fn call(&self, args: Args) -> Result<Value, Error> {
        call(&self.recv, &self.name, args)
    }
    fn py_str(&self) -> String {
        format!(
            "<built-in method {} of {} object>",
            self.name,
            self.recv.type_name()
        )
    }
}

fn bound(recv: &Value, name: &str) -> Value {
    Value::Object(Rc::new(Bound {
        recv: recv.clone(),
        name: name.to_owned(),
    }))
}

/// `value.name` for built-in types: a data attribute, a bound method, or `None` when the type
/// has no such attribute (the caller then tries items).
pub(crate) fn attribute(v: &Value, name: &str) -> Result<Option<Value>, Error> {
    let methods: &[&str] = match v {
        Value::Str(_) => STR_METHODS,
        Value::List(_) => LIST_METHODS,
        Value::Tuple(_) => TUPLE_METHODS,
        Value::Dict(_) => DICT_METHODS,
        Value::DateTime(d) => {
            if let Some(a) = datetime_attr(d, name) {
                return Ok(Some(a));
            }
            DATETIME_METHODS
        }
        Value::Date(d) => {
            match name {
                "year" => return Ok(Some(Value::Int(d.year()))),
                "month" => return Ok(Some(Value::Int(d.month()))),
                "day" => return Ok(Some(Value::Int(d.day()))),
                _ => {}
            }
            DATE_METHODS
        }
        Value::TimeDelta(t) => {
            match name {
                "days" => return Ok(Some(Value::Int(t.days()))),
                "seconds" => return Ok(Some(Value::Int(t.seconds()))),
                "microseconds" => return Ok(Some(Value::Int(t.microseconds()))),
                _ => {}
            }
            TIMEDELTA_METHODS
        }
        Value::Object(o) => {
            let v = o.get_attr(name);
            if let Some(Value::Object(inner)) = &v
                && let Some(e) = inner.fail()
            {
                return Err(e);
            }
            return Ok(v);
        }
        _ => &[],
    };
    Ok(methods.contains(&name).then(|| bound(v, name)))
}

fn datetime_attr(d: &crate::pytime::PyDateTime, name: &str) -> Option<Value> {
    Some(match name {
        "year" => Value::Int(d.year()),
        "month" => Value::Int(d.month()),
        "day" => Value::Int(d.day()),
        "hour" => Value::Int(d.hour()),
        "minute" => Value::Int(d.minute()),
        "second" => Value::Int(d.second()),
        "microsecond" => Value::Int(d.microsecond()),
        "tzinfo" | "tz" | "timezone" => match d.tzinfo_str() {
            Some(name) => Value::Object(Rc::new(crate::context::Label(name))),
            None => Value::None,
        },
        "timezone_name" => d.timezone_name().map_or(Value::None, Value::from),
        "day_of_week" => Value::Int(d.weekday()),
        "day_of_year" => Value::Int(d.day_of_year()),
        "int_timestamp" => Value::Int(d.int_timestamp()),
        "float_timestamp" => Value::Float(d.timestamp()),
        "quarter" => Value::Int(d.quarter()),
        "days_in_month" => Value::Int(d.days_in_month()),
        _ => return None,
    })
}

fn arg_str<'a>(
    args: &'a Args,
    i: usize,
    name: &str,
    method: &str,
) -> Result<Option<&'a str>, Error> {
    match args.get(i, name) {
        None | Some(Value::None) => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(other) => Err(Error::type_error(format!(
            "{method}() argument must be str, not {}",
            other.type_name()
        ))),
    }
}

fn arg_int(args: &Args, i: usize, name: &str) -> Result<Option<i64>, Error> {
    match args.get(i, name) {
        None | Some(Value::None) => Ok(None),
        Some(v) => v.as_int().map(Some).ok_or_else(|| {
            Error::type_error(format!(
                "'{}' object cannot be interpreted as an integer",
                v.type_name()
            ))
        }),
    }
}

fn strs(items: Vec<&str>) -> Value {
    Value::list(items.into_iter().map(Value::from).collect())
}

/// Calls method `name` on `recv`.
pub(crate) fn call(recv: &Value, name: &str, args: Args) -> Result<Value, Error> {
    match recv {
        Value::Str(s) => str_method(s, name, &args),
        Value::List(l) => {
            let mut items = l.borrow_mut();
            Ok(match name {
                "append" => {
                    items.push(args.args.first().cloned().unwrap_or(Value::None));
                    Value::None
                }
                "extend" => {
                    let more = args
                        .args
                        .first()
                        .map(Value::iterate)
                        .transpose()?
                        .unwrap_or_default();
                    items.extend(more);
                    Value::None
                }
                "insert" => {
                    let i = arg_int(&args, 0, "index")?.unwrap_or(0);
                    let n = items.len() as i64;
                    let at = if i < 0 { (n + i).max(0) } else { i.min(n) } as usize;
                    items.insert(at, args.args.get(1).cloned().unwrap_or(Value::None));
                    Value::None
                }
                "pop" => {
                    if items.is_empty() {
                        return Err(Error::new("IndexError", "pop from empty list"));
                    }
                    let n = items.len() as i64;
                    let i = arg_int(&args, 0, "index")?.unwrap_or(-1);
                    let at = if i < 0 { n + i } else { i };
                    if at < 0 || at >= n {
                        return Err(Error::new("IndexError", "pop index out of range"));
                    }
                    items.remove(at as usize)
                }
                "remove" => {
                    let x = args.args.first().cloned().unwrap_or(Value::None);
                    match items.iter().position(|v| v.py_eq(&x)) {
                        Some(i) => {
                            items.remove(i);
                            Value::None
                        }
                        None => return Err(Error::value_error("list.remove(x): x not in list")),
                    }
                }
                "index" => {
                    let x = args.args.first().cloned().unwrap_or(Value::None);
                    match items.iter().position(|v| v.py_eq(&x)) {
                        Some(i) => Value::Int(i as i64),
                        None => {
                            return Err(Error::value_error(format!(
                                "{} is not in list",
                                x.py_repr()?
                            )));
                        }
                    }
                }
                "count" => {
                    let x = args.args.first().cloned().unwrap_or(Value::None);
                    Value::Int(items.iter().filter(|v| v.py_eq(&x)).count() as i64)
                }
                "reverse" => {
                    items.reverse();
                    Value::None
                }
                "copy" => Value::list(items.clone()),
                "clear" => {
                    items.clear();
                    Value::None
                }
                "sort" => {
                    let reverse = args
                        .get(99, "reverse")
                        .map(Value::truthy)
                        .transpose()?
                        .unwrap_or(false);
                    let sorted = crate::filters::sort_values(items.clone(), reverse, None)?;
                    *items = sorted;
                    Value::None
                }
                _ => return Err(no_method(recv, name)),
            })
        }
        Value::Tuple(t) => {
            let x = args.args.first().cloned().unwrap_or(Value::None);
            match name {
                "count" => Ok(Value::Int(t.iter().filter(|v| v.py_eq(&x)).count() as i64)),
                "index" => t
                    .iter()
                    .position(|v| v.py_eq(&x))
                    .map(|i| Value::Int(i as i64))
                    .ok_or_else(|| Error::value_error("tuple.index(x): x not in tuple")),
                _ => Err(no_method(recv, name)),
            }
        }
        Value::Dict(d) => Ok(match name {
            "keys" => Value::list(d.borrow().entries.iter().map(|(k, _)| k.clone()).collect()),
            "values" => Value::list(d.borrow().entries.iter().map(|(_, v)| v.clone()).collect()),
            "items" => Value::list(
                d.borrow()
                    .entries
                    .iter()
                    .map(|(k, v)| Value::tuple(vec![k.clone(), v.clone()]))
                    .collect(),
            ),
            "get" => {
                let k = args.args.first().cloned().unwrap_or(Value::None);
                d.borrow()
                    .get(&k)
                    .cloned()
                    .unwrap_or_else(|| args.get(1, "default").cloned().unwrap_or(Value::None))
            }
            "copy" => Value::Dict(Rc::new(std::cell::RefCell::new(d.borrow().clone()))),
            "update" => {
                if let Some(Value::Dict(other)) = args.args.first() {
                    let entries = other.borrow().entries.clone();
                    for (k, v) in entries {
                        d.borrow_mut().insert(k, v);
                    }
                }
                for (k, v) in &args.kwargs {
                    d.borrow_mut().insert(Value::from(k.as_str()), v.clone());
                }
                Value::None
            }
            "pop" => {
                let k = args.args.first().cloned().unwrap_or(Value::None);
                let mut dm = d.borrow_mut();
                match dm.entries.iter().position(|(e, _)| e.py_eq(&k)) {
                    Some(i) => dm.entries.remove(i).1,
                    None => match args.args.get(1) {
                        Some(default) => default.clone(),
                        None => return Err(Error::new("KeyError", k.py_repr()?)),
                    },
                }
            }
            "setdefault" => {
                let k = args.args.first().cloned().unwrap_or(Value::None);
                let default = args.args.get(1).cloned().unwrap_or(Value::None);
                let existing = d.borrow().get(&k).cloned();
                match existing {
                    Some(v) => v,
                    None => {
                        d.borrow_mut().insert(k, default.clone());
                        default
                    }
                }
            }
            "clear" => {
                d.borrow_mut().entries.clear();
                Value::None
            }
            _ => return Err(no_method(recv, name)),
        }),
        Value::DateTime(_) | Value::Date(_) | Value::TimeDelta(_) => {
            crate::context::datetime_method(recv, name, &args)
        }
        _ => Err(no_method(recv, name)),
    }
}

fn no_method(recv: &Value, name: &str) -> Error {
    Error::new(
        "AttributeError",
        format!("'{}' object has no attribute '{name}'", recv.type_name()),
    )
}

fn py_strip<'a>(s: &'a str, chars: Option<&str>, left: bool, right: bool) -> &'a str {
    let pred = |c: char| match chars {
        Some(set) => set.contains(c),
        None => c.is_whitespace(),
    };
    let s = if left { s.trim_start_matches(pred) } else { s };
    if right { s.trim_end_matches(pred) } else { s }
}

fn title_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if c.is_alphabetic() {
            if prev_cased {
                out.extend(c.to_lowercase());
            } else {
                out.extend(c.to_uppercase());
            }
            prev_cased = true;
        } else {
            out.push(c);
            prev_cased = false;
        }
    }
    out
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first
            .to_uppercase()
            .chain(chars.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn pad(s: &str, width: i64, fill: &str, align: char) -> Result<String, Error> {
    let fill = match fill.chars().count() {
        1 => fill.chars().next().unwrap_or(' '),
        _ => {
            return Err(Error::type_error(
                "The fill character must be exactly one character long",
            ));
        }
    };
    let len = s.chars().count() as i64;
    if width <= len {
        return Ok(s.to_owned());
    }
    let total = (width - len) as usize;
    Error::check_size(total.saturating_mul(fill.len_utf8()))?;
    let (left, right) = match align {
        '<' => (0, total),
        '>' => (total, 0),
        _ => {
            // CPython's centring puts the extra character on the left when the width is odd
            // and the string length is odd too.
            let left = total / 2 + (total & width as usize & 1);
            (left, total - left)
        }
    };
    Ok(format!(
        "{}{s}{}",
        fill.to_string().repeat(left),
        fill.to_string().repeat(right)
    ))
}

pub(crate) fn center(s: &str, width: i64) -> Result<String, Error> {
    pad(s, width, " ", '^')
}

fn str_method(s: &str, name: &str, args: &Args) -> Result<Value, Error> {
    let a0 = || arg_str(args, 0, "", name);
    Ok(match name {
        "upper" => Value::from(s.to_uppercase()),
        "lower" | "casefold" => Value::from(s.to_lowercase()),
        "swapcase" => Value::from(
            s.chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect::<String>(),
        ),
        "strip" => Value::from(py_strip(s, a0()?, true, true)),
        "lstrip" => Value::from(py_strip(s, a0()?, true, false)),
        "rstrip" => Value::from(py_strip(s, a0()?, false, true)),
        "split" | "rsplit" => {
            let sep = arg_str(args, 0, "sep", name)?;
            let max = arg_int(args, 1, "maxsplit")?.unwrap_or(-1);
            split(s, sep, max, name == "rsplit")?
        }
        "splitlines" => strs(s.lines().collect()),
        "replace" => {
            let (Some(Value::Str(old)), Some(Value::Str(new))) =
                (args.args.first(), args.args.get(1))
            else {
                return Err(Error::type_error("replace expected 2 string arguments"));
            };
            match arg_int(args, 2, "count")? {
                Some(n) if n >= 0 => Value::from(s.replacen(old.as_ref(), new, n as usize)),
                _ => Value::from(s.replace(old.as_ref(), new)),
            }
        }
        "startswith" | "endswith" => {
            let prefixes: Vec<String> = match args.args.first() {
                Some(Value::Str(p)) => vec![p.to_string()],
                Some(Value::Tuple(t)) => t
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                _ => {
                    return Err(Error::type_error(format!(
                        "{name} first arg must be str or a tuple of str"
                    )));
                }
            };
            Value::Bool(prefixes.iter().any(|p| {
                if name == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }))
        }
        "join" => {
            let items = args
                .args
                .first()
                .map(Value::iterate)
                .transpose()?
                .unwrap_or_default();
            let mut parts = Vec::new();
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::Str(x) => parts.push(x.to_string()),
                    other => {
                        return Err(Error::type_error(format!(
                            "sequence item {i}: expected str instance, {} found",
                            other.type_name()
                        )));
                    }
                }
            }
            Value::from(parts.join(s))
        }
        "format" => {
            let positional = args
                .args
                .iter()
                .map(fmt_arg)
                .collect::<Result<Vec<_>, _>>()?;
            let named = args
                .kwargs
                .iter()
                .map(|(k, v)| Ok((k.clone(), fmt_arg(v)?)))
                .collect::<Result<Vec<_>, Error>>()?;
            Value::from(pyfmt::str_format(s, &positional, &named).map_err(Error::value_error)?)
        }
        "title" => Value::from(title_case(s)),
        "capitalize" => Value::from(capitalize(s)),
        "zfill" => {
            let width = arg_int(args, 0, "width")?.unwrap_or(0);
            let len = s.chars().count() as i64;
            if width <= len {
                Value::from(s)
            } else {
                Error::check_size((width - len) as usize)?;
                let zeros = "0".repeat((width - len) as usize);
                match s.strip_prefix(['-', '+']) {
                    Some(rest) => Value::from(format!("{}{zeros}{rest}", &s[..1])),
                    None => Value::from(format!("{zeros}{s}")),
                }
            }
        }
        "find" | "rfind" | "index" | "rindex" => {
            let sub = a0()?.unwrap_or_default();
            let pos = if name.starts_with('r') {
                s.rfind(sub)
            } else {
                s.find(sub)
            };
            match pos {
                Some(p) => Value::Int(s[..p].chars().count() as i64),
                None if name.ends_with("find") => Value::Int(-1),
                None => return Err(Error::value_error("substring not found")),
            }
        }
        "count" => {
            let sub = a0()?.unwrap_or_default();
            Value::Int(if sub.is_empty() {
                s.chars().count() as i64 + 1
            } else {
                s.matches(sub).count() as i64
            })
        }
        "isdigit" | "isdecimal" | "isnumeric" => {
            Value::Bool(!s.is_empty() && s.chars().all(|c| c.is_numeric()))
        }
        "isalpha" => Value::Bool(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => Value::Bool(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => Value::Bool(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "isupper" => {
            Value::Bool(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase))
        }
        "islower" => {
            Value::Bool(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase))
        }
        "istitle" => {
            Value::Bool(!s.is_empty() && title_case(s) == s && s.chars().any(char::is_alphabetic))
        }
        "partition" | "rpartition" => {
            let sep = a0()?.unwrap_or_default();
            let found = if name == "partition" {
                s.find(sep)
            } else {
                s.rfind(sep)
            };
            let parts = match found {
                Some(i) => vec![&s[..i], sep, &s[i + sep.len()..]],
                None if name == "partition" => vec![s, "", ""],
                None => vec!["", "", s],
            };
            Value::tuple(parts.into_iter().map(Value::from).collect())
        }
        "center" | "ljust" | "rjust" => {
            let width = arg_int(args, 0, "width")?.unwrap_or(0);
            let fill = arg_str(args, 1, "fillchar", name)?.unwrap_or(" ");
            let align = match name {
                "ljust" => '<',
                "rjust" => '>',
                _ => '^',
            };
            Value::from(pad(s, width, fill, align)?)
        }
        "removeprefix" => Value::from(s.strip_prefix(a0()?.unwrap_or_default()).unwrap_or(s)),
        "removesuffix" => Value::from(s.strip_suffix(a0()?.unwrap_or_default()).unwrap_or(s)),
        "expandtabs" => Value::from(s.replace('\t', "        ")),
        _ => return Err(no_method(&Value::from(s), name)),
    })
}

fn split(s: &str, sep: Option<&str>, max: i64, from_right: bool) -> Result<Value, Error> {
    let max = if max < 0 { usize::MAX } else { max as usize };
    match sep {
        Some("") => Err(Error::value_error("empty separator")),
        Some(sep) => {
            let parts: Vec<&str> = if from_right {
                let mut v: Vec<&str> = s.rsplitn(max.saturating_add(1), sep).collect();
                v.reverse();
                v
            } else {
                s.splitn(max.saturating_add(1), sep).collect()
            };
            Ok(strs(parts))
        }
        None => {
            // Whitespace split: runs of whitespace, no empty strings.
            let words: Vec<&str> = s.split_whitespace().collect();
            if max >= words.len() {
                return Ok(strs(words));
            }
            if from_right {
                let trimmed = s.trim_end();
                let mut parts = Vec::new();
                let mut rest = trimmed;
                for _ in 0..max {
                    match rest.rfind(char::is_whitespace) {
                        Some(i) => {
                            parts.push(&rest[i + 1..]);
                            rest = rest[..i].trim_end();
                        }
                        None => break,
                    }
                }
                parts.push(rest);
                parts.reverse();
                Ok(strs(parts))
            } else {
                let mut parts = Vec::new();
                let mut rest = s.trim_start();
                for _ in 0..max {
                    match rest.find(char::is_whitespace) {
                        Some(i) => {
                            parts.push(&rest[..i]);
                            rest = rest[i..].trim_start();
                        }
                        None => break,
                    }
                }
                parts.push(rest);
                Ok(strs(parts))
            }
        }
    }
}

/// `timedelta` arguments (`days=1, hours=2`) -> a timedelta.
pub(crate) fn timedelta_from_args(args: &Args) -> Result<PyTimeDelta, Error> {
    const NAMES: [&str; 7] = [
        "days",
        "seconds",
        "microseconds",
        "milliseconds",
        "minutes",
        "hours",
        "weeks",
    ];
    let mut parts = [0.0f64; 7];
    for (i, name) in NAMES.iter().enumerate() {
        if let Some(v) = args.get(i, name) {
            parts[i] = v.as_f64().ok_or_else(|| {
                Error::type_error(format!(
                    "unsupported type for timedelta {name} component: {}",
                    v.type_name()
                ))
            })?;
        }
    }
    for (k, _) in &args.kwargs {
        if !NAMES.contains(&k.as_str()) {
            return Err(Error::type_error(format!(
                "'{k}' is an invalid keyword argument for __new__()"
            )));
        }
    }
    PyTimeDelta::from_parts(
        parts[0], parts[1], parts[2], parts[3], parts[4], parts[5], parts[6],
    )
    .map_err(|e| Error::new("OverflowError", e))
}
