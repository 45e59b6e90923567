//! The record of the IAM actions an operator's SDK clients call: [`CallRecorder`], an SDK
//! interceptor every client built by [`crate::client`] carries, writes each call's IAM action
//! into the try's [`CallLog`]; [`iam_actions`] maps an SDK operation to the IAM actions it
//! needs.

use airtask_core::CallLog;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;

/// An SDK interceptor that records the IAM action of every call of the client it is built
/// into, in the try's [`CallLog`]. Add it with `airtask_aws::sdk!(aws_sdk_x)`.
#[derive(Debug, Clone)]
pub struct CallRecorder {
    log: CallLog,
}

impl CallRecorder {
    /// A recorder writing into `log`.
    pub fn new(log: CallLog) -> CallRecorder {
        CallRecorder { log }
    }
}

impl Intercept for CallRecorder {
    fn name(&self) -> &'static str {
        "airtask::CallRecorder"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            for action in iam_actions(m.service(), m.name()) {
                self.log.record(action);
            }
        }
        Ok(())
    }
}

/// The IAM service prefix of an SDK service id (what the SDK's operation metadata names:
/// `"Glue"`, `"Redshift Data"`, `"SFN"`).
pub fn iam_prefix(service_id: &str) -> String {
    match service_id {
        "CloudWatch Logs" => "logs".to_owned(),
        "Database Migration Service" => "dms".to_owned(),
        "Kinesis Analytics V2" | "Kinesis Analytics" => "kinesisanalytics".to_owned(),
        "OpenSearchServerless" => "aoss".to_owned(),
        "SFN" => "states".to_owned(),
        "EventBridge" => "events".to_owned(),
        // Neptune's management API is RDS's, under RDS's IAM actions.
        "Neptune" | "DocDB" => "rds".to_owned(),
        "EMR" => "elasticmapreduce".to_owned(),
        "Bedrock Runtime" | "Bedrock Agent" | "Bedrock Agent Runtime" => "bedrock".to_owned(),
        "SageMaker Runtime" => "sagemaker".to_owned(),
        // "EMR Serverless", "EMR containers", "Redshift Data" and the one-word ids.
        other => other.to_ascii_lowercase().replace(' ', "-"),
    }
}

/// The IAM actions one SDK operation needs: `service:Operation`, except where IAM names the
/// permission otherwise (S3's listing and multipart calls, Lambda's Invoke).
pub fn iam_actions(service_id: &str, operation: &str) -> Vec<String> {
    let prefix = iam_prefix(service_id);
    let names: &[&str] = match (prefix.as_str(), operation) {
        ("s3", "ListObjectsV2" | "ListObjects" | "HeadBucket") => &["ListBucket"],
        ("s3", "ListObjectVersions") => &["ListBucketVersions"],
        ("s3", "ListBuckets") => &["ListAllMyBuckets"],
        ("s3", "HeadObject" | "SelectObjectContent") => &["GetObject"],
        ("s3", "CopyObject") => &["GetObject", "PutObject"],
        ("s3", "DeleteObjects") => &["DeleteObject"],
        (
            "s3",
            "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload" | "UploadPartCopy",
        ) => &["PutObject"],
        ("s3", "AbortMultipartUpload") => &["AbortMultipartUpload"],
        ("s3", "DeleteBucketTagging") => &["PutBucketTagging"],
        ("lambda", "Invoke" | "InvokeWithResponseStream" | "InvokeAsync") => &["InvokeFunction"],
        // SQS's batch calls are authorised as their single-message actions.
        ("sqs", "SendMessageBatch") => &["SendMessage"],
        ("sqs", "DeleteMessageBatch") => &["DeleteMessage"],
        ("sqs", "ChangeMessageVisibilityBatch") => &["ChangeMessageVisibility"],
        // Glue authorises the batch read of data-quality results as the single read.
        ("glue", "BatchGetDataQualityResult") => &["GetDataQualityResult"],
        _ => &[],
    };
    if names.is_empty() {
        vec![format!("{prefix}:{operation}")]
    } else {
        names.iter().map(|n| format!("{prefix}:{n}")).collect()
    }
}

/// Builds a client of the SDK crate `$sdk` for [`crate::client`] and [`crate::client_in`],
/// with the try's [`CallRecorder`]: `airtask_aws::client_in(ctx, region, airtask_aws::sdk!(aws_sdk_glue))`.
#[macro_export]
macro_rules! sdk {
    ($sdk:ident) => {
        |config: &$crate::SdkConfig, recorder: $crate::CallRecorder| {
            $sdk::Client::from_conf(
                $sdk::config::Builder::from(config)
                    .interceptor(recorder)
                    .build(),
            )
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_iam_actions() {
        assert_eq!(iam_actions("Glue", "StartJobRun"), ["glue:StartJobRun"]);
        assert_eq!(iam_actions("S3", "ListObjectsV2"), ["s3:ListBucket"]);
        assert_eq!(
            iam_actions("S3", "CopyObject"),
            ["s3:GetObject", "s3:PutObject"]
        );
        assert_eq!(iam_actions("Lambda", "Invoke"), ["lambda:InvokeFunction"]);
        assert_eq!(
            iam_actions("Redshift Data", "ExecuteStatement"),
            ["redshift-data:ExecuteStatement"]
        );
        assert_eq!(
            iam_actions("SFN", "StartExecution"),
            ["states:StartExecution"]
        );
        assert_eq!(
            iam_actions("Neptune", "StartDBCluster"),
            ["rds:StartDBCluster"]
        );
        assert_eq!(
            iam_actions("EMR Serverless", "StartJobRun"),
            ["emr-serverless:StartJobRun"]
        );
        assert_eq!(
            iam_actions("CloudWatch Logs", "GetLogEvents"),
            ["logs:GetLogEvents"]
        );
        assert_eq!(
            iam_actions("SQS", "DeleteMessageBatch"),
            ["sqs:DeleteMessage"]
        );
        assert_eq!(
            iam_actions("Glue", "BatchGetDataQualityResult"),
            ["glue:GetDataQualityResult"]
        );
    }
}
