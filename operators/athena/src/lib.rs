//! The Amazon provider's Athena operator and sensor: `AthenaOperator` (start a query, by
//! default wait for it; XCom is the QueryExecutionId; on_kill stops the query) and
//! `AthenaSensor` (waits for a query to finish; fails when it failed or was cancelled), with
//! the provider's parameters, defaults, template fields and XCom values (see
//! docs/operators/athena.md for where airtask departs from the provider on purpose). Both run
//! with the task's AWS identity from the runtime.

mod operator;
mod query;
mod sensor;

use airtask_core::RegistryBuilder;

pub use operator::AthenaOperator;
pub use sensor::AthenaSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<AthenaOperator>().register::<AthenaSensor>()
}
