//! `S3ListOperator` and `S3ListPrefixesOperator`: keys (or common prefixes) under a prefix,
//! every page, as the XCom `return_value` (a list; `[]` when nothing matches).

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};

use crate::common::{client, fnmatch, list, list_bucket, list_objects};

/// A configured `S3ListOperator`.
#[derive(Debug)]
pub struct S3ListOperator {
    bucket: String,
    prefix: String,
    delimiter: String,
    apply_wildcard: bool,
}

impl Operator for S3ListOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3ListOperator",
        aliases: &["airflow.providers.amazon.aws.operators.s3_list.S3ListOperator"],
        template_fields: &[
            "aws_conn_id",
            "bucket",
            "delimiter",
            "prefix",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = r.required_str("bucket", "the bucket to list")?;
        let prefix = r.str("prefix")?.unwrap_or_default();
        let delimiter = r.str("delimiter")?.unwrap_or_default();
        let apply_wildcard = r.bool("apply_wildcard", false)?;
        Ok(S3ListOperator {
            bucket,
            prefix,
            delimiter,
            apply_wildcard,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        ctx.info(&format!(
            "Getting the list of files from bucket: {} in prefix: {} (Delimiter {})",
            self.bucket, self.prefix, self.delimiter
        ));
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
        ctx.info(&format!("Listed {} keys", keys.len()));
        Ok(Outcome::Success(Some(serde_json::Value::Array(keys))))
    }

    /// ListObjectsV2 (`s3:ListBucket`) on the bucket.
    fn permissions(&self) -> Vec<Permission> {
        vec![list_bucket([self.bucket.as_str()])]
    }
}

/// A configured `S3ListPrefixesOperator`.
#[derive(Debug)]
pub struct S3ListPrefixesOperator {
    bucket: String,
    prefix: String,
    delimiter: String,
}

impl Operator for S3ListPrefixesOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3ListPrefixesOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_list_prefixes.S3ListPrefixesOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "bucket",
            "delimiter",
            "prefix",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = r.required_str("bucket", "the bucket to list")?;
        let prefix = r.required_str("prefix", "the prefix to list under (may be empty)")?;
        let delimiter = r.required_str("delimiter", "the delimiter, usually /")?;
        Ok(S3ListPrefixesOperator {
            bucket,
            prefix,
            delimiter,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        ctx.info(&format!(
            "Getting the list of subfolders from bucket: {} in prefix: {} (Delimiter {})",
            self.bucket, self.prefix, self.delimiter
        ));
        let prefixes: Vec<serde_json::Value> =
            list(&s3, &self.bucket, &self.prefix, Some(&self.delimiter))
                .await?
                .prefixes
                .into_iter()
                .map(serde_json::Value::String)
                .collect();
        Ok(Outcome::Success(Some(serde_json::Value::Array(prefixes))))
    }

    /// ListObjectsV2 (`s3:ListBucket`) on the bucket.
    fn permissions(&self) -> Vec<Permission> {
        vec![list_bucket([self.bucket.as_str()])]
    }
}
