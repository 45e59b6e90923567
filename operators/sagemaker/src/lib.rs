//! The Amazon provider's SageMaker operators and sensors: training, processing, transform,
//! tuning and AutoML jobs (each with its sensor), models, endpoint configs and endpoints (and
//! the endpoint sensor), pipelines (start, stop, sensor), notebook instances, experiments,
//! model versions, and SageMaker Unified Studio notebooks. The operators that take a boto3
//! request (`config`, `extras`, `create_instance_kwargs`) check it against the operation's
//! request shape ([`shapes`]) and send it as boto3 would; the describe answers they return are
//! the service's whole answer ([`wire`]). See docs/operators/sagemaker.md for where airtask
//! departs from the provider on purpose.

mod config;
mod endpoint;
mod hook;
mod jobs;
mod misc;
mod notebook;
mod pipeline;
mod sensors;
mod shapes;
mod training_logs;
mod unified;
mod wire;

use airtask_core::RegistryBuilder;

pub use endpoint::{
    SageMakerDeleteModelOperator, SageMakerEndpointConfigOperator, SageMakerEndpointOperator,
    SageMakerModelOperator,
};
pub use jobs::{
    SageMakerProcessingOperator, SageMakerTrainingOperator, SageMakerTransformOperator,
    SageMakerTuningOperator,
};
pub use misc::{
    SageMakerAutoMLOperator, SageMakerCreateExperimentOperator,
    SageMakerRegisterModelVersionOperator,
};
pub use notebook::{
    SageMakerCreateNotebookOperator, SageMakerDeleteNotebookOperator,
    SageMakerStartNoteBookOperator, SageMakerStopNotebookOperator,
};
pub use pipeline::{SageMakerStartPipelineOperator, SageMakerStopPipelineOperator};
pub use sensors::{
    SageMakerAutoMLSensor, SageMakerEndpointSensor, SageMakerPipelineSensor,
    SageMakerProcessingSensor, SageMakerTrainingSensor, SageMakerTransformSensor,
    SageMakerTuningSensor,
};
pub use unified::SageMakerNotebookOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<SageMakerTrainingOperator>()
        .register::<SageMakerTrainingSensor>()
        .register::<SageMakerProcessingOperator>()
        .register::<SageMakerProcessingSensor>()
        .register::<SageMakerTransformOperator>()
        .register::<SageMakerTransformSensor>()
        .register::<SageMakerTuningOperator>()
        .register::<SageMakerTuningSensor>()
        .register::<SageMakerAutoMLOperator>()
        .register::<SageMakerAutoMLSensor>()
        .register::<SageMakerModelOperator>()
        .register::<SageMakerDeleteModelOperator>()
        .register::<SageMakerEndpointConfigOperator>()
        .register::<SageMakerEndpointOperator>()
        .register::<SageMakerEndpointSensor>()
        .register::<SageMakerStartPipelineOperator>()
        .register::<SageMakerStopPipelineOperator>()
        .register::<SageMakerPipelineSensor>()
        .register::<SageMakerRegisterModelVersionOperator>()
        .register::<SageMakerCreateExperimentOperator>()
        .register::<SageMakerCreateNotebookOperator>()
        .register::<SageMakerStartNoteBookOperator>()
        .register::<SageMakerStopNotebookOperator>()
        .register::<SageMakerDeleteNotebookOperator>()
        .register::<SageMakerNotebookOperator>()
}
