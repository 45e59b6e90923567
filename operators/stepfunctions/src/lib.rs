//! The Amazon provider's Step Functions operators and sensor:
//! `StepFunctionStartExecutionOperator` (StartExecution or RedriveExecution; XCom is the
//! execution ARN; with `deferrable` it waits for the execution, and on_kill then stops it),
//! `StepFunctionExecutionSensor` (waits for an execution; pushes its output as the XCom
//! `output`) and `StepFunctionGetExecutionOutputOperator` (XCom is the execution's output, or
//! its error). See docs/operators/stepfunctions.md for where airtask departs from the
//! provider on purpose.

mod execution;
mod output;
mod sensor;
mod start;

use airtask_core::RegistryBuilder;

pub use output::StepFunctionGetExecutionOutputOperator;
pub use sensor::StepFunctionExecutionSensor;
pub use start::StepFunctionStartExecutionOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<StepFunctionStartExecutionOperator>()
        .register::<StepFunctionExecutionSensor>()
        .register::<StepFunctionGetExecutionOutputOperator>()
}
