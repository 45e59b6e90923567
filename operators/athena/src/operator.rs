//! `AthenaOperator`: StartQueryExecution, then (by default) wait for the query to finish. XCom
//! is the QueryExecutionId; a FAILED or CANCELLED query fails the task with its
//! StateChangeReason; on_kill stops the query (StopQueryExecution).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::permissions::{arn, global_arn};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_athena::Client;
use aws_sdk_athena::types::{
    AclConfiguration, EncryptionConfiguration, EncryptionOption, QueryExecutionContext,
    ResultConfiguration, S3AclOption,
};
use serde_json::{Map, Value, json};

use crate::query::{self, HOOK_LOGGER, State};

/// The provider's `max_polling_attempts or 999999`.
const DEFAULT_MAX_POLLING_ATTEMPTS: u32 = 999_999;

/// How often on_kill reads the stopped query's state, and how long it waits between reads
/// (at most; `sleep_time` when shorter).
const KILL_POLLS: u32 = 5;
const KILL_POLL_DELAY: Duration = Duration::from_secs(1);

/// A configured `AthenaOperator`.
#[derive(Debug)]
pub struct AthenaOperator {
    aws: AwsParams,
    query: String,
    context: QueryExecutionContext,
    result_configuration: ResultConfiguration,
    client_request_token: Option<String>,
    workgroup: String,
    log_query: bool,
    wait: WaitSettings,
    /// The query started by `execute`, for `on_kill`.
    started: Option<(Client, String)>,
}

/// The keys boto3 accepts in `query_execution_context`.
const CONTEXT_KEYS: &[&str] = &["Database", "Catalog"];

/// The keys boto3 accepts in `result_configuration`.
const RESULT_KEYS: &[&str] = &[
    "OutputLocation",
    "EncryptionConfiguration",
    "ExpectedBucketOwner",
    "AclConfiguration",
];

fn bad(name: &str, message: String) -> ParamError {
    ParamError::at(
        name.to_owned(),
        format!("AthenaOperator parameter `{name}`: {message}"),
    )
}

/// A string entry `key` of the mapping `m` (given as parameter `param`).
fn entry_str(m: &Map<String, Value>, param: &str, key: &str) -> Result<Option<String>, ParamError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(
            param,
            format!(
                "`{key}` must be a string, not {}",
                airtask_core::params::describe(other)
            ),
        )),
    }
}

/// Refuses keys of `m` outside `allowed`, as boto3's parameter validation does.
fn only_keys(m: &Map<String, Value>, param: &str, allowed: &[&str]) -> Result<(), ParamError> {
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad(
            param,
            format!(
                "unknown key `{k}`; the keys allowed are {}",
                allowed.join(", ")
            ),
        ));
    }
    Ok(())
}

/// A nested mapping `key` of `m`.
fn entry_map<'a>(
    m: &'a Map<String, Value>,
    param: &str,
    key: &str,
) -> Result<Option<&'a Map<String, Value>>, ParamError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(bad(
            param,
            format!(
                "`{key}` must be a mapping, not {}",
                airtask_core::params::describe(other)
            ),
        )),
    }
}

/// `result_configuration` (boto3's ResultConfiguration) with `output_location` over its
/// OutputLocation, as the provider merges them.
fn result_configuration(
    m: Option<&Map<String, Value>>,
    output_location: Option<String>,
) -> Result<ResultConfiguration, ParamError> {
    const P: &str = "result_configuration";
    let empty = Map::new();
    let m = m.unwrap_or(&empty);
    only_keys(m, P, RESULT_KEYS)?;
    let mut b = ResultConfiguration::builder()
        .set_output_location(output_location.or(entry_str(m, P, "OutputLocation")?))
        .set_expected_bucket_owner(entry_str(m, P, "ExpectedBucketOwner")?);
    if let Some(enc) = entry_map(m, P, "EncryptionConfiguration")? {
        only_keys(enc, P, &["EncryptionOption", "KmsKey"])?;
        let option = entry_str(enc, P, "EncryptionOption")?.ok_or_else(|| {
            bad(
                P,
                "EncryptionConfiguration needs EncryptionOption (SSE_S3, SSE_KMS or CSE_KMS)"
                    .to_owned(),
            )
        })?;
        if !["SSE_S3", "SSE_KMS", "CSE_KMS"].contains(&option.as_str()) {
            return Err(bad(
                P,
                format!("EncryptionOption is '{option}'; it must be SSE_S3, SSE_KMS or CSE_KMS"),
            ));
        }
        let enc = EncryptionConfiguration::builder()
            .encryption_option(EncryptionOption::from(option.as_str()))
            .set_kms_key(entry_str(enc, P, "KmsKey")?)
            .build()
            .map_err(|e| bad(P, e.to_string()))?;
        b = b.encryption_configuration(enc);
    }
    if let Some(acl) = entry_map(m, P, "AclConfiguration")? {
        only_keys(acl, P, &["S3AclOption"])?;
        let option = entry_str(acl, P, "S3AclOption")?.ok_or_else(|| {
            bad(
                P,
                "AclConfiguration needs S3AclOption (BUCKET_OWNER_FULL_CONTROL)".to_owned(),
            )
        })?;
        let acl = AclConfiguration::builder()
            .s3_acl_option(S3AclOption::from(option.as_str()))
            .build()
            .map_err(|e| bad(P, e.to_string()))?;
        b = b.acl_configuration(acl);
    }
    Ok(b.build())
}

/// The provider's `query_params_to_string`: one indented `key: value` line per parameter.
fn params_text(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("\t{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Operator for AthenaOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.athena.AthenaOperator",
        aliases: &["airflow.providers.amazon.aws.operators.athena.AWSAthenaOperator"],
        template_fields: &[
            "aws_conn_id",
            "catalog",
            "database",
            "output_location",
            "query",
            "region_name",
            "verify",
            "workgroup",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let query = p.required_str("query", "the SQL query to run on Athena")?;
        let database = p.str("database")?.filter(|d| !d.is_empty());
        let catalog = p
            .str("catalog")?
            .unwrap_or_else(|| "AwsDataCatalog".to_owned());
        let output_location = p.str("output_location")?.filter(|o| !o.is_empty());
        let client_request_token = p.str("client_request_token")?;
        let workgroup = p.str("workgroup")?.unwrap_or_else(|| "primary".to_owned());
        // The provider: Database from `database` over the context's, Catalog always `catalog`.
        let context_map = p.map("query_execution_context")?;
        if let Some(m) = context_map {
            only_keys(m, "query_execution_context", CONTEXT_KEYS)?;
        }
        let context_db = match context_map {
            Some(m) => entry_str(m, "query_execution_context", "Database")?,
            None => None,
        };
        if let Some(m) = context_map {
            entry_str(m, "query_execution_context", "Catalog")?;
        }
        let context = QueryExecutionContext::builder()
            .set_database(database.or(context_db))
            .catalog(catalog)
            .build();
        let result_configuration =
            result_configuration(p.map("result_configuration")?, output_location)?;
        let sleep_time = p.seconds("sleep_time", 30.0)?;
        // `max_polling_attempts or 999999`: None and 0 mean the default.
        let max_polling_attempts = p
            .u32("max_polling_attempts", 0..=u32::MAX)?
            .filter(|n| *n > 0)
            .unwrap_or(DEFAULT_MAX_POLLING_ATTEMPTS);
        let log_query = p.bool("log_query", true)?;
        let deferrable = p.bool("deferrable", false)?;
        // `durable` has no effect before Airflow 3.3 (the provider warns and ignores it).
        p.bool("durable", false)?;
        Ok(AthenaOperator {
            aws,
            query,
            context,
            result_configuration,
            client_request_token,
            workgroup,
            log_query,
            wait: WaitSettings {
                wait_for_completion: true,
                waiter_delay: Duration::from_secs_f64(sleep_time),
                waiter_max_attempts: max_polling_attempts,
                deferrable,
            },
            started: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let athena =
            airtask_aws::client_in(ctx, self.aws.region(), airtask_aws::sdk!(aws_sdk_athena))?;
        if self.log_query {
            let mut fields = vec![
                ("QueryString", self.query.clone()),
                (
                    "QueryExecutionContext",
                    format!("{:?}", context_json(&self.context)),
                ),
                (
                    "ResultConfiguration",
                    format!("{:?}", result_json(&self.result_configuration)),
                ),
                ("WorkGroup", self.workgroup.clone()),
            ];
            if let Some(t) = &self.client_request_token {
                fields.push(("ClientRequestToken", t.clone()));
            }
            ctx.hook_info(
                HOOK_LOGGER,
                &format!("Running Query with params:\n{}", params_text(&fields)),
            );
        }
        let out = athena
            .start_query_execution()
            .query_string(&self.query)
            .query_execution_context(self.context.clone())
            .result_configuration(self.result_configuration.clone())
            .work_group(&self.workgroup)
            .set_client_request_token(self.client_request_token.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("StartQueryExecution in workgroup {}", self.workgroup),
                    &e,
                )
            })?;
        let id = out.query_execution_id().unwrap_or_default().to_owned();
        if id.is_empty() {
            return Err(TaskError::retryable(
                "StartQueryExecution answered without a QueryExecutionId",
            ));
        }
        ctx.hook_info(HOOK_LOGGER, &format!("Query execution id: {id}"));
        self.started = Some((athena.clone(), id.clone()));
        let (athena_ref, id_ref) = (&athena, id.as_str());
        wait::until_terminal(
            ctx,
            &self.wait,
            &format!("Athena query {id}"),
            || async move {
                match query::state(athena_ref, id_ref).await? {
                    State::Intermediate(state) => Ok(Poll::Pending { state }),
                    State::Succeeded => Ok(Poll::Done(())),
                    State::Failed(state, reason) => Err(TaskError::retryable(format!(
                        "Final state of Athena job is {state}, query_execution_id is {id_ref}. \
                         Error: {}",
                        reason.as_deref().unwrap_or("(no StateChangeReason)")
                    ))),
                }
            },
        )
        .await?;
        self.started = None;
        ctx.hook_info(
            HOOK_LOGGER,
            &format!("Query execution id: {id}, state: SUCCEEDED"),
        );
        Ok(Outcome::Success(Some(json!(id))))
    }

    /// StartQueryExecution, GetQueryExecution and (on kill) StopQueryExecution on the
    /// workgroup. Athena runs the query with the caller's identity: it writes the results
    /// under `output_location` (the S3 actions Athena documents for a results location) and
    /// reads the `database`'s definitions from the Glue Data Catalog (for the default
    /// catalog). The S3 data the SQL reads, and what DDL it runs, is not derived from the
    /// query.
    fn permissions(&self) -> Vec<Permission> {
        let mut out = vec![Permission::new(
            &[
                "athena:StartQueryExecution",
                "athena:GetQueryExecution",
                "athena:StopQueryExecution",
            ],
            [arn(
                "athena",
                self.aws.region(),
                &format!("workgroup/{}", self.workgroup),
            )],
        )];
        if let Some(location) = self.result_configuration.output_location() {
            let path = location
                .strip_prefix("s3://")
                .or_else(|| location.strip_prefix("s3a://"))
                .unwrap_or(location);
            let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
            out.push(Permission::new(
                &[
                    "s3:GetBucketLocation",
                    "s3:ListBucket",
                    "s3:ListBucketMultipartUploads",
                ],
                [global_arn("s3", bucket)],
            ));
            out.push(Permission::new(
                &[
                    "s3:GetObject",
                    "s3:PutObject",
                    "s3:AbortMultipartUpload",
                    "s3:ListMultipartUploadParts",
                ],
                [global_arn("s3", &format!("{bucket}/{prefix}*"))],
            ));
        }
        if self.context.catalog() == Some("AwsDataCatalog") {
            let database = self.context.database().unwrap_or("*");
            out.push(Permission::new(
                &[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                ],
                [
                    arn("glue", self.aws.region(), "catalog"),
                    arn("glue", self.aws.region(), &format!("database/{database}")),
                    arn("glue", self.aws.region(), &format!("table/{database}/*")),
                ],
            ));
        }
        out
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((athena, id)) = self.started.take() else {
            return;
        };
        ctx.info("Received a kill signal.");
        ctx.info(&format!("Stopping Athena query {id}"));
        if let Err(e) = athena
            .stop_query_execution()
            .query_execution_id(&id)
            .send()
            .await
        {
            let err = airtask_aws::error::task_error(&format!("StopQueryExecution {id}"), &e);
            ctx.error(&format!(
                "Unable to request query cancel on athena ({err}). Exiting"
            ));
            return;
        }
        ctx.info(&format!(
            "Polling Athena for query with id {id} to reach final state"
        ));
        let delay = self.wait.waiter_delay.min(KILL_POLL_DELAY);
        for attempt in 1..=KILL_POLLS {
            match query::state(&athena, &id).await {
                Ok(State::Intermediate(state)) if attempt < KILL_POLLS => {
                    ctx.hook_info(
                        HOOK_LOGGER,
                        &format!("Query execution id: {id}, state: {state}"),
                    );
                    tokio::time::sleep(delay).await;
                }
                Ok(State::Intermediate(state)) => {
                    ctx.warning(&format!(
                        "Athena query {id} is still {state} after the stop request"
                    ));
                }
                Ok(State::Succeeded) => {
                    ctx.hook_info(
                        HOOK_LOGGER,
                        &format!("Query execution id: {id}, state: SUCCEEDED"),
                    );
                    return;
                }
                Ok(State::Failed(state, _)) => {
                    ctx.hook_info(
                        HOOK_LOGGER,
                        &format!("Query execution id: {id}, state: {state}"),
                    );
                    return;
                }
                Err(e) => {
                    ctx.error(&format!("Exception while getting query state: {e}"));
                    return;
                }
            }
        }
    }
}

/// The query context as boto3 would print it.
fn context_json(c: &QueryExecutionContext) -> Value {
    let mut m = Map::new();
    if let Some(d) = c.database() {
        m.insert("Database".into(), json!(d));
    }
    if let Some(cat) = c.catalog() {
        m.insert("Catalog".into(), json!(cat));
    }
    Value::Object(m)
}

/// The result configuration as boto3 would print it (its location and options).
fn result_json(r: &ResultConfiguration) -> Value {
    let mut m = Map::new();
    if let Some(o) = r.output_location() {
        m.insert("OutputLocation".into(), json!(o));
    }
    if let Some(e) = r.encryption_configuration() {
        m.insert(
            "EncryptionConfiguration".into(),
            json!({"EncryptionOption": e.encryption_option().as_str()}),
        );
    }
    if let Some(o) = r.expected_bucket_owner() {
        m.insert("ExpectedBucketOwner".into(), json!(o));
    }
    if let Some(a) = r.acl_configuration() {
        m.insert(
            "AclConfiguration".into(),
            json!({"S3AclOption": a.s3_acl_option().as_str()}),
        );
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<AthenaOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<AthenaOperator>(&p)
    }

    #[test]
    fn database_and_output_location_override_the_mappings() {
        let op = build(json!({
            "query": "SELECT 1",
            "database": "sales",
            "output_location": "s3://b/out/",
            "query_execution_context": {"Database": "other", "Catalog": "ignored"},
            "result_configuration": {
                "OutputLocation": "s3://b/other/",
                "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": "k"},
            },
        }))
        .unwrap();
        assert_eq!(op.context.database(), Some("sales"));
        assert_eq!(op.context.catalog(), Some("AwsDataCatalog"));
        assert_eq!(
            op.result_configuration.output_location(),
            Some("s3://b/out/")
        );
        assert_eq!(
            op.result_configuration
                .encryption_configuration()
                .and_then(|e| e.kms_key()),
            Some("k")
        );
        assert_eq!(op.workgroup, "primary");
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(30));
        assert_eq!(op.wait.waiter_max_attempts, DEFAULT_MAX_POLLING_ATTEMPTS);
    }

    #[test]
    fn context_database_applies_without_database() {
        let op = build(json!({
            "query": "SELECT 1",
            "query_execution_context": {"Database": "ctx_db"},
            "catalog": "mycat",
            "sleep_time": 2,
            "max_polling_attempts": 7,
        }))
        .unwrap();
        assert_eq!(op.context.database(), Some("ctx_db"));
        assert_eq!(op.context.catalog(), Some("mycat"));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(2));
        assert_eq!(op.wait.waiter_max_attempts, 7);
    }

    #[test]
    fn bad_mappings_are_refused_with_the_key() {
        let e = build(json!({"query": "q", "result_configuration": {"Output": "s3://x/"}}))
            .unwrap_err();
        assert!(
            e.message().contains("unknown key `Output`"),
            "{}",
            e.message()
        );
        assert_eq!(e.param(), Some("result_configuration"));
        let e = build(json!({
            "query": "q",
            "result_configuration": {"EncryptionConfiguration": {"EncryptionOption": "AES"}},
        }))
        .unwrap_err();
        assert!(
            e.message().contains("SSE_S3, SSE_KMS or CSE_KMS"),
            "{}",
            e.message()
        );
        let e =
            build(json!({"query": "q", "query_execution_context": {"Schema": "x"}})).unwrap_err();
        assert!(
            e.message().contains("unknown key `Schema`"),
            "{}",
            e.message()
        );
        let e = build(json!({"database": "d"})).unwrap_err();
        assert!(e.message().contains("needs `query`"), "{}", e.message());
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::AthenaOperator;

    #[test]
    fn the_workgroup_the_results_location_and_the_database() {
        let p: Params = json!({
            "query": "SELECT 1", "database": "sales", "workgroup": "etl",
            "output_location": "s3://results/athena/",
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        let op = build_operator::<AthenaOperator>(&p).expect("valid parameters");
        assert_eq!(
            op.permissions(),
            [
                Permission::new(
                    &[
                        "athena:StartQueryExecution",
                        "athena:GetQueryExecution",
                        "athena:StopQueryExecution",
                    ],
                    ["arn:aws:athena:{region}:{account}:workgroup/etl"]
                ),
                Permission::new(
                    &[
                        "s3:GetBucketLocation",
                        "s3:ListBucket",
                        "s3:ListBucketMultipartUploads",
                    ],
                    ["arn:aws:s3:::results"]
                ),
                Permission::new(
                    &[
                        "s3:GetObject",
                        "s3:PutObject",
                        "s3:AbortMultipartUpload",
                        "s3:ListMultipartUploadParts",
                    ],
                    ["arn:aws:s3:::results/athena/*"]
                ),
                Permission::new(
                    &[
                        "glue:GetDatabase",
                        "glue:GetTable",
                        "glue:GetTables",
                        "glue:GetPartition",
                        "glue:GetPartitions",
                        "glue:BatchGetPartition",
                    ],
                    [
                        "arn:aws:glue:{region}:{account}:catalog",
                        "arn:aws:glue:{region}:{account}:database/sales",
                        "arn:aws:glue:{region}:{account}:table/sales/*",
                    ]
                ),
            ]
        );
    }
}
