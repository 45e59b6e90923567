//! The Amazon provider's Redshift operators and sensor: `RedshiftDataOperator` (SQL through
//! the Redshift Data API: run, wait, statement ids or SQL results as XCom; on_kill cancels the
//! statement), the cluster operators (`RedshiftCreateClusterOperator`,
//! `RedshiftCreateClusterSnapshotOperator`, `RedshiftDeleteClusterOperator`,
//! `RedshiftDeleteClusterSnapshotOperator`, `RedshiftPauseClusterOperator`,
//! `RedshiftResumeClusterOperator`) and `RedshiftClusterSensor`, with the provider's
//! parameters, defaults, template fields and XCom values (see docs/operators/redshift.md for
//! where airtask departs from the provider on purpose). Every operator runs with the task's AWS
//! identity from the runtime.

mod cluster;
mod cluster_ops;
mod cluster_sensor;
mod data;

use airtask_core::RegistryBuilder;

pub use cluster_ops::{
    RedshiftCreateClusterOperator, RedshiftCreateClusterSnapshotOperator,
    RedshiftDeleteClusterOperator, RedshiftDeleteClusterSnapshotOperator,
    RedshiftPauseClusterOperator, RedshiftResumeClusterOperator,
};
pub use cluster_sensor::RedshiftClusterSensor;
pub use data::RedshiftDataOperator;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<RedshiftDataOperator>()
        .register::<RedshiftCreateClusterOperator>()
        .register::<RedshiftCreateClusterSnapshotOperator>()
        .register::<RedshiftDeleteClusterOperator>()
        .register::<RedshiftDeleteClusterSnapshotOperator>()
        .register::<RedshiftPauseClusterOperator>()
        .register::<RedshiftResumeClusterOperator>()
        .register::<RedshiftClusterSensor>()
}
