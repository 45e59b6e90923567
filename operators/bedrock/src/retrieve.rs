//! The knowledge-base queries: `BedrockRaGOperator` (RetrieveAndGenerate from a knowledge base
//! or external sources; XCom is the answer: `sessionId`, `output`, `citations`,
//! `guardrailAction`) and `BedrockRetrieveOperator` (Retrieve; XCom is `retrievalResults`,
//! with `nextToken` and `guardrailAction` when AWS gives them). Both answers are written with
//! boto3's keys, without `ResponseMetadata`.

use airtask_aws::AwsParams;
use airtask_core::kwargs::{self, Obj};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_bedrockagentruntime::operation::retrieve::builders::RetrieveInputBuilder;
use aws_sdk_bedrockagentruntime::operation::retrieve_and_generate::builders::RetrieveAndGenerateInputBuilder;
use aws_sdk_bedrockagentruntime::types::{
    ByteContentDoc, Citation, ExternalSource, ExternalSourceType,
    ExternalSourcesGenerationConfiguration, ExternalSourcesRetrieveAndGenerateConfiguration,
    FilterAttribute, GenerationConfiguration, GuardrailConfiguration, KnowledgeBaseQuery,
    KnowledgeBaseRetrievalConfiguration, KnowledgeBaseRetrievalResult,
    KnowledgeBaseRetrieveAndGenerateConfiguration, KnowledgeBaseVectorSearchConfiguration,
    PromptTemplate, RetrievalFilter, RetrievalResultContent, RetrievalResultLocation,
    RetrieveAndGenerateConfiguration, RetrieveAndGenerateInput,
    RetrieveAndGenerateSessionConfiguration, RetrieveAndGenerateType, RetrievedReference,
    S3ObjectDoc, SearchType,
};
use aws_smithy_types::Blob;
use serde_json::{Map, Value, json};

use crate::common::{self, required, to_document};
use crate::invoke::model_resources;

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// The comparison operators of a retrieval filter (each takes `{key, value}`).
const COMPARISONS: &[&str] = &[
    "equals",
    "notEquals",
    "greaterThan",
    "greaterThanOrEquals",
    "lessThan",
    "lessThanOrEquals",
    "in",
    "notIn",
    "startsWith",
    "listContains",
    "stringContains",
];

/// Reads a retrieval filter at `path`: one comparison, or `andAll`/`orAll` of filters.
fn filter(v: &Value, path: &str) -> Result<RetrievalFilter, String> {
    let Value::Object(m) = v else {
        return Err(format!("`{path}` must be a mapping"));
    };
    let mut keys = m.keys();
    let (Some(op), None) = (keys.next(), keys.next()) else {
        return Err(format!(
            "`{path}` must have exactly one key: one of {}, andAll or orAll",
            COMPARISONS.join(", ")
        ));
    };
    let at = format!("{path}.{op}");
    let inner = &m[op.as_str()];
    if op == "andAll" || op == "orAll" {
        let Value::Array(items) = inner else {
            return Err(format!("`{at}` must be a list of filters"));
        };
        let list = items
            .iter()
            .enumerate()
            .map(|(i, f)| filter(f, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(if op == "andAll" {
            RetrievalFilter::AndAll(list)
        } else {
            RetrievalFilter::OrAll(list)
        });
    }
    if !COMPARISONS.contains(&op.as_str()) {
        return Err(format!(
            "`{at}` is not a filter; the filters are {}, andAll and orAll",
            COMPARISONS.join(", ")
        ));
    }
    let Value::Object(attr) = inner else {
        return Err(format!("`{at}` must be a mapping with `key` and `value`"));
    };
    if let Some(k) = attr.keys().find(|k| *k != "key" && *k != "value") {
        return Err(format!(
            "`{at}.{k}` is not a setting airtask knows here; the accepted keys are key, value"
        ));
    }
    let key = match attr.get("key") {
        Some(Value::String(k)) => k.clone(),
        _ => return Err(format!("`{at}.key` is required (a string)")),
    };
    let value = match attr.get("value") {
        Some(v) => to_document(v),
        None => return Err(format!("`{at}.value` is required")),
    };
    let attr = FilterAttribute::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(err)?;
    Ok(match op.as_str() {
        "equals" => RetrievalFilter::Equals(attr),
        "notEquals" => RetrievalFilter::NotEquals(attr),
        "greaterThan" => RetrievalFilter::GreaterThan(attr),
        "greaterThanOrEquals" => RetrievalFilter::GreaterThanOrEquals(attr),
        "lessThan" => RetrievalFilter::LessThan(attr),
        "lessThanOrEquals" => RetrievalFilter::LessThanOrEquals(attr),
        "in" => RetrievalFilter::In(attr),
        "notIn" => RetrievalFilter::NotIn(attr),
        "startsWith" => RetrievalFilter::StartsWith(attr),
        "listContains" => RetrievalFilter::ListContains(attr),
        _ => RetrievalFilter::StringContains(attr),
    })
}

/// Reads `vector_search_config` (boto3's `vectorSearchConfiguration`).
fn vector_search(v: &Value, rendered: bool) -> Result<KnowledgeBaseRetrievalConfiguration, String> {
    const P: &str = "vector_search_config";
    let mut o = Obj::new(P, v, rendered)?;
    let number = o.i32("numberOfResults")?;
    let search = o
        .str("overrideSearchType")?
        .map(|s| SearchType::from(s.as_str()));
    let f = match v.get("filter").filter(|f| !f.is_null()) {
        Some(f) => Some(filter(f, &format!("{P}.filter"))?),
        None => None,
    };
    // Marks `filter` read (and checks it is a mapping); it was read raw above.
    let _ = o.obj("filter")?;
    o.finish()?;
    let vs = KnowledgeBaseVectorSearchConfiguration::builder()
        .set_number_of_results(number)
        .set_override_search_type(search)
        .set_filter(f)
        .build();
    Ok(KnowledgeBaseRetrievalConfiguration::builder()
        .vector_search_configuration(vs)
        .build())
}

/// Reads `sources` (boto3's external sources).
fn sources(v: &Value, rendered: bool) -> Result<Vec<ExternalSource>, String> {
    let Value::Array(items) = v else {
        return Err("`sources` must be a list of mappings".to_owned());
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("sources[{i}]");
            let mut o = Obj::new(at.clone(), item, rendered)?;
            let kind = required(&mut o, &at, "sourceType")?;
            let s3 = match o.obj("s3Location")? {
                None => None,
                Some(mut s) => {
                    let uri = required(&mut s, &format!("{at}.s3Location"), "uri")?;
                    s.finish()?;
                    Some(S3ObjectDoc::builder().uri(uri).build().map_err(err)?)
                }
            };
            let bytes = match o.obj("byteContent")? {
                None => None,
                Some(mut b) => {
                    let bat = format!("{at}.byteContent");
                    let id = required(&mut b, &bat, "identifier")?;
                    let ct = required(&mut b, &bat, "contentType")?;
                    let data = required(&mut b, &bat, "data")?;
                    b.finish()?;
                    Some(
                        ByteContentDoc::builder()
                            .identifier(id)
                            .content_type(ct)
                            .data(Blob::new(data.into_bytes()))
                            .build()
                            .map_err(err)?,
                    )
                }
            };
            o.finish()?;
            ExternalSource::builder()
                .source_type(ExternalSourceType::from(kind.as_str()))
                .set_s3_location(s3)
                .set_byte_content(bytes)
                .build()
                .map_err(err)
        })
        .collect()
}

/// A configured `BedrockRaGOperator`.
#[derive(Debug)]
pub struct BedrockRaGOperator {
    aws: AwsParams,
    input: String,
    source_type: String,
    model_arn: String,
    knowledge_base_id: Option<String>,
    request: RetrieveAndGenerateInputBuilder,
}

const RAG: &str = "BedrockRaGOperator";

impl Operator for BedrockRaGOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockRaGOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "input",
            "knowledge_base_id",
            "model_arn",
            "prompt_template",
            "rag_kwargs",
            "region_name",
            "source_type",
            "sources",
            "vector_search_config",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let input = p.required_str("input", "the query to the knowledge base")?;
        let source_type = p
            .required_str(
                "source_type",
                "what is queried: KNOWLEDGE_BASE or EXTERNAL_SOURCES",
            )?
            .to_uppercase();
        let model_arn = p.required_str(
            "model_arn",
            "the ARN of the foundation model (or inference profile) that generates the answer",
        )?;
        let prompt_template = p.str("prompt_template")?;
        let knowledge_base_id = p.str("knowledge_base_id")?;
        let rendered = p.rendered();
        let vector = match kwargs::mapping(p, "vector_search_config") {
            Some(v) => Some(
                vector_search(v, rendered)
                    .map_err(|e| common::kwargs_error(p, "vector_search_config", e))?,
            ),
            None => None,
        };
        let srcs = match p.value("sources") {
            Some(Value::String(s)) if p.is_templated(s) => None,
            Some(v) => {
                Some(sources(v, rendered).map_err(|e| common::kwargs_error(p, "sources", e))?)
            }
            None => None,
        };
        if rendered {
            // The provider's validate_inputs (an AttributeError at execute there).
            let problem = match source_type.as_str() {
                "KNOWLEDGE_BASE" if knowledge_base_id.is_none() => Some((
                    "knowledge_base_id",
                    "If `source_type` is set to 'KNOWLEDGE_BASE' then `knowledge_base_id` must be provided.",
                )),
                "KNOWLEDGE_BASE" if srcs.is_some() => Some((
                    "sources",
                    "`sources` can not be used when `source_type` is set to 'KNOWLEDGE_BASE'.",
                )),
                "EXTERNAL_SOURCES" if srcs.is_none() => Some((
                    "sources",
                    "If `source_type` is set to `EXTERNAL_SOURCES` then `sources` must also be provided.",
                )),
                "EXTERNAL_SOURCES" if vector.is_some() || knowledge_base_id.is_some() => Some((
                    "knowledge_base_id",
                    "`vector_search_config` and `knowledge_base_id` can not be used when `source_type` is set to `EXTERNAL_SOURCES`",
                )),
                "KNOWLEDGE_BASE" | "EXTERNAL_SOURCES" => None,
                _ => Some((
                    "source_type",
                    "`source_type` must be one of 'KNOWLEDGE_BASE' or 'EXTERNAL_SOURCES', and the appropriate config values must also be provided.",
                )),
            };
            if let Some((param, why)) = problem {
                return Err(ParamError::at(param, format!("{RAG}: {why}")));
            }
        }
        let template = prompt_template
            .filter(|t| !t.is_empty())
            .map(|t| PromptTemplate::builder().text_prompt_template(t).build());
        let config = if source_type == "EXTERNAL_SOURCES" {
            let generation = template.map(|t| {
                ExternalSourcesGenerationConfiguration::builder()
                    .prompt_template(t)
                    .build()
            });
            RetrieveAndGenerateConfiguration::builder()
                .r#type(RetrieveAndGenerateType::ExternalSources)
                .external_sources_configuration(
                    ExternalSourcesRetrieveAndGenerateConfiguration::builder()
                        .model_arn(&model_arn)
                        .set_sources(Some(srcs.unwrap_or_default()))
                        .set_generation_configuration(generation)
                        .build()
                        .map_err(|e| ParamError::at("sources", e.to_string()))?,
                )
                .build()
        } else {
            let generation = template.map(|t| {
                GenerationConfiguration::builder()
                    .prompt_template(t)
                    .build()
            });
            RetrieveAndGenerateConfiguration::builder()
                .r#type(RetrieveAndGenerateType::KnowledgeBase)
                .knowledge_base_configuration(
                    KnowledgeBaseRetrieveAndGenerateConfiguration::builder()
                        .knowledge_base_id(knowledge_base_id.clone().unwrap_or_default())
                        .model_arn(&model_arn)
                        .set_retrieval_configuration(vector)
                        .set_generation_configuration(generation)
                        .build()
                        .map_err(|e| ParamError::at("knowledge_base_id", e.to_string()))?,
                )
                .build()
        }
        .map_err(|e| ParamError::at("source_type", e.to_string()))?;
        let mut request = RetrieveAndGenerateInputBuilder::default()
            .input(
                RetrieveAndGenerateInput::builder()
                    .text(&input)
                    .build()
                    .map_err(|e| ParamError::at("input", e.to_string()))?,
            )
            .retrieve_and_generate_configuration(config);
        if let Some(v) = kwargs::mapping(p, "rag_kwargs") {
            let read = |b: RetrieveAndGenerateInputBuilder| -> Result<_, String> {
                let mut o = Obj::new("rag_kwargs", v, rendered)?;
                let mut b = b.set_session_id(o.str("sessionId")?);
                if let Some(mut s) = o.obj("sessionConfiguration")? {
                    let key = required(&mut s, "rag_kwargs.sessionConfiguration", "kmsKeyArn")?;
                    s.finish()?;
                    b = b.session_configuration(
                        RetrieveAndGenerateSessionConfiguration::builder()
                            .kms_key_arn(key)
                            .build()
                            .map_err(err)?,
                    );
                }
                o.finish()?;
                Ok(b)
            };
            request = read(request).map_err(|e| common::kwargs_error(p, "rag_kwargs", e))?;
        }
        Ok(BedrockRaGOperator {
            aws,
            input,
            source_type,
            model_arn,
            knowledge_base_id,
            request,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let mut out = vec![
            // RetrieveAndGenerate takes no resource; it calls the two below on the caller's
            // behalf.
            Permission::on_any(&["bedrock:RetrieveAndGenerate"]),
            Permission::new(
                &["bedrock:InvokeModel"],
                model_resources(region, &self.model_arn),
            ),
        ];
        if let Some(kb) = &self.knowledge_base_id {
            out.push(Permission::new(
                &["bedrock:Retrieve"],
                [airtask_core::permissions::arn(
                    "bedrock",
                    region,
                    &format!("knowledge-base/{kb}"),
                )],
            ));
        }
        out
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let runtime = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagentruntime),
        )?;
        let out = self
            .request
            .clone()
            .send_with(&runtime)
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!(
                        "RetrieveAndGenerate ({}, model {})",
                        self.source_type, self.model_arn
                    ),
                    &e,
                )
            })?;
        let text = out
            .output()
            .map(|o| o.text().to_owned())
            .unwrap_or_default();
        let citations: Vec<Value> = out.citations().iter().map(citation).collect();
        ctx.info(&format!(
            "\nPrompt: {}\nResponse: {text}\nCitations: {}",
            self.input,
            Value::Array(citations.clone())
        ));
        let mut answer = Map::new();
        answer.insert("sessionId".into(), json!(out.session_id()));
        answer.insert("output".into(), json!({"text": text}));
        answer.insert("citations".into(), Value::Array(citations));
        if let Some(g) = out.guardrail_action() {
            answer.insert("guardrailAction".into(), json!(g.as_str()));
        }
        Ok(Outcome::Success(Some(Value::Object(answer))))
    }
}

/// A configured `BedrockRetrieveOperator`.
#[derive(Debug)]
pub struct BedrockRetrieveOperator {
    aws: AwsParams,
    retrieval_query: String,
    knowledge_base_id: String,
    request: RetrieveInputBuilder,
}

impl Operator for BedrockRetrieveOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.bedrock.BedrockRetrieveOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "knowledge_base_id",
            "region_name",
            "retrieval_query",
            "retrieve_kwargs",
            "vector_search_config",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let retrieval_query =
            p.required_str("retrieval_query", "the query to the knowledge base")?;
        let knowledge_base_id =
            p.required_str("knowledge_base_id", "the id of the knowledge base to query")?;
        let rendered = p.rendered();
        let vector = match kwargs::mapping(p, "vector_search_config") {
            Some(v) => Some(
                vector_search(v, rendered)
                    .map_err(|e| common::kwargs_error(p, "vector_search_config", e))?,
            ),
            None => None,
        };
        let mut request = RetrieveInputBuilder::default()
            .retrieval_query(KnowledgeBaseQuery::builder().text(&retrieval_query).build())
            .knowledge_base_id(&knowledge_base_id)
            .set_retrieval_configuration(vector);
        if let Some(v) = kwargs::mapping(p, "retrieve_kwargs") {
            let read = |b: RetrieveInputBuilder| -> Result<_, String> {
                let mut o = Obj::new("retrieve_kwargs", v, rendered)?;
                let mut b = b.set_next_token(o.str("nextToken")?);
                if let Some(mut g) = o.obj("guardrailConfiguration")? {
                    let at = "retrieve_kwargs.guardrailConfiguration";
                    let id = required(&mut g, at, "guardrailId")?;
                    let version = required(&mut g, at, "guardrailVersion")?;
                    g.finish()?;
                    b = b.guardrail_configuration(
                        GuardrailConfiguration::builder()
                            .guardrail_id(id)
                            .guardrail_version(version)
                            .build()
                            .map_err(err)?,
                    );
                }
                o.finish()?;
                Ok(b)
            };
            request = read(request).map_err(|e| common::kwargs_error(p, "retrieve_kwargs", e))?;
        }
        Ok(BedrockRetrieveOperator {
            aws,
            retrieval_query,
            knowledge_base_id,
            request,
        })
    }

    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["bedrock:Retrieve"],
            [airtask_core::permissions::arn(
                "bedrock",
                self.aws.region(),
                &format!("knowledge-base/{}", self.knowledge_base_id),
            )],
        )]
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let runtime = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_bedrockagentruntime),
        )?;
        self.run_with(ctx, &runtime).await
    }
}

impl BedrockRetrieveOperator {
    /// Retrieve through `runtime`; the answer with boto3's keys.
    async fn run_with(
        &self,
        ctx: &TaskContext,
        runtime: &aws_sdk_bedrockagentruntime::Client,
    ) -> Result<Outcome, TaskError> {
        let kb = &self.knowledge_base_id;
        let out = self.request.clone().send_with(runtime).await.map_err(|e| {
            airtask_aws::error::task_error(&format!("Retrieve from knowledge base {kb}"), &e)
        })?;
        let results: Vec<Value> = out.retrieval_results().iter().map(result).collect();
        ctx.info(&format!(
            "\nQuery: {}\nRetrieved: {}",
            self.retrieval_query,
            Value::Array(results.clone())
        ));
        let mut answer = Map::new();
        answer.insert("retrievalResults".into(), Value::Array(results));
        if let Some(t) = out.next_token() {
            answer.insert("nextToken".into(), json!(t));
        }
        if let Some(g) = out.guardrail_action() {
            answer.insert("guardrailAction".into(), json!(g.as_str()));
        }
        Ok(Outcome::Success(Some(Value::Object(answer))))
    }
}

/// Inserts `value` under `key` when there is one.
fn put(m: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        m.insert(key.to_owned(), v);
    }
}

/// A retrieved chunk's content with boto3's keys.
fn content(c: &RetrievalResultContent) -> Value {
    let mut m = Map::new();
    put(&mut m, "type", c.r#type().map(|t| json!(t.as_str())));
    m.insert("text".into(), json!(c.text()));
    put(&mut m, "byteContent", c.byte_content().map(|b| json!(b)));
    put(
        &mut m,
        "video",
        c.video()
            .map(|v| json!({"s3Uri": v.s3_uri(), "summary": v.summary()})),
    );
    put(
        &mut m,
        "audio",
        c.audio()
            .map(|a| json!({"s3Uri": a.s3_uri(), "transcription": a.transcription()})),
    );
    if !c.row().is_empty() {
        let row: Vec<Value> = c
            .row()
            .iter()
            .map(|col| {
                json!({"columnName": col.column_name(), "columnValue": col.column_value(),
                    "type": col.r#type().map(|t| t.as_str())})
            })
            .collect();
        m.insert("row".into(), Value::Array(row));
    }
    Value::Object(m)
}

/// A retrieved chunk's location with boto3's keys.
fn location(l: &RetrievalResultLocation) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(l.r#type().as_str()));
    put(
        &mut m,
        "s3Location",
        l.s3_location().map(|s| json!({"uri": s.uri()})),
    );
    put(
        &mut m,
        "webLocation",
        l.web_location().map(|s| json!({"url": s.url()})),
    );
    put(
        &mut m,
        "confluenceLocation",
        l.confluence_location().map(|s| json!({"url": s.url()})),
    );
    put(
        &mut m,
        "salesforceLocation",
        l.salesforce_location().map(|s| json!({"url": s.url()})),
    );
    put(
        &mut m,
        "sharePointLocation",
        l.share_point_location().map(|s| json!({"url": s.url()})),
    );
    put(
        &mut m,
        "customDocumentLocation",
        l.custom_document_location().map(|s| json!({"id": s.id()})),
    );
    put(
        &mut m,
        "kendraDocumentLocation",
        l.kendra_document_location()
            .map(|s| json!({"uri": s.uri()})),
    );
    put(
        &mut m,
        "sqlLocation",
        l.sql_location().map(|s| json!({"query": s.query()})),
    );
    Value::Object(m)
}

/// One Retrieve result with boto3's keys.
fn result(r: &KnowledgeBaseRetrievalResult) -> Value {
    let mut m = Map::new();
    put(&mut m, "content", r.content().map(content));
    put(&mut m, "location", r.location().map(location));
    put(&mut m, "score", r.score().map(|s| json!(s)));
    put(&mut m, "metadata", r.metadata().map(common::metadata));
    Value::Object(m)
}

/// One reference of a citation with boto3's keys.
fn reference(r: &RetrievedReference) -> Value {
    let mut m = Map::new();
    put(&mut m, "content", r.content().map(content));
    put(&mut m, "location", r.location().map(location));
    put(&mut m, "metadata", r.metadata().map(common::metadata));
    Value::Object(m)
}

/// One citation with boto3's keys.
fn citation(c: &Citation) -> Value {
    let mut m = Map::new();
    if let Some(part) = c
        .generated_response_part()
        .and_then(|g| g.text_response_part())
    {
        let mut t = Map::new();
        put(&mut t, "text", part.text().map(|s| json!(s)));
        put(
            &mut t,
            "span",
            part.span()
                .map(|s| json!({"start": s.start(), "end": s.end()})),
        );
        m.insert(
            "generatedResponsePart".into(),
            json!({"textResponsePart": Value::Object(t)}),
        );
    }
    m.insert(
        "retrievedReferences".into(),
        Value::Array(c.retrieved_references().iter().map(reference).collect()),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};
    use aws_sdk_bedrockagentruntime::operation::retrieve_and_generate::RetrieveAndGenerateOutput;
    use aws_sdk_bedrockagentruntime::types::{
        GeneratedResponsePart, RetrievalResultLocationType, RetrievalResultS3Location,
        RetrieveAndGenerateOutput as Answer, Span, TextResponsePart,
    };
    use aws_smithy_mocks::{mock, mock_client};

    use super::*;

    fn build<T: Operator>(v: Value) -> Result<T, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<T>(&p)
    }

    #[test]
    fn rag_inputs_are_validated_as_the_provider_does() {
        let base =
            json!({"input": "q", "model_arn": "arn:aws:bedrock:us-east-1::foundation-model/m"});
        let with = |extra: Value| {
            let mut v = base.clone();
            for (k, x) in extra.as_object().cloned().unwrap_or_default() {
                v[k] = x;
            }
            build::<BedrockRaGOperator>(v)
        };
        let e = with(json!({"source_type": "knowledge_base"})).unwrap_err();
        assert_eq!(e.param(), Some("knowledge_base_id"));
        assert!(
            e.message().contains("`knowledge_base_id` must be provided"),
            "{e}"
        );
        let e = with(json!({"source_type": "EXTERNAL_SOURCES"})).unwrap_err();
        assert_eq!(e.param(), Some("sources"));
        let e = with(json!({"source_type": "WEB"})).unwrap_err();
        assert_eq!(e.param(), Some("source_type"));
        let e = with(
            json!({"source_type": "EXTERNAL_SOURCES", "knowledge_base_id": "k",
            "sources": [{"sourceType": "S3", "s3Location": {"uri": "s3://b/k"}}]}),
        )
        .unwrap_err();
        assert!(e.message().contains("can not be used"), "{e}");
        let op = with(json!({"source_type": "knowledge_base", "knowledge_base_id": "KB1",
            "prompt_template": "$search_results$",
            "vector_search_config": {"numberOfResults": 3, "filter": {"andAll": [
                {"equals": {"key": "k", "value": 1}}, {"startsWith": {"key": "s", "value": "x"}}]}}}))
        .unwrap();
        assert_eq!(op.source_type, "KNOWLEDGE_BASE");
        let kb = op
            .request
            .get_retrieve_and_generate_configuration()
            .clone()
            .and_then(|c| c.knowledge_base_configuration)
            .unwrap();
        let vs = kb
            .retrieval_configuration
            .and_then(|r| r.vector_search_configuration)
            .unwrap();
        assert_eq!(vs.number_of_results, 3);
        assert!(matches!(vs.filter, Some(RetrievalFilter::AndAll(ref l)) if l.len() == 2));
        assert_eq!(
            op.permissions(),
            [
                Permission::on_any(&["bedrock:RetrieveAndGenerate"]),
                Permission::new(
                    &["bedrock:InvokeModel"],
                    ["arn:aws:bedrock:us-east-1::foundation-model/m"]
                ),
                Permission::new(
                    &["bedrock:Retrieve"],
                    ["arn:aws:bedrock:{region}:{account}:knowledge-base/KB1"]
                ),
            ]
        );
        let e = with(
            json!({"source_type": "KNOWLEDGE_BASE", "knowledge_base_id": "k",
            "vector_search_config": {"filter": {"equals": {"key": "k"}}}}),
        )
        .unwrap_err();
        assert!(
            e.message()
                .contains("`vector_search_config.filter.equals.value` is required"),
            "{e}"
        );
        let e = with(
            json!({"source_type": "KNOWLEDGE_BASE", "knowledge_base_id": "k",
            "vector_search_config": {"filter": {"like": {"key": "k", "value": 1}}}}),
        )
        .unwrap_err();
        assert!(
            e.message()
                .contains("`vector_search_config.filter.like` is not a filter"),
            "{e}"
        );
    }

    /// `nextToken` and `guardrailAction` come into the XCom when AWS gives them (the local
    /// endpoint's Retrieve gives neither: tested by mocks only).
    #[tokio::test]
    async fn the_retrieve_answer_keeps_next_token_and_guardrail_action() {
        use aws_sdk_bedrockagentruntime::operation::retrieve::RetrieveOutput;
        use aws_sdk_bedrockagentruntime::types::GuadrailAction;

        #[derive(Default)]
        struct Quiet;
        impl airtask_core::LogSink for Quiet {
            fn line(&self, _: airtask_core::Level, _: &str, _: &str) {}
        }

        let rule = mock!(aws_sdk_bedrockagentruntime::Client::retrieve)
            .match_requests(|r| {
                r.knowledge_base_id() == Some("KB1")
                    && r.next_token() == Some("page-2")
                    && r.guardrail_configuration()
                        .is_some_and(|g| g.guardrail_id() == "g1" && g.guardrail_version() == "1")
            })
            .then_output(|| {
                RetrieveOutput::builder()
                    .retrieval_results(
                        KnowledgeBaseRetrievalResult::builder()
                            .content(RetrievalResultContent::builder().text("chunk").build())
                            .score(0.5)
                            .build(),
                    )
                    .next_token("page-3")
                    .guardrail_action(GuadrailAction::Intervened)
                    .build()
                    .unwrap()
            });
        let runtime = mock_client!(aws_sdk_bedrockagentruntime, [&rule]);
        let op: BedrockRetrieveOperator = build(json!({"retrieval_query": "q",
            "knowledge_base_id": "KB1", "retrieve_kwargs": {"nextToken": "page-2",
            "guardrailConfiguration": {"guardrailId": "g1", "guardrailVersion": "1"}}}))
        .unwrap();
        let ctx = TaskContext::new(
            &BedrockRetrieveOperator::SPEC,
            "retrieve",
            1,
            std::sync::Arc::new(Quiet),
        );
        assert_eq!(
            op.run_with(&ctx, &runtime).await.unwrap(),
            Outcome::Success(Some(json!({
                "retrievalResults": [{"content": {"text": "chunk"}, "score": 0.5}],
                "nextToken": "page-3",
                "guardrailAction": "INTERVENED"
            })))
        );
    }

    #[tokio::test]
    async fn the_rag_answer_has_boto3s_keys() {
        let rule =
            mock!(aws_sdk_bedrockagentruntime::Client::retrieve_and_generate).then_output(|| {
                RetrieveAndGenerateOutput::builder()
                    .session_id("s1")
                    .output(Answer::builder().text("hello").build().unwrap())
                    .citations(
                        Citation::builder()
                            .generated_response_part(
                                GeneratedResponsePart::builder()
                                    .text_response_part(
                                        TextResponsePart::builder()
                                            .text("hello")
                                            .span(Span::builder().start(0).end(4).build())
                                            .build(),
                                    )
                                    .build(),
                            )
                            .retrieved_references(
                                RetrievedReference::builder()
                                    .content(
                                        RetrievalResultContent::builder().text("chunk").build(),
                                    )
                                    .location(
                                        RetrievalResultLocation::builder()
                                            .r#type(RetrievalResultLocationType::S3)
                                            .s3_location(
                                                RetrievalResultS3Location::builder()
                                                    .uri("s3://b/k")
                                                    .build(),
                                            )
                                            .build()
                                            .unwrap(),
                                    )
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
                    .unwrap()
            });
        let client = mock_client!(aws_sdk_bedrockagentruntime, [&rule]);
        let out = client.retrieve_and_generate().send().await.unwrap();
        let c: Vec<Value> = out.citations().iter().map(citation).collect();
        assert_eq!(
            Value::Array(c),
            json!([{"generatedResponsePart": {"textResponsePart": {"text": "hello", "span": {"start": 0, "end": 4}}},
                "retrievedReferences": [{"content": {"text": "chunk"},
                    "location": {"type": "S3", "s3Location": {"uri": "s3://b/k"}}}]}])
        );
    }
}
