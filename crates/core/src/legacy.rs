//! The first operator seam, kept while the operators move to [`crate::Operator`]: a boxed
//! `execute`, a synchronous `on_kill`, and metadata beside the type ([`OperatorInfo`]).
//! Registered with [`crate::RegistryBuilder::register_legacy`].

use crate::{BoxFuture, Outcome, Params, TaskContext, TaskError};

/// An operator of the first seam.
pub trait Operator: Send {
    /// Runs the task's work.
    fn execute<'a>(&'a mut self, ctx: &'a TaskContext)
    -> BoxFuture<'a, Result<Outcome, TaskError>>;

    /// Stops whatever `execute` started outside this process.
    fn on_kill(&mut self) {}
}

/// Builds an operator from its parameters; the error says which parameter is wrong and why.
pub type BuildFn = fn(&Params) -> Result<Box<dyn Operator>, String>;

/// What an operator crate declares about one operator of the first seam.
#[derive(Debug, Clone, Copy)]
pub struct OperatorInfo {
    /// The canonical Airflow class path.
    pub class_path: &'static str,
    /// Other class paths that name the same operator.
    pub aliases: &'static [&'static str],
    /// The parameters Airflow renders as Jinja templates for this operator.
    pub template_fields: &'static [&'static str],
    /// Whether the operator calls AWS.
    pub aws: bool,
    /// Builds the operator from its rendered parameters.
    pub build: BuildFn,
}
