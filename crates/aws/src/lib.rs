//! The AWS side of airtask: one [`aws_config::SdkConfig`] built from the environment, and S3
//! access for workflow definitions.
//!
//! This is the only non-operator crate that names `aws-sdk-*`, so editing anything else never
//! recompiles the SDK.
//!
//! # Example
//! ```
//! let loc = airtask_aws::S3Location::parse("s3://defs/etl.yaml?versionId=3sL4kqtJlcpXroDTDmJ")
//!     .expect("an s3 URL");
//! assert_eq!(loc.bucket, "defs");
//! assert_eq!(loc.key, "etl.yaml");
//! assert_eq!(loc.version_id.as_deref(), Some("3sL4kqtJlcpXroDTDmJ"));
//! ```

pub mod identity;
mod s3;
mod store;

pub use s3::{S3Location, S3ReadError, read_object};
pub use store::S3Store;

/// Loads the SDK configuration from the environment: the default credential chain
/// (environment, profile, web identity, ECS/EKS container credentials, instance metadata), the
/// region, and `AWS_ENDPOINT_URL` when set.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}
