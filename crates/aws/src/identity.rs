//! Identity: the workflow's execution role and a task's own role, assumed through STS from the
//! base credentials (the SDK's default chain), with session names that identify the task in
//! CloudTrail. An assumption that fails is an error; nothing falls back to the credentials it
//! was assumed from.

use std::sync::Mutex;
use std::time::Duration;

use airtask_core::{TaskContext, TaskError};
use aws_config::SdkConfig;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider, future};
use tokio::sync::OnceCell;

/// The longest role session name STS accepts.
pub const MAX_SESSION_NAME: usize = 64;

/// Why an identity could not be taken on.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// AssumeRole failed: the role does not exist, its trust policy refuses the caller, the
    /// caller may not call sts:AssumeRole on it, or STS could not be reached.
    #[error("cannot assume the role {role_arn} (session {session_name}): {reason}")]
    AssumeRole {
        /// The role.
        role_arn: String,
        /// The session name asked for.
        session_name: String,
        /// What STS answered.
        reason: String,
        /// False when STS refused (AccessDenied and the like): asking again cannot help.
        /// True for throttling, STS's own failures and network errors, which the SDK already
        /// retried with backoff before giving up.
        retryable: bool,
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

impl IdentityError {
    /// Whether another try may succeed.
    pub fn retryable(&self) -> bool {
        match self {
            IdentityError::AssumeRole { retryable, .. } => *retryable,
            IdentityError::CallerIdentity { .. } => true,
        }
    }
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

/// The session name of `airtask run` itself (reading and writing a run's state):
/// `airtask.<workflow>.run`, within STS's rules.
pub fn run_session_name(workflow_id: &str) -> String {
    let mut name = session_name(workflow_id, "run", 0);
    name.truncate(name.len() - ".try0".len());
    name
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

/// A role taken on: a configuration whose credentials refresh themselves (AssumeRole again
/// before they expire), and the first credentials.
#[derive(Debug, Clone)]
pub struct Assumed {
    /// The configuration to build clients from.
    pub config: SdkConfig,
    /// The credentials fetched when the role was assumed (for a child process's environment).
    /// Their `Debug` form hides the secret parts.
    pub credentials: Credentials,
}

/// How many times an STS call is attempted before an assumption fails (throttling, STS's own
/// failures and network errors are retried with the SDK's jittered exponential backoff).
const STS_ATTEMPTS: u32 = 5;

/// Assumes `spec.role_arn` with the credentials of `from`. The first credentials are fetched
/// at once, so that a role that cannot be assumed fails here, before anything runs with it;
/// later ones are fetched by the SDK's credential cache shortly before they expire.
///
/// # Errors
/// [`IdentityError::AssumeRole`] with STS's reason (AccessDenied, NoSuchEntity, ...) and
/// whether asking again may help.
pub async fn assume(from: &SdkConfig, spec: &RoleSpec) -> Result<Assumed, IdentityError> {
    let sts_config = from
        .to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(STS_ATTEMPTS))
        .build();
    let mut builder = AssumeRoleProvider::builder(spec.role_arn.clone())
        .session_name(spec.session_name.clone())
        .session_length(spec.duration)
        .configure(&sts_config);
    if let Some(id) = &spec.external_id {
        builder = builder.external_id(id.clone());
    }
    let provider = builder.build().await;
    let credentials = provider.provide_credentials().await.map_err(|e| {
        let (reason, retryable) = failure(&e);
        IdentityError::AssumeRole {
            role_arn: spec.role_arn.clone(),
            session_name: spec.session_name.clone(),
            reason,
            retryable,
        }
    })?;
    let first = Prefetched {
        first: Mutex::new(Some(credentials.clone())),
        then: provider,
    };
    Ok(Assumed {
        config: from
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(first))
            .build(),
        credentials,
    })
}

/// What STS answered to a failed assumption, and whether asking again may help: not when
/// STS refused (AccessDenied, a malformed policy, an unknown or disabled region, a bad token);
/// yes for throttling, STS's own failures and no answer at all (a network failure, a timeout).
fn failure(e: &CredentialsError) -> (String, bool) {
    use aws_sdk_sts::error::{ProvideErrorMetadata as _, SdkError};
    use aws_sdk_sts::operation::assume_role::AssumeRoleError;
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(sdk) = s.downcast_ref::<SdkError<AssumeRoleError>>() {
            let (code, message) = match (sdk.code(), sdk.raw_response()) {
                (Some(c), _) => (Some(c.to_owned()), sdk.message().map(str::to_owned)),
                // An answer the SDK could not parse: the code and message of an XML error
                // body when there is one.
                (None, Some(raw)) => {
                    let body = raw.body().bytes().map(String::from_utf8_lossy);
                    let tag = |t: &str| {
                        let body = body.as_deref()?;
                        let start = body.find(&format!("<{t}>"))? + t.len() + 2;
                        let end = body[start..].find(&format!("</{t}>"))? + start;
                        Some(body[start..end].trim().to_owned())
                    };
                    (tag("Code"), tag("Message"))
                }
                (None, None) => (None, None),
            };
            let status = crate::error::status(sdk);
            let reason = match (&code, message, status) {
                (Some(c), Some(m), _) => format!("{c}: {m}"),
                (Some(c), None, _) => c.clone(),
                (None, _, Some(status)) => format!("HTTP {status}"),
                (None, _, None) => crate::error_chain(sdk),
            };
            // The one classifier's rules, with the code read from the body when the SDK
            // could not.
            let retryable = match sdk {
                SdkError::ServiceError(_) | SdkError::ResponseError(_) => {
                    crate::error::retryable_code(code.as_deref(), status)
                }
                _ => crate::error::is_retryable(sdk),
            };
            return (reason, retryable);
        }
        source = s.source();
    }
    let retryable = !matches!(e, CredentialsError::InvalidConfiguration(_));
    (crate::error_chain(e), retryable)
}

/// Hands out the credentials fetched at assumption time first, then asks the role provider,
/// so that assuming a role costs one AssumeRole call, not two.
#[derive(Debug)]
struct Prefetched {
    first: Mutex<Option<Credentials>>,
    then: AssumeRoleProvider,
}

impl ProvideCredentials for Prefetched {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        let first = self.first.lock().ok().and_then(|mut f| f.take());
        match first {
            Some(c) => future::ProvideCredentials::ready(Ok(c)),
            None => self.then.provide_credentials(),
        }
    }
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

/// STS's shortest session.
const MIN_SESSION: u64 = 900;
/// The longest session of a chained role (and the default maximum of any role).
const MAX_CHAINED_SESSION: u64 = 3600;

/// The roles configured for a command (the CLI maps its flags and `AIRTASK_*` variables to
/// these).
#[derive(Debug, Clone, Default)]
pub struct RoleSettings {
    /// The workflow's execution role, assumed from the base credentials.
    pub execution_role_arn: Option<String>,
    /// Its external id.
    pub external_id: Option<String>,
    /// Every session's length; by default an hour for the execution role and the try's
    /// execution_timeout (within STS's 900 to 3600 s for a chained role) for a task's role.
    pub session_duration: Option<Duration>,
}

/// One layer of identity: the configuration to build clients from, and, for an assumed role,
/// its first credentials (handed to child processes).
#[derive(Debug, Clone)]
pub struct Layer {
    /// The configuration.
    pub config: SdkConfig,
    /// The role, when this layer is one.
    pub role_arn: Option<String>,
    /// The first credentials of an assumed role; `None` for the base credentials, which
    /// child processes find in the environment themselves.
    pub credentials: Option<Credentials>,
}

impl Layer {
    /// The environment changes that make a child process run as this layer: the role's
    /// credentials, and no profile that could take precedence over them.
    pub fn process_env(&self) -> Vec<(String, Option<String>)> {
        let Some(c) = &self.credentials else {
            return Vec::new();
        };
        let mut env = vec![
            (
                "AWS_ACCESS_KEY_ID".to_owned(),
                Some(c.access_key_id().to_owned()),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                Some(c.secret_access_key().to_owned()),
            ),
            (
                "AWS_SESSION_TOKEN".to_owned(),
                c.session_token().map(str::to_owned),
            ),
        ];
        for name in [
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_ROLE_ARN",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        ] {
            env.push((name.to_owned(), None));
        }
        env
    }

    /// The secret parts of the credentials, to mask in the log.
    pub fn secrets(&self) -> Vec<String> {
        self.credentials
            .iter()
            .flat_map(|c| {
                [Some(c.secret_access_key()), c.session_token()]
                    .into_iter()
                    .flatten()
                    .map(str::to_owned)
            })
            .collect()
    }
}

/// The identities of one command: the base credentials (the SDK's default chain), the
/// workflow's execution role (assumed from them), and a task's own role (assumed from the
/// execution role, or from the base credentials when there is none). Each layer is taken on
/// when first needed, so a task that touches no AWS service never loads AWS configuration.
/// An assumption that fails is an error: nothing falls back to the credentials it was assumed
/// from.
pub struct Identity {
    roles: RoleSettings,
    base: OnceCell<SdkConfig>,
    execution: OnceCell<Layer>,
}

impl Identity {
    /// An identity with `roles`; nothing is loaded or assumed yet.
    pub fn new(roles: impl Into<RoleSettings>) -> Identity {
        Identity {
            roles: roles.into(),
            base: OnceCell::new(),
            execution: OnceCell::new(),
        }
    }

    /// Whether an execution role is configured.
    pub fn has_execution_role(&self) -> bool {
        self.roles.execution_role_arn.is_some()
    }

    /// The base credentials and region (the SDK's default chain), loaded once.
    pub async fn base(&self) -> &SdkConfig {
        self.base.get_or_init(crate::sdk_config).await
    }

    /// The identity that reads definitions and state and ships logs: the execution role,
    /// assumed once with `session_name`, or the base credentials when there is none.
    pub async fn execution(&self, session_name: &str) -> Result<&Layer, IdentityError> {
        self.execution
            .get_or_try_init(|| async {
                let base = self.base().await.clone();
                let Some(role) = &self.roles.execution_role_arn else {
                    return Ok(Layer {
                        config: base,
                        role_arn: None,
                        credentials: None,
                    });
                };
                let spec = RoleSpec {
                    role_arn: role.clone(),
                    session_name: session_name.to_owned(),
                    external_id: self.roles.external_id.clone(),
                    duration: self
                        .roles
                        .session_duration
                        .unwrap_or(Duration::from_secs(MAX_CHAINED_SESSION)),
                };
                let Assumed {
                    config,
                    credentials,
                } = assume(&base, &spec).await?;
                Ok(Layer {
                    config,
                    role_arn: Some(role.clone()),
                    credentials: Some(credentials),
                })
            })
            .await
    }

    /// The identity a task's operator runs as: its own role (assumed afresh from the
    /// execution layer, with `session_name`, for a session that covers `timeout`) when it
    /// names one, else the execution layer.
    pub async fn task(
        &self,
        role: Option<&str>,
        session_name: &str,
        timeout: Duration,
    ) -> Result<Layer, IdentityError> {
        let execution = self.execution(session_name).await?;
        let Some(role) = role else {
            return Ok(execution.clone());
        };
        let duration = self.roles.session_duration.unwrap_or_else(|| {
            Duration::from_secs(
                (timeout.as_secs_f64().ceil() as u64).clamp(MIN_SESSION, MAX_CHAINED_SESSION),
            )
        });
        let spec = RoleSpec {
            role_arn: role.to_owned(),
            session_name: session_name.to_owned(),
            external_id: None,
            duration,
        };
        let Assumed {
            config,
            credentials,
        } = assume(&execution.config, &spec).await?;
        Ok(Layer {
            config,
            role_arn: Some(role.to_owned()),
            credentials: Some(credentials),
        })
    }
}

/// The AWS identity the runtime gives an operator for one try, in
/// [`airtask_core::TaskContext::aws`]: the task's role when it names one, else the execution
/// role, else the base credentials.
#[derive(Debug, Clone)]
pub struct TaskIdentity {
    /// The configuration the operator builds its clients from.
    pub config: SdkConfig,
}

/// The AWS configuration of the task's identity, for an operator's clients.
///
/// # Errors
/// A fatal [`TaskError`] when the runtime gave the operator no identity (an operator
/// whose spec lacks `calls_aws: true`): a programming error, reported rather than falling back
/// to other credentials.
pub fn task_config(ctx: &TaskContext) -> Result<&SdkConfig, TaskError> {
    ctx.aws()
        .and_then(|a| a.downcast_ref::<TaskIdentity>())
        .map(|t| &t.config)
        .ok_or_else(|| {
            TaskError::fatal(
                "this operator was given no AWS identity (its spec lacks `calls_aws: true`); \
                 refusing to fall back to other credentials",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CredentialsError as AssumeRoleProvider makes it from STS's answer.
    fn sts_error(status: u16, code: &str, body: &str) -> CredentialsError {
        use aws_sdk_sts::config::http::HttpResponse;
        use aws_sdk_sts::operation::assume_role::AssumeRoleError;
        use aws_smithy_runtime_api::http::StatusCode;
        let meta = aws_smithy_types::error::ErrorMetadata::builder();
        let meta = if code.is_empty() {
            meta
        } else {
            meta.code(code).message("refused")
        };
        let raw = HttpResponse::new(
            StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(body),
        );
        let e = aws_sdk_sts::error::SdkError::service_error(
            AssumeRoleError::generic(meta.build()),
            raw,
        );
        CredentialsError::provider_error(e)
    }

    #[test]
    fn refusals_are_final_and_throttling_or_outages_are_not() {
        assert_eq!(
            failure(&sts_error(403, "AccessDenied", "")),
            ("AccessDenied: refused".to_owned(), false)
        );
        assert!(!failure(&sts_error(400, "ValidationError", "")).1);
        assert!(failure(&sts_error(400, "Throttling", "")).1);
        assert!(failure(&sts_error(503, "ServiceUnavailable", "")).1);
        // An answer the SDK could not parse: its XML code, else the status.
        assert_eq!(
            failure(&sts_error(
                403,
                "",
                "<Error><Code>AccessDenied</Code><Message>no</Message></Error>"
            )),
            ("AccessDenied: no".to_owned(), false)
        );
        assert_eq!(
            failure(&sts_error(502, "", "")),
            ("HTTP 502".to_owned(), true)
        );
        // No answer at all.
        assert!(
            failure(&CredentialsError::provider_timed_out(Duration::from_secs(
                5
            )))
            .1
        );
        assert!(!failure(&CredentialsError::invalid_configuration("bad")).1);
    }

    #[test]
    fn a_role_layer_hands_its_credentials_to_child_processes_and_masks_them() {
        let layer = Layer {
            config: SdkConfig::builder().build(),
            role_arn: Some("arn:aws:iam::123456789012:role/r".into()),
            credentials: Some(Credentials::new(
                "AKID",
                "SECRET",
                Some("TOKEN".into()),
                None,
                "t",
            )),
        };
        let env = layer.process_env();
        assert!(env.contains(&("AWS_SECRET_ACCESS_KEY".into(), Some("SECRET".into()))));
        assert!(env.contains(&("AWS_SESSION_TOKEN".into(), Some("TOKEN".into()))));
        // No profile or container credentials may take precedence over the role's.
        assert!(env.contains(&("AWS_PROFILE".into(), None)));
        assert!(env.contains(&("AWS_CONTAINER_CREDENTIALS_FULL_URI".into(), None)));
        assert_eq!(layer.secrets(), ["SECRET", "TOKEN"]);
        let base = Layer {
            credentials: None,
            role_arn: None,
            ..layer
        };
        assert!(base.process_env().is_empty() && base.secrets().is_empty());
    }

    #[tokio::test]
    async fn without_an_execution_role_the_execution_layer_is_the_base() {
        let identity = Identity::new(RoleSettings::default());
        assert!(!identity.has_execution_role());
        let layer = identity.execution("airtask.wf.t.try1").await.unwrap();
        assert!(layer.role_arn.is_none() && layer.credentials.is_none());
    }

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
