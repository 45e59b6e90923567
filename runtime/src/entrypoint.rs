//! The container entrypoint: `airtask` with no subcommand runs one task instance whose inputs
//! come from `AIRTASK_*` environment variables (see the README's table).

use crate::cli::{Format, InstanceArgs, LogArgs, RoleArgs, RunTaskArgs, SourceArgs};

/// The variables, for error messages and the README.
pub(crate) const VARIABLES: &[(&str, bool, &str)] = &[
    (
        "AIRTASK_WORKFLOW",
        true,
        "the definition: a path or s3://bucket/key[?versionId=...]",
    ),
    ("AIRTASK_TASK_ID", true, "the task to run"),
    (
        "AIRTASK_WORKFLOW_VERSION",
        false,
        "the S3 version id of the definition",
    ),
    (
        "AIRTASK_WORKFLOW_ID",
        false,
        "the workflow id the service assigns (names logs, state and sessions; default the DAG id)",
    ),
    (
        "AIRTASK_RUN_ID",
        false,
        "the run id (default manual__<logical date>)",
    ),
    (
        "AIRTASK_LOGICAL_DATE",
        false,
        "the logical date, ISO 8601 (default now)",
    ),
    (
        "AIRTASK_MAP_INDEX",
        false,
        "the map index of a mapped task instance (default -1)",
    ),
    (
        "AIRTASK_TRY",
        false,
        "run exactly this try (default: all tries)",
    ),
    ("AIRTASK_PARAMS", false, "run parameters, a JSON object"),
    (
        "AIRTASK_STATE_DIR",
        false,
        "the state directory for XComs and records (default .airtask)",
    ),
    (
        "AIRTASK_OUTPUT",
        false,
        "text (default) or json: print the task record at the end",
    ),
    (
        "AIRTASK_STORE",
        false,
        "a state store URL, s3://bucket/prefix, instead of the state directory",
    ),
    (
        "AIRTASK_EXECUTION_ROLE_ARN",
        false,
        "the workflow's execution role, assumed from the base credentials",
    ),
    (
        "AIRTASK_EXTERNAL_ID",
        false,
        "the external id the execution role's trust policy requires",
    ),
    (
        "AIRTASK_LOG_GROUP",
        false,
        "the CloudWatch log group (default /aws/mwaa-serverless/<workflow_id>/)",
    ),
    (
        "AIRTASK_CLOUDWATCH",
        false,
        "on (default) or off: ship the task log to CloudWatch",
    ),
    (
        "AIRTASK_LOG_FLUSH_TIMEOUT",
        false,
        "seconds to go on delivering an attempt's log at its end (default 20)",
    ),
    (
        "AIRTASK_SESSION_DURATION",
        false,
        "seconds per role session (default 3600, a task role: its execution_timeout within 900..3600)",
    ),
];

/// Reads the run-task arguments from the environment.
pub(crate) fn args_from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<RunTaskArgs, String> {
    let missing: Vec<&str> = VARIABLES
        .iter()
        .filter(|(name, required, _)| *required && get(name).is_none_or(|v| v.is_empty()))
        .map(|(name, _, _)| *name)
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "airtask was started without a subcommand, so it runs as a container entrypoint and \
             takes its inputs from the environment, but {} {} not set. Set {}, or run `airtask \
             --help` for the subcommands.",
            missing.join(" and "),
            if missing.len() == 1 { "is" } else { "are" },
            VARIABLES
                .iter()
                .filter(|(_, r, _)| *r)
                .map(|(n, _, what)| format!("{n} ({what})"))
                .collect::<Vec<_>>()
                .join(" and ")
        ));
    }
    // Each variable is checked as its flag is: a bad value names the variable.
    let checked =
        |name: &str, parse: fn(&str) -> Result<String, String>| -> Result<Option<String>, String> {
            get(name)
                .map(|v| parse(&v).map_err(|e| format!("{name}: {e}")))
                .transpose()
        };
    let try_number = get("AIRTASK_TRY")
        .map(|v| crate::ids::try_number(&v).map_err(|e| format!("AIRTASK_TRY: {e}")))
        .transpose()?;
    let map_index = get("AIRTASK_MAP_INDEX")
        .map(|v| crate::ids::map_index(&v).map_err(|e| format!("AIRTASK_MAP_INDEX: {e}")))
        .transpose()?
        .unwrap_or(-1);
    let run_id = checked("AIRTASK_RUN_ID", crate::ids::run_id)?;
    let task_id = checked("AIRTASK_TASK_ID", crate::ids::task_id)?.unwrap_or_default();
    let cloudwatch_off = match get("AIRTASK_CLOUDWATCH").as_deref() {
        None | Some("" | "on") => false,
        Some("off") => true,
        Some(other) => {
            return Err(format!(
                "AIRTASK_CLOUDWATCH must be on or off, not '{other}'"
            ));
        }
    };
    let log_flush_timeout = get("AIRTASK_LOG_FLUSH_TIMEOUT")
        .map(|v| {
            crate::ids::flush_timeout(&v).map_err(|e| format!("AIRTASK_LOG_FLUSH_TIMEOUT: {e}"))
        })
        .transpose()?
        .unwrap_or(20.0);
    let output = match get("AIRTASK_OUTPUT").as_deref() {
        None | Some("" | "text") => Format::Text,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(format!(
                "AIRTASK_OUTPUT must be text or json, not '{other}'"
            ));
        }
    };
    Ok(RunTaskArgs {
        instance: InstanceArgs {
            file: get("AIRTASK_WORKFLOW").unwrap_or_default(),
            task_id,
            logical_date: get("AIRTASK_LOGICAL_DATE"),
            run_id,
            workflow_id: checked("AIRTASK_WORKFLOW_ID", crate::ids::workflow_id)?,
            map_index,
            params: get("AIRTASK_PARAMS"),
            state_dir: get("AIRTASK_STATE_DIR")
                .unwrap_or_else(|| ".airtask".into())
                .into(),
            store: get("AIRTASK_STORE").filter(|s| !s.is_empty()),
            source: SourceArgs {
                version_id: get("AIRTASK_WORKFLOW_VERSION"),
            },
        },
        try_number,
        output,
        // Roles::resolve reads AIRTASK_EXECUTION_ROLE_ARN, AIRTASK_EXTERNAL_ID and
        // AIRTASK_SESSION_DURATION.
        roles: RoleArgs::default(),
        logs: LogArgs {
            log_group: get("AIRTASK_LOG_GROUP").filter(|g| !g.is_empty()),
            no_cloudwatch: cloudwatch_off,
            log_flush_timeout,
        },
        supervisor_pid: None,
        cloudwatch_by_default: true,
    })
}
