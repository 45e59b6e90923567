//! The S3 state store: the same keys as the local state directory
//! (`<workflow_id>/<run_id>/<task_id>/<map_index>/xcom/<key>.json`, `.../record.json`) under
//! `s3://bucket/prefix/`. The runtime mirrors a run's state through a local working directory:
//! it downloads what a task reads before the try and uploads what the task instance wrote.

use std::path::Path;

use aws_sdk_s3::primitives::ByteStream;

use crate::s3::client;
use crate::sdk_error_text;

/// An `s3://bucket/prefix` state store.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    prefix: String,
}

impl S3Store {
    /// Parses `s3://bucket[/prefix]`.
    ///
    /// # Errors
    /// A message when the URL is not of that form.
    pub fn new(config: &aws_config::SdkConfig, url: &str) -> Result<S3Store, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("'{url}' is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!(
                "'{url}' names no bucket; write s3://<bucket>/<prefix>"
            ));
        }
        Ok(S3Store {
            client: client(config),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    fn key(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    fn url(&self, rel: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(rel))
    }

    /// Downloads every object under `rel_prefix` (a path relative to the store's root) into
    /// `local_root`, at the same relative paths. Pages through any number of objects.
    ///
    /// # Errors
    /// The first S3 or file error, naming the object.
    pub async fn download(&self, rel_prefix: &str, local_root: &Path) -> Result<usize, String> {
        let prefix = self.key(rel_prefix);
        let mut token = None;
        let mut count = 0;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| {
                    format!(
                        "cannot list {}: {}",
                        self.url(rel_prefix),
                        sdk_error_text(&e)
                    )
                })?;
            for obj in page.contents() {
                let Some(key) = obj.key() else { continue };
                let rel = if self.prefix.is_empty() {
                    key
                } else {
                    key.strip_prefix(&format!("{}/", self.prefix))
                        .unwrap_or(key)
                };
                // Never write outside the working directory, whatever the keys look like.
                if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                    continue;
                }
                let out = self
                    .client
                    .get_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| {
                        format!(
                            "cannot read s3://{}/{key}: {}",
                            self.bucket,
                            sdk_error_text(&e)
                        )
                    })?;
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| format!("cannot read s3://{}/{key}: {e}", self.bucket))?
                    .into_bytes();
                let path = local_root.join(rel);
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                }
                std::fs::write(&path, &bytes)
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                count += 1;
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
                _ => return Ok(count),
            }
        }
    }

    /// Uploads `local_root/rel` to the same relative key.
    ///
    /// # Errors
    /// The S3 or file error, naming the object.
    pub async fn upload(&self, local_root: &Path, rel: &str) -> Result<(), String> {
        let path = local_root.join(rel);
        let bytes =
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(rel))
            .body(ByteStream::from(bytes))
            .content_type("application/json")
            .send()
            .await
            .map_err(|e| format!("cannot write {}: {}", self.url(rel), sdk_error_text(&e)))?;
        Ok(())
    }

    /// Deletes the object at `rel` (absent objects are fine).
    ///
    /// # Errors
    /// The S3 error, naming the object.
    pub async fn delete(&self, rel: &str) -> Result<(), String> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(rel))
            .send()
            .await
            .map_err(|e| format!("cannot delete {}: {}", self.url(rel), sdk_error_text(&e)))?;
        Ok(())
    }
}
