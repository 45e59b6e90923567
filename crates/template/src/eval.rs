//! The interpreter: walks the syntax tree with Jinja2's sandboxed semantics and Python's value
//! rules.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ast::{Expr, Node, Target};
use crate::error::Error;
use crate::value::{Args, Dict, Object, Undefined, Value};
use crate::{filters, methods, pyfmt};

/// How deep expressions may be evaluated (a chain of thousands of operators is a
/// `RecursionError`, never a stack overflow).
const MAX_EVAL_DEPTH: usize = 400;

/// The rendering state: the context and the local scopes.
pub(crate) struct State<'a> {
    globals: &'a HashMap<String, Value>,
    scopes: Vec<HashMap<String, Value>>,
    /// Set from another thread to stop rendering (a try's timeout, SIGTERM).
    interrupt: Option<&'a AtomicBool>,
    /// The depth of expression evaluation.
    depth: usize,
    /// The depth of macro calls.
    calls: usize,
}

impl<'a> State<'a> {
    pub(crate) fn new(
        globals: &'a HashMap<String, Value>,
        interrupt: Option<&'a AtomicBool>,
    ) -> State<'a> {
        State {
            globals,
            scopes: vec![HashMap::new()],
            interrupt,
            depth: 0,
            calls: 0,
        }
    }

    /// Fails when rendering was interrupted.
    fn check_interrupt(&self) -> Result<(), Error> {
        match self.interrupt {
            Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::interrupted()),
            _ => Ok(()),
        }
    }

    fn lookup(&self, name: &str) -> Value {
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.get(name) {
                return v.clone();
            }
        }
        if let Some(v) = self.globals.get(name) {
            return v.clone();
        }
        if let Some(f) = crate::globals::builtin(name) {
            return f;
        }
        Value::undefined(crate::context::undefined_name_message(name))
    }

    fn set(&mut self, name: &str, v: Value) {
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.to_owned(), v);
        }
    }

    pub(crate) fn render(&mut self, nodes: &[Node]) -> Result<String, Error> {
        let mut out = String::new();
        self.exec(nodes, &mut out)?;
        Ok(out)
    }

    fn exec(&mut self, nodes: &[Node], out: &mut String) -> Result<(), Error> {
        for node in nodes {
            self.check_interrupt()?;
            Error::check_size(out.len())?;
            match node {
                Node::Text(t) => out.push_str(t),
                Node::Print(e, line) => {
                    let v = self.eval(e).map_err(|err| err.with_line(*line))?;
                    out.push_str(&v.py_str().map_err(|err| err.with_line(*line))?);
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    let mut taken = false;
                    for (cond, body) in branches {
                        if self.eval(cond)?.truthy()? {
                            taken = true;
                            self.exec(body, out)?;
                            break;
                        }
                    }
                    if !taken {
                        self.exec(otherwise, out)?;
                    }
                }
                Node::For {
                    target,
                    iter,
                    filter,
                    body,
                    otherwise,
                    line,
                } => {
                    let seq = self.eval(iter).map_err(|e| e.with_line(*line))?;
                    let seq = match &seq {
                        Value::Dict(d) => {
                            d.borrow().entries.iter().map(|(k, _)| k.clone()).collect()
                        }
                        other => other.iterate().map_err(|e| e.with_line(*line))?,
                    };
                    let seq = match filter {
                        None => seq,
                        Some(f) => {
                            let mut kept = Vec::new();
                            for item in seq {
                                self.scopes.push(HashMap::new());
                                self.assign(target, item.clone())?;
                                let keep = self.eval(f)?.truthy();
                                self.scopes.pop();
                                if keep? {
                                    kept.push(item);
                                }
                            }
                            kept
                        }
                    };
                    if seq.is_empty() {
                        self.scopes.push(HashMap::new());
                        let flow = self.exec(otherwise, out);
                        self.scopes.pop();
                        flow?;
                        continue;
                    }
                    let n = seq.len();
                    for (i, item) in seq.iter().enumerate() {
                        self.check_interrupt()?;
                        self.scopes.push(HashMap::new());
                        let lp = LoopObj {
                            index0: i,
                            length: n,
                            prev: if i > 0 {
                                Some(seq[i - 1].clone())
                            } else {
                                None
                            },
                            next: seq.get(i + 1).cloned(),
                        };
                        self.set("loop", Value::Object(Rc::new(lp)));
                        let done = self
                            .assign(target, item.clone())
                            .and_then(|()| self.exec(body, out));
                        self.scopes.pop();
                        done?;
                    }
                }
                Node::Set(target, e) => {
                    let v = self.eval(e)?;
                    self.assign(target, v)?;
                }
                Node::SetBlock(name, body) => {
                    let mut buf = String::new();
                    self.exec(body, &mut buf)?;
                    self.set(name, Value::from(buf));
                }
                Node::With(assigns, body) => {
                    let mut values = Vec::new();
                    for (t, e) in assigns {
                        values.push((t, self.eval(e)?));
                    }
                    self.scopes.push(HashMap::new());
                    let mut res = Ok(());
                    for (t, v) in values {
                        if let Err(e) = self.assign(t, v) {
                            res = Err(e);
                            break;
                        }
                    }
                    if res.is_ok() {
                        res = self.exec(body, out);
                    }
                    self.scopes.pop();
                    res?;
                }
                Node::Do(e) => {
                    self.eval(e)?;
                }
                Node::Macro { name, params, body } => {
                    let m = MacroObj {
                        name: name.clone(),
                        params: params.clone(),
                        body: body.clone(),
                    };
                    self.set(name, Value::Object(Rc::new(m)));
                }
                Node::FilterBlock { filter, body } => {
                    let mut buf = String::new();
                    self.exec(body, &mut buf)?;
                    self.scopes.push(HashMap::new());
                    self.set("\u{0}body", Value::from(buf));
                    let v = self.eval(filter);
                    self.scopes.pop();
                    out.push_str(&v?.py_str()?);
                }
                Node::Include(e, line) => {
                    let name = self.eval(e)?.py_str()?;
                    return Err(Error::new(
                        "TemplateNotFound",
                        format!("'{name}' not found in search path: '<dags folder>'"),
                    )
                    .with_line(*line));
                }
            }
        }
        Ok(())
    }

    fn assign(&mut self, target: &Target, v: Value) -> Result<(), Error> {
        match target {
            Target::Name(n) => {
                self.set(n, v);
                Ok(())
            }
            Target::Tuple(names) => {
                let items = v.iterate()?;
                if items.len() != names.len() {
                    return Err(Error::value_error(if items.len() > names.len() {
                        format!("too many values to unpack (expected {})", names.len())
                    } else {
                        format!(
                            "not enough values to unpack (expected {}, got {})",
                            names.len(),
                            items.len()
                        )
                    }));
                }
                for (t, item) in names.iter().zip(items) {
                    self.assign(t, item)?;
                }
                Ok(())
            }
            Target::Attr(ns, attr) => match self.lookup(ns) {
                Value::Object(o) if o.type_name() == "Namespace" => {
                    globals_namespace_set(&o, attr, v);
                    Ok(())
                }
                _ => Err(Error::new(
                    "TemplateRuntimeError",
                    "cannot assign attribute on non-namespace object",
                )),
            },
        }
    }

    pub(crate) fn eval(&mut self, e: &Expr) -> Result<Value, Error> {
        if self.depth >= MAX_EVAL_DEPTH {
            return Err(Error::recursion("while evaluating an expression"));
        }
        self.depth += 1;
        let v = self.eval_inner(e);
        self.depth -= 1;
        v
    }

    fn eval_inner(&mut self, e: &Expr) -> Result<Value, Error> {
        Ok(match e {
            Expr::Const(v) => match v {
                // Literal lists are built afresh, so `{% set l = [] %}` gives a new list.
                Value::List(l) => Value::list(l.borrow().clone()),
                other => other.clone(),
            },
            Expr::Name(n) => self.lookup(n),
            Expr::List(items) => Value::list(self.eval_all(items)?),
            Expr::Tuple(items) => Value::tuple(self.eval_all(items)?),
            Expr::Dict(items) => {
                let mut d = Dict::default();
                for (k, v) in items {
                    let k = self.eval(k)?;
                    k.check_defined()?;
                    let v = self.eval(v)?;
                    d.insert(k, v);
                }
                Value::Dict(Rc::new(RefCell::new(d)))
            }
            Expr::Attr(target, name) => {
                let t = self.eval(target)?;
                get_attr(&t, name)?
            }
            Expr::Item(target, key) => {
                let t = self.eval(target)?;
                let k = self.eval(key)?;
                get_item(&t, &k)?
            }
            Expr::Slice {
                target,
                start,
                stop,
                step,
            } => {
                let t = self.eval(target)?;
                let mut bound = |b: &Option<Box<Expr>>| -> Result<Option<i64>, Error> {
                    match b {
                        None => Ok(None),
                        Some(e) => match self.eval(e)? {
                            Value::None => Ok(None),
                            v => v.as_int().map(Some).ok_or_else(|| {
                                Error::type_error(
                                    "slice indices must be integers or None or have an __index__ method",
                                )
                            }),
                        },
                    }
                };
                let (a, b, c) = (bound(start)?, bound(stop)?, bound(step)?);
                slice(&t, a, b, c)?
            }
            Expr::Call { func, args, kwargs } => {
                let f = self.eval(func)?;
                let args = self.eval_args(args, kwargs)?;
                self.call(&f, args)?
            }
            Expr::Filter {
                value,
                name,
                args,
                kwargs,
            } => {
                let v = self.eval(value)?;
                let args = self.eval_args(args, kwargs)?;
                filters::apply(self, name, v, args)?
            }
            Expr::Test {
                value,
                name,
                args,
                negated,
            } => {
                let v = self.eval(value)?;
                let args = self.eval_all(args)?;
                let r = filters::test(self, name, &v, &args)?;
                Value::Bool(r != *negated)
            }
            Expr::Unary(op, e) => {
                let v = self.eval(e)?;
                v.check_defined()?;
                match (*op, &v) {
                    ("-", Value::Int(i)) => Value::Int(i.checked_neg().ok_or_else(overflow)?),
                    ("-", Value::Bool(b)) => Value::Int(-i64::from(*b)),
                    ("-", Value::Float(f)) => Value::Float(-f),
                    ("-", Value::TimeDelta(d)) => {
                        Value::TimeDelta(Rc::new(d.neg().map_err(overflow_err)?))
                    }
                    ("+", Value::Int(_) | Value::Float(_)) => v.clone(),
                    ("+", Value::Bool(b)) => Value::Int(i64::from(*b)),
                    _ => {
                        return Err(Error::type_error(format!(
                            "bad operand type for unary {op}: '{}'",
                            v.type_name()
                        )));
                    }
                }
            }
            Expr::Binary(op, a, b) => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                binary(op, &a, &b)?
            }
            Expr::Compare(first, rest) => {
                let mut left = self.eval(first)?;
                for (op, e) in rest {
                    let right = self.eval(e)?;
                    let ok = compare(op, &left, &right)?;
                    if !ok {
                        return Ok(Value::Bool(false));
                    }
                    left = right;
                }
                Value::Bool(true)
            }
            Expr::And(a, b) => {
                let a = self.eval(a)?;
                if a.truthy()? { self.eval(b)? } else { a }
            }
            Expr::Or(a, b) => {
                let a = self.eval(a)?;
                if a.truthy()? { a } else { self.eval(b)? }
            }
            Expr::Not(e) => Value::Bool(!self.eval(e)?.truthy()?),
            Expr::Cond {
                cond,
                then,
                otherwise,
            } => {
                if self.eval(cond)?.truthy()? {
                    self.eval(then)?
                } else {
                    match otherwise {
                        Some(o) => self.eval(o)?,
                        None => Value::Undefined(Rc::new(Undefined {
                            message: "the inline if expression evaluated to false and no else section was defined.".into(),
                            strict: false,
                        })),
                    }
                }
            }
        })
    }

    fn eval_all(&mut self, items: &[Expr]) -> Result<Vec<Value>, Error> {
        items.iter().map(|e| self.eval(e)).collect()
    }

    /// The arguments of a call or filter, evaluated left to right.
    fn eval_args(&mut self, args: &[Expr], kwargs: &[(String, Expr)]) -> Result<Args, Error> {
        Ok(Args {
            args: self.eval_all(args)?,
            kwargs: kwargs
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.eval(v)?)))
                .collect::<Result<_, Error>>()?,
        })
    }

    /// Calls a callable value.
    pub(crate) fn call(&mut self, f: &Value, args: Args) -> Result<Value, Error> {
        f.check_defined()?;
        match f {
            Value::Object(o) => {
                if let Some(m) = o.as_any_macro() {
                    return self.call_macro(m, args);
                }
                o.call(args)
            }
            other => Err(Error::type_error(format!(
                "'{}' object is not callable",
                other.type_name()
            ))),
        }
    }

    fn call_macro(&mut self, m: &MacroObj, args: Args) -> Result<Value, Error> {
        if self.calls >= crate::error::MAX_CALL_DEPTH {
            return Err(Error::recursion(&format!(
                "while calling macro '{}' (more than {} nested macro calls)",
                m.name,
                crate::error::MAX_CALL_DEPTH
            )));
        }
        self.calls += 1;
        let r = self.call_macro_inner(m, args);
        self.calls -= 1;
        r
    }

    fn call_macro_inner(&mut self, m: &MacroObj, args: Args) -> Result<Value, Error> {
        let mut scope = HashMap::new();
        for (i, (p, default)) in m.params.iter().enumerate() {
            let v = match args.get(i, p) {
                Some(v) => v.clone(),
                None => match default {
                    Some(d) => self.eval(d)?,
                    None => Value::undefined(format!("'{p}' is undefined")),
                },
            };
            scope.insert(p.clone(), v);
        }
        self.scopes.push(scope);
        let mut out = String::new();
        let r = self.exec(&m.body, &mut out);
        self.scopes.pop();
        r?;
        Ok(Value::from(out))
    }
}

fn overflow() -> Error {
    Error::new(
        "OverflowError",
        "integer overflow (airtask integers are 64-bit)",
    )
}

/// `loop` inside a for loop.
#[derive(Debug)]
struct LoopObj {
    index0: usize,
    length: usize,
    prev: Option<Value>,
    next: Option<Value>,
}

impl Object for LoopObj {
    fn type_name(&self) -> &str {
        "LoopContext"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        let n = self.length as i64;
        let i = self.index0 as i64;
        Some(match name {
            "index" => Value::Int(i + 1),
            "index0" => Value::Int(i),
            "revindex" => Value::Int(n - i),
            "revindex0" => Value::Int(n - i - 1),
            "first" => Value::Bool(i == 0),
            "last" => Value::Bool(i == n - 1),
            "length" => Value::Int(n),
            "depth" => Value::Int(1),
            "depth0" => Value::Int(0),
            "previtem" => self
                .prev
                .clone()
                .unwrap_or_else(|| Value::undefined("there is no previous item")),
            "nextitem" => self
                .next
                .clone()
                .unwrap_or_else(|| Value::undefined("there is no next item")),
            "cycle" => Value::Object(Rc::new(CycleFn(self.index0))),
            _ => return None,
        })
    }
    fn py_str(&self) -> String {
        format!("<LoopContext {}/{}>", self.index0 + 1, self.length)
    }
}

#[derive(Debug)]
struct CycleFn(usize);

impl Object for CycleFn {
    fn type_name(&self) -> &str {
        "method"
    }
    fn call(&self, args: Args) -> Result<Value, Error> {
        if args.args.is_empty() {
            return Err(Error::type_error("no items for cycling given"));
        }
        Ok(args.args[self.0 % args.args.len()].clone())
    }
    fn py_str(&self) -> String {
        "<bound method LoopContext.cycle>".into()
    }
}

/// A `{% macro %}`.
#[derive(Debug)]
pub(crate) struct MacroObj {
    name: String,
    params: Vec<(String, Option<Expr>)>,
    body: Vec<Node>,
}

impl Object for MacroObj {
    fn type_name(&self) -> &str {
        "Macro"
    }
    fn py_str(&self) -> String {
        format!("<Macro '{}'>", self.name)
    }
    fn as_any_macro(&self) -> Option<&MacroObj> {
        Some(self)
    }
}

fn globals_namespace_set(o: &Rc<dyn Object>, attr: &str, v: Value) {
    if let Some(ns) = o.as_namespace() {
        ns.borrow_mut().insert(Value::from(attr), v);
    }
}

/// Jinja's sandboxed `getattr`: attributes first, then items; `_`-prefixed names are refused.
pub(crate) fn get_attr(t: &Value, name: &str) -> Result<Value, Error> {
    t.check_defined()?;
    if name.starts_with('_') {
        return Err(Error::new(
            "SecurityError",
            format!(
                "access to attribute '{name}' of '{}' object is unsafe.",
                t.type_name()
            ),
        ));
    }
    if let Some(v) = methods::attribute(t, name)? {
        return Ok(v);
    }
    if let Value::Dict(d) = t
        && let Some(v) = d.borrow().get_str(name)
    {
        return Ok(v.clone());
    }
    if let Value::Object(o) = t
        && let Some(v) = o.get_item(&Value::from(name))
    {
        return Ok(v);
    }
    Ok(Value::undefined(format!(
        "'{}' has no attribute '{name}'",
        t.jinja_type_repr()
    )))
}

/// Jinja's sandboxed `getitem`: items first, then attributes for string keys.
pub(crate) fn get_item(t: &Value, k: &Value) -> Result<Value, Error> {
    t.check_defined()?;
    k.check_defined()?;
    let found = match (t, k) {
        (Value::Dict(d), _) => d.borrow().get(k).cloned(),
        (Value::List(_) | Value::Tuple(_) | Value::Str(_), _) if k.as_int().is_some() => {
            let items = t.iterate()?;
            let i = k.as_int().unwrap_or_default();
            let idx = if i < 0 { items.len() as i64 + i } else { i };
            usize::try_from(idx)
                .ok()
                .and_then(|i| items.get(i).cloned())
        }
        (Value::Object(o), _) => o.get_item(k),
        _ => None,
    };
    if let Some(v) = found {
        return Ok(v);
    }
    if let Some(name) = k.as_str() {
        if name.starts_with('_') {
            return get_attr(t, name);
        }
        if let Some(v) = methods::attribute(t, name)? {
            return Ok(v);
        }
        return Ok(Value::undefined(format!(
            "'{}' has no attribute '{name}'",
            t.jinja_type_repr()
        )));
    }
    Ok(Value::undefined(format!(
        "{} has no element {}",
        t.jinja_type_repr(),
        k.py_repr()?
    )))
}

fn slice(
    t: &Value,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<Value, Error> {
    t.check_defined()?;
    let step = step.unwrap_or(1);
    if step == 0 {
        return Err(Error::value_error("slice step cannot be zero"));
    }
    let items = match t {
        Value::Str(_) | Value::List(_) | Value::Tuple(_) => t.iterate()?,
        other => {
            return Err(Error::type_error(format!(
                "'{}' object is not subscriptable",
                other.type_name()
            )));
        }
    };
    let n = items.len() as i64;
    let norm = |i: i64, lo: i64, hi: i64| {
        let i = if i < 0 { i + n } else { i };
        i.clamp(lo, hi)
    };
    let mut picked = Vec::new();
    if step > 0 {
        let a = start.map_or(0, |s| norm(s, 0, n));
        let b = stop.map_or(n, |s| norm(s, 0, n));
        let mut i = a;
        while i < b {
            picked.push(items[i as usize].clone());
            i += step;
        }
    } else {
        let a = start.map_or(n - 1, |s| norm(s, -1, n - 1));
        let b = stop.map_or(-1, |s| norm(s, -1, n - 1));
        let mut i = a;
        while i > b {
            picked.push(items[i as usize].clone());
            i += step;
        }
    }
    Ok(match t {
        Value::Str(_) => {
            let mut s = String::new();
            for p in picked {
                s.push_str(p.as_str().unwrap_or_default());
            }
            Value::from(s)
        }
        Value::Tuple(_) => Value::tuple(picked),
        _ => Value::list(picked),
    })
}

fn operand_error(op: &str, a: &Value, b: &Value) -> Error {
    Error::type_error(format!(
        "unsupported operand type(s) for {op}: '{}' and '{}'",
        a.type_name(),
        b.type_name()
    ))
}

/// Python's binary operators (and Jinja's `~`).
pub(crate) fn binary(op: &str, a: &Value, b: &Value) -> Result<Value, Error> {
    a.check_defined()?;
    b.check_defined()?;
    if op == "~" {
        return Ok(Value::from(format!("{}{}", a.py_str()?, b.py_str()?)));
    }
    // Integer arithmetic (bools are ints).
    if let (Some(x), Some(y)) = (a.as_int(), b.as_int()) {
        return Ok(match op {
            "+" => Value::Int(x.checked_add(y).ok_or_else(overflow)?),
            "-" => Value::Int(x.checked_sub(y).ok_or_else(overflow)?),
            "*" => Value::Int(x.checked_mul(y).ok_or_else(overflow)?),
            "/" => {
                if y == 0 {
                    return Err(Error::new("ZeroDivisionError", "division by zero"));
                }
                Value::Float(x as f64 / y as f64)
            }
            "//" => {
                if y == 0 {
                    return Err(Error::new(
                        "ZeroDivisionError",
                        "integer division or modulo by zero",
                    ));
                }
                Value::Int(x.div_euclid(y) - i64::from(y < 0 && x.rem_euclid(y) != 0))
            }
            "%" => {
                if y == 0 {
                    return Err(Error::new("ZeroDivisionError", "integer modulo by zero"));
                }
                let r = x.rem_euclid(y);
                Value::Int(if y < 0 && r != 0 { r + y } else { r })
            }
            "**" => {
                if y >= 0 {
                    Value::Int(
                        x.checked_pow(u32::try_from(y).map_err(|_| overflow())?)
                            .ok_or_else(overflow)?,
                    )
                } else {
                    Value::Float((x as f64).powf(y as f64))
                }
            }
            _ => return Err(operand_error(op, a, b)),
        });
    }
    if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
        return Ok(Value::Float(match op {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => {
                if y == 0.0 {
                    return Err(Error::new("ZeroDivisionError", "float division by zero"));
                }
                x / y
            }
            "//" => {
                if y == 0.0 {
                    return Err(Error::new(
                        "ZeroDivisionError",
                        "float floor division by zero",
                    ));
                }
                (x / y).floor()
            }
            "%" => {
                if y == 0.0 {
                    return Err(Error::new("ZeroDivisionError", "float modulo"));
                }
                let r = x % y;
                if r != 0.0 && (r < 0.0) != (y < 0.0) {
                    r + y
                } else {
                    r
                }
            }
            "**" => x.powf(y),
            _ => return Err(operand_error(op, a, b)),
        }));
    }
    match (op, a, b) {
        ("+", Value::Str(x), Value::Str(y)) => {
            Error::check_size(x.len().saturating_add(y.len()))?;
            Ok(Value::from(format!("{x}{y}")))
        }
        ("+", Value::List(x), Value::List(y)) => {
            Error::check_size(x.borrow().len().saturating_add(y.borrow().len()))?;
            let mut v = x.borrow().clone();
            v.extend(y.borrow().iter().cloned());
            Ok(Value::list(v))
        }
        ("+", Value::Tuple(x), Value::Tuple(y)) => {
            let mut v = x.as_ref().clone();
            v.extend(y.iter().cloned());
            Ok(Value::tuple(v))
        }
        ("*", Value::Str(s), n) | ("*", n, Value::Str(s)) if n.as_int().is_some() => {
            let times = usize::try_from(n.as_int().unwrap_or(0)).unwrap_or(0);
            Error::check_size(s.len().saturating_mul(times))?;
            Ok(Value::from(s.repeat(times)))
        }
        ("*", Value::List(l), n) | ("*", n, Value::List(l)) if n.as_int().is_some() => {
            let times = usize::try_from(n.as_int().unwrap_or(0)).unwrap_or(0);
            let items = l.borrow();
            Error::check_size(items.len().saturating_mul(times))?;
            Ok(Value::list(
                items
                    .iter()
                    .cloned()
                    .cycle()
                    .take(items.len() * times)
                    .collect(),
            ))
        }
        ("%", Value::Str(fmt), args) => Ok(Value::from(
            pyfmt::percent_format(fmt, percent_args(args)?).map_err(Error::type_error)?,
        )),
        ("+", Value::DateTime(d), Value::TimeDelta(t))
        | ("+", Value::TimeDelta(t), Value::DateTime(d)) => {
            Ok(Value::DateTime(Rc::new(d.add(t).map_err(overflow_err)?)))
        }
        ("-", Value::DateTime(d), Value::TimeDelta(t)) => {
            Ok(Value::DateTime(Rc::new(d.sub(t).map_err(overflow_err)?)))
        }
        ("-", Value::DateTime(x), Value::DateTime(y)) => Ok(Value::TimeDelta(Rc::new(
            x.sub_datetime(y).map_err(Error::type_error)?,
        ))),
        ("+", Value::DateTime(d), Value::RelDelta(r))
        | ("+", Value::RelDelta(r), Value::DateTime(d)) => Ok(Value::DateTime(Rc::new(
            d.add_relativedelta(r).map_err(Error::value_error)?,
        ))),
        ("-", Value::DateTime(d), Value::RelDelta(r)) => Ok(Value::DateTime(Rc::new(
            d.sub_relativedelta(r).map_err(Error::value_error)?,
        ))),
        ("+", Value::Date(d), Value::TimeDelta(t)) => {
            Ok(Value::Date(Rc::new(d.add(t).map_err(overflow_err)?)))
        }
        ("-", Value::Date(d), Value::TimeDelta(t)) => {
            Ok(Value::Date(Rc::new(d.sub(t).map_err(overflow_err)?)))
        }
        ("+", Value::TimeDelta(x), Value::TimeDelta(y)) => {
            Ok(Value::TimeDelta(Rc::new(x.add(y).map_err(overflow_err)?)))
        }
        ("-", Value::TimeDelta(x), Value::TimeDelta(y)) => {
            Ok(Value::TimeDelta(Rc::new(x.sub(y).map_err(overflow_err)?)))
        }
        ("*", Value::TimeDelta(t), n) | ("*", n, Value::TimeDelta(t)) if n.as_f64().is_some() => {
            Ok(Value::TimeDelta(Rc::new(
                match n.as_int() {
                    Some(i) => t.mul_int(i),
                    None => t.mul_float(n.as_f64().unwrap_or(0.0)),
                }
                .map_err(overflow_err)?,
            )))
        }
        ("/", Value::TimeDelta(x), Value::TimeDelta(y)) => {
            let d = y.total_seconds();
            if d == 0.0 {
                return Err(Error::new("ZeroDivisionError", "division by zero"));
            }
            Ok(Value::Float(x.total_seconds() / d))
        }
        _ => Err(operand_error(op, a, b)),
    }
}

fn overflow_err(msg: String) -> Error {
    Error::new("OverflowError", msg)
}

/// The right-hand side of `str % args` as pyfmt wants it.
fn percent_args(v: &Value) -> Result<pyfmt::PercentArgs, Error> {
    Ok(match v {
        Value::Tuple(t) => {
            pyfmt::PercentArgs::Tuple(t.iter().map(fmt_arg).collect::<Result<_, _>>()?)
        }
        Value::Dict(d) => pyfmt::PercentArgs::Mapping(
            d.borrow()
                .entries
                .iter()
                .map(|(k, v)| Ok((k.py_str()?, fmt_arg(v)?)))
                .collect::<Result<_, Error>>()?,
        ),
        other => pyfmt::PercentArgs::Single(fmt_arg(other)?),
    })
}

/// A value as a formatting argument.
pub(crate) fn fmt_arg(v: &Value) -> Result<pyfmt::FmtArg, Error> {
    v.check_defined()?;
    Ok(match v {
        Value::None => pyfmt::FmtArg::None,
        Value::Bool(b) => pyfmt::FmtArg::Bool(*b),
        Value::Int(i) => pyfmt::FmtArg::Int(*i),
        Value::Float(f) => pyfmt::FmtArg::Float(*f),
        Value::Str(s) => pyfmt::FmtArg::Str(s.to_string()),
        other => pyfmt::FmtArg::Other {
            str: other.py_str()?,
            repr: other.py_repr()?,
        },
    })
}

/// Comparison operators, `in` and `not in`.
pub(crate) fn compare(op: &str, a: &Value, b: &Value) -> Result<bool, Error> {
    use std::cmp::Ordering::*;
    Ok(match op {
        "==" => {
            a.check_defined()?;
            b.check_defined()?;
            a.py_eq(b)
        }
        "!=" => {
            a.check_defined()?;
            b.check_defined()?;
            !a.py_eq(b)
        }
        "<" => a.py_cmp(b, "<")? == Less,
        "<=" => a.py_cmp(b, "<=")? != Greater,
        ">" => a.py_cmp(b, ">")? == Greater,
        ">=" => a.py_cmp(b, ">=")? != Less,
        "in" => contains(b, a)?,
        "notin" => !contains(b, a)?,
        _ => false,
    })
}

/// Python's `item in container`.
pub(crate) fn contains(container: &Value, item: &Value) -> Result<bool, Error> {
    container.check_defined()?;
    item.check_defined()?;
    Ok(match container {
        Value::Str(s) => match item {
            Value::Str(i) => s.contains(i.as_ref()),
            other => {
                return Err(Error::type_error(format!(
                    "'in <string>' requires string as left operand, not {}",
                    other.type_name()
                )));
            }
        },
        Value::Dict(d) => d.borrow().get(item).is_some(),
        Value::List(_) | Value::Tuple(_) => container.iterate()?.iter().any(|v| v.py_eq(item)),
        // A sequence object (`range`).
        Value::Object(o) if o.len().is_some() => container.iterate()?.iter().any(|v| v.py_eq(item)),
        other => {
            return Err(Error::type_error(format!(
                "argument of type '{}' is not iterable",
                other.type_name()
            )));
        }
    })
}
