//! The Amazon provider's `DataSyncOperator`: finds the DataSync task between a source and a
//! destination location (or takes `task_arn`), creates the task and its locations when asked
//! to, updates it, starts an execution and waits for it, and deletes the task afterwards when
//! asked to. XCom is `{"TaskArn", "TaskExecutionArn"}`; on_kill cancels the execution. See
//! docs/operators/datasync.md for where airtask departs from the provider. It runs with the
//! task's AWS identity from the runtime.

mod kwargs;
mod operator;

use airtask_core::RegistryBuilder;

pub use operator::DataSyncOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<DataSyncOperator>()
}
