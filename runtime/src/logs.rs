//! `airtask logs`: reads a task attempt's stream back from CloudWatch Logs, from the head,
//! page by page; `--follow` polls until the task record says the attempt ended, then reads
//! once more.

use std::time::Duration;

use airtask_aws::identity::run_session_name;
use airtask_aws::logs::{ReadError, log_group, log_stream, read_stream};

use crate::cli::{Format, LogsArgs};
use crate::exit::{CliError, usage};
use crate::identity::{Identity, Roles};
use crate::state::State;

/// How often `--follow` polls.
const POLL: Duration = Duration::from_secs(1);

/// `airtask logs`.
pub(crate) fn logs(args: &LogsArgs) -> Result<u8, CliError> {
    let roles = match Roles::resolve(&args.roles) {
        Ok(r) => r,
        Err(e) => return Err(usage(&e)),
    };
    let rt = match crate::exit::async_runtime() {
        Ok(rt) => rt,
        Err(e) => return Err(usage(&e)),
    };
    rt.block_on(read(args, Identity::new(roles)))
}

/// The task record, when the state has one: (try, status).
async fn record(args: &LogsArgs, state: &State) -> Option<(u32, String)> {
    let path = state
        .local()
        .task_dir(
            &args.workflow_id,
            &args.run_id,
            &args.task_id,
            args.map_index,
        )
        .join("record.json");
    state.pull_file(&path).await.ok()?;
    let text = std::fs::read_to_string(&path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    Some((
        u32::try_from(v["try"].as_u64()?).ok()?,
        v["status"].as_str()?.to_owned(),
    ))
}

async fn read(args: &LogsArgs, identity: Identity) -> Result<u8, CliError> {
    let session = run_session_name(&args.workflow_id);
    let config = match identity.execution(&session).await {
        Ok(l) => l.config.clone(),
        Err(e) => {
            return Err(CliError::Failed {
                message: e.to_string(),
                code: 1,
            });
        }
    };
    let state = match State::open(&args.state_dir, args.store.as_deref(), &identity, &session).await
    {
        Ok(s) => s,
        Err(e) => {
            return Err(CliError::Failed {
                message: e.to_string(),
                code: 1,
            });
        }
    };
    let try_number = match args.try_number {
        Some(n) => n,
        None => record(args, &state).await.map_or(1, |(t, _)| t),
    };
    let group = log_group(&args.workflow_id, args.log_group.as_deref());
    let stream = log_stream(
        &args.workflow_id,
        &args.run_id,
        &args.task_id,
        args.map_index,
        try_number,
    );
    let mut token: Option<String> = None;
    loop {
        // Whether the attempt had ended before this read: then this read is the last.
        let ended = !args.follow
            || record(args, &state)
                .await
                .is_some_and(|(t, status)| attempt_ended(t, &status, try_number));
        match read_stream(&config, &group, &stream, token.clone()).await {
            Ok(page) => {
                for (ts, message) in &page.events {
                    print_line(args.format, *ts, message);
                }
                token = page.next_token;
            }
            Err(ReadError::NotFound(_)) if !ended => {}
            Err(e) => {
                return Err(CliError::Failed {
                    message: format!(
                        "cannot read the log of task '{}' try {try_number} (group {group}, \
                         stream {stream}): {e}",
                        args.task_id
                    ),
                    code: 1,
                });
            }
        }
        if ended {
            return Ok(0);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the record shows attempt `wanted` over: a later try started, this one ended, or
/// the task instance is final (no such attempt is coming).
fn attempt_ended(record_try: u32, status: &str, wanted: u32) -> bool {
    match status {
        "RUNNING" => record_try > wanted,
        "UP_FOR_RETRY" => record_try >= wanted,
        _ => true,
    }
}

fn print_line(format: Format, ts: i64, message: &str) {
    if format == Format::Json {
        outln!("{message}");
        return;
    }
    let parsed: Option<serde_json::Value> = serde_json::from_str(message).ok();
    match parsed.as_ref().and_then(|v| {
        Some((
            v["timestamp"].as_str()?,
            v["level"].as_str()?,
            v["event"].as_str()?,
        ))
    }) {
        Some((t, level, event)) => {
            let t = t.get(..23).map_or(t.to_owned(), |s| format!("{s}Z"));
            outln!("[{t}] {:<7} - {event}", level.to_uppercase());
        }
        None => {
            let t = jiff::Timestamp::from_millisecond(ts)
                .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
                .unwrap_or_default();
            outln!("[{t}] {message}");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_attempt_ends_with_a_final_status_or_a_later_try() {
        assert!(!super::attempt_ended(1, "RUNNING", 1));
        assert!(super::attempt_ended(1, "UP_FOR_RETRY", 1));
        assert!(super::attempt_ended(2, "RUNNING", 1));
        assert!(!super::attempt_ended(1, "UP_FOR_RETRY", 2));
        assert!(super::attempt_ended(1, "SUCCESS", 2));
    }
}
