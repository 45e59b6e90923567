//! The `Operator` seam: what every operator declares about itself ([`OperatorSpec`]), what it
//! implements ([`Operator`]), and what it gets to work with for one try ([`TaskContext`]).

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ParamReader;
use crate::params::ParamError;
use crate::permissions::{CallLog, Permission};

/// A boxed future, as core boxes an operator's `execute` and `on_kill` (once, for every
/// operator).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What an operator declares about itself, on its type ([`Operator::SPEC`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorSpec {
    /// The canonical Airflow class path (what Airflow 3 and the AWS converter write), e.g.
    /// `airflow.providers.amazon.aws.operators.glue.GlueJobOperator`.
    pub class_path: &'static str,
    /// Other class paths that name the same class (older module paths, legacy dag-factory
    /// names).
    pub aliases: &'static [&'static str],
    /// The parameters Airflow renders as Jinja templates for this operator
    /// (`template_fields`), in Airflow's order.
    pub template_fields: &'static [&'static str],
    /// Whether the operator calls AWS: the runtime then gives it the task's AWS identity
    /// ([`TaskContext::aws`]).
    pub calls_aws: bool,
}

impl OperatorSpec {
    /// The class name: the last segment of the class path (`GlueJobOperator`).
    pub const fn class_name(&self) -> &'static str {
        let bytes = self.class_path.as_bytes();
        let mut i = bytes.len();
        while i > 0 && bytes[i - 1] != b'.' {
            i -= 1;
        }
        let (_, name) = bytes.split_at(i);
        match std::str::from_utf8(name) {
            Ok(name) => name,
            // Unreachable: the split is at an ASCII '.', a character boundary.
            Err(_) => self.class_path,
        }
    }

    /// The logger of the operator's own lines: `airflow.task.operators.<class path>`.
    pub fn logger(&self) -> String {
        format!("airflow.task.operators.{}", self.class_path)
    }
}

/// How a try ended when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The operator succeeded; its return value (pushed as `return_value` when there is one).
    Success(Option<serde_json::Value>),
    /// The operator asked to be skipped (Airflow's `AirflowSkipException`), with the reason.
    Skipped(String),
    /// The operator succeeded (without a return value) and asks that the tasks downstream of
    /// it be skipped, as Airflow's `ShortCircuitOperator` does when its condition is false:
    /// every task downstream when `all_downstream` (`ignore_downstream_trigger_rules`, the
    /// default), else only the direct downstream tasks, whose own downstream tasks then follow
    /// their trigger rules. The runtime records the skipped task ids as Airflow's SkipMixin
    /// does (XCom `skipmixin_key`: `{"skipped": [...]}`) and the run skips them.
    SkipDownstream {
        /// Skip every task downstream, not only the direct ones.
        all_downstream: bool,
    },
}

/// Reads XCom values of the run's other task instances (what `ti.xcom_pull` reads), for
/// operators that pull at run time rather than through a template.
pub trait XcomReader: Send + Sync {
    /// The value of `key` pushed by the (unmapped) task instance `task_id`; `None` when there
    /// is none.
    ///
    /// # Errors
    /// A store that cannot be read, with its reason.
    fn pull(&self, task_id: &str, key: &str) -> Result<Option<serde_json::Value>, String>;
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

/// What an operator gets for one try: its log, XCom, the task's identity, the environment of
/// processes it starts, and the try's time budget. Made by the runtime with
/// [`TaskContext::new`] and the `with_*` methods; cheap to clone (clones share the log and the
/// pushed XCom values).
#[derive(Clone)]
pub struct TaskContext {
    log: Arc<dyn LogSink>,
    logger: Arc<str>,
    pushed: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
    task_id: String,
    try_number: u32,
    process_env: Vec<(String, Option<String>)>,
    aws: Option<Arc<dyn Any + Send + Sync>>,
    xcoms: Option<Arc<dyn XcomReader>>,
    deadline: Option<tokio::time::Instant>,
    execution_timeout: Option<Duration>,
    calls: CallLog,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The environment may hold credentials: names only.
        f.debug_struct("TaskContext")
            .field("logger", &self.logger)
            .field("task_id", &self.task_id)
            .field("try_number", &self.try_number)
            .field(
                "process_env",
                &self.process_env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("aws", &self.aws.is_some())
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl TaskContext {
    /// The context of one try of `task_id` running the operator `spec`, logging to `log`;
    /// no process environment, no AWS identity and no time budget until the `with_*` methods
    /// add them.
    pub fn new(
        spec: &OperatorSpec,
        task_id: impl Into<String>,
        try_number: u32,
        log: Arc<dyn LogSink>,
    ) -> TaskContext {
        TaskContext {
            log,
            logger: Arc::from(spec.logger()),
            pushed: Arc::default(),
            task_id: task_id.into(),
            try_number,
            process_env: Vec::new(),
            aws: None,
            xcoms: None,
            deadline: None,
            execution_timeout: None,
            calls: CallLog::default(),
        }
    }

    /// Sets where [`TaskContext::xcom_pull`] reads the run's XCom values.
    #[must_use]
    pub fn with_xcom_reader(mut self, reader: Arc<dyn XcomReader>) -> TaskContext {
        self.xcoms = Some(reader);
        self
    }

    /// The XCom value of `key` pushed by the task instance `task_id` of this run (Airflow's
    /// `ti.xcom_pull(task_ids=task_id, key=key)`); `None` when there is none, or when the
    /// runtime gave no reader.
    ///
    /// # Errors
    /// A store that cannot be read.
    pub fn xcom_pull(&self, task_id: &str, key: &str) -> Result<Option<serde_json::Value>, String> {
        match &self.xcoms {
            Some(r) => r.pull(task_id, key),
            None => Ok(None),
        }
    }

    /// Sets the changes to the environment of processes the operator starts: a value to set,
    /// or `None` to remove the variable (Airflow's `AIRFLOW_CTX_*` variables, and the
    /// credentials of the task's identity when a role is in effect).
    #[must_use]
    pub fn with_process_env(mut self, env: Vec<(String, Option<String>)>) -> TaskContext {
        self.process_env = env;
        self
    }

    /// Sets the task's AWS identity (an `airtask_aws::TaskIdentity`, opaque here so that core
    /// does not depend on the AWS SDK).
    #[must_use]
    pub fn with_aws(mut self, identity: Arc<dyn Any + Send + Sync>) -> TaskContext {
        self.aws = Some(identity);
        self
    }

    /// Sets the try's `execution_timeout`, measured from now (the runtime cancels the try when
    /// it runs out).
    #[must_use]
    pub fn with_time_budget(mut self, budget: Duration) -> TaskContext {
        self.deadline = Some(tokio::time::Instant::now() + budget);
        self.execution_timeout = Some(budget);
        self
    }

    /// The task id.
    pub fn task_id(&self) -> &str {
        &self.task_id
    }

    /// The try number, from 1.
    pub fn try_number(&self) -> u32 {
        self.try_number
    }

    /// What is left of the try's `execution_timeout`; `None` when there is none.
    pub fn time_budget(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(tokio::time::Instant::now()))
    }

    /// The try's whole `execution_timeout` (for messages; see [`TaskContext::time_budget`]
    /// for what is left of it).
    pub fn execution_timeout(&self) -> Option<Duration> {
        self.execution_timeout
    }

    /// Changes to the environment of processes the operator starts (see
    /// [`TaskContext::with_process_env`]).
    pub fn process_env(&self) -> &[(String, Option<String>)] {
        &self.process_env
    }

    /// The task's AWS identity (see [`TaskContext::with_aws`]); `None` for an operator that
    /// does not call AWS.
    pub fn aws(&self) -> Option<&(dyn Any + Send + Sync)> {
        self.aws.as_deref()
    }

    /// The logger of the operator's own lines (`airflow.task.operators.<class path>`).
    pub fn logger(&self) -> &str {
        &self.logger
    }

    /// Logs an informational line from the operator.
    pub fn info(&self, message: &str) {
        self.log.line(Level::Info, &self.logger, message);
    }

    /// Logs a warning from the operator.
    pub fn warning(&self, message: &str) {
        self.log.line(Level::Warning, &self.logger, message);
    }

    /// Logs an error line from the operator.
    pub fn error(&self, message: &str) {
        self.log.line(Level::Error, &self.logger, message);
    }

    /// Logs an informational line from a hook (`airflow.task.hooks.<hook class path>`).
    pub fn hook_info(&self, hook_logger: &str, message: &str) {
        self.log.line(Level::Info, hook_logger, message);
    }

    /// Logs a line at any level from any logger (the output of a child process, a line of a
    /// shared loop).
    pub fn line(&self, level: Level, logger: &str, message: &str) {
        self.log.line(level, logger, message);
    }

    /// Where the SDK clients of this try record the IAM action of every call they make
    /// (`airtask_aws::client` wires it); the runtime compares the record with
    /// [`Operator::permissions`] when asked to.
    pub fn call_log(&self) -> &CallLog {
        &self.calls
    }

    /// Pushes an XCom value under `key` (Airflow's `ti.xcom_push`); stored only if the try
    /// succeeds.
    pub fn xcom_push(&self, key: &str, value: serde_json::Value) {
        if let Ok(mut p) = self.pushed.lock() {
            p.retain(|(k, _)| k != key);
            p.push((key.to_owned(), value));
        }
    }

    /// The XCom values pushed with explicit keys so far, in push order.
    pub fn pushed(&self) -> Vec<(String, serde_json::Value)> {
        self.pushed.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// An Airflow operator implemented by airtask: built from the task's (rendered) parameters
/// for every try, then executed.
///
/// # Example
/// ```
/// use airtask_core::{Operator, OperatorSpec, Outcome, ParamError, ParamReader, TaskContext, TaskError};
///
/// struct Hello {
///     name: String,
/// }
///
/// impl Operator for Hello {
///     const SPEC: OperatorSpec = OperatorSpec {
///         class_path: "example.operators.hello.HelloOperator",
///         aliases: &[],
///         template_fields: &["name"],
///         calls_aws: false,
///     };
///
///     fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
///         Ok(Hello { name: p.required_str("name", "who to greet")? })
///     }
///
///     async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
///         ctx.info(&format!("Hello, {}", self.name));
///         Ok(Outcome::Success(None))
///     }
/// }
/// # let _ = airtask_core::Registry::builder().register::<Hello>().build();
/// ```
pub trait Operator: Sized + Send + 'static {
    /// What the operator declares about itself.
    const SPEC: OperatorSpec;

    /// Reads the (rendered) parameters. Core creates the reader and calls
    /// [`ParamReader::finish`] afterwards, which refuses unknown parameters. `airtask validate`
    /// calls this too, on the unrendered parameters (see [`ParamReader::unrendered`]).
    ///
    /// # Errors
    /// A parameter that is missing, of the wrong type, or not allowed.
    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError>;

    /// Runs the task's work. Cancellation (timeout, SIGTERM, heartbeat loss) drops the future
    /// and then calls [`Operator::on_kill`].
    fn execute(
        &mut self,
        ctx: &TaskContext,
    ) -> impl Future<Output = Result<Outcome, TaskError>> + Send;

    /// The IAM permissions this configured operator needs: every action it may call on the
    /// code paths its parameters choose (e.g. `glue:GetJobRun` only with
    /// `wait_for_completion`), on the resources its parameters name (see
    /// [`crate::permissions::arn`]). `airtask policy` writes IAM policies from it, and with
    /// `AIRTASK_CHECK_PERMISSIONS` set the runtime fails a try that called an action not
    /// declared here. An operator that calls no AWS API declares nothing (the default).
    fn permissions(&self) -> Vec<Permission> {
        Vec::new()
    }

    /// Called after `execute` was cancelled: stops what it started outside the process
    /// (BatchStopJobRun, StopQueryExecution, a child process group).
    fn on_kill(&mut self, ctx: &TaskContext) -> impl Future<Output = ()> + Send {
        let _ = ctx;
        async {}
    }
}

/// An operator built for one try, its type erased (what the runtime holds).
pub struct BuiltOperator(Box<dyn Erased>);

impl std::fmt::Debug for BuiltOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BuiltOperator")
    }
}

impl BuiltOperator {
    /// Runs the operator's work ([`Operator::execute`]).
    pub fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        self.0.execute(ctx)
    }

    /// Stops what a cancelled `execute` started ([`Operator::on_kill`]).
    pub fn on_kill<'a>(&'a mut self, ctx: &'a TaskContext) -> BoxFuture<'a, ()> {
        self.0.on_kill(ctx)
    }

    /// The IAM permissions the operator declares ([`Operator::permissions`]).
    pub fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }

    pub(crate) fn typed<T: Operator>(op: T) -> BuiltOperator {
        BuiltOperator(Box::new(Typed(op)))
    }
}

/// The object-safe face of an operator: where core boxes the futures, once for every operator.
trait Erased: Send {
    fn execute<'a>(&'a mut self, ctx: &'a TaskContext)
    -> BoxFuture<'a, Result<Outcome, TaskError>>;
    fn on_kill<'a>(&'a mut self, ctx: &'a TaskContext) -> BoxFuture<'a, ()>;
    fn permissions(&self) -> Vec<Permission>;
}

struct Typed<T>(T);

impl<T: Operator> Erased for Typed<T> {
    fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(self.0.execute(ctx))
    }

    fn on_kill<'a>(&'a mut self, ctx: &'a TaskContext) -> BoxFuture<'a, ()> {
        Box::pin(self.0.on_kill(ctx))
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

/// The rendered parameters an operator is built from.
pub type Params = serde_json::Map<String, serde_json::Value>;

/// Builds `T` from its rendered `params` as the runtime does: the reader, `from_params`, then
/// `finish` (for operators' unit tests).
///
/// # Errors
/// A parameter that is missing, of the wrong type, unknown or not allowed.
pub fn build_operator<T: Operator>(params: &Params) -> Result<T, ParamError> {
    build(params, &Params::new(), true)
}

/// Builds `T` from `params` (and `defaults`, the task's default_args entries): the reader,
/// `from_params`, then `finish`.
pub(crate) fn build<T: Operator>(
    params: &Params,
    defaults: &Params,
    rendered: bool,
) -> Result<T, ParamError> {
    let name = T::SPEC.class_name();
    let reader = if rendered {
        ParamReader::new(name, params)
    } else {
        ParamReader::unrendered(name, params)
    };
    let mut reader = reader.with_defaults(defaults);
    let op = T::from_params(&mut reader)?;
    reader.finish()?;
    Ok(op)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_name_is_the_last_segment() {
        let spec = OperatorSpec {
            class_path: "airflow.providers.amazon.aws.operators.glue.GlueJobOperator",
            aliases: &[],
            template_fields: &[],
            calls_aws: true,
        };
        const NAME: &str = OperatorSpec {
            class_path: "a.B",
            aliases: &[],
            template_fields: &[],
            calls_aws: false,
        }
        .class_name();
        assert_eq!(spec.class_name(), "GlueJobOperator");
        assert_eq!(NAME, "B");
        assert_eq!(
            spec.logger(),
            "airflow.task.operators.airflow.providers.amazon.aws.operators.glue.GlueJobOperator"
        );
    }
}
