//! The Amazon provider's Glacier operators and sensor: `GlacierCreateJobOperator` (starts an
//! inventory-retrieval job; XCom is the InitiateJob answer), `GlacierUploadArchiveOperator`
//! (uploads an archive; XCom is the UploadArchive answer) and `GlacierJobOperationSensor`
//! (waits for a job to succeed; fails on any other status than InProgress). Parameters,
//! defaults, template fields and XCom values are the provider's (see docs/operators/glacier.md
//! for where airtask departs from it). All run with the task's AWS identity from the runtime.

mod operators;
mod sensor;

use airtask_core::RegistryBuilder;

pub use operators::{GlacierCreateJobOperator, GlacierUploadArchiveOperator};
pub use sensor::GlacierJobOperationSensor;

/// The logger of the Glacier hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.glacier.GlacierHook";

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<GlacierCreateJobOperator>()
        .register::<GlacierUploadArchiveOperator>()
        .register::<GlacierJobOperationSensor>()
}
