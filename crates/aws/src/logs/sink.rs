//! Where batches go: the [`LogSink`] seam, its CloudWatch implementation, and the one place
//! that decides which errors are worth retrying.

use std::future::Future;

use aws_sdk_cloudwatchlogs::config::http::HttpResponse;
use aws_sdk_cloudwatchlogs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

use crate::error_chain;
use crate::logs::LogEvent;

/// What the shipper needs from CloudWatch Logs, as a trait so that tests and benchmarks can put
/// an in-process sink in its place. The shipper calls one method at a time and does all the
/// retrying; a sink makes one attempt per call.
pub trait LogSink: Send + 'static {
    /// Makes sure the log group and the log stream exist (creating them when missing).
    /// Already existing is success.
    ///
    /// # Errors
    /// A classified error: see [`SinkError`].
    fn create_stream(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Sends one batch (non-empty, sorted, within every PutLogEvents limit) in one request.
    ///
    /// # Errors
    /// A classified error: see [`SinkError`]. On error, nothing of the batch is taken to be
    /// stored (a retry may store it twice if the request was in fact accepted).
    fn put(
        &mut self,
        events: &[LogEvent],
    ) -> impl Future<Output = Result<PutOutcome, SinkError>> + Send;

    /// How many requests the sink has made so far, failed ones included.
    fn requests(&self) -> u64;
}

/// What CloudWatch did with a batch that it answered with success: it stored every event but
/// those it refused for their timestamp (`rejectedLogEventsInfo`). A batch is in chronological
/// order, so those are a run at the head (too old) and a run at the tail (too new).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PutOutcome {
    /// How many events at the head of the batch were refused as more than 14 days old or older
    /// than the group's retention (expired): `events[..too_old]`.
    pub too_old: usize,
    /// How many events at the tail of the batch were refused as more than 2 hours in the
    /// future: `events[len - too_new..]`. Never overlaps `too_old`.
    pub too_new: usize,
}

impl PutOutcome {
    /// How many events were refused for their timestamp, in all.
    pub fn rejected(&self) -> usize {
        self.too_old + self.too_new
    }
}

/// Why a sink call failed, classified by what the shipper should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkError {
    /// Throttling, a server error (5xx: ServiceUnavailable, InternalFailure), a timeout or a
    /// network failure: the same call may succeed later.
    #[error("{0}")]
    Retryable(String),
    /// The log group or the log stream does not exist (deleted, or never created): create it and
    /// send again.
    #[error("{0}")]
    NotFound(String),
    /// `InvalidParameterException`: the request broke a rule (an empty or oversized message,
    /// events out of order, a batch too large or spanning 24 hours...). Sending it again as it
    /// is fails the same way, but the fault may lie with one event of a batch: the shipper
    /// repairs and bisects the batch instead of giving it up.
    #[error("{0}")]
    InvalidParameter(String),
    /// Anything else (AccessDenied, bad credentials): sending the same request again would
    /// fail the same way.
    #[error("{0}")]
    Fatal(String),
}

/// What to do about an error answered by the service, from its code and HTTP status: the
/// two codes the shipper repairs itself, else retryable or fatal as the one classifier
/// ([`crate::error`]) says.
pub(crate) fn classify_code(code: Option<&str>, status: Option<u16>, text: String) -> SinkError {
    match code {
        Some("ResourceNotFoundException") => SinkError::NotFound(text),
        Some("InvalidParameterException") => SinkError::InvalidParameter(text),
        _ if crate::error::retryable_code(code, status) => SinkError::Retryable(text),
        _ => SinkError::Fatal(text),
    }
}

/// Classifies any SDK error: the service's answer by its code, everything else (a request
/// that could not be built, timeouts, connection failures, unreadable responses, credentials
/// that could not be loaded) as the one classifier says.
fn classify<E>(e: &SdkError<E, HttpResponse>) -> SinkError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match e {
        SdkError::ServiceError(se) => classify_code(
            se.err().code(),
            Some(se.raw().status().as_u16()),
            crate::error::text(e),
        ),
        _ if crate::error::is_retryable(e) => SinkError::Retryable(error_chain(e)),
        _ => SinkError::Fatal(error_chain(e)),
    }
}

/// Which events of an `n`-event batch `rejectedLogEventsInfo` names, with the AWS semantics of
/// its indices ([PutLogEvents], `RejectedLogEventsInfo` in the service model):
/// - `tooNewLogEventStartIndex` is the index of the first event that is too new, **inclusive**:
///   events `start..n` are refused;
/// - `tooOldLogEventEndIndex` is the index of the last event that is too old, **exclusive**:
///   events `0..end` are refused;
/// - `expiredLogEventEndIndex` is undocumented and read as exclusive like the too-old one.
///
/// The too-old and expired ranges both start at the head, so they overlap; the too-new range
/// never reaches into them. Indices out of range are clamped.
///
/// moto (5.2.5, the local endpoint of the end-to-end tests) differs: it sets
/// `tooOldLogEventEndIndex` to the index of the last too-old event (inclusive) and
/// `tooNewLogEventStartIndex` to the index of the *last* too-new event. Read with the AWS
/// semantics, moto's answers name one too-old event fewer than it refused, and only the last
/// too-new one. The end-to-end tests do not depend on rejections.
///
/// [PutLogEvents]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html
pub(crate) fn rejected_ranges(
    n: usize,
    too_new_start: Option<i32>,
    too_old_end: Option<i32>,
    expired_end: Option<i32>,
) -> PutOutcome {
    let idx = |i: Option<i32>| i.map(|i| usize::try_from(i).unwrap_or(0).min(n));
    let head = idx(too_old_end)
        .unwrap_or(0)
        .max(idx(expired_end).unwrap_or(0));
    let tail_start = idx(too_new_start).unwrap_or(n).max(head);
    PutOutcome {
        too_old: head,
        too_new: n - tail_start,
    }
}

/// The CloudWatch Logs sink of one log stream.
#[derive(Debug)]
pub(crate) struct CloudWatchSink {
    client: aws_sdk_cloudwatchlogs::Client,
    group: String,
    stream: String,
    requests: u64,
}

impl CloudWatchSink {
    /// A sink writing to `group`/`stream` with a client made from `config`.
    ///
    /// The SDK's own retries are turned off (one attempt per call): the shipper's loop owns
    /// retrying, with its own backoff, forever while the task runs, and bounded by the deadline
    /// of `finish`. SDK retries under it would multiply the attempts, sleep through the deadline,
    /// and the standard retry mode's token bucket would stop retrying at all after a burst of
    /// failures. Each attempt is bounded by `attempt_timeout`, so a connection that hangs is
    /// retried instead of blocking the stream.
    pub(crate) fn new(
        config: &aws_config::SdkConfig,
        group: String,
        stream: String,
        attempt_timeout: std::time::Duration,
    ) -> CloudWatchSink {
        let conf = aws_sdk_cloudwatchlogs::config::Builder::from(config)
            .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
            .timeout_config(
                aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig::builder()
                    .operation_attempt_timeout(attempt_timeout)
                    .build(),
            )
            .build();
        CloudWatchSink {
            client: aws_sdk_cloudwatchlogs::Client::from_conf(conf),
            group,
            stream,
            requests: 0,
        }
    }

    async fn create_group(&mut self) -> Result<(), SinkError> {
        self.requests += 1;
        match self
            .client
            .create_log_group()
            .log_group_name(&self.group)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }

    async fn create_stream_once(&mut self) -> Result<(), SinkError> {
        self.requests += 1;
        match self
            .client
            .create_log_stream()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
            Err(e) => Err(classify(&e)),
        }
    }
}

impl LogSink for CloudWatchSink {
    async fn create_stream(&mut self) -> Result<(), SinkError> {
        // The stream first: it is new for every attempt, but the group usually exists.
        match self.create_stream_once().await {
            Err(SinkError::NotFound(_)) => {
                self.create_group().await?;
                self.create_stream_once().await
            }
            other => other,
        }
    }

    async fn put(&mut self, events: &[LogEvent]) -> Result<PutOutcome, SinkError> {
        let mut input = Vec::with_capacity(events.len());
        for e in events {
            let event = InputLogEvent::builder()
                .timestamp(e.timestamp_ms)
                .message(e.message.clone())
                .build()
                .map_err(|err| SinkError::Fatal(error_chain(&err)))?;
            input.push(event);
        }
        self.requests += 1;
        match self
            .client
            .put_log_events()
            .log_group_name(&self.group)
            .log_stream_name(&self.stream)
            .set_log_events(Some(input))
            .send()
            .await
        {
            Ok(out) => Ok(out
                .rejected_log_events_info()
                .map_or_else(PutOutcome::default, |r| {
                    rejected_ranges(
                        events.len(),
                        r.too_new_log_event_start_index(),
                        r.too_old_log_event_end_index(),
                        r.expired_log_event_end_index(),
                    )
                })),
            // Documented as never returned any more; if it is, the events are stored.
            Err(e) if e.code() == Some("DataAlreadyAcceptedException") => Ok(PutOutcome::default()),
            Err(e) => Err(classify(&e)),
        }
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(code: &str, status: u16) -> &'static str {
        match classify_code(Some(code), Some(status), String::new()) {
            SinkError::Retryable(_) => "retry",
            SinkError::NotFound(_) => "create",
            SinkError::InvalidParameter(_) => "invalid",
            SinkError::Fatal(_) => "fatal",
        }
    }

    #[test]
    fn classification() {
        assert_eq!(kind("ThrottlingException", 400), "retry");
        assert_eq!(kind("ServiceUnavailableException", 500), "retry");
        assert_eq!(kind("InternalFailure", 500), "retry");
        assert_eq!(kind("SomethingNew", 503), "retry");
        assert_eq!(kind("SomethingNew", 429), "retry");
        assert_eq!(kind("ResourceNotFoundException", 400), "create");
        assert_eq!(kind("AccessDeniedException", 400), "fatal");
        assert_eq!(kind("InvalidParameterException", 400), "invalid");
        assert_eq!(kind("UnrecognizedClientException", 400), "fatal");
        assert!(matches!(
            classify_code(None, None, "x".into()),
            SinkError::Fatal(_)
        ));
    }

    /// (too old, too new) for an `n`-event batch.
    fn ranges(
        n: usize,
        too_new_start: Option<i32>,
        too_old_end: Option<i32>,
        expired_end: Option<i32>,
    ) -> (usize, usize) {
        let o = rejected_ranges(n, too_new_start, too_old_end, expired_end);
        assert!(o.rejected() <= n);
        (o.too_old, o.too_new)
    }

    #[test]
    fn rejected_ranges_follow_the_aws_index_semantics() {
        assert_eq!(ranges(10, None, None, None), (0, 0));
        // Too old: tooOldLogEventEndIndex 3 is exclusive, events 0, 1 and 2.
        assert_eq!(ranges(10, None, Some(3), None), (3, 0));
        // An end index of 0 names no event (exclusive), 1 names the first one.
        assert_eq!(ranges(10, None, Some(0), None), (0, 0));
        assert_eq!(ranges(10, None, Some(1), None), (1, 0));
        // Expired: also exclusive, from the head.
        assert_eq!(ranges(10, None, None, Some(2)), (2, 0));
        // Too new: tooNewLogEventStartIndex 7 is inclusive, events 7, 8 and 9.
        assert_eq!(ranges(10, Some(7), None, None), (0, 3));
        // The last event alone, and every event.
        assert_eq!(ranges(10, Some(9), None, None), (0, 1));
        assert_eq!(ranges(10, Some(0), None, None), (0, 10));
        // Expired and too old overlap at the head.
        assert_eq!(ranges(10, None, Some(2), Some(4)), (4, 0));
        assert_eq!(ranges(10, Some(8), Some(2), Some(4)), (4, 2));
        // Ranges that would overlap, and nonsense indices, are clamped.
        assert_eq!(ranges(10, Some(3), Some(5), None), (5, 5));
        assert_eq!(ranges(10, Some(-1), Some(99), None), (10, 0));
        assert_eq!(ranges(10, Some(99), None, None), (0, 0));
    }
}
