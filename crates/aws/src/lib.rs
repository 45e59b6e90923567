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

mod calls;
mod client;
pub mod error;
pub mod identity;
pub mod logs;
mod s3;
mod store;

pub use aws_config::SdkConfig;
pub use aws_credential_types::Credentials;
pub use calls::{CallRecorder, iam_actions, iam_prefix};
pub use client::{AwsParams, client, client_in};
pub use s3::{
    S3Location, S3ReadError, client as s3_client, operator_client as s3_operator_client,
    read_object,
};
pub use store::S3Store;

/// Loads the SDK configuration from the environment: the default credential chain
/// (environment, profile, web identity, ECS/EKS container credentials, instance metadata), the
/// region, and `AWS_ENDPOINT_URL` when set.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// An error and its sources, as one line (`outer: inner: innermost`), each text once.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text = format!("{text}: {more}");
        }
        source = s.source();
    }
    text
}

/// What an SDK call's error says (any service's): see [`error::text`].
pub fn sdk_error_text<E>(
    e: &aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    error::text(e)
}
