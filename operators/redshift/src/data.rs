//! `RedshiftDataOperator`: ExecuteStatement (one SQL string) or BatchExecuteStatement (a list),
//! then (by default) wait until the statement FINISHED. XCom is the list of statement ids (the
//! sub-statements' of a batch), or with `return_sql_result` the GetStatementResult of each;
//! a session's id is pushed as `session_id`. A FAILED or ABORTED statement fails the task with
//! its error; on_kill cancels the statement (CancelStatement).

use std::time::Duration;

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_redshiftdata::Client;
use aws_sdk_redshiftdata::operation::describe_statement::DescribeStatementOutput;
use aws_sdk_redshiftdata::operation::get_statement_result::GetStatementResultOutput;
use aws_sdk_redshiftdata::types::{ColumnMetadata, Field, SqlParameter};
use serde_json::{Map, Value, json};

/// The logger of the Redshift Data hook's lines.
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.redshift_data.RedshiftDataHook";

/// The provider's `session_keep_alive_seconds` limit: 24 hours.
const MAX_KEEP_ALIVE: i64 = 86_400;

/// The SQL to run: one statement, or a batch.
#[derive(Debug, Clone, PartialEq)]
enum Sql {
    One(String),
    Batch(Vec<String>),
}

/// A configured `RedshiftDataOperator`.
#[derive(Debug)]
pub struct RedshiftDataOperator {
    aws: AwsParams,
    sql: Sql,
    database: Option<String>,
    cluster_identifier: Option<String>,
    workgroup_name: Option<String>,
    session_id: Option<String>,
    session_keep_alive_seconds: Option<i32>,
    db_user: Option<String>,
    secret_arn: Option<String>,
    statement_name: Option<String>,
    parameters: Vec<SqlParameter>,
    with_event: bool,
    return_sql_result: bool,
    wait: WaitSettings,
    /// The statement started by `execute`, for `on_kill`.
    started: Option<(Client, String)>,
}

/// Whether `s` is a UUID of version 4 (the provider's `UUID(session_id).version != 4` check).
fn is_uuid4(s: &str) -> bool {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let groups: Vec<usize> = s.split('-').map(str::len).collect();
    let dashed = groups == [8, 4, 4, 4, 12];
    (dashed || (groups.len() == 1 && hex.len() == 32))
        && hex.len() == 32
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && hex.as_bytes()[12] == b'4'
}

/// `parameters`: a list of `{name, value}` mappings (boto3's SqlParameter list).
fn parameters(list: Option<&Vec<Value>>) -> Result<Vec<SqlParameter>, ParamError> {
    let bad = |what: String| {
        ParamError::at(
            "parameters",
            format!(
                "RedshiftDataOperator parameter `parameters` must be a list of {{name: ..., \
                 value: ...}} mappings (strings); {what}"
            ),
        )
    };
    list.into_iter()
        .flatten()
        .enumerate()
        .map(|(i, item)| {
            let m = item.as_object().ok_or_else(|| {
                bad(format!(
                    "item {} is {}",
                    i + 1,
                    airtask_core::params::describe(item)
                ))
            })?;
            if let Some(k) = m.keys().find(|k| *k != "name" && *k != "value") {
                return Err(bad(format!("item {} has the unknown key `{k}`", i + 1)));
            }
            let text = |k: &str| match m.get(k) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(Value::Bool(b)) => Ok(b.to_string()),
                _ => Err(bad(format!("item {} has no string `{k}`", i + 1))),
            };
            SqlParameter::builder()
                .name(text("name")?)
                .value(text("value")?)
                .build()
                .map_err(|e| bad(e.to_string()))
        })
        .collect()
}

impl Operator for RedshiftDataOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.redshift_data.RedshiftDataOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "cluster_identifier",
            "database",
            "db_user",
            "parameters",
            "region_name",
            "session_id",
            "sql",
            "statement_name",
            "verify",
            "workgroup_name",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let aws = AwsParams::read(p)?;
        let sql = match p.value("sql") {
            Some(Value::String(s)) => Sql::One(s.clone()),
            Some(Value::Array(_)) => Sql::Batch(p.str_or_list("sql")?.unwrap_or_default()),
            Some(other) => {
                return Err(ParamError::at(
                    "sql",
                    format!(
                        "RedshiftDataOperator parameter `sql` must be a SQL string or a list of \
                         them, not {}",
                        airtask_core::params::describe(other)
                    ),
                ));
            }
            None => {
                return Err(ParamError::at(
                    "sql",
                    "RedshiftDataOperator needs `sql`: the SQL statement, or a list of them (run \
                     as one batch)",
                ));
            }
        };
        if matches!(&sql, Sql::Batch(v) if v.is_empty()) {
            return Err(ParamError::at(
                "sql",
                "RedshiftDataOperator parameter `sql` is an empty list: give at least one SQL \
                 statement",
            ));
        }
        let database = p.str("database")?;
        let cluster_identifier = p.str("cluster_identifier")?;
        let workgroup_name = p.str("workgroup_name")?;
        let session_id = p.str("session_id")?;
        let targets = [&cluster_identifier, &workgroup_name, &session_id]
            .iter()
            .filter(|t| t.is_some())
            .count();
        if targets != 1 {
            return Err(ParamError::new(format!(
                "RedshiftDataOperator needs exactly one of cluster_identifier, workgroup_name or \
                 session_id (where the SQL runs: a provisioned cluster, a Redshift Serverless \
                 workgroup, or an open session); {} given",
                if targets == 0 {
                    "none is"
                } else {
                    "more than one is"
                }
            )));
        }
        if let Some(s) = &session_id
            && !p.is_templated(s)
            && !is_uuid4(s)
        {
            return Err(ParamError::at(
                "session_id",
                format!(
                    "RedshiftDataOperator parameter `session_id` is '{s}': session_id must be a \
                     valid UUID4 (the SessionId a previous statement returned)"
                ),
            ));
        }
        let session_keep_alive_seconds = p
            .i64("session_keep_alive_seconds", 0..=MAX_KEEP_ALIVE)?
            .and_then(|n| i32::try_from(n).ok());
        let db_user = p.str("db_user")?;
        let secret_arn = p.str("secret_arn")?;
        let statement_name = p.str("statement_name")?;
        let parameters = parameters(p.list("parameters")?)?;
        let with_event = p.bool("with_event", false)?;
        let wait_for_completion = p.bool("wait_for_completion", true)?;
        let poll_interval = p.seconds("poll_interval", 10.0)?;
        if poll_interval <= 0.0 {
            return Err(ParamError::at(
                "poll_interval",
                "RedshiftDataOperator parameter `poll_interval` must be more than 0 seconds \
                 (the provider logs \"Invalid poll_interval\" and then cannot poll)",
            ));
        }
        let return_sql_result = p.bool("return_sql_result", false)?;
        let deferrable = p.bool("deferrable", false)?;
        // `durable` only acts on Airflow 3.3+ (ignored silently before, as here).
        p.bool("durable", true)?;
        Ok(RedshiftDataOperator {
            aws,
            sql,
            database,
            cluster_identifier,
            workgroup_name,
            session_id,
            session_keep_alive_seconds,
            db_user,
            secret_arn,
            statement_name,
            parameters,
            with_event,
            return_sql_result,
            wait: WaitSettings {
                wait_for_completion,
                waiter_delay: Duration::from_secs_f64(poll_interval),
                // The hook's wait_for_results has no limit: execution_timeout bounds it.
                waiter_max_attempts: u32::MAX,
                deferrable: deferrable && wait_for_completion,
            },
            started: None,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let rsd = airtask_aws::client_in(
            ctx,
            self.aws.region(),
            airtask_aws::sdk!(aws_sdk_redshiftdata),
        )?;
        let (id, session) = self.submit(&rsd).await?;
        self.started = Some((rsd.clone(), id.clone()));
        if let Some(s) = session {
            ctx.xcom_push("session_id", json!(s));
        }
        if self.wait.wait_for_completion {
            let (rsd_ref, id_ref) = (&rsd, id.as_str());
            wait::until_terminal(
                ctx,
                &self.wait,
                &format!("Redshift Data statement {id}"),
                || async move {
                    ctx.hook_info(HOOK_LOGGER, &format!("Polling statement {id_ref}"));
                    let d = describe(rsd_ref, id_ref).await?;
                    finished(ctx, &d)
                },
            )
            .await?;
        }
        self.started = None;
        let d = describe(&rsd, &id).await?;
        let ids: Vec<String> = if d.sub_statements().is_empty() {
            vec![id.clone()]
        } else {
            d.sub_statements()
                .iter()
                .map(|s| s.id().to_owned())
                .collect()
        };
        if !self.return_sql_result {
            return Ok(Outcome::Success(Some(json!(ids))));
        }
        let mut results = Vec::with_capacity(ids.len());
        for sid in &ids {
            let out = rsd
                .get_statement_result()
                .id(sid)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(&format!("GetStatementResult {sid}"), &e)
                })?;
            results.push(result_json(&out));
        }
        Ok(Outcome::Success(Some(Value::Array(results))))
    }

    /// ExecuteStatement (one SQL string) or BatchExecuteStatement (a list) on the cluster or
    /// the workgroup (whose ARN carries its id, not its name: any workgroup); DescribeStatement,
    /// GetStatementResult with `return_sql_result` and (on kill) CancelStatement, which IAM
    /// does not scope. The database credentials the Data API takes with the caller's identity:
    /// GetSecretValue on `secret_arn`; else GetClusterCredentials for `db_user` (or
    /// GetClusterCredentialsWithIAM) on a cluster, GetCredentials on a workgroup.
    fn permissions(&self) -> Vec<Permission> {
        let region = self.aws.region();
        let execute = match self.sql {
            Sql::One(_) => "redshift-data:ExecuteStatement",
            Sql::Batch(_) => "redshift-data:BatchExecuteStatement",
        };
        let target = if let Some(c) = &self.cluster_identifier {
            arn("redshift", region, &format!("cluster:{c}"))
        } else if self.workgroup_name.is_some() {
            arn("redshift-serverless", region, "workgroup/*")
        } else {
            "*".to_owned()
        };
        let mut out = vec![Permission::new(&[execute], [target])];
        let mut statement = vec!["redshift-data:DescribeStatement"];
        if self.return_sql_result {
            statement.push("redshift-data:GetStatementResult");
        }
        statement.push("redshift-data:CancelStatement");
        out.push(Permission::on_any(&statement));
        let database = self.database.as_deref().unwrap_or("*");
        if let Some(secret) = &self.secret_arn {
            out.push(Permission::new(
                &["secretsmanager:GetSecretValue"],
                [secret.clone()],
            ));
        } else if let Some(c) = &self.cluster_identifier {
            match &self.db_user {
                Some(user) => out.push(Permission::new(
                    &["redshift:GetClusterCredentials"],
                    [
                        arn("redshift", region, &format!("dbuser:{c}/{user}")),
                        arn("redshift", region, &format!("dbname:{c}/{database}")),
                    ],
                )),
                None => out.push(Permission::new(
                    &["redshift:GetClusterCredentialsWithIAM"],
                    [arn("redshift", region, &format!("dbname:{c}/{database}"))],
                )),
            }
        } else if self.workgroup_name.is_some() {
            out.push(Permission::new(
                &["redshift-serverless:GetCredentials"],
                [arn("redshift-serverless", region, "workgroup/*")],
            ));
        }
        out
    }

    async fn on_kill(&mut self, ctx: &TaskContext) {
        let Some((rsd, id)) = self.started.take() else {
            return;
        };
        ctx.info("Received a kill signal.");
        ctx.info(&format!("Stopping Query with statementId - {id}"));
        if let Err(e) = rsd.cancel_statement().id(&id).send().await {
            let err = airtask_aws::error::task_error(&format!("CancelStatement {id}"), &e);
            ctx.error(&format!("Unable to cancel query. Exiting. {err}"));
        }
    }
}

impl RedshiftDataOperator {
    /// ExecuteStatement or BatchExecuteStatement: the statement's id and the session's.
    async fn submit(&self, rsd: &Client) -> Result<(String, Option<String>), TaskError> {
        let target = self
            .cluster_identifier
            .as_deref()
            .map(|c| format!("cluster {c}"))
            .or_else(|| {
                self.workgroup_name
                    .as_deref()
                    .map(|w| format!("workgroup {w}"))
            })
            .or_else(|| self.session_id.as_deref().map(|s| format!("session {s}")))
            .unwrap_or_default();
        let params = (!self.parameters.is_empty()).then(|| self.parameters.clone());
        let (id, session) = match &self.sql {
            Sql::One(sql) => {
                let out = rsd
                    .execute_statement()
                    .sql(sql)
                    .set_database(self.database.clone())
                    .set_cluster_identifier(self.cluster_identifier.clone())
                    .set_workgroup_name(self.workgroup_name.clone())
                    .set_session_id(self.session_id.clone())
                    .set_session_keep_alive_seconds(self.session_keep_alive_seconds)
                    .set_db_user(self.db_user.clone())
                    .set_secret_arn(self.secret_arn.clone())
                    .set_statement_name(self.statement_name.clone())
                    .set_parameters(params)
                    .with_event(self.with_event)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(&format!("ExecuteStatement on {target}"), &e)
                    })?;
                (
                    out.id().map(str::to_owned),
                    out.session_id().map(str::to_owned),
                )
            }
            Sql::Batch(sqls) => {
                let out = rsd
                    .batch_execute_statement()
                    .set_sqls(Some(sqls.clone()))
                    .set_database(self.database.clone())
                    .set_cluster_identifier(self.cluster_identifier.clone())
                    .set_workgroup_name(self.workgroup_name.clone())
                    .set_session_id(self.session_id.clone())
                    .set_session_keep_alive_seconds(self.session_keep_alive_seconds)
                    .set_db_user(self.db_user.clone())
                    .set_secret_arn(self.secret_arn.clone())
                    .set_statement_name(self.statement_name.clone())
                    .with_event(self.with_event)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("BatchExecuteStatement on {target}"),
                            &e,
                        )
                    })?;
                (
                    out.id().map(str::to_owned),
                    out.session_id().map(str::to_owned),
                )
            }
        };
        let id = id.filter(|i| !i.is_empty()).ok_or_else(|| {
            TaskError::retryable("the Redshift Data API answered without a statement Id")
        })?;
        Ok((id, session))
    }
}

/// DescribeStatement of `id`.
async fn describe(rsd: &Client, id: &str) -> Result<DescribeStatementOutput, TaskError> {
    rsd.describe_statement()
        .id(id)
        .send()
        .await
        .map_err(|e| airtask_aws::error::task_error(&format!("DescribeStatement {id}"), &e))
}

/// The hook's `parse_statement_response`: done at FINISHED, an error at FAILED or ABORTED.
fn finished(ctx: &TaskContext, d: &DescribeStatementOutput) -> Result<Poll<()>, TaskError> {
    let status = d.status().map_or("UNKNOWN", |s| s.as_str());
    match status {
        "FINISHED" => {
            if d.result_rows() >= 0 {
                ctx.hook_info(HOOK_LOGGER, &format!("Processed {} rows", d.result_rows()));
            }
            Ok(Poll::Done(()))
        }
        "FAILED" | "ABORTED" => {
            let mut text = format!("Statement {} terminated with status {status}", d.id());
            if let Some(e) = d.error().filter(|e| !e.is_empty()) {
                text.push_str(&format!(". Error: {e}"));
            }
            for s in d.sub_statements() {
                if let Some(e) = s.error().filter(|e| !e.is_empty()) {
                    text.push_str(&format!("; sub-statement {}: {e}", s.id()));
                }
            }
            if let Some(q) = d.query_string() {
                text.push_str(&format!(" (SQL: {q})"));
            }
            Err(TaskError::retryable(text))
        }
        other => {
            ctx.hook_info(HOOK_LOGGER, &format!("Query status: {other}"));
            Ok(Poll::Pending {
                state: other.to_owned(),
            })
        }
    }
}

/// One field of a record as boto3 returns it (`{"longValue": 10}`, `{"isNull": true}`...).
fn field_json(f: &Field) -> Value {
    match f {
        Field::BlobValue(b) => {
            json!({"blobValue": b.as_ref().iter().map(|x| format!("{x:02x}")).collect::<String>()})
        }
        Field::BooleanValue(b) => json!({"booleanValue": b}),
        Field::DoubleValue(d) => json!({"doubleValue": d}),
        Field::IsNull(n) => json!({"isNull": n}),
        Field::LongValue(l) => json!({"longValue": l}),
        Field::StringValue(s) => json!({"stringValue": s}),
        _ => Value::Object(Map::new()),
    }
}

fn column_json(c: &ColumnMetadata) -> Value {
    let mut m = Map::new();
    m.insert("isCaseSensitive".into(), json!(c.is_case_sensitive()));
    m.insert("isCurrency".into(), json!(c.is_currency()));
    m.insert("isSigned".into(), json!(c.is_signed()));
    let opt = |m: &mut Map<String, Value>, k: &str, v: Option<&str>| {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    };
    opt(&mut m, "label", c.label());
    opt(&mut m, "name", c.name());
    m.insert("nullable".into(), json!(c.nullable()));
    m.insert("precision".into(), json!(c.precision()));
    m.insert("scale".into(), json!(c.scale()));
    opt(&mut m, "schemaName", c.schema_name());
    opt(&mut m, "tableName", c.table_name());
    opt(&mut m, "typeName", c.type_name());
    m.insert("length".into(), json!(c.length()));
    opt(&mut m, "columnDefault", c.column_default());
    Value::Object(m)
}

/// A GetStatementResult response as boto3 returns it (without ResponseMetadata).
fn result_json(out: &GetStatementResultOutput) -> Value {
    let mut m = Map::new();
    m.insert(
        "Records".into(),
        Value::Array(
            out.records()
                .iter()
                .map(|r| Value::Array(r.iter().map(field_json).collect()))
                .collect(),
        ),
    );
    m.insert(
        "ColumnMetadata".into(),
        Value::Array(out.column_metadata().iter().map(column_json).collect()),
    );
    m.insert("TotalNumRows".into(), json!(out.total_num_rows()));
    if let Some(t) = out.next_token() {
        m.insert("NextToken".into(), json!(t));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use airtask_core::{Params, build_operator};

    use super::*;

    fn build(v: Value) -> Result<RedshiftDataOperator, ParamError> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<RedshiftDataOperator>(&p)
    }

    #[test]
    fn exactly_one_target_is_required() {
        let e = build(json!({"sql": "select 1"})).unwrap_err();
        assert!(
            e.message().contains("exactly one of cluster_identifier"),
            "{}",
            e.message()
        );
        let e = build(json!({"sql": "select 1", "cluster_identifier": "c", "workgroup_name": "w"}))
            .unwrap_err();
        assert!(e.message().contains("more than one is"), "{}", e.message());
        let op = build(json!({"sql": ["a", "b"], "workgroup_name": "w"})).unwrap();
        assert_eq!(op.sql, Sql::Batch(vec!["a".into(), "b".into()]));
        assert_eq!(op.wait.waiter_delay, Duration::from_secs(10));
    }

    #[test]
    fn session_ids_keep_alive_and_parameters_are_checked() {
        let e = build(json!({"sql": "s", "session_id": "not-a-uuid"})).unwrap_err();
        assert!(e.message().contains("valid UUID4"), "{}", e.message());
        build(json!({"sql": "s", "session_id": "0f8fad5b-d9cb-469f-a165-70867728950e"})).unwrap();
        let e = build(json!({"sql": "s", "session_id": "0f8fad5b-d9cb-169f-a165-70867728950e"}))
            .unwrap_err();
        assert!(e.message().contains("valid UUID4"), "{}", e.message());
        let e = build(
            json!({"sql": "s", "cluster_identifier": "c", "session_keep_alive_seconds": 86401}),
        )
        .unwrap_err();
        assert_eq!(e.param(), Some("session_keep_alive_seconds"));
        let op = build(json!({
            "sql": "select :a",
            "cluster_identifier": "c",
            "parameters": [{"name": "a", "value": "1"}],
        }))
        .unwrap();
        assert_eq!(op.parameters.len(), 1);
        let e = build(json!({"sql": "s", "cluster_identifier": "c", "parameters": [{"nom": "a"}]}))
            .unwrap_err();
        assert!(e.message().contains("unknown key `nom`"), "{}", e.message());
        let e =
            build(json!({"sql": "s", "cluster_identifier": "c", "poll_interval": 0})).unwrap_err();
        assert_eq!(e.param(), Some("poll_interval"));
        let e = build(json!({"sql": [], "cluster_identifier": "c"})).unwrap_err();
        assert!(e.message().contains("empty list"), "{}", e.message());
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::RedshiftDataOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<RedshiftDataOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn the_target_and_the_credentials_decide_the_permissions() {
        assert_eq!(
            perms(json!({
                "sql": "SELECT 1", "cluster_identifier": "c1", "database": "dev",
                "db_user": "etl", "return_sql_result": true,
            })),
            [
                Permission::new(
                    &["redshift-data:ExecuteStatement"],
                    ["arn:aws:redshift:{region}:{account}:cluster:c1"]
                ),
                Permission::on_any(&[
                    "redshift-data:DescribeStatement",
                    "redshift-data:GetStatementResult",
                    "redshift-data:CancelStatement",
                ]),
                Permission::new(
                    &["redshift:GetClusterCredentials"],
                    [
                        "arn:aws:redshift:{region}:{account}:dbuser:c1/etl",
                        "arn:aws:redshift:{region}:{account}:dbname:c1/dev",
                    ]
                ),
            ]
        );
        let secret = "arn:aws:secretsmanager:us-east-1:1:secret:rs";
        assert_eq!(
            perms(json!({
                "sql": ["SELECT 1", "SELECT 2"], "workgroup_name": "wg", "secret_arn": secret,
            })),
            [
                Permission::new(
                    &["redshift-data:BatchExecuteStatement"],
                    ["arn:aws:redshift-serverless:{region}:{account}:workgroup/*"]
                ),
                Permission::on_any(&[
                    "redshift-data:DescribeStatement",
                    "redshift-data:CancelStatement",
                ]),
                Permission::new(&["secretsmanager:GetSecretValue"], [secret]),
            ]
        );
    }
}
