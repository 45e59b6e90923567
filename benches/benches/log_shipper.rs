//! The CPU cost of the CloudWatch Logs shipper's per-line path: 1,000,000 lines of 100 bytes
//! through `ShipperHandle::send`, splitting, the bounded buffer, batching, and a sink that
//! answers at once instead of the network. Target: well under 1 µs a line (a chatty task writes
//! tens of thousands of lines a second; the shipper must stay a rounding error next to it).
//!
//! - `batch_1m_lines`: the pure batching (`split_event` + `BatchBuilder`), no shipper.
//! - `ship_1m_lines_steady`: the producer yields every 1,000 lines so the shipper keeps up;
//!   nothing spills.
//! - `ship_1m_lines_backlog`: all lines are sent before the shipper runs once: with the
//!   default 8 MiB bound, about 94 % of them go through the spill file and back.

// criterion_group! generates undocumented public functions.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use airtask_aws::logs::batch::{BatchBuilder, split_event};
use airtask_aws::logs::{LogEvent, LogSink, PutOutcome, Shipper, ShipperOptions, SinkError};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

const LINES: usize = 1_000_000;

/// Counts what it is given and answers at once.
struct NullSink {
    events: Arc<AtomicU64>,
    requests: u64,
}

impl LogSink for NullSink {
    async fn create_stream(&mut self) -> Result<(), SinkError> {
        self.requests += 1;
        Ok(())
    }

    async fn put(&mut self, events: &[LogEvent]) -> Result<PutOutcome, SinkError> {
        self.requests += 1;
        self.events
            .fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(PutOutcome::default())
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}

/// `LINES` lines of 100 bytes, 50 a millisecond.
fn lines() -> Vec<LogEvent> {
    (0..LINES)
        .map(|i| LogEvent {
            timestamp_ms: 1_700_000_000_000 + (i / 50) as i64,
            message: format!("{i:09} {}", "x".repeat(90)),
        })
        .collect()
}

fn ship(rt: &tokio::runtime::Runtime, events: Vec<LogEvent>, yield_every: Option<usize>) {
    let delivered = Arc::new(AtomicU64::new(0));
    let sink = NullSink {
        events: Arc::clone(&delivered),
        requests: 0,
    };
    let spill = std::env::temp_dir().join(format!("airtask-bench-{}.jsonl", std::process::id()));
    rt.block_on(async {
        let h = Shipper::start_with_sink(sink, ShipperOptions::new(&spill));
        for (i, e) in events.into_iter().enumerate() {
            h.send(e);
            if yield_every.is_some_and(|n| i % n == n - 1) {
                tokio::task::yield_now().await;
            }
        }
        let report = h.finish(Duration::from_secs(600)).await;
        assert!(report.complete(), "{report:?}");
        assert_eq!(report.delivered, LINES as u64);
        report.spilled
    });
    assert_eq!(delivered.load(Ordering::Relaxed), LINES as u64);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let mut g = c.benchmark_group("log_shipper");
    g.sample_size(10);
    g.throughput(Throughput::Elements(LINES as u64));
    g.bench_function("batch_1m_lines", |b| {
        b.iter_batched(
            lines,
            |events| {
                let mut builder = BatchBuilder::new();
                let mut batches = 0usize;
                for e in events {
                    for part in split_event(e) {
                        if let Err(part) = builder.push(part) {
                            std::hint::black_box(builder.take());
                            batches += 1;
                            builder.push(part).expect("fits an empty batch");
                        }
                    }
                }
                std::hint::black_box(builder.take());
                batches
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ship_1m_lines_steady", |b| {
        b.iter_batched(
            lines,
            |ev| ship(&rt, ev, Some(1_000)),
            BatchSize::PerIteration,
        )
    });
    g.bench_function("ship_1m_lines_backlog", |b| {
        b.iter_batched(lines, |ev| ship(&rt, ev, None), BatchSize::PerIteration)
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
