//! Object operators: `S3CopyObjectOperator` and `S3DeleteObjectsOperator`.

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_s3::types::{MetadataDirective, ObjectCannedAcl, ServerSideEncryption};
use jiff::Timestamp;

use crate::common::{bucket_key, client, delete_keys, list_bucket, list_objects, object_arn};
use airtask_aws::error::task_error;

/// A configured `S3CopyObjectOperator`.
#[derive(Debug)]
pub struct S3CopyObjectOperator {
    source: (String, String),
    dest: (String, String),
    version_id: Option<String>,
    acl: Option<ObjectCannedAcl>,
    metadata_directive: Option<MetadataDirective>,
    kms: Option<(String, ServerSideEncryption)>,
}

/// The `CopySource` of a copy: `bucket/key` with the key percent-encoded (`/` kept), and the
/// version when one is given.
fn copy_source(bucket: &str, key: &str, version: Option<&str>) -> String {
    let mut out = format!("{bucket}/");
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if let Some(v) = version {
        out.push_str("?versionId=");
        out.push_str(v);
    }
    out
}

impl Operator for S3CopyObjectOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3CopyObjectOperator",
        aliases: &["airflow.providers.amazon.aws.operators.s3_copy_object.S3CopyObjectOperator"],
        template_fields: &[
            "aws_conn_id",
            "dest_bucket_key",
            "dest_bucket_name",
            "region_name",
            "source_bucket_key",
            "source_bucket_name",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let source_key = r.required_str(
            "source_bucket_key",
            "the key to copy (relative to source_bucket_name, or a full s3:// URL)",
        )?;
        let dest_key = r.required_str(
            "dest_bucket_key",
            "the key to write (relative to dest_bucket_name, or a full s3:// URL)",
        )?;
        let source_bucket = r.str("source_bucket_name")?;
        let dest_bucket = r.str("dest_bucket_name")?;
        let version_id = r.str("source_version_id")?;
        let acl = r.str("acl_policy")?;
        let directive = r.str("meta_data_directive")?;
        let kms_key_id = r.str("kms_key_id")?;
        let kms_type = r.str("kms_encryption_type")?;
        let source = bucket_key(
            source_bucket.as_deref(),
            &source_key,
            "source_bucket_name",
            "source_bucket_key",
        )?;
        let dest = bucket_key(
            dest_bucket.as_deref(),
            &dest_key,
            "dest_bucket_name",
            "dest_bucket_key",
        )?;
        // As the provider: ACL private unless the sentinel "no-acl" asks for none.
        let acl = match acl.as_deref().unwrap_or("private") {
            "no-acl" => None,
            a if ObjectCannedAcl::values().contains(&a) => Some(ObjectCannedAcl::from(a)),
            a => {
                return Err(ParamError::new(format!(
                    "acl_policy '{a}' is not a canned ACL; use one of {} (or no-acl)",
                    ObjectCannedAcl::values().join(", ")
                )));
            }
        };
        let metadata_directive = match directive.as_deref() {
            None => None,
            Some(d @ ("COPY" | "REPLACE")) => Some(MetadataDirective::from(d)),
            Some(d) => {
                return Err(ParamError::new(format!(
                    "meta_data_directive must be COPY or REPLACE, not '{d}'"
                )));
            }
        };
        let kms = match (kms_key_id, kms_type) {
            (None, None) => None,
            (Some(id), Some(t)) if t == "aws:kms" || t == "aws:kms:dsse" => {
                Some((id, ServerSideEncryption::from(t.as_str())))
            }
            (Some(_), Some(t)) => {
                return Err(ParamError::new(format!(
                    "kms_encryption_type must be aws:kms or aws:kms:dsse, not '{t}'"
                )));
            }
            _ => {
                return Err(
                    "kms_key_id and kms_encryption_type must both be specified. Only one was provided."
                        .into(),
                );
            }
        };
        Ok(S3CopyObjectOperator {
            source,
            dest,
            version_id,
            acl,
            metadata_directive,
            kms,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        let (sb, sk) = &self.source;
        let (db, dk) = &self.dest;
        let mut copy = s3
            .copy_object()
            .bucket(db)
            .key(dk)
            .copy_source(copy_source(sb, sk, self.version_id.as_deref()))
            .set_acl(self.acl.clone())
            .set_metadata_directive(self.metadata_directive.clone());
        if let Some((id, kind)) = &self.kms {
            copy = copy.ssekms_key_id(id).server_side_encryption(kind.clone());
        }
        copy.send().await.map_err(|e| {
            task_error(
                &format!("S3CopyObjectOperator s3://{sb}/{sk} to s3://{db}/{dk}"),
                &e,
            )
        })?;
        ctx.info(&format!("Copied s3://{sb}/{sk} to s3://{db}/{dk}"));
        Ok(Outcome::Success(None))
    }

    /// CopyObject: `s3:GetObject` on the source (`s3:GetObjectVersion` with
    /// `source_version_id`), `s3:PutObject` on the destination (`s3:PutObjectAcl` with an ACL,
    /// which is `private` unless `acl_policy: no-acl`), and with `kms_key_id` the KMS actions
    /// S3 calls on that key for the caller.
    fn permissions(&self) -> Vec<Permission> {
        let (sb, sk) = &self.source;
        let (db, dk) = &self.dest;
        let get: &[&str] = if self.version_id.is_some() {
            &["s3:GetObject", "s3:GetObjectVersion"]
        } else {
            &["s3:GetObject"]
        };
        let put: &[&str] = if self.acl.is_some() {
            &["s3:PutObject", "s3:PutObjectAcl"]
        } else {
            &["s3:PutObject"]
        };
        let mut out = vec![
            Permission::new(get, [object_arn(sb, sk)]),
            Permission::new(put, [object_arn(db, dk)]),
        ];
        if let Some((id, _)) = &self.kms {
            out.push(Permission::new(
                &["kms:Decrypt", "kms:GenerateDataKey"],
                [kms_key_arn(id)],
            ));
        }
        out
    }
}

/// The ARN of a KMS key given as an ARN, a key id or an alias (IAM scopes KMS actions to the
/// key, so an alias widens to every key of the account).
fn kms_key_arn(id: &str) -> String {
    if id.starts_with("arn:") {
        id.to_owned()
    } else if id.starts_with("alias/") {
        airtask_core::permissions::arn("kms", None, "key/*")
    } else {
        airtask_core::permissions::arn("kms", None, &format!("key/{id}"))
    }
}

/// A configured `S3DeleteObjectsOperator`.
#[derive(Debug)]
pub struct S3DeleteObjectsOperator {
    bucket: String,
    keys: Option<Vec<String>>,
    prefix: Option<String>,
    from: Option<Timestamp>,
    to: Option<Timestamp>,
}

/// A date argument: ISO 8601 with an offset (converted to UTC), or naive (taken as UTC), or a
/// date (midnight UTC).
fn timestamp(name: &str, text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(dt) = t.replace(' ', "T").parse::<jiff::civil::DateTime>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(dt)
            .map_err(|e| e.to_string());
    }
    if let Ok(d) = t.parse::<jiff::civil::Date>() {
        return jiff::tz::TimeZone::UTC
            .to_timestamp(d.at(0, 0, 0, 0))
            .map_err(|e| e.to_string());
    }
    Err(format!(
        "{name} '{text}' is not a date; write ISO 8601, e.g. 2025-03-09T06:30:00Z or 2025-03-09"
    ))
}

impl Operator for S3DeleteObjectsOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3DeleteObjectsOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_delete_objects.S3DeleteObjectsOperator",
        ],
        template_fields: &[
            "aws_conn_id",
            "bucket",
            "from_datetime",
            "keys",
            "prefix",
            "region_name",
            "to_datetime",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = r.required_str("bucket", "the bucket to delete from")?;
        let keys = r.str_or_list("keys")?;
        let prefix = r.str("prefix")?;
        let from = r.str("from_datetime")?;
        let to = r.str("to_datetime")?;
        let listing = prefix.is_some() || from.is_some() || to.is_some();
        if keys.is_some() == listing {
            return Err(
                "Either keys or at least one of prefix, from_datetime, to_datetime should be set."
                    .into(),
            );
        }
        if prefix.as_deref() == Some("") && from.is_none() && to.is_none() {
            return Err(ParamError::new(format!(
                "prefix is empty, which would delete every object of bucket {bucket}; airtask \
                 refuses it (Airflow would do it silently). Give the keys, a non-empty prefix or a \
                 date window, or use S3DeleteBucketOperator with force_delete to empty the bucket."
            )));
        }
        Ok(S3DeleteObjectsOperator {
            bucket,
            keys,
            prefix,
            from: from.map(|f| timestamp("from_datetime", &f)).transpose()?,
            to: to.map(|t| timestamp("to_datetime", &t)).transpose()?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        let keys: Vec<String> = match &self.keys {
            Some(k) => k.iter().filter(|k| !k.is_empty()).cloned().collect(),
            None => {
                let prefix = self.prefix.clone().unwrap_or_default();
                list_objects(&s3, &self.bucket, &prefix, None)
                    .await?
                    .iter()
                    .filter(|o| {
                        let modified = o
                            .last_modified()
                            .and_then(|t| Timestamp::new(t.secs(), t.subsec_nanos() as i32).ok());
                        let after = self.from.is_none_or(|f| modified.is_some_and(|m| m > f));
                        let before = self.to.is_none_or(|t| modified.is_some_and(|m| m <= t));
                        after && before
                    })
                    .filter_map(|o| o.key().map(str::to_owned))
                    .collect()
            }
        };
        if keys.is_empty() {
            ctx.info("No keys to delete.");
            return Ok(Outcome::Success(None));
        }
        let keys: Vec<(String, Option<String>)> = keys.into_iter().map(|k| (k, None)).collect();
        delete_keys(&s3, &self.bucket, &keys, ctx).await?;
        Ok(Outcome::Success(None))
    }

    /// DeleteObjects (`s3:DeleteObject`) on the `keys`; with a prefix or a date window instead,
    /// ListObjectsV2 (`s3:ListBucket`) on the bucket and `s3:DeleteObject` under the prefix.
    fn permissions(&self) -> Vec<Permission> {
        match &self.keys {
            Some(keys) => {
                let mut objects: Vec<String> = Vec::new();
                for k in keys.iter().filter(|k| !k.is_empty()) {
                    let arn = object_arn(&self.bucket, k);
                    if !objects.contains(&arn) {
                        objects.push(arn);
                    }
                }
                if objects.is_empty() {
                    Vec::new()
                } else {
                    vec![Permission::new(&["s3:DeleteObject"], objects)]
                }
            }
            None => {
                let prefix = self.prefix.as_deref().unwrap_or_default();
                vec![
                    list_bucket([self.bucket.as_str()]),
                    Permission::new(
                        &["s3:DeleteObject"],
                        [object_arn(&self.bucket, &format!("{prefix}*"))],
                    ),
                ]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_sources_are_encoded() {
        assert_eq!(
            copy_source("b", "a b/ü+.csv", None),
            "b/a%20b/%C3%BC%2B.csv"
        );
        assert_eq!(copy_source("b", "k", Some("v1")), "b/k?versionId=v1");
    }

    #[test]
    fn dates_convert_offsets_to_utc() {
        assert_eq!(
            timestamp("f", "2025-03-09T06:30:00+02:00")
                .unwrap()
                .to_string(),
            "2025-03-09T04:30:00Z"
        );
        assert_eq!(
            timestamp("f", "2025-03-09 06:30").unwrap().to_string(),
            "2025-03-09T06:30:00Z"
        );
        assert_eq!(
            timestamp("f", "2025-03-09").unwrap().to_string(),
            "2025-03-09T00:00:00Z"
        );
        assert!(timestamp("f", "yesterday").is_err());
    }

    #[test]
    fn delete_needs_keys_or_a_listing_and_never_an_empty_prefix_alone() {
        let p = |v: serde_json::Value| v.as_object().cloned().unwrap();
        let b = |v| {
            airtask_core::build_operator::<S3DeleteObjectsOperator>(&p(v))
                .map(|_| ())
                .map_err(String::from)
        };
        assert!(
            b(serde_json::json!({"bucket": "b"}))
                .unwrap_err()
                .starts_with("Either keys")
        );
        assert!(b(serde_json::json!({"bucket": "b", "keys": ["k"], "prefix": "p"})).is_err());
        assert!(
            b(serde_json::json!({"bucket": "b", "prefix": ""}))
                .unwrap_err()
                .contains("every object")
        );
        assert!(
            b(serde_json::json!({"bucket": "b", "prefix": "", "to_datetime": "2025-01-01"}))
                .is_ok()
        );
        assert!(b(serde_json::json!({"bucket": "b", "keys": []})).is_ok());
    }
}
