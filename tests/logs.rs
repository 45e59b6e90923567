//! The CloudWatch Logs shipper against the local endpoint: every line arrives, in order, through
//! an outage; what cannot be delivered by the deadline is in the spill file, exactly.
//!
//! Outages come from a TCP proxy in front of the endpoint that the test switches off (it drops
//! open connections and closes new ones at once) and on again.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airtask_aws::logs::{
    DeliveryReport, LogEvent, Shipper, ShipperHandle, ShipperOptions, log_group, log_stream,
};
use airtask_tests::{TempDir, endpoint};

/// Milliseconds since the epoch. The test stands in for the runtime, which stamps lines with
/// its clock module; CloudWatch (and moto) reject events more than 14 days old.
#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970");
    i64::try_from(d.as_millis()).expect("fits")
}

/// Line `i` of a test: about 100 bytes, with its number first so order can be checked.
fn line(i: usize) -> String {
    format!("{i:07} {}", "abcdefghij".repeat(9))
}

async fn config(url: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .load()
        .await
}

async fn client() -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&config(&endpoint()).await)
}

/// Names of this test's own group and stream.
fn names(test: &str) -> (String, String) {
    let wf = format!("logs-e2e-{test}-{}", std::process::id());
    (
        log_group(&wf, None),
        log_stream(&wf, "manual__2025-01-01T00:00:00+00:00", test, -1, 1),
    )
}

/// Every message of a stream, from the head, paging with nextForwardToken until it repeats.
/// A stream that does not exist reads as empty. (Also read by the Airflow remote-logging test.)
pub(crate) async fn read_stream(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .start_from_head(true)
            .set_next_token(token.clone())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e)
                if aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(&e)
                    == Some("ResourceNotFoundException") =>
            {
                return out;
            }
            Err(e) => panic!("GetLogEvents: {e:?}"),
        };
        out.extend(
            page.events()
                .iter()
                .map(|e| e.message().expect("a message").to_owned()),
        );
        let next = page.next_forward_token().map(str::to_owned);
        if next.is_none() || next == token {
            return out;
        }
        token = next;
    }
}

/// Waits (polling, up to 60 s) until the stream holds at least `n` events.
async fn wait_for_events(
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    stream: &str,
    n: usize,
) {
    for _ in 0..600 {
        if read_stream(client, group, stream).await.len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the stream never reached {n} events");
}

fn read_spill(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .expect("spill file")
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            e["message"].as_str().expect("message").to_owned()
        })
        .collect()
}

/// `got` with repeats removed (first occurrence kept). Delivery is at least once: a request cut
/// by the outage after CloudWatch stored it is sent again.
fn first_occurrences(got: &[String]) -> (Vec<String>, usize) {
    let mut seen = std::collections::HashSet::new();
    let unique: Vec<String> = got.iter().filter(|m| seen.insert(*m)).cloned().collect();
    let repeats = got.len() - unique.len();
    (unique, repeats)
}

fn send_lines(h: &ShipperHandle, range: std::ops::Range<usize>, ts0: i64) {
    for i in range {
        h.send(LogEvent {
            // Several lines per millisecond, as a chatty task writes them.
            timestamp_ms: ts0 + (i / 50) as i64,
            message: line(i),
        });
    }
}

fn assert_accounted(r: &DeliveryReport) {
    assert_eq!(
        r.accepted,
        r.delivered + r.rejected + r.undelivered + r.lost,
        "{r:?}"
    );
    assert_eq!(r.lost, 0, "{r:?}");
}

/// A TCP proxy in front of the endpoint that can be switched off.
pub(crate) struct Proxy {
    addr: SocketAddr,
    down: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    /// Connections closed at once because the proxy was down.
    refused: Arc<AtomicU64>,
}

impl Proxy {
    pub(crate) fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let down = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let refused = Arc::new(AtomicU64::new(0));
        let (d, o, r) = (Arc::clone(&down), Arc::clone(&open), Arc::clone(&refused));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    r.fetch_add(1, Ordering::SeqCst);
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                {
                    let mut open = o.lock().expect("lock");
                    open.retain(|s| s.peer_addr().is_ok());
                    open.push(client.try_clone().expect("clone"));
                    open.push(server.try_clone().expect("clone"));
                }
                pump(
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                pump(server, client);
            }
        });
        Proxy {
            addr,
            down,
            open,
            refused,
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Off: open connections are cut and new ones closed at once. On: forwarded again.
    pub(crate) fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            for s in self.open.lock().expect("lock").drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    pub(crate) fn refused(&self) -> u64 {
        self.refused.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to` on a thread until either side closes, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

pub(crate) fn upstream() -> SocketAddr {
    let url = endpoint();
    let hostport = url
        .strip_prefix("http://")
        .expect("an http:// endpoint")
        .trim_end_matches('/');
    hostport.parse().expect("host:port of the endpoint")
}

#[tokio::test(flavor = "current_thread")]
async fn hundred_thousand_lines_arrive_in_order_once() {
    let (group, stream) = names("all-lines");
    let dir = TempDir::new("logs-all-lines");
    let spill = dir.path().join("spill.jsonl");
    let h = Shipper::start(
        &config(&endpoint()).await,
        &group,
        &stream,
        ShipperOptions::new(&spill),
    );
    let n = 100_000;
    send_lines(&h, 0..n, now_ms());
    let r = h.finish(Duration::from_secs(120)).await;
    assert_accounted(&r);
    assert!(r.complete(), "{r:?}");
    assert_eq!(r.delivered, n as u64);
    assert_eq!(r.spill_path, None);
    assert!(!spill.exists());
    // About 100 bytes a line: byte-bound batches of about 8,000 lines, plus the creates.
    assert!(r.requests >= 13 && r.requests <= 20, "{r:?}");

    let got = read_stream(&client().await, &group, &stream).await;
    assert_eq!(got.len(), n, "every line once");
    for (i, m) in got.iter().enumerate() {
        assert_eq!(*m, line(i), "line {i}");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_line_lost_when_the_endpoint_is_down_for_a_while() {
    let (group, stream) = names("outage");
    let dir = TempDir::new("logs-outage");
    let spill = dir.path().join("spill.jsonl");
    let proxy = Proxy::start(upstream());
    let mut opts = ShipperOptions::new(&spill);
    opts.linger = Duration::from_millis(50);
    // Small, so that the backlog of the outage goes through the spill file.
    opts.max_buffer_bytes = 256 * 1024;
    let h = Shipper::start(&config(&proxy.url()).await, &group, &stream, opts);
    let ts0 = now_ms();
    let n = 30_000;
    let chunk = 1_000;
    let mut next = 0;
    // Before: some lines go through.
    while next < 5 * chunk {
        send_lines(&h, next..next + chunk, ts0);
        next += chunk;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    proxy.set_down(true);
    // During: lines keep coming while the shipper's requests fail, until it has retried a few
    // times.
    let mut waited = 0;
    while proxy.refused() < 4 || next < 20 * chunk {
        if next < n - chunk {
            send_lines(&h, next..next + chunk, ts0);
            next += chunk;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += 1;
        assert!(waited < 1200, "the shipper never hit the outage");
    }
    proxy.set_down(false);
    // After.
    send_lines(&h, next..n, ts0);
    let r = h.finish(Duration::from_secs(120)).await;
    assert_accounted(&r);
    assert!(r.complete(), "{r:?}");
    assert!(
        r.spilled > 0,
        "the outage's backlog went through the spill file: {r:?}"
    );
    assert!(r.delivered >= n as u64, "{r:?}");

    let got = read_stream(&client().await, &group, &stream).await;
    let (unique, repeats) = first_occurrences(&got);
    assert_eq!(unique.len(), n, "every line arrived");
    for (i, m) in unique.iter().enumerate() {
        assert_eq!(*m, line(i), "line {i}");
    }
    // A repeat is a whole batch resent after its answer was cut: never more than the
    // requests that the outage cut.
    assert!(repeats <= 2 * 10_000, "{repeats} repeats");
    eprintln!(
        "outage: {} refused connections, {} requests, {repeats} repeated lines",
        proxy.refused(),
        r.requests
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_short_deadline_while_down_leaves_exactly_the_undelivered_lines_in_the_spill_file() {
    let (group, stream) = names("deadline");
    let dir = TempDir::new("logs-deadline");
    let spill = dir.path().join("spill.jsonl");
    let proxy = Proxy::start(upstream());
    let mut opts = ShipperOptions::new(&spill);
    opts.linger = Duration::from_millis(50);
    opts.max_buffer_bytes = 128 * 1024;
    let h = Shipper::start(&config(&proxy.url()).await, &group, &stream, opts);
    let ts0 = now_ms();
    let client = client().await;
    send_lines(&h, 0..1_000, ts0);
    wait_for_events(&client, &group, &stream, 1_000).await;
    proxy.set_down(true);
    let n = 6_000;
    send_lines(&h, 1_000..n, ts0);
    let r = h.finish(Duration::from_secs(2)).await;
    assert_accounted(&r);
    assert!(!r.complete());
    assert_eq!(r.delivered + r.undelivered, n as u64, "{r:?}");
    assert!(r.undelivered >= 5_000, "{r:?}");
    assert_eq!(r.spill_path.as_deref(), Some(spill.as_path()));
    assert!(r.error.is_some(), "{r:?}");

    // The spill file holds exactly the lines not delivered: the last ones, in order.
    let kept = read_spill(&spill);
    let first_kept = n - r.undelivered as usize;
    assert_eq!(kept, (first_kept..n).map(line).collect::<Vec<_>>());
    // CloudWatch holds the delivered ones. A request cut by the outage may have been stored
    // without the shipper knowing: those lines are both there and in the spill file (at least
    // once), never in neither.
    proxy.set_down(false);
    let got = read_stream(&client, &group, &stream).await;
    assert!(got.len() >= first_kept, "{} < {first_kept}", got.len());
    assert_eq!(got, (0..got.len()).map(line).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn long_and_empty_lines_arrive_whole() {
    let (group, stream) = names("long-lines");
    let dir = TempDir::new("logs-long-lines");
    let h = Shipper::start(
        &config(&endpoint()).await,
        &group,
        &stream,
        ShipperOptions::new(dir.path().join("spill.jsonl")),
    );
    let long: String = (0..700_000).map(|i| ['a', 'é', '€', '😀'][i % 4]).collect();
    let ts = now_ms();
    for message in [long.clone(), String::new(), "end".to_owned()] {
        h.send(LogEvent {
            timestamp_ms: ts,
            message,
        });
    }
    let r = h.finish(Duration::from_secs(60)).await;
    assert_accounted(&r);
    assert!(r.complete(), "{r:?}");
    let got = read_stream(&client().await, &group, &stream).await;
    let n = got.len();
    assert!(n >= 5, "a 1.75 MB line is several events: {n}");
    assert_eq!(got[..n - 2].concat(), long);
    assert_eq!(got[n - 2], " ");
    assert_eq!(got[n - 1], "end");
}
