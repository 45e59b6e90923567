//! Workflow definitions for airtask: the YAML that Amazon MWAA Serverless runs (dag-factory's
//! format, as written by hand or by the AWS Python-to-YAML converter), loaded into a validated
//! [`Workflow`].
//!
//! The crate is pure: no I/O, no clock, no environment. The caller passes the bytes of the
//! definition and a [`LoadOptions`] with everything else (environment lookup for `$VAR`
//! expansion, the current time, the operators this runtime implements).
//!
//! # Example
//! ```
//! use airtask_workflow::{LoadOptions, OperatorCatalog, load};
//!
//! struct Only(&'static str);
//! impl OperatorCatalog for Only {
//!     fn resolve(&self, path: &str) -> Option<&str> { (path == self.0).then_some(self.0) }
//!     fn implemented(&self) -> Vec<&str> { vec![self.0] }
//! }
//!
//! let yaml = br#"
//! hello:
//!   schedule: "0 6 * * *"
//!   default_args: {retries: 2}
//!   tasks:
//!     start: {operator: airflow.providers.standard.operators.empty.EmptyOperator}
//!     end:
//!       operator: airflow.providers.standard.operators.empty.EmptyOperator
//!       dependencies: [start]
//! "#;
//! let opts = LoadOptions {
//!     env: &|_| None,
//!     now: jiff::Timestamp::UNIX_EPOCH,
//!     for_create: false,
//!     catalog: &Only("airflow.providers.standard.operators.empty.EmptyOperator"),
//! };
//! let report = load(yaml, &opts);
//! let wf = report.workflow.expect("valid");
//! assert_eq!(wf.workflow_id, "hello");
//! assert_eq!(wf.tasks[1].upstream, vec!["start".to_string()]);
//! assert_eq!(wf.tasks[1].retries, 2);
//! ```

mod aws_cron;
pub mod cron;
mod diag;
mod env;
mod load;
mod model;
pub mod rules;
mod runs;
mod value;
mod yaml;

pub use cron::Schedule;
pub use diag::{Diagnostic, Pos, Severity};
pub use env::expand_vars;
pub use load::{LoadOptions, Report, check_role_arn, load, size_diagnostic};
pub use model::{
    Asset, MapSource, Mapping, OperatorCatalog, Origin, Parameter, Task, TriggerRule, Workflow,
};
pub use value::{KNOWN_TYPES, Map, Value};
