//! Reading a workflow definition from a local path or S3, and loading it.

use std::io::Read as _;

use airtask_aws::{S3Location, S3ReadError};
use airtask_workflow::{
    Diagnostic, LoadOptions, Report, Task, Workflow, rules::MAX_DEFINITION_BYTES, size_diagnostic,
};

use crate::clock;
use crate::commands::usage;
use crate::registry::registry;

/// Why a definition could not be loaded before validation even started.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// A usage mistake: `--version-id` with a local file, a malformed s3:// URL.
    #[error("{0}")]
    Usage(String),
    /// The local file could not be read.
    #[error("cannot read the definition: {reason}")]
    Local {
        /// What the OS said.
        reason: String,
    },
    /// The S3 object could not be read.
    #[error("cannot read the definition: {0}")]
    S3(#[from] S3ReadError),
    /// Over the size quota (seen before reading the content).
    #[error("{}", .0.message)]
    TooLarge(Diagnostic),
}

/// Reads the bytes of a definition from a local path or an `s3://` URL (with `version_id`
/// pinning a version), with the default AWS configuration for S3. Oversized definitions are
/// refused before their content is read.
pub(crate) fn read(source: &str, version_id: Option<&str>) -> Result<Vec<u8>, ReadError> {
    if !source.starts_with("s3://") {
        return read_local(source, version_id);
    }
    let rt = crate::commands::async_runtime().map_err(ReadError::Usage)?;
    rt.block_on(async {
        let config = airtask_aws::sdk_config().await;
        read_s3(source, version_id, &config).await
    })
}

/// Reads the bytes of a definition like [`read`], inside an async runtime, with `config`
/// (the execution role's, when one is given) for S3.
pub(crate) async fn read_with(
    source: &str,
    version_id: Option<&str>,
    config: &airtask_aws::SdkConfig,
) -> Result<Vec<u8>, ReadError> {
    if source.starts_with("s3://") {
        read_s3(source, version_id, config).await
    } else {
        read_local(source, version_id)
    }
}

async fn read_s3(
    source: &str,
    version_id: Option<&str>,
    config: &airtask_aws::SdkConfig,
) -> Result<Vec<u8>, ReadError> {
    let mut location = S3Location::parse(source).map_err(ReadError::Usage)?;
    if let Some(v) = version_id {
        if location.version_id.as_deref().is_some_and(|u| u != v) {
            return Err(ReadError::Usage(format!(
                "{source} pins a version and --version-id gives another ({v}); give one"
            )));
        }
        location.version_id = Some(v.to_owned());
    }
    airtask_aws::read_object(config, &location, MAX_DEFINITION_BYTES as u64)
        .await
        .map_err(|e| match e {
            S3ReadError::TooLarge { size, .. } => {
                size_diagnostic(size).map_or_else(|| ReadError::S3(e), ReadError::TooLarge)
            }
            other => ReadError::S3(other),
        })
}

fn read_local(source: &str, version_id: Option<&str>) -> Result<Vec<u8>, ReadError> {
    let limit = MAX_DEFINITION_BYTES as u64;
    if version_id.is_some() {
        return Err(ReadError::Usage(format!(
            "--version-id applies to s3:// definitions only, not to the local file {source}"
        )));
    }
    let local = |e: std::io::Error| ReadError::Local {
        reason: e.to_string(),
    };
    let file = std::fs::File::open(source).map_err(local)?;
    let size = file.metadata().map_err(local)?.len();
    if let Some(d) = size_diagnostic(size) {
        return Err(ReadError::TooLarge(d));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(local)?;
    Ok(bytes)
}

/// Environment variables that hold credentials.
pub(crate) const CREDENTIAL_VARIABLES: &[&str] = &[
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// Loads and validates definition bytes with this build's operators and the process's
/// environment and clock.
pub(crate) fn load(bytes: &[u8], for_create: bool) -> Report {
    let registry = registry();
    // Credentials are never expanded into a definition: a definition could otherwise carry
    // the container's credentials into a log or an object, around the task's role. `$NAME`
    // stays as written (a shell then sees the task's own credentials).
    let env = |name: &str| {
        if CREDENTIAL_VARIABLES.contains(&name) {
            None
        } else {
            std::env::var(name).ok()
        }
    };
    let opts = LoadOptions {
        env: &env,
        now: clock::now(),
        for_create,
        catalog: registry,
    };
    airtask_workflow::load(bytes, &opts)
}

/// One definition, read and loaded (or not).
pub(crate) struct Checked {
    pub(crate) source: String,
    pub(crate) report: Report,
}

/// Reads and loads one definition. A definition that cannot be read is reported like an
/// invalid one; only usage mistakes (a malformed URL, `--version-id` misuse) are errors.
pub(crate) fn check(
    source: &str,
    version_id: Option<&str>,
    for_create: bool,
) -> Result<Checked, ReadError> {
    checked(source, read(source, version_id), for_create)
}

fn checked(
    source: &str,
    bytes: Result<Vec<u8>, ReadError>,
    for_create: bool,
) -> Result<Checked, ReadError> {
    let report = match bytes {
        Ok(bytes) => load(&bytes, for_create),
        Err(ReadError::Usage(msg)) => return Err(ReadError::Usage(msg)),
        Err(ReadError::TooLarge(d)) => Report {
            workflow: None,
            diagnostics: vec![d],
        },
        Err(e) => Report {
            workflow: None,
            diagnostics: vec![Diagnostic::error(e.to_string())],
        },
    };
    Ok(Checked {
        source: source.to_owned(),
        report,
    })
}

/// Loads a definition for a command that needs a valid workflow: on failure, prints the
/// diagnostics (or the usage error) and gives the exit code to return.
pub(crate) fn load_valid(
    file: &str,
    version_id: Option<&str>,
    invalid_code: u8,
) -> Result<(String, Workflow), u8> {
    valid(check(file, version_id, false), invalid_code)
}

/// [`load_valid`] for a command with an identity: an `s3://` definition is read as the execution
/// layer of `identity` (the execution role when one is configured, assumed with `session`), so
/// that nothing reads with broader credentials than configured. When that role cannot be
/// assumed, the error is printed and `role_failure_code` returned.
pub(crate) async fn load_valid_as(
    file: &str,
    version_id: Option<&str>,
    invalid_code: u8,
    identity: &crate::identity::Identity,
    session: &str,
    role_failure_code: u8,
) -> Result<(String, Workflow), u8> {
    if !file.starts_with("s3://") {
        return load_valid(file, version_id, invalid_code);
    }
    match identity.execution(session).await {
        Ok(layer) => load_valid_with(file, version_id, invalid_code, &layer.config).await,
        Err(e) => {
            eprintln!("error: {e}; the definition {file} was not read");
            Err(role_failure_code)
        }
    }
}

/// The name of a definition's file without its extension: the workflow id by convention, for
/// session names before the definition is read.
pub(crate) fn stem(file: &str) -> String {
    let name = file.rsplit('/').next().unwrap_or(file);
    let name = name.split('?').next().unwrap_or(name);
    name.rsplit_once('.')
        .map_or(name, |(stem, _)| stem)
        .to_owned()
}

/// [`load_valid`] inside an async runtime, reading S3 with `config`.
pub(crate) async fn load_valid_with(
    file: &str,
    version_id: Option<&str>,
    invalid_code: u8,
    config: &airtask_aws::SdkConfig,
) -> Result<(String, Workflow), u8> {
    let bytes = read_with(file, version_id, config).await;
    valid(checked(file, bytes, false), invalid_code)
}

fn valid(c: Result<Checked, ReadError>, invalid_code: u8) -> Result<(String, Workflow), u8> {
    let c = match c {
        Ok(c) => c,
        Err(e) => return Err(usage(&e.to_string())),
    };
    for d in &c.report.diagnostics {
        eprintln!("{}", d.display_for(&c.source));
    }
    c.report
        .workflow
        .map(|wf| (c.source, wf))
        .ok_or(invalid_code)
}

/// The task `task_id` of `wf`, or the usage error naming the tasks there are.
pub(crate) fn find_task<'w>(wf: &'w Workflow, task_id: &str) -> Result<&'w Task, String> {
    wf.task(task_id).ok_or_else(|| {
        let ids: Vec<&str> = wf.tasks.iter().map(|t| t.task_id.as_str()).collect();
        format!(
            "workflow '{}' has no task '{}'; its tasks are {}",
            wf.workflow_id,
            task_id,
            ids.join(", ")
        )
    })
}
