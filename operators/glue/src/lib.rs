//! The Amazon provider's Glue operators and sensors: jobs (`GlueJobOperator`,
//! `GlueJobSensor`), crawlers (`GlueCrawlerOperator`, `GlueCrawlerSensor`) and catalog
//! partitions (`GlueCatalogPartitionSensor`), with the provider's parameters, defaults,
//! template fields and XCom values (see the README for where airtask departs from the provider
//! on purpose). Every operator runs with the task's AWS identity from the runtime.

mod crawler;
mod crawler_config;
mod job;
mod job_config;
mod job_logs;
mod job_sensor;
mod kwargs;
mod partition_sensor;
mod run_state;

use airtask_core::RegistryBuilder;

pub use crawler::{GlueCrawlerOperator, GlueCrawlerSensor};
pub use job::GlueJobOperator;
pub use job_sensor::GlueJobSensor;
pub use partition_sensor::GlueCatalogPartitionSensor;

/// Registers every operator of this crate.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<GlueJobOperator>()
        .register::<GlueJobSensor>()
        .register::<GlueCrawlerOperator>()
        .register::<GlueCrawlerSensor>()
        .register::<GlueCatalogPartitionSensor>()
}
