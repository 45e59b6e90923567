//! The shipper: a tokio task that drains one stream's buffer into PutLogEvents requests.

use std::collections::hash_map::RandomState;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::logs::LogEvent;
use crate::logs::batch::{Batch, BatchBuilder, split_event};
use crate::logs::buffer::{Buffer, write_line};
use crate::logs::sink::{CloudWatchSink, LogSink, SinkError};

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
/// exactly once: `accepted == delivered + rejected + undelivered + lost`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReport {
    /// Events accepted by `send` (a long message counts once per part).
    pub accepted: u64,
    /// Events CloudWatch stored.
    pub delivered: u64,
    /// Events CloudWatch refused for their timestamp (too old, too new, expired) while storing
    /// the rest of their batch: gone, not retried.
    pub rejected: u64,
    /// Events not delivered: those still pending at the deadline and those CloudWatch refused
    /// with a non-retryable error (AccessDenied, InvalidParameter...). All of them are in the
    /// spill file, in order (the refused ones first).
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
    /// The last error CloudWatch or the network returned, or the first spill-file error
    /// (error codes and messages only, never log content).
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
        });
        let (finish_tx, finish_rx) = oneshot::channel();
        let worker = Worker {
            sink,
            shared: Arc::clone(&shared),
            options,
            builder: BatchBuilder::new(),
            carry: None,
            stream_ready: false,
            finish_rx: Some(finish_rx),
            deadline: None,
            backoff: Backoff::new(),
            counts: Counts::default(),
            dead: None,
        };
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
    /// Refused for good (non-retryable errors), in the dead-letter file.
    refused: u64,
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
    /// The deadline came first: the batch is given back to be saved.
    Abandoned(Batch),
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
                    && let Sent::Abandoned(batch) = self.send(batch).await
                {
                    return self.stop(Some(batch));
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
    async fn send(&mut self, batch: Batch) -> Sent {
        let mut recreated = false;
        loop {
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                return Sent::Abandoned(batch);
            }
            if !self.stream_ready {
                let created = {
                    let sink = &mut self.sink;
                    let fut = sink.create_stream();
                    bounded_on(&mut self.finish_rx, &mut self.deadline, fut).await
                };
                match created {
                    None => return Sent::Abandoned(batch),
                    Some(Ok(())) => self.stream_ready = true,
                    Some(Err(SinkError::Fatal(text))) => {
                        self.counts.error = Some(text);
                        return self.refuse(batch);
                    }
                    Some(Err(SinkError::Retryable(text) | SinkError::NotFound(text))) => {
                        self.counts.error = Some(text);
                        if !self.back_off().await {
                            return Sent::Abandoned(batch);
                        }
                        continue;
                    }
                }
            }
            let put = {
                let sink = &mut self.sink;
                let fut = sink.put(batch.events());
                bounded_on(&mut self.finish_rx, &mut self.deadline, fut).await
            };
            match put {
                None => return Sent::Abandoned(batch),
                Some(Ok(outcome)) => {
                    let rejected = outcome.rejected.min(batch.len()) as u64;
                    self.counts.rejected += rejected;
                    self.counts.delivered += batch.len() as u64 - rejected;
                    self.backoff.reset();
                    return Sent::Done;
                }
                Some(Err(SinkError::NotFound(text))) => {
                    // Deleted under us, or created by someone else's mistake: create it and
                    // send again, at once the first time, with backoff if it keeps happening.
                    self.counts.error = Some(text);
                    self.stream_ready = false;
                    if recreated && !self.back_off().await {
                        return Sent::Abandoned(batch);
                    }
                    recreated = true;
                }
                Some(Err(SinkError::Retryable(text))) => {
                    self.counts.error = Some(text);
                    if !self.back_off().await {
                        return Sent::Abandoned(batch);
                    }
                }
                Some(Err(SinkError::Fatal(text))) => {
                    self.counts.error = Some(text);
                    return self.refuse(batch);
                }
            }
        }
    }

    /// A batch refused for good: kept in the dead-letter file, counted as not delivered.
    ///
    /// Decision: AccessDenied, InvalidParameter and the like are not retried. Retrying cannot
    /// fix them while the task runs, and retrying forever would hold every later line back.
    /// The batch is not dropped either: its events end up in the spill file for a later
    /// upload or for a person to read, and the report counts them.
    fn refuse(&mut self, batch: Batch) -> Sent {
        self.backoff.reset();
        let n = batch.len() as u64;
        if let Err(e) = self.dead_letter(batch.events()) {
            let text = format!("cannot keep undeliverable events: {e}");
            self.counts.error = Some(text);
            // Counted as lost by `stop`, from accepted minus the rest.
        } else {
            self.counts.refused += n;
        }
        Sent::Done
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
    fn stop(mut self, abandoned: Option<Batch>) -> DeliveryReport {
        let mut pending: Vec<LogEvent> = abandoned.map(Batch::into_events).unwrap_or_default();
        pending.extend(self.builder.take_events());
        pending.extend(self.carry.take());
        let shared = Arc::clone(&self.shared);
        let mut buffer = lock(&shared.buffer);
        let accepted = shared.accepted.load(Ordering::Relaxed);
        let path = self.options.spill_path.clone();
        let dead = self.dead.take();
        let saved = save_pending(&path, dead, &pending, &mut buffer);
        let undelivered = match saved {
            Ok(n) => n,
            Err(e) => {
                self.counts.error = Some(format!(
                    "cannot write the undelivered events to {}: {e}",
                    path.display()
                ));
                0
            }
        };
        let lost =
            accepted.saturating_sub(self.counts.delivered + self.counts.rejected + undelivered);
        let error = buffer
            .error()
            .map(str::to_owned)
            .or(self.counts.error.take());
        DeliveryReport {
            accepted,
            delivered: self.counts.delivered,
            rejected: self.counts.rejected,
            undelivered,
            lost,
            spill_path: (undelivered > 0).then_some(path),
            spilled: buffer.spilled_total(),
            requests: self.sink.requests(),
            error,
        }
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
    use crate::logs::batch::{EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};

    /// A sink that records batches and answers from a script (then succeeds).
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
            if let Ok(outcome) = &answer {
                s.stored.extend_from_slice(&events[outcome.rejected..]);
                s.batches.push(events.len());
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
    async fn rejected_events_are_counted_not_retried() {
        let fake = Fake::default();
        fake.state().puts.push_back(Ok(PutOutcome { rejected: 3 }));
        let h = Shipper::start_with_sink(fake.clone(), options("rejected"));
        for i in 0..10 {
            h.send(ev(i));
        }
        let r = h.finish(Duration::from_secs(10)).await;
        assert_eq!((r.delivered, r.rejected, r.undelivered), (7, 3, 0));
        assert!(r.complete());
        assert_eq!(fake.state().put_calls, 1);
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
        assert_eq!(fake.state().stored, (5..8).map(ev).collect::<Vec<_>>());
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
                .push_back(Err(SinkError::Fatal("InvalidParameter".into())));
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
}
