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

/// The entrypoint's inputs, each read by clap from its `AIRTASK_*` variable (there are no
/// flags: the container command is `airtask` alone). Each value is checked by the same parser
/// as the `run-task` flag it stands for; an empty variable counts as unset.
#[derive(Debug, clap::Parser)]
#[command(name = "airtask", no_binary_name = true)]
struct FromEnv {
    #[arg(long, env = "AIRTASK_WORKFLOW", value_name = "AIRTASK_WORKFLOW",
          value_parser = crate::ids::definition())]
    workflow: Option<String>,
    #[arg(long, env = "AIRTASK_TASK_ID", value_name = "AIRTASK_TASK_ID",
          value_parser = crate::ids::task_id)]
    task_id: Option<String>,
    #[arg(
        long,
        env = "AIRTASK_WORKFLOW_VERSION",
        value_name = "AIRTASK_WORKFLOW_VERSION"
    )]
    workflow_version: Option<String>,
    #[arg(long, env = "AIRTASK_WORKFLOW_ID", value_name = "AIRTASK_WORKFLOW_ID",
          value_parser = crate::ids::workflow_id)]
    workflow_id: Option<String>,
    #[arg(long, env = "AIRTASK_RUN_ID", value_name = "AIRTASK_RUN_ID",
          value_parser = crate::ids::run_id)]
    run_id: Option<String>,
    #[arg(
        long,
        env = "AIRTASK_LOGICAL_DATE",
        value_name = "AIRTASK_LOGICAL_DATE"
    )]
    logical_date: Option<String>,
    #[arg(long, env = "AIRTASK_MAP_INDEX", value_name = "AIRTASK_MAP_INDEX",
          allow_negative_numbers = true, value_parser = crate::ids::map_index)]
    map_index: Option<i64>,
    #[arg(long = "try", env = "AIRTASK_TRY", value_name = "AIRTASK_TRY",
          value_parser = crate::ids::try_number)]
    try_number: Option<u32>,
    #[arg(long, env = "AIRTASK_PARAMS", value_name = "AIRTASK_PARAMS")]
    params: Option<String>,
    #[arg(long, env = "AIRTASK_STATE_DIR", value_name = "AIRTASK_STATE_DIR")]
    state_dir: Option<std::path::PathBuf>,
    #[arg(long, env = "AIRTASK_OUTPUT", value_name = "AIRTASK_OUTPUT", value_parser = output)]
    output: Option<Format>,
    #[arg(long, env = "AIRTASK_STORE", value_name = "AIRTASK_STORE")]
    store: Option<String>,
    #[arg(long, env = "AIRTASK_LOG_GROUP", value_name = "AIRTASK_LOG_GROUP")]
    log_group: Option<String>,
    #[arg(long, env = "AIRTASK_CLOUDWATCH", value_name = "AIRTASK_CLOUDWATCH",
          value_parser = on_off)]
    cloudwatch: Option<bool>,
    #[arg(long, env = "AIRTASK_LOG_FLUSH_TIMEOUT", value_name = "AIRTASK_LOG_FLUSH_TIMEOUT",
          value_parser = crate::ids::flush_timeout)]
    log_flush_timeout: Option<f64>,
}

fn output(s: &str) -> Result<Format, String> {
    match s {
        "text" => Ok(Format::Text),
        "json" => Ok(Format::Json),
        other => Err(format!("must be text or json, not '{other}'")),
    }
}

fn on_off(s: &str) -> Result<bool, String> {
    match s {
        "on" => Ok(true),
        "off" => Ok(false),
        other => Err(format!("must be on or off, not '{other}'")),
    }
}

/// A clap error about a variable's value, as one line that names the variable
/// (`AIRTASK_TRY: tries are counted from 1`).
fn variable_error(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    let var = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => arg
            .split_once('<')
            .and_then(|(_, rest)| rest.split_once('>'))
            .map(|(name, _)| name.to_owned()),
        _ => None,
    };
    let reason = std::error::Error::source(e)
        .map(ToString::to_string)
        .unwrap_or_else(|| e.kind().to_string());
    match var {
        Some(var) => format!("{var}: {reason}"),
        None => reason,
    }
}

/// Reads the run-task arguments from the environment (clap's `env`).
pub(crate) fn args_from_env() -> Result<RunTaskArgs, String> {
    use clap::Parser as _;
    let v =
        FromEnv::try_parse_from(std::iter::empty::<String>()).map_err(|e| variable_error(&e))?;
    let missing: Vec<&str> = [
        ("AIRTASK_WORKFLOW", v.workflow.is_none()),
        ("AIRTASK_TASK_ID", v.task_id.is_none()),
    ]
    .iter()
    .filter(|(_, missing)| *missing)
    .map(|(name, _)| *name)
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
    Ok(RunTaskArgs {
        instance: InstanceArgs {
            file: v.workflow.unwrap_or_default(),
            task_id: v.task_id.unwrap_or_default(),
            logical_date: v.logical_date,
            run_id: v.run_id,
            workflow_id: v.workflow_id,
            map_index: v.map_index.unwrap_or(-1),
            params: v.params,
            state_dir: v.state_dir.unwrap_or_else(|| ".airtask".into()),
            store: v.store,
            source: SourceArgs {
                version_id: v.workflow_version,
            },
        },
        try_number: v.try_number,
        output: v.output.unwrap_or(Format::Text),
        // Roles::resolve reads AIRTASK_EXECUTION_ROLE_ARN, AIRTASK_EXTERNAL_ID and
        // AIRTASK_SESSION_DURATION (for every command).
        roles: RoleArgs::default(),
        logs: LogArgs {
            log_group: v.log_group,
            no_cloudwatch: v.cloudwatch == Some(false),
            log_flush_timeout: v.log_flush_timeout.unwrap_or(20.0),
        },
        supervisor_pid: None,
        cloudwatch_by_default: true,
    })
}
