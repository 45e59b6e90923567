//! The Amazon provider's SNS operator: `SnsPublishOperator` publishes one message to a topic
//! or an endpoint (Publish with `MessageStructure: json` and the message as its `default`),
//! with the provider's parameters, template fields and XCom value (the Publish answer). See
//! docs/operators/sns.md for where airtask departs from the provider on purpose.

mod publish;

use airtask_core::RegistryBuilder;

pub use publish::SnsPublishOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<SnsPublishOperator>()
}
