//! Bucket operators: create, delete (optionally emptying it first), and its tags.

use std::time::Duration;

use airtask_aws::error::task_error;
use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Tag, Tagging};

use crate::common::{
    bucket_arn, bucket_exists, client, delete_keys, list_bucket, list_objects, object_arn,
};

/// What a bucket operator does.
#[derive(Debug, Clone, PartialEq)]
enum Action {
    Create,
    Delete { force: bool },
    GetTags,
    PutTags(Vec<(String, String)>),
    DeleteTags,
}

/// A bucket and what to do with it: each bucket operator is one of these.
#[derive(Debug)]
struct BucketOp {
    bucket: String,
    action: Action,
}

/// The bucket operators' template fields.
const FIELDS: &[&str] = &["aws_conn_id", "bucket_name", "region_name", "verify"];

fn bucket_name(r: &mut ParamReader<'_>) -> Result<String, ParamError> {
    r.required_str("bucket_name", "the bucket")
}

/// `S3CreateBucketOperator`: creates the bucket unless it exists.
#[derive(Debug)]
pub struct S3CreateBucketOperator(BucketOp);

impl Operator for S3CreateBucketOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3CreateBucketOperator",
        aliases: &["airflow.providers.amazon.aws.operators.s3_bucket.S3CreateBucketOperator"],
        template_fields: &[
            "aws_conn_id",
            "bucket_name",
            "bucket_namespace",
            "region_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = bucket_name(r)?;
        if let Some(ns) = r.str("bucket_namespace")? {
            return Err(ParamError::at(
                "bucket_namespace",
                format!(
                    "bucket_namespace '{ns}' is not supported by airtask yet; remove it to \
                     create a bucket in the global namespace"
                ),
            ));
        }
        Ok(Self(BucketOp {
            bucket,
            action: Action::Create,
        }))
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

/// `S3DeleteBucketOperator`: deletes the bucket (emptying it first with `force_delete`).
#[derive(Debug)]
pub struct S3DeleteBucketOperator(BucketOp);

impl Operator for S3DeleteBucketOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3DeleteBucketOperator",
        aliases: &["airflow.providers.amazon.aws.operators.s3_bucket.S3DeleteBucketOperator"],
        template_fields: FIELDS,
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = bucket_name(r)?;
        let force = r.bool("force_delete", false)?;
        Ok(Self(BucketOp {
            bucket,
            action: Action::Delete { force },
        }))
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

/// `S3GetBucketTaggingOperator`: the bucket's tags as `[{Key, Value}]`.
#[derive(Debug)]
pub struct S3GetBucketTaggingOperator(BucketOp);

impl Operator for S3GetBucketTaggingOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3GetBucketTaggingOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_bucket_tagging.S3GetBucketTaggingOperator",
        ],
        template_fields: FIELDS,
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(Self(BucketOp {
            bucket: bucket_name(r)?,
            action: Action::GetTags,
        }))
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

/// `S3DeleteBucketTaggingOperator`: removes the bucket's tags.
#[derive(Debug)]
pub struct S3DeleteBucketTaggingOperator(BucketOp);

impl Operator for S3DeleteBucketTaggingOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3DeleteBucketTaggingOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_bucket_tagging.S3DeleteBucketTaggingOperator",
        ],
        template_fields: FIELDS,
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        Ok(Self(BucketOp {
            bucket: bucket_name(r)?,
            action: Action::DeleteTags,
        }))
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

/// `S3PutBucketTaggingOperator`: `tag_set` (a mapping, or a list of `{Key, Value}`), then
/// `key` + `value` appended when both are given.
#[derive(Debug)]
pub struct S3PutBucketTaggingOperator(BucketOp);

impl Operator for S3PutBucketTaggingOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3PutBucketTaggingOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_bucket_tagging.S3PutBucketTaggingOperator",
        ],
        template_fields: FIELDS,
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = bucket_name(r)?;
        let key = r.str("key")?.filter(|k| !k.is_empty());
        let value = r.str("value")?.filter(|v| !v.is_empty());
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => airtask_template::python_str(other),
        };
        let mut tags: Vec<(String, String)> = match r.value("tag_set") {
            None => Vec::new(),
            Some(serde_json::Value::Object(m)) => {
                m.iter().map(|(k, v)| (k.clone(), text(v))).collect()
            }
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|t| match (t.get("Key"), t.get("Value")) {
                    (Some(k), Some(v)) => Ok((text(k), text(v))),
                    _ => Err(ParamError::at(
                        "tag_set",
                        format!(
                            "each item of tag_set must be a mapping with Key and Value, not {t}"
                        ),
                    )),
                })
                .collect::<Result<_, _>>()?,
            Some(other) => {
                return Err(ParamError::at(
                    "tag_set",
                    format!(
                        "tag_set must be a mapping of tags or a list of {{Key, Value}} mappings, \
                         not {other}"
                    ),
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
                )
                .into());
            }
        }
        Ok(Self(BucketOp {
            bucket,
            action: Action::PutTags(tags),
        }))
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.0.run(ctx).await
    }

    fn permissions(&self) -> Vec<Permission> {
        self.0.permissions()
    }
}

impl BucketOp {
    /// HeadBucket (`s3:ListBucket`) first, then the action's own call; emptying a bucket
    /// (`force_delete`) lists and deletes its objects and their versions.
    fn permissions(&self) -> Vec<Permission> {
        let b = self.bucket.as_str();
        let action: &'static str = match &self.action {
            Action::Create => "s3:CreateBucket",
            Action::Delete { .. } => "s3:DeleteBucket",
            Action::GetTags => "s3:GetBucketTagging",
            // DeleteBucketTagging is authorized as s3:PutBucketTagging.
            Action::PutTags(_) | Action::DeleteTags => "s3:PutBucketTagging",
        };
        let mut out = vec![
            list_bucket([b]),
            Permission::new(&[action], [bucket_arn(b)]),
        ];
        if matches!(self.action, Action::Delete { force: true }) {
            out.push(Permission::new(&["s3:ListBucketVersions"], [bucket_arn(b)]));
            out.push(Permission::new(
                &["s3:DeleteObject", "s3:DeleteObjectVersion"],
                [object_arn(b, "*")],
            ));
        }
        out
    }

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
                    ctx.info(&format!("Bucket with name: {b} already exists"));
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
                    .map_err(|e| task_error(&format!("CreateBucket {b}"), &e))?;
                ctx.info(&format!("Created bucket with name: {b}"));
                Ok(Outcome::Success(None))
            }
            Action::Delete { force } => {
                if !bucket_exists(&s3, b).await? {
                    ctx.info(&format!("Bucket with name: {b} doesn't exist"));
                    return Ok(Outcome::Success(None));
                }
                if *force {
                    empty_bucket(&s3, b, ctx).await?;
                }
                s3.delete_bucket()
                    .bucket(b)
                    .send()
                    .await
                    .map_err(|e| task_error(&format!("DeleteBucket {b}"), &e))?;
                ctx.info(&format!("Deleted bucket with name: {b}"));
                Ok(Outcome::Success(None))
            }
            Action::GetTags => {
                if !bucket_exists(&s3, b).await? {
                    return Err(TaskError::fatal(format!(
                        "Bucket with name: {b} doesn't exist (airtask fails here where Airflow \
                         returns None)"
                    )));
                }
                ctx.info(&format!("Getting tags for bucket {b}"));
                let tags = match s3.get_bucket_tagging().bucket(b).send().await {
                    Ok(out) => out
                        .tag_set()
                        .iter()
                        .map(|t| serde_json::json!({"Key": t.key(), "Value": t.value()}))
                        .collect(),
                    // A bucket without tags has an empty tag set (Airflow fails here).
                    Err(e) if airtask_aws::error::code(&e) == Some("NoSuchTagSet") => Vec::new(),
                    Err(e) => return Err(task_error(&format!("GetBucketTagging {b}"), &e)),
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
                    .map_err(|e| task_error(&format!("PutBucketTagging {b}"), &e))?;
                ctx.info(&format!("Put {} tags on bucket {b}", tags.len()));
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
                    .map_err(|e| task_error(&format!("DeleteBucketTagging {b}"), &e))?;
                ctx.info(&format!("Deleted the tags of bucket {b}"));
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
            .map_err(|e| task_error(&format!("ListObjectVersions s3://{bucket}"), &e))?;
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

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::S3DeleteBucketOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<S3DeleteBucketOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn force_delete_adds_emptying_the_bucket() {
        let head_and_delete = [
            Permission::new(&["s3:ListBucket"], ["arn:aws:s3:::b"]),
            Permission::new(&["s3:DeleteBucket"], ["arn:aws:s3:::b"]),
        ];
        assert_eq!(perms(json!({"bucket_name": "b"})), head_and_delete);
        let mut forced = head_and_delete.to_vec();
        forced.push(Permission::new(
            &["s3:ListBucketVersions"],
            ["arn:aws:s3:::b"],
        ));
        forced.push(Permission::new(
            &["s3:DeleteObject", "s3:DeleteObjectVersion"],
            ["arn:aws:s3:::b/*"],
        ));
        assert_eq!(
            perms(json!({"bucket_name": "b", "force_delete": true})),
            forced
        );
    }
}
