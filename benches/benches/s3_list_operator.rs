//! The operator benchmark harness for S3ListOperator: a whole `airtask run-task` process that
//! lists 10,000 keys, against the same ListObjectsV2 calls made directly with the SDK in this
//! process, on the same local endpoint. Reports the worker's CPU time (user + system) and wall
//! time of each, as medians over several rounds, and the operator's overhead. Target: within
//! 5 %.
//!
//! Needs the local endpoint: run it through `scripts/bench-s3-list.sh`, which starts one of
//! its own and builds the release binary first.

#![allow(missing_docs)]
// A benchmark measures wall time; the clock module is the runtime's, not this harness's.
#![allow(clippy::disallowed_methods)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::resource::{UsageWho, getrusage};

const BUCKET: &str = "bench-list-10k";
const KEYS: usize = 10_000;
const ROUNDS: usize = 15;

fn cpu(who: UsageWho) -> Duration {
    let u = getrusage(who).expect("getrusage");
    let t = |tv: nix::sys::time::TimeVal| {
        Duration::from_secs(tv.tv_sec() as u64) + Duration::from_micros(tv.tv_usec() as u64)
    };
    t(u.user_time()) + t(u.system_time())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn client() -> aws_sdk_s3::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
}

async fn fill(s3: &aws_sdk_s3::Client) {
    if s3.head_bucket().bucket(BUCKET).send().await.is_ok() {
        return;
    }
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create bucket");
    let mut set = tokio::task::JoinSet::new();
    for i in 0..KEYS {
        if set.len() >= 16 {
            set.join_next().await.expect("a put").expect("put task");
        }
        let s3 = s3.clone();
        set.spawn(async move {
            s3.put_object()
                .bucket(BUCKET)
                .key(format!("key-{i:05}"))
                .body(b"x".to_vec().into())
                .send()
                .await
                .expect("put object");
        });
    }
    while let Some(r) = set.join_next().await {
        r.expect("put task");
    }
}

async fn list_direct(s3: &aws_sdk_s3::Client) -> Vec<String> {
    let mut keys = Vec::with_capacity(KEYS);
    let mut pages = s3.list_objects_v2().bucket(BUCKET).into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("a page");
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
    }
    keys
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks which benchmarks exist.
    }
    if std::env::args().any(|a| a == "--direct-process") {
        // A process that only makes the calls: load the configuration, build the client, list.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let keys = rt.block_on(async { list_direct(&client().await).await });
        assert_eq!(keys.len(), KEYS);
        return;
    }
    std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run scripts/bench-s3-list.sh");
    let bin = airtask_benches::airtask_release();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let s3 = rt.block_on(client());
    eprintln!("filling s3://{BUCKET} with {KEYS} keys (once per endpoint)...");
    rt.block_on(fill(&s3));

    let dir = std::env::temp_dir().join(format!("airtask-s3-list-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let wf = dir.join("wf.yaml");
    std::fs::write(
        &wf,
        format!(
            "bench:\n  tasks:\n    list:\n      operator: airflow.providers.amazon.aws.operators.s3.S3ListOperator\n      bucket: {BUCKET}\n"
        ),
    )
    .expect("workflow");
    let state = dir.join("state");
    let operator = || -> (Duration, Duration) {
        let cpu0 = cpu(UsageWho::RUSAGE_CHILDREN);
        let t0 = Instant::now();
        let status = Command::new(&bin)
            .arg("run-task")
            .arg(&wf)
            .args(["list", "--run-id", "bench", "--logical-date", "2025-03-09"])
            // The operator alone: its log is not shipped (the endpoint would count it).
            .arg("--no-cloudwatch")
            .arg("--state-dir")
            .arg(&state)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run airtask");
        let wall = t0.elapsed();
        assert!(status.success(), "the operator failed");
        (cpu(UsageWho::RUSAGE_CHILDREN) - cpu0, wall)
    };
    let direct = || -> (Duration, Duration) {
        let cpu0 = cpu(UsageWho::RUSAGE_SELF);
        let t0 = Instant::now();
        let keys = rt.block_on(list_direct(&s3));
        let wall = t0.elapsed();
        assert_eq!(keys.len(), KEYS);
        (cpu(UsageWho::RUSAGE_SELF) - cpu0, wall)
    };
    let me = std::env::current_exe().expect("bench path");
    let direct_process = || -> (Duration, Duration) {
        let cpu0 = cpu(UsageWho::RUSAGE_CHILDREN);
        let t0 = Instant::now();
        let status = Command::new(&me)
            .arg("--direct-process")
            .status()
            .expect("run the direct process");
        let wall = t0.elapsed();
        assert!(status.success());
        (cpu(UsageWho::RUSAGE_CHILDREN) - cpu0, wall)
    };
    // Warm up (the endpoint's caches, the page cache of the binaries).
    operator();
    direct();
    direct_process();
    let xcom = std::fs::read_to_string(state.join("bench/bench/list/-1/xcom/return_value.json"))
        .expect("the operator's XCom");
    let listed: Vec<String> = serde_json::from_str(&xcom).expect("XCom JSON");
    assert_eq!(listed.len(), KEYS, "the operator listed every key");

    let mut samples: [(Vec<Duration>, Vec<Duration>); 3] = Default::default();
    for _ in 0..ROUNDS {
        let runs: [&dyn Fn() -> (Duration, Duration); 3] = [&operator, &direct, &direct_process];
        for (i, f) in runs.iter().enumerate() {
            let (c, w) = f();
            samples[i].0.push(c);
            samples[i].1.push(w);
        }
    }
    let [op, sdk, sdk_process] = samples.map(|(c, w)| (median(c), median(w)));
    let pct = |a: Duration, b: Duration| (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0;
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("S3ListOperator over {KEYS} keys (10 pages), median of {ROUNDS} rounds:");
    println!(
        "  airtask run-task process:           CPU {:6.1} ms, wall {:7.1} ms",
        ms(op.0),
        ms(op.1)
    );
    for (name, b) in [
        ("SDK calls, warm client, in-process:", sdk),
        ("SDK calls, a process of their own: ", sdk_process),
    ] {
        println!(
            "  {name} CPU {:6.1} ms, wall {:7.1} ms -> operator overhead CPU {:+.1} %, wall {:+.1} %",
            ms(b.0),
            ms(b.1),
            pct(op.0, b.0),
            pct(op.1, b.1)
        );
    }
    println!("  target: operator overhead within 5 %");
    let _ = std::fs::remove_dir_all(&dir);
}
