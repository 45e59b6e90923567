//! Parameter values after dag-factory's `__type__` casting.

use jiff::{SignedDuration, civil};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::diag::{Diagnostic, Pos};
use crate::yaml::{Node, Yaml};

/// A value of a workflow, task or operator parameter, as Airflow would see it once dag-factory
/// has built the Python objects.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value (not the word `None`, which YAML reads as a string).
    Null,
    /// A boolean (YAML 1.1: also `yes`/`no`/`on`/`off`).
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// Bytes (`!!binary`).
    Bytes(Vec<u8>),
    /// A calendar date (an unquoted `2024-01-01` or `__type__: datetime.date`).
    Date(civil::Date),
    /// A date and time; the offset from UTC in seconds when one was given.
    DateTime(civil::DateTime, Option<i32>),
    /// A `datetime.timedelta`.
    Duration(SignedDuration),
    /// A Python enum member written as `{__type__: module.Class, __args__: [value]}`.
    Enum {
        /// The enum class path.
        class: String,
        /// The member's value.
        value: Box<Value>,
    },
    /// A list.
    List(Vec<Value>),
    /// A mapping, in the order written.
    Map(Map),
}

/// An insertion-ordered string-keyed map.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map(pub Vec<(String, Value)>);

impl Map {
    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Inserts or replaces `key`.
    pub fn insert(&mut self, key: String, value: Value) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Iterates over the entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Value {
    /// The kind of value, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Bytes(_) => "binary data",
            Value::Date(_) => "a date",
            Value::DateTime(..) => "a date and time",
            Value::Duration(_) => "a duration",
            Value::Enum { .. } => "an enum value",
            Value::List(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    /// The string, when this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Converts to JSON: durations become seconds, dates ISO 8601 strings, bytes base64, enums
    /// their value.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(v) => s.serialize_str(v),
            Value::Bytes(b) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
            }
            Value::Date(d) => s.serialize_str(&d.to_string()),
            Value::DateTime(dt, off) => s.serialize_str(&format_datetime(*dt, *off)),
            Value::Duration(d) => s.serialize_f64(d.as_secs_f64()),
            Value::Enum { value, .. } => value.serialize(s),
            Value::List(items) => s.collect_seq(items),
            Value::Map(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                for (k, v) in m.iter() {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

fn format_datetime(dt: civil::DateTime, offset: Option<i32>) -> String {
    let base = dt.strftime("%Y-%m-%dT%H:%M:%S%.f").to_string();
    match offset {
        None => base,
        Some(secs) => {
            let sign = if secs < 0 { '-' } else { '+' };
            let a = secs.unsigned_abs();
            format!("{base}{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60)
        }
    }
}

/// The class paths of dag-factory's `__type__` objects this loader understands.
pub const KNOWN_TYPES: &[&str] = &[
    "datetime.timedelta",
    "datetime.datetime",
    "datetime.date",
    "builtins.list",
    "builtins.tuple",
    "builtins.set",
    "builtins.dict",
    "airflow.sdk.definitions._internal.types.ArgNotSet",
    "airflow.utils.types.ArgNotSet",
    "airflow.timetables.trigger.CronTriggerTimetable",
    "airflow.sdk.Asset (in `outlets`)",
    "<an enum of the Amazon provider, e.g. airflow.providers.amazon.aws.hooks.eks.ClusterStates, with __args__: [value]>",
];

/// The class paths of an Airflow 3 asset (`outlets: [{__type__: airflow.sdk.Asset, ...}]`).
pub(crate) const ASSET_TYPES: &[&str] =
    &["airflow.sdk.Asset", "airflow.sdk.definitions.asset.Asset"];

const ARG_NOT_SET: &[&str] = &[
    "airflow.sdk.definitions._internal.types.ArgNotSet",
    "airflow.utils.types.ArgNotSet",
];

/// The result of casting one node: a value, or Airflow's NOTSET sentinel (meaning "absent").
pub(crate) enum Cast {
    Value(Value),
    NotSet,
}

/// Builds the value of a node, casting `__type__` objects as dag-factory does.
pub(crate) fn cast(node: &Node) -> Result<Cast, Diagnostic> {
    Ok(match &node.value {
        Yaml::Null => Cast::Value(Value::Null),
        Yaml::Bool(b) => Cast::Value(Value::Bool(*b)),
        Yaml::Int(i) => Cast::Value(Value::Int(*i)),
        Yaml::Float(f) => Cast::Value(Value::Float(*f)),
        Yaml::Str(s) => Cast::Value(Value::Str(s.clone())),
        Yaml::Binary(b) => Cast::Value(Value::Bytes(b.clone())),
        Yaml::Date(d) => Cast::Value(Value::Date(*d)),
        Yaml::DateTime(dt, off) => Cast::Value(Value::DateTime(*dt, *off)),
        Yaml::Seq(items) => Cast::Value(Value::List(cast_list(items)?)),
        Yaml::Map(entries) => {
            if let Some((_, ty)) = entries.iter().find(|(k, _)| k.text == "__type__") {
                return cast_typed(node, ty, entries);
            }
            let mut map = Map::default();
            for (k, v) in entries {
                if let Cast::Value(v) = cast(v)? {
                    map.0.push((k.text.clone(), v));
                }
            }
            Cast::Value(Value::Map(map))
        }
    })
}

/// Casts a node that must not be NOTSET (list items, `__args__`).
pub(crate) fn cast_value(node: &Node) -> Result<Value, Diagnostic> {
    match cast(node)? {
        Cast::Value(v) => Ok(v),
        Cast::NotSet => Ok(Value::Null),
    }
}

fn cast_list(items: &[Node]) -> Result<Vec<Value>, Diagnostic> {
    items.iter().map(cast_value).collect()
}

fn type_error(pos: Pos, message: String) -> Diagnostic {
    Diagnostic::error(message).at(pos)
}

fn cast_typed(
    node: &Node,
    ty: &Node,
    entries: &[(crate::yaml::Key, Node)],
) -> Result<Cast, Diagnostic> {
    let Yaml::Str(class) = &ty.value else {
        return Err(type_error(
            ty.pos,
            format!(
                "`__type__` must be a class path string, found {}",
                ty.value.kind()
            ),
        ));
    };
    let mut args: Vec<Value> = Vec::new();
    let mut kwargs: Vec<(&str, Value, Pos)> = Vec::new();
    for (k, v) in entries {
        match k.text.as_str() {
            "__type__" => {}
            "__args__" => match &v.value {
                Yaml::Seq(items) => args = cast_list(items)?,
                _ => args = vec![cast_value(v)?],
            },
            name => kwargs.push((name, cast_value(v)?, v.pos)),
        }
    }
    let number = |name: &str, v: &Value, pos: Pos| -> Result<f64, Diagnostic> {
        match v {
            Value::Int(i) => Ok(*i as f64),
            Value::Float(f) if f.is_finite() => Ok(*f),
            other => Err(type_error(
                pos,
                format!(
                    "`{name}` of a {class} must be a number, found {}",
                    other.kind()
                ),
            )),
        }
    };
    match class.as_str() {
        "datetime.timedelta" => {
            const ORDER: [(&str, f64); 7] = [
                ("days", 86_400.0),
                ("seconds", 1.0),
                ("microseconds", 1e-6),
                ("milliseconds", 1e-3),
                ("minutes", 60.0),
                ("hours", 3_600.0),
                ("weeks", 604_800.0),
            ];
            let mut secs = 0.0f64;
            for (i, a) in args.iter().enumerate() {
                let Some((name, unit)) = ORDER.get(i) else {
                    return Err(type_error(
                        node.pos,
                        "a datetime.timedelta takes at most 7 positional arguments".into(),
                    ));
                };
                secs += number(name, a, node.pos)? * unit;
            }
            for (name, v, pos) in &kwargs {
                let Some((_, unit)) = ORDER.iter().find(|(n, _)| n == name) else {
                    return Err(type_error(
                        *pos,
                        format!(
                            "a datetime.timedelta has no field `{name}`; it takes days, seconds, \
                             microseconds, milliseconds, minutes, hours and weeks"
                        ),
                    ));
                };
                secs += number(name, v, *pos)? * unit;
            }
            let d = SignedDuration::try_from_secs_f64(secs).map_err(|_| {
                type_error(
                    node.pos,
                    format!("the datetime.timedelta of {secs} seconds is out of range"),
                )
            })?;
            Ok(Cast::Value(Value::Duration(d)))
        }
        "datetime.datetime" | "datetime.date" => {
            const FIELDS: [&str; 7] = [
                "year",
                "month",
                "day",
                "hour",
                "minute",
                "second",
                "microsecond",
            ];
            let is_date = class == "datetime.date";
            let allowed = if is_date { &FIELDS[..3] } else { &FIELDS[..] };
            let mut parts = [None::<i64>; 7];
            let int = |name: &str, v: &Value, pos: Pos| -> Result<i64, Diagnostic> {
                match v {
                    Value::Int(i) => Ok(*i),
                    other => Err(type_error(
                        pos,
                        format!(
                            "`{name}` of a {class} must be an integer, found {}",
                            other.kind()
                        ),
                    )),
                }
            };
            for (i, a) in args.iter().enumerate() {
                let Some(name) = allowed.get(i) else {
                    return Err(type_error(
                        node.pos,
                        format!("too many positional arguments for a {class}"),
                    ));
                };
                parts[i] = Some(int(name, a, node.pos)?);
            }
            for (name, v, pos) in &kwargs {
                if *name == "tzinfo" && matches!(v, Value::Null) {
                    continue;
                }
                let Some(i) = allowed.iter().position(|f| f == name) else {
                    return Err(type_error(
                        *pos,
                        format!(
                            "a {class} has no field `{name}`; it takes {}",
                            allowed.join(", ")
                        ),
                    ));
                };
                parts[i] = Some(int(name, v, *pos)?);
            }
            let [Some(year), Some(month), Some(day), ..] = parts else {
                return Err(type_error(
                    node.pos,
                    format!("a {class} needs year, month and day"),
                ));
            };
            let get = |i: usize| parts[i].unwrap_or(0);
            let bad = || {
                type_error(
                    node.pos,
                    format!(
                        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} is not a valid {class}",
                        get(3),
                        get(4),
                        get(5)
                    ),
                )
            };
            let narrow = |v: i64| i8::try_from(v).map_err(|_| bad());
            let date = civil::Date::new(
                i16::try_from(year).map_err(|_| bad())?,
                narrow(month)?,
                narrow(day)?,
            )
            .map_err(|_| bad())?;
            if is_date {
                return Ok(Cast::Value(Value::Date(date)));
            }
            let micros = i32::try_from(get(6)).map_err(|_| bad())?;
            let time = civil::Time::new(
                narrow(get(3))?,
                narrow(get(4))?,
                narrow(get(5))?,
                micros.checked_mul(1000).ok_or_else(bad)?,
            )
            .map_err(|_| bad())?;
            Ok(Cast::Value(Value::DateTime(date.to_datetime(time), None)))
        }
        "builtins.list" | "builtins.tuple" | "builtins.set" => {
            let items = kwargs
                .iter()
                .find(|(n, _, _)| *n == "items")
                .map(|(_, v, _)| v.clone())
                .or_else(|| args.first().cloned())
                .unwrap_or(Value::List(Vec::new()));
            match items {
                Value::List(items) => Ok(Cast::Value(Value::List(items))),
                other => Err(type_error(
                    node.pos,
                    format!(
                        "`items` of a {class} must be a list, found {}",
                        other.kind()
                    ),
                )),
            }
        }
        "builtins.dict" => {
            let mut map = Map::default();
            for (name, v, _) in kwargs {
                map.insert(name.to_owned(), v);
            }
            Ok(Cast::Value(Value::Map(map)))
        }
        c if ARG_NOT_SET.contains(&c) => Ok(Cast::NotSet),
        "airflow.timetables.trigger.CronTriggerTimetable" => {
            let mut map = Map::default();
            map.insert("__type__".into(), Value::Str(class.clone()));
            for (name, v, _) in kwargs {
                map.insert(name.to_owned(), v);
            }
            if let Some(a) = args.first() {
                map.insert("cron".into(), a.clone());
            }
            Ok(Cast::Value(Value::Map(map)))
        }
        // Asset(name=None, uri=None, *, group, extra, watchers): kept as a map; the loader
        // reads `name` and `uri` where assets are allowed.
        c if ASSET_TYPES.contains(&c) => {
            let mut map = Map::default();
            map.insert("__type__".into(), Value::Str(class.clone()));
            for (name, v) in ["name", "uri"].into_iter().zip(args) {
                map.insert(name.into(), v);
            }
            for (name, v, _) in kwargs {
                map.insert(name.to_owned(), v);
            }
            Ok(Cast::Value(Value::Map(map)))
        }
        c if c.starts_with("airflow.providers.") && kwargs.is_empty() && args.len() == 1 => {
            let value = args.remove(0);
            if matches!(value, Value::List(_) | Value::Map(_)) {
                return Err(type_error(
                    node.pos,
                    format!("the enum {c} takes one plain value in `__args__`"),
                ));
            }
            Ok(Cast::Value(Value::Enum {
                class: c.to_owned(),
                value: Box::new(value),
            }))
        }
        other => Err(type_error(
            ty.pos,
            format!(
                "unknown `__type__` '{other}'; the types this runtime understands are {}",
                KNOWN_TYPES.join(", ")
            ),
        )
        .key("__type__")),
    }
}
