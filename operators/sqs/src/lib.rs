//! The Amazon provider's SQS operator and sensor: `SqsPublishOperator` sends one message
//! (XCom: the SendMessage answer) and `SqsSensor` receives messages in batches, filters them
//! (`literal`, or a JSONPath subset, see [`jsonpath`]), deletes them by default and pushes them
//! as the XCom `messages`. See docs/operators/sqs.md for where airtask departs from the provider
//! on purpose.

pub mod jsonpath;
mod publish;
mod sensor;

use airtask_core::RegistryBuilder;

pub use publish::SqsPublishOperator;
pub use sensor::SqsSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<SqsPublishOperator>().register::<SqsSensor>()
}
