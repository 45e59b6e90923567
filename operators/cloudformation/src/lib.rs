//! The Amazon provider's CloudFormation operators and sensors:
//! `CloudFormationCreateStackOperator` (CreateStack with `cloudformation_parameters`; it does
//! not wait, and pushes no XCom), `CloudFormationDeleteStackOperator` (DeleteStack),
//! `CloudFormationCreateStackSensor` (met at CREATE_COMPLETE, fails at any state but
//! CREATE_IN_PROGRESS) and `CloudFormationDeleteStackSensor` (met at DELETE_COMPLETE or when
//! the stack is gone, fails at any state but DELETE_IN_PROGRESS), with the provider's
//! parameters, defaults and template fields (docs/operators/cloudformation.md says where
//! airtask departs from the provider). All run with the task's AWS identity from the runtime.

mod kwargs;
mod sensor;
mod stack;

use airtask_core::RegistryBuilder;

pub use sensor::{CloudFormationCreateStackSensor, CloudFormationDeleteStackSensor};
pub use stack::{CloudFormationCreateStackOperator, CloudFormationDeleteStackOperator};

/// The logger of the CloudFormation hook's lines.
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.cloud_formation.CloudFormationHook";

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<CloudFormationCreateStackOperator>()
        .register::<CloudFormationDeleteStackOperator>()
        .register::<CloudFormationCreateStackSensor>()
        .register::<CloudFormationDeleteStackSensor>()
}
