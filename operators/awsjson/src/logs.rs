//! The provider's `AwsTaskLogFetcher` (used by EcsRunTaskOperator and BatchOperator): while a
//! task or job runs, every `fetch_interval` the new events of its CloudWatch log stream are
//! written to the task log as `[YYYY-MM-DD HH:MM:SS,mmm] message`, at the level the message
//! starts with (`ERROR:`, `[WARNING]`, a JSON `levelname`...), and once more when it ended; the
//! last messages of the stream make the XCom value and the failure message.

use std::future::Future;
use std::time::Duration;

use airtask_core::{Level, TaskContext, TaskError};
use aws_sdk_cloudwatchlogs::Client;

/// A CloudWatch Logs client for the task's identity, in `region` (else the environment's).
///
/// # Errors
/// As `airtask_aws::client_in`.
pub fn client(ctx: &TaskContext, region: Option<&str>) -> Result<Client, TaskError> {
    airtask_aws::client_in(ctx, region, airtask_aws::sdk!(aws_sdk_cloudwatchlogs))
}

/// How many empty answers in a row end one read (the hook's
/// `NUM_CONSECUTIVE_EMPTY_RESPONSE_EXIT_THRESHOLD`).
const EMPTY_ANSWERS: u32 = 3;

/// One log stream being followed.
#[derive(Debug)]
pub struct TaskLogFetcher {
    client: Client,
    /// The log group.
    pub group: String,
    /// The log stream.
    pub stream: String,
    token: Option<String>,
}

impl TaskLogFetcher {
    /// Follows `group`/`stream` from its start.
    pub fn new(client: Client, group: impl Into<String>, stream: impl Into<String>) -> Self {
        TaskLogFetcher {
            client,
            group: group.into(),
            stream: stream.into(),
            token: None,
        }
    }

    /// Writes the events that arrived since the previous call to the task log (the operator's
    /// logger). A stream that does not exist yet is said so and read again next time; other
    /// errors are warnings (the fetcher never fails the task).
    pub async fn fetch(&mut self, ctx: &TaskContext) {
        let mut empty = 0;
        loop {
            let answer = self
                .client
                .get_log_events()
                .log_group_name(&self.group)
                .log_stream_name(&self.stream)
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await;
            let page = match answer {
                Ok(page) => page,
                Err(e) if airtask_aws::error::code(&e) == Some("ResourceNotFoundException") => {
                    ctx.info(&format!(
                        "Cannot find log stream yet, it can take a couple of seconds to show up. \
                         If this error persists, check that the log group and stream are \
                         correct: group: {}\tstream: {}",
                        self.group, self.stream
                    ));
                    return;
                }
                Err(e) => {
                    ctx.warning(&format!(
                        "Error on retrieving Cloudwatch log events: {}",
                        airtask_aws::error::text(&e)
                    ));
                    return;
                }
            };
            for event in page.events() {
                let message = event.message().unwrap_or_default();
                ctx.line(
                    level_of(message),
                    ctx.logger(),
                    &event_line(event.timestamp().unwrap_or_default(), message),
                );
            }
            let next = page.next_forward_token().map(str::to_owned);
            if next.is_none() || next == self.token {
                return;
            }
            if page.events().is_empty() {
                empty += 1;
                if empty >= EMPTY_ANSWERS {
                    return;
                }
            } else {
                empty = 0;
            }
            self.token = next;
        }
    }

    /// Runs `wait` and fetches every `interval` until it ends, then once more (the fetcher
    /// thread of the provider, started before the wait and stopped after it).
    pub async fn follow<T>(
        &mut self,
        ctx: &TaskContext,
        interval: Duration,
        wait: impl Future<Output = T>,
    ) -> T {
        let wait = std::pin::pin!(wait);
        let mut wait = wait;
        loop {
            tokio::select! {
                r = &mut wait => {
                    self.fetch(ctx).await;
                    return r;
                }
                () = tokio::time::sleep(interval) => self.fetch(ctx).await,
            }
        }
    }

    /// The last `n` messages of the stream, oldest first (`get_last_log_messages`).
    ///
    /// # Errors
    /// A CloudWatch Logs error (a stream that does not exist, access denied).
    pub async fn last_messages(&self, n: i32) -> Result<Vec<String>, TaskError> {
        let page = self
            .client
            .get_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .start_from_head(false)
            .limit(n.max(1))
            .send()
            .await
            .map_err(|e| {
                airtask_aws::error::task_error(
                    &format!("GetLogEvents of {} {}", self.group, self.stream),
                    &e,
                )
            })?;
        Ok(page
            .events()
            .iter()
            .map(|e| e.message().unwrap_or_default().to_owned())
            .collect())
    }
}

/// `[YYYY-MM-DD HH:MM:SS,mmm] message` (the fetcher's `event_to_str`, in UTC).
pub fn event_line(timestamp_ms: i64, message: &str) -> String {
    let when = jiff::Timestamp::from_millisecond(timestamp_ms)
        .map(|t| {
            format!(
                "{},{:03}",
                t.strftime("%Y-%m-%d %H:%M:%S"),
                timestamp_ms.rem_euclid(1000)
            )
        })
        .unwrap_or_else(|_| timestamp_ms.to_string());
    format!("[{when}] {message}")
}

/// The level a message starts with (the fetcher's `_parse_log_level`): a JSON object's
/// `levelname` or `level`, else a leading `DEBUG`, `INFO`, `WARNING`/`WARN`, `ERROR`,
/// `CRITICAL` or `FATAL` (any case, optionally in brackets); info otherwise. airtask's task log
/// has no debug or critical level: debug lines are info, critical and fatal ones error.
pub fn level_of(message: &str) -> Level {
    let trimmed = message.trim();
    if trimmed.starts_with('{')
        && let Ok(serde_json::Value::Object(m)) = serde_json::from_str(trimmed)
    {
        let given = m
            .get("levelname")
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .or_else(|| m.get("level").and_then(|v| v.as_str()));
        if let Some(level) = given.and_then(named_level) {
            return level;
        }
    }
    let rest = message.trim_start();
    let rest = rest.strip_prefix('[').unwrap_or(rest);
    for word in [
        "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL",
    ] {
        if rest
            .get(..word.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(word))
        {
            return named_level(word).unwrap_or(Level::Info);
        }
    }
    Level::Info
}

fn named_level(name: &str) -> Option<Level> {
    match name.to_ascii_uppercase().as_str() {
        "DEBUG" | "INFO" => Some(Level::Info),
        "WARNING" | "WARN" => Some(Level::Warning),
        "ERROR" | "CRITICAL" | "FATAL" => Some(Level::Error),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_read_as_the_provider_reads_them() {
        assert_eq!(level_of("plain"), Level::Info);
        assert_eq!(level_of("ERROR: boom"), Level::Error);
        assert_eq!(level_of("  [warning] careful"), Level::Warning);
        assert_eq!(level_of("WARN - x"), Level::Warning);
        assert_eq!(level_of("critical failure"), Level::Error);
        assert_eq!(level_of("debug: x"), Level::Info);
        assert_eq!(
            level_of(r#"{"levelname": "ERROR", "msg": "x"}"#),
            Level::Error
        );
        assert_eq!(level_of(r#"{"level": "warning"}"#), Level::Warning);
        assert_eq!(level_of(r#"{"level": "verbose"}"#), Level::Info);
        assert_eq!(level_of("{not json ERROR"), Level::Info);
        assert_eq!(level_of("information"), Level::Info);
    }

    #[test]
    fn events_carry_their_utc_time_to_the_millisecond() {
        assert_eq!(
            event_line(1_741_478_400_123, "hello"),
            "[2025-03-09 00:00:00,123] hello"
        );
    }
}
