//! What the S3 operators share: the client for the task's identity, Airflow's rules for
//! bucket and key arguments (`S3Hook.get_s3_bucket_key`, `parse_s3_url`), listing with
//! pagination, and errors.

use airtask_aws::error::{status, task_error};
use airtask_core::permissions::global_arn;
use airtask_core::{ParamError, ParamReader, Permission, TaskContext, TaskError};
use aws_sdk_s3::Client;

/// The logger of the S3 hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.s3.S3Hook";

/// An S3 client with the task's identity.
pub(crate) fn client(ctx: &TaskContext) -> Result<Client, TaskError> {
    airtask_aws::client(ctx, airtask_aws::s3_operator_client)
}

/// The ARN of a bucket (what bucket-level actions such as `s3:ListBucket` are scoped to).
pub(crate) fn bucket_arn(bucket: &str) -> String {
    global_arn("s3", bucket)
}

/// The ARN of an object, or of every object under a prefix with a trailing `*`.
pub(crate) fn object_arn(bucket: &str, key: &str) -> String {
    global_arn("s3", &format!("{bucket}/{key}"))
}

/// `s3:ListBucket` on each bucket, once each, in order.
pub(crate) fn list_bucket<'a>(buckets: impl IntoIterator<Item = &'a str>) -> Permission {
    let mut arns: Vec<String> = Vec::new();
    for b in buckets {
        let arn = bucket_arn(b);
        if !arns.contains(&arn) {
            arns.push(arn);
        }
    }
    Permission::new(&["s3:ListBucket"], arns)
}

/// Splits an S3 URL (`s3://`, `s3a://`, `s3n://`, or an https path-style or virtual-host
/// URL) into bucket and key, as Airflow's `parse_s3_url`.
pub(crate) fn parse_s3_url(url: &str) -> Option<(String, String)> {
    let lower = url.to_ascii_lowercase();
    for scheme in ["s3://", "s3a://", "s3n://"] {
        if lower.starts_with(scheme) {
            let rest = &url[scheme.len()..];
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return None;
            }
            return Some((bucket.to_owned(), key.trim_start_matches('/').to_owned()));
        }
    }
    let rest = lower
        .starts_with("https://")
        .then(|| &url["https://".len()..])?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_l = host.to_ascii_lowercase();
    if !host_l.ends_with(".amazonaws.com") {
        return None;
    }
    if host_l.starts_with("s3.") || host_l.starts_with("s3-") {
        // Path style: https://s3.<region>.amazonaws.com/<bucket>/<key>
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        (!bucket.is_empty()).then(|| (bucket.to_owned(), key.to_owned()))
    } else {
        // Virtual host: https://<bucket>.s3.<region>.amazonaws.com/<key>
        let i = host_l.find(".s3.").or_else(|| host_l.find(".s3-"))?;
        Some((host[..i].to_owned(), path.to_owned()))
    }
}

/// Airflow's `get_s3_bucket_key`: without a bucket, the key must be an S3 URL; with one, the
/// key must be relative.
pub(crate) fn bucket_key(
    bucket: Option<&str>,
    key: &str,
    bucket_param: &str,
    key_param: &str,
) -> Result<(String, String), ParamError> {
    match bucket {
        None => parse_s3_url(key).ok_or_else(|| {
            ParamError::at(
                key_param,
                format!(
                    "Please provide a bucket name using a valid format of the form: \
                 S3://bucket-name/key-name or \
                 https://bucket-name.s3.region-code.amazonaws.com/key-name but provided: \"{key}\" \
                 (or give `{bucket_param}`)"
                ),
            )
        }),
        Some(b) => {
            if key.contains("://") {
                return Err(ParamError::at(
                    key_param,
                    format!(
                        "If `{bucket_param}` is provided, {key_param} should be a relative \
                         path from root level, rather than a full s3:// url"
                    ),
                ));
            }
            Ok((b.to_owned(), key.to_owned()))
        }
    }
}

/// What a listing found: the objects, and the common prefixes (with a delimiter).
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// The objects (`Contents`).
    pub(crate) objects: Vec<aws_sdk_s3::types::Object>,
    /// The common prefixes (`CommonPrefixes`), each ending with the delimiter.
    pub(crate) prefixes: Vec<String>,
}

/// Everything under `prefix` (split at `delimiter` when given), every page.
pub(crate) async fn list(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<Listing, TaskError> {
    let mut out = Listing::default();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| task_error(&format!("ListObjectsV2 s3://{bucket}/{prefix}"), &e))?;
        out.prefixes.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_owned)),
        );
        out.objects.extend(page.contents.unwrap_or_default());
    }
    Ok(out)
}

/// Every object under `prefix`, every page.
pub(crate) async fn list_objects(
    s3: &Client,
    bucket: &str,
    prefix: &str,
    delimiter: Option<&str>,
) -> Result<Vec<aws_sdk_s3::types::Object>, TaskError> {
    Ok(list(s3, bucket, prefix, delimiter).await?.objects)
}

/// A text argument: a string as is, any other value as Python's `str()` of it (what Airflow
/// renders for a lone `xcom_pull` that airtask renders natively).
pub(crate) fn text(r: &mut ParamReader<'_>, name: &'static str) -> Option<String> {
    r.value(name).map(airtask_template::python_str)
}

/// Whether `bucket` exists (HeadBucket). A 403 is an error, not "missing": the bucket exists
/// and this identity may not see it, or it belongs to another account.
pub(crate) async fn bucket_exists(s3: &Client, bucket: &str) -> Result<bool, TaskError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(true),
        Err(e) if status(&e) == Some(404) => Ok(false),
        Err(e) if status(&e) == Some(403) => Err(TaskError::fatal(format!(
            "HeadBucket s3://{bucket} failed: HTTP 403 Forbidden: the bucket exists but the \
             task's role may not access it, or it belongs to another account"
        ))),
        Err(e) => Err(task_error(&format!("HeadBucket s3://{bucket}"), &e)),
    }
}

/// Deletes `keys` (with a version id each, or none) in chunks of 1,000, as the S3 hook does;
/// per-key errors fail the task and name the keys.
pub(crate) async fn delete_keys(
    s3: &Client,
    bucket: &str,
    keys: &[(String, Option<String>)],
    ctx: &TaskContext,
) -> Result<(), TaskError> {
    use aws_sdk_s3::types::{Delete, ObjectIdentifier};
    for chunk in keys.chunks(1000) {
        let objects = chunk
            .iter()
            .map(|(k, v)| {
                ObjectIdentifier::builder()
                    .key(k)
                    .set_version_id(v.clone())
                    .build()
                    .map_err(|e| TaskError::fatal(format!("key {k}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| TaskError::fatal(e.to_string()))?;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| task_error(&format!("DeleteObjects s3://{bucket}"), &e))?;
        let failed: Vec<&str> = out.errors().iter().filter_map(|e| e.key()).collect();
        if !failed.is_empty() {
            return Err(TaskError::retryable(format!(
                "Errors when deleting: {failed:?} (bucket {bucket})"
            )));
        }
        let names: Vec<&str> = chunk.iter().map(|(k, _)| k.as_str()).collect();
        ctx.hook_info(HOOK_LOGGER, &format!("Deleted: {names:?}"));
    }
    Ok(())
}

/// Python's `fnmatch.fnmatchcase`: `*` (any run, `/` included), `?`, `[seq]`, `[!seq]`.
pub(crate) fn fnmatch(name: &str, pattern: &str) -> bool {
    let n: Vec<char> = name.chars().collect();
    let p: Vec<char> = pattern.chars().collect();
    // Iterative matching with one backtrack point for the last `*`.
    let (mut ni, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ni));
                    pi += 1;
                    continue;
                }
                '?' => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = class(&p, pi, n[ni]) {
                        if matched {
                            ni += 1;
                            pi = next;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        ni += 1;
                        pi += 1;
                        continue;
                    }
                }
                c if c == n[ni] => {
                    ni += 1;
                    pi += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Matches `c` against the class starting at `p[start] == '['`: (matched, index after `]`),
/// or `None` when the class is not closed (then `[` is a literal, as in Python).
fn class(p: &[char], start: usize, c: char) -> Option<(bool, usize)> {
    let mut i = start + 1;
    let negate = p.get(i) == Some(&'!');
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                matched = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                matched = true;
            }
            i += 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_urls_in_every_form_airflow_accepts() {
        let bk = |b: &str, k: &str| Some((b.to_owned(), k.to_owned()));
        assert_eq!(parse_s3_url("s3://b/k/x.csv"), bk("b", "k/x.csv"));
        assert_eq!(parse_s3_url("S3A://b//k"), bk("b", "k"));
        assert_eq!(parse_s3_url("s3n://b"), bk("b", ""));
        assert_eq!(
            parse_s3_url("https://s3.us-east-1.amazonaws.com/b/k.txt"),
            bk("b", "k.txt")
        );
        assert_eq!(
            parse_s3_url("https://b.s3.eu-west-1.amazonaws.com/k/y"),
            bk("b", "k/y")
        );
        assert_eq!(parse_s3_url("k.txt"), None);
        assert_eq!(parse_s3_url("s3:///k"), None);
    }

    #[test]
    fn bucket_and_key_rules() {
        assert_eq!(
            bucket_key(None, "s3://b/k", "dest_bucket", "dest_key").unwrap(),
            ("b".to_owned(), "k".to_owned())
        );
        assert!(
            bucket_key(None, "k", "dest_bucket", "dest_key")
                .unwrap_err()
                .message()
                .starts_with("Please provide a bucket name")
        );
        assert!(
            bucket_key(Some("b"), "s3://b/k", "dest_bucket", "dest_key")
                .unwrap_err()
                .message()
                .contains("should be a relative path")
        );
    }

    #[test]
    fn fnmatch_like_python() {
        assert!(fnmatch("data/2024/a.csv", "data/*.csv"));
        assert!(fnmatch("a.csv", "?.csv"));
        assert!(!fnmatch("ab.csv", "?.csv"));
        assert!(fnmatch("f1", "f[0-9]"));
        assert!(!fnmatch("fx", "f[0-9]"));
        assert!(fnmatch("fx", "f[!0-9]"));
        assert!(fnmatch("f]", "f[]]"));
        assert!(fnmatch("f[", "f["));
        assert!(fnmatch("", "*"));
        assert!(!fnmatch("A.csv", "a.csv"));
        assert!(fnmatch("aXbXc", "a*b*c"));
        assert!(!fnmatch("aXbX", "a*b*c"));
    }
}
