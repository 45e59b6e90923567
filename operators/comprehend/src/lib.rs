//! The Amazon provider's Comprehend operators and sensors:
//! `ComprehendStartPiiEntitiesDetectionJobOperator` (starts a PII entities detection job and
//! waits for it; XCom is the job id), `ComprehendCreateDocumentClassifierOperator` (creates a
//! document classifier and waits for its training; XCom is its ARN), and their sensors
//! `ComprehendStartPiiEntitiesDetectionJobCompletedSensor` and
//! `ComprehendCreateDocumentClassifierCompletedSensor`. See docs/operators/comprehend.md for
//! where airtask departs from the provider on purpose.

mod classifier;
mod config;
mod pii;

use airtask_core::RegistryBuilder;

pub use classifier::{
    ComprehendCreateDocumentClassifierCompletedSensor, ComprehendCreateDocumentClassifierOperator,
};
pub use pii::{
    ComprehendStartPiiEntitiesDetectionJobCompletedSensor,
    ComprehendStartPiiEntitiesDetectionJobOperator,
};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<ComprehendStartPiiEntitiesDetectionJobOperator>()
        .register::<ComprehendStartPiiEntitiesDetectionJobCompletedSensor>()
        .register::<ComprehendCreateDocumentClassifierOperator>()
        .register::<ComprehendCreateDocumentClassifierCompletedSensor>()
}
