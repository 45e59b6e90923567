//! Airflow's Jinja surface for airtask: the task context of Airflow 3 (`ds`, `ts`,
//! `logical_date`, `ti.xcom_pull`, `params`, `macros`, ...), Jinja2's filters and tests, and
//! rendering of an operator's template fields, with output identical to Airflow 3.0.6.
//!
//! Templates are evaluated by a Jinja2 interpreter of our own with Python's value semantics
//! (`str()`/`repr()` of lists, dicts, tuples and floats, datetime arithmetic, `%` formatting,
//! mutable lists for `{% do %}`), Jinja2's sandbox rules and `StrictUndefined`, because Airflow
//! prints Python objects and users' templates rely on it.
//!
//! # Example
//! ```
//! use std::rc::Rc;
//! use airtask_template::{NoXcoms, Renderer, TaskContext};
//!
//! let mut ctx = TaskContext::new("etl", "load", "2025-03-09T06:30:00Z".parse().unwrap());
//! ctx.params.insert("prefix".into(), "raw/".into());
//! let r = Renderer::new(&ctx, Rc::new(NoXcoms)).unwrap();
//! assert_eq!(r.render_str("{{ params.prefix }}{{ ds }}/").unwrap(), "raw/2025-03-09/");
//! assert_eq!(r.render_str("{{ macros.ds_add(ds, -1) }}").unwrap(), "2025-03-08");
//! ```

mod ast;
mod context;
mod error;
mod eval;
mod filters;
mod globals;
mod lexer;
mod methods;
mod parser;
mod pyfmt;
mod pytime;
mod value;

use std::collections::HashMap;
use std::rc::Rc;

use jiff::Timestamp;

pub use error::Error;

/// What Python's `str()` gives for a JSON value (`['a', 'b']`, `{'k': 1}`, `True`, `None`),
/// for operator arguments Airflow renders as text: a lone `xcom_pull` renders natively here, and
/// such an argument still gets the text Airflow would give it.
pub fn python_str(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => value::Value::from_json(other)
            .py_str()
            .unwrap_or_else(|_| other.to_string()),
    }
}

use crate::ast::{Expr, Node};
use crate::value::Value;

/// Where `ti.xcom_pull` reads upstream values from.
pub trait XcomSource {
    /// The value pushed by `task_id` under `key`: for `map_index` `None`, the value of an
    /// unmapped task or the list of a mapped task's values; `None` when nothing was pushed.
    ///
    /// # Errors
    /// A message when the store cannot be read (the template then fails with it).
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        map_index: Option<i64>,
    ) -> Result<Option<serde_json::Value>, String>;

    /// The value of the Airflow Variable `key` (`var.value.<key>`, `var.json.<key>`), `None`
    /// when there is no such Variable. Sources without Variables keep this default: none.
    ///
    /// # Errors
    /// A message when the Variables cannot be read (the template then fails with it).
    fn variable(&self, _key: &str) -> Result<Option<String>, String> {
        Ok(None)
    }

    /// The Airflow connection `conn_id` (`conn.<conn_id>`, `conn.get(...)`) as the Execution
    /// API returns it (`conn_id`, `conn_type`, `host`, `schema`, `login`, `password`, `port`,
    /// `extra`, ...), `None` when there is no such connection. Sources without connections keep
    /// this default: none.
    ///
    /// # Errors
    /// A message when the connections cannot be read (the template then fails with it).
    fn connection(&self, _conn_id: &str) -> Result<Option<serde_json::Value>, String> {
        Ok(None)
    }
}

/// An XCom source with nothing in it.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoXcoms;

impl XcomSource for NoXcoms {
    fn pull(&self, _: &str, _: &str, _: Option<i64>) -> Result<Option<serde_json::Value>, String> {
        Ok(None)
    }
}

/// XCom values held in memory: `(task_id, key) -> value`.
#[derive(Debug, Default, Clone)]
pub struct MemoryXcoms(pub Vec<(String, String, serde_json::Value)>);

impl XcomSource for MemoryXcoms {
    fn pull(
        &self,
        task_id: &str,
        key: &str,
        _map_index: Option<i64>,
    ) -> Result<Option<serde_json::Value>, String> {
        Ok(self
            .0
            .iter()
            .find(|(t, k, _)| t == task_id && k == key)
            .map(|(_, _, v)| v.clone()))
    }
}

/// What a task's templates see.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// The workflow id.
    pub dag_id: String,
    /// The task id.
    pub task_id: String,
    /// The run id (`manual__<logical date>` by default).
    pub run_id: String,
    /// The run's logical date.
    pub logical_date: Timestamp,
    /// Start of the data interval (the logical date for manual runs).
    pub data_interval_start: Timestamp,
    /// End of the data interval.
    pub data_interval_end: Timestamp,
    /// The try number, from 1.
    pub try_number: u32,
    /// The map index, -1 for an unmapped task.
    pub map_index: i64,
    /// The merged params (workflow, task, run overrides).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// `manual` or `scheduled`.
    pub run_type: String,
    /// The task owner (`airflow` by default).
    pub owner: String,
    /// The operator's class name, for `{{ task }}`.
    pub operator_name: String,
    /// The task's retries.
    pub retries: u32,
    /// The current time (for `macros.datetime_diff_for_humans` without `since`).
    pub now: Timestamp,
}

impl TaskContext {
    /// A manual run of `task_id` at `logical_date`, with Airflow's defaults for the rest.
    pub fn new(dag_id: &str, task_id: &str, logical_date: Timestamp) -> TaskContext {
        // Python's isoformat(): microseconds only when there are any.
        let iso = pytime::PyDateTime::from_timestamp(logical_date, Some(jiff::tz::TimeZone::UTC))
            .map(|d| d.isoformat())
            .unwrap_or_else(|_| logical_date.to_string());
        let run_id = format!("manual__{iso}");
        TaskContext {
            dag_id: dag_id.to_owned(),
            task_id: task_id.to_owned(),
            run_id,
            logical_date,
            data_interval_start: logical_date,
            data_interval_end: logical_date,
            try_number: 1,
            map_index: -1,
            params: serde_json::Map::new(),
            run_type: "manual".into(),
            owner: "airflow".into(),
            operator_name: "BaseOperator".into(),
            retries: 0,
            now: logical_date,
        }
    }
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    nodes: Vec<Node>,
}

impl Template {
    /// Parses a template.
    ///
    /// # Errors
    /// A `TemplateSyntaxError` with Jinja2's message and the line.
    pub fn parse(source: &str) -> Result<Template, Error> {
        Ok(Template {
            nodes: parser::parse(source)?,
        })
    }

    /// The `ti.xcom_pull(...)` call when the template is exactly one such expression.
    fn lone_xcom_pull(&self) -> Option<&Expr> {
        let [Node::Print(e, _)] = self.nodes.as_slice() else {
            return None;
        };
        let Expr::Call { func, .. } = e else {
            return None;
        };
        let Expr::Attr(target, name) = func.as_ref() else {
            return None;
        };
        matches!(target.as_ref(), Expr::Name(n) if n == "ti" || n == "task_instance")
            .then_some(())
            .filter(|()| name == "xcom_pull")
            .map(|()| e)
    }
}

/// A template field that failed to render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field (`bash_command`, `env.TARGET`, `script_args[2]`).
    pub field: String,
    /// What went wrong.
    pub error: Error,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "template field '{}': {}", self.field, self.error)
    }
}

impl std::error::Error for FieldError {}

/// Renders templates for one task instance. Build it once per task; rendering is then cheap.
pub struct Renderer {
    globals: HashMap<String, Value>,
    /// Set from another thread to stop rendering.
    interrupt: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Renderer {
    /// Builds the context of `ctx`, with XComs read from `xcoms`.
    ///
    /// # Errors
    /// A date of the context outside Python's datetime range (years 1 to 9999).
    pub fn new(ctx: &TaskContext, xcoms: Rc<dyn XcomSource>) -> Result<Renderer, Error> {
        Ok(Renderer {
            globals: context::build(ctx, xcoms)?,
            interrupt: None,
        })
    }

    /// Rendering stops, with an error for which [`Error::is_interrupted`] is true, soon after
    /// `flag` is set (from any thread): a try's timeout or a signal cancels a template that
    /// loops for long.
    pub fn with_interrupt(
        mut self,
        flag: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Renderer {
        self.interrupt = Some(flag);
        self
    }

    /// Renders a template to text, as Airflow does.
    ///
    /// # Errors
    /// The Python exception Airflow would raise, with its message.
    pub fn render_str(&self, source: &str) -> Result<String, Error> {
        self.render(&Template::parse(source)?)
    }

    /// Renders a parsed template to text.
    ///
    /// # Errors
    /// As [`Renderer::render_str`].
    pub fn render(&self, template: &Template) -> Result<String, Error> {
        eval::State::new(&self.globals, self.interrupt.as_deref()).render(&template.nodes)
    }

    /// Renders one template field's value: strings are templates, lists and maps are rendered
    /// item by item (map keys are not templates), anything else is returned as is. A string that
    /// is exactly one `{{ ti.xcom_pull(...) }}` gives the pulled value itself (a list stays a
    /// list), as the original Python DAG's `task.output` did.
    ///
    /// # Errors
    /// The first field that fails, with its path.
    pub fn render_field(
        &self,
        field: &str,
        value: &serde_json::Value,
    ) -> Result<serde_json::Value, FieldError> {
        let fail = |path: &str, error: Error| FieldError {
            field: path.to_owned(),
            error,
        };
        Ok(match value {
            serde_json::Value::String(s) => {
                let t = Template::parse(s).map_err(|e| fail(field, e))?;
                if let Some(e) = t.lone_xcom_pull() {
                    let v = eval::State::new(&self.globals, self.interrupt.as_deref())
                        .eval(e)
                        .map_err(|e| fail(field, e))?;
                    return v.to_json().map_err(|e| fail(field, e));
                }
                serde_json::Value::String(self.render(&t).map_err(|e| fail(field, e))?)
            }
            serde_json::Value::Array(items) => serde_json::Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.render_field(&format!("{field}[{i}]"), v))
                    .collect::<Result<_, _>>()?,
            ),
            serde_json::Value::Object(m) => {
                let mut out = serde_json::Map::new();
                for (k, v) in m {
                    out.insert(k.clone(), self.render_field(&format!("{field}.{k}"), v)?);
                }
                serde_json::Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

#[cfg(test)]
mod limits {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    use super::*;

    fn renderer() -> Renderer {
        let ctx = TaskContext::new("dag", "task", Timestamp::UNIX_EPOCH);
        Renderer::new(&ctx, Rc::new(NoXcoms)).unwrap()
    }

    /// The error class of `template`, rendered on a thread with the main thread's 8 MiB stack
    /// (the bounds are sized for it; test threads have 2 MiB).
    fn class_of(template: &str) -> &'static str {
        let template = template.to_owned();
        std::thread::Builder::new()
            .stack_size(8 * 1024 * 1024)
            .spawn(move || renderer().render_str(&template).unwrap_err().class)
            .unwrap()
            .join()
            .unwrap()
    }

    #[test]
    fn hostile_templates_are_python_errors_not_aborts() {
        assert_eq!(
            class_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"),
            "RecursionError"
        );
        let deep = format!("{{{{ {}{} }}}}", "[".repeat(2000), "]".repeat(2000));
        assert_eq!(class_of(&deep), "RecursionError");
        let chain = format!("{{{{ {} }}}}", vec!["1"; 5000].join("+"));
        assert_eq!(class_of(&chain), "RecursionError");
        assert_eq!(class_of("{{ 'x' * 10**10 }}"), "MemoryError");
        assert_eq!(class_of("{{ [1] * 10**10 }}"), "MemoryError");
        assert_eq!(class_of("{{ 'x'.center(10**10) }}"), "MemoryError");
        // Well within the bounds, nothing changes.
        assert_eq!(renderer().render_str("{{ [[[1]]] }}").unwrap(), "[[[1]]]");
        let ten = "{% macro f(n) %}{% if n < 10 %}{{ f(n + 1) }}{% else %}{{ n }}{% endif %}{% endmacro %}{{ f(0) }}";
        assert_eq!(renderer().render_str(ten).unwrap(), "10");
    }

    #[test]
    fn an_interrupted_rendering_stops_with_its_own_error() {
        let flag = Arc::new(AtomicBool::new(true));
        let e = renderer()
            .with_interrupt(flag)
            .render_str(
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            )
            .unwrap_err();
        assert!(e.is_interrupted(), "{e}");
    }
}

#[cfg(test)]
mod connections {
    use super::*;

    /// One connection, `aws_default`.
    struct OneConnection;

    impl XcomSource for OneConnection {
        fn pull(
            &self,
            _: &str,
            _: &str,
            _: Option<i64>,
        ) -> Result<Option<serde_json::Value>, String> {
            Ok(None)
        }
        fn connection(&self, conn_id: &str) -> Result<Option<serde_json::Value>, String> {
            match conn_id {
                "aws_default" => Ok(Some(serde_json::json!({
                    "conn_id": "aws_default", "conn_type": "aws", "host": null, "schema": null,
                    "login": "AKIA", "password": "secret", "port": 443,
                    "extra": "{\"region_name\": \"eu-west-1\"}"
                }))),
                "broken" => Err("the Execution API answered 500".into()),
                _ => Ok(None),
            }
        }
    }

    fn render(template: &str) -> Result<String, Error> {
        let ctx = TaskContext::new("dag", "task", Timestamp::UNIX_EPOCH);
        Renderer::new(&ctx, Rc::new(OneConnection))?.render_str(template)
    }

    #[test]
    fn connections_are_read_from_the_source() {
        assert_eq!(
            render("{{ conn.aws_default.login }} {{ conn.aws_default.port }} {{ conn.aws_default.extra_dejson.region_name }}")
                .unwrap(),
            "AKIA 443 eu-west-1"
        );
        // The str() of the Task SDK's attrs class.
        assert_eq!(
            render("{{ conn.aws_default }}").unwrap(),
            "Connection(conn_id='aws_default', conn_type='aws', description=None, host=None, \
             schema=None, login='AKIA', password='secret', port=443, \
             extra='{\"region_name\": \"eu-west-1\"}')"
        );
        assert_eq!(
            render("{{ conn.get('nope', 'dflt') }} {{ conn.get('aws_default').conn_type }}")
                .unwrap(),
            "dflt aws"
        );
        let e = render("{{ conn.nope.host }}").unwrap_err();
        assert_eq!(e.class, "AirflowNotFoundException", "{e}");
        let e = render("{{ conn.broken }}").unwrap_err();
        assert_eq!(e.class, "AirflowRuntimeError", "{e}");
    }
}
