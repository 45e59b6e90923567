//! The Amazon provider's Neptune operators: `NeptuneStartDbClusterOperator` and
//! `NeptuneStopDbClusterOperator` start or stop a Neptune DB cluster and, by default, wait until
//! it is available or stopped; the XCom of both is `{"db_cluster_id": ...}`. A cluster already
//! where it should be returns at once; one in an error state fails the task; a cluster or
//! instance whose state refuses the call is waited for, as the provider does (see
//! docs/operators/neptune.md, also for where airtask departs from the provider). Both run with
//! the task's AWS identity from the runtime.

mod cluster;

use airtask_core::RegistryBuilder;

pub use cluster::{NeptuneStartDbClusterOperator, NeptuneStopDbClusterOperator};

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<NeptuneStartDbClusterOperator>()
        .register::<NeptuneStopDbClusterOperator>()
}
