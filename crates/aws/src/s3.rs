//! Reading objects (workflow definitions) from S3.

use std::fmt;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A parsed `s3://bucket/key[?versionId=...]` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The object key.
    pub key: String,
    /// A version to pin, when given.
    pub version_id: Option<String>,
}

impl S3Location {
    /// Parses an `s3://` URL. Returns `None` when the text is not one; an `s3://` URL without
    /// a bucket or key is an error.
    ///
    /// # Errors
    /// A message saying what the URL lacks.
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("'{url}' is not an s3:// URL"))?;
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        if bucket.is_empty() || key.is_empty() {
            return Err(format!(
                "'{url}' names no object; write s3://<bucket>/<key>[?versionId=<version>]"
            ));
        }
        let mut version_id = None;
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("versionId", v)) if !v.is_empty() => version_id = Some(v.to_owned()),
                    _ => {
                        return Err(format!(
                            "'{url}' has the query '{pair}'; the only one allowed is \
                             ?versionId=<version>"
                        ));
                    }
                }
            }
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id,
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)?;
        if let Some(v) = &self.version_id {
            write!(f, "?versionId={v}")?;
        }
        Ok(())
    }
}

/// Why an object could not be read.
#[derive(Debug, thiserror::Error)]
pub enum S3ReadError {
    /// The bucket does not exist.
    #[error("the bucket of {location} does not exist")]
    NoSuchBucket {
        /// The object asked for.
        location: S3Location,
    },
    /// The key does not exist (or, without s3:ListBucket permission, is hidden).
    #[error("there is no object at {location}")]
    NoSuchKey {
        /// The object asked for.
        location: S3Location,
    },
    /// The version does not exist (or is not a valid version id).
    #[error("the object {location} has no such version")]
    NoSuchVersion {
        /// The object asked for.
        location: S3Location,
    },
    /// The credentials may not read the object.
    #[error(
        "access to {location} was denied ({code}); the credentials in use need s3:GetObject (and s3:GetObjectVersion for a pinned version)"
    )]
    AccessDenied {
        /// The object asked for.
        location: S3Location,
        /// The S3 error code.
        code: String,
    },
    /// The object is larger than the caller accepts.
    #[error("the object {location} is {size} bytes, more than the {limit} bytes allowed")]
    TooLarge {
        /// The object asked for.
        location: S3Location,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// Any other failure: network, throttling, a server error.
    #[error("reading {location} failed: {message}")]
    Other {
        /// The object asked for.
        location: S3Location,
        /// What the SDK reported.
        message: String,
    },
}

/// Builds an S3 client. With an endpoint override (a local endpoint), path-style addressing
/// is forced: virtual-host style would need DNS for `bucket.127.0.0.1`.
pub fn client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// [`client`] with the try's call recorder, for operators:
/// `airtask_aws::client(ctx, airtask_aws::s3_operator_client)`.
pub fn operator_client(
    config: &aws_config::SdkConfig,
    recorder: crate::CallRecorder,
) -> aws_sdk_s3::Client {
    let mut builder = aws_sdk_s3::config::Builder::from(config).interceptor(recorder);
    if config.endpoint_url().is_some() {
        builder = builder.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// Reads a whole object, refusing one larger than `limit` bytes before downloading it.
///
/// # Errors
/// [`S3ReadError`] says which of missing bucket, key or version, access denied, size or other
/// failure it was.
pub async fn read_object(
    config: &aws_config::SdkConfig,
    location: &S3Location,
    limit: u64,
) -> Result<Vec<u8>, S3ReadError> {
    let client = client(config);
    let out = client
        .get_object()
        .bucket(&location.bucket)
        .key(&location.key)
        .set_version_id(location.version_id.clone())
        .send()
        .await
        .map_err(|e| classify(location, &e))?;
    let size = out.content_length().map_or(0, |n| n.max(0) as u64);
    if size > limit {
        return Err(S3ReadError::TooLarge {
            location: location.clone(),
            size,
            limit,
        });
    }
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| S3ReadError::Other {
            location: location.clone(),
            message: e.to_string(),
        })?
        .into_bytes();
    Ok(bytes.to_vec())
}

fn classify<E>(
    location: &S3Location,
    err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> S3ReadError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let location = location.clone();
    let code = err.code().unwrap_or_default().to_owned();
    match code.as_str() {
        "NoSuchBucket" => S3ReadError::NoSuchBucket { location },
        "NoSuchKey" | "NotFound" => S3ReadError::NoSuchKey { location },
        "NoSuchVersion" => S3ReadError::NoSuchVersion { location },
        "InvalidArgument" if location.version_id.is_some() => {
            S3ReadError::NoSuchVersion { location }
        }
        "AccessDenied"
        | "Forbidden"
        | "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "ExpiredToken" => S3ReadError::AccessDenied { location, code },
        _ => {
            let message = crate::sdk_error_text(err);
            S3ReadError::Other { location, message }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_s3_urls() {
        let l = S3Location::parse("s3://b/dir/wf.yaml").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.key.as_str(), l.version_id),
            ("b", "dir/wf.yaml", None)
        );
        assert!(S3Location::parse("s3://b").is_err());
        assert!(S3Location::parse("s3:///k").is_err());
        assert!(S3Location::parse("s3://b/k?foo=1").is_err());
        assert!(S3Location::parse("/local/file.yaml").is_err());
        let l = S3Location::parse("s3://b/k?versionId=abc").unwrap();
        assert_eq!(l.to_string(), "s3://b/k?versionId=abc");
    }
}
