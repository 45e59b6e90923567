//! Airflow 3's task context: `ds`, `ts`, `logical_date`, `ti`, `params`, `macros`, ... with the
//! names, types and string forms Airflow 3.0.6 gives them.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::rc::Rc;

use crate::error::Error;
use crate::globals::{Module, func};
use crate::methods::timedelta_from_args;
use jiff::tz::TimeZone;

use crate::pytime::{DateTimeReplace, PendulumUnits, PyDateTime, RelativeDelta};
use crate::value::{Args, Object, Value};
use crate::{TaskContext, XcomSource};

/// A value that prints as a fixed label (a time zone, an enum member).
#[derive(Debug)]
pub(crate) struct Label(pub(crate) String);

impl Object for Label {
    fn type_name(&self) -> &str {
        "Timezone"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        (name == "name").then(|| Value::from(self.0.as_str()))
    }
    fn py_str(&self) -> String {
        self.0.clone()
    }
    fn py_repr(&self) -> String {
        format!("Timezone('{}')", self.0)
    }
}

/// A Python enum member: `str()` is `Class.MEMBER`, `.value` the value.
#[derive(Debug)]
struct EnumMember {
    class: &'static str,
    member: String,
    value: String,
}

impl Object for EnumMember {
    fn type_name(&self) -> &str {
        self.class
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        match name {
            "value" => Some(Value::from(self.value.as_str())),
            "name" => Some(Value::from(self.member.as_str())),
            _ => None,
        }
    }
    fn py_str(&self) -> String {
        format!("{}.{}", self.class, self.member)
    }
    fn py_repr(&self) -> String {
        format!("<{}.{}: '{}'>", self.class, self.member, self.value)
    }
}

/// A UUID from `macros.uuid.uuid4()`.
#[derive(Debug)]
struct Uuid([u8; 16]);

impl Uuid {
    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Object for Uuid {
    fn type_name(&self) -> &str {
        "UUID"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        match name {
            "hex" => Some(Value::from(self.hex())),
            "version" => Some(Value::Int(4)),
            _ => None,
        }
    }
    fn py_str(&self) -> String {
        let h = self.hex();
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
    fn py_repr(&self) -> String {
        format!("UUID('{}')", self.py_str())
    }
}

/// 64 random bits from the standard library's per-process random hasher keys (no extra
/// dependency, no clock).
pub(crate) fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.finish()
}

fn uuid4() -> Value {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&random_u64().to_le_bytes());
    bytes[8..].copy_from_slice(&random_u64().to_le_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    Value::Object(Rc::new(Uuid(bytes)))
}

/// The names Airflow 3 removed from the context, with what to write instead. Airflow's own
/// message (`'x' is undefined`) comes first, the hint after it.
const REMOVED: &[(&str, &str)] = &[
    ("execution_date", "logical_date"),
    ("next_execution_date", "data_interval_end"),
    ("prev_execution_date", "prev_data_interval_start_success"),
    (
        "prev_execution_date_success",
        "prev_data_interval_start_success",
    ),
    ("next_ds", "{{ data_interval_end | ds }}"),
    ("next_ds_nodash", "{{ data_interval_end | ds_nodash }}"),
    ("prev_ds", "{{ prev_data_interval_start_success | ds }}"),
    (
        "prev_ds_nodash",
        "{{ prev_data_interval_start_success | ds_nodash }}",
    ),
    ("tomorrow_ds", "{{ macros.ds_add(ds, 1) }}"),
    (
        "tomorrow_ds_nodash",
        "{{ (logical_date + macros.timedelta(days=1)) | ds_nodash }}",
    ),
    ("yesterday_ds", "{{ macros.ds_add(ds, -1) }}"),
    (
        "yesterday_ds_nodash",
        "{{ (logical_date - macros.timedelta(days=1)) | ds_nodash }}",
    ),
    (
        "conf",
        "the Airflow configuration is not available to templates in Airflow 3",
    ),
    ("dag_run_conf", "dag_run.conf or params"),
];

/// The message for an undefined top-level name, with a hint for names Airflow 3 removed.
pub(crate) fn undefined_name_message(name: &str) -> String {
    match REMOVED.iter().find(|(n, _)| *n == name) {
        Some((_, hint)) => format!(
            "'{name}' is undefined. Airflow 3 removed it from the template context; use {hint} \
             instead."
        ),
        None => format!("'{name}' is undefined"),
    }
}

fn dt_value(d: PyDateTime) -> Value {
    Value::DateTime(Rc::new(d))
}

fn datetime_class(now: PyDateTime) -> Value {
    let construct = func("datetime", |args: Args| {
        let get = |i: usize, n: &str, default: Option<i64>| -> Result<i64, Error> {
            match args.get(i, n) {
                Some(v) => v.as_int().ok_or_else(|| {
                    Error::type_error(format!(
                        "'{}' object cannot be interpreted as an integer",
                        v.type_name()
                    ))
                }),
                None => default.ok_or_else(|| {
                    Error::type_error(format!(
                        "function missing required argument '{n}' (pos {})",
                        i + 1
                    ))
                }),
            }
        };
        let d = PyDateTime::naive(
            get(0, "year", None)?,
            get(1, "month", None)?,
            get(2, "day", None)?,
            get(3, "hour", Some(0))?,
            get(4, "minute", Some(0))?,
            get(5, "second", Some(0))?,
            get(6, "microsecond", Some(0))?,
        )
        .map_err(Error::value_error)?;
        Ok(dt_value(d))
    });
    let now_utc = now.clone();
    Value::Object(Rc::new(Module {
        repr: "<class 'datetime.datetime'>".into(),
        type_name: "type",
        attrs: vec![
            (
                "now",
                func("now", move |_| {
                    Ok(dt_value(now.naive_local().map_err(Error::value_error)?))
                }),
            ),
            (
                "utcnow",
                func("utcnow", move |_| {
                    Ok(dt_value(now_utc.naive_utc().map_err(Error::value_error)?))
                }),
            ),
            (
                "strptime",
                func("strptime", |args: Args| {
                    let s = args
                        .get(0, "date_string")
                        .map(Value::py_str)
                        .transpose()?
                        .unwrap_or_default();
                    let f = args
                        .get(1, "format")
                        .map(Value::py_str)
                        .transpose()?
                        .unwrap_or_default();
                    Ok(dt_value(
                        crate::pytime::strptime(&s, &f).map_err(Error::value_error)?,
                    ))
                }),
            ),
        ],
        call: Some(construct),
    }))
}

fn macros(ctx: &TaskContext) -> Result<Value, Error> {
    let now = aware(ctx.now)?;
    let now_for_diff = now.clone();
    let now_secs = ctx.now.as_millisecond() as f64 / 1000.0;
    let timedelta = Value::Object(Rc::new(Module {
        repr: "<class 'datetime.timedelta'>".into(),
        type_name: "type",
        attrs: Vec::new(),
        call: Some(func("timedelta", |args| {
            Ok(Value::TimeDelta(Rc::new(timedelta_from_args(&args)?)))
        })),
    }));
    let relativedelta_class = Value::Object(Rc::new(Module {
        repr: "<class 'dateutil.relativedelta.relativedelta'>".into(),
        type_name: "type",
        attrs: Vec::new(),
        call: Some(func("relativedelta", |args: Args| {
            let mut rd = RelativeDelta::default();
            for (k, v) in &args.kwargs {
                let n = v.as_int().ok_or_else(|| {
                    Error::type_error(format!("relativedelta {k} must be an integer"))
                })?;
                rd.set(k, n).map_err(Error::type_error)?;
            }
            Ok(Value::RelDelta(Rc::new(rd)))
        })),
    }));
    let relativedelta_module = Value::Object(Rc::new(Module {
        repr: "<module 'dateutil.relativedelta'>".into(),
        type_name: "module",
        attrs: vec![("relativedelta", relativedelta_class)],
        call: None,
    }));
    let dateutil = Value::Object(Rc::new(Module {
        repr: "<module 'dateutil'>".into(),
        type_name: "module",
        attrs: vec![("relativedelta", relativedelta_module)],
        call: None,
    }));
    let time = Value::Object(Rc::new(Module {
        repr: "<module 'time' (built-in)>".into(),
        type_name: "module",
        attrs: vec![("time", func("time", move |_| Ok(Value::Float(now_secs))))],
        call: None,
    }));
    let uuid = Value::Object(Rc::new(Module {
        repr: "<module 'uuid'>".into(),
        type_name: "module",
        attrs: vec![("uuid4", func("uuid4", |_| Ok(uuid4())))],
        call: None,
    }));
    let json = Value::Object(Rc::new(Module {
        repr: "<module 'json'>".into(),
        type_name: "module",
        attrs: vec![
            (
                "dumps",
                func("dumps", |args: Args| {
                    let v = args.get(0, "obj").cloned().unwrap_or(Value::None);
                    let indent = args
                        .get(99, "indent")
                        .and_then(Value::as_int)
                        .and_then(|i| usize::try_from(i).ok());
                    let sort = args
                        .get(99, "sort_keys")
                        .map(Value::truthy)
                        .transpose()?
                        .unwrap_or(false);
                    Ok(Value::from(crate::filters::json_dumps(&v, indent, sort)?))
                }),
            ),
            (
                "loads",
                func("loads", |args: Args| {
                    let s = args
                        .get(0, "s")
                        .map(Value::py_str)
                        .transpose()?
                        .unwrap_or_default();
                    let j: serde_json::Value = serde_json::from_str(&s)
                        .map_err(|e| Error::new("JSONDecodeError", e.to_string()))?;
                    Ok(Value::from_json(&j))
                }),
            ),
        ],
        call: None,
    }));
    let attrs = vec![
        ("datetime", datetime_class(now)),
        ("timedelta", timedelta),
        ("dateutil", dateutil),
        ("time", time),
        ("uuid", uuid),
        ("json", json),
        (
            "random",
            func("random", |_| {
                Ok(Value::Float(
                    (random_u64() >> 11) as f64 / (1u64 << 53) as f64,
                ))
            }),
        ),
        (
            "ds_add",
            func("ds_add", |args: Args| {
                let ds = required(&args, 0, "ds", "ds_add")?.py_str()?;
                let days = required(&args, 1, "days", "ds_add")?;
                let days = days.as_int().ok_or_else(|| {
                    Error::type_error(format!(
                        "unsupported type for timedelta days component: {}",
                        days.type_name()
                    ))
                })?;
                Ok(Value::from(
                    crate::pytime::ds_add(&ds, days).map_err(Error::value_error)?,
                ))
            }),
        ),
        (
            "ds_format",
            func("ds_format", |args: Args| {
                let s = |i, n| {
                    args.get(i, n)
                        .map(Value::py_str)
                        .transpose()
                        .map(Option::unwrap_or_default)
                };
                Ok(Value::from(
                    crate::pytime::ds_format(
                        &s(0, "ds")?,
                        &s(1, "input_format")?,
                        &s(2, "output_format")?,
                    )
                    .map_err(Error::value_error)?,
                ))
            }),
        ),
        (
            "datetime_diff_for_humans",
            func("datetime_diff_for_humans", move |args: Args| {
                let Some(Value::DateTime(dt)) = args.get(0, "dt") else {
                    return Err(Error::type_error(
                        "datetime_diff_for_humans needs a datetime",
                    ));
                };
                let since = match args.get(1, "since") {
                    None | Some(Value::None) => None,
                    Some(Value::DateTime(s)) => Some(s.clone()),
                    Some(other) => {
                        return Err(Error::type_error(format!(
                            "since must be a datetime, not {}",
                            other.type_name()
                        )));
                    }
                };
                Ok(Value::from(
                    dt.diff_for_humans(since.as_deref(), &now_for_diff)
                        .map_err(Error::type_error)?,
                ))
            }),
        ),
    ];
    Ok(Value::Object(Rc::new(Module {
        repr: "<MacrosAccessor (dynamic access to macros)>".into(),
        type_name: "MacrosAccessor",
        attrs,
        call: None,
    })))
}

/// A required argument of a native function, with Python's error when it is missing.
fn required<'a>(args: &'a Args, i: usize, name: &str, func: &str) -> Result<&'a Value, Error> {
    args.get(i, name).ok_or_else(|| {
        Error::type_error(format!(
            "{func}() missing 1 required positional argument: '{name}'"
        ))
    })
}

/// An instant as an aware UTC datetime (pendulum's `DateTime` in UTC).
fn aware(ts: jiff::Timestamp) -> Result<PyDateTime, Error> {
    PyDateTime::from_timestamp(ts, Some(TimeZone::UTC)).map_err(Error::value_error)
}

/// `ti` / `task_instance`.
struct TaskInstance {
    task_id: String,
    dag_id: String,
    run_id: String,
    try_number: u32,
    map_index: i64,
    xcoms: Rc<dyn XcomSource>,
}

impl std::fmt::Debug for TaskInstance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskInstance({})", self.task_id)
    }
}

impl TaskInstance {
    fn xcom_pull(&self, args: &Args) -> Result<Value, Error> {
        let key = match args.get(2, "key") {
            None => "return_value".to_owned(),
            Some(Value::None) => "return_value".to_owned(),
            Some(k) => k.py_str()?,
        };
        let map_indexes = args
            .get(99, "map_indexes")
            .filter(|v| !matches!(v, Value::None))
            .cloned();
        let default = args.get(99, "default").cloned().unwrap_or(Value::None);
        let pull_at = |task: &str, map_index: Option<i64>| -> Result<Option<Value>, Error> {
            Ok(self
                .xcoms
                .pull(task, &key, map_index)
                .map_err(|e| Error::new("XComError", e))?
                .map(|j| Value::from_json(&j)))
        };
        // `map_indexes` is one index or a list of them (then the values of those instances).
        let pull_one = |task: &str| -> Result<Option<Value>, Error> {
            match &map_indexes {
                None => pull_at(task, None),
                Some(m @ (Value::List(_) | Value::Tuple(_))) => {
                    let mut values = Vec::new();
                    for i in m.iterate()? {
                        let i = i
                            .as_int()
                            .ok_or_else(|| Error::type_error("map_indexes must hold integers"))?;
                        if let Some(v) = pull_at(task, Some(i))? {
                            values.push(v);
                        }
                    }
                    Ok((!values.is_empty()).then(|| Value::list(values)))
                }
                Some(m) => {
                    let i = m.as_int().ok_or_else(|| {
                        Error::type_error("map_indexes must be an int or a list of ints")
                    })?;
                    pull_at(task, Some(i))
                }
            }
        };
        match args.get(0, "task_ids") {
            None | Some(Value::None) => Ok(pull_one(&self.task_id)?.unwrap_or(Value::None)),
            Some(Value::Str(t)) => Ok(match pull_one(t)? {
                Some(v) => v,
                // Airflow 3.0.6 returns `default` only on the map_indexes path.
                None if map_indexes.is_some() => default,
                None => Value::None,
            }),
            Some(list @ (Value::List(_) | Value::Tuple(_))) => {
                // One value per task id, in order; a task with no value gives None (`default`
                // on the map_indexes path), as Airflow 3.0.6 returns it.
                let mut out = Vec::new();
                for t in list.iterate()? {
                    out.push(match pull_one(&t.py_str()?)? {
                        Some(v) => v,
                        None if map_indexes.is_some() => default.clone(),
                        None => Value::None,
                    });
                }
                Ok(Value::list(out))
            }
            Some(other) => Err(Error::type_error(format!(
                "task_ids must be a string or a list of strings, not {}",
                other.type_name()
            ))),
        }
    }
}

/// `ti.xcom_pull` bound to its task instance.
#[derive(Debug)]
struct XcomPull(Rc<TaskInstance>);

impl Object for XcomPull {
    fn type_name(&self) -> &str {
        "method"
    }
    fn call(&self, args: Args) -> Result<Value, Error> {
        self.0.xcom_pull(&args)
    }
    fn py_str(&self) -> String {
        "<bound method RuntimeTaskInstance.xcom_pull>".into()
    }
}

#[derive(Debug)]
struct TiObj(Rc<TaskInstance>);

impl Object for TiObj {
    fn type_name(&self) -> &str {
        "RuntimeTaskInstance"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        let ti = &self.0;
        Some(match name {
            "task_id" => Value::from(ti.task_id.as_str()),
            "dag_id" => Value::from(ti.dag_id.as_str()),
            "run_id" => Value::from(ti.run_id.as_str()),
            "try_number" => Value::Int(i64::from(ti.try_number)),
            "map_index" => Value::Int(ti.map_index),
            "xcom_pull" => Value::Object(Rc::new(XcomPull(self.0.clone()))),
            _ => return None,
        })
    }
    fn py_str(&self) -> String {
        let ti = &self.0;
        format!(
            "id=None task_id='{}' dag_id='{}' run_id='{}' try_number={} map_index={}",
            ti.task_id, ti.dag_id, ti.run_id, ti.try_number, ti.map_index
        )
    }
}

/// `var.value` / `var.json`: Airflow Variables, from the XCom source's [`XcomSource::variable`]
/// (none outside an Airflow deployment).
struct VarAccessor {
    json: bool,
    source: Rc<dyn XcomSource>,
}

impl std::fmt::Debug for VarAccessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VarAccessor")
            .field("json", &self.json)
            .finish()
    }
}

/// A Variable's text as the template sees it: a string, or for `var.json` the parsed JSON.
fn variable_value(json: bool, name: &str, text: String) -> Value {
    if !json {
        return Value::from(text);
    }
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v) => Value::from_json(&v),
        Err(e) => Value::undefined(format!("Variable {name} is not JSON: {e}")),
    }
}

impl Object for VarAccessor {
    fn type_name(&self) -> &str {
        "VariableAccessor"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        if name == "get" {
            let (json, source) = (self.json, self.source.clone());
            return Some(func("get", move |args: Args| {
                let default = args.get(1, "default_var").cloned().unwrap_or(Value::None);
                let Some(key) = args.get(0, "key").map(Value::py_str).transpose()? else {
                    return Ok(default);
                };
                match source.variable(&key) {
                    Ok(Some(text)) => Ok(variable_value(json, &key, text)),
                    Ok(None) => Ok(default),
                    Err(e) => Err(Error::new("AirflowRuntimeError", e)),
                }
            }));
        }
        Some(match self.source.variable(name) {
            Ok(Some(text)) => variable_value(self.json, name, text),
            Ok(None) => Value::undefined(format!(
                "Variable {name} does not exist (outside an Airflow deployment airtask has no \
                 Airflow Variables; pass values as params)"
            )),
            Err(e) => Value::undefined(format!("Variable {name} cannot be read: {e}")),
        })
    }
    fn py_str(&self) -> String {
        if self.json {
            "<VariableAccessor (dynamic access to JSON variables)>"
        } else {
            "<VariableAccessor (dynamic access)>"
        }
        .into()
    }
}

/// `conn`: Airflow connections, from the XCom source's [`XcomSource::connection`] (none outside
/// an Airflow deployment).
struct ConnAccessor(Rc<dyn XcomSource>);

impl std::fmt::Debug for ConnAccessor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnAccessor")
    }
}

impl Object for ConnAccessor {
    fn type_name(&self) -> &str {
        "ConnectionAccessor"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        if name == "get" {
            let source = self.0.clone();
            return Some(func("get", move |args: Args| {
                let default = args.get(1, "default_conn").cloned().unwrap_or(Value::None);
                let Some(id) = args.get(0, "conn_id").map(Value::py_str).transpose()? else {
                    return Ok(default);
                };
                match source.connection(&id) {
                    Ok(Some(c)) => Ok(Value::Object(Rc::new(Connection(c)))),
                    Ok(None) => Ok(default),
                    Err(e) => Err(Error::new("AirflowRuntimeError", e)),
                }
            }));
        }
        Some(match self.0.connection(name) {
            Ok(Some(c)) => Value::Object(Rc::new(Connection(c))),
            Ok(None) => Value::Object(Rc::new(MissingConn(
                "AirflowNotFoundException",
                format!("The conn_id `{name}` isn't defined"),
            ))),
            Err(e) => Value::Object(Rc::new(MissingConn("AirflowRuntimeError", e))),
        })
    }
    fn py_str(&self) -> String {
        "<ConnectionAccessor (dynamic access)>".into()
    }
}

/// An Airflow connection (the Task SDK's `Connection`): its fields, `extra_dejson`, and the
/// `str()` of its attrs class.
#[derive(Debug)]
struct Connection(serde_json::Value);

/// The fields of the Task SDK's `Connection`, in its order.
const CONNECTION_FIELDS: [&str; 9] = [
    "conn_id",
    "conn_type",
    "description",
    "host",
    "schema",
    "login",
    "password",
    "port",
    "extra",
];

impl Connection {
    fn field(&self, name: &str) -> Value {
        match self.0.get(name) {
            Some(serde_json::Value::String(s)) => Value::from(s.clone()),
            Some(serde_json::Value::Number(n)) => n.as_i64().map_or(Value::None, Value::Int),
            _ => Value::None,
        }
    }
}

impl Object for Connection {
    fn type_name(&self) -> &str {
        "Connection"
    }
    fn get_attr(&self, name: &str) -> Option<Value> {
        if CONNECTION_FIELDS.contains(&name) {
            return Some(self.field(name));
        }
        match name {
            "extra_dejson" => {
                let extra = self.0.get("extra").and_then(serde_json::Value::as_str);
                let parsed = extra
                    .and_then(|e| serde_json::from_str::<serde_json::Value>(e).ok())
                    .filter(serde_json::Value::is_object)
                    .unwrap_or_else(|| serde_json::json!({}));
                Some(Value::from_json(&parsed))
            }
            _ => None,
        }
    }
    fn py_str(&self) -> String {
        let fields: Vec<String> = CONNECTION_FIELDS
            .iter()
            .map(|f| {
                let v = self.field(f);
                let repr = v.py_repr().unwrap_or_else(|_| "None".into());
                format!("{f}={repr}")
            })
            .collect();
        format!("Connection({})", fields.join(", "))
    }
}

/// A connection that does not exist or cannot be read: any use fails as Airflow's lookup does.
#[derive(Debug)]
struct MissingConn(&'static str, String);

impl Object for MissingConn {
    fn type_name(&self) -> &str {
        "Connection"
    }
    fn get_attr(&self, _name: &str) -> Option<Value> {
        None
    }
    fn py_str(&self) -> String {
        String::new()
    }
    fn fail(&self) -> Option<Error> {
        Some(Error::new(self.0, self.1.clone()))
    }
}

/// Builds the top-level names of the context.
pub(crate) fn build(
    ctx: &TaskContext,
    xcoms: Rc<dyn XcomSource>,
) -> Result<HashMap<String, Value>, Error> {
    let logical = aware(ctx.logical_date)?;
    let start = aware(ctx.data_interval_start)?;
    let end = aware(ctx.data_interval_end)?;
    let ds = logical.strftime("%Y-%m-%d");
    let ds_nodash = logical.strftime("%Y%m%d");
    let ts = logical.isoformat();
    let ts_nodash = logical.strftime("%Y%m%dT%H%M%S");
    let ts_nodash_with_tz = ts.replace(['-', ':'], "");

    let ti = Rc::new(TaskInstance {
        task_id: ctx.task_id.clone(),
        dag_id: ctx.dag_id.clone(),
        run_id: ctx.run_id.clone(),
        try_number: ctx.try_number,
        map_index: ctx.map_index,
        xcoms: xcoms.clone(),
    });
    let ti_value = Value::Object(Rc::new(TiObj(ti)));
    let params = Value::from_json(&serde_json::Value::Object(ctx.params.clone()));
    let run_type = Value::Object(Rc::new(EnumMember {
        class: "DagRunType",
        member: ctx.run_type.to_uppercase(),
        value: ctx.run_type.clone(),
    }));
    let dag_run = Value::Object(Rc::new(Module {
        call: None,
        type_name: "DagRun",
        repr: format!(
            "dag_id='{}' run_id='{}' logical_date={} run_type=<DagRunType.{}: '{}'>",
            ctx.dag_id,
            ctx.run_id,
            logical.py_repr(),
            ctx.run_type.to_uppercase(),
            ctx.run_type
        ),
        attrs: vec![
            ("dag_id", Value::from(ctx.dag_id.as_str())),
            ("run_id", Value::from(ctx.run_id.as_str())),
            ("run_type", run_type),
            ("logical_date", dt_value(logical.clone())),
            ("data_interval_start", dt_value(start.clone())),
            ("data_interval_end", dt_value(end.clone())),
            ("conf", Value::dict(Vec::new())),
        ],
    }));
    let dag = Value::Object(Rc::new(Module {
        call: None,
        type_name: "DAG",
        repr: format!("<DAG: {}>", ctx.dag_id),
        attrs: vec![
            ("dag_id", Value::from(ctx.dag_id.as_str())),
            ("owner", Value::from(ctx.owner.as_str())),
        ],
    }));
    let task = Value::Object(Rc::new(Module {
        call: None,
        type_name: "BaseOperator",
        repr: format!("<Task({}): {}>", ctx.operator_name, ctx.task_id),
        attrs: vec![
            ("task_id", Value::from(ctx.task_id.as_str())),
            ("dag_id", Value::from(ctx.dag_id.as_str())),
            ("owner", Value::from(ctx.owner.as_str())),
            ("retries", Value::Int(i64::from(ctx.retries))),
        ],
    }));

    let mut m: HashMap<String, Value> = HashMap::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    let ds_nodash_key = ds_nodash.clone();
    put("ds", Value::from(ds));
    put("ds_nodash", Value::from(ds_nodash));
    put("ts", Value::from(ts));
    put("ts_nodash", Value::from(ts_nodash));
    put("ts_nodash_with_tz", Value::from(ts_nodash_with_tz));
    put("logical_date", dt_value(logical));
    put("data_interval_start", dt_value(start));
    put("data_interval_end", dt_value(end));
    put("run_id", Value::from(ctx.run_id.as_str()));
    put(
        "task_instance_key_str",
        Value::from(format!(
            "{}__{}__{}",
            ctx.dag_id, ctx.task_id, ds_nodash_key
        )),
    );
    put("ti", ti_value.clone());
    put("task_instance", ti_value);
    put("params", params);
    put("macros", macros(ctx)?);
    put("dag", dag);
    put("task", task);
    put("dag_run", dag_run);
    put("inlets", Value::list(Vec::new()));
    put("outlets", Value::list(Vec::new()));
    put("inlet_events", Value::dict(Vec::new()));
    put("outlet_events", Value::dict(Vec::new()));
    put("triggering_asset_events", Value::dict(Vec::new()));
    put("map_index_template", Value::None);
    put("task_reschedule_count", Value::Int(0));
    for k in [
        "prev_data_interval_start_success",
        "prev_data_interval_end_success",
        "prev_start_date_success",
        "prev_end_date_success",
    ] {
        put(k, Value::None);
    }
    put(
        "var",
        Value::Object(Rc::new(Module {
            repr: "<VariableAccessor>".into(),
            type_name: "VariableAccessor",
            attrs: vec![
                (
                    "value",
                    Value::Object(Rc::new(VarAccessor {
                        json: false,
                        source: xcoms.clone(),
                    })),
                ),
                (
                    "json",
                    Value::Object(Rc::new(VarAccessor {
                        json: true,
                        source: xcoms.clone(),
                    })),
                ),
            ],
            call: None,
        })),
    );
    put("conn", Value::Object(Rc::new(ConnAccessor(xcoms.clone()))));
    Ok(m)
}

/// Methods of datetimes, dates and timedeltas.
pub(crate) fn datetime_method(recv: &Value, name: &str, args: &Args) -> Result<Value, Error> {
    let s = |i: usize, n: &str| -> Result<Option<String>, Error> {
        args.get(i, n).map(Value::py_str).transpose()
    };
    match recv {
        Value::TimeDelta(t) => match name {
            "total_seconds" => Ok(Value::Float(t.total_seconds())),
            _ => Err(no_attr(recv, name)),
        },
        Value::Date(d) => match name {
            "isoformat" => Ok(Value::from(d.isoformat())),
            "strftime" => Ok(Value::from(
                d.strftime(&s(0, "format")?.unwrap_or_default()),
            )),
            "weekday" => Ok(Value::Int(d.weekday())),
            "isoweekday" => Ok(Value::Int(d.isoweekday())),
            _ => Err(no_attr(recv, name)),
        },
        Value::DateTime(d) => {
            let unit_args = || -> Result<[i64; 8], Error> {
                const UNITS: [&str; 8] = [
                    "years",
                    "months",
                    "weeks",
                    "days",
                    "hours",
                    "minutes",
                    "seconds",
                    "microseconds",
                ];
                let mut out = [0i64; 8];
                for (k, v) in &args.kwargs {
                    let i = UNITS.iter().position(|u| u == k).ok_or_else(|| {
                        Error::type_error(format!(
                            "{name}() got an unexpected keyword argument '{k}'"
                        ))
                    })?;
                    out[i] = v
                        .as_int()
                        .ok_or_else(|| Error::type_error(format!("{k} must be an integer")))?;
                }
                Ok(out)
            };
            Ok(match name {
                "isoformat" => Value::from(match s(0, "sep")? {
                    Some(sep) => d.isoformat_sep(sep.chars().next().unwrap_or('T')),
                    None => d.isoformat(),
                }),
                "strftime" => Value::from(d.strftime(&s(0, "format")?.unwrap_or_default())),
                "format" => Value::from(d.format(&s(0, "fmt")?.unwrap_or_default())),
                "to_date_string" => Value::from(d.to_date_string()),
                "to_datetime_string" => Value::from(d.to_datetime_string()),
                "to_iso8601_string" => Value::from(d.to_iso8601_string()),
                "timestamp" => Value::Float(d.timestamp()),
                "weekday" => Value::Int(d.weekday()),
                "isoweekday" => Value::Int(d.isoweekday()),
                "date" => Value::Date(Rc::new(d.date())),
                "in_timezone" | "in_tz" => {
                    let tz = s(0, "tz")?.unwrap_or_default();
                    dt_value(d.in_timezone(&tz).map_err(Error::value_error)?)
                }
                "add" | "subtract" => {
                    let u = unit_args()?;
                    let units = PendulumUnits {
                        years: u[0],
                        months: u[1],
                        weeks: u[2],
                        days: u[3],
                        hours: u[4],
                        minutes: u[5],
                        seconds: u[6] as f64,
                        microseconds: u[7],
                    };
                    let r = if name == "add" {
                        d.pendulum_add(&units)
                    } else {
                        d.pendulum_subtract(&units)
                    };
                    dt_value(r.map_err(|e| Error::new("OverflowError", e))?)
                }
                "start_of" | "end_of" => {
                    let unit = s(0, "unit")?.unwrap_or_default();
                    let r = if name == "start_of" {
                        d.start_of(&unit)
                    } else {
                        d.end_of(&unit)
                    };
                    dt_value(r.map_err(Error::value_error)?)
                }
                "replace" => {
                    let mut r = DateTimeReplace::default();
                    let mut tz: Option<Option<TimeZone>> = None;
                    for (k, v) in &args.kwargs {
                        let n = || {
                            v.as_int()
                                .ok_or_else(|| Error::type_error(format!("{k} must be an integer")))
                        };
                        match k.as_str() {
                            "year" => r.year = Some(n()?),
                            "month" => r.month = Some(n()?),
                            "day" => r.day = Some(n()?),
                            "hour" => r.hour = Some(n()?),
                            "minute" => r.minute = Some(n()?),
                            "second" => r.second = Some(n()?),
                            "microsecond" => r.microsecond = Some(n()?),
                            "tzinfo" => {
                                tz = Some(match v {
                                    Value::None => None,
                                    other => Some(
                                        crate::pytime::timezone_from_name(&other.py_str()?)
                                            .map_err(Error::value_error)?,
                                    ),
                                });
                            }
                            "fold" => {}
                            other => {
                                return Err(Error::type_error(format!(
                                    "'{other}' is an invalid keyword argument for replace()"
                                )));
                            }
                        }
                    }
                    let replaced = d.replace(&r).map_err(Error::value_error)?;
                    dt_value(match tz {
                        Some(tz) => replaced.with_tz(tz).map_err(Error::value_error)?,
                        None => replaced,
                    })
                }
                "diff_for_humans" => {
                    let other = match args.get(0, "other") {
                        Some(Value::DateTime(o)) => Some(o.clone()),
                        _ => None,
                    };
                    let now = d.clone();
                    Value::from(
                        d.diff_for_humans(other.as_deref(), &now)
                            .map_err(Error::type_error)?,
                    )
                }
                "naive" => dt_value(d.naive_utc().map_err(Error::value_error)?),
                _ => return Err(no_attr(recv, name)),
            })
        }
        _ => Err(no_attr(recv, name)),
    }
}

fn no_attr(recv: &Value, name: &str) -> Error {
    Error::new(
        "AttributeError",
        format!("'{}' object has no attribute '{name}'", recv.type_name()),
    )
}
