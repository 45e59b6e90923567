//! The Amazon provider's S3 operators and sensors, with the provider's parameters, template
//! fields and XCom values (see the README for where airtask departs from the provider on
//! purpose). Every operator runs with the task's AWS identity from the runtime.

mod bucket;
mod common;
mod create_object;
mod key_sensor;
mod keys_unchanged;
mod list;
mod objects;
mod select;
mod transform;

use airtask_core::RegistryBuilder;

pub use bucket::{
    S3CreateBucketOperator, S3DeleteBucketOperator, S3DeleteBucketTaggingOperator,
    S3GetBucketTaggingOperator, S3PutBucketTaggingOperator,
};
pub use create_object::S3CreateObjectOperator;
pub use key_sensor::S3KeySensor;
pub use keys_unchanged::S3KeysUnchangedSensor;
pub use list::{S3ListOperator, S3ListPrefixesOperator};
pub use objects::{S3CopyObjectOperator, S3DeleteObjectsOperator};
pub use transform::S3FileTransformOperator;

/// Registers the operators of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<S3ListOperator>()
        .register::<S3ListPrefixesOperator>()
        .register::<S3CreateBucketOperator>()
        .register::<S3DeleteBucketOperator>()
        .register::<S3CreateObjectOperator>()
        .register::<S3CopyObjectOperator>()
        .register::<S3DeleteObjectsOperator>()
        .register::<S3GetBucketTaggingOperator>()
        .register::<S3PutBucketTaggingOperator>()
        .register::<S3DeleteBucketTaggingOperator>()
        .register::<S3FileTransformOperator>()
        .register::<S3KeySensor>()
        .register::<S3KeysUnchangedSensor>()
}
