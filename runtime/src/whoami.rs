//! `airtask whoami`: the caller identity of each layer a task would run with (base credentials,
//! the execution role, the task's own role), so a user can debug IAM before running anything.

use std::time::Duration;

use airtask_aws::identity::{RoleSpec, assume, caller_arn, session_name};
use serde_json::json;

use crate::cli::{Format, WhoamiArgs};
use crate::commands::usage;
use crate::definition::{find_task, load_valid};

/// STS's shortest session, and the longest a chained session may be.
const MIN_SESSION: u64 = 900;
const MAX_CHAINED_SESSION: u64 = 3600;

/// `airtask whoami`.
pub(crate) fn whoami(args: &WhoamiArgs) -> u8 {
    let (_, wf) = match load_valid(&args.file, args.source.version_id.as_deref(), 2) {
        Ok(x) => x,
        Err(code) => return code,
    };
    let task = match find_task(&wf, &args.task_id) {
        Ok(t) => t,
        Err(e) => return usage(&e),
    };
    let execution_role = args.execution_role_arn.clone().or_else(|| {
        std::env::var("AIRTASK_EXECUTION_ROLE_ARN")
            .ok()
            .filter(|s| !s.is_empty())
    });
    let session = session_name(&wf.workflow_id, &task.task_id, args.try_number);
    let secs = (task.execution_timeout.as_secs_f64().ceil() as u64)
        .clamp(MIN_SESSION, MAX_CHAINED_SESSION);
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return usage(&format!("cannot start the async runtime: {e}")),
    };
    let result = rt.block_on(async {
        let base = airtask_aws::sdk_config().await;
        let mut layers = vec![("base", caller_arn(&base, "base credentials").await?)];
        let mut current = base;
        if let Some(role) = &execution_role {
            let spec = RoleSpec {
                role_arn: role.clone(),
                session_name: session.clone(),
                external_id: args.external_id.clone(),
                duration: Duration::from_secs(secs),
            };
            current = assume(&current, &spec).await?;
            layers.push((
                "execution role",
                caller_arn(&current, "execution role").await?,
            ));
        }
        if let Some(role) = &task.role_arn {
            let spec = RoleSpec {
                role_arn: role.clone(),
                session_name: session.clone(),
                external_id: None,
                duration: Duration::from_secs(secs),
            };
            let task_config = assume(&current, &spec).await?;
            layers.push(("task role", caller_arn(&task_config, "task role").await?));
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
            0
        }
        Err(e) => {
            eprintln!("error: task '{}': {e}", task.task_id);
            1
        }
    }
}
