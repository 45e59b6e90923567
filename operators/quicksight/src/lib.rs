//! The Amazon provider's QuickSight operator and sensor: `QuickSightCreateIngestionOperator`
//! (CreateIngestion of a SPICE data set, by default waiting until it completes; XCom is the
//! CreateIngestion answer) and `QuickSightSensor` (waits for an ingestion to complete; fails
//! when it failed or was cancelled), with the provider's parameters, defaults and template
//! fields (see docs/operators/quicksight.md for where airtask departs from the provider). Both
//! run with the task's AWS identity; the account is the identity's own (STS
//! GetCallerIdentity), as the provider's hook takes it.

mod ingestion;
mod operator;
mod sensor;

use airtask_core::RegistryBuilder;

pub use operator::QuickSightCreateIngestionOperator;
pub use sensor::QuickSightSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<QuickSightCreateIngestionOperator>()
        .register::<QuickSightSensor>()
}
