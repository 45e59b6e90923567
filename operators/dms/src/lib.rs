//! The Amazon provider's DMS replication-task operators and sensor: `DmsCreateTaskOperator`
//! (create a task and wait until it is ready; XCom is its ARN), `DmsDeleteTaskOperator`
//! (delete a task and wait until it is gone), `DmsDescribeTasksOperator` (DescribeReplicationTasks;
//! XCom is `[Marker, ReplicationTasks]`), `DmsStartTaskOperator`, `DmsStopTaskOperator` and
//! `DmsTaskCompletedSensor` (met when the task is stopped; fails on the provider's termination
//! statuses). Parameters, defaults, template fields and XCom values are the provider's (see
//! docs/operators/dms.md for where airtask departs from it). All run with the task's AWS
//! identity from the runtime.

mod kwargs;
mod operators;
mod sensor;
mod task;

use airtask_core::RegistryBuilder;

pub use operators::{
    DmsCreateTaskOperator, DmsDeleteTaskOperator, DmsDescribeTasksOperator, DmsStartTaskOperator,
    DmsStopTaskOperator,
};
pub use sensor::DmsTaskCompletedSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<DmsCreateTaskOperator>()
        .register::<DmsDeleteTaskOperator>()
        .register::<DmsDescribeTasksOperator>()
        .register::<DmsStartTaskOperator>()
        .register::<DmsStopTaskOperator>()
        .register::<DmsTaskCompletedSensor>()
}
