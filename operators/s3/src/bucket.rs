//! Bucket operators: create, delete (optionally emptying it first), and its tags.

use std::time::Duration;

use airtask_core::{
    BoxFuture, Outcome, ParamReader, Params, TaskContext, TaskError, legacy::Operator,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};

use crate::common::{bucket_exists, call_failed, client, delete_keys, list_objects};

const LOGGER: &str = "airflow.task.operators.airflow.providers.amazon.aws.operators.s3";

/// What a bucket operator does.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Create,
    Delete { force: bool },
    GetTags,
    PutTags(Vec<(String, String)>),
    DeleteTags,
}

/// A configured bucket operator.
#[derive(Debug)]
pub(crate) struct BucketOp {
    bucket: String,
    action: Action,
}

fn bucket_name(r: &mut ParamReader<'_>) -> Result<String, String> {
    Ok(r.required_str("bucket_name", "the bucket")?)
}

/// Builds `S3CreateBucketOperator`.
pub(crate) fn build_create(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3CreateBucketOperator", p);
    let bucket = bucket_name(&mut r)?;
    if let Some(ns) = r.str("bucket_namespace")? {
        return Err(format!(
            "bucket_namespace '{ns}' is not supported by airtask yet; remove it to create a \
             bucket in the global namespace"
        ));
    }
    r.finish()?;
    Ok(Box::new(BucketOp {
        bucket,
        action: Action::Create,
    }))
}

/// Builds `S3DeleteBucketOperator`.
pub(crate) fn build_delete(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3DeleteBucketOperator", p);
    let bucket = bucket_name(&mut r)?;
    let force = r.bool("force_delete", false)?;
    r.finish()?;
    Ok(Box::new(BucketOp {
        bucket,
        action: Action::Delete { force },
    }))
}

/// Builds `S3GetBucketTaggingOperator`.
pub(crate) fn build_get_tags(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3GetBucketTaggingOperator", p);
    let bucket = bucket_name(&mut r)?;
    r.finish()?;
    Ok(Box::new(BucketOp {
        bucket,
        action: Action::GetTags,
    }))
}

/// Builds `S3DeleteBucketTaggingOperator`.
pub(crate) fn build_delete_tags(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3DeleteBucketTaggingOperator", p);
    let bucket = bucket_name(&mut r)?;
    r.finish()?;
    Ok(Box::new(BucketOp {
        bucket,
        action: Action::DeleteTags,
    }))
}

/// Builds `S3PutBucketTaggingOperator`: `tag_set` (a mapping, or a list of `{Key, Value}`),
/// then `key` + `value` appended when both are given.
pub(crate) fn build_put_tags(p: &Params) -> Result<Box<dyn Operator>, String> {
    let mut r = ParamReader::new("S3PutBucketTaggingOperator", p);
    let bucket = bucket_name(&mut r)?;
    let key = r.str("key")?.filter(|k| !k.is_empty());
    let value = r.str("value")?.filter(|v| !v.is_empty());
    let tag_set = r.value("tag_set").cloned();
    r.finish()?;
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => airtask_template::python_str(other),
    };
    let mut tags: Vec<(String, String)> = match &tag_set {
        None => Vec::new(),
        Some(serde_json::Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .map(|t| match (t.get("Key"), t.get("Value")) {
                (Some(k), Some(v)) => Ok((text(k), text(v))),
                _ => Err(format!(
                    "each item of tag_set must be a mapping with Key and Value, not {t}"
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(format!(
                "tag_set must be a mapping of tags or a list of {{Key, Value}} mappings, not {other}"
            ));
        }
    };
    match (key, value) {
        (Some(k), Some(v)) => tags.push((k, v)),
        (None, None) => {}
        (k, v) => {
            return Err(format!(
                "Key and Value must be specified as a pair. Only one of the two had a value \
                 (key: '{}', value: '{}')",
                k.unwrap_or_default(),
                v.unwrap_or_default()
            ));
        }
    }
    Ok(Box::new(BucketOp {
        bucket,
        action: Action::PutTags(tags),
    }))
}

impl BucketOp {
    fn missing(&self) -> TaskError {
        TaskError::fatal(format!(
            "Bucket with name: {} doesn't exist (airtask fails here where Airflow only logs a \
             warning: the tags were not changed)",
            self.bucket
        ))
    }

    async fn run(&self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        let b = self.bucket.as_str();
        match &self.action {
            Action::Create => {
                if bucket_exists(&s3, b).await? {
                    ctx.hook_info(LOGGER, &format!("Bucket with name: {b} already exists"));
                    return Ok(Outcome::Success(None));
                }
                let region = airtask_aws::identity::task_config(ctx)?
                    .region()
                    .map(|r| r.as_ref().to_owned())
                    .unwrap_or_else(|| "us-east-1".to_owned());
                let mut create = s3.create_bucket().bucket(b);
                if region != "us-east-1" {
                    create = create.create_bucket_configuration(
                        CreateBucketConfiguration::builder()
                            .location_constraint(BucketLocationConstraint::from(region.as_str()))
                            .build(),
                    );
                }
                create
                    .send()
                    .await
                    .map_err(|e| call_failed(&format!("CreateBucket {b}"), &e))?;
                ctx.hook_info(LOGGER, &format!("Created bucket with name: {b}"));
                Ok(Outcome::Success(None))
            }
            Action::Delete { force } => {
                if !bucket_exists(&s3, b).await? {
                    ctx.hook_info(LOGGER, &format!("Bucket with name: {b} doesn't exist"));
                    return Ok(Outcome::Success(None));
                }
                if *force {
                    empty_bucket(&s3, b, ctx).await?;
                }
                s3.delete_bucket()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| call_failed(&format!("DeleteBucket {b}"), &e))?;
                ctx.hook_info(LOGGER, &format!("Deleted bucket with name: {b}"));
                Ok(Outcome::Success(None))
            }
            Action::GetTags => {
                if !bucket_exists(&s3, b).await? {
                    return Err(TaskError::fatal(format!(
                        "Bucket with name: {b} doesn't exist (airtask fails here where Airflow \
                         returns None)"
                    )));
                }
                ctx.hook_info(LOGGER, &format!("Getting tags for bucket {b}"));
                let tags = match s3.get_bucket_tagging().bucket(b).send().await {
                    Ok(out) => out
                        .tag_set()
                        .iter()
                        .map(|t| serde_json::json!({"Key": t.key(), "Value": t.value()}))
                        .collect(),
                    // A bucket without tags has an empty tag set (Airflow fails here).
                    Err(e) if airtask_aws::sdk_error_text(&e).starts_with("NoSuchTagSet") => {
                        Vec::new()
                    }
                    Err(e) => return Err(call_failed(&format!("GetBucketTagging {b}"), &e)),
                };
                Ok(Outcome::Success(Some(serde_json::Value::Array(tags))))
            }
            Action::PutTags(tags) => {
                if !bucket_exists(&s3, b).await? {
                    return Err(self.missing());
                }
                let tag_set = tags
                    .iter()
                    .map(|(k, v)| {
                        Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .map_err(|e| TaskError::fatal(e.to_string()))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let tagging = Tagging::builder()
                    .set_tag_set(Some(tag_set))
                    .build()
                    .map_err(|e| TaskError::fatal(e.to_string()))?;
                s3.put_bucket_tagging()
                    .bucket(b)
                    .tagging(tagging)
                    .send()
                    .await
                    .map_err(|e| call_failed(&format!("PutBucketTagging {b}"), &e))?;
                ctx.hook_info(LOGGER, &format!("Put {} tags on bucket {b}", tags.len()));
                Ok(Outcome::Success(None))
            }
            Action::DeleteTags => {
                if !bucket_exists(&s3, b).await? {
                    return Err(self.missing());
                }
                s3.delete_bucket_tagging()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| call_failed(&format!("DeleteBucketTagging {b}"), &e))?;
                ctx.hook_info(LOGGER, &format!("Deleted the tags of bucket {b}"));
                Ok(Outcome::Success(None))
            }
        }
    }
}

/// Deletes every object of a bucket, old versions and delete markers included, in at most
/// five rounds a second apart (objects written meanwhile are caught by the next round).
async fn empty_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    ctx: &TaskContext,
) -> Result<(), TaskError> {
    for round in 0..5 {
        if round > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let current: Vec<(String, Option<String>)> = list_objects(s3, bucket, "", None)
            .await?
            .iter()
            .filter_map(|o| o.key().map(|k| (k.to_owned(), None)))
            .collect();
        delete_keys(s3, bucket, &current, ctx).await?;
        let versions = list_versions(s3, bucket).await?;
        delete_keys(s3, bucket, &versions, ctx).await?;
        if current.is_empty() && versions.is_empty() {
            return Ok(());
        }
    }
    Ok(())
}

/// Every object version and delete marker of a versioned bucket (none for an unversioned one).
async fn list_versions(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> Result<Vec<(String, Option<String>)>, TaskError> {
    let mut out = Vec::new();
    let (mut key_marker, mut version_marker): (Option<String>, Option<String>) = (None, None);
    loop {
        let page = s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| call_failed(&format!("ListObjectVersions s3://{bucket}"), &e))?;
        let versioned = |v: Option<&str>| v.filter(|v| *v != "null").map(str::to_owned);
        for v in page.versions() {
            if let (Some(k), Some(id)) = (v.key(), versioned(v.version_id())) {
                out.push((k.to_owned(), Some(id)));
            }
        }
        for m in page.delete_markers() {
            if let (Some(k), Some(id)) = (m.key(), versioned(m.version_id())) {
                out.push((k.to_owned(), Some(id)));
            }
        }
        if page.is_truncated() != Some(true) {
            return Ok(out);
        }
        key_marker = page.next_key_marker().map(str::to_owned);
        version_marker = page.next_version_id_marker().map(str::to_owned);
        if key_marker.is_none() && version_marker.is_none() {
            return Ok(out);
        }
    }
}

impl Operator for BucketOp {
    fn execute<'a>(
        &'a mut self,
        ctx: &'a TaskContext,
    ) -> BoxFuture<'a, Result<Outcome, TaskError>> {
        Box::pin(self.run(ctx))
    }
}
