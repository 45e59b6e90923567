//! The Amazon provider's OpenSearch Serverless sensor:
//! `OpenSearchServerlessCollectionActiveSensor` waits until a collection (by id or by name)
//! leaves CREATING, and fails when it is DELETING or FAILED; with the provider's parameters,
//! defaults and template fields (see docs/operators/opensearchserverless.md). It runs with the
//! task's AWS identity.

mod sensor;

use airtask_core::RegistryBuilder;

pub use sensor::OpenSearchServerlessCollectionActiveSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<OpenSearchServerlessCollectionActiveSensor>()
}
