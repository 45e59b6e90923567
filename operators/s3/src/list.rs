//! `S3ListOperator` and `S3ListPrefixesOperator`: keys (or common prefixes) under a prefix,
//! every page, as the XCom `return_value` (a list; `[]` when nothing matches).

use airtask_core::{
    BoxFuture, Outcome, ParamReader, Params, TaskContext, TaskError, legacy::Operator,
};

use crate::common::{client, fnmatch, list, list_objects};

const LIST_LOGGER: &str =
    "airflow.task.operators.airflow.providers.amazon.aws.operators.s3.S3ListOperator";

/// A configured `S3ListOperator`.
#[derive(Debug)]
pub(crate) struct List {
    bucket: String,
    prefix: String,
    delimiter: String,
    apply_wildcard: bool,
}

/// Builds `S3ListOperator`.
pub(crate) fn build_list(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3ListOperator", p);
    let bucket = r.required_str("bucket", "the bucket to list")?;
    let prefix = r.str("prefix")?.unwrap_or_default();
    let delimiter = r.str("delimiter")?.unwrap_or_default();
    let apply_wildcard = r.bool("apply_wildcard", false)?;
    r.finish()?;
    Ok(Box::new(List {
        bucket,
        prefix,
        delimiter,
        apply_wildcard,
    }))
}

impl Operator for List {
    fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(async move {
            let s3 = client(ctx)?;
            ctx.hook_info(
                LIST_LOGGER,
                &format!(
                    "Getting the list of files from bucket: {} in prefix: {} (Delimiter {})",
                    self.bucket, self.prefix, self.delimiter
                ),
            );
            // With apply_wildcard, S3 is asked for the part before the first `*`, and each key
            // is matched against the whole pattern (where `*` crosses `/`).
            let wildcard = self.apply_wildcard && self.prefix.contains('*');
            let sent_prefix = if wildcard {
                &self.prefix[..self.prefix.find('*').unwrap_or(0)]
            } else {
                self.prefix.as_str()
            };
            let delimiter = (!self.delimiter.is_empty()).then_some(self.delimiter.as_str());
            let objects = list_objects(&s3, &self.bucket, sent_prefix, delimiter).await?;
            let keys: Vec<serde_json::Value> = objects
                .iter()
                .filter_map(|o| o.key())
                .filter(|k| !wildcard || fnmatch(k, &self.prefix))
                .map(|k| serde_json::Value::String(k.to_owned()))
                .collect();
            ctx.hook_info(LIST_LOGGER, &format!("Listed {} keys", keys.len()));
            Ok(Outcome::Success(Some(serde_json::Value::Array(keys))))
        })
    }
}

/// A configured `S3ListPrefixesOperator`.
#[derive(Debug)]
pub(crate) struct ListPrefixes {
    bucket: String,
    prefix: String,
    delimiter: String,
}

/// Builds `S3ListPrefixesOperator`.
pub(crate) fn build_list_prefixes(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3ListPrefixesOperator", p);
    let bucket = r.required_str("bucket", "the bucket to list")?;
    let prefix = r.required_str("prefix", "the prefix to list under (may be empty)")?;
    let delimiter = r.required_str("delimiter", "the delimiter, usually /")?;
    r.finish()?;
    Ok(Box::new(ListPrefixes {
        bucket,
        prefix,
        delimiter,
    }))
}

impl Operator for ListPrefixes {
    fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(async move {
            let s3 = client(ctx)?;
            ctx.hook_info(
                "airflow.task.operators.airflow.providers.amazon.aws.operators.s3.S3ListPrefixesOperator",
                &format!(
                    "Getting the list of subfolders from bucket: {} in prefix: {} (Delimiter {})",
                    self.bucket, self.prefix, self.delimiter
                ),
            );
            let prefixes: Vec<serde_json::Value> =
                list(&s3, &self.bucket, &self.prefix, Some(&self.delimiter))
                    .await?
                    .prefixes
                    .into_iter()
                    .map(serde_json::Value::String)
                    .collect();
            Ok(Outcome::Success(Some(serde_json::Value::Array(prefixes))))
        })
    }
}
