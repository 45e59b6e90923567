//! The Amazon provider's DynamoDB sensor: `DynamoDBValueSensor` waits until an item's
//! attribute holds one of the expected values, with the provider's parameters, defaults and
//! template fields (see docs/operators/dynamodb.md). It runs with the task's AWS identity from
//! the runtime.

mod value_sensor;

use airtask_core::RegistryBuilder;

pub use value_sensor::DynamoDBValueSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<DynamoDBValueSensor>()
}
