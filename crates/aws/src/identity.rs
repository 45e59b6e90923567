//! Identity: the workflow's execution role and a task's own role, assumed through STS from the
//! base credentials (the SDK's default chain), with session names that identify the task in
//! CloudTrail. An assumption that fails is an error; nothing falls back to the credentials it
//! was assumed from.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

/// The longest role session name STS accepts.
pub const MAX_SESSION_NAME: usize = 64;

/// Why an identity could not be taken on.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// AssumeRole failed: the role does not exist, its trust policy refuses the caller, or the
    /// caller may not call sts:AssumeRole on it.
    #[error("cannot assume the role {role_arn} (session {session_name}): {reason}")]
    AssumeRole {
        /// The role.
        role_arn: String,
        /// The session name asked for.
        session_name: String,
        /// What STS answered.
        reason: String,
    },
    /// GetCallerIdentity failed.
    #[error("cannot get the caller identity ({layer}): {reason}")]
    CallerIdentity {
        /// Which layer (base, execution role, task role).
        layer: String,
        /// What STS answered.
        reason: String,
    },
}

/// A role session name that identifies the task try in CloudTrail:
/// `airtask.<workflow>.<task>.<try>`, with characters STS refuses replaced by `-` and the
/// middle shortened to fit 64 characters (the try number always survives).
pub fn session_name(workflow_id: &str, task_id: &str, try_number: u32) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let suffix = format!(".try{try_number}");
    let mut body = format!("airtask.{}.{}", clean(workflow_id), clean(task_id));
    let room = MAX_SESSION_NAME - suffix.len();
    if body.len() > room {
        // Keep the start (the workflow) and the end (the task) of the name.
        let head = (room - 1) / 2;
        let tail = room - 1 - head;
        body = format!("{}~{}", &body[..head], &body[body.len() - tail..]).replace('~', "-");
    }
    format!("{body}{suffix}")
}

/// What to assume.
#[derive(Debug, Clone)]
pub struct RoleSpec {
    /// The role.
    pub role_arn: String,
    /// The session name (see [`session_name`]).
    pub session_name: String,
    /// The external id the role's trust policy asks for, if any.
    pub external_id: Option<String>,
    /// How long each set of credentials lasts; they are refreshed before they expire.
    pub duration: Duration,
}

/// Assumes `spec.role_arn` with the credentials of `from` and returns a configuration whose
/// credentials refresh themselves. The first credentials are fetched at once, so that a role
/// that cannot be assumed fails here, before anything runs with it.
///
/// # Errors
/// [`IdentityError::AssumeRole`] with STS's reason (AccessDenied, NoSuchEntity, ...).
pub async fn assume(from: &SdkConfig, spec: &RoleSpec) -> Result<SdkConfig, IdentityError> {
    let mut builder = AssumeRoleProvider::builder(spec.role_arn.clone())
        .session_name(spec.session_name.clone())
        .session_length(spec.duration)
        .configure(from);
    if let Some(id) = &spec.external_id {
        builder = builder.external_id(id.clone());
    }
    let provider = builder.build().await;
    provider
        .provide_credentials()
        .await
        .map_err(|e| IdentityError::AssumeRole {
            role_arn: spec.role_arn.clone(),
            session_name: spec.session_name.clone(),
            reason: crate::error_chain(&e),
        })?;
    Ok(from
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build())
}

/// The ARN STS reports for the credentials of `config` (GetCallerIdentity).
///
/// # Errors
/// [`IdentityError::CallerIdentity`] with STS's reason.
pub async fn caller_arn(config: &SdkConfig, layer: &str) -> Result<String, IdentityError> {
    let sts = aws_sdk_sts::Client::new(config);
    let out =
        sts.get_caller_identity()
            .send()
            .await
            .map_err(|e| IdentityError::CallerIdentity {
                layer: layer.to_owned(),
                reason: crate::error_chain(&e),
            })?;
    Ok(out.arn().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_fit_sts_rules_and_keep_the_try() {
        assert_eq!(session_name("etl", "load", 2), "airtask.etl.load.try2");
        assert_eq!(
            session_name("my etl", "grp/x:y", 1),
            "airtask.my-etl.grp-x-y.try1"
        );
        let long = session_name(&"w".repeat(80), &"t".repeat(80), 3);
        assert!(long.len() <= MAX_SESSION_NAME, "{long}");
        assert!(
            long.starts_with("airtask.www") && long.ends_with("ttt.try3"),
            "{long}"
        );
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        );
    }
}
