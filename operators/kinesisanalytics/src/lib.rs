//! The Amazon provider's Managed Service for Apache Flink (Kinesis Analytics v2) operators and
//! sensors: `KinesisAnalyticsV2CreateApplicationOperator`, `...StartApplicationOperator` and
//! `...StopApplicationOperator` (XCom `{"ApplicationARN": ...}`; start and stop by default wait
//! for RUNNING and READY), and `...StartApplicationCompletedSensor` and
//! `...StopApplicationCompletedSensor`, with the provider's parameters, defaults, template fields
//! and state groups (see docs/operators/kinesisanalytics.md for where airtask departs from the
//! provider). All run with the task's AWS identity.

mod app;
mod config;
mod operators;
mod sensors;

use airtask_core::RegistryBuilder;

pub use operators::{
    KinesisAnalyticsV2CreateApplicationOperator, KinesisAnalyticsV2StartApplicationOperator,
    KinesisAnalyticsV2StopApplicationOperator,
};
pub use sensors::{
    KinesisAnalyticsV2StartApplicationCompletedSensor,
    KinesisAnalyticsV2StopApplicationCompletedSensor,
};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<KinesisAnalyticsV2CreateApplicationOperator>()
        .register::<KinesisAnalyticsV2StartApplicationOperator>()
        .register::<KinesisAnalyticsV2StopApplicationOperator>()
        .register::<KinesisAnalyticsV2StartApplicationCompletedSensor>()
        .register::<KinesisAnalyticsV2StopApplicationCompletedSensor>()
}
