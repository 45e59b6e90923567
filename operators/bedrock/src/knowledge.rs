//! The knowledge-base operators: `BedrockCreateKnowledgeBaseOperator` (CreateKnowledgeBase,
//! retried while the vector index is not ready; then `knowledge_base_active`; XCom is the
//! knowledge base id), `BedrockCreateDataSourceOperator` (CreateDataSource of an S3 bucket;
//! XCom is the data source id) and `BedrockIngestDataOperator` (StartIngestionJob, retried
//! while the index is not ready; then `ingestion_job_complete`; XCom is the ingestion job id).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::kwargs::{self, Obj};
use airtask_core::wait::{self, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_bedrockagent::operation::create_data_source::builders::CreateDataSourceInputBuilder;
use aws_sdk_bedrockagent::operation::create_knowledge_base::builders::CreateKnowledgeBaseInputBuilder;
use aws_sdk_bedrockagent::operation::start_ingestion_job::builders::StartIngestionJobInputBuilder;
use aws_sdk_bedrockagent::types::{
    ChunkingConfiguration, ChunkingStrategy, DataDeletionPolicy, DataSourceConfiguration,
    DataSourceType, FixedSizeChunkingConfiguration, HierarchicalChunkingConfiguration,
    HierarchicalChunkingLevelConfiguration, KnowledgeBaseConfiguration, KnowledgeBaseType,
    S3DataSourceConfiguration, SemanticChunkingConfiguration, ServerSideEncryptionConfiguration,
    VectorIngestionConfiguration, VectorKnowledgeBaseConfiguration,
};
use serde_json::{Value, json};

use crate::common::{self, INGESTION_JOB, KNOWLEDGE_BASE, required};
use crate::status::{self, IngestionJob};
use crate::storage;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The ARN pattern of knowledge base `id` (`*` when the id is not known yet).
fn kb_arn(region: Option<&str>, id: &str) -> String {
    airtask_core::permissions::arn("bedrock", region, &format!("knowledge-base/{id}"))
}

/// Whether a CreateKnowledgeBase refusal means the vector index is not ready yet (the
/// provider's list: a missing index, or permissions that have not propagated).
fn index_not_ready(code: Option<&str>, message: &str) -> bool {
    let m = message.to_lowercase();
    code == Some("ValidationException")
        && (m.contains("no such index")
            || m.contains("server returned 401")
            || m.contains("user does not have permissions")
            || m.contains("status code: 403")
            || m.contains("bad authorization"))
}

/// Whether a StartIngestionJob refusal means the index is not ready for ingestion yet.
fn ingestion_not_ready(code: Option<&str>, message: &str) -> bool {
    let m = message.to_lowercase();
    code == Some("ValidationException")
        && (m.contains("dependency error document status code: 404")
            || m.contains("request failed: [http_exception] server returned 401"))
}

/// A configured `BedrockCreateKnowledgeBaseOperator`.
#[derive(Debug)]
pub struct BedrockCreateKnowledgeBaseOperator {
    aws: AwsParams,
    name: String,
    role_arn: String,
    request: CreateKnowledgeBaseInputBuilder,
    wait_for_indexing: bool,
    indexing_error_retry_delay: Duration,
    indexing_error_max_attempts: u32,
    wait: WaitSettings,
}

/// Reads `create_knowledge_base_kwargs` into the request.
fn kb_kwargs(
    b: CreateKnowledgeBaseInputBuilder,
    v: &Value,
    rendered: bool,
) -> Result<CreateKnowledgeBaseInputBuilder, String> {
    let mut o = Obj::new("create_knowledge_base_kwargs", v, rendered)?;
    let b = b
        .set_client_token(o.str("clientToken")?)
        .set_description(o.str("description")?)
        .set_tags(o.str_map("tags")?);
    o.finish()?;
    Ok(b)
}

impl Operator for BedrockCreateKnowledgeBaseOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockCreateKnowledgeBaseOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "create_knowledge_base_kwargs",
            "embedding_model_arn",
            "indexing_error_max_attempts",
            "indexing_error_retry_delay",
            "name",
            "region_name",
            "role_arn",
            "storage_config",
            "verify",
            "wait_for_indexing",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let name = p.required_str("name", "the name of the knowledge base")?;
        let embedding_model_arn = p.required_str(
            "embedding_model_arn",
            "the ARN of the model that creates the vector embeddings",
        )?;
        let role_arn = p.required_str(
            "role_arn",
            "the ARN of the IAM role with permissions to create the knowledge base",
        )?;
        let rendered = p.rendered();
        let storage = match kwargs::mapping(p, "storage_config") {
            Some(v) => Some(
                storage::read(v, rendered)
                    .map_err(|e| common::kwargs_error(p, "storage_config", e))?,
            ),
            None if rendered => {
                return Err(ParamError::at(
                    "storage_config",
                    "BedrockCreateKnowledgeBaseOperator needs `storage_config`: the vector \
                     store, a mapping with `type` and that type's configuration (boto3's \
                     storageConfiguration)",
                ));
            }
            None => None,
        };
        let config = KnowledgeBaseConfiguration::builder()
            .r#type(KnowledgeBaseType::Vector)
            .vector_knowledge_base_configuration(
                VectorKnowledgeBaseConfiguration::builder()
                    .embedding_model_arn(embedding_model_arn)
                    .build()
                    .map_err(|e| ParamError::at("embedding_model_arn", e.to_string()))?,
            )
            .build()
            .map_err(|e| ParamError::at("embedding_model_arn", e.to_string()))?;
        let mut request = CreateKnowledgeBaseInputBuilder::default()
            .name(&name)
            .role_arn(&role_arn)
            .knowledge_base_configuration(config)
            .set_storage_configuration(storage);
        if let Some(v) = kwargs::mapping(p, "create_knowledge_base_kwargs") {
            request = kb_kwargs(request, v, rendered)
                .map_err(|e| common::kwargs_error(p, "create_knowledge_base_kwargs", e))?;
        }
        let wait_for_indexing = p.bool("wait_for_indexing", true)?;
        let indexing_error_retry_delay =
            Duration::from_secs_f64(p.seconds("indexing_error_retry_delay", 5.0)?);
        let indexing_error_max_attempts = p
            .u32("indexing_error_max_attempts", 0..=u32::MAX)?
            .unwrap_or(20);
        let wait = WaitSettings::read(p, 60, 20)?;
        Ok(BedrockCreateKnowledgeBaseOperator {
            aws,
            name,
            role_arn,
            request,
            wait_for_indexing,
            indexing_error_retry_delay,
            indexing_error_max_attempts,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let any = kb_arn(self.aws.region(), "*");
        let mut out = vec![
            Permission::new(&["bedrock:CreateKnowledgeBase"], [any.clone()]),
            Permission::new(&["iam:PassRole"], [self.role_arn.clone()]),
        ];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(&["bedrock:GetKnowledgeBase"], [any]));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let agent = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagent),
        )?;
        ctx.info(&format!(
            "Creating Amazon Bedrock Knowledge Base {}",
            self.name
        ));
        let mut left = self.indexing_error_max_attempts;
        let id = loop {
            match self.request.clone().send_with(&agent).await {
                Ok(out) => {
                    break out
                        .knowledge_base()
                        .map(|k| k.knowledge_base_id().to_owned())
                        .unwrap_or_default();
                }
                Err(e) => {
                    let code = airtask_aws::error::code(&e);
                    let message = airtask_aws::error::text(&e);
                    if self.wait_for_indexing && left > 0 && index_not_ready(code, &message) {
                        left -= 1;
                        ctx.warning(&format!(
                            "Vector index not ready, retrying in {} seconds.",
                            self.indexing_error_retry_delay.as_secs_f64()
                        ));
                        ctx.info(&format!("{left} retries remaining."));
                        tokio::time::sleep(self.indexing_error_retry_delay).await;
                        continue;
                    }
                    return Err(airtask_aws::error::task_error(
                        &format!("CreateKnowledgeBase {}", self.name),
                        &e,
                    ));
                }
            }
        };
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info("Waiting for Knowledge Base creation.");
            let (a, i) = (&agent, id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Bedrock knowledge base {id}"),
                || async move {
                    let s = status::knowledge_base(a, i).await?;
                    KNOWLEDGE_BASE.waiter_poll(i, &s)
                },
            )
            .await?;
            ctx.info(&format!(
                "Bedrock knowledge base creation job `{}` complete.",
                self.name
            ));
        }
        Ok(Outcome::Success(Some(json!(id))))
    }
}

/// Reads `vectorIngestionConfiguration.chunkingConfiguration`.
fn chunking(o: &mut Obj<'_>, path: &str) -> Result<ChunkingConfiguration, String> {
    let strategy = required(o, path, "chunkingStrategy")?;
    let int = |o: &mut Obj<'_>, at: &str, key: &'static str| -> Result<i32, String> {
        o.i32(key)?
            .ok_or_else(|| format!("`{at}.{key}` is required"))
    };
    let fixed = match o.obj("fixedSizeChunkingConfiguration")? {
        None => None,
        Some(mut f) => {
            let at = format!("{path}.fixedSizeChunkingConfiguration");
            let c = FixedSizeChunkingConfiguration::builder()
                .max_tokens(int(&mut f, &at, "maxTokens")?)
                .overlap_percentage(int(&mut f, &at, "overlapPercentage")?)
                .build()
                .map_err(err)?;
            f.finish()?;
            Some(c)
        }
    };
    let hierarchical = match o.obj("hierarchicalChunkingConfiguration")? {
        None => None,
        Some(mut h) => {
            let at = format!("{path}.hierarchicalChunkingConfiguration");
            let levels = h
                .objs("levelConfigurations")?
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, mut l)| {
                    let max = int(
                        &mut l,
                        &format!("{at}.levelConfigurations[{i}]"),
                        "maxTokens",
                    )?;
                    l.finish()?;
                    HierarchicalChunkingLevelConfiguration::builder()
                        .max_tokens(max)
                        .build()
                        .map_err(err)
                })
                .collect::<Result<Vec<_>, String>>()?;
            let c = HierarchicalChunkingConfiguration::builder()
                .set_level_configurations(Some(levels))
                .overlap_tokens(int(&mut h, &at, "overlapTokens")?)
                .build()
                .map_err(err)?;
            h.finish()?;
            Some(c)
        }
    };
    let semantic = match o.obj("semanticChunkingConfiguration")? {
        None => None,
        Some(mut s) => {
            let at = format!("{path}.semanticChunkingConfiguration");
            let c = SemanticChunkingConfiguration::builder()
                .max_tokens(int(&mut s, &at, "maxTokens")?)
                .buffer_size(int(&mut s, &at, "bufferSize")?)
                .breakpoint_percentile_threshold(int(&mut s, &at, "breakpointPercentileThreshold")?)
                .build()
                .map_err(err)?;
            s.finish()?;
            Some(c)
        }
    };
    ChunkingConfiguration::builder()
        .chunking_strategy(ChunkingStrategy::from(strategy.as_str()))
        .set_fixed_size_chunking_configuration(fixed)
        .set_hierarchical_chunking_configuration(hierarchical)
        .set_semantic_chunking_configuration(semantic)
        .build()
        .map_err(err)
}

/// Reads `create_data_source_kwargs` into the request.
fn data_source_kwargs(
    b: CreateDataSourceInputBuilder,
    v: &Value,
    rendered: bool,
) -> Result<CreateDataSourceInputBuilder, String> {
    const P: &str = "create_data_source_kwargs";
    let mut o = Obj::new(P, v, rendered)?;
    let mut b = b
        .set_client_token(o.str("clientToken")?)
        .set_description(o.str("description")?)
        .set_data_deletion_policy(
            o.str("dataDeletionPolicy")?
                .map(|d| DataDeletionPolicy::from(d.as_str())),
        );
    if let Some(mut sse) = o.obj("serverSideEncryptionConfiguration")? {
        let key = sse.str("kmsKeyArn")?;
        sse.finish()?;
        b = b.server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .set_kms_key_arn(key)
                .build(),
        );
    }
    if let Some(mut vi) = o.obj("vectorIngestionConfiguration")? {
        let at = format!("{P}.vectorIngestionConfiguration");
        let chunk = match vi.obj("chunkingConfiguration")? {
            None => None,
            Some(mut c) => {
                let v = chunking(&mut c, &format!("{at}.chunkingConfiguration"))?;
                c.finish()?;
                Some(v)
            }
        };
        vi.finish()?;
        b = b.vector_ingestion_configuration(
            VectorIngestionConfiguration::builder()
                .set_chunking_configuration(chunk)
                .build(),
        );
    }
    o.finish()?;
    Ok(b)
}

/// A configured `BedrockCreateDataSourceOperator`.
#[derive(Debug)]
pub struct BedrockCreateDataSourceOperator {
    aws: AwsParams,
    name: String,
    knowledge_base_id: String,
    request: CreateDataSourceInputBuilder,
}

impl Operator for BedrockCreateDataSourceOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockCreateDataSourceOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "bucket_name",
            "create_data_source_kwargs",
            "knowledge_base_id",
            "name",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let name = p.required_str("name", "the name of the data source")?;
        let knowledge_base_id = p.required_str(
            "knowledge_base_id",
            "the id of the knowledge base the data source is added to",
        )?;
        // The provider sends `arn:aws:s3:::None` without it, which AWS refuses.
        let bucket_name = p.required_str(
            "bucket_name",
            "the name of the S3 bucket whose documents the data source holds",
        )?;
        let rendered = p.rendered();
        let s3 = S3DataSourceConfiguration::builder()
            .bucket_arn(airtask_core::permissions::global_arn("s3", &bucket_name))
            .build()
            .map_err(|e| ParamError::at("bucket_name", e.to_string()))?;
        let config = DataSourceConfiguration::builder()
            .r#type(DataSourceType::S3)
            .s3_configuration(s3)
            .build()
            .map_err(|e| ParamError::at("bucket_name", e.to_string()))?;
        let mut request = CreateDataSourceInputBuilder::default()
            .name(&name)
            .knowledge_base_id(&knowledge_base_id)
            .data_source_configuration(config);
        if let Some(v) = kwargs::mapping(p, "create_data_source_kwargs") {
            request = data_source_kwargs(request, v, rendered)
                .map_err(|e| common::kwargs_error(p, "create_data_source_kwargs", e))?;
        }
        Ok(BedrockCreateDataSourceOperator {
            aws,
            name,
            knowledge_base_id,
            request,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["bedrock:CreateDataSource"],
            [kb_arn(self.aws.region(), &self.knowledge_base_id)],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let agent = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagent),
        )?;
        let out = self.request.clone().send_with(&agent).await.map_err(|e| {
            airtask_aws::error::task_error(
                &format!(
                    "CreateDataSource {} of knowledge base {}",
                    self.name, self.knowledge_base_id
                ),
                &e,
            )
        })?;
        let id = out
            .data_source()
            .map(|d| d.data_source_id().to_owned())
            .unwrap_or_default();
        ctx.info(&format!(
            "Created data source {} ({id}) of knowledge base {}",
            self.name, self.knowledge_base_id
        ));
        Ok(Outcome::Success(Some(json!(id))))
    }
}

/// A configured `BedrockIngestDataOperator`.
#[derive(Debug)]
pub struct BedrockIngestDataOperator {
    aws: AwsParams,
    knowledge_base_id: String,
    data_source_id: String,
    request: StartIngestionJobInputBuilder,
    wait: WaitSettings,
}

/// The provider's fixed retries of StartIngestionJob while the index is not ready.
const INGESTION_RETRIES: u32 = 5;
/// The provider's delay between those retries.
const INGESTION_RETRY_DELAY: Duration = Duration::from_secs(5);

impl Operator for BedrockIngestDataOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockIngestDataOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "data_source_id",
            "ingest_data_kwargs",
            "knowledge_base_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let knowledge_base_id =
            p.required_str("knowledge_base_id", "the id of the knowledge base")?;
        let data_source_id =
            p.required_str("data_source_id", "the id of the data source to ingest")?;
        let rendered = p.rendered();
        let mut request = StartIngestionJobInputBuilder::default()
            .knowledge_base_id(&knowledge_base_id)
            .data_source_id(&data_source_id);
        if let Some(v) = kwargs::mapping(p, "ingest_data_kwargs") {
            let read = |b: StartIngestionJobInputBuilder| -> Result<_, String> {
                let mut o = Obj::new("ingest_data_kwargs", v, rendered)?;
                let b = b
                    .set_client_token(o.str("clientToken")?)
                    .set_description(o.str("description")?);
                o.finish()?;
                Ok(b)
            };
            request =
                read(request).map_err(|e| common::kwargs_error(p, "ingest_data_kwargs", e))?;
        }
        let wait = WaitSettings::read(p, 60, 10)?;
        Ok(BedrockIngestDataOperator {
            aws,
            knowledge_base_id,
            data_source_id,
            request,
            wait,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let kb = kb_arn(self.aws.region(), &self.knowledge_base_id);
        let mut out = vec![Permission::new(
            &["bedrock:StartIngestionJob"],
            [kb.clone()],
        )];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(&["bedrock:GetIngestionJob"], [kb]));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let agent = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagent),
        )?;
        self.run_with(ctx, &agent).await
    }
}

impl BedrockIngestDataOperator {
    /// StartIngestionJob (retried while the index is not ready) and the wait, through `agent`.
    async fn run_with(
        &self,
        ctx: &TaskContext,
        agent: &aws_sdk_bedrockagent::Client,
    ) -> Result<Outcome, TaskError> {
        let mut left = INGESTION_RETRIES;
        let id = loop {
            match self.request.clone().send_with(agent).await {
                Ok(out) => {
                    break out
                        .ingestion_job()
                        .map(|j| j.ingestion_job_id().to_owned())
                        .unwrap_or_default();
                }
                Err(e) => {
                    let code = airtask_aws::error::code(&e);
                    let message = airtask_aws::error::text(&e);
                    if left > 0 && ingestion_not_ready(code, &message) {
                        left -= 1;
                        ctx.warning(&format!(
                            "Index is not ready for ingestion, retrying in {} seconds.",
                            INGESTION_RETRY_DELAY.as_secs()
                        ));
                        ctx.info(&format!("{left} retries remaining."));
                        tokio::time::sleep(INGESTION_RETRY_DELAY).await;
                        continue;
                    }
                    return Err(airtask_aws::error::task_error(
                        &format!(
                            "StartIngestionJob of data source {} of knowledge base {}",
                            self.data_source_id, self.knowledge_base_id
                        ),
                        &e,
                    ));
                }
            }
        };
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!("Waiting for ingestion job {id}"));
            let job = IngestionJob {
                knowledge_base_id: self.knowledge_base_id.clone(),
                data_source_id: self.data_source_id.clone(),
                ingestion_job_id: id.clone(),
            };
            let (a, j) = (agent, &job);
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Bedrock ingestion job {id}"),
                || async move {
                    let s = status::ingestion_job(a, j).await?;
                    INGESTION_JOB.waiter_poll(&j.ingestion_job_id, &s)
                },
            )
            .await?;
            ctx.info(&format!("Bedrock ingestion job `{id}` complete."));
        }
        Ok(Outcome::Success(Some(json!(id))))
    }
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    fn kb() -> Value {
        json!({"name": "kb", "embedding_model_arn": "arn:e", "role_arn": "arn:aws:iam::1:role/r",
            "storage_config": {"type": "PINECONE", "pineconeConfiguration":
                {"connectionString": "c", "credentialsSecretArn": "s"}}})
    }

    #[test]
    fn knowledge_base_defaults_kwargs_and_permissions() {
        let op: BedrockCreateKnowledgeBaseOperator = build(kb()).unwrap();
        assert!(op.wait_for_indexing);
        assert_eq!(op.indexing_error_retry_delay, Duration::from_secs(5));
        assert_eq!(op.indexing_error_max_attempts, 20);
        assert_eq!(op.wait.waiter_delay.as_secs(), 60);
        assert_eq!(op.wait.waiter_max_attempts, 20);
        assert_eq!(
            op.permissions(),
            [
                Permission::new(
                    &["bedrock:CreateKnowledgeBase"],
                    ["arn:aws:bedrock:{region}:{account}:knowledge-base/*"]
                ),
                Permission::new(&["iam:PassRole"], ["arn:aws:iam::1:role/r"]),
                Permission::new(
                    &["bedrock:GetKnowledgeBase"],
                    ["arn:aws:bedrock:{region}:{account}:knowledge-base/*"]
                ),
            ]
        );
        let mut v = kb();
        v["create_knowledge_base_kwargs"] = json!({"description": "d", "tags": {"a": "b"}});
        let op: BedrockCreateKnowledgeBaseOperator = build(v.clone()).unwrap();
        assert_eq!(op.request.get_description().as_deref(), Some("d"));
        v["storage_config"] = json!({"type": "PINECONE"});
        let e = build::<BedrockCreateKnowledgeBaseOperator>(v).unwrap_err();
        assert_eq!(e.param(), Some("storage_config"));
        let mut v = kb();
        v.as_object_mut().map(|m| m.remove("storage_config"));
        assert!(build::<BedrockCreateKnowledgeBaseOperator>(v).is_err());
    }

    #[test]
    fn not_ready_errors_are_the_providers() {
        assert!(index_not_ready(
            Some("ValidationException"),
            "The knowledge base storage configuration provided is invalid... no such index [x]"
        ));
        assert!(!index_not_ready(
            Some("AccessDeniedException"),
            "no such index"
        ));
        assert!(!index_not_ready(Some("ValidationException"), "bad name"));
        assert!(ingestion_not_ready(
            Some("ValidationException"),
            "Dependency error document status code: 404"
        ));
        assert!(ingestion_not_ready(
            Some("ValidationException"),
            "Request failed: [http_exception] server returned 401"
        ));
        assert!(!ingestion_not_ready(
            Some("ConflictException"),
            "Dependency error document status code: 404"
        ));
    }

    /// The provider retries a not-ready index 5 times, 5 s apart, then raises: the sixth
    /// refusal fails the try and no seventh call is made. The local endpoint refuses once, so
    /// only a mock reaches the end of the retries.
    #[tokio::test(start_paused = true)]
    async fn the_not_ready_retries_of_an_ingestion_run_out_after_five() {
        use std::sync::{Arc, Mutex};

        use airtask_core::{Level, LogSink};
        use aws_sdk_bedrockagent::Client;
        use aws_sdk_bedrockagent::error::ErrorMetadata;
        use aws_sdk_bedrockagent::operation::start_ingestion_job::{
            StartIngestionJobError, StartIngestionJobOutput,
        };
        use aws_sdk_bedrockagent::types::{IngestionJob, IngestionJobStatus};
        use aws_smithy_mocks::{RuleMode, mock, mock_client};

        #[derive(Default)]
        struct Lines(Mutex<Vec<String>>);
        impl LogSink for Lines {
            fn line(&self, _: Level, _: &str, message: &str) {
                self.0.lock().unwrap().push(message.to_owned());
            }
        }

        let refused = mock!(Client::start_ingestion_job)
            .sequence()
            .error(|| {
                StartIngestionJobError::generic(
                    ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("Dependency error document status code: 404, error message: no such index")
                        .build(),
                )
            })
            .times(6)
            .build();
        let started = mock!(Client::start_ingestion_job).then_output(|| {
            StartIngestionJobOutput::builder()
                .ingestion_job(
                    IngestionJob::builder()
                        .knowledge_base_id("KB1")
                        .data_source_id("DS1")
                        .ingestion_job_id("J1")
                        .status(IngestionJobStatus::Starting)
                        .started_at(aws_smithy_types::DateTime::from_secs(0))
                        .updated_at(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .build()
        });
        let agent = mock_client!(
            aws_sdk_bedrockagent,
            RuleMode::Sequential,
            [&refused, &started]
        );
        let op: BedrockIngestDataOperator = build(json!({"knowledge_base_id": "KB1",
            "data_source_id": "DS1", "wait_for_completion": false}))
        .unwrap();
        let lines = Arc::new(Lines::default());
        let ctx = TaskContext::new(&BedrockIngestDataOperator::SPEC, "ingest", 1, lines.clone());
        let before = tokio::time::Instant::now();
        let e = op.run_with(&ctx, &agent).await.unwrap_err();
        assert_eq!(refused.num_calls(), 6);
        assert_eq!(started.num_calls(), 0);
        assert_eq!(before.elapsed(), INGESTION_RETRY_DELAY * 5);
        assert!(
            e.message
                .contains("StartIngestionJob of data source DS1 of knowledge base KB1")
                && e.message
                    .contains("Dependency error document status code: 404"),
            "{e}"
        );
        let lines = lines.0.lock().unwrap();
        assert_eq!(
            lines
                .iter()
                .filter(|l| *l == "Index is not ready for ingestion, retrying in 5 seconds.")
                .count(),
            5,
            "{lines:?}"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("0 retries remaining.")
        );
    }

    #[test]
    fn data_source_and_ingestion() {
        let op: BedrockCreateDataSourceOperator = build(json!({"name": "ds", "knowledge_base_id": "KB1",
            "bucket_name": "b", "create_data_source_kwargs": {"dataDeletionPolicy": "RETAIN",
            "vectorIngestionConfiguration": {"chunkingConfiguration": {"chunkingStrategy": "FIXED_SIZE",
            "fixedSizeChunkingConfiguration": {"maxTokens": 300, "overlapPercentage": 20}}}}}))
        .unwrap();
        let cfg = op.request.get_data_source_configuration().clone().unwrap();
        assert_eq!(cfg.s3_configuration.unwrap().bucket_arn, "arn:aws:s3:::b");
        assert_eq!(
            op.permissions(),
            [Permission::new(
                &["bedrock:CreateDataSource"],
                ["arn:aws:bedrock:{region}:{account}:knowledge-base/KB1"]
            )]
        );
        let e = build::<BedrockCreateDataSourceOperator>(
            json!({"name": "ds", "knowledge_base_id": "KB1"}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("bucket_name"));
        let op: BedrockIngestDataOperator =
            build(json!({"knowledge_base_id": "KB1", "data_source_id": "DS1",
            "ingest_data_kwargs": {"description": "d"}}))
            .unwrap();
        assert_eq!(op.wait.waiter_max_attempts, 10);
        assert_eq!(op.request.get_description().as_deref(), Some("d"));
        assert_eq!(op.permissions().len(), 2);
    }
}
