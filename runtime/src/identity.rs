//! The roles of one command, from its flags and `AIRTASK_*` variables. The role chain itself
//! (base credentials, execution role, task role) is `airtask_aws::identity::Identity`.

use std::time::Duration;

use airtask_aws::identity::RoleSettings;
pub(crate) use airtask_aws::identity::{Identity, Layer};

use crate::cli::RoleArgs;

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
                    v.trim().parse::<u64>().map_err(|_| {
                        format!("AIRTASK_SESSION_DURATION must be a number of seconds, not '{v}'")
                    })
                })
                .transpose()?,
        };
        if duration == Some(0) {
            return Err(
                "the session duration must be at least 1 second (STS accepts 900 to \
                        43200; a chained role at most 3600)"
                    .to_owned(),
            );
        }
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

impl From<Roles> for RoleSettings {
    fn from(r: Roles) -> RoleSettings {
        RoleSettings {
            execution_role_arn: r.execution_role_arn,
            external_id: r.external_id,
            session_duration: r.session_duration,
        }
    }
}
