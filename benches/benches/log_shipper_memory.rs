//! The CloudWatch Logs shipper's memory bound, whatever the backlog: 2,000,000 lines of 100
//! bytes (about 200 MB) are sent while CloudWatch is unreachable (a sink that always fails as a
//! network error would). The growth of the process's peak RSS must stay near the configured
//! bound (8 MiB by default) plus the batch in flight, with the rest in the spill file; then a
//! deadline of zero leaves every line in the spill file.

#![allow(missing_docs)]

use std::time::Duration;

use airtask_aws::logs::{LogEvent, LogSink, PutOutcome, Shipper, ShipperOptions, SinkError};

const LINES: usize = 2_000_000;

/// CloudWatch, unreachable.
struct Down;

impl LogSink for Down {
    async fn create_stream(&mut self) -> Result<(), SinkError> {
        Err(SinkError::Retryable("connection refused".into()))
    }

    async fn put(&mut self, _: &[LogEvent]) -> Result<PutOutcome, SinkError> {
        Err(SinkError::Retryable("connection refused".into()))
    }

    fn requests(&self) -> u64 {
        0
    }
}

/// The peak resident set of this process (VmHWM: unlike getrusage's maxrss, it is not
/// inherited from the process that started this one).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("airtask-shipper-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spill = dir.join("spill.jsonl");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let options = ShipperOptions::new(&spill);
    let bound = options.max_buffer_bytes;
    let before = peak_rss_mb();
    let report = rt.block_on(async {
        let h = Shipper::start_with_sink(Down, options);
        for i in 0..LINES {
            h.send(LogEvent {
                timestamp_ms: 1_700_000_000_000 + (i / 50) as i64,
                message: format!("{i:09} {}", "x".repeat(90)),
            });
            if i % 10_000 == 0 {
                tokio::task::yield_now().await;
            }
        }
        h.finish(Duration::ZERO).await
    });
    let after = peak_rss_mb();
    let spill_mb = std::fs::metadata(&spill).map(|m| m.len()).unwrap_or(0) as f64 / 1e6;
    println!(
        "{LINES} lines of 100 bytes ({:.0} MB) with CloudWatch unreachable:",
        LINES as f64 * 100.0 / 1e6
    );
    println!(
        "  peak RSS {before:.1} MB before, {after:.1} MB after: growth {:.1} MB (bound {:.1} MB \
         of pending lines + the batch in flight)",
        after - before,
        bound as f64 / 1048576.0
    );
    println!(
        "  spill file {spill_mb:.0} MB; report: accepted {}, delivered {}, undelivered {}, lost {}",
        report.accepted, report.delivered, report.undelivered, report.lost
    );
    assert_eq!(report.undelivered, LINES as u64, "{report:?}");
    assert_eq!(report.lost, 0);
    let _ = std::fs::remove_dir_all(&dir);
}
