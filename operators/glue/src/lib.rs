//! The Amazon provider's Glue operators and sensors for airtask: Glue Data Quality (rulesets,
//! evaluation and recommendation runs) and DataBrew job runs, with the provider's parameters,
//! template fields and XCom values (see the README for where airtask departs from the provider
//! on purpose). Every operator runs with the task's AWS identity from the runtime.

mod data_quality;
mod databrew;

use airtask_core::RegistryBuilder;

pub use data_quality::{
    GlueDataQualityOperator, GlueDataQualityRuleRecommendationRunOperator,
    GlueDataQualityRuleRecommendationRunSensor, GlueDataQualityRuleSetEvaluationRunOperator,
    GlueDataQualityRuleSetEvaluationRunSensor,
};
pub use databrew::GlueDataBrewStartJobOperator;

/// Registers the Glue family's operators and sensors.
pub fn register(b: RegistryBuilder) -> RegistryBuilder {
    b.register::<GlueDataQualityOperator>()
        .register::<GlueDataQualityRuleSetEvaluationRunOperator>()
        .register::<GlueDataQualityRuleSetEvaluationRunSensor>()
        .register::<GlueDataQualityRuleRecommendationRunOperator>()
        .register::<GlueDataQualityRuleRecommendationRunSensor>()
        .register::<GlueDataBrewStartJobOperator>()
}
