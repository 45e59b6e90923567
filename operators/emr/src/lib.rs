//! The Amazon provider's EMR operators and sensors, with the provider's parameters, defaults,
//! template fields, XCom values and waits:
//! - job flows (clusters): `EmrCreateJobFlowOperator`, `EmrAddStepsOperator`,
//!   `EmrModifyClusterOperator`, `EmrTerminateJobFlowOperator`, `EmrJobFlowSensor`,
//!   `EmrStepSensor`;
//! - notebook executions: `EmrStartNotebookExecutionOperator`,
//!   `EmrStopNotebookExecutionOperator`, `EmrNotebookExecutionSensor`;
//! - EMR on EKS: `EmrContainerOperator`, `EmrContainerSensor`, `EmrEksCreateClusterOperator`.
//!
//! See docs/operators/emr.md for where airtask departs from the provider on purpose. All run
//! with the task's AWS identity from the runtime.

mod cluster;
mod common;
mod containers;
mod job_flow;
mod notebook;
mod sensors;
mod steps;

use airtask_core::RegistryBuilder;

pub use cluster::{
    EmrCreateJobFlowOperator, EmrModifyClusterOperator, EmrTerminateJobFlowOperator,
};
pub use containers::{EmrContainerOperator, EmrContainerSensor, EmrEksCreateClusterOperator};
pub use notebook::{EmrStartNotebookExecutionOperator, EmrStopNotebookExecutionOperator};
pub use sensors::{EmrJobFlowSensor, EmrNotebookExecutionSensor, EmrStepSensor};
pub use steps::EmrAddStepsOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EmrCreateJobFlowOperator>()
        .register::<EmrAddStepsOperator>()
        .register::<EmrModifyClusterOperator>()
        .register::<EmrTerminateJobFlowOperator>()
        .register::<EmrJobFlowSensor>()
        .register::<EmrStepSensor>()
        .register::<EmrStartNotebookExecutionOperator>()
        .register::<EmrStopNotebookExecutionOperator>()
        .register::<EmrNotebookExecutionSensor>()
        .register::<EmrContainerOperator>()
        .register::<EmrContainerSensor>()
        .register::<EmrEksCreateClusterOperator>()
}
