//! `airtask whoami`: the caller identity of each layer a task would run with (base credentials,
//! the execution role, the task's own role), so a user can debug IAM before running anything.

use std::time::Duration;

use airtask_aws::identity::{caller_arn, session_name};
use serde_json::json;

use crate::cli::{Format, WhoamiArgs};
use crate::definition::{find_task, load_valid};
use crate::exit::{CliError, EXIT_USAGE, usage};
use crate::identity::{Identity, Roles};

/// `airtask whoami`.
pub(crate) fn whoami(args: &WhoamiArgs) -> Result<u8, CliError> {
    let (_, wf) = load_valid(&args.file, args.source.version_id.as_deref(), EXIT_USAGE)?;
    let task = find_task(&wf, &args.task_id).map_err(|e| usage(&e))?;
    let roles = Roles::resolve(&args.roles).map_err(|e| usage(&e))?;
    let identity = Identity::new(roles);
    let session = session_name(&wf.workflow_id, &task.task_id, args.try_number);
    let timeout = Duration::from_secs_f64(task.execution_timeout.as_secs_f64());
    let rt = crate::exit::async_runtime().map_err(|e| usage(&e))?;
    let result = rt.block_on(async {
        let mut layers = vec![(
            "base",
            caller_arn(identity.base().await, "base credentials").await?,
        )];
        let execution = identity.execution(&session).await?;
        if identity.has_execution_role() {
            layers.push((
                "execution role",
                caller_arn(&execution.config, "execution role").await?,
            ));
        }
        if task.role_arn.is_some() {
            let layer = identity
                .task(task.role_arn.as_deref(), &session, timeout)
                .await?;
            layers.push(("task role", caller_arn(&layer.config, "task role").await?));
        }
        Ok::<_, airtask_aws::identity::IdentityError>(layers)
    });
    match result {
        Ok(layers) => {
            match args.format {
                Format::Text => {
                    for (layer, arn) in &layers {
                        outln!("{:<15} {arn}", format!("{layer}:"));
                    }
                }
                Format::Json => {
                    let v: serde_json::Map<String, serde_json::Value> = layers
                        .iter()
                        .map(|(l, a)| (l.replace(' ', "_"), json!(a)))
                        .collect();
                    outln!("{}", serde_json::Value::Object(v));
                }
            }
            Ok(0)
        }
        Err(e) => Err(CliError::Role {
            message: format!("task '{}': {e}", task.task_id),
            // A layer that cannot be resolved: exit 1 (README).
            code: 1,
        }),
    }
}
