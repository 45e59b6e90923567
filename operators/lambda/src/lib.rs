//! The Amazon provider's Lambda operators and sensor: `LambdaInvokeFunctionOperator`,
//! `LambdaCreateFunctionOperator` and `LambdaFunctionStateSensor`, with the provider's
//! parameters, template fields and XCom values (see the README's Lambda section for where
//! airtask departs from the provider on purpose). Every operator runs with the task's AWS
//! identity from the runtime.
//!
//! # Example
//! ```
//! let registry = airtask_lambda::register(airtask_core::Registry::builder()).build();
//! assert!(
//!     registry
//!         .lookup("airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator")
//!         .is_some()
//! );
//! ```

mod common;
mod create;
mod invoke;
mod state_sensor;

use airtask_core::RegistryBuilder;

pub use create::LambdaCreateFunctionOperator;
pub use invoke::LambdaInvokeFunctionOperator;
pub use state_sensor::LambdaFunctionStateSensor;

/// Registers the Lambda family's operators and sensor.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<LambdaInvokeFunctionOperator>()
        .register::<LambdaCreateFunctionOperator>()
        .register::<LambdaFunctionStateSensor>()
}
