//! `S3FileTransformOperator`: downloads a key, runs a transform executable on it
//! (`script SOURCE DEST ARGS...`, no shell), and uploads the result to another key.

use std::process::Stdio;

use airtask_core::{
    Operator, OperatorSpec, Outcome, ParamError, ParamReader, Permission, TaskContext, TaskError,
};
use aws_sdk_s3::primitives::ByteStream;
use tokio::io::AsyncBufReadExt as _;

use crate::common::{bucket_key, client, list_bucket, object_arn};
use crate::select::{Serialization, select};
use airtask_aws::error::{status, task_error};

/// A configured `S3FileTransformOperator`.
#[derive(Debug)]
pub struct S3FileTransformOperator {
    source: (String, String),
    dest: (String, String),
    /// The transform script; without one the (selected) source is uploaded as is.
    script: Option<String>,
    /// An S3 Select expression whose records are the source, and its serialization settings.
    select: Option<(String, Serialization)>,
    args: Vec<String>,
    replace: bool,
}

impl S3FileTransformOperator {
    async fn run(&self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        let s3 = client(ctx)?;
        let (sb, sk) = &self.source;
        let (db, dk) = &self.dest;
        // The destination is checked before the script runs (Airflow checks after).
        if !self.replace {
            match s3.head_object().bucket(db).key(dk).send().await {
                Ok(_) => {
                    return Err(TaskError::fatal(format!(
                        "The key {dk} already exists. (s3://{db}/{dk}; set replace: true to \
                         overwrite it)"
                    )));
                }
                Err(e) if status(&e) == Some(404) => {}
                Err(e) => return Err(task_error(&format!("HeadObject s3://{db}/{dk}"), &e)),
            }
        }
        match s3.head_object().bucket(sb).key(sk).send().await {
            Ok(_) => {}
            Err(e) if status(&e) == Some(404) => {
                return Err(TaskError::fatal(format!(
                    "The source key s3://{sb}/{sk} does not exist"
                )));
            }
            Err(e) => return Err(task_error(&format!("HeadObject s3://{sb}/{sk}"), &e)),
        }
        let bytes = match &self.select {
            Some((expression, serialization)) => {
                ctx.info(&format!(
                    "Selecting from source S3 file s3://{sb}/{sk}: {expression}"
                ));
                select(&s3, sb, sk, expression, serialization).await?
            }
            None => {
                ctx.info(&format!("Downloading source S3 file s3://{sb}/{sk}"));
                let object = s3
                    .get_object()
                    .bucket(sb)
                    .key(sk)
                    .send()
                    .await
                    .map_err(|e| task_error(&format!("GetObject s3://{sb}/{sk}"), &e))?;
                object
                    .body
                    .collect()
                    .await
                    .map_err(|e| TaskError::retryable(format!("reading s3://{sb}/{sk}: {e}")))?
                    .into_bytes()
                    .to_vec()
            }
        };
        let dir = std::env::temp_dir().join(format!(
            "airtask-transform-{}-{}",
            std::process::id(),
            ctx.try_number()
        ));
        std::fs::create_dir_all(&dir)
            .map_err(|e| TaskError::retryable(format!("cannot create {}: {e}", dir.display())))?;
        let (src, dst) = (dir.join("source"), dir.join("dest"));
        let result = async {
            std::fs::write(&src, &bytes)
                .and_then(|()| std::fs::write(&dst, b""))
                .map_err(|e| {
                    TaskError::retryable(format!("cannot write {}: {e}", dir.display()))
                })?;
            let upload = match &self.script {
                Some(script) => {
                    self.transform(ctx, script, &src, &dst).await?;
                    &dst
                }
                None => &src,
            };
            let body = ByteStream::from_path(upload).await.map_err(|e| {
                TaskError::retryable(format!("cannot read {}: {e}", upload.display()))
            })?;
            s3.put_object()
                .bucket(db)
                .key(dk)
                .body(body)
                .send()
                .await
                .map_err(|e| task_error(&format!("PutObject s3://{db}/{dk}"), &e))?;
            ctx.info("Upload successful");
            Ok(Outcome::Success(None))
        }
        .await;
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Runs the script on the files, its output (stdout and stderr) logged line by line. The
    /// process is killed if the try is cancelled.
    async fn transform(
        &self,
        ctx: &TaskContext,
        script: &str,
        src: &std::path::Path,
        dst: &std::path::Path,
    ) -> Result<(), TaskError> {
        let mut cmd = tokio::process::Command::new(script);
        cmd.arg(src)
            .arg(dst)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (k, v) in ctx.process_env() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let mut child = cmd.spawn().map_err(|e| {
            TaskError::fatal(format!("cannot run the transform script {script}: {e}"))
        })?;
        ctx.info("Output:");
        let out = child
            .stdout
            .take()
            .map(|o| tokio::io::BufReader::new(o).lines());
        let err = child
            .stderr
            .take()
            .map(|e| tokio::io::BufReader::new(e).lines());
        let log = |line: String| ctx.info(line.trim_end());
        let pump = async {
            if let Some(mut out) = out {
                while let Ok(Some(line)) = out.next_line().await {
                    log(line);
                }
            }
        };
        let pump_err = async {
            if let Some(mut err) = err {
                while let Ok(Some(line)) = err.next_line().await {
                    log(line);
                }
            }
        };
        let ((), ()) = tokio::join!(pump, pump_err);
        let status = child
            .wait()
            .await
            .map_err(|e| TaskError::retryable(format!("waiting for the transform script: {e}")))?;
        if !status.success() {
            return Err(TaskError::retryable(format!(
                "Transform script failed: {}",
                status.code().unwrap_or(-1)
            )));
        }
        ctx.info(&format!(
            "Transform script successful. Output temporarily located at {}",
            dst.display()
        ));
        Ok(())
    }
}

impl Operator for S3FileTransformOperator {
    const SPEC: OperatorSpec = OperatorSpec {
        class_path: "airflow.providers.amazon.aws.operators.s3.S3FileTransformOperator",
        aliases: &[
            "airflow.providers.amazon.aws.operators.s3_file_transform.S3FileTransformOperator",
        ],
        template_fields: &[
            "dest_aws_conn_id",
            "dest_s3_key",
            "script_args",
            "source_aws_conn_id",
            "source_s3_key",
        ],
        calls_aws: true,
    };

    fn from_params(r: &mut ParamReader<'_>) -> Result<Self, ParamError> {
        let source = r.required_str("source_s3_key", "the key to read, a full s3:// URL")?;
        let dest = r.required_str("dest_s3_key", "the key to write, a full s3:// URL")?;
        let script = r.str("transform_script")?;
        let select = r.str("select_expression")?;
        let serialization = Serialization::read(r.value("select_expr_serialization_config"))?;
        let args = r.str_or_list("script_args")?.unwrap_or_default();
        let replace = r.bool("replace", false)?;
        // One identity per task here: the source and destination connections are that identity.
        for conn in ["source_aws_conn_id", "dest_aws_conn_id"] {
            if let Some(c) = r.str(conn)?
                && c != "aws_default"
            {
                return Err(ParamError::new(format!(
                    "{conn} '{c}' is not supported: there are no Airflow connections here; the task \
                     reads and writes with its own role (role_arn)"
                )));
            }
        }
        r.accept("source_verify");
        r.accept("dest_verify");
        if script.is_none() && select.is_none() {
            return Err("Either transform_script or select_expression must be specified".into());
        }
        Ok(S3FileTransformOperator {
            source: bucket_key(None, &source, "source_s3_key", "source_s3_key")?,
            dest: bucket_key(None, &dest, "dest_s3_key", "dest_s3_key")?,
            script,
            select: select.map(|e| (e, serialization)),
            args,
            replace,
        })
    }

    async fn execute(&mut self, ctx: &TaskContext) -> Result<Outcome, TaskError> {
        self.run(ctx).await
    }

    /// HeadObject and GetObject or SelectObjectContent (`s3:GetObject`) on the source,
    /// PutObject on the destination, with `replace: false` HeadObject (`s3:GetObject`) on the
    /// destination too; `s3:ListBucket` on the buckets HeadObject asks, so that a missing key
    /// answers 404, not 403.
    fn permissions(&self) -> Vec<Permission> {
        let (sb, sk) = &self.source;
        let (db, dk) = &self.dest;
        let mut buckets = vec![sb.as_str()];
        let mut gets = vec![object_arn(sb, sk)];
        if !self.replace {
            buckets.push(db.as_str());
            let dest = object_arn(db, dk);
            if !gets.contains(&dest) {
                gets.push(dest);
            }
        }
        vec![
            list_bucket(buckets),
            Permission::new(&["s3:GetObject"], gets),
            Permission::new(&["s3:PutObject"], [object_arn(db, dk)]),
        ]
    }
}
