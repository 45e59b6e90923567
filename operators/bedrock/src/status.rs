//! The describe calls the waiters and sensors poll: GetModelCustomizationJob,
//! GetProvisionedModelThroughput, GetKnowledgeBase and GetIngestionJob, each reduced to a
//! [`Status`].

use airtask_core::TaskError;

use crate::common::Status;

/// The status of model customization job `job` (name or ARN).
///
/// # Errors
/// The SDK's error, classified by the AWS toolbox.
pub(crate) async fn customization_job(
    bedrock: &aws_sdk_bedrock::Client,
    job: &str,
) -> Result<Status, TaskError> {
    let out = bedrock
        .get_model_customization_job()
        .job_identifier(job)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("GetModelCustomizationJob {job}"), &e)
        })?;
    Ok(Status {
        status: out
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        reason: out.failure_message().map(str::to_owned),
    })
}

/// The status of provisioned throughput `id` (name or ARN).
///
/// # Errors
/// The SDK's error.
pub(crate) async fn provisioned_throughput(
    bedrock: &aws_sdk_bedrock::Client,
    id: &str,
) -> Result<Status, TaskError> {
    let out = bedrock
        .get_provisioned_model_throughput()
        .provisioned_model_id(id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("GetProvisionedModelThroughput {id}"), &e)
        })?;
    Ok(Status {
        status: out.status().as_str().to_owned(),
        reason: out.failure_message().map(str::to_owned),
    })
}

/// The status of knowledge base `id`.
///
/// # Errors
/// The SDK's error.
pub(crate) async fn knowledge_base(
    agent: &aws_sdk_bedrockagent::Client,
    id: &str,
) -> Result<Status, TaskError> {
    let out = agent
        .get_knowledge_base()
        .knowledge_base_id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("GetKnowledgeBase {id}"), &e))?;
    let kb = out.knowledge_base();
    Ok(Status {
        status: kb
            .map(|k| k.status().as_str().to_owned())
            .unwrap_or_default(),
        reason: kb
            .map(|k| k.failure_reasons().join("; "))
            .filter(|r| !r.is_empty()),
    })
}

/// The ids of an ingestion job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IngestionJob {
    /// The knowledge base.
    pub(crate) knowledge_base_id: String,
    /// The data source.
    pub(crate) data_source_id: String,
    /// The job.
    pub(crate) ingestion_job_id: String,
}

/// The status of ingestion job `job`.
///
/// # Errors
/// The SDK's error.
pub(crate) async fn ingestion_job(
    agent: &aws_sdk_bedrockagent::Client,
    job: &IngestionJob,
) -> Result<Status, TaskError> {
    let id = &job.ingestion_job_id;
    let out = agent
        .get_ingestion_job()
        .knowledge_base_id(&job.knowledge_base_id)
        .data_source_id(&job.data_source_id)
        .ingestion_job_id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("GetIngestionJob {id}"), &e))?;
    let j = out.ingestion_job();
    Ok(Status {
        status: j
            .map(|j| j.status().as_str().to_owned())
            .unwrap_or_default(),
        reason: j
            .map(|j| j.failure_reasons().join("; "))
            .filter(|r| !r.is_empty()),
    })
}
