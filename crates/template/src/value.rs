//! Template values with Python's semantics: `str()` and `repr()`, truthiness, equality,
//! ordering and arithmetic as CPython does them, so that output matches Airflow byte for byte.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

use crate::error::Error;
use crate::pyfmt;
use crate::pytime::{PyDate, PyDateTime, PyTimeDelta, RelativeDelta};

/// Positional and keyword arguments of a call.
#[derive(Debug, Default, Clone)]
pub(crate) struct Args {
    /// Positional arguments.
    pub(crate) args: Vec<Value>,
    /// Keyword arguments, in order.
    pub(crate) kwargs: Vec<(String, Value)>,
}

impl Args {
    /// The argument at position `i` or named `name`.
    pub(crate) fn get(&self, i: usize, name: &str) -> Option<&Value> {
        self.kwargs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .or_else(|| self.args.get(i))
    }
}

/// An object with behaviour of its own (the task instance, `macros`, modules, functions).
pub(crate) trait Object: fmt::Debug {
    /// Python's type name, for error messages.
    fn type_name(&self) -> &str;
    /// `obj.name`.
    fn get_attr(&self, _name: &str) -> Option<Value> {
        None
    }
    /// `obj(...)`.
    fn call(&self, _args: Args) -> Result<Value, Error> {
        Err(Error::type_error(format!(
            "'{}' object is not callable",
            self.type_name()
        )))
    }
    /// `str(obj)`.
    fn py_str(&self) -> String;
    /// `repr(obj)`.
    fn py_repr(&self) -> String {
        self.py_str()
    }
    /// `obj[key]`.
    fn get_item(&self, _key: &Value) -> Option<Value> {
        None
    }
    /// `len(obj)`.
    fn len(&self) -> Option<usize> {
        None
    }
    /// An error that any use of this object raises (a connection that does not exist).
    fn fail(&self) -> Option<Error> {
        None
    }
    /// The macro behind this object, for `{% macro %}` calls.
    fn as_any_macro(&self) -> Option<&crate::eval::MacroObj> {
        None
    }
    /// The attribute bag of a `namespace()`.
    fn as_namespace(&self) -> Option<&RefCell<Dict>> {
        None
    }
}

/// A value undefined in the template: using it fails with `message` (StrictUndefined), except
/// for the implicit `else` of an inline `if`, which renders as empty (Jinja's plain Undefined).
#[derive(Debug)]
pub(crate) struct Undefined {
    /// Jinja's message: `'x' is undefined`, `'dict object' has no attribute 'y'`.
    pub(crate) message: String,
    /// False for the lenient kind.
    pub(crate) strict: bool,
}

/// An ordered mapping (Python dicts keep insertion order).
#[derive(Debug, Default, Clone)]
pub(crate) struct Dict {
    /// The entries, in insertion order.
    pub(crate) entries: Vec<(Value, Value)>,
}

impl Dict {
    /// The value under `key`.
    pub(crate) fn get(&self, key: &Value) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.py_eq(key))
            .map(|(_, v)| v)
    }

    /// The value under the string `key`.
    pub(crate) fn get_str(&self, key: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Inserts or replaces.
    pub(crate) fn insert(&mut self, key: Value, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| k.py_eq(&key)) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }
}

/// A template value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// An undefined name or attribute.
    Undefined(Rc<Undefined>),
    /// Python's `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int`.
    Int(i64),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(Rc<str>),
    /// A `list` (mutable: `{% do l.append(x) %}`).
    List(Rc<RefCell<Vec<Value>>>),
    /// A `tuple`.
    Tuple(Rc<Vec<Value>>),
    /// A `dict`.
    Dict(Rc<RefCell<Dict>>),
    /// A `datetime` (pendulum `DateTime` when aware).
    DateTime(Rc<PyDateTime>),
    /// A `date`.
    Date(Rc<PyDate>),
    /// A `timedelta`.
    TimeDelta(Rc<PyTimeDelta>),
    /// A dateutil `relativedelta`.
    RelDelta(Rc<RelativeDelta>),
    /// Anything else.
    Object(Rc<dyn Object>),
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::Str(Rc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Value {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}

impl Value {
    /// A new list.
    pub(crate) fn list(items: Vec<Value>) -> Value {
        Value::List(Rc::new(RefCell::new(items)))
    }

    /// A new tuple.
    pub(crate) fn tuple(items: Vec<Value>) -> Value {
        Value::Tuple(Rc::new(items))
    }

    /// A new dict.
    pub(crate) fn dict(entries: Vec<(Value, Value)>) -> Value {
        Value::Dict(Rc::new(RefCell::new(Dict { entries })))
    }

    /// A strict undefined with Jinja's message.
    pub(crate) fn undefined(message: impl Into<String>) -> Value {
        Value::Undefined(Rc::new(Undefined {
            message: message.into(),
            strict: true,
        }))
    }

    /// The string, when this is one.
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True for an undefined value.
    pub(crate) fn is_undefined(&self) -> bool {
        matches!(self, Value::Undefined(_))
    }

    /// Fails with the undefined's message, when this is a strict undefined.
    pub(crate) fn check_defined(&self) -> Result<(), Error> {
        match self {
            Value::Undefined(u) if u.strict => Err(Error::undefined(u.message.clone())),
            _ => Ok(()),
        }
    }

    /// Python's type name (`int`, `str`, `DateTime`, ...).
    pub(crate) fn type_name(&self) -> String {
        match self {
            Value::Undefined(_) => "Undefined".into(),
            Value::None => "NoneType".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "str".into(),
            Value::List(_) => "list".into(),
            Value::Tuple(_) => "tuple".into(),
            Value::Dict(_) => "dict".into(),
            Value::DateTime(d) => if d.tz.is_some() {
                "DateTime"
            } else {
                "datetime"
            }
            .into(),
            Value::Date(_) => "date".into(),
            Value::TimeDelta(_) => "timedelta".into(),
            Value::RelDelta(_) => "relativedelta".into(),
            Value::Object(o) => o.type_name().into(),
        }
    }

    /// Jinja's `object_type_repr`, used in undefined messages (`dict object`, `None`).
    pub(crate) fn jinja_type_repr(&self) -> String {
        match self {
            Value::None => "None".into(),
            other => format!("{} object", other.type_name()),
        }
    }

    /// Python's `str()`.
    pub(crate) fn py_str(&self) -> Result<String, Error> {
        Ok(match self {
            Value::Undefined(u) => {
                if u.strict {
                    return Err(Error::undefined(u.message.clone()));
                }
                String::new()
            }
            Value::Str(s) => s.to_string(),
            Value::DateTime(d) => d.py_str(),
            Value::Date(d) => d.py_str(),
            Value::TimeDelta(d) => d.py_str(),
            Value::Object(o) => o.py_str(),
            other => other.py_repr()?,
        })
    }

    /// Python's `repr()`.
    pub(crate) fn py_repr(&self) -> Result<String, Error> {
        Ok(match self {
            Value::Undefined(u) => {
                if u.strict {
                    return Err(Error::undefined(u.message.clone()));
                }
                String::new()
            }
            Value::None => "None".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => pyfmt::float_repr(*f),
            Value::Str(s) => pyfmt::str_repr(s),
            Value::List(l) => {
                let items: Result<Vec<String>, Error> =
                    l.borrow().iter().map(Value::py_repr).collect();
                format!("[{}]", items?.join(", "))
            }
            Value::Tuple(t) => {
                let items: Result<Vec<String>, Error> = t.iter().map(Value::py_repr).collect();
                let items = items?;
                if items.len() == 1 {
                    format!("({},)", items[0])
                } else {
                    format!("({})", items.join(", "))
                }
            }
            Value::Dict(d) => {
                let mut parts = Vec::new();
                for (k, v) in &d.borrow().entries {
                    parts.push(format!("{}: {}", k.py_repr()?, v.py_repr()?));
                }
                format!("{{{}}}", parts.join(", "))
            }
            Value::DateTime(d) => d.py_repr(),
            Value::Date(d) => d.py_repr(),
            Value::TimeDelta(d) => d.py_repr(),
            Value::RelDelta(r) => r.py_repr(),
            Value::Object(o) => o.py_repr(),
        })
    }

    /// Python's truthiness.
    pub(crate) fn truthy(&self) -> Result<bool, Error> {
        Ok(match self {
            Value::Undefined(u) => {
                if u.strict {
                    return Err(Error::undefined(u.message.clone()));
                }
                false
            }
            Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Tuple(t) => !t.is_empty(),
            Value::Dict(d) => !d.borrow().entries.is_empty(),
            Value::TimeDelta(d) => d.total_seconds() != 0.0,
            Value::Object(o) => o.len().is_none_or(|n| n > 0),
            _ => true,
        })
    }

    /// A number as f64 (bools count, as in Python).
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Int(i) => Some(*i as f64),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// An int (bools count).
    pub(crate) fn as_int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Python's `==`.
    pub(crate) fn py_eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::None, Value::None) => true,
            (Value::Str(a), Value::Str(b)) => a == b,
            (
                Value::Int(_) | Value::Bool(_) | Value::Float(_),
                Value::Int(_) | Value::Bool(_) | Value::Float(_),
            ) => match (self.as_int(), other.as_int()) {
                (Some(a), Some(b)) => a == b,
                _ => self.as_f64() == other.as_f64(),
            },
            (Value::List(a), Value::List(b)) => seq_eq(&a.borrow(), &b.borrow()),
            (Value::Tuple(a), Value::Tuple(b)) => seq_eq(a, b),
            (Value::Dict(a), Value::Dict(b)) => {
                let (a, b) = (a.borrow(), b.borrow());
                a.entries.len() == b.entries.len()
                    && a.entries
                        .iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| v.py_eq(w)))
            }
            (Value::DateTime(a), Value::DateTime(b)) => a.py_eq(b),
            (Value::Date(a), Value::Date(b)) => a.py_cmp(b) == Ordering::Equal,
            (Value::TimeDelta(a), Value::TimeDelta(b)) => a == b,
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }

    /// Python's ordering (`<` etc.); a TypeError for types that do not order.
    pub(crate) fn py_cmp(&self, other: &Value, op: &str) -> Result<Ordering, Error> {
        self.check_defined()?;
        other.check_defined()?;
        let fail = || {
            Error::type_error(format!(
                "'{op}' not supported between instances of '{}' and '{}'",
                self.type_name(),
                other.type_name()
            ))
        };
        match (self, other) {
            (Value::Str(a), Value::Str(b)) => Ok(a.cmp(b)),
            (Value::List(a), Value::List(b)) => seq_cmp(&a.borrow(), &b.borrow(), op),
            (Value::Tuple(a), Value::Tuple(b)) => seq_cmp(a, b, op),
            (Value::DateTime(a), Value::DateTime(b)) => a.py_cmp(b).map_err(Error::type_error),
            (Value::Date(a), Value::Date(b)) => Ok(a.py_cmp(b)),
            (Value::TimeDelta(a), Value::TimeDelta(b)) => Ok(a.cmp(b)),
            _ => match (self.as_int(), other.as_int()) {
                (Some(a), Some(b)) => Ok(a.cmp(&b)),
                _ => match (self.as_f64(), other.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b).ok_or_else(fail),
                    _ => Err(fail()),
                },
            },
        }
    }

    /// Iterates as Python's `iter()` does (dicts give keys, strings characters).
    pub(crate) fn iterate(&self) -> Result<Vec<Value>, Error> {
        self.check_defined()?;
        Ok(match self {
            Value::List(l) => l.borrow().clone(),
            Value::Tuple(t) => t.as_ref().clone(),
            Value::Dict(d) => d.borrow().entries.iter().map(|(k, _)| k.clone()).collect(),
            Value::Str(s) => s.chars().map(|c| Value::from(c.to_string())).collect(),
            Value::Object(o) => match o.len() {
                Some(n) => (0..n)
                    .filter_map(|i| o.get_item(&Value::Int(i as i64)))
                    .collect(),
                None => {
                    return Err(Error::type_error(format!(
                        "'{}' object is not iterable",
                        o.type_name()
                    )));
                }
            },
            other => {
                return Err(Error::type_error(format!(
                    "'{}' object is not iterable",
                    other.type_name()
                )));
            }
        })
    }

    /// Python's `len()`.
    pub(crate) fn py_len(&self) -> Result<usize, Error> {
        self.check_defined()?;
        match self {
            Value::Str(s) => Ok(s.chars().count()),
            Value::List(l) => Ok(l.borrow().len()),
            Value::Tuple(t) => Ok(t.len()),
            Value::Dict(d) => Ok(d.borrow().entries.len()),
            Value::Object(o) => o.len().ok_or_else(|| no_len(self)),
            _ => Err(no_len(self)),
        }
    }

    /// Converts JSON (XCom values, params) into a value.
    pub(crate) fn from_json(j: &serde_json::Value) -> Value {
        match j {
            serde_json::Value::Null => Value::None,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(a) => Value::list(a.iter().map(Value::from_json).collect()),
            serde_json::Value::Object(o) => Value::dict(
                o.iter()
                    .map(|(k, v)| (Value::from(k.as_str()), Value::from_json(v)))
                    .collect(),
            ),
        }
    }

    /// Converts to JSON (for native rendering of a lone xcom_pull); dates become their string
    /// form, other objects their `str()`.
    pub(crate) fn to_json(&self) -> Result<serde_json::Value, Error> {
        Ok(match self {
            Value::Undefined(_) => {
                self.check_defined()?;
                serde_json::Value::Null
            }
            Value::None => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(_) | Value::Tuple(_) => serde_json::Value::Array(
                self.iterate()?
                    .iter()
                    .map(Value::to_json)
                    .collect::<Result<_, _>>()?,
            ),
            Value::Dict(d) => {
                let mut m = serde_json::Map::new();
                for (k, v) in &d.borrow().entries {
                    m.insert(k.py_str()?, v.to_json()?);
                }
                serde_json::Value::Object(m)
            }
            other => serde_json::Value::String(other.py_str()?),
        })
    }
}

fn no_len(v: &Value) -> Error {
    Error::type_error(format!("object of type '{}' has no len()", v.type_name()))
}

fn seq_eq(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.py_eq(y))
}

fn seq_cmp(a: &[Value], b: &[Value], op: &str) -> Result<Ordering, Error> {
    for (x, y) in a.iter().zip(b) {
        if !x.py_eq(y) {
            return x.py_cmp(y, op);
        }
    }
    Ok(a.len().cmp(&b.len()))
}
