//! GlueCrawlerOperator's `config` (boto3's CreateCrawler arguments) read into the SDK's types,
//! for CreateCrawler and UpdateCrawler.

use std::collections::HashMap;

use aws_sdk_glue::operation::create_crawler::builders::CreateCrawlerFluentBuilder;
use aws_sdk_glue::operation::update_crawler::builders::UpdateCrawlerFluentBuilder;
use aws_sdk_glue::types::{
    CatalogTarget, CrawlerLineageSettings, CrawlerTargets, DeleteBehavior, DeltaTarget,
    DynamoDbTarget, HudiTarget, IcebergTarget, JdbcTarget, LakeFormationConfiguration,
    LineageConfiguration, MongoDbTarget, RecrawlBehavior, RecrawlPolicy, S3Target,
    SchemaChangePolicy, UpdateBehavior,
};
use serde_json::Value;

use airtask_core::kwargs::Obj;

/// A crawler's definition.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CrawlerConfig {
    pub name: String,
    pub role: Option<String>,
    pub database_name: Option<String>,
    pub description: Option<String>,
    pub targets: Option<CrawlerTargets>,
    pub schedule: Option<String>,
    pub classifiers: Option<Vec<String>>,
    pub table_prefix: Option<String>,
    pub schema_change_policy: Option<SchemaChangePolicy>,
    pub recrawl_policy: Option<RecrawlPolicy>,
    pub lineage_configuration: Option<LineageConfiguration>,
    pub lake_formation_configuration: Option<LakeFormationConfiguration>,
    pub configuration: Option<String>,
    pub crawler_security_configuration: Option<String>,
    pub tags: Option<HashMap<String, String>>,
}

fn targets(mut t: Obj<'_>) -> Result<CrawlerTargets, String> {
    let mut b = CrawlerTargets::builder();
    for mut s in t.objs("S3Targets")?.unwrap_or_default() {
        b = b.s3_targets(
            S3Target::builder()
                .set_path(s.str("Path")?)
                .set_exclusions(s.str_list("Exclusions")?)
                .set_connection_name(s.str("ConnectionName")?)
                .set_sample_size(s.i32("SampleSize")?)
                .set_event_queue_arn(s.str("EventQueueArn")?)
                .set_dlq_event_queue_arn(s.str("DlqEventQueueArn")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("JdbcTargets")?.unwrap_or_default() {
        b = b.jdbc_targets(
            JdbcTarget::builder()
                .set_connection_name(s.str("ConnectionName")?)
                .set_path(s.str("Path")?)
                .set_exclusions(s.str_list("Exclusions")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("MongoDBTargets")?.unwrap_or_default() {
        b = b.mongo_db_targets(
            MongoDbTarget::builder()
                .set_connection_name(s.str("ConnectionName")?)
                .set_path(s.str("Path")?)
                .set_scan_all(s.bool("ScanAll")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("DynamoDBTargets")?.unwrap_or_default() {
        b = b.dynamo_db_targets(
            DynamoDbTarget::builder()
                .set_path(s.str("Path")?)
                .set_scan_all(s.bool("scanAll")?)
                .set_scan_rate(s.f64("scanRate")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("CatalogTargets")?.unwrap_or_default() {
        b = b.catalog_targets(
            CatalogTarget::builder()
                .set_database_name(s.str("DatabaseName")?)
                .set_tables(s.str_list("Tables")?)
                .set_connection_name(s.str("ConnectionName")?)
                .set_event_queue_arn(s.str("EventQueueArn")?)
                .set_dlq_event_queue_arn(s.str("DlqEventQueueArn")?)
                .build()
                .map_err(|e| format!("a crawler's `CatalogTargets` entry: {e}"))?,
        );
        s.finish()?;
    }
    for mut s in t.objs("DeltaTargets")?.unwrap_or_default() {
        b = b.delta_targets(
            DeltaTarget::builder()
                .set_delta_tables(s.str_list("DeltaTables")?)
                .set_connection_name(s.str("ConnectionName")?)
                .set_write_manifest(s.bool("WriteManifest")?)
                .set_create_native_delta_table(s.bool("CreateNativeDeltaTable")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("IcebergTargets")?.unwrap_or_default() {
        b = b.iceberg_targets(
            IcebergTarget::builder()
                .set_paths(s.str_list("Paths")?)
                .set_connection_name(s.str("ConnectionName")?)
                .set_exclusions(s.str_list("Exclusions")?)
                .set_maximum_traversal_depth(s.i32("MaximumTraversalDepth")?)
                .build(),
        );
        s.finish()?;
    }
    for mut s in t.objs("HudiTargets")?.unwrap_or_default() {
        b = b.hudi_targets(
            HudiTarget::builder()
                .set_paths(s.str_list("Paths")?)
                .set_connection_name(s.str("ConnectionName")?)
                .set_exclusions(s.str_list("Exclusions")?)
                .set_maximum_traversal_depth(s.i32("MaximumTraversalDepth")?)
                .build(),
        );
        s.finish()?;
    }
    t.finish()?;
    Ok(b.build())
}

impl CrawlerConfig {
    /// Reads `config`; it must name the crawler (`Name`).
    pub(crate) fn read(config: &Value, rendered: bool) -> Result<CrawlerConfig, String> {
        let mut o = Obj::new("config", config, rendered)?;
        let name = o.str("Name")?.ok_or(
            "`config` needs `Name`: the crawler's name (config holds boto3's CreateCrawler \
             arguments)",
        )?;
        let schema_change_policy = o.nested("SchemaChangePolicy", |p| {
            Ok(SchemaChangePolicy::builder()
                .set_update_behavior(
                    p.str("UpdateBehavior")?
                        .as_deref()
                        .map(UpdateBehavior::from),
                )
                .set_delete_behavior(
                    p.str("DeleteBehavior")?
                        .as_deref()
                        .map(DeleteBehavior::from),
                )
                .build())
        })?;
        let recrawl_policy = o.nested("RecrawlPolicy", |p| {
            Ok(RecrawlPolicy::builder()
                .set_recrawl_behavior(
                    p.str("RecrawlBehavior")?
                        .as_deref()
                        .map(RecrawlBehavior::from),
                )
                .build())
        })?;
        let lineage_configuration = o.nested("LineageConfiguration", |p| {
            Ok(LineageConfiguration::builder()
                .set_crawler_lineage_settings(
                    p.str("CrawlerLineageSettings")?
                        .as_deref()
                        .map(CrawlerLineageSettings::from),
                )
                .build())
        })?;
        let lake_formation_configuration = o.nested("LakeFormationConfiguration", |p| {
            Ok(LakeFormationConfiguration::builder()
                .set_use_lake_formation_credentials(p.bool("UseLakeFormationCredentials")?)
                .set_account_id(p.str("AccountId")?)
                .build())
        })?;
        let targets = o.obj("Targets")?.map(targets).transpose()?;
        let config = CrawlerConfig {
            name,
            role: o.str("Role")?,
            database_name: o.str("DatabaseName")?,
            description: o.str("Description")?,
            targets,
            schedule: o.str("Schedule")?,
            classifiers: o.str_list("Classifiers")?,
            table_prefix: o.str("TablePrefix")?,
            schema_change_policy,
            recrawl_policy,
            lineage_configuration,
            lake_formation_configuration,
            configuration: o.str("Configuration")?,
            crawler_security_configuration: o.str("CrawlerSecurityConfiguration")?,
            tags: o.str_map("Tags")?,
        };
        o.finish()?;
        Ok(config)
    }

    /// CreateCrawler with this definition (Tags included).
    pub(crate) fn create(&self, b: CreateCrawlerFluentBuilder) -> CreateCrawlerFluentBuilder {
        b.name(&self.name)
            .set_role(self.role.clone())
            .set_database_name(self.database_name.clone())
            .set_description(self.description.clone())
            .set_targets(self.targets.clone())
            .set_schedule(self.schedule.clone())
            .set_classifiers(self.classifiers.clone())
            .set_table_prefix(self.table_prefix.clone())
            .set_schema_change_policy(self.schema_change_policy.clone())
            .set_recrawl_policy(self.recrawl_policy.clone())
            .set_lineage_configuration(self.lineage_configuration.clone())
            .set_lake_formation_configuration(self.lake_formation_configuration.clone())
            .set_configuration(self.configuration.clone())
            .set_crawler_security_configuration(self.crawler_security_configuration.clone())
            .set_tags(self.tags.clone())
    }

    /// UpdateCrawler with this definition (UpdateCrawler takes no Tags).
    pub(crate) fn update(&self, b: UpdateCrawlerFluentBuilder) -> UpdateCrawlerFluentBuilder {
        b.name(&self.name)
            .set_role(self.role.clone())
            .set_database_name(self.database_name.clone())
            .set_description(self.description.clone())
            .set_targets(self.targets.clone())
            .set_schedule(self.schedule.clone())
            .set_classifiers(self.classifiers.clone())
            .set_table_prefix(self.table_prefix.clone())
            .set_schema_change_policy(self.schema_change_policy.clone())
            .set_recrawl_policy(self.recrawl_policy.clone())
            .set_lineage_configuration(self.lineage_configuration.clone())
            .set_lake_formation_configuration(self.lake_formation_configuration.clone())
            .set_configuration(self.configuration.clone())
            .set_crawler_security_configuration(self.crawler_security_configuration.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_corpus_crawler_config_is_read() {
        let v = json!({
            "Name": "c",
            "Role": "arn:aws:iam::1:role/r",
            "DatabaseName": "db",
            "Targets": {"S3Targets": [{"Path": "bucket/input"}]}
        });
        let c = CrawlerConfig::read(&v, true).unwrap();
        assert_eq!(c.name, "c");
        let t = c.targets.unwrap();
        assert_eq!(t.s3_targets()[0].path(), Some("bucket/input"));
    }

    #[test]
    fn a_config_without_name_or_with_a_typo_is_refused() {
        let e = CrawlerConfig::read(&json!({"Role": "r"}), true).unwrap_err();
        assert!(e.contains("`config` needs `Name`"), "{e}");
        let e = CrawlerConfig::read(&json!({"Name": "c", "Targets": {"S3Target": []}}), true)
            .unwrap_err();
        assert!(e.contains("`config.Targets.S3Target`"), "{e}");
    }
}
