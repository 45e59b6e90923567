//! The operator seam of airtask. For now: the registry that maps Airflow operator class paths
//! (and their aliases) to the operators this runtime implements, and the local state store
//! (XCom values).
//!
//! # Example
//! ```
//! use airtask_core::{OperatorInfo, Registry};
//!
//! const EMPTY: OperatorInfo = OperatorInfo {
//!     class_path: "airflow.providers.standard.operators.empty.EmptyOperator",
//!     aliases: &["airflow.operators.empty.EmptyOperator"],
//!     template_fields: &[],
//!     aws: false,
//!     build: |_| Err("not runnable".into()),
//! };
//! let registry = Registry::builder().register(EMPTY).build();
//! assert_eq!(
//!     registry.lookup("airflow.operators.empty.EmptyOperator").map(|o| o.class_path),
//!     Some(EMPTY.class_path)
//! );
//! ```

pub mod instance;
mod operator;
pub mod params;
mod registry;
pub mod retry;
pub mod sensor;
pub mod store;
pub mod trigger_rule;

pub use operator::{
    BoxFuture, BuildFn, Level, LogSink, Operator, Outcome, Params, TaskContext, TaskError,
};
pub use params::ParamReader;
pub use registry::{OperatorInfo, Registry, RegistryBuilder};
