//! The Amazon provider's Bedrock operators and sensors:
//! `BedrockInvokeModelOperator` (InvokeModel; XCom is the model's decoded answer),
//! `BedrockCustomizeModelOperator` and `BedrockCreateProvisionedModelThroughputOperator`
//! (create, then wait; XCom is the ARN), `BedrockCreateKnowledgeBaseOperator`,
//! `BedrockCreateDataSourceOperator` and `BedrockIngestDataOperator` (knowledge bases; XCom is
//! the new id), `BedrockRaGOperator` and `BedrockRetrieveOperator` (queries; XCom is the
//! answer), and the sensors `BedrockCustomizeModelCompletedSensor`,
//! `BedrockProvisionModelThroughputCompletedSensor`, `BedrockKnowledgeBaseActiveSensor` and
//! `BedrockIngestionJobSensor`. See docs/operators/bedrock.md for where airtask departs from
//! the provider on purpose.

mod common;
mod customize;
mod invoke;
mod knowledge;
mod retrieve;
mod sensors;
mod status;
mod storage;

use airtask_core::RegistryBuilder;

pub use customize::{
    BedrockCreateProvisionedModelThroughputOperator, BedrockCustomizeModelOperator,
};
pub use invoke::BedrockInvokeModelOperator;
pub use knowledge::{
    BedrockCreateDataSourceOperator, BedrockCreateKnowledgeBaseOperator, BedrockIngestDataOperator,
};
pub use retrieve::{BedrockRaGOperator, BedrockRetrieveOperator};
pub use sensors::{
    BedrockCustomizeModelCompletedSensor, BedrockIngestionJobSensor,
    BedrockKnowledgeBaseActiveSensor, BedrockProvisionModelThroughputCompletedSensor,
};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<BedrockInvokeModelOperator>()
        .register::<BedrockCustomizeModelOperator>()
        .register::<BedrockCustomizeModelCompletedSensor>()
        .register::<BedrockCreateProvisionedModelThroughputOperator>()
        .register::<BedrockProvisionModelThroughputCompletedSensor>()
        .register::<BedrockCreateKnowledgeBaseOperator>()
        .register::<BedrockKnowledgeBaseActiveSensor>()
        .register::<BedrockCreateDataSourceOperator>()
        .register::<BedrockIngestDataOperator>()
        .register::<BedrockIngestionJobSensor>()
        .register::<BedrockRaGOperator>()
        .register::<BedrockRetrieveOperator>()
}
