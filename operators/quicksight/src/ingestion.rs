//! What the operator and the sensor share: the account of the task's identity, an
//! ingestion's status (DescribeIngestion) and its error info, and the hook's logger.

use airtask_core::{TaskContext, TaskError};
use aws_sdk_quicksight::Client;

/// The logger of the QuickSight hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.quicksight.QuickSightHook";

/// The account id of the task's identity (the hook's `account_id`: STS GetCallerIdentity).
///
/// # Errors
/// STS's error, retryable as the identity layer says.
pub(crate) async fn account_id(ctx: &TaskContext) -> Result<String, TaskError> {
    let config = airtask_aws::identity::task_config(ctx)?;
    let arn = airtask_aws::identity::caller_arn(config, "task")
        .await
        .map_err(|e| TaskError {
            message: format!("cannot find the AWS account of the task's identity: {e}"),
            retryable: e.retryable(),
        })?;
    account_of(&arn).ok_or_else(|| {
        TaskError::fatal(format!(
            "cannot find the AWS account of the task's identity: STS answered the ARN \
             '{arn}', which names no account"
        ))
    })
}

/// The ARN of the ingestion `ingestion_id` of the dataset `data_set_id`.
pub(crate) fn ingestion_arn(
    aws: &airtask_aws::AwsParams,
    data_set_id: &str,
    ingestion_id: &str,
) -> String {
    airtask_core::permissions::arn(
        "quicksight",
        aws.region(),
        &format!("dataset/{data_set_id}/ingestion/{ingestion_id}"),
    )
}

/// The account field of an ARN (`arn:aws:sts::123456789012:assumed-role/...`).
pub(crate) fn account_of(arn: &str) -> Option<String> {
    arn.split(':')
        .nth(4)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
}

/// An ingestion's status and, when it has one, its error info as the provider prints it
/// (`{'Type': ..., 'Message': ...}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Status {
    /// IngestionStatus (INITIALIZED, QUEUED, RUNNING, COMPLETED, FAILED, CANCELLED).
    pub(crate) status: String,
    /// ErrorInfo, printed.
    pub(crate) error_info: String,
}

/// DescribeIngestion of `ingestion_id` of `data_set_id` in `account`.
///
/// # Errors
/// The SDK's error, as "AWS request failed" (the hook's wording), classified by the AWS
/// toolbox.
pub(crate) async fn status(
    qs: &Client,
    account: &str,
    data_set_id: &str,
    ingestion_id: &str,
) -> Result<Status, TaskError> {
    let out = qs
        .describe_ingestion()
        .aws_account_id(account)
        .data_set_id(data_set_id)
        .ingestion_id(ingestion_id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(
                &format!(
                    "AWS request failed: DescribeIngestion {ingestion_id} of data set \
                     {data_set_id}"
                ),
                &e,
            )
        })?;
    let Some(ing) = out.ingestion() else {
        return Err(TaskError::retryable(format!(
            "Could not get status of the Amazon QuickSight Ingestion {ingestion_id}: the \
             answer has no Ingestion"
        )));
    };
    let error_info = match ing.error_info() {
        None => "None".to_owned(),
        Some(e) => format!(
            "{{'Type': '{}', 'Message': '{}'}}",
            e.r#type().map_or("", |t| t.as_str()),
            e.message().unwrap_or_default()
        ),
    };
    Ok(Status {
        status: ing.ingestion_status().as_str().to_owned(),
        error_info,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_fifth_field() {
        assert_eq!(
            account_of("arn:aws:sts::123456789012:assumed-role/r/s").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam:::user/x"), None);
        assert_eq!(account_of("nonsense"), None);
    }
}
