//! The operator seam of airtask: the [`Operator`] trait and its [`OperatorSpec`], typed
//! parameter reading ([`ParamReader`]), the [`Registry`] that maps Airflow class paths (and
//! their aliases) to the operators this runtime implements, the shared sensor and wait loops,
//! and the local state store (XCom values).
//!
//! # Example
//! ```
//! use airtask_core::{Operator, OperatorSpec, Outcome, ParamError, ParamReader, Registry, TaskContext, TaskError};
//!
//! struct EmptyOperator;
//!
//! impl Operator for EmptyOperator {
//!     const SPEC: OperatorSpec = OperatorSpec {
//!         class_path: "airflow.providers.standard.operators.empty.EmptyOperator",
//!         aliases: &["airflow.operators.empty.EmptyOperator"],
//!         template_fields: &[],
//!         calls_aws: false,
//!     };
//!     fn from_params(_: &mut ParamReader<'_>) -> Result<Self, ParamError> {
//!         Ok(EmptyOperator)
//!     }
//!     async fn execute(&mut self, _: &TaskContext) -> Result<Outcome, TaskError> {
//!         Ok(Outcome::Success(None))
//!     }
//! }
//!
//! let registry = Registry::builder().register::<EmptyOperator>().build();
//! assert_eq!(
//!     registry.lookup("airflow.operators.empty.EmptyOperator").map(|o| o.class_path()),
//!     Some(EmptyOperator::SPEC.class_path)
//! );
//! ```

pub mod instance;
pub mod kwargs;
mod operator;
pub mod params;
pub mod permissions;
mod registry;
pub mod retry;
pub mod sensor;
pub mod store;
pub mod trigger_rule;
pub mod wait;

pub use operator::{
    BoxFuture, BuiltOperator, Level, LogSink, Operator, OperatorSpec, Outcome, Params, TaskContext,
    TaskError, XcomReader, build_operator,
};
pub use params::{ParamError, ParamReader};
pub use permissions::{CallLog, Permission};
pub use registry::{Entry, Registry, RegistryBuilder};
