//! Shipping a task's log lines to CloudWatch Logs, in the MWAA-Serverless layout.
//!
//! - [`log_group`] and [`log_stream`] name where a task attempt's lines go.
//! - [`Shipper::start`] spawns a tokio task that ships one stream; [`ShipperHandle::send`]
//!   queues a line without ever waiting or dropping it, and [`ShipperHandle::finish`] flushes
//!   within a deadline and says what became of every line ([`DeliveryReport`]).
//! - [`batch`] is the pure part: PutLogEvents batches within every CloudWatch limit.
//!
//! How it behaves:
//! - **Memory is bounded.** Pending events beyond [`ShipperOptions::max_buffer_bytes`] go to a
//!   local spill file (JSON lines) and are read back in order. The batch being sent comes on
//!   top (at most about 1 MiB).
//! - **One PutLogEvents in flight per stream**, so lines with the same millisecond are stored in
//!   the order they were written. A batch is sent as soon as it is full, or after
//!   [`ShipperOptions::linger`] when it is not; never an empty one.
//! - **Order.** Events are sent in the order given. A timestamp earlier than the one before it
//!   is raised to it ([`batch::BatchBuilder`]), so the stream reads back in write order.
//!   Requests go one at a time and a request is sent only after every earlier event has been
//!   stored or given up on, so CloudWatch stores events in the order given, with two
//!   exceptions, both only when CloudWatch refuses something: an event refused for good is
//!   missing (it is in the spill file, in order with the other undelivered ones); and an
//!   event re-stamped after a rejection is stored after the rest of the request it was in,
//!   but before any later event is sent, and reads back at its new timestamp (its original
//!   one is in its message). Repair and bisection move nothing: the pieces of a refused
//!   request are sent in the order of their events, first half before second half.
//! - **The group and the stream are created lazily**, before the first request, and again if a
//!   request says they are missing. Already existing is success.
//! - **Retries.** Throttling, server errors (5xx), timeouts and network failures are retried
//!   forever, with exponential backoff (100 ms doubling to 5 s by default, jittered), until
//!   `finish`'s deadline. The SDK's own retries are off: this loop owns them.
//! - **InvalidParameter does not lose a batch.** The request is repaired and sent again: an
//!   empty message becomes a space, an oversized one is split at UTF-8 boundaries, timestamps
//!   out of order are raised, batch limits are kept (none of which the shipper's own batches
//!   need, but an endpoint may count differently). When that changes nothing or is refused
//!   too, the request is cut in two halves sent one after the other, recursively, which
//!   isolates the offending events in about two requests per halving. Only a single event
//!   refused even after repair is given up on: it is kept in the spill file, counted as
//!   undelivered, and the report's `error` names the refusal.
//! - **Events CloudWatch rejects for their timestamp** (`rejectedLogEventsInfo`: more than 14
//!   days old, older than the group's retention, more than 2 hours ahead) are sent again
//!   once, re-stamped with "now" and their original timestamp kept in the message (a field
//!   `"original_timestamp_ms"` added to a JSON object, else a prefix
//!   `[original timestamp <ms>] `), and counted in [`DeliveryReport::restamped`]. Rejected
//!   again, they are counted as rejected. The shipper has no clock: "now" is the timestamp of
//!   the last event [`ShipperHandle::send`] accepted, which is the caller's clock when
//!   it last wrote a line (the runtime stamps lines as it reads them).
//! - **Other errors** (AccessDenied, bad credentials) are not retried: the batch is counted as
//!   undelivered and its events are kept in the spill file.
//! - **Delivery is at least once.** A request that timed out may have been stored; it is sent
//!   again (CloudWatch has no deduplication since sequence tokens were removed).
//!
//! The shipper logs nothing itself (no log content ever leaves through anything but the
//! stream); errors are summed up in the report.
//!
//! # Example
//! ```no_run
//! # async fn demo(config: &aws_config::SdkConfig) {
//! use std::time::Duration;
//! use airtask_aws::logs::{LogEvent, Shipper, ShipperOptions, log_group, log_stream};
//!
//! let group = log_group("etl", None);
//! let stream = log_stream("etl", "manual__2025-01-01", "load", -1, 1);
//! let shipper = Shipper::start(config, &group, &stream, ShipperOptions::new("/tmp/load.spill"));
//! shipper.send(LogEvent { timestamp_ms: 1_735_689_600_000, message: "hello".into() });
//! let report = shipper.finish(Duration::from_secs(30)).await;
//! assert!(report.complete(), "{report:?}");
//! # }
//! ```

pub mod batch;
mod buffer;
mod names;
mod read;
mod shipper;
mod sink;

pub use names::{MAX_NAME_LEN, log_group, log_stream};
pub use read::{Page, ReadError, read_stream};
pub use shipper::{DeliveryReport, Shipper, ShipperHandle, ShipperOptions};
pub use sink::{LogSink, PutOutcome, SinkError};

/// One log line: when it was written and what it says.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch, from the caller's clock.
    pub timestamp_ms: i64,
    /// The text (any length: longer messages are split into several events).
    pub message: String,
}
