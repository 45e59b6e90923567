//! The Amazon provider's EC2 operators and sensor: `EC2CreateInstanceOperator` (RunInstances;
//! XCom is the list of instance ids; on_kill terminates them), `EC2StartInstanceOperator`,
//! `EC2StopInstanceOperator`, `EC2RebootInstanceOperator`, `EC2HibernateInstanceOperator`,
//! `EC2TerminateInstanceOperator` and `EC2InstanceStateSensor`, with the provider's
//! parameters, defaults, template fields and waits (boto3's `instance_running`,
//! `instance_stopped` and `instance_terminated` waiters, and the hook's `wait_for_state`).
//! See docs/operators/ec2.md for where airtask departs from the provider on purpose. All run
//! with the task's AWS identity from the runtime.

mod create;
mod instances;
mod run_config;
mod sensor;
mod state;

use airtask_core::RegistryBuilder;

pub use create::EC2CreateInstanceOperator;
pub use instances::{
    EC2HibernateInstanceOperator, EC2RebootInstanceOperator, EC2StartInstanceOperator,
    EC2StopInstanceOperator, EC2TerminateInstanceOperator,
};
pub use sensor::EC2InstanceStateSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<EC2CreateInstanceOperator>()
        .register::<EC2StartInstanceOperator>()
        .register::<EC2StopInstanceOperator>()
        .register::<EC2RebootInstanceOperator>()
        .register::<EC2HibernateInstanceOperator>()
        .register::<EC2TerminateInstanceOperator>()
        .register::<EC2InstanceStateSensor>()
}
