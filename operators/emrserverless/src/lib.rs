//! The Amazon provider's EMR Serverless operators and sensors, with the provider's parameters,
//! defaults, template fields, XCom values and waits: `EmrServerlessCreateApplicationOperator`,
//! `EmrServerlessStartJobOperator` (on_kill cancels the job run),
//! `EmrServerlessStopApplicationOperator`, `EmrServerlessDeleteApplicationOperator`,
//! `EmrServerlessApplicationSensor` and `EmrServerlessJobSensor`. See
//! docs/operators/emrserverless.md for where airtask departs from the provider on purpose. All
//! run with the task's AWS identity from the runtime.

mod application;
mod common;
mod job;
mod kwargs;
mod sensors;

use airtask_core::RegistryBuilder;

pub use application::{
    EmrServerlessCreateApplicationOperator, EmrServerlessDeleteApplicationOperator,
    EmrServerlessStopApplicationOperator,
};
pub use job::EmrServerlessStartJobOperator;
pub use sensors::{EmrServerlessApplicationSensor, EmrServerlessJobSensor};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EmrServerlessCreateApplicationOperator>()
        .register::<EmrServerlessStartJobOperator>()
        .register::<EmrServerlessStopApplicationOperator>()
        .register::<EmrServerlessDeleteApplicationOperator>()
        .register::<EmrServerlessApplicationSensor>()
        .register::<EmrServerlessJobSensor>()
}
