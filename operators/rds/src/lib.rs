//! The Amazon provider's RDS operators and sensors, with the provider's parameters, defaults,
//! template fields and XCom values (see docs/operators/rds.md for where airtask departs from
//! the provider on purpose):
//!
//! - snapshots: `RdsCreateDbSnapshotOperator`, `RdsCopyDbSnapshotOperator`,
//!   `RdsDeleteDbSnapshotOperator` and `RdsSnapshotExistenceSensor` (instance or cluster
//!   snapshots by `db_type`);
//! - snapshot exports to S3: `RdsStartExportTaskOperator`, `RdsCancelExportTaskOperator` and
//!   `RdsExportTaskExistenceSensor`;
//! - event subscriptions: `RdsCreateEventSubscriptionOperator` and
//!   `RdsDeleteEventSubscriptionOperator`;
//! - databases: `RdsCreateDbInstanceOperator`, `RdsDeleteDbInstanceOperator`,
//!   `RdsStartDbOperator`, `RdsStopDbOperator` and `RdsDbSensor` (instances or clusters by
//!   `db_type`).
//!
//! Every operator returns the RDS answer as a JSON string (the provider's
//! `json.dumps(response, default=str)`) and runs with the task's AWS identity from the
//! runtime. None stops anything on kill: the provider's RDS operators have no on_kill.

mod common;
mod event;
mod export;
mod instance;
mod kwargs;
mod sensor;
mod snapshot;

use airtask_core::RegistryBuilder;

pub use event::{RdsCreateEventSubscriptionOperator, RdsDeleteEventSubscriptionOperator};
pub use export::{RdsCancelExportTaskOperator, RdsStartExportTaskOperator};
pub use instance::{
    RdsCreateDbInstanceOperator, RdsDeleteDbInstanceOperator, RdsStartDbOperator, RdsStopDbOperator,
};
pub use sensor::{RdsDbSensor, RdsExportTaskExistenceSensor, RdsSnapshotExistenceSensor};
pub use snapshot::{
    RdsCopyDbSnapshotOperator, RdsCreateDbSnapshotOperator, RdsDeleteDbSnapshotOperator,
};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<RdsCancelExportTaskOperator>()
        .register::<RdsCopyDbSnapshotOperator>()
        .register::<RdsCreateDbInstanceOperator>()
        .register::<RdsCreateDbSnapshotOperator>()
        .register::<RdsCreateEventSubscriptionOperator>()
        .register::<RdsDbSensor>()
        .register::<RdsDeleteDbInstanceOperator>()
        .register::<RdsDeleteDbSnapshotOperator>()
        .register::<RdsDeleteEventSubscriptionOperator>()
        .register::<RdsExportTaskExistenceSensor>()
        .register::<RdsSnapshotExistenceSensor>()
        .register::<RdsStartDbOperator>()
        .register::<RdsStopDbOperator>()
        .register::<RdsStartExportTaskOperator>()
}
