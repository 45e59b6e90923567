//! Jinja2's global functions (`range`, `dict`, `namespace`, `cycler`, `joiner`, `lipsum`) and
//! the small callable objects the context is built from.

use std::cell::RefCell;
use std::rc::Rc;

use crate::error::Error;
use crate::value::{Args, Dict, Object, Value};

type NativeFn = dyn Fn(Args) -> Result<Value, Error>;

/// A Python function implemented in Rust.
pub(crate) struct Func {
    pub(crate) name: &'static str,
    pub(crate) f: Box<NativeFn>,
}

impl std::fmt::Debug for Func {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Func({})", self.name)
    }
}

impl Object for Func {
    fn type_name(&self) -> &str {
        "function"
    }
    fn call(&self, args: Args) -> Result<Value, Error> {
        (self.f)(args)
    }
    fn py_str(&self) -> String {
        format!("<function {}>", self.name)
    }
}

/// Wraps a Rust closure as a callable value.
pub(crate) fn func(
    name: &'static str,
    f: impl Fn(Args) -> Result<Value, Error> + 'static,
) -> Value {
    Value::Object(Rc::new(Func {
        name,
        f: Box::new(f),
    }))
}

/// A module-like object: named attributes and a fixed `str()`.
#[derive(Debug)]
pub(crate) struct Module {
    pub(crate) repr: String,
    pub(crate) type_name: &'static str,
    pub(crate) attrs: Vec<(&'static str, Value)>,
    /// Called when the module object itself is called (classes such as `datetime`).
    pub(crate) call: Option<Value>,
}

impl Object for Module {
    fn type_name(&self) -> &str {
        self.type_name
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        self.attrs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
    fn call(&self, args: Args) -> Result<Value, Error> {
        match &self.call {
            Some(Value::Object(f)) => f.call(args),
            _ => Err(Error::type_error(format!(
                "'{}' object is not callable",
                self.type_name
            ))),
        }
    }
    fn py_str(&self) -> String {
        self.repr.clone()
    }
}

/// `namespace(...)`: a mutable attribute bag for `{% set ns.x = ... %}`.
#[derive(Debug)]
pub(crate) struct Namespace(pub(crate) RefCell<Dict>);

impl Object for Namespace {
    fn type_name(&self) -> &str {
        "Namespace"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        self.0.borrow().get_str(name).cloned()
    }
    fn py_str(&self) -> String {
        let parts: Vec<String> = self
            .0
            .borrow()
            .entries
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k.py_str().unwrap_or_default(),
                    v.py_repr().unwrap_or_default()
                )
            })
            .collect();
        format!("<Namespace {}>", parts.join(", "))
    }
    fn as_namespace(&self) -> Option<&RefCell<Dict>> {
        Some(&self.0)
    }
}

/// `cycler(...)`.
#[derive(Debug)]
struct Cycler {
    items: Vec<Value>,
    pos: RefCell<usize>,
}

impl Object for Cycler {
    fn type_name(&self) -> &str {
        "Cycler"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        let n = self.items.len().max(1);
        match name {
            "current" => self.items.get(*self.pos.borrow() % n).cloned(),
            _ => None,
        }
    }
    fn call(&self, _args: Args) -> Result<Value, Error> {
        let mut p = self.pos.borrow_mut();
        let v = self
            .items
            .get(*p % self.items.len().max(1))
            .cloned()
            .unwrap_or(Value::None);
        *p += 1;
        Ok(v)
    }
    fn py_str(&self) -> String {
        "<jinja2.utils.Cycler object>".into()
    }
}

/// `joiner(sep)`.
#[derive(Debug)]
struct Joiner {
    sep: String,
    used: RefCell<bool>,
}

impl Object for Joiner {
    fn type_name(&self) -> &str {
        "Joiner"
    }
    fn call(&self, _args: Args) -> Result<Value, Error> {
        let mut used = self.used.borrow_mut();
        let out = if *used {
            self.sep.clone()
        } else {
            String::new()
        };
        *used = true;
        Ok(Value::from(out))
    }
    fn py_str(&self) -> String {
        "<jinja2.utils.Joiner object>".into()
    }
}

fn range(args: Args) -> Result<Value, Error> {
    let ints: Vec<i64> = args
        .args
        .iter()
        .map(|a| {
            a.as_int().ok_or_else(|| {
                Error::type_error(format!(
                    "'{}' object cannot be interpreted as an integer",
                    a.type_name()
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let (start, stop, step) = match ints.as_slice() {
        [stop] => (0, *stop, 1),
        [start, stop] => (*start, *stop, 1),
        [start, stop, step] => (*start, *stop, *step),
        _ => {
            return Err(Error::type_error(format!(
                "range expected at most 3 arguments, got {}",
                ints.len()
            )));
        }
    };
    if step == 0 {
        return Err(Error::value_error("range() arg 3 must not be zero"));
    }
    // The sandbox caps ranges (Jinja's MAX_RANGE).
    let len = if step > 0 {
        (stop - start + step - 1) / step
    } else {
        (start - stop - step - 1) / -step
    };
    if len > 100_000 {
        return Err(Error::new(
            "OverflowError",
            "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).",
        ));
    }
    Ok(Value::Object(Rc::new(PyRange {
        start,
        stop,
        step,
        len: len.max(0) as usize,
    })))
}

/// Python's `range` object, which the sandbox's `range()` returns: it prints as
/// `range(0, 3)`, and iterates, indexes and measures like the sequence it stands for.
#[derive(Debug)]
struct PyRange {
    start: i64,
    stop: i64,
    step: i64,
    len: usize,
}

impl Object for PyRange {
    fn type_name(&self) -> &str {
        "range"
    }

    fn py_str(&self) -> String {
        if self.step == 1 {
            format!("range({}, {})", self.start, self.stop)
        } else {
            format!("range({}, {}, {})", self.start, self.stop, self.step)
        }
    }

    fn len(&self) -> Option<usize> {
        Some(self.len)
    }

    fn get_item(&self, key: &Value) -> Option<Value> {
        let Value::Int(i) = key else {
            return None;
        };
        let len = self.len as i64;
        let index = if *i < 0 { len + i } else { *i };
        (0..len)
            .contains(&index)
            .then(|| Value::Int(self.start + index * self.step))
    }
}

/// The built-in global named `name`, if any.
pub(crate) fn builtin(name: &str) -> Option<Value> {
    Some(match name {
        "range" => func("range", range),
        "dict" => func("dict", |args| {
            let mut d = Dict::default();
            if let Some(Value::Dict(src)) = args.args.first() {
                d = src.borrow().clone();
            }
            for (k, v) in args.kwargs {
                d.insert(Value::from(k), v);
            }
            Ok(Value::Dict(Rc::new(RefCell::new(d))))
        }),
        "namespace" => func("namespace", |args| {
            let mut d = Dict::default();
            if let Some(Value::Dict(src)) = args.args.first() {
                d = src.borrow().clone();
            }
            for (k, v) in args.kwargs {
                d.insert(Value::from(k), v);
            }
            Ok(Value::Object(Rc::new(Namespace(RefCell::new(d)))))
        }),
        "cycler" => func("cycler", |args| {
            Ok(Value::Object(Rc::new(Cycler {
                items: args.args,
                pos: RefCell::new(0),
            })))
        }),
        "joiner" => func("joiner", |args| {
            let sep = args
                .args
                .first()
                .map(Value::py_str)
                .transpose()?
                .unwrap_or_else(|| ", ".into());
            Ok(Value::Object(Rc::new(Joiner {
                sep,
                used: RefCell::new(false),
            })))
        }),
        "lipsum" => func("lipsum", |_| {
            Ok(Value::from(
                "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
            ))
        }),
        _ => return None,
    })
}
