//! `storage_config` of `BedrockCreateKnowledgeBaseOperator`: boto3's `storageConfiguration`
//! (the vector store), read into the SDK's type. Every store type of the API is read, with
//! its field mapping; a key the API does not have is refused by its path.

use airtask_core::kwargs::Obj;
use aws_sdk_bedrockagent::types::{
    KnowledgeBaseStorageType, MongoDbAtlasConfiguration, MongoDbAtlasFieldMapping,
    NeptuneAnalyticsConfiguration, NeptuneAnalyticsFieldMapping,
    OpenSearchManagedClusterConfiguration, OpenSearchManagedClusterFieldMapping,
    OpenSearchServerlessConfiguration, OpenSearchServerlessFieldMapping, PineconeConfiguration,
    PineconeFieldMapping, RdsConfiguration, RdsFieldMapping, RedisEnterpriseCloudConfiguration,
    RedisEnterpriseCloudFieldMapping, S3VectorsConfiguration, StorageConfiguration,
};
use serde_json::Value;

use crate::common::required;

const P: &str = "storage_config";

/// The store types and the key of each one's configuration.
const TYPES: &[(&str, &str)] = &[
    ("OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration"),
    (
        "OPENSEARCH_MANAGED_CLUSTER",
        "opensearchManagedClusterConfiguration",
    ),
    ("PINECONE", "pineconeConfiguration"),
    (
        "REDIS_ENTERPRISE_CLOUD",
        "redisEnterpriseCloudConfiguration",
    ),
    ("RDS", "rdsConfiguration"),
    ("MONGO_DB_ATLAS", "mongoDbAtlasConfiguration"),
    ("NEPTUNE_ANALYTICS", "neptuneAnalyticsConfiguration"),
    ("S3_VECTORS", "s3VectorsConfiguration"),
];

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The required string fields `keys` of the mapping `o` at `path`, in order.
fn strings<const N: usize>(
    o: &mut Obj<'_>,
    path: &str,
    keys: [&'static str; N],
) -> Result<[String; N], String> {
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, key) in out.iter_mut().zip(keys) {
        *slot = required(o, path, key)?;
    }
    Ok(out)
}

/// Reads the field mapping under `fieldMapping` with `read`, then refuses other keys.
fn mapping<T>(
    o: &mut Obj<'_>,
    path: &str,
    read: impl FnOnce(&mut Obj<'_>, &str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    let at = format!("{path}.fieldMapping");
    match o.obj("fieldMapping")? {
        None => Ok(None),
        Some(mut m) => {
            let v = read(&mut m, &at)?;
            m.finish()?;
            Ok(Some(v))
        }
    }
}

/// Reads `storage_config`.
///
/// # Errors
/// A missing or unknown type, a missing configuration or field, or a key the API lacks.
pub(crate) fn read(v: &Value, rendered: bool) -> Result<StorageConfiguration, String> {
    let mut o = Obj::new(P, v, rendered)?;
    let kind = required(&mut o, P, "type")?;
    let Some((_, key)) = TYPES.iter().find(|(t, _)| *t == kind) else {
        return Err(format!(
            "`{P}.type` is '{kind}'; the vector store types are {}",
            TYPES.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", ")
        ));
    };
    let path = format!("{P}.{key}");
    let mut c = o
        .obj(key)?
        .ok_or_else(|| format!("`{P}.{key}` is required when `{P}.type` is {kind}"))?;
    let b = StorageConfiguration::builder().r#type(KnowledgeBaseStorageType::from(kind.as_str()));
    let b = match kind.as_str() {
        "OPENSEARCH_SERVERLESS" => {
            let [arn, index] = strings(&mut c, &path, ["collectionArn", "vectorIndexName"])?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [v, t, md] = strings(m, at, ["vectorField", "textField", "metadataField"])?;
                OpenSearchServerlessFieldMapping::builder()
                    .vector_field(v)
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.opensearch_serverless_configuration(
                OpenSearchServerlessConfiguration::builder()
                    .collection_arn(arn)
                    .vector_index_name(index)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "OPENSEARCH_MANAGED_CLUSTER" => {
            let [endpoint, arn, index] = strings(
                &mut c,
                &path,
                ["domainEndpoint", "domainArn", "vectorIndexName"],
            )?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [v, t, md] = strings(m, at, ["vectorField", "textField", "metadataField"])?;
                OpenSearchManagedClusterFieldMapping::builder()
                    .vector_field(v)
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.opensearch_managed_cluster_configuration(
                OpenSearchManagedClusterConfiguration::builder()
                    .domain_endpoint(endpoint)
                    .domain_arn(arn)
                    .vector_index_name(index)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "PINECONE" => {
            let [conn, secret] =
                strings(&mut c, &path, ["connectionString", "credentialsSecretArn"])?;
            let namespace = c.str("namespace")?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [t, md] = strings(m, at, ["textField", "metadataField"])?;
                PineconeFieldMapping::builder()
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.pinecone_configuration(
                PineconeConfiguration::builder()
                    .connection_string(conn)
                    .credentials_secret_arn(secret)
                    .set_namespace(namespace)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "REDIS_ENTERPRISE_CLOUD" => {
            let [endpoint, index, secret] = strings(
                &mut c,
                &path,
                ["endpoint", "vectorIndexName", "credentialsSecretArn"],
            )?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [v, t, md] = strings(m, at, ["vectorField", "textField", "metadataField"])?;
                RedisEnterpriseCloudFieldMapping::builder()
                    .vector_field(v)
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.redis_enterprise_cloud_configuration(
                RedisEnterpriseCloudConfiguration::builder()
                    .endpoint(endpoint)
                    .vector_index_name(index)
                    .credentials_secret_arn(secret)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "RDS" => {
            let [arn, secret, db, table] = strings(
                &mut c,
                &path,
                [
                    "resourceArn",
                    "credentialsSecretArn",
                    "databaseName",
                    "tableName",
                ],
            )?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [pk, v, t, md] = strings(
                    m,
                    at,
                    [
                        "primaryKeyField",
                        "vectorField",
                        "textField",
                        "metadataField",
                    ],
                )?;
                let custom = m.str("customMetadataField")?;
                RdsFieldMapping::builder()
                    .primary_key_field(pk)
                    .vector_field(v)
                    .text_field(t)
                    .metadata_field(md)
                    .set_custom_metadata_field(custom)
                    .build()
                    .map_err(err)
            })?;
            b.rds_configuration(
                RdsConfiguration::builder()
                    .resource_arn(arn)
                    .credentials_secret_arn(secret)
                    .database_name(db)
                    .table_name(table)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "MONGO_DB_ATLAS" => {
            let [endpoint, db, coll, index, secret] = strings(
                &mut c,
                &path,
                [
                    "endpoint",
                    "databaseName",
                    "collectionName",
                    "vectorIndexName",
                    "credentialsSecretArn",
                ],
            )?;
            let service = c.str("endpointServiceName")?;
            let text_index = c.str("textIndexName")?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [v, t, md] = strings(m, at, ["vectorField", "textField", "metadataField"])?;
                MongoDbAtlasFieldMapping::builder()
                    .vector_field(v)
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.mongo_db_atlas_configuration(
                MongoDbAtlasConfiguration::builder()
                    .endpoint(endpoint)
                    .database_name(db)
                    .collection_name(coll)
                    .vector_index_name(index)
                    .credentials_secret_arn(secret)
                    .set_endpoint_service_name(service)
                    .set_text_index_name(text_index)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        "NEPTUNE_ANALYTICS" => {
            let [graph] = strings(&mut c, &path, ["graphArn"])?;
            let fm = mapping(&mut c, &path, |m, at| {
                let [t, md] = strings(m, at, ["textField", "metadataField"])?;
                NeptuneAnalyticsFieldMapping::builder()
                    .text_field(t)
                    .metadata_field(md)
                    .build()
                    .map_err(err)
            })?;
            b.neptune_analytics_configuration(
                NeptuneAnalyticsConfiguration::builder()
                    .graph_arn(graph)
                    .set_field_mapping(fm)
                    .build()
                    .map_err(err)?,
            )
        }
        _ => b.s3_vectors_configuration(
            S3VectorsConfiguration::builder()
                .set_vector_bucket_arn(c.str("vectorBucketArn")?)
                .set_index_arn(c.str("indexArn")?)
                .set_index_name(c.str("indexName")?)
                .build(),
        ),
    };
    c.finish()?;
    o.finish()?;
    b.build().map_err(err)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_each_store_and_refuses_what_the_api_lacks() {
        let s = read(
            &json!({"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {
                "collectionArn": "arn:c", "vectorIndexName": "i",
                "fieldMapping": {"vectorField": "v", "textField": "t", "metadataField": "m"}}}),
            true,
        )
        .unwrap();
        assert_eq!(s.r#type, KnowledgeBaseStorageType::OpensearchServerless);
        let c = s.opensearch_serverless_configuration.unwrap();
        assert_eq!(c.collection_arn, "arn:c");
        assert_eq!(c.field_mapping.unwrap().text_field, "t");
        let s = read(
            &json!({"type": "RDS", "rdsConfiguration": {"resourceArn": "r", "credentialsSecretArn": "s",
                "databaseName": "d", "tableName": "t"}}),
            true,
        )
        .unwrap();
        assert_eq!(s.rds_configuration.unwrap().table_name, "t");
        let e = read(&json!({"type": "CHROMA"}), true).unwrap_err();
        assert!(e.starts_with("`storage_config.type` is 'CHROMA'"), "{e}");
        let e = read(&json!({"type": "PINECONE"}), true).unwrap_err();
        assert!(
            e.contains("`storage_config.pineconeConfiguration` is required"),
            "{e}"
        );
        let e = read(
            &json!({"type": "NEPTUNE_ANALYTICS", "neptuneAnalyticsConfiguration": {"graphArn": "g", "x": 1}}),
            true,
        )
        .unwrap_err();
        assert!(
            e.contains("`storage_config.neptuneAnalyticsConfiguration.x`"),
            "{e}"
        );
        let e = read(
            &json!({"type": "OPENSEARCH_SERVERLESS", "opensearchServerlessConfiguration": {"collectionArn": "a"}}),
            true,
        )
        .unwrap_err();
        assert_eq!(
            e,
            "`storage_config.opensearchServerlessConfiguration.vectorIndexName` is required"
        );
    }
}
