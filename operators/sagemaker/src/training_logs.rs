//! The training job's CloudWatch logs, as the provider prints them
//! (`describe_training_job_with_log`): the streams `<job>/...` of the log group
//! `/aws/sagemaker/TrainingJobs` (one per instance), every new event once, in time order.

use std::collections::BTreeMap;

use airtask_aws::AwsParams;
use airtask_core::permissions::arn;
use airtask_core::{Permission, TaskContext, TaskError};
use serde_json::Value;

use crate::hook::HOOK;

/// The log group of training jobs.
pub(crate) const LOG_GROUP: &str = "/aws/sagemaker/TrainingJobs";

/// The permissions reading the logs needs.
pub(crate) fn permissions(region: Option<&str>) -> Permission {
    Permission::new(
        &["logs:DescribeLogStreams", "logs:GetLogEvents"],
        [arn("logs", region, &format!("log-group:{LOG_GROUP}:*"))],
    )
}

/// Where the reading is: the streams found and the next token of each.
pub(crate) struct Tail {
    client: aws_sdk_cloudwatchlogs::Client,
    job: String,
    tokens: BTreeMap<String, Option<String>>,
}

impl Tail {
    /// A reader of the logs of `job`.
    pub(crate) fn new(ctx: &TaskContext, aws: &AwsParams, job: &str) -> Result<Tail, TaskError> {
        Ok(Tail {
            client: airtask_aws::client_in(
                ctx,
                aws.region(),
                airtask_aws::sdk!(aws_sdk_cloudwatchlogs),
            )?,
            job: job.to_owned(),
            tokens: BTreeMap::new(),
        })
    }

    /// Prints what the streams have that was not printed yet (`instance_count` streams at
    /// most). A missing log group (no instance has logged yet) prints nothing.
    pub(crate) async fn print(
        &mut self,
        ctx: &TaskContext,
        instance_count: i64,
    ) -> Result<(), TaskError> {
        if (self.tokens.len() as i64) < instance_count {
            let found = self
                .client
                .describe_log_streams()
                .log_group_name(LOG_GROUP)
                .log_stream_name_prefix(format!("{}/", self.job))
                .order_by(aws_sdk_cloudwatchlogs::types::OrderBy::LogStreamName)
                .limit(i32::try_from(instance_count.clamp(1, 50)).unwrap_or(50))
                .send()
                .await;
            match found {
                Ok(out) => {
                    for s in out.log_streams() {
                        if let Some(name) = s.log_stream_name() {
                            self.tokens.entry(name.to_owned()).or_insert(None);
                        }
                    }
                }
                Err(e) if airtask_aws::error::code(&e) == Some("ResourceNotFoundException") => {}
                Err(e) => {
                    return Err(airtask_aws::error::task_error(
                        &format!("DescribeLogStreams {LOG_GROUP}"),
                        &e,
                    ));
                }
            }
        }
        let mut events: Vec<(i64, usize, String)> = Vec::new();
        let streams: Vec<String> = self.tokens.keys().cloned().collect();
        for (i, stream) in streams.iter().enumerate() {
            loop {
                let token = self.tokens.get(stream).cloned().flatten();
                let out = self
                    .client
                    .get_log_events()
                    .log_group_name(LOG_GROUP)
                    .log_stream_name(stream)
                    .start_from_head(true)
                    .set_next_token(token.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        airtask_aws::error::task_error(
                            &format!("GetLogEvents {LOG_GROUP}/{stream}"),
                            &e,
                        )
                    })?;
                for ev in out.events() {
                    events.push((
                        ev.timestamp().unwrap_or_default(),
                        i,
                        ev.message().unwrap_or_default().to_owned(),
                    ));
                }
                let next = out.next_forward_token().map(str::to_owned);
                let done = next.is_none() || next == token || out.events().is_empty();
                self.tokens.insert(stream.clone(), next.or(token));
                if done {
                    break;
                }
            }
        }
        events.sort_by_key(|(ts, i, _)| (*ts, *i));
        for (_, _, message) in events {
            ctx.hook_info(HOOK, &message);
        }
        Ok(())
    }
}

/// `secondary_training_status_message`: the secondary status transitions of `now` that
/// `before` did not have (the last one when there is no new one), one line each:
/// `<LastModifiedTime> <Status> - <StatusMessage>`.
pub(crate) fn secondary_status_message(now: &Value, before: Option<&Value>) -> String {
    let Some(current) = now
        .get("SecondaryStatusTransitions")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    else {
        return String::new();
    };
    let prev = before
        .and_then(|b| b.get("SecondaryStatusTransitions"))
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    let show = if current.len() == prev {
        &current[current.len() - 1..]
    } else {
        &current[prev.min(current.len())..]
    };
    let time = now
        .get("LastModifiedTime")
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default();
    show.iter()
        .map(|t| {
            format!(
                "{time} {} - {}",
                t.get("Status").and_then(Value::as_str).unwrap_or_default(),
                t.get("StatusMessage")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether the last secondary status message changed (`secondary_training_status_changed`).
pub(crate) fn secondary_status_changed(now: &Value, before: &Value) -> bool {
    let last = |v: &Value| {
        v.get("SecondaryStatusTransitions")
            .and_then(Value::as_array)
            .and_then(|t| t.last())
            .and_then(|t| t.get("StatusMessage"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let has = now
        .get("SecondaryStatusTransitions")
        .and_then(Value::as_array)
        .is_some_and(|t| !t.is_empty());
    has && last(now) != last(before)
}

/// `count_billable_seconds`: (end - start) × instances, in whole seconds, plus one.
pub(crate) fn billable_seconds(v: &Value) -> Option<i64> {
    let t = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<jiff::Timestamp>().ok())
    };
    let (start, end) = (t("TrainingStartTime")?, t("TrainingEndTime")?);
    let n = v.pointer("/ResourceConfig/InstanceCount")?.as_i64()?;
    let micros = (end.as_microsecond() - start.as_microsecond()) * n;
    Some(micros.div_euclid(1_000_000) + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn billable_seconds_and_status_messages() {
        let v = json!({
            "TrainingStartTime": "2024-01-01T00:00:00+00:00",
            "TrainingEndTime": "2024-01-01T00:01:00.5+00:00",
            "ResourceConfig": {"InstanceCount": 2},
            "LastModifiedTime": "2024-01-01T00:01:00+00:00",
            "SecondaryStatusTransitions": [
                {"Status": "Starting", "StatusMessage": "Launching"},
                {"Status": "Training", "StatusMessage": "Training in progress"}
            ]
        });
        assert_eq!(billable_seconds(&v), Some(122));
        assert_eq!(
            secondary_status_message(&v, None),
            "2024-01-01 00:01:00 Starting - Launching\n2024-01-01 00:01:00 Training - Training in progress"
        );
        let before = json!({"SecondaryStatusTransitions": [{"Status": "Starting", "StatusMessage": "Launching"}]});
        assert_eq!(
            secondary_status_message(&v, Some(&before)),
            "2024-01-01 00:01:00 Training - Training in progress"
        );
        assert!(secondary_status_changed(&v, &before));
        assert!(!secondary_status_changed(&v, &v));
    }
}
