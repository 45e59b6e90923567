//! The Amazon provider's Redshift operators and sensor: `RedshiftDataOperator` (SQL through
//! the Redshift Data API: run, wait, statement ids or SQL results as XCom; on_kill cancels the
//! statement), with the provider's parameters, defaults, template fields and XCom values (see
//! docs/operators/redshift.md for where airtask departs from the provider on purpose). Every
//! operator runs with the task's AWS identity from the runtime.

mod data;

use airtask_core::RegistryBuilder;

pub use data::RedshiftDataOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<RedshiftDataOperator>()
}
