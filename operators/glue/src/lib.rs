//! The Amazon provider's Glue operators and sensors for airtask: jobs (`GlueJobOperator`,
//! `GlueJobSensor`), crawlers (`GlueCrawlerOperator`, `GlueCrawlerSensor`), catalog partitions
//! (`GlueCatalogPartitionSensor`), Glue Data Quality (rulesets, evaluation and recommendation
//! runs) and DataBrew job runs, with the provider's parameters, defaults, template fields and
//! XCom values (see the README for where airtask departs from the provider on purpose). Every
//! operator runs with the task's AWS identity from the runtime.

mod crawler;
mod crawler_config;
mod data_quality;
mod databrew;
mod job;
mod job_config;
mod job_logs;
mod job_sensor;
mod partition_sensor;
mod perms;
mod run_state;

use airtask_core::RegistryBuilder;

pub use crawler::{GlueCrawlerOperator, GlueCrawlerSensor};
pub use data_quality::{
    GlueDataQualityOperator, GlueDataQualityRuleRecommendationRunOperator,
    GlueDataQualityRuleRecommendationRunSensor, GlueDataQualityRuleSetEvaluationRunOperator,
    GlueDataQualityRuleSetEvaluationRunSensor,
};
pub use databrew::GlueDataBrewStartJobOperator;
pub use job::GlueJobOperator;
pub use job_sensor::GlueJobSensor;
pub use partition_sensor::GlueCatalogPartitionSensor;

/// Registers the Glue family's operators and sensors.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<GlueJobOperator>()
        .register::<GlueJobSensor>()
        .register::<GlueCrawlerOperator>()
        .register::<GlueCrawlerSensor>()
        .register::<GlueCatalogPartitionSensor>()
        .register::<GlueDataQualityOperator>()
        .register::<GlueDataQualityRuleSetEvaluationRunOperator>()
        .register::<GlueDataQualityRuleSetEvaluationRunSensor>()
        .register::<GlueDataQualityRuleRecommendationRunOperator>()
        .register::<GlueDataQualityRuleRecommendationRunSensor>()
        .register::<GlueDataBrewStartJobOperator>()
}
