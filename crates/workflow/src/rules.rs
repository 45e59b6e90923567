//! MWAA Serverless's rules for definitions, as tables: limits, and which Airflow parameters are
//! honoured, ignored (with a warning when set to something other than Airflow's default) or
//! refused.

use crate::value::Value;

/// The largest definition accepted, in bytes (MWAA Serverless's 50 KB quota, 1 KB = 1024 bytes).
pub const MAX_DEFINITION_BYTES: usize = 50 * 1024;
/// The most retries of a task.
pub const MAX_RETRIES: i64 = 3;
/// The longest `retry_delay`, in seconds; also the default.
pub const MAX_RETRY_DELAY_SECS: i64 = 300;
/// The longest `execution_timeout`, in seconds; also the default.
pub const MAX_EXECUTION_TIMEOUT_SECS: i64 = 3600;
/// The most concurrent runs of one workflow (MWAA Serverless's quota).
pub const MAX_ACTIVE_RUNS: i64 = 20;
/// Airflow's default `max_active_runs`.
pub const DEFAULT_MAX_ACTIVE_RUNS: u32 = 16;
/// The longest task or workflow id Airflow accepts.
pub const MAX_ID_LEN: usize = 250;

/// Operators (by class name) whose own `role_arn` argument is not the task's role: for every
/// other implemented operator, a task's `role_arn` names the role the operator runs as (an
/// operator this runtime does not implement keeps its `role_arn` as a parameter).
pub const OPERATORS_WITH_OWN_ROLE_ARN: &[&str] = &[
    "SageMakerCreateNotebookOperator",
    "SageMakerAutoMLOperator",
    "SageMakerNotebookOperator",
    "BedrockCustomizeModelOperator",
    "BedrockCreateKnowledgeBaseOperator",
];

/// Airflow's default of an ignored parameter: setting it to this (or to null) changes nothing,
/// so it earns no warning. The converter writes many defaults out in full on every task.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Default {
    /// Any value other than null is worth a warning.
    Null,
    Bool(bool),
    Int(i64),
    Str(&'static str),
    EmptyList,
    EmptyMap,
    /// Documentation only: never worth a warning.
    Silent,
}

impl Default {
    pub(crate) fn is_default(self, v: &Value) -> bool {
        match (self, v) {
            (Default::Silent, _) | (_, Value::Null) => true,
            (Default::Bool(d), Value::Bool(b)) => d == *b,
            (Default::Int(d), Value::Int(i)) => d == *i,
            (Default::Int(d), Value::Float(f)) => d as f64 == *f,
            (Default::Str(d), Value::Str(s)) => d == s,
            (Default::Str(d), Value::Enum { value, .. }) => value.as_str() == Some(d),
            (Default::EmptyList, Value::List(l)) => l.is_empty(),
            (Default::EmptyMap, Value::Map(m)) => m.is_empty(),
            _ => false,
        }
    }
}

/// Workflow-level keys that MWAA Serverless ignores, with Airflow's defaults.
pub(crate) const IGNORED_WORKFLOW_KEYS: &[(&str, Default)] = &[
    ("catchup", Default::Bool(false)),
    ("dagrun_timeout", Default::Null),
    ("tags", Default::EmptyList),
    ("access_control", Default::Null),
    ("on_failure_callback", Default::Null),
    ("on_success_callback", Default::Null),
    ("sla_miss_callback", Default::Null),
    ("is_paused_upon_creation", Default::Null),
    ("depends_on_past", Default::Bool(false)),
    ("email_on_failure", Default::Bool(true)),
    ("email_on_retry", Default::Bool(true)),
    ("max_consecutive_failed_dag_runs", Default::Int(0)),
    ("max_active_tasks", Default::Int(16)),
    ("concurrency", Default::Int(16)),
    ("render_template_as_native_obj", Default::Bool(false)),
    ("template_searchpath", Default::Null),
    ("template_undefined", Default::Null),
    ("user_defined_macros", Default::Null),
    ("user_defined_filters", Default::Null),
    ("jinja_environment_kwargs", Default::Null),
    ("fail_fast", Default::Bool(false)),
    ("default_view", Default::Null),
    ("orientation", Default::Null),
    ("owner_links", Default::EmptyMap),
    ("dag_display_name", Default::Silent),
    ("description", Default::Silent),
    ("doc_md", Default::Silent),
    ("doc_md_file_path", Default::Silent),
];

/// The callbacks dag-factory also builds from a `<callback>_name` + `<callback>_file` pair (a
/// function name and the Python file that defines it). It consumes both keys itself; they never
/// reach the operator or the DAG.
pub(crate) const DAG_FACTORY_CALLBACKS: &[&str] = &[
    "on_execute_callback",
    "on_success_callback",
    "on_failure_callback",
    "on_retry_callback",
    "on_skipped_callback",
    "sla_miss_callback",
];

/// The callback a dag-factory `<callback>_name` / `<callback>_file` key belongs to.
pub(crate) fn dag_factory_callback(key: &str) -> Option<&'static str> {
    let base = key
        .strip_suffix("_name")
        .or_else(|| key.strip_suffix("_file"))?;
    DAG_FACTORY_CALLBACKS.iter().copied().find(|c| *c == base)
}

/// Workflow-level keys dag-factory itself reads to build documentation by running Python:
/// documentation only, ignored silently, as `doc_md` is.
pub(crate) const DAG_FACTORY_DOC_KEYS: &[&str] = &[
    "doc_md_python_callable_name",
    "doc_md_python_callable_file",
    "doc_md_python_arguments",
];

/// Task-level parameters of Airflow's BaseOperator that MWAA Serverless ignores, with
/// Airflow's defaults.
pub(crate) const IGNORED_TASK_KEYS: &[(&str, Default)] = &[
    ("owner", Default::Str("airflow")),
    ("email", Default::Null),
    ("email_on_retry", Default::Bool(true)),
    ("email_on_failure", Default::Bool(true)),
    ("depends_on_past", Default::Bool(false)),
    ("ignore_first_depends_on_past", Default::Bool(true)),
    (
        "wait_for_past_depends_before_skipping",
        Default::Bool(false),
    ),
    ("wait_for_downstream", Default::Bool(false)),
    ("priority_weight", Default::Int(1)),
    ("weight_rule", Default::Str("downstream")),
    ("queue", Default::Str("default")),
    ("pool", Default::Str("default_pool")),
    ("pool_slots", Default::Int(1)),
    ("sla", Default::Null),
    ("on_execute_callback", Default::Null),
    ("on_failure_callback", Default::Null),
    ("on_success_callback", Default::Null),
    ("on_retry_callback", Default::Null),
    ("on_skipped_callback", Default::Null),
    ("pre_execute", Default::Null),
    ("post_execute", Default::Null),
    ("resources", Default::Null),
    ("run_as_user", Default::Null),
    ("task_concurrency", Default::Null),
    ("max_active_tis_per_dag", Default::Null),
    ("max_active_tis_per_dagrun", Default::Null),
    ("executor", Default::Null),
    ("executor_config", Default::EmptyMap),
    ("inlets", Default::EmptyList),
    ("outlets", Default::EmptyList),
    ("retry_exponential_backoff", Default::Bool(false)),
    ("max_retry_delay", Default::Null),
    ("map_index_template", Default::Null),
    ("logger_name", Default::Null),
    ("allow_nested_operators", Default::Bool(true)),
    ("start_date", Default::Silent),
    ("end_date", Default::Silent),
    ("doc", Default::Silent),
    ("doc_md", Default::Silent),
    ("doc_json", Default::Silent),
    ("doc_yaml", Default::Silent),
    ("doc_rst", Default::Silent),
    ("task_display_name", Default::Silent),
    ("tooltip", Default::Silent),
];

/// Why a parameter is ignored, for the warning text.
pub(crate) fn ignored_reason(key: &str) -> &'static str {
    match key {
        "retry_exponential_backoff" | "max_retry_delay" => {
            "MWAA Serverless waits a fixed retry_delay between tries"
        }
        "catchup" => "MWAA Serverless never back-fills missed runs",
        "render_template_as_native_obj" => {
            "MWAA Serverless always renders templates to strings (airtask's one exception: a \
             field that is exactly one xcom_pull receives the pulled value)"
        }
        _ => "MWAA Serverless does not support it",
    }
}
