//! The `Operator` seam: what every operator implements, and what it gets to work with.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// A boxed future, as operators return from `execute`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a try ended when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The operator succeeded; its return value (pushed as `return_value` when there is one).
    Success(Option<serde_json::Value>),
    /// The operator asked to be skipped (Airflow's `AirflowSkipException`), with the reason.
    Skipped(String),
}

/// Why a try failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TaskError {
    /// What went wrong, for the log and the task record.
    pub message: String,
    /// False when another try cannot help (a bad parameter, access denied, a sensor timeout).
    pub retryable: bool,
}

impl TaskError {
    /// A failure another try may fix.
    pub fn retryable(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            retryable: true,
        }
    }

    /// A failure no other try can fix.
    pub fn fatal(message: impl Into<String>) -> TaskError {
        TaskError {
            message: message.into(),
            retryable: false,
        }
    }
}

/// Severity of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal progress.
    Info,
    /// Something odd.
    Warning,
    /// A failure.
    Error,
}

impl Level {
    /// Airflow's name of the level.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// Where an operator's log lines go (the terminal, the log file, CloudWatch).
pub trait LogSink: Send + Sync {
    /// Writes one line from `logger` (`airflow.task.operators...`, `airflow.task.hooks...`).
    fn line(&self, level: Level, logger: &str, message: &str);
}

/// What an operator gets for one try.
#[derive(Clone)]
pub struct TaskContext {
    /// The log.
    pub log: Arc<dyn LogSink>,
    /// XCom values pushed with explicit keys during the try (stored only if it succeeds).
    pub pushed: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    /// The task id.
    pub task_id: String,
    /// The try number, from 1.
    pub try_number: u32,
    /// Changes to the environment of processes the operator starts (BashOperator): a value to
    /// set, or `None` to remove the variable. Airflow's `AIRFLOW_CTX_*` variables for this task
    /// instance, and, when a role is in effect, the AWS credentials of the task's identity (so
    /// that an `aws` command in the process runs as the task's role, never as the container's
    /// broader credentials).
    pub process_env: Vec<(String, Option<String>)>,
    /// The task's AWS identity, for operators that call AWS (an `airtask_aws::TaskIdentity`,
    /// kept opaque here so that this crate does not depend on the AWS SDK). `None` for
    /// operators that do not call AWS.
    pub aws: Option<Arc<dyn Any + Send + Sync>>,
    /// The try's `execution_timeout`, measured from when `execute` is called (the runtime
    /// cancels the try when it runs out); `None` when there is none.
    pub time_budget: Option<std::time::Duration>,
}

impl TaskContext {
    /// Logs an informational line from the operator.
    pub fn info(&self, logger: &str, message: &str) {
        self.log.line(Level::Info, logger, message);
    }

    /// Pushes an XCom value under `key` (Airflow's `ti.xcom_push`).
    pub fn xcom_push(&self, key: &str, value: serde_json::Value) {
        if let Ok(mut p) = self.pushed.lock() {
            p.retain(|(k, _)| k != key);
            p.push((key.to_owned(), value));
        }
    }
}

/// An Airflow operator implemented by airtask. Built from the task's rendered parameters by
/// its [`crate::OperatorInfo::build`] function; one value per try.
pub trait Operator: Send {
    /// Runs the task's work. Cancellation (timeout, SIGTERM) drops the future and then calls
    /// [`Operator::on_kill`].
    fn execute<'a>(&'a mut self, ctx: &'a TaskContext)
    -> BoxFuture<'a, Result<Outcome, TaskError>>;

    /// Stops whatever `execute` started outside this process (a child process, a Glue job).
    fn on_kill(&mut self) {}
}

/// The rendered parameters an operator is built from.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// Builds an operator from its parameters; the error says which parameter is wrong and why.
pub type BuildFn = fn(&Params) -> Result<Box<dyn Operator>, String>;
