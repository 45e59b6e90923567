//! The shipper: a tokio task that drains one stream's buffer into PutLogEvents requests.

use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::logs::LogEvent;
use crate::logs::batch::{BatchBuilder, split_event};
use crate::logs::buffer::{Buffer, write_line};
use crate::logs::sink::{CloudWatchSink, LogSink, PutOutcome, SinkError};

/// How a [`Shipper`] behaves. Start from [`ShipperOptions::new`] and change fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipperOptions {
    /// The local file for what does not fit in memory and, at the end, for every event that was
    /// not delivered (JSON lines: `{"timestamp_ms": ..., "message": "..."}`). Created only when
    /// needed; removed at the end when everything was delivered.
    pub spill_path: PathBuf,
    /// The most bytes of pending events held in memory (message bytes plus a small per-event
    /// overhead); older pending events go to the spill file. The batch being sent (at most
    /// 1 MiB of messages) comes on top. Default 8 MiB.
    pub max_buffer_bytes: usize,
    /// How long a batch that is not full waits for more events before it is sent. Shorter means
    /// fresher logs and more requests (PutLogEvents is throttled per account). Default 1 s;
    /// `finish` sends at once.
    pub linger: Duration,
    /// The first retry's delay; it doubles up to `max_backoff`, each delay jittered to between
    /// half and all of it. Default 100 ms.
    pub initial_backoff: Duration,
    /// The longest delay between two retries. Default 5 s.
    pub max_backoff: Duration,
    /// How long one request may take before it is abandoned and retried. Default 30 s.
    pub attempt_timeout: Duration,
}

impl ShipperOptions {
    /// The defaults, with the spill file at `spill_path`.
    pub fn new(spill_path: impl Into<PathBuf>) -> ShipperOptions {
        ShipperOptions {
            spill_path: spill_path.into(),
            max_buffer_bytes: 8 * 1024 * 1024,
            linger: Duration::from_secs(1),
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// What became of the events of one shipper, from [`ShipperHandle::finish`].
///
/// Every event accepted by [`ShipperHandle::send`] (after splitting long messages) is counted
/// exactly once: `accepted == delivered + rejected + undelivered + lost`. `restamped` and
/// `spilled` count events again, for what happened on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Events accepted by `send` (a long message counts once per part).
    pub accepted: u64,
    /// Events CloudWatch stored (re-stamped ones included).
    pub delivered: u64,
    /// Events CloudWatch refused for their timestamp (too old, too new, expired) twice: as
    /// they were written, then re-stamped. Gone.
    pub rejected: u64,
    /// Events re-sent with a new timestamp after CloudWatch refused them for theirs
    /// (`rejectedLogEventsInfo`), their original timestamp kept in the message. Each is also
    /// counted where it ended: `delivered` (or `rejected` when refused again, `undelivered`
    /// when the deadline came first).
    pub restamped: u64,
    /// Events not delivered: those still pending at the deadline, those CloudWatch refused
    /// with a non-retryable error (AccessDenied, bad credentials), and single events it
    /// refused with InvalidParameter even after repair. All of them are in the spill file, in
    /// order (the refused ones first).
    pub undelivered: u64,
    /// Events lost because the spill file could not be written or read back (see `error`).
    pub lost: u64,
    /// The file holding the `undelivered` events; `None` when there are none.
    pub spill_path: Option<PathBuf>,
    /// Events that went through the spill file while the shipper ran (memory was full).
    pub spilled: u64,
    /// Requests made to CloudWatch (PutLogEvents, CreateLogStream, CreateLogGroup), failed
    /// ones included.
    pub requests: u64,
    /// Why events were not delivered, else the last error CloudWatch or the network returned
    /// (error codes and messages only, never log content). In order of precedence: the first
    /// spill-file error (events lost), the last refusal (events refused for good and kept in
    /// the spill file), the last error (retried, or pending at the deadline).
    pub error: Option<String>,
}

impl DeliveryReport {
    /// Whether every accepted event reached CloudWatch (rejected ones count as reached: they
    /// will never be accepted).
    pub fn complete(&self) -> bool {
        self.undelivered == 0 && self.lost == 0
    }
}

/// Starts shippers. See the [module docs](crate::logs).
#[derive(Debug)]
pub struct Shipper;

impl Shipper {
    /// Starts shipping to `group`/`stream` (created when missing) with a CloudWatch Logs
    /// client made from `config`, on a task of the current tokio runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start(
        config: &aws_config::SdkConfig,
        group: &str,
        stream: &str,
        options: ShipperOptions,
    ) -> ShipperHandle {
        let sink = CloudWatchSink::new(
            config,
            group.to_owned(),
            stream.to_owned(),
            options.attempt_timeout,
        );
        Shipper::start_with_sink(sink, options)
    }

    /// Starts shipping to `sink` instead of CloudWatch: for tests and benchmarks.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn start_with_sink<S: LogSink>(sink: S, options: ShipperOptions) -> ShipperHandle {
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer::new(
                options.max_buffer_bytes,
                options.spill_path.clone(),
            )),
            notify: Notify::new(),
            accepted: AtomicU64::new(0),
            last_timestamp_ms: AtomicI64::new(0),
        });
        let (finish_tx, finish_rx) = oneshot::channel();
        let worker = Worker::new(sink, Arc::clone(&shared), options, Some(finish_rx));
        let task = tokio::spawn(worker.run());
        ShipperHandle {
            shared,
            finish_tx,
            task,
        }
    }
}

/// The sending side of a running shipper. Dropping it without [`finish`](Self::finish) stops
/// the shipper at once and leaves every event not yet delivered in the spill file.
#[derive(Debug)]
pub struct ShipperHandle {
    shared: Arc<Shared>,
    finish_tx: oneshot::Sender<Instant>,
    task: JoinHandle<DeliveryReport>,
}

impl ShipperHandle {
    /// Queues an event. Never waits for the network or the shipper and never drops the event:
    /// a message longer than CloudWatch's per-event maximum is split into several events; when
    /// memory is full, the oldest pending events are appended to the spill file (a local write,
    /// buffered, the only I/O this does).
    pub fn send(&self, event: LogEvent) {
        let mut n = 0;
        // The caller's clock, for re-stamping events CloudWatch rejects for their timestamp.
        self.shared
            .last_timestamp_ms
            .store(event.timestamp_ms, Ordering::Relaxed);
        {
            let mut buffer = lock(&self.shared.buffer);
            for part in split_event(event) {
                buffer.push(part);
                n += 1;
            }
        }
        self.shared.accepted.fetch_add(n, Ordering::Relaxed);
        self.shared.notify.notify_one();
    }

    /// How many events are waiting to be sent (not counting the batch in flight).
    pub fn pending(&self) -> u64 {
        lock(&self.shared.buffer).len()
    }

    /// Sends everything queued, taking at most `deadline`: no linger, retries go on until the
    /// deadline. At the deadline, the request in flight is abandoned (it may still have been
    /// stored: delivery is at least once) and every event not delivered is written to the
    /// spill file.
    pub async fn finish(self, deadline: Duration) -> DeliveryReport {
        let ShipperHandle {
            shared,
            finish_tx,
            task,
        } = self;
        // An error here means the task has ended already; the join below reports it.
        let _ = finish_tx.send(Instant::now() + deadline);
        match task.await {
            Ok(report) => report,
            Err(e) => {
                // Only a panic in the shipper can get here. What is still in the buffer can be
                // saved; the batch it was sending is lost.
                let mut buffer = lock(&shared.buffer);
                let accepted = shared.accepted.load(Ordering::Relaxed);
                let path = buffer.spill_path().to_owned();
                let saved = save_pending(&path, None, &[], &mut buffer);
                let (undelivered, error) = match saved {
                    Ok(n) => (n, format!("the log shipper failed: {e}")),
                    Err(io) => (0, format!("the log shipper failed: {e}; {io}")),
                };
                DeliveryReport {
                    accepted,
                    delivered: 0,
                    rejected: 0,
                    restamped: 0,
                    undelivered,
                    lost: accepted.saturating_sub(undelivered),
                    spill_path: (undelivered > 0).then_some(path),
                    spilled: buffer.spilled_total(),
                    requests: 0,
                    error: Some(error),
                }
            }
        }
    }
}

#[derive(Debug)]
struct Shared {
    buffer: Mutex<Buffer>,
    notify: Notify,
    accepted: AtomicU64,
    /// The timestamp of the last event `send` accepted: the shipper's idea of "now" (it has no
    /// clock of its own), for re-stamping.
    last_timestamp_ms: AtomicI64,
}

/// Locks the buffer. A panic while it was held cannot leave it half-changed in a way that
/// matters more than losing the events, so a poisoned lock is used as is.
fn lock(m: &Mutex<Buffer>) -> MutexGuard<'_, Buffer> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[derive(Debug, Default)]
struct Counts {
    delivered: u64,
    rejected: u64,
    restamped: u64,
    /// Refused for good (non-retryable errors), in the dead-letter file.
    refused: u64,
    /// Why events were last refused for good.
    refusal: Option<String>,
    /// The last error, refusals included.
    error: Option<String>,
}

/// Events refused for good, kept until the end in a file beside the spill file.
#[derive(Debug)]
struct DeadLetters {
    path: PathBuf,
    file: BufWriter<File>,
}

/// Jittered exponential backoff.
#[derive(Debug)]
struct Backoff {
    attempt: u32,
    hasher: RandomState,
    counter: u64,
}

impl Backoff {
    fn new() -> Backoff {
        Backoff {
            attempt: 0,
            hasher: RandomState::new(),
            counter: 0,
        }
    }

    /// The next delay: `initial * 2^attempt` capped at `max`, jittered uniformly into
    /// `[d/2, d]` so that many tasks throttled together do not retry in step. The randomness
    /// comes from std's randomly keyed hasher over a counter (no `rand` dependency).
    fn next(&mut self, initial: Duration, max: Duration) -> Duration {
        let exp = initial.saturating_mul(1u32 << self.attempt.min(20));
        let d = exp.min(max);
        self.attempt = self.attempt.saturating_add(1);
        self.counter += 1;
        let mut h = self.hasher.build_hasher();
        h.write_u64(self.counter);
        let frac = (h.finish() >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        d / 2 + d.mul_f64(0.5 * frac)
    }

    fn reset(&mut self) {
        self.attempt = 0;
    }
}

/// What became of one batch.
enum Sent {
    Done,
    /// The deadline came first: what was not sent of the batch is given back to be saved, in
    /// order.
    Abandoned(Vec<LogEvent>),
}

/// What became of one request, retries included.
enum Put {
    /// CloudWatch stored the events, but those it refused for their timestamp.
    Stored(PutOutcome),
    /// InvalidParameter: the request broke a rule; one of its events may be at fault.
    Invalid(String),
    /// Refused for good, whatever the events (AccessDenied...).
    Refused(String),
    /// The deadline came first.
    Abandoned,
}

/// Consecutive events of a batch, sent in one request.
struct Piece {
    events: Vec<LogEvent>,
    /// Went through [`Worker::rebatch`] already, and so did everything cut from it: refused with
    /// InvalidParameter, it is cut in two, or, one event, given up on.
    repaired: bool,
    /// Re-stamped after CloudWatch rejected it for its timestamp, and so was everything cut
    /// from it: rejected again, it is rejected for good.
    restamped: bool,
}

struct Worker<S> {
    sink: S,
    shared: Arc<Shared>,
    options: ShipperOptions,
    builder: BatchBuilder,
    /// The event that did not fit in the current batch: the first of the next one.
    carry: Option<LogEvent>,
    stream_ready: bool,
    finish_rx: Option<oneshot::Receiver<Instant>>,
    deadline: Option<Instant>,
    backoff: Backoff,
    counts: Counts,
    dead: Option<DeadLetters>,
}

impl<S: LogSink> Worker<S> {
    fn new(
        sink: S,
        shared: Arc<Shared>,
        options: ShipperOptions,
        finish_rx: Option<oneshot::Receiver<Instant>>,
    ) -> Worker<S> {
        Worker {
            sink,
            shared,
            options,
            builder: BatchBuilder::new(),
            carry: None,
            stream_ready: false,
            finish_rx,
            deadline: None,
            backoff: Backoff::new(),
            counts: Counts::default(),
            dead: None,
        }
    }

    async fn run(mut self) -> DeliveryReport {
        let mut opened: Option<Instant> = None;
        loop {
            self.fill();
            if self.builder.is_empty() {
                opened = None;
            } else if opened.is_none() {
                opened = Some(Instant::now());
            }
            let full = self.carry.is_some() || self.builder.is_full();
            let due = opened.is_some_and(|t| {
                self.deadline.is_some() || Instant::now() >= t + self.options.linger
            });
            if full || due {
                opened = None;
                if let Some(batch) = self.builder.take()
                    && let Sent::Abandoned(events) = self.send(batch.into_events()).await
                {
                    return self.stop(Some(events));
                }
                continue;
            }
            if let Some(deadline) = self.deadline {
                if self.builder.is_empty() && lock(&self.shared.buffer).is_empty() {
                    return self.stop(None);
                }
                if Instant::now() >= deadline {
                    return self.stop(None);
                }
            }
            let linger_end = opened.map(|t| t + self.options.linger);
            let shared = Arc::clone(&self.shared);
            tokio::select! {
                () = shared.notify.notified() => {}
                () = sleep_until_opt(linger_end) => {}
                d = recv_opt(&mut self.finish_rx) => self.set_deadline(d),
            }
        }
    }

    /// Moves pending events into the batch being built until it is full or nothing is pending.
    fn fill(&mut self) {
        if self.carry.is_some() && !self.builder.is_empty() {
            return;
        }
        if let Some(e) = self.carry.take()
            && let Err(e) = self.builder.push(e)
        {
            self.carry = Some(e);
            return;
        }
        let mut buffer = lock(&self.shared.buffer);
        while !self.builder.is_full() {
            let Some(e) = buffer.pop() else { break };
            if let Err(e) = self.builder.push(e) {
                self.carry = Some(e);
                break;
            }
        }
    }

    fn set_deadline(&mut self, d: Result<Instant, oneshot::error::RecvError>) {
        self.finish_rx = None;
        // The handle was dropped without `finish`: stop now.
        self.deadline = Some(d.unwrap_or_else(|_| Instant::now()));
    }

    /// Sleeps for the next backoff delay; false when the deadline passes first.
    async fn back_off(&mut self) -> bool {
        let delay = self
            .backoff
            .next(self.options.initial_backoff, self.options.max_backoff);
        let sleep = tokio::time::sleep(delay);
        bounded_on(&mut self.finish_rx, &mut self.deadline, sleep)
            .await
            .is_some()
    }

    /// Sends one batch, retrying until it is stored, refused for good, or the deadline passes.
    ///
    /// The batch is sent as a queue of pieces, one request at a time, front first; at the
    /// start the whole batch is the one piece. What CloudWatch says of a piece can put new
    /// pieces at the front of the queue, in the order of their events, so nothing is sent
    /// before an event that came earlier in the batch:
    /// - InvalidParameter (rule 12 of the design): the piece is repaired ([`Self::rebatch`]: an
    ///   empty message becomes a space, an oversized one is split at UTF-8 boundaries,
    ///   timestamps out of order are raised, limits are kept) and sent again; when repair
    ///   changes nothing, or the repaired piece is refused too, it is cut in two halves, the
    ///   first sent before the second, down to single events. A single event refused even
    ///   after repair is refused for good: kept in the dead-letter file and counted, and the
    ///   rest goes on.
    /// - Events rejected for their timestamp (rule 13) are re-stamped ([`restamp`]) and sent
    ///   next, once: rejected again, they are counted as rejected.
    /// - Any other refusal (AccessDenied...) refuses the piece and the rest of the queue: they
    ///   would be refused the same way.
    async fn send(&mut self, events: Vec<LogEvent>) -> Sent {
        let mut queue = VecDeque::from([Piece {
            events,
            repaired: false,
            restamped: false,
        }]);
        while let Some(mut piece) = queue.pop_front() {
            match self.put(&piece.events).await {
                Put::Abandoned => {
                    let mut events = piece.events;
                    events.extend(queue.into_iter().flat_map(|p| p.events));
                    return Sent::Abandoned(events);
                }
                Put::Stored(outcome) => {
                    self.backoff.reset();
                    let n = piece.events.len();
                    let too_old = outcome.too_old.min(n);
                    let too_new = outcome.too_new.min(n - too_old);
                    let rejected = too_old + too_new;
                    self.counts.delivered += (n - rejected) as u64;
                    if rejected == 0 {
                        continue;
                    }
                    if piece.restamped {
                        self.counts.rejected += rejected as u64;
                        continue;
                    }
                    let mut events = piece.events;
                    let tail = events.split_off(n - too_new);
                    events.truncate(too_old);
                    events.extend(tail);
                    let now = self.shared.last_timestamp_ms.load(Ordering::Relaxed);
                    let restamped = events.into_iter().map(|e| restamp(e, now));
                    let pieces = self.rebatch(restamped);
                    self.counts.restamped += pieces.iter().map(|p| p.len() as u64).sum::<u64>();
                    push_front(&mut queue, pieces, false, true);
                }
                Put::Invalid(text) => {
                    self.counts.error = Some(text.clone());
                    if !piece.repaired {
                        let repaired = self.rebatch(piece.events.iter().cloned());
                        if repaired.len() != 1 || repaired[0] != piece.events {
                            push_front(&mut queue, repaired, true, piece.restamped);
                            continue;
                        }
                        piece.repaired = true;
                    }
                    if piece.events.len() > 1 {
                        let second = piece.events.split_off(piece.events.len() / 2);
                        let halves = vec![piece.events, second];
                        push_front(&mut queue, halves, true, piece.restamped);
                    } else {
                        self.refuse(
                            &piece.events,
                            format!(
                                "{text} (an event refused on its own even after repair; kept \
                                 in the spill file)"
                            ),
                        );
                    }
                }
                Put::Refused(text) => {
                    let mut events = piece.events;
                    events.extend(queue.into_iter().flat_map(|p| p.events));
                    self.refuse(&events, text);
                    return Sent::Done;
                }
            }
        }
        Sent::Done
    }

    /// Sends one request, retrying until it is answered for good or the deadline passes.
    async fn put(&mut self, events: &[LogEvent]) -> Put {
        let mut recreated = false;
        loop {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Put::Abandoned;
            }
            if !self.stream_ready {
                let created = {
                    let sink = &mut self.sink;
                    let fut = sink.create_stream();
                    bounded_on(&mut self.finish_rx, &mut self.deadline, fut).await
                };
                match created {
                    None => return Put::Abandoned,
                    Some(Ok(())) => self.stream_ready = true,
                    // A bad group or stream name: nothing to do with the events.
                    Some(Err(SinkError::Fatal(text) | SinkError::InvalidParameter(text))) => {
                        return Put::Refused(text);
                    }
                    Some(Err(SinkError::Retryable(text) | SinkError::NotFound(text))) => {
                        self.counts.error = Some(text);
                        if !self.back_off().await {
                            return Put::Abandoned;
                        }
                        continue;
                    }
                }
            }
            let put = {
                let sink = &mut self.sink;
                let fut = sink.put(events);
                bounded_on(&mut self.finish_rx, &mut self.deadline, fut).await
            };
            match put {
                None => return Put::Abandoned,
                Some(Ok(outcome)) => return Put::Stored(outcome),
                Some(Err(SinkError::NotFound(text))) => {
                    // Deleted under us, or created by someone else's mistake: create it and
                    // send again, at once the first time, with backoff if it keeps happening.
                    self.counts.error = Some(text);
                    self.stream_ready = false;
                    if recreated && !self.back_off().await {
                        return Put::Abandoned;
                    }
                    recreated = true;
                }
                Some(Err(SinkError::Retryable(text))) => {
                    self.counts.error = Some(text);
                    if !self.back_off().await {
                        return Put::Abandoned;
                    }
                }
                Some(Err(SinkError::InvalidParameter(text))) => return Put::Invalid(text),
                Some(Err(SinkError::Fatal(text))) => return Put::Refused(text),
            }
        }
    }

    /// Splits `events` into events CloudWatch accepts and batches them anew, in order (see
    /// [`split_event`] and [`BatchBuilder`]; a new builder, so the first timestamp is kept
    /// as it is). Splitting makes more events than were accepted: `accepted` grows to match.
    fn rebatch(&mut self, events: impl IntoIterator<Item = LogEvent>) -> Vec<Vec<LogEvent>> {
        let mut builder = BatchBuilder::new();
        let mut out = Vec::new();
        let (mut taken, mut made) = (0u64, 0u64);
        for e in events {
            taken += 1;
            for part in split_event(e) {
                made += 1;
                if let Err(part) = builder.push(part) {
                    out.push(builder.take_events());
                    let fits = builder.push(part).is_ok();
                    debug_assert!(fits, "an event from split_event fits an empty batch");
                }
            }
        }
        let last = builder.take_events();
        if !last.is_empty() {
            out.push(last);
        }
        self.shared
            .accepted
            .fetch_add(made.saturating_sub(taken), Ordering::Relaxed);
        out
    }

    /// Events refused for good: kept in the dead-letter file, counted as not delivered.
    ///
    /// Decision: AccessDenied and the like are not retried, and an event CloudWatch refuses
    /// on its own even after repair is not sent again. Retrying cannot fix them while the task
    /// runs, and retrying forever would hold every later line back. The events are not dropped
    /// either: they end up in the spill file for a later upload or for a person to read, and
    /// the report counts them.
    fn refuse(&mut self, events: &[LogEvent], why: String) {
        self.backoff.reset();
        let why = match self.dead_letter(events) {
            Ok(()) => {
                self.counts.refused += events.len() as u64;
                why
            }
            // Counted as lost by `stop`, from accepted minus the rest.
            Err(e) => format!("cannot keep undeliverable events: {e} (refused: {why})"),
        };
        self.counts.error = Some(why.clone());
        self.counts.refusal = Some(why);
    }

    fn dead_letter(&mut self, events: &[LogEvent]) -> io::Result<()> {
        if self.dead.is_none() {
            let mut path = self.options.spill_path.clone().into_os_string();
            path.push(".undeliverable");
            let path = PathBuf::from(path);
            let file = BufWriter::new(File::create(&path)?);
            self.dead = Some(DeadLetters { path, file });
        }
        let Some(dead) = self.dead.as_mut() else {
            return Err(io::Error::other("dead-letter file not open"));
        };
        for e in events {
            write_line(&mut dead.file, e)?;
        }
        dead.file.flush()
    }

    /// Ends the shipper: writes what was not delivered to the spill file and reports.
    fn stop(mut self, abandoned: Option<Vec<LogEvent>>) -> DeliveryReport {
        let mut pending: Vec<LogEvent> = abandoned.unwrap_or_default();
        pending.extend(self.builder.take_events());
        pending.extend(self.carry.take());
        let shared = Arc::clone(&self.shared);
        let mut buffer = lock(&shared.buffer);
        let accepted = shared.accepted.load(Ordering::Relaxed);
        let path = self.options.spill_path.clone();
        let dead = self.dead.take();
        let saved = save_pending(&path, dead, &pending, &mut buffer);
        let (undelivered, save_error) = match saved {
            Ok(n) => (n, None),
            Err(e) => (
                0,
                Some(format!(
                    "cannot write the undelivered events to {}: {e}",
                    path.display()
                )),
            ),
        };
        let lost =
            accepted.saturating_sub(self.counts.delivered + self.counts.rejected + undelivered);
        let error = buffer
            .error()
            .map(str::to_owned)
            .or(save_error)
            .or(self.counts.refusal.take())
            .or(self.counts.error.take());
        DeliveryReport {
            accepted,
            delivered: self.counts.delivered,
            rejected: self.counts.rejected,
            restamped: self.counts.restamped,
            undelivered,
            lost,
            spill_path: (undelivered > 0).then_some(path),
            spilled: buffer.spilled_total(),
            requests: self.sink.requests(),
            error,
        }
    }
}

/// Moves `pieces` to the front of `queue`, in their order.
fn push_front(
    queue: &mut VecDeque<Piece>,
    pieces: Vec<Vec<LogEvent>>,
    repaired: bool,
    restamped: bool,
) {
    for events in pieces.into_iter().rev() {
        queue.push_front(Piece {
            events,
            repaired,
            restamped,
        });
    }
}

/// The key [`restamp`] adds to a JSON message.
const ORIGINAL_TIMESTAMP_KEY: &str = "original_timestamp_ms";

/// `event` stamped `now`, with its timestamp kept in its message: as a field
/// `"original_timestamp_ms": <ms>` added at the end of a message that is a JSON object (the
/// runtime's lines are), the text left as it is otherwise; any other message gets the prefix
/// `[original timestamp <ms>] `. A JSON object that has the field already keeps it (it was
/// re-stamped before, and that value is the older one). The message may grow beyond an
/// event's limit: it goes through [`split_event`] after.
fn restamp(event: LogEvent, now: i64) -> LogEvent {
    let LogEvent {
        timestamp_ms: original,
        message,
    } = event;
    let message = match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&message)
    {
        Ok(object) if object.contains_key(ORIGINAL_TIMESTAMP_KEY) => message,
        Ok(object) => {
            // Written into the text rather than re-serialized, so the rest stays byte for
            // byte. A JSON object's text ends with `}`, after trailing whitespace.
            let body = message.trim_end();
            let body = body.strip_suffix('}').unwrap_or(body);
            let comma = if object.is_empty() { "" } else { "," };
            format!("{body}{comma}\"{ORIGINAL_TIMESTAMP_KEY}\":{original}}}")
        }
        Err(_) => format!("[original timestamp {original}] {message}"),
    };
    LogEvent {
        timestamp_ms: now,
        message,
    }
}

/// Writes the final spill file: the dead letters, then `pending` (the batch in flight and the
/// one being built), then everything in the buffer, in order. Built beside the spill file and
/// renamed over it, since the buffer may be reading the old one. Returns how many events it
/// holds; removes the files when there are none.
fn save_pending(
    path: &std::path::Path,
    dead: Option<DeadLetters>,
    pending: &[LogEvent],
    buffer: &mut Buffer,
) -> io::Result<u64> {
    let mut tmp = path.to_owned().into_os_string();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut n = 0;
    let mut out = BufWriter::new(File::create(&tmp)?);
    if let Some(mut dead) = dead {
        dead.file.flush()?;
        drop(dead.file);
        let mut from = File::open(&dead.path)?;
        n += count_lines(&mut from)?;
        let mut from = File::open(&dead.path)?;
        io::copy(&mut from, &mut out)?;
        std::fs::remove_file(&dead.path)?;
    }
    for e in pending {
        write_line(&mut out, e)?;
        n += 1;
    }
    n += buffer.drain_to(&mut out)?;
    out.flush()?;
    drop(out);
    buffer.remove_spill_file();
    if n == 0 {
        std::fs::remove_file(&tmp)?;
    } else {
        std::fs::rename(&tmp, path)?;
    }
    Ok(n)
}

fn count_lines(r: &mut impl io::Read) -> io::Result<u64> {
    let mut buf = [0u8; 64 * 1024];
    let mut n = 0;
    loop {
        let k = r.read(&mut buf)?;
        if k == 0 {
            return Ok(n);
        }
        n += buf[..k].iter().filter(|b| **b == b'\n').count() as u64;
    }
}

/// Runs `fut` unless the deadline passes first, noticing `finish` meanwhile. A free function
/// over the worker's fields, not a method, so that `fut` may borrow the worker's sink.
async fn bounded_on<F: Future>(
    finish_rx: &mut Option<oneshot::Receiver<Instant>>,
    deadline: &mut Option<Instant>,
    fut: F,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let d = *deadline;
        tokio::select! {
            out = &mut fut => return Some(out),
            r = recv_opt(finish_rx) => {
                *finish_rx = None;
                *deadline = Some(r.unwrap_or_else(|_| Instant::now()));
            }
            () = sleep_until_opt(d) => return None,
        }
    }
}

/// Waits for `finish`; never resolves once it has been received.
async fn recv_opt(
    rx: &mut Option<oneshot::Receiver<Instant>>,
) -> Result<Instant, oneshot::error::RecvError> {
    match rx.as_mut() {
        Some(rx) => rx.await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `t`; never resolves for `None`.
async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::logs::PutOutcome;
    use crate::logs::batch::{
        EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_MESSAGE_BYTES,
    };

    /// A sink that records batches and answers from a script (then succeeds). Like CloudWatch,
    /// it refuses with InvalidParameter a batch with an empty or oversized message or out of
    /// order (and, in tests that want it, one holding an event `refuse` picks), and rejects
    /// events older than `too_old_before` while storing the rest.
    #[derive(Clone, Default)]
    struct Fake(Arc<Mutex<FakeState>>);

    #[derive(Default)]
    struct FakeState {
        puts: VecDeque<Result<PutOutcome, SinkError>>,
        creates: VecDeque<Result<(), SinkError>>,
        /// Answer every put with this once the script is used up.
        always: Option<SinkError>,
        stored: Vec<LogEvent>,
        batches: Vec<usize>,
        create_calls: u64,
        put_calls: u64,
        /// While set, puts wait for it to be notified.
        gate: Option<Arc<tokio::sync::Semaphore>>,
        /// Refuse (InvalidParameter) every batch holding an event this picks.
        refuse: Option<fn(&LogEvent) -> bool>,
        /// Reject (too old) the events older than this.
        too_old_before: Option<i64>,
        /// InvalidParameter answers given.
        invalid: u64,
    }

    /// Why CloudWatch would refuse the whole batch with InvalidParameter.
    fn invalid(events: &[LogEvent], refuse: Option<fn(&LogEvent) -> bool>) -> Option<&str> {
        if events.iter().any(|e| e.message.is_empty()) {
            Some("empty message")
        } else if events.iter().any(|e| e.message.len() > MAX_MESSAGE_BYTES) {
            Some("message too long")
        } else if events
            .windows(2)
            .any(|w| w[0].timestamp_ms > w[1].timestamp_ms)
        {
            Some("not in chronological order")
        } else if refuse.is_some_and(|f| events.iter().any(f)) {
            Some("a bad event")
        } else {
            None
        }
    }

    impl Fake {
        fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
            self.0.lock().unwrap()
        }
    }

    impl LogSink for Fake {
        async fn create_stream(&mut self) -> Result<(), SinkError> {
            let mut s = self.state();
            s.create_calls += 1;
            s.creates.pop_front().unwrap_or(Ok(()))
        }

        async fn put(&mut self, events: &[LogEvent]) -> Result<PutOutcome, SinkError> {
            let gate = self.state().gate.clone();
            if let Some(g) = gate {
                g.acquire().await.unwrap().forget();
            }
            let mut s = self.state();
            s.put_calls += 1;
            assert!(!events.is_empty() && events.len() <= MAX_BATCH_EVENTS);
            let bytes: usize = events
                .iter()
                .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
                .sum();
            assert!(bytes <= MAX_BATCH_BYTES);
            let answer = match s.puts.pop_front() {
                Some(a) => a,
                None => match &s.always {
                    Some(e) => Err(e.clone()),
                    None => Ok(PutOutcome::default()),
                },
            };
            let answer = answer.and_then(|mut outcome| {
                if let Some(why) = invalid(events, s.refuse) {
                    s.invalid += 1;
                    return Err(SinkError::InvalidParameter(format!(
                        "InvalidParameterException: {why}"
                    )));
                }
                if let Some(cut) = s.too_old_before {
                    let old = events.iter().take_while(|e| e.timestamp_ms < cut).count();
                    outcome.too_old = outcome.too_old.max(old);
                }
                Ok(outcome)
            });
            if let Ok(o) = &answer {
                let n = events.len();
                s.stored
                    .extend_from_slice(&events[o.too_old..n - o.too_new.min(n - o.too_old)]);
                s.batches.push(n);
            }
            answer
        }

        fn requests(&self) -> u64 {
            let s = self.state();
            s.create_calls + s.put_calls
        }
    }

    fn ev(i: usize) -> LogEvent {
        LogEvent {
            timestamp_ms: 1_700_000_000_000 + i as i64 / 10,
            message: format!("line {i:06} {}", "x".repeat(i % 90)),
        }
    }

    fn options(name: &str) -> ShipperOptions {
        let path = std::env::temp_dir().join(format!(
            "airtask-shipper-{}-{name}.jsonl",
            std::process::id()
        ));
        let _ = std::fs::remove_file(&path);
        ShipperOptions::new(path)
    }

    fn read_spill(path: &std::path::Path) -> Vec<LogEvent> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn delivers_everything_in_order() {
        let fake = Fake::default();
        let opts = options("order");
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        let n = 50_000;
        for i in 0..n {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(10)).await;
        assert_eq!(r.accepted, n as u64);
        assert_eq!(r.delivered, n as u64);
        assert!(r.complete(), "{r:?}");
        assert_eq!(r.spill_path, None);
        assert!(!spill.exists());
        let s = fake.state();
        assert_eq!(s.stored, (0..n).map(ev).collect::<Vec<_>>());
        assert_eq!(s.create_calls, 1);
        assert_eq!(s.invalid, 0);
        assert_eq!(r.requests, 1 + s.put_calls);
    }

    #[tokio::test(start_paused = true)]
    async fn a_partial_batch_waits_for_the_linger() {
        let fake = Fake::default();
        let mut opts = options("linger");
        opts.linger = Duration::from_secs(1);
        let h = Shipper::start_with_sink(fake.clone(), opts);
        h.send(ev(1));
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert_eq!(fake.state().put_calls, 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(fake.state().put_calls, 1);
        let r = h.finish(Duration::from_secs(1)).await;
        assert_eq!(r.delivered, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_throttling_and_server_errors() {
        let fake = Fake::default();
        {
            let mut s = fake.state();
            s.creates
                .push_back(Err(SinkError::Retryable("Throttling".into())));
            for _ in 0..3 {
                s.puts
                    .push_back(Err(SinkError::Retryable("ThrottlingException".into())));
            }
            s.puts
                .push_back(Err(SinkError::Retryable("ServiceUnavailable".into())));
        }
        let h = Shipper::start_with_sink(fake.clone(), options("retry"));
        for i in 0..100 {
            h.send(ev(i));
        }
        let start = Instant::now();
        let r = h.finish(Duration::from_secs(60)).await;
        assert!(r.complete(), "{r:?}");
        assert_eq!(r.delivered, 100);
        // 2 creates + 4 failed puts + 1 good one.
        assert_eq!(r.requests, 7);
        // Backoff: 50-100, 100-200, 200-400, 400-800, 800-1600 ms.
        let waited = start.elapsed();
        assert!(waited >= Duration::from_millis(1550), "{waited:?}");
        assert!(waited <= Duration::from_millis(3100), "{waited:?}");
        assert_eq!(fake.state().stored, (0..100).map(ev).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_is_capped() {
        let mut b = Backoff::new();
        let max = Duration::from_secs(5);
        for i in 0..40 {
            let d = b.next(Duration::from_millis(100), max);
            assert!(d <= max, "{i}: {d:?}");
            if i >= 10 {
                assert!(d >= max / 2, "{i}: {d:?}");
            }
        }
        b.reset();
        assert!(b.next(Duration::from_millis(100), max) <= Duration::from_millis(100));
    }

    #[tokio::test(start_paused = true)]
    async fn missing_stream_is_created_again() {
        let fake = Fake::default();
        fake.state()
            .puts
            .push_back(Err(SinkError::NotFound("ResourceNotFoundException".into())));
        let h = Shipper::start_with_sink(fake.clone(), options("notfound"));
        for i in 0..10 {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(10)).await;
        assert!(r.complete(), "{r:?}");
        assert_eq!(r.delivered, 10);
        assert_eq!(fake.state().create_calls, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn fatal_errors_keep_the_batch_in_the_spill_file() {
        let fake = Fake::default();
        let mut opts = options("fatal");
        opts.linger = Duration::from_millis(10);
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        fake.state()
            .puts
            .push_back(Err(SinkError::Fatal("AccessDeniedException".into())));
        for i in 0..5 {
            h.send(ev(i));
        }
        // Let the first (refused) batch go before the next lines come.
        tokio::time::sleep(Duration::from_millis(50)).await;
        for i in 5..8 {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(10)).await;
        assert_eq!((r.delivered, r.undelivered, r.lost), (3, 5, 0), "{r:?}");
        assert_eq!(r.spill_path.as_deref(), Some(spill.as_path()));
        assert_eq!(r.error.as_deref(), Some("AccessDeniedException"));
        assert_eq!(read_spill(&spill), (0..5).map(ev).collect::<Vec<_>>());
        let s = fake.state();
        assert_eq!(s.stored, (5..8).map(ev).collect::<Vec<_>>());
        // No bisection for AccessDenied: one refused request, one good one.
        assert_eq!(s.put_calls, 2);
        drop(s);
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn deadline_while_down_saves_exactly_the_undelivered_events() {
        let fake = Fake::default();
        fake.state().always = Some(SinkError::Retryable("connection refused".into()));
        let mut opts = options("down");
        opts.max_buffer_bytes = 4096;
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        let n = 30_000;
        for i in 0..n {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(3)).await;
        assert_eq!(r.delivered, 0);
        assert_eq!(r.undelivered, n as u64);
        assert!(r.spilled > 0);
        assert_eq!(r.lost, 0);
        assert!(!r.complete());
        assert_eq!(r.error.as_deref(), Some("connection refused"));
        assert_eq!(read_spill(&spill), (0..n).map(ev).collect::<Vec<_>>());
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_refused_batch_and_the_pending_ones_are_saved_in_order() {
        let fake = Fake::default();
        {
            let mut s = fake.state();
            s.puts
                .push_back(Err(SinkError::Fatal("AccessDeniedException".into())));
            s.always = Some(SinkError::Retryable("down".into()));
        }
        let mut opts = options("mixed");
        opts.linger = Duration::from_millis(1);
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        for i in 0..4 {
            h.send(ev(i));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        for i in 4..20_000 {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(2)).await;
        assert_eq!((r.delivered, r.undelivered), (0, 20_000));
        assert_eq!(read_spill(&spill), (0..20_000).map(ev).collect::<Vec<_>>());
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn backlog_goes_through_the_spill_file_and_arrives_in_order() {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let fake = Fake::default();
        fake.state().gate = Some(Arc::clone(&gate));
        let mut opts = options("backlog");
        opts.max_buffer_bytes = 64 * 1024;
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        let n = 100_000;
        for i in 0..n {
            h.send(ev(i));
            if i % 1000 == 0 {
                tokio::task::yield_now().await;
            }
        }
        // The sink is stuck: everything but one batch is pending.
        assert!(h.pending() >= (n - MAX_BATCH_EVENTS) as u64);
        gate.add_permits(1_000);
        let r = h.finish(Duration::from_secs(60)).await;
        assert!(r.complete(), "{r:?}");
        assert!(r.spilled > 50_000, "{r:?}");
        assert_eq!(fake.state().stored, (0..n).map(ev).collect::<Vec<_>>());
        assert!(!spill.exists());
    }

    #[test]
    fn the_handle_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<ShipperHandle>();
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_handle_leaves_the_events_in_the_spill_file() {
        let fake = Fake::default();
        fake.state().always = Some(SinkError::Retryable("down".into()));
        let opts = options("dropped");
        let spill = opts.spill_path.clone();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        for i in 0..100 {
            h.send(ev(i));
        }
        drop(h);
        // The file appears whole (it is renamed into place) once the shipper has stopped.
        for _ in 0..1000 {
            if spill.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(read_spill(&spill), (0..100).map(ev).collect::<Vec<_>>());
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn long_messages_are_split_and_counted() {
        let fake = Fake::default();
        let h = Shipper::start_with_sink(fake.clone(), options("long"));
        let long = "é".repeat(300_000); // 600,000 bytes: 3 events
        h.send(LogEvent {
            timestamp_ms: 5,
            message: long.clone(),
        });
        h.send(LogEvent {
            timestamp_ms: 6,
            message: String::new(),
        });
        let r = h.finish(Duration::from_secs(10)).await;
        assert_eq!((r.accepted, r.delivered), (4, 4));
        let s = fake.state();
        let joined: String = s.stored[..3].iter().map(|e| e.message.as_str()).collect();
        assert_eq!(joined, long);
        assert_eq!(s.stored[3].message, " ");
    }

    /// Event `i` with a message the fake refuses (when `refuse` is `refuse_bad`).
    fn bad(i: usize) -> LogEvent {
        LogEvent {
            timestamp_ms: ev(i).timestamp_ms,
            message: format!("line {i:06} BAD"),
        }
    }

    fn refuse_bad(e: &LogEvent) -> bool {
        e.message.contains("BAD")
    }

    /// Sends `events` (in one batch: nothing yields in between) and finishes.
    async fn ship(fake: &Fake, opts: ShipperOptions, events: &[LogEvent]) -> DeliveryReport {
        let h = Shipper::start_with_sink(fake.clone(), opts);
        for e in events {
            h.send(e.clone());
        }
        h.finish(Duration::from_secs(10)).await
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_parameter_bisects_down_to_the_one_bad_event() {
        let fake = Fake::default();
        fake.state().refuse = Some(refuse_bad);
        let opts = options("bisect-one");
        let spill = opts.spill_path.clone();
        let events: Vec<_> = (0..100)
            .map(|i| if i == 42 { bad(i) } else { ev(i) })
            .collect();
        let r = ship(&fake, opts, &events).await;
        assert_eq!(
            (r.accepted, r.delivered, r.rejected, r.undelivered, r.lost),
            (100, 99, 0, 1, 0),
            "{r:?}"
        );
        // The other 99 are stored, in order; the bad one is in the spill file.
        let s = fake.state();
        let good: Vec<_> = (0..100).filter(|i| *i != 42).map(ev).collect();
        assert_eq!(s.stored, good);
        assert_eq!(read_spill(&spill), vec![bad(42)]);
        let error = r.error.as_deref().unwrap();
        assert!(
            error.contains("InvalidParameterException: a bad event"),
            "{error}"
        );
        assert!(error.contains("on its own"), "{error}");
        // Bisection: about two requests per halving (7 of them for 100), not one per event.
        assert!(s.put_calls <= 16, "{}", s.put_calls);
        // Every request refused held the bad event: one per halving, and the first.
        assert!(s.invalid <= 8, "{}", s.invalid);
        drop(s);
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_parameter_bisects_down_to_two_bad_events() {
        let fake = Fake::default();
        fake.state().refuse = Some(refuse_bad);
        let opts = options("bisect-two");
        let spill = opts.spill_path.clone();
        let is_bad = |i: usize| i == 10 || i == 77;
        let events: Vec<_> = (0..100)
            .map(|i| if is_bad(i) { bad(i) } else { ev(i) })
            .collect();
        let r = ship(&fake, opts, &events).await;
        assert_eq!(
            (r.accepted, r.delivered, r.undelivered, r.lost),
            (100, 98, 2, 0),
            "{r:?}"
        );
        let good: Vec<_> = (0..100).filter(|i| !is_bad(*i)).map(ev).collect();
        assert_eq!(fake.state().stored, good);
        assert_eq!(read_spill(&spill), vec![bad(10), bad(77)]);
        std::fs::remove_file(spill).unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_during_bisection_saves_every_event_in_order() {
        let fake = Fake::default();
        {
            let mut s = fake.state();
            s.refuse = Some(refuse_bad);
            // The first request is answered (InvalidParameter: it holds the bad event), then
            // the service is down.
            s.puts.push_back(Ok(PutOutcome::default()));
            s.always = Some(SinkError::Retryable("down".into()));
        }
        let opts = options("bisect-deadline");
        let spill = opts.spill_path.clone();
        let events: Vec<_> = (0..100)
            .map(|i| if i == 60 { bad(i) } else { ev(i) })
            .collect();
        let h = Shipper::start_with_sink(fake.clone(), opts);
        for e in &events {
            h.send(e.clone());
        }
        let r = h.finish(Duration::from_secs(2)).await;
        assert_eq!((r.delivered, r.undelivered, r.lost), (0, 100, 0), "{r:?}");
        assert_eq!(fake.state().invalid, 1);
        // Both halves, in order, the bad event in its place.
        assert_eq!(read_spill(&spill), events);
        std::fs::remove_file(spill).unwrap();
    }

    /// A worker on `fake`, driven directly: to hand `send` a batch the batch builder would
    /// never make.
    fn worker(fake: &Fake, name: &str, accepted: u64) -> Worker<Fake> {
        let opts = options(name);
        let shared = Arc::new(Shared {
            buffer: Mutex::new(Buffer::new(opts.max_buffer_bytes, opts.spill_path.clone())),
            notify: Notify::new(),
            accepted: AtomicU64::new(accepted),
            last_timestamp_ms: AtomicI64::new(0),
        });
        Worker::new(fake.clone(), shared, opts, None)
    }

    fn at(ts: i64, message: &str) -> LogEvent {
        LogEvent {
            timestamp_ms: ts,
            message: message.to_owned(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn repair_makes_an_empty_message_and_a_step_back_in_time_deliverable() {
        let fake = Fake::default();
        let mut w = worker(&fake, "repair-empty", 3);
        let events = vec![at(10, "a"), at(5, "b"), at(12, "")];
        assert!(matches!(w.send(events).await, Sent::Done));
        {
            let s = fake.state();
            // Without repair, bisection would store "a" and "b" (out of order) and give up
            // on the empty message.
            assert_eq!(s.stored, vec![at(10, "a"), at(10, "b"), at(12, " ")]);
            assert_eq!((s.put_calls, s.invalid), (2, 1));
        }
        let r = w.stop(None);
        assert_eq!((r.accepted, r.delivered, r.undelivered), (3, 3, 0), "{r:?}");
        assert!(r.complete());
    }

    #[tokio::test(start_paused = true)]
    async fn repair_splits_an_oversized_message_and_counts_the_parts() {
        let fake = Fake::default();
        let mut w = worker(&fake, "repair-long", 2);
        let long = "y".repeat(MAX_MESSAGE_BYTES + 5);
        let events = vec![at(1, "x"), at(2, &long)];
        assert!(matches!(w.send(events).await, Sent::Done));
        assert_eq!(
            fake.state().stored,
            vec![
                at(1, "x"),
                at(2, &"y".repeat(MAX_MESSAGE_BYTES)),
                at(2, "yyyyy")
            ]
        );
        let r = w.stop(None);
        assert_eq!((r.accepted, r.delivered, r.undelivered), (3, 3, 0), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_event_refused_even_alone_and_repaired_is_kept() {
        let fake = Fake::default();
        fake.state().refuse = Some(refuse_bad);
        let mut w = worker(&fake, "repair-fails", 1);
        let spill = w.options.spill_path.clone();
        assert!(matches!(w.send(vec![bad(1)]).await, Sent::Done));
        // One request: repair changes nothing, and one event cannot be cut in two.
        let calls = {
            let s = fake.state();
            (s.put_calls, s.invalid)
        };
        assert_eq!(calls, (1, 1));
        let r = w.stop(None);
        assert_eq!((r.delivered, r.undelivered, r.lost), (0, 1, 0), "{r:?}");
        assert_eq!(read_spill(&spill), vec![bad(1)]);
        std::fs::remove_file(spill).unwrap();
    }

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;
    const NOW_MS: i64 = 1_700_000_000_000;

    /// A line as the runtime writes it.
    fn json_line(i: usize) -> String {
        format!(
            r#"{{"timestamp":"2023-11-14T22:13:20Z","level":"info","event":"line {i}","logger":"task.stdout","seq":{i}}}"#
        )
    }

    #[tokio::test(start_paused = true)]
    async fn too_old_events_are_restamped_and_delivered() {
        let fake = Fake::default();
        fake.state().too_old_before = Some(NOW_MS - 14 * DAY_MS);
        let old = NOW_MS - 20 * DAY_MS;
        // Five lines from before an outage (the fifth not JSON), then five current ones.
        let mut events: Vec<_> = (0..4).map(|i| at(old + i as i64, &json_line(i))).collect();
        events.push(at(old + 4, "plain 4"));
        events.extend((5..10).map(|i| at(NOW_MS + i as i64, &json_line(i))));
        let r = ship(&fake, options("restamp"), &events).await;
        assert_eq!(
            (r.accepted, r.delivered, r.rejected, r.restamped),
            (10, 10, 0, 5),
            "{r:?}"
        );
        assert!(r.complete());
        let s = fake.state();
        // The old lines and the current ones are more than 24 hours apart: two batches. The
        // old one is rejected whole and re-stamped at once, before the current lines are sent.
        assert_eq!(s.put_calls, 3);
        assert_eq!(s.batches, vec![5, 5, 5]);
        // The old lines, stamped with the time of the last line accepted, their timestamp
        // kept in the message; then the current lines as they were.
        let now = NOW_MS + 9;
        for (i, e) in s.stored[..4].iter().enumerate() {
            let original = old + i as i64;
            assert_eq!(e.timestamp_ms, now);
            let line = json_line(i);
            let expected = format!(
                "{},\"original_timestamp_ms\":{original}}}",
                line.strip_suffix('}').unwrap()
            );
            assert_eq!(e.message, expected);
            let v: serde_json::Value = serde_json::from_str(&e.message).unwrap();
            assert_eq!(v["original_timestamp_ms"], original);
            assert_eq!(v["event"], format!("line {i}"));
        }
        assert_eq!(
            s.stored[4],
            at(now, &format!("[original timestamp {}] plain 4", old + 4))
        );
        assert_eq!(s.stored[5..], events[5..]);
    }

    #[tokio::test(start_paused = true)]
    async fn rejected_head_and_tail_are_restamped_in_order() {
        let fake = Fake::default();
        // tooOldLogEventEndIndex 2 (exclusive), tooNewLogEventStartIndex 7 (inclusive).
        fake.state().puts.push_back(Ok(PutOutcome {
            too_old: 2,
            too_new: 3,
        }));
        let events: Vec<_> = (0..10).map(ev).collect();
        let r = ship(&fake, options("restamp-both"), &events).await;
        assert_eq!(
            (r.delivered, r.rejected, r.restamped, r.undelivered),
            (10, 0, 5, 0),
            "{r:?}"
        );
        let s = fake.state();
        assert_eq!(s.stored[..5], events[2..7]);
        let now = ev(9).timestamp_ms;
        let restamped: Vec<_> = [0, 1, 7, 8, 9]
            .into_iter()
            .map(|i| {
                let e = ev(i);
                at(
                    now,
                    &format!("[original timestamp {}] {}", e.timestamp_ms, e.message),
                )
            })
            .collect();
        assert_eq!(s.stored[5..], restamped);
        assert_eq!(s.batches, vec![10, 5]);
    }

    #[tokio::test(start_paused = true)]
    async fn events_rejected_again_after_restamping_are_counted_rejected() {
        let fake = Fake::default();
        // The caller's clock is three weeks behind: re-stamped events are too old as well.
        fake.state().too_old_before = Some(NOW_MS);
        let events: Vec<_> = (0..10)
            .map(|i| at(NOW_MS - 21 * DAY_MS + i as i64, &json_line(i)))
            .collect();
        let r = ship(&fake, options("restamp-again"), &events).await;
        assert_eq!(
            (
                r.accepted,
                r.delivered,
                r.rejected,
                r.restamped,
                r.undelivered
            ),
            (10, 0, 10, 10, 0),
            "{r:?}"
        );
        assert!(r.complete());
        let s = fake.state();
        // Sent twice: as written, then re-stamped once; not again.
        assert_eq!(s.put_calls, 2);
        assert!(s.stored.is_empty());
    }

    #[test]
    fn restamp_keeps_the_original_timestamp_in_the_message() {
        let r = |m: &str| restamp(at(7, m), 99);
        assert_eq!(
            r(r#"{"a":1}"#),
            at(99, r#"{"a":1,"original_timestamp_ms":7}"#)
        );
        assert_eq!(r("{}"), at(99, r#"{"original_timestamp_ms":7}"#));
        assert_eq!(
            r("{ \"a\" : [1, {}] }\n"),
            at(99, "{ \"a\" : [1, {}] ,\"original_timestamp_ms\":7}")
        );
        // Already re-stamped once: the older value stays.
        let again = r(r#"{"original_timestamp_ms":3}"#);
        assert_eq!(again, at(99, r#"{"original_timestamp_ms":3}"#));
        // Not a JSON object: a prefix.
        assert_eq!(r("plain"), at(99, "[original timestamp 7] plain"));
        assert_eq!(r("[1,2]"), at(99, "[original timestamp 7] [1,2]"));
        assert_eq!(r("{\"cut"), at(99, "[original timestamp 7] {\"cut"));
        for m in [r#"{"a":1}"#, "{}", "{ \"a\" : [1, {}] }\n"] {
            let v: serde_json::Value = serde_json::from_str(&r(m).message).unwrap();
            assert_eq!(v["original_timestamp_ms"], 7);
        }
    }
}
