//! `S3CreateObjectOperator`: writes `data` to a key. With `replace: false` (the default) an
//! existing key fails the task.

use std::io::Write as _;

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ObjectCannedAcl, ServerSideEncryption};

use crate::common::{bucket_key, client, list_bucket, object_arn, text};
use airtask_aws::error::{status, task_error};

/// A configured `S3CreateObjectOperator`.
#[derive(Debug)]
pub struct S3CreateObjectOperator {
    bucket: String,
    key: String,
    data: Vec<u8>,
    replace: bool,
    encrypt: bool,
    acl: Option<ObjectCannedAcl>,
}

/// Encodes `data` as Python's `str.encode(encoding)` does, for the encodings that matter.
fn encode(data: &str, encoding: Option<&str>) -> Result<Vec<u8>, String> {
    let name = encoding
        .unwrap_or("utf-8")
        .to_ascii_lowercase()
        .replace('_', "-");
    match name.as_str() {
        "utf-8" | "utf8" => Ok(data.as_bytes().to_vec()),
        "ascii" | "us-ascii" => data
            .is_ascii()
            .then(|| data.as_bytes().to_vec())
            .ok_or_else(|| "data has characters that 'ascii' cannot encode".to_owned()),
        "latin-1" | "latin1" | "iso-8859-1" => data
            .chars()
            .map(|c| u8::try_from(u32::from(c)).ok())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| "data has characters that 'latin-1' cannot encode".to_owned()),
        other => Err(format!(
            "encoding '{other}' is not supported; use utf-8 (the default), ascii or latin-1"
        )),
    }
}

impl Operator for S3CreateObjectOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator",
        aliases: &[],
        template_fields: &[
            "aws_conn_id",
            "data",
            "region_name",
            "s3_bucket",
            "s3_key",
            "verify",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let bucket = r.str("s3_bucket")?;
        let key = r.required_str(
            "s3_key",
            "the key to write (relative to s3_bucket, or a full s3:// URL)",
        )?;
        // A lone xcom_pull renders natively here; the data is still the text Airflow writes.
        let data =
            text(r, "data").ok_or("S3CreateObjectOperator needs `data`: the content to write")?;
        let replace = r.bool("replace", false)?;
        let encrypt = r.bool("encrypt", false)?;
        let acl = r.str("acl_policy")?;
        let encoding = r.str("encoding")?;
        let compression = r.str("compression")?;
        // The provider's message names dest_bucket and dest_key; the parameter is s3_key.
        let (bucket, key) = bucket_key(bucket.as_deref(), &key, "dest_bucket", "dest_key")
            .map_err(|e| ParamError::at("s3_key", e.message()))?;
        let mut data = encode(&data, encoding.as_deref())?;
        match compression.as_deref() {
            None => {}
            Some("gzip") => {
                let mut gz =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                gz.write_all(&data)
                    .and_then(|()| gz.finish())
                    .map(|out| data = out)
                    .map_err(|e| format!("cannot gzip the data: {e}"))?;
            }
            Some(other) => {
                return Err(ParamError::new(format!(
                    "compression '{other}' is not supported; the only one is gzip (as in Airflow)"
                )));
            }
        }
        let acl = acl.map(|a| {
            if ObjectCannedAcl::values().contains(&a.as_str()) {
                Ok(ObjectCannedAcl::from(a.as_str()))
            } else {
                Err(ParamError::new(format!(
                    "acl_policy '{a}' is not a canned ACL; use one of {}",
                    ObjectCannedAcl::values().join(", ")
                )))
            }
        });
        Ok(S3CreateObjectOperator {
            bucket,
            key,
            data,
            replace,
            encrypt,
            acl: acl.transpose()?,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        let url = format!("s3://{}/{}", self.bucket, self.key);
        if !self.replace {
            match s3
                .head_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .send()
                .await
            {
                Ok(_) => {
                    return Err(TaskError::fatal(format!(
                        "The key {} already exists. ({url}; set replace: true to overwrite it)",
                        self.key
                    )));
                }
                Err(e) if status(&e) == Some(404) => {}
                Err(e) => return Err(task_error(&format!("HeadObject {url}"), &e)),
            }
        }
        let mut put = s3
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .body(ByteStream::from(self.data.clone()))
            .set_acl(self.acl.clone());
        if self.encrypt {
            put = put.server_side_encryption(ServerSideEncryption::Aes256);
        }
        put.send()
            .await
            .map_err(|e| task_error(&format!("PutObject {url}"), &e))?;
        ctx.info(&format!("Wrote {} bytes to {url}", self.data.len()));
        Ok(Outcome::Success(None))
    }

    /// PutObject (with `s3:PutObjectAcl` for an `acl_policy`); with `replace: false` first
    /// HeadObject (`s3:GetObject`, and `s3:ListBucket` so that a missing key answers 404, not
    /// 403).
    fn permissions(&self) -> Vec<Permission> {
        let object = object_arn(&self.bucket, &self.key);
        let mut out = Vec::new();
        if !self.replace {
            out.push(list_bucket([self.bucket.as_str()]));
            out.push(Permission::new(&["s3:GetObject"], [object.clone()]));
        }
        let put: &[&str] = if self.acl.is_some() {
            &["s3:PutObject", "s3:PutObjectAcl"]
        } else {
            &["s3:PutObject"]
        };
        out.push(Permission::new(put, [object]));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(encode("é", None).unwrap(), vec![0xc3, 0xa9]);
        assert_eq!(encode("é", Some("latin-1")).unwrap(), vec![0xe9]);
        assert!(encode("é", Some("ascii")).is_err());
        assert!(
            encode("x", Some("utf-16"))
                .unwrap_err()
                .contains("not supported")
        );
    }

    #[test]
    fn parameters_are_checked() {
        let p = |v: serde_json::Value| v.as_object().cloned().unwrap();
        let build = |p: &airtask_core::Params| {
            airtask_core::build_operator::<S3CreateObjectOperator>(p)
                .map(|_| ())
                .map_err(String::from)
        };
        let e = build(&p(serde_json::json!({"s3_key": "k", "data": "x"}))).unwrap_err();
        assert!(e.starts_with("Please provide a bucket name"), "{e}");
        let e = build(&p(
            serde_json::json!({"s3_key": "s3://b/k", "data": "x", "compression": "bz2"}),
        ))
        .unwrap_err();
        assert!(e.contains("only one is gzip"), "{e}");
        let e = build(&p(
            serde_json::json!({"s3_key": "s3://b/k", "data": "x", "acl_policy": "nope"}),
        ))
        .unwrap_err();
        assert!(e.contains("not a canned ACL"), "{e}");
        assert!(
            build(&p(
                serde_json::json!({"s3_key": "s3://b/k", "data": "x", "bucket": "b"})
            ))
            .is_err()
        );
        assert!(
            build(&p(
                serde_json::json!({"s3_key": "s3://b/k", "data": "x", "compression": "gzip"})
            ))
            .is_ok()
        );
    }
}

#[cfg(test)]
mod permission_tests {
    use airtask_core::{Operator, Params, Permission, build_operator};
    use serde_json::json;

    use super::S3CreateObjectOperator;

    fn perms(v: serde_json::Value) -> Vec<Permission> {
        let p: Params = v.as_object().cloned().unwrap_or_default();
        build_operator::<S3CreateObjectOperator>(&p)
            .expect("valid parameters")
            .permissions()
    }

    #[test]
    fn replace_decides_whether_the_key_is_read_first() {
        assert_eq!(
            perms(json!({"s3_key": "s3://b/out/x.csv", "data": "d"})),
            [
                Permission::new(&["s3:ListBucket"], ["arn:aws:s3:::b"]),
                Permission::new(&["s3:GetObject"], ["arn:aws:s3:::b/out/x.csv"]),
                Permission::new(&["s3:PutObject"], ["arn:aws:s3:::b/out/x.csv"]),
            ]
        );
        assert_eq!(
            perms(
                json!({"s3_bucket": "b", "s3_key": "k", "data": "d", "replace": true, "acl_policy": "private"})
            ),
            [Permission::new(
                &["s3:PutObject", "s3:PutObjectAcl"],
                ["arn:aws:s3:::b/k"]
            )]
        );
    }
}
