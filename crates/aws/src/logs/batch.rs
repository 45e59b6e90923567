//! PutLogEvents batches that CloudWatch accepts: pure code, no I/O.
//!
//! Limits ([PutLogEvents]): at most 10,000 events; at most 1,048,576 bytes, counted as the UTF-8
//! bytes of every message plus 26 per event; the first and last event less than 24 hours apart;
//! events in chronological order; at least one event; no empty message.
//!
//! A message longer than [`MAX_MESSAGE_BYTES`] is split by [`split_event`] into several events
//! with the same timestamp, cut at UTF-8 character boundaries, in order. The limit is the old
//! 256 KiB per-event limit (less the 26 bytes of overhead): CloudWatch has accepted 1 MB events
//! since 2025, but 256 KiB is accepted by every endpoint (older regions' docs, moto, proxies) and a
//! task's log line is rarely longer.
//!
//! [PutLogEvents]: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html

use crate::logs::LogEvent;

/// The most events in one PutLogEvents request.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// The most bytes in one PutLogEvents request: messages in UTF-8 plus
/// [`EVENT_OVERHEAD_BYTES`] per event.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch adds to each message when it counts a batch's bytes.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// The longest message we send in one event: 256 KiB less the per-event overhead.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024 - EVENT_OVERHEAD_BYTES;
/// A batch's first and last timestamps must be less than this apart (24 hours, in ms).
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

/// What an empty message is sent as: CloudWatch rejects a whole request that holds an empty
/// message, and dropping the line would lose it (an empty line is part of a task's output).
pub const EMPTY_MESSAGE: &str = " ";

/// Splits an event into events CloudWatch accepts: non-empty messages of at most
/// [`MAX_MESSAGE_BYTES`] bytes, cut at character boundaries, in order, all with the event's
/// timestamp. An event that already fits is passed through without copying; an empty message
/// becomes [`EMPTY_MESSAGE`].
pub fn split_event(event: LogEvent) -> SplitEvent {
    split_event_at(event, MAX_MESSAGE_BYTES)
}

fn split_event_at(mut event: LogEvent, max: usize) -> SplitEvent {
    if event.message.is_empty() {
        event.message.push_str(EMPTY_MESSAGE);
    }
    if event.message.len() <= max {
        SplitEvent {
            whole: Some(event),
            timestamp_ms: 0,
            message: String::new(),
            pos: 0,
            max,
        }
    } else {
        SplitEvent {
            whole: None,
            timestamp_ms: event.timestamp_ms,
            message: event.message,
            pos: 0,
            max,
        }
    }
}

/// The events [`split_event`] makes of one event.
#[derive(Debug)]
pub struct SplitEvent {
    whole: Option<LogEvent>,
    timestamp_ms: i64,
    message: String,
    pos: usize,
    max: usize,
}

impl Iterator for SplitEvent {
    type Item = LogEvent;

    fn next(&mut self) -> Option<LogEvent> {
        if let Some(e) = self.whole.take() {
            return Some(e);
        }
        let rest = &self.message[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let mut end = rest.len().min(self.max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        let part = rest[..end].to_owned();
        self.pos += end;
        Some(LogEvent {
            timestamp_ms: self.timestamp_ms,
            message: part,
        })
    }
}

/// One PutLogEvents request's events, within every limit, in chronological order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    events: Vec<LogEvent>,
    bytes: usize,
}

impl Batch {
    /// The events, oldest first (timestamps never decrease).
    pub fn events(&self) -> &[LogEvent] {
        &self.events
    }

    /// The size CloudWatch counts: message bytes plus 26 per event.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// How many events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Always false: a batch has at least one event. Here for clippy's `len_without_is_empty`.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The events, to keep them when the batch could not be sent.
    pub fn into_events(self) -> Vec<LogEvent> {
        self.events
    }
}

/// Builds batches from events in the order given, cutting a new batch whenever the next event
/// would break a limit.
///
/// Timestamps: the events are sent in the order given. When an event's timestamp is earlier than
/// the one before it (a clock stepped back, or two sources merged), it is raised to the one before
/// it, so every batch is sorted (CloudWatch rejects a whole unsorted request) and the stream reads
/// back in the order the lines were written. The floor carries over from batch to batch for the
/// life of the builder, so the whole stream is in order, not only each request.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    events: Vec<LogEvent>,
    bytes: usize,
    first_ts: i64,
    floor_ts: Option<i64>,
}

impl BatchBuilder {
    /// An empty builder.
    pub fn new() -> BatchBuilder {
        BatchBuilder::default()
    }

    /// Adds `event` to the current batch, or gives it back when it does not fit: the batch has
    /// 10,000 events, or would exceed 1,048,576 bytes, or would span 24 hours or more. Then
    /// [`take`](Self::take) the batch and push the event again: it always fits an empty batch.
    ///
    /// The event must come from [`split_event`] (a non-empty message of at most
    /// [`MAX_MESSAGE_BYTES`]).
    ///
    /// # Errors
    /// The event, unchanged, when it does not fit in the current batch.
    ///
    /// # Panics
    /// In debug builds, when the message is empty or too long (a caller that skipped
    /// [`split_event`]); release builds send it and CloudWatch rejects the batch.
    pub fn push(&mut self, event: LogEvent) -> Result<(), LogEvent> {
        debug_assert!(
            !event.message.is_empty() && event.message.len() <= MAX_MESSAGE_BYTES,
            "BatchBuilder::push takes events from split_event"
        );
        let ts = self
            .floor_ts
            .map_or(event.timestamp_ms, |f| f.max(event.timestamp_ms));
        let size = event.message.len() + EVENT_OVERHEAD_BYTES;
        if !self.events.is_empty()
            && (self.events.len() >= MAX_BATCH_EVENTS
                || self.bytes + size > MAX_BATCH_BYTES
                || ts.saturating_sub(self.first_ts) >= MAX_BATCH_SPAN_MS)
        {
            return Err(event);
        }
        if self.events.is_empty() {
            self.first_ts = ts;
        }
        self.floor_ts = Some(ts);
        self.bytes += size;
        self.events.push(LogEvent {
            timestamp_ms: ts,
            message: event.message,
        });
        Ok(())
    }

    /// Whether no event at all could be added (10,000 events, or no room for a one-byte
    /// message).
    pub fn is_full(&self) -> bool {
        self.events.len() >= MAX_BATCH_EVENTS
            || self.bytes + 1 + EVENT_OVERHEAD_BYTES > MAX_BATCH_BYTES
    }

    /// How many events the current batch holds.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether the current batch is empty.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The current batch's size as CloudWatch counts it.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Takes the current batch, leaving the builder empty (the timestamp floor stays). `None`
    /// when it holds no event: an empty request is never made.
    pub fn take(&mut self) -> Option<Batch> {
        if self.events.is_empty() {
            return None;
        }
        let events = std::mem::take(&mut self.events);
        let bytes = std::mem::replace(&mut self.bytes, 0);
        Some(Batch { events, bytes })
    }

    /// The events of the current batch without making a batch of them (to keep them when the
    /// shipper stops).
    pub fn take_events(&mut self) -> Vec<LogEvent> {
        self.bytes = 0;
        std::mem::take(&mut self.events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(ts: i64, msg: &str) -> LogEvent {
        LogEvent {
            timestamp_ms: ts,
            message: msg.to_owned(),
        }
    }

    /// Pushes every event (through split_event) and returns the batches.
    fn batches(events: Vec<LogEvent>) -> Vec<Batch> {
        let mut b = BatchBuilder::new();
        let mut out = Vec::new();
        for e in events {
            for part in split_event(e) {
                if let Err(part) = b.push(part) {
                    out.push(b.take().expect("a refused push means a non-empty batch"));
                    b.push(part).expect("fits an empty batch");
                }
            }
        }
        out.extend(b.take());
        out
    }

    fn check_limits(batches: &[Batch]) {
        for batch in batches {
            assert!(!batch.is_empty());
            assert!(batch.len() <= MAX_BATCH_EVENTS);
            let bytes: usize = batch
                .events()
                .iter()
                .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
                .sum();
            assert_eq!(bytes, batch.bytes());
            assert!(bytes <= MAX_BATCH_BYTES);
            let first = batch.events()[0].timestamp_ms;
            let last = batch.events()[batch.len() - 1].timestamp_ms;
            assert!(last - first < MAX_BATCH_SPAN_MS);
            assert!(
                batch
                    .events()
                    .windows(2)
                    .all(|w| w[0].timestamp_ms <= w[1].timestamp_ms)
            );
            assert!(
                batch
                    .events()
                    .iter()
                    .all(|e| !e.message.is_empty() && e.message.len() <= MAX_MESSAGE_BYTES)
            );
        }
    }

    #[test]
    fn empty_input_makes_no_batch() {
        assert!(batches(vec![]).is_empty());
        let mut b = BatchBuilder::new();
        assert!(b.take().is_none());
        assert!(b.is_empty());
        assert!(!b.is_full());
    }

    #[test]
    fn empty_message_becomes_a_space() {
        let out = batches(vec![ev(1, "")]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].events(), &[ev(1, EMPTY_MESSAGE)]);
    }

    #[test]
    fn count_limit_exactly_and_one_over() {
        let at: Vec<_> = (0..MAX_BATCH_EVENTS).map(|i| ev(i as i64, "x")).collect();
        let out = batches(at);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].len(), MAX_BATCH_EVENTS);

        let over: Vec<_> = (0..=MAX_BATCH_EVENTS).map(|i| ev(i as i64, "x")).collect();
        let out = batches(over);
        check_limits(&out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), MAX_BATCH_EVENTS);
        assert_eq!(out[1].events(), &[ev(MAX_BATCH_EVENTS as i64, "x")]);
    }

    #[test]
    fn full_after_the_count_limit() {
        let mut b = BatchBuilder::new();
        for i in 0..MAX_BATCH_EVENTS {
            assert!(!b.is_full());
            b.push(ev(i as i64, "x")).expect("fits");
        }
        assert!(b.is_full());
        assert_eq!(b.push(ev(0, "y")), Err(ev(0, "y")));
    }

    /// Five events whose sizes add up to `total` bytes as CloudWatch counts them.
    fn sized(total: usize) -> Vec<LogEvent> {
        let each = total / 5 - EVENT_OVERHEAD_BYTES;
        let last = total - 4 * (each + EVENT_OVERHEAD_BYTES) - EVENT_OVERHEAD_BYTES;
        let mut v: Vec<_> = (0..4).map(|i| ev(i, &"a".repeat(each))).collect();
        v.push(ev(4, &"b".repeat(last)));
        v
    }

    #[test]
    fn byte_limit_exactly_and_one_over() {
        let out = batches(sized(MAX_BATCH_BYTES));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes(), MAX_BATCH_BYTES);
        assert_eq!(out[0].len(), 5);

        let out = batches(sized(MAX_BATCH_BYTES + 1));
        check_limits(&out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), 4);
        assert_eq!(out[1].len(), 1);
        assert_eq!(out[0].bytes() + out[1].bytes(), MAX_BATCH_BYTES + 1);
    }

    #[test]
    fn full_when_no_one_byte_message_fits() {
        let mut b = BatchBuilder::new();
        for e in sized(MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES - 1) {
            b.push(e).expect("fits");
        }
        assert!(!b.is_full());
        b.push(ev(9, "z")).expect("exactly fits");
        assert_eq!(b.bytes(), MAX_BATCH_BYTES);
        assert!(b.is_full());
    }

    #[test]
    fn byte_limit_counts_utf8_bytes() {
        // 'é' is 2 bytes: 131,059 of them are 262,118 bytes, the largest message, and four
        // such events fill a batch exactly (4 * (262,118 + 26) = 1,048,576).
        let big = "é".repeat(MAX_MESSAGE_BYTES / 2);
        assert_eq!(big.len(), MAX_MESSAGE_BYTES);
        let out = batches((0..4).map(|i| ev(i, &big)).collect());
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].bytes(), MAX_BATCH_BYTES);
        // One more byte (a 1-byte message) does not fit.
        let mut events: Vec<_> = (0..4).map(|i| ev(i, &big)).collect();
        events.push(ev(4, "x"));
        let out = batches(events);
        check_limits(&out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].len(), 4);
        // Counted in bytes, not characters: 4 messages of 131,059 characters would leave
        // plenty of room if characters were counted.
        let chars: usize = out[0]
            .events()
            .iter()
            .map(|e| e.message.chars().count())
            .sum();
        assert!(chars + 5 * EVENT_OVERHEAD_BYTES < MAX_BATCH_BYTES);
    }

    #[test]
    fn span_just_under_24h_and_exactly_24h() {
        let t0 = 1_700_000_000_000;
        let out = batches(vec![ev(t0, "a"), ev(t0 + MAX_BATCH_SPAN_MS - 1, "b")]);
        assert_eq!(out.len(), 1);

        let out = batches(vec![ev(t0, "a"), ev(t0 + MAX_BATCH_SPAN_MS, "b")]);
        check_limits(&out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].events(), &[ev(t0 + MAX_BATCH_SPAN_MS, "b")]);
    }

    #[test]
    fn span_is_measured_from_the_first_event_of_each_batch() {
        let t0 = 0;
        let day = MAX_BATCH_SPAN_MS;
        let out = batches(vec![
            ev(t0, "a"),
            ev(t0 + day / 2, "b"),
            ev(t0 + day, "c"),
            ev(t0 + day + day / 2, "d"),
            ev(t0 + 2 * day, "e"),
        ]);
        check_limits(&out);
        let lens: Vec<_> = out.iter().map(Batch::len).collect();
        assert_eq!(lens, vec![2, 2, 1]);
    }

    #[test]
    fn backwards_timestamps_are_clamped_and_order_kept() {
        let out = batches(vec![ev(10, "a"), ev(5, "b"), ev(12, "c"), ev(11, "d")]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].events(),
            &[ev(10, "a"), ev(10, "b"), ev(12, "c"), ev(12, "d")]
        );
    }

    #[test]
    fn clamping_carries_over_to_the_next_batch() {
        let mut b = BatchBuilder::new();
        b.push(ev(100, "a")).expect("fits");
        b.take().expect("a batch");
        b.push(ev(50, "b")).expect("fits");
        assert_eq!(b.take().expect("a batch").events(), &[ev(100, "b")]);
    }

    #[test]
    fn message_at_the_event_limit_is_not_split() {
        let m = "m".repeat(MAX_MESSAGE_BYTES);
        let parts: Vec<_> = split_event(ev(1, &m)).collect();
        assert_eq!(parts, vec![ev(1, &m)]);
    }

    #[test]
    fn message_one_over_the_event_limit_is_split_in_two() {
        let m = "m".repeat(MAX_MESSAGE_BYTES + 1);
        let parts: Vec<_> = split_event(ev(1, &m)).collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].message.len(), MAX_MESSAGE_BYTES);
        assert_eq!(parts[1], ev(1, "m"));
    }

    #[test]
    fn huge_message_split_in_order_none_lost() {
        let m: String = (0..1_000_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let parts: Vec<_> = split_event(ev(7, &m)).collect();
        assert_eq!(parts.len(), 1_000_000usize.div_ceil(MAX_MESSAGE_BYTES));
        assert!(parts.iter().all(|p| p.timestamp_ms == 7));
        let joined: String = parts.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(joined, m);
        let out = batches(vec![ev(7, &m)]);
        check_limits(&out);
        let joined: String = out
            .iter()
            .flat_map(|b| b.events().iter().map(|e| e.message.as_str()))
            .collect();
        assert_eq!(joined, m);
    }

    #[test]
    fn split_never_cuts_a_multibyte_character() {
        // Place a 4-byte character across the cut at every offset.
        for offset in 1..4 {
            let m = format!("{}😀tail", "a".repeat(MAX_MESSAGE_BYTES - offset));
            let parts: Vec<_> = split_event(ev(1, &m)).collect();
            assert_eq!(parts.len(), 2, "offset {offset}");
            assert_eq!(parts[0].message, "a".repeat(MAX_MESSAGE_BYTES - offset));
            assert_eq!(parts[1].message, "😀tail");
        }
        // A character that ends exactly at the cut stays in the first part.
        let m = format!("{}😀tail", "a".repeat(MAX_MESSAGE_BYTES - 4));
        let parts: Vec<_> = split_event(ev(1, &m)).collect();
        assert_eq!(parts[0].message.len(), MAX_MESSAGE_BYTES);
        assert_eq!(parts[1].message, "tail");
    }

    #[test]
    fn split_of_only_multibyte_characters() {
        let m = "€".repeat(10); // 30 bytes
        let parts: Vec<_> = split_event_at(ev(1, &m), 8).collect();
        let lens: Vec<_> = parts.iter().map(|p| p.message.len()).collect();
        assert_eq!(lens, vec![6, 6, 6, 6, 6]);
        let joined: String = parts.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(joined, m);
    }

    #[test]
    fn mixed_stream_respects_every_limit() {
        let mut events = Vec::new();
        let mut ts = 1_000;
        for i in 0..20_000 {
            let len = if i % 1000 == 7 {
                300_000
            } else {
                [1, 80, 500, 5_000][i % 4]
            };
            let c = ['x', 'é', '€', '😀'][i % 4];
            let n = len / c.len_utf8() + 1;
            events.push(ev(ts, &c.to_string().repeat(n)));
            // Mostly forward, sometimes backwards, sometimes a jump of hours.
            ts += [1, 0, -3, 3_600_000 * 5][i % 4];
        }
        let total: usize = events.iter().map(|e| e.message.len()).sum();
        let out = batches(events);
        check_limits(&out);
        let sent: usize = out
            .iter()
            .flat_map(|b| b.events().iter().map(|e| e.message.len()))
            .sum();
        assert_eq!(sent, total);
    }
}
