//! tmp
pub fn register(b: airtask_core::RegistryBuilder) -> airtask_core::RegistryBuilder { b }
