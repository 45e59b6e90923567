//! Glue Data Quality: `GlueDataQualityOperator` (create or update a ruleset),
//! `GlueDataQualityRuleSetEvaluationRunOperator` and its sensor (evaluate rulesets against a
//! Glue table, fail when a rule fails), `GlueDataQualityRuleRecommendationRunOperator` and its
//! sensor (recommend a ruleset for a table). XCom of the run operators is the run's id.

use std::collections::HashMap;

use airtask_aws::AwsParams;
use airtask_core::params::describe;
use airtask_core::sensor::{self, SensorSettings};
use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_glue::types::{
    DataQualityEvaluationRunAdditionalRunOptions, DataQualityTargetTable, DataSource,
    DqCompositeRuleEvaluationMethod, GlueTable,
};
use serde_json::{Map, Value};

use crate::perms;

/// The provider's hook logger (`GlueDataQualityHook`).
const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.glue.GlueDataQualityHook";

/// The states in which a run has failed (the provider's waiters and sensors).
const FAILURE_STATES: [&str; 4] = ["FAILED", "STOPPED", "STOPPING", "TIMEOUT"];

/// The actions that read an evaluation run and its results (the SDK's
/// BatchGetDataQualityResult is authorized by IAM as `glue:GetDataQualityResult`).
const EVALUATION_RESULTS: &[&str] = &[
    "glue:GetDataQualityRulesetEvaluationRun",
    "glue:GetDataQualityResult",
];

/// The ARNs of the rulesets `names` (every ruleset where a run's rulesets are unknown).
fn rulesets<'a>(aws: &AwsParams, names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let arns: Vec<String> = names
        .into_iter()
        .map(|n| perms::glue(aws, &format!("dataQualityRuleset/{n}")))
        .collect();
    if arns.is_empty() {
        vec![perms::glue(aws, "dataQualityRuleset/*")]
    } else {
        arns
    }
}

fn glue_client(ctx: &TaskContext, aws: &AwsParams) -> Result<aws_sdk_glue::Client, TaskError> {
    airtask_aws::client_in(ctx, aws.region(), airtask_aws::sdk!(aws_sdk_glue))
}

fn wrong(op: &str, what: &str, expected: &str, found: &Value) -> ParamError {
    ParamError::new(format!(
        "{op}: {what} must be {expected}, not {}",
        describe(found)
    ))
}

fn string(op: &str, what: &str, v: &Value) -> Result<String, ParamError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        other => Err(wrong(op, what, "a string", other)),
    }
}

fn object<'a>(op: &str, what: &str, v: &'a Value) -> Result<&'a Map<String, Value>, ParamError> {
    match v {
        Value::Object(m) => Ok(m),
        other => Err(wrong(op, what, "a mapping", other)),
    }
}

/// Refuses keys of `m` outside `allowed` (boto3 refuses unknown arguments and members).
fn only(op: &str, what: &str, m: &Map<String, Value>, allowed: &[&str]) -> Result<(), ParamError> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(ParamError::new(format!(
            "{op}: {what} has no key `{k}`; it takes {}",
            allowed.join(", ")
        ))),
        None => Ok(()),
    }
}

fn opt_string(
    op: &str,
    what: &str,
    m: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ParamError> {
    m.get(key)
        .map(|v| string(op, &format!("{what}.{key}"), v))
        .transpose()
}

/// A `DataSource` mapping: `{GlueTable: {DatabaseName, TableName, CatalogId?, ConnectionName?,
/// AdditionalOptions?}}`; DatabaseName and TableName are required, as the provider checks.
fn data_source(op: &str, what: &str, v: &Value) -> Result<DataSource, ParamError> {
    let m = object(op, what, v)?;
    only(op, what, m, &["GlueTable"])?;
    let missing = || {
        ParamError::new(format!(
            "{op}: {what} must name a Glue table: {{GlueTable: {{DatabaseName: ..., TableName: \
             ...}}}} (Airflow: DataSource glue table must have DatabaseName and TableName)"
        ))
    };
    let table = m.get("GlueTable").ok_or_else(missing)?;
    let t = object(op, &format!("{what}.GlueTable"), table)?;
    let inner = format!("{what}.GlueTable");
    only(
        op,
        &inner,
        t,
        &[
            "DatabaseName",
            "TableName",
            "CatalogId",
            "ConnectionName",
            "AdditionalOptions",
        ],
    )?;
    let database = opt_string(op, &inner, t, "DatabaseName")?.filter(|s| !s.is_empty());
    let table_name = opt_string(op, &inner, t, "TableName")?.filter(|s| !s.is_empty());
    let (Some(database), Some(table_name)) = (database, table_name) else {
        return Err(missing());
    };
    let mut options = HashMap::new();
    if let Some(extra) = t.get("AdditionalOptions") {
        for (k, v) in object(op, &format!("{inner}.AdditionalOptions"), extra)? {
            options.insert(
                k.clone(),
                string(op, &format!("{inner}.AdditionalOptions.{k}"), v)?,
            );
        }
    }
    let glue_table = GlueTable::builder()
        .database_name(database)
        .table_name(table_name)
        .set_catalog_id(opt_string(op, &inner, t, "CatalogId")?)
        .set_connection_name(opt_string(op, &inner, t, "ConnectionName")?)
        .set_additional_options((!options.is_empty()).then_some(options))
        .build()
        .map_err(|e| ParamError::new(format!("{op}: {what}: {e}")))?;
    Ok(DataSource::builder().glue_table(glue_table).build())
}

/// The `datasource` parameter (required; an unrendered template passes `validate`).
fn read_datasource(p: &mut ParamReader<'_>, op: &str) -> Result<Option<DataSource>, ParamError> {
    match p.map("datasource")? {
        Some(m) => data_source(op, "datasource", &Value::Object(m.clone()))
            .map(Some)
            .map_err(|e| e.for_param("datasource")),
        None if !p.rendered() => Ok(None),
        None => Err(ParamError::at(
            "datasource",
            format!(
                "{op} needs `datasource`: the Glue table to check, {{GlueTable: {{DatabaseName: \
                 ..., TableName: ...}}}}"
            ),
        )),
    }
}

fn table_of(source: Option<&DataSource>) -> (String, String) {
    let t = source.and_then(|s| s.glue_table());
    (
        t.map(|t| t.database_name().to_owned()).unwrap_or_default(),
        t.map(|t| t.table_name().to_owned()).unwrap_or_default(),
    )
}

/// One poll of a run's status for the wait loop: done, pending, or failed with its error.
fn run_poll(what: &str, status: &str, error: Option<&str>) -> Result<Poll<()>, TaskError> {
    match status {
        "SUCCEEDED" => Ok(Poll::Done(())),
        s if FAILURE_STATES.contains(&s) => Err(TaskError::retryable(format!(
            "{what} ended {s}: {}",
            error.unwrap_or("AWS gives no ErrorString")
        ))),
        s => Ok(Poll::Pending {
            state: s.to_owned(),
        }),
    }
}

/// The results of an evaluation run: logs them (`show_results`) and fails when a rule's result
/// is FAIL or ERROR (`verify_result_status`), as the provider's
/// `validate_evaluation_run_results`.
async fn validate_evaluation_results(
    ctx: &TaskContext,
    glue: &aws_sdk_glue::Client,
    run_id: &str,
    show_results: bool,
    verify_result_status: bool,
) -> Result<(), TaskError> {
    let run = glue
        .get_data_quality_ruleset_evaluation_run()
        .run_id(run_id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(
                &format!("GetDataQualityRulesetEvaluationRun of {run_id}"),
                &e,
            )
        })?;
    let ids = run.result_ids().to_vec();
    let results = glue
        .batch_get_data_quality_result()
        .set_result_ids(Some(ids))
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(
                &format!("BatchGetDataQualityResult of the run {run_id}"),
                &e,
            )
        })?;
    if !results.results_not_found().is_empty() {
        ctx.hook_info(
            HOOK_LOGGER,
            &format!(
                "AWS Glue data quality ruleset evaluation run, results not found for {:?}",
                results.results_not_found()
            ),
        );
    }
    let mut failed: Vec<String> = Vec::new();
    for result in results.results() {
        let rules = result.rule_results();
        for rule in rules {
            let status = rule.result().map(|r| r.as_str()).unwrap_or_default();
            if status == "FAIL" || status == "ERROR" {
                failed.push(format!(
                    "{} {} ({status}{})",
                    result.ruleset_name().unwrap_or_default(),
                    rule.description().or(rule.name()).unwrap_or_default(),
                    rule.evaluation_message()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ));
            }
        }
        if show_results {
            ctx.hook_info(
                HOOK_LOGGER,
                &format!(
                    "AWS Glue data quality ruleset evaluation result for RulesetName: {} \
                     RulesetEvaluationRunId: {} Score: {}",
                    result.ruleset_name().unwrap_or("None"),
                    result.ruleset_evaluation_run_id().unwrap_or("None"),
                    result.score().map_or("None".to_owned(), |s| s.to_string())
                ),
            );
            ctx.hook_info(
                HOOK_LOGGER,
                "Name\tDescription\tResult\tEvaluatedMetrics\tEvaluationMessage",
            );
            for rule in rules {
                let mut metrics: Vec<(&String, &f64)> =
                    rule.evaluated_metrics().into_iter().flatten().collect();
                metrics.sort_by(|a, b| a.0.cmp(b.0));
                let metrics = metrics
                    .iter()
                    .map(|(k, v)| format!("'{k}': {v:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                ctx.hook_info(
                    HOOK_LOGGER,
                    &format!(
                        "{}\t{}\t{}\t{{{metrics}}}\t{}",
                        rule.name().unwrap_or_default(),
                        rule.description().unwrap_or_default(),
                        rule.result().map(|r| r.as_str()).unwrap_or_default(),
                        rule.evaluation_message().unwrap_or("NaN")
                    ),
                );
            }
        }
    }
    ctx.hook_info(
        HOOK_LOGGER,
        &format!(
            "AWS Glue data quality ruleset evaluation run, total number of rules failed: {}",
            failed.len()
        ),
    );
    if verify_result_status && !failed.is_empty() {
        return Err(TaskError::retryable(format!(
            "AWS Glue data quality ruleset evaluation run failed for one or more rules: run \
             {run_id}: {}",
            failed.join("; ")
        )));
    }
    Ok(())
}

/// Logs the ruleset a recommendation run recommends, as the provider's
/// `log_recommendation_results`.
async fn log_recommendation(
    ctx: &TaskContext,
    glue: &aws_sdk_glue::Client,
    run_id: &str,
) -> Result<(), TaskError> {
    let run = glue
        .get_data_quality_rule_recommendation_run()
        .run_id(run_id)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(
                &format!("GetDataQualityRuleRecommendationRun of {run_id}"),
                &e,
            )
        })?;
    match run.recommended_ruleset().filter(|r| !r.is_empty()) {
        Some(ruleset) => {
            let (database, table) = table_of(run.data_source());
            ctx.hook_info(
                HOOK_LOGGER,
                &format!(
                    "AWS Glue data quality recommended rules for DatabaseName: {database} \
                     TableName: {table}"
                ),
            );
            for line in ruleset.lines() {
                ctx.hook_info(HOOK_LOGGER, line);
            }
        }
        None => ctx.hook_info(
            HOOK_LOGGER,
            &format!("AWS Glue data quality, no recommended rules available for RunId: {run_id}"),
        ),
    }
    Ok(())
}

// --- GlueDataQualityOperator -----------------------------------------------------------------

/// A configured `GlueDataQualityOperator`: creates a ruleset, or updates it with
/// `update_rule_set`.
#[derive(Debug)]
pub struct GlueDataQualityOperator {
    aws: AwsParams,
    name: String,
    ruleset: String,
    description: String,
    update_rule_set: bool,
    target_table: Option<DataQualityTargetTable>,
    tags: Option<HashMap<String, String>>,
    security_configuration: Option<String>,
    client_token: Option<String>,
}

impl Operator for GlueDataQualityOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue.GlueDataQualityOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "data_quality_ruleset_kwargs",
            "description",
            "name",
            "region_name",
            "ruleset",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        const OP: &str = "GlueDataQualityOperator";
        let aws = AwsParams::read(p)?;
        let name = p.required_str("name", "the name of the ruleset")?;
        let ruleset = p
            .required_str("ruleset", "the DQDL ruleset, `Rules = [ ... ]`")?
            .trim()
            .to_owned();
        let well_formed = ruleset.starts_with("Rules") && ruleset.ends_with(']');
        if !well_formed && !p.is_templated(&ruleset) {
            return Err(ParamError::at(
                "ruleset",
                format!(
                    "{OP} parameter `ruleset` must be a DQDL ruleset that starts with `Rules = [` \
                     and ends with `]` (Airflow: RuleSet must starts with Rules = [ and ends \
                     with ])"
                ),
            ));
        }
        let description = p
            .str("description")?
            .unwrap_or_else(|| "AWS Glue Data Quality Rule Set With Airflow".to_owned());
        let update_rule_set = p.bool("update_rule_set", false)?;
        let mut op = GlueDataQualityOperator {
            aws,
            name,
            ruleset,
            description,
            update_rule_set,
            target_table: None,
            tags: None,
            security_configuration: None,
            client_token: None,
        };
        if let Some(kwargs) = p.map("data_quality_ruleset_kwargs")? {
            let what = "data_quality_ruleset_kwargs";
            // UpdateDataQualityRuleset takes only Name, Description and Ruleset, which are
            // this operator's own parameters.
            let allowed: &[&str] = if update_rule_set {
                &[]
            } else {
                &[
                    "TargetTable",
                    "Tags",
                    "DataQualitySecurityConfiguration",
                    "ClientToken",
                ]
            };
            only(OP, what, kwargs, allowed).map_err(|e| e.for_param(what))?;
            if let Some(t) = kwargs.get("TargetTable") {
                let inner = format!("{what}.TargetTable");
                let t = object(OP, &inner, t)?;
                only(OP, &inner, t, &["TableName", "DatabaseName", "CatalogId"])?;
                let table = opt_string(OP, &inner, t, "TableName")?.filter(|s| !s.is_empty());
                let database = opt_string(OP, &inner, t, "DatabaseName")?.filter(|s| !s.is_empty());
                let (Some(table), Some(database)) = (table, database) else {
                    return Err(ParamError::at(
                        what,
                        format!(
                            "{OP}: {inner} must have DatabaseName and TableName (Airflow: Target \
                             table must have DatabaseName and TableName)"
                        ),
                    ));
                };
                op.target_table = DataQualityTargetTable::builder()
                    .table_name(table)
                    .database_name(database)
                    .set_catalog_id(opt_string(OP, &inner, t, "CatalogId")?)
                    .build()
                    .ok();
            }
            if let Some(tags) = kwargs.get("Tags") {
                let mut map = HashMap::new();
                for (k, v) in object(OP, &format!("{what}.Tags"), tags)? {
                    map.insert(k.clone(), string(OP, &format!("{what}.Tags.{k}"), v)?);
                }
                op.tags = Some(map);
            }
            op.security_configuration =
                opt_string(OP, what, kwargs, "DataQualitySecurityConfiguration")?;
            op.client_token = opt_string(OP, what, kwargs, "ClientToken")?;
        }
        Ok(op)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = glue_client(ctx, &self.aws)?;
        let name = &self.name;
        if self.update_rule_set {
            glue.update_data_quality_ruleset()
                .name(name)
                .description(&self.description)
                .ruleset(&self.ruleset)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("UpdateDataQualityRuleset of {name}"),
                        &e,
                    )
                })?;
            ctx.info("AWS Glue data quality ruleset updated successfully");
        } else {
            glue.create_data_quality_ruleset()
                .name(name)
                .description(&self.description)
                .ruleset(&self.ruleset)
                .set_target_table(self.target_table.clone())
                .set_tags(self.tags.clone())
                .set_data_quality_security_configuration(self.security_configuration.clone())
                .set_client_token(self.client_token.clone())
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("CreateDataQualityRuleset of {name}"),
                        &e,
                    )
                })?;
            ctx.info("AWS Glue data quality ruleset created successfully");
        }
        Ok(Outcome::Success(None))
    }

    /// UpdateDataQualityRuleset on the ruleset with `update_rule_set`, else
    /// CreateDataQualityRuleset (which IAM does not scope to a ruleset).
    fn permissions(&self) -> Vec<Permission> {
        if self.update_rule_set {
            vec![Permission::new(
                &["glue:UpdateDataQualityRuleset"],
                rulesets(&self.aws, [self.name.as_str()]),
            )]
        } else {
            vec![Permission::on_any(&["glue:CreateDataQualityRuleset"])]
        }
    }
}

// --- GlueDataQualityRuleSetEvaluationRunOperator -----------------------------------------------

/// A configured `GlueDataQualityRuleSetEvaluationRunOperator`.
#[derive(Debug)]
pub struct GlueDataQualityRuleSetEvaluationRunOperator {
    aws: AwsParams,
    datasource: Option<DataSource>,
    role: String,
    rule_set_names: Vec<String>,
    number_of_workers: i32,
    timeout: i32,
    verify_result_status: bool,
    show_results: bool,
    client_token: Option<String>,
    additional_run_options: Option<DataQualityEvaluationRunAdditionalRunOptions>,
    additional_data_sources: Option<HashMap<String, DataSource>>,
    wait: WaitSettings,
}

/// `number_of_workers` and `timeout` (minutes), with the provider's defaults.
fn workers_and_timeout(p: &mut ParamReader<'_>) -> Result<(i32, i32), ParamError> {
    let workers = p.i64("number_of_workers", 1..=1000)?.unwrap_or(5);
    let timeout = p.i64("timeout", 1..=i64::from(i32::MAX))?.unwrap_or(2880);
    Ok((
        i32::try_from(workers).unwrap_or(5),
        i32::try_from(timeout).unwrap_or(2880),
    ))
}

impl Operator for GlueDataQualityRuleSetEvaluationRunOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue.GlueDataQualityRuleSetEvaluationRunOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "datasource",
            "region_name",
            "role",
            "rule_set_evaluation_run_kwargs",
            "rule_set_names",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        const OP: &str = "GlueDataQualityRuleSetEvaluationRunOperator";
        let aws = AwsParams::read(p)?;
        let datasource = read_datasource(p, OP)?;
        let role = p.required_str("role", "the IAM role (name or ARN) the run uses")?;
        let rule_set_names = match p.str_or_list("rule_set_names")? {
            Some(names) if !names.is_empty() => names,
            Some(_) | None if !p.rendered() => Vec::new(),
            _ => {
                return Err(ParamError::at(
                    "rule_set_names",
                    format!("{OP} needs `rule_set_names`: the rulesets to evaluate (a list)"),
                ));
            }
        };
        let (number_of_workers, timeout) = workers_and_timeout(p)?;
        let verify_result_status = p.bool("verify_result_status", true)?;
        let show_results = p.bool("show_results", true)?;
        let mut op = GlueDataQualityRuleSetEvaluationRunOperator {
            aws,
            datasource,
            role,
            rule_set_names,
            number_of_workers,
            timeout,
            verify_result_status,
            show_results,
            client_token: None,
            additional_run_options: None,
            additional_data_sources: None,
            wait: WaitSettings::read(p, 60, 20)?,
        };
        if let Some(kwargs) = p.map("rule_set_evaluation_run_kwargs")? {
            let what = "rule_set_evaluation_run_kwargs";
            only(
                OP,
                what,
                kwargs,
                &[
                    "ClientToken",
                    "AdditionalRunOptions",
                    "AdditionalDataSources",
                ],
            )
            .map_err(|e| e.for_param(what))?;
            op.client_token = opt_string(OP, what, kwargs, "ClientToken")?;
            if let Some(o) = kwargs.get("AdditionalRunOptions") {
                let inner = format!("{what}.AdditionalRunOptions");
                let o = object(OP, &inner, o)?;
                only(
                    OP,
                    &inner,
                    o,
                    &[
                        "CloudWatchMetricsEnabled",
                        "ResultsS3Prefix",
                        "CompositeRuleEvaluationMethod",
                    ],
                )?;
                let metrics = match o.get("CloudWatchMetricsEnabled") {
                    None => None,
                    Some(Value::Bool(b)) => Some(*b),
                    Some(other) => {
                        return Err(wrong(
                            OP,
                            &format!("{inner}.CloudWatchMetricsEnabled"),
                            "true or false",
                            other,
                        ));
                    }
                };
                op.additional_run_options = Some(
                    DataQualityEvaluationRunAdditionalRunOptions::builder()
                        .set_cloud_watch_metrics_enabled(metrics)
                        .set_results_s3_prefix(opt_string(OP, &inner, o, "ResultsS3Prefix")?)
                        .set_composite_rule_evaluation_method(
                            opt_string(OP, &inner, o, "CompositeRuleEvaluationMethod")?
                                .map(|m| DqCompositeRuleEvaluationMethod::from(m.as_str())),
                        )
                        .build(),
                );
            }
            if let Some(sources) = kwargs.get("AdditionalDataSources") {
                let inner = format!("{what}.AdditionalDataSources");
                let mut map = HashMap::new();
                for (alias, source) in object(OP, &inner, sources)? {
                    map.insert(
                        alias.clone(),
                        data_source(OP, &format!("{inner}.{alias}"), source)?,
                    );
                }
                op.additional_data_sources = Some(map);
            }
        }
        Ok(op)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = glue_client(ctx, &self.aws)?;
        // The provider checks every ruleset first, and names the missing ones together.
        let mut missing = Vec::new();
        for name in &self.rule_set_names {
            match glue.get_data_quality_ruleset().name(name).send().await {
                Ok(_) => {}
                Err(e) if airtask_aws::error::code(&e) == Some("EntityNotFoundException") => {
                    missing.push(name.clone());
                }
                Err(e) => {
                    return Err(airtask_aws::error::task_error(
                        &format!("GetDataQualityRuleset of {name}"),
                        &e,
                    ));
                }
            }
        }
        if !missing.is_empty() {
            return Err(TaskError::fatal(format!(
                "Following RulesetNames are not found {missing:?}: create them first (for \
                 example with GlueDataQualityOperator)"
            )));
        }
        ctx.info(&format!(
            "Submitting AWS Glue data quality ruleset evaluation run for RulesetNames {:?}",
            self.rule_set_names
        ));
        let out = glue
            .start_data_quality_ruleset_evaluation_run()
            .set_data_source(self.datasource.clone())
            .role(&self.role)
            .number_of_workers(self.number_of_workers)
            .timeout(self.timeout)
            .set_ruleset_names(Some(self.rule_set_names.clone()))
            .set_client_token(self.client_token.clone())
            .set_additional_run_options(self.additional_run_options.clone())
            .set_additional_data_sources(self.additional_data_sources.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error("StartDataQualityRulesetEvaluationRun", &e)
            })?;
        let run_id = out.run_id().unwrap_or_default().to_owned();
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!(
                "Waiting for AWS Glue data quality ruleset evaluation run RunId: {run_id} to complete."
            ));
            let what = format!("AWS Glue data quality ruleset evaluation run {run_id}");
            let (glue_ref, id, what_ref) = (&glue, &run_id, &what);
            wait::until_terminal(ctx, &self.wait, &what, || async move {
                let run = glue_ref
                    .get_data_quality_ruleset_evaluation_run()
                    .run_id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("GetDataQualityRulesetEvaluationRun of {id}"),
                            &e,
                        )
                    })?;
                run_poll(
                    what_ref,
                    run.status().map_or("UNKNOWN", |s| s.as_str()),
                    run.error_string(),
                )
            })
            .await?;
            ctx.info(&format!(
                "AWS Glue data quality ruleset evaluation run completed RunId: {run_id}"
            ));
            validate_evaluation_results(
                ctx,
                &glue,
                &run_id,
                self.show_results,
                self.verify_result_status,
            )
            .await?;
        } else {
            ctx.info(&format!(
                "AWS Glue data quality ruleset evaluation run runId: {run_id}."
            ));
        }
        Ok(Outcome::Success(Some(Value::String(run_id))))
    }

    /// GetDataQualityRuleset and StartDataQualityRulesetEvaluationRun on the rulesets,
    /// `iam:PassRole` on `role`; with `wait_for_completion` the run and its results.
    fn permissions(&self) -> Vec<Permission> {
        let names = rulesets(&self.aws, self.rule_set_names.iter().map(String::as_str));
        let mut out = vec![
            Permission::new(
                &[
                    "glue:GetDataQualityRuleset",
                    "glue:StartDataQualityRulesetEvaluationRun",
                ],
                names.clone(),
            ),
            perms::pass_role(&self.role),
        ];
        if self.wait.wait_for_completion || self.wait.deferrable {
            out.push(Permission::new(EVALUATION_RESULTS, names));
        }
        out
    }
}

// --- GlueDataQualityRuleRecommendationRunOperator ----------------------------------------------

/// A configured `GlueDataQualityRuleRecommendationRunOperator`.
#[derive(Debug)]
pub struct GlueDataQualityRuleRecommendationRunOperator {
    aws: AwsParams,
    datasource: Option<DataSource>,
    role: String,
    number_of_workers: i32,
    timeout: i32,
    show_results: bool,
    client_token: Option<String>,
    created_ruleset_name: Option<String>,
    security_configuration: Option<String>,
    wait: WaitSettings,
}

impl Operator for GlueDataQualityRuleRecommendationRunOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.glue.GlueDataQualityRuleRecommendationRunOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "datasource",
            "recommendation_run_kwargs",
            "region_name",
            "role",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        const OP: &str = "GlueDataQualityRuleRecommendationRunOperator";
        let aws = AwsParams::read(p)?;
        let datasource = read_datasource(p, OP)?;
        let role = p.required_str("role", "the IAM role (name or ARN) the run uses")?;
        let (number_of_workers, timeout) = workers_and_timeout(p)?;
        let show_results = p.bool("show_results", true)?;
        let mut op = GlueDataQualityRuleRecommendationRunOperator {
            aws,
            datasource,
            role,
            number_of_workers,
            timeout,
            show_results,
            client_token: None,
            created_ruleset_name: None,
            security_configuration: None,
            wait: WaitSettings::read(p, 60, 20)?,
        };
        if let Some(kwargs) = p.map("recommendation_run_kwargs")? {
            let what = "recommendation_run_kwargs";
            only(
                OP,
                what,
                kwargs,
                &[
                    "ClientToken",
                    "CreatedRulesetName",
                    "DataQualitySecurityConfiguration",
                ],
            )
            .map_err(|e| e.for_param(what))?;
            op.client_token = opt_string(OP, what, kwargs, "ClientToken")?;
            op.created_ruleset_name = opt_string(OP, what, kwargs, "CreatedRulesetName")?;
            op.security_configuration =
                opt_string(OP, what, kwargs, "DataQualitySecurityConfiguration")?;
        }
        Ok(op)
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = glue_client(ctx, &self.aws)?;
        let (database, table) = table_of(self.datasource.as_ref());
        ctx.info(&format!(
            "Submitting AWS Glue data quality recommendation run with {{'GlueTable': \
             {{'DatabaseName': '{database}', 'TableName': '{table}'}}}}"
        ));
        let out = glue
            .start_data_quality_rule_recommendation_run()
            .set_data_source(self.datasource.clone())
            .role(&self.role)
            .number_of_workers(self.number_of_workers)
            .timeout(self.timeout)
            .set_client_token(self.client_token.clone())
            .set_created_ruleset_name(self.created_ruleset_name.clone())
            .set_data_quality_security_configuration(self.security_configuration.clone())
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error("StartDataQualityRuleRecommendationRun", &e)
            })?;
        let run_id = out.run_id().unwrap_or_default().to_owned();
        if self.wait.wait_for_completion || self.wait.deferrable {
            ctx.info(&format!(
                "Waiting for AWS Glue data quality recommendation run RunId: {run_id} to complete."
            ));
            let what = format!("AWS Glue data quality recommendation run {run_id}");
            let (glue_ref, id, what_ref) = (&glue, &run_id, &what);
            wait::until_terminal(ctx, &self.wait, &what, || async move {
                let run = glue_ref
                    .get_data_quality_rule_recommendation_run()
                    .run_id(id)
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("GetDataQualityRuleRecommendationRun of {id}"),
                            &e,
                        )
                    })?;
                run_poll(
                    what_ref,
                    run.status().map_or("UNKNOWN", |s| s.as_str()),
                    run.error_string(),
                )
            })
            .await?;
            ctx.info(&format!(
                "AWS Glue data quality recommendation run completed RunId: {run_id}"
            ));
            if self.show_results {
                log_recommendation(ctx, &glue, &run_id).await?;
            }
        } else {
            ctx.info(&format!(
                "AWS Glue data quality recommendation run RunId: {run_id} to complete."
            ));
        }
        Ok(Outcome::Success(Some(Value::String(run_id))))
    }

    /// StartDataQualityRuleRecommendationRun (on the `CreatedRulesetName` when given),
    /// `iam:PassRole` on `role`; with `wait_for_completion` GetDataQualityRuleRecommendationRun.
    fn permissions(&self) -> Vec<Permission> {
        let mut actions = vec!["glue:StartDataQualityRuleRecommendationRun"];
        if self.wait.wait_for_completion || self.wait.deferrable {
            actions.push("glue:GetDataQualityRuleRecommendationRun");
        }
        vec![
            Permission::new(
                &actions,
                rulesets(&self.aws, self.created_ruleset_name.as_deref()),
            ),
            perms::pass_role(&self.role),
        ]
    }
}

// --- The two sensors ---------------------------------------------------------------------------

/// Reads what both sensors share besides their run id: `poke_interval` 120 s, and
/// `max_retries` and `deferrable`, which only the provider's deferrable mode uses.
fn sensor_settings(p: &mut ParamReader<'_>) -> Result<SensorSettings, ParamError> {
    let settings = SensorSettings::read(p, 120.0)?;
    p.i64("max_retries", 0..=i64::MAX)?;
    p.accept("deferrable");
    Ok(settings)
}

/// A configured `GlueDataQualityRuleSetEvaluationRunSensor`.
#[derive(Debug)]
pub struct GlueDataQualityRuleSetEvaluationRunSensor {
    aws: AwsParams,
    settings: SensorSettings,
    evaluation_run_id: String,
    show_results: bool,
    verify_result_status: bool,
}

impl Operator for GlueDataQualityRuleSetEvaluationRunSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glue.GlueDataQualityRuleSetEvaluationRunSensor",
        aliases: &[],
        template_fields: &["aws_conn_id", "evaluation_run_id", "region_name", "verify"],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(GlueDataQualityRuleSetEvaluationRunSensor {
            aws: AwsParams::read(p)?,
            settings: sensor_settings(p)?,
            evaluation_run_id: p.required_str(
                "evaluation_run_id",
                "the id of the evaluation run to wait for",
            )?,
            show_results: p.bool("show_results", true)?,
            verify_result_status: p.bool("verify_result_status", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = glue_client(ctx, &self.aws)?;
        let (glue, id, show, verify) = (
            &glue,
            &self.evaluation_run_id,
            self.show_results,
            self.verify_result_status,
        );
        sensor::run(&self.settings, ctx, move || async move {
            ctx.info(&format!(
                "Poking for AWS Glue data quality ruleset evaluation run RunId: {id}"
            ));
            let run = glue
                .get_data_quality_ruleset_evaluation_run()
                .run_id(id)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("GetDataQualityRulesetEvaluationRun of {id}"),
                        &e,
                    )
                })?;
            let status = run.status().map_or("UNKNOWN", |s| s.as_str());
            if status == "SUCCEEDED" {
                validate_evaluation_results(ctx, glue, id, show, verify).await?;
                ctx.info(&format!(
                    "AWS Glue data quality ruleset evaluation run completed RunId: {id} Run \
                     State: {status}"
                ));
                return Ok(true);
            }
            if FAILURE_STATES.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "Error: AWS Glue data quality ruleset evaluation run RunId: {id} Run Status: \
                     {status}: {}",
                    run.error_string().unwrap_or("None")
                )));
            }
            Ok(false)
        })
        .await
    }

    /// The run and, once it succeeded, its results (on every ruleset: the run's rulesets are
    /// not a parameter).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(EVALUATION_RESULTS, rulesets(&self.aws, []))]
    }
}

/// A configured `GlueDataQualityRuleRecommendationRunSensor`.
#[derive(Debug)]
pub struct GlueDataQualityRuleRecommendationRunSensor {
    aws: AwsParams,
    settings: SensorSettings,
    recommendation_run_id: String,
    show_results: bool,
}

impl Operator for GlueDataQualityRuleRecommendationRunSensor {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.sensors.glue.GlueDataQualityRuleRecommendationRunSensor",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "recommendation_run_id",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(p: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(GlueDataQualityRuleRecommendationRunSensor {
            aws: AwsParams::read(p)?,
            settings: sensor_settings(p)?,
            recommendation_run_id: p.required_str(
                "recommendation_run_id",
                "the id of the recommendation run to wait for",
            )?,
            show_results: p.bool("show_results", true)?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let glue = glue_client(ctx, &self.aws)?;
        let (glue, id, show) = (&glue, &self.recommendation_run_id, self.show_results);
        sensor::run(&self.settings, ctx, move || async move {
            ctx.info(&format!(
                "Poking for AWS Glue data quality recommendation run RunId: {id}"
            ));
            let run = glue
                .get_data_quality_rule_recommendation_run()
                .run_id(id)
                .send()
                .await
                .map_err(|e| {
                    airtask_aws::error::task_error(
                        &format!("GetDataQualityRuleRecommendationRun of {id}"),
                        &e,
                    )
                })?;
            let status = run.status().map_or("UNKNOWN", |s| s.as_str());
            if status == "SUCCEEDED" {
                if show {
                    log_recommendation(ctx, glue, id).await?;
                }
                ctx.info(&format!(
                    "AWS Glue data quality recommendation run completed RunId: {id} Run State: \
                     {status}"
                ));
                return Ok(true);
            }
            if FAILURE_STATES.contains(&status) {
                return Err(TaskError::retryable(format!(
                    "Error: AWS Glue data quality recommendation run RunId: {id} Run Status: \
                     {status}: {}",
                    run.error_string().unwrap_or("None")
                )));
            }
            Ok(false)
        })
        .await
    }

    /// GetDataQualityRuleRecommendationRun (on every ruleset: the run's is not a parameter).
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::new(
            &["glue:GetDataQualityRuleRecommendationRun"],
            rulesets(&self.aws, []),
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_datasource_needs_database_and_table() {
        let op = "Op";
        let ok = data_source(
            op,
            "datasource",
            &serde_json::json!({"GlueTable": {"DatabaseName": "d", "TableName": "t"}}),
        )
        .expect("valid");
        assert_eq!(table_of(Some(&ok)), ("d".to_owned(), "t".to_owned()));
        let err = data_source(
            op,
            "datasource",
            &serde_json::json!({"GlueTable": {"TableName": "t"}}),
        )
        .unwrap_err();
        assert!(
            err.message().contains("DatabaseName and TableName"),
            "{err}"
        );
        let err = data_source(op, "datasource", &serde_json::json!({"S3": {}})).unwrap_err();
        assert!(err.message().contains("has no key `S3`"), "{err}");
    }

    #[test]
    fn run_states_map_to_the_provider_waiter() {
        assert!(matches!(
            run_poll("r", "SUCCEEDED", None),
            Ok(Poll::Done(()))
        ));
        assert!(matches!(
            run_poll("r", "RUNNING", None),
            Ok(Poll::Pending { .. })
        ));
        for s in FAILURE_STATES {
            let err = run_poll("run x", s, Some("bad data")).expect_err("a failure");
            assert!(
                err.message.contains(s) && err.message.contains("bad data"),
                "{err}"
            );
        }
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::GlueDataQualityRuleSetEvaluationRunOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<GlueDataQualityRuleSetEvaluationRunOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn an_evaluation_run_reads_its_results_only_when_it_waits() {
        let params = json!({
            "datasource": {"GlueTable": {"DatabaseName": "db", "TableName": "t"}},
            "role": "dq-role", "rule_set_names": ["rs1", "rs2"],
        });
        let rulesets = [
            "arn:aws:glue:{region}:{account}:dataQualityRuleset/rs1",
            "arn:aws:glue:{region}:{account}:dataQualityRuleset/rs2",
        ];
        let start = Permission::new(
            &[
                "glue:GetDataQualityRuleset",
                "glue:StartDataQualityRulesetEvaluationRun",
            ],
            rulesets,
        );
        let pass = Permission::new(&["iam:PassRole"], ["arn:aws:iam::{account}:role/dq-role"]);
        assert_eq!(
            perms(params.clone()),
            [
                start.clone(),
                pass.clone(),
                Permission::new(
                    &[
                        "glue:GetDataQualityRulesetEvaluationRun",
                        "glue:GetDataQualityResult",
                    ],
                    rulesets
                ),
            ]
        );
        let mut no_wait = params;
        no_wait["wait_for_completion"] = json!(false);
        assert_eq!(perms(no_wait), [start, pass]);
    }
}
