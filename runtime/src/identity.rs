//! The identities of one command: the base credentials (the SDK's default chain), the
//! workflow's execution role (assumed from them), and a task's own role (assumed from the
//! execution role, or from the base credentials when there is none). Each layer is taken on
//! when first needed, so a task that touches no AWS service never loads AWS configuration.
//! An assumption that fails is an error: nothing falls back to the credentials it was assumed
//! from.

use std::time::Duration;

use airtask_aws::identity::{Assumed, IdentityError, RoleSpec, assume};
use airtask_aws::{Credentials, SdkConfig};
use tokio::sync::OnceCell;

use crate::cli::RoleArgs;

/// STS's shortest session.
const MIN_SESSION: u64 = 900;
/// The longest session of a chained role (and the default maximum of any role).
const MAX_CHAINED_SESSION: u64 = 3600;

/// The roles configured for a command: flags first, then `AIRTASK_*` variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct Roles {
    /// The execution role (`--execution-role-arn` / `AIRTASK_EXECUTION_ROLE_ARN`).
    pub(crate) execution_role_arn: Option<String>,
    /// Its external id (`--external-id` / `AIRTASK_EXTERNAL_ID`).
    pub(crate) external_id: Option<String>,
    /// Every session's length (`--session-duration` / `AIRTASK_SESSION_DURATION`).
    pub(crate) session_duration: Option<Duration>,
}

impl Roles {
    /// The roles from the command line, with the environment as the fallback.
    pub(crate) fn resolve(args: &RoleArgs) -> Result<Roles, String> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let duration = match args.session_duration {
            Some(s) => Some(s),
            None => env("AIRTASK_SESSION_DURATION")
                .map(|v| {
                    crate::ids::session_duration(&v)
                        .map_err(|e| format!("AIRTASK_SESSION_DURATION: {e}"))
                })
                .transpose()?,
        };
        let execution_role_arn = args
            .execution_role_arn
            .clone()
            .or_else(|| env("AIRTASK_EXECUTION_ROLE_ARN"));
        if let Some(arn) = &execution_role_arn {
            airtask_workflow::check_role_arn(arn).map_err(|e| {
                format!(
                    "the execution role (--execution-role-arn / AIRTASK_EXECUTION_ROLE_ARN): {e}"
                )
            })?;
        }
        Ok(Roles {
            execution_role_arn,
            external_id: args
                .external_id
                .clone()
                .or_else(|| env("AIRTASK_EXTERNAL_ID")),
            session_duration: duration.map(Duration::from_secs),
        })
    }
}

/// One layer of identity: the configuration to build clients from, and, for an assumed role,
/// its first credentials (handed to child processes).
#[derive(Debug, Clone)]
pub(crate) struct Layer {
    /// The configuration.
    pub(crate) config: SdkConfig,
    /// The role, when this layer is one.
    pub(crate) role_arn: Option<String>,
    /// The first credentials of an assumed role; `None` for the base credentials, which
    /// child processes find in the environment themselves.
    pub(crate) credentials: Option<Credentials>,
}

impl Layer {
    /// The environment changes that make a child process run as this layer: the role's
    /// credentials, and no profile that could take precedence over them.
    pub(crate) fn process_env(&self) -> Vec<(String, Option<String>)> {
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
    pub(crate) fn secrets(&self) -> Vec<String> {
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

/// The identities of one command.
pub(crate) struct Identity {
    roles: Roles,
    base: OnceCell<SdkConfig>,
    execution: OnceCell<Layer>,
}

impl Identity {
    /// An identity with `roles`; nothing is loaded or assumed yet.
    pub(crate) fn new(roles: Roles) -> Identity {
        Identity {
            roles,
            base: OnceCell::new(),
            execution: OnceCell::new(),
        }
    }

    /// Whether an execution role is configured.
    pub(crate) fn has_execution_role(&self) -> bool {
        self.roles.execution_role_arn.is_some()
    }

    /// The base credentials and region (the SDK's default chain), loaded once.
    pub(crate) async fn base(&self) -> &SdkConfig {
        self.base.get_or_init(airtask_aws::sdk_config).await
    }

    /// The identity that reads definitions and state and ships logs: the execution role,
    /// assumed once with `session_name`, or the base credentials when there is none.
    pub(crate) async fn execution(&self, session_name: &str) -> Result<&Layer, IdentityError> {
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
    pub(crate) async fn task(
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
