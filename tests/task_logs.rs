//! Task logs through the binary: `run-task` ships every line of an attempt to CloudWatch in
//! MWAA Serverless's layout and mirrors it in a local file; `airtask logs` reads it back; an
//! outage loses nothing; SIGTERM keeps what it could not deliver in the spill file.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use airtask_tests::{TempDir, airtask_bin};

use crate::logs::{Proxy, upstream};

fn workflow(dir: &TempDir) -> String {
    dir.write(
        "tl.yaml",
        "tl:\n  tasks:\n    many:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: seq 1 100000\n    slow:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: 'for i in $(seq 0 99); do seq -f \"line %.0f\" $((i*1000+1)) $((i*1000+1000)); sleep 0.3; done'\n    heavy:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: 'i=0; while true; do echo heavy $i; i=$((i+1)); done'\n    quick:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: echo hi\n    ticking:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: 'for i in $(seq 1 20); do echo tick $i; sleep 0.1; done'\n",
    )
}

/// `airtask` with `AWS_ENDPOINT_URL` replaced by `url` (the proxy), stdout to a file.
fn command(dir: &TempDir, url: &str, args: &[&str], out: &str) -> Command {
    let mut cmd = Command::new(airtask_bin());
    let file = std::fs::File::create(dir.path().join(out)).expect("output file");
    cmd.args(args)
        .env("AWS_ENDPOINT_URL", url)
        .stdout(file)
        .stderr(Stdio::piped());
    cmd
}

fn run_task_args<'a>(wf: &'a str, task: &'a str, state: &'a str, run: &'a str) -> Vec<&'a str> {
    vec![
        "run-task",
        wf,
        task,
        "--state-dir",
        state,
        "--run-id",
        run,
        "--output",
        "json",
    ]
}

fn record(dir: &TempDir, out: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.path().join(out)).expect("output");
    airtask_tests::last_json_line(&text).expect("a record at the end of the output")
}

/// The stream of an attempt, read back with `airtask logs --format json` (on the endpoint
/// itself), as JSON lines.
fn read_back(state: &str, run: &str, task: &str) -> Vec<serde_json::Value> {
    let out: Output = Command::new(airtask_bin())
        .args([
            "logs",
            "--workflow-id",
            "tl",
            "--run-id",
            run,
            "--task-id",
            task,
            "--state-dir",
            state,
            "--format",
            "json",
        ])
        .output()
        .expect("airtask logs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON log line"))
        .collect()
}

fn events_of(lines: &[serde_json::Value], logger_suffix: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| {
            l["logger"]
                .as_str()
                .is_some_and(|g| g.ends_with(logger_suffix))
        })
        .map(|l| l["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_task_of_100000_lines_reaches_its_stream_in_order_and_the_local_mirror_matches() {
    let dir = TempDir::new("tl-many");
    let wf = workflow(&dir);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let out = command(
        &dir,
        &airtask_tests::endpoint(),
        &run_task_args(&wf, "many", &state, "r1"),
        "many.out",
    )
    .output()
    .expect("run-task");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = record(&dir, "many.out");
    assert_eq!(
        rec["log_stream"],
        "//aws/mwaa-serverless/tl//workflow_id=tl/run_id=r1/task_id=many/attempt=1.log"
    );
    let lines = read_back(&state, "r1", "many");
    assert_eq!(rec["log_delivery"]["delivered"], lines.len(), "{rec}");
    assert_eq!(rec["log_delivery"]["undelivered"], 0);
    // Every output line, in order, once; the sequence numbers count the stream's lines.
    let output = events_of(&lines, "SubprocessHook");
    let numbers: Vec<String> = output
        .iter()
        .filter(|e| e.parse::<u32>().is_ok())
        .cloned()
        .collect();
    let expected: Vec<String> = (1..=100_000).map(|i| i.to_string()).collect();
    assert!(
        numbers == expected,
        "{} numbered lines, not 1..=100000 in order",
        numbers.len()
    );
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["seq"], i, "{l}");
        for key in ["timestamp", "level", "event", "logger"] {
            assert!(l.get(key).is_some(), "{key} missing from {l}");
        }
    }
    assert_eq!(
        lines[0]["event"],
        "Starting attempt 1 of 1 of task 'many' (run r1)"
    );
    assert_eq!(
        lines.last().expect("lines")["event"],
        "Attempt 1 ended SUCCESS"
    );
    // The local file mirrors the stream, line for line.
    let mirror = std::fs::read_to_string(rec["log_file"].as_str().expect("log_file"))
        .expect("the local mirror");
    let mirror: Vec<serde_json::Value> = mirror
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(mirror == lines, "the local file differs from the stream");
}

#[test]
fn twenty_seconds_without_the_endpoint_lose_no_line_and_change_no_outcome() {
    let dir = TempDir::new("tl-outage");
    let wf = workflow(&dir);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let proxy = Proxy::start(upstream());
    // The task prints 100,000 lines, 1,000 every 0.3 s for about 30 s; the endpoint is away from
    // 4 s to 24 s.
    let mut child = command(
        &dir,
        &proxy.url(),
        &run_task_args(&wf, "slow", &state, "r1"),
        "slow.out",
    )
    .spawn()
    .expect("run-task");
    std::thread::sleep(Duration::from_secs(4));
    proxy.set_down(true);
    std::thread::sleep(Duration::from_secs(20));
    proxy.set_down(false);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
    let rec = record(&dir, "slow.out");
    assert_eq!(rec["status"], "SUCCESS");
    assert_eq!(rec["log_delivery"]["undelivered"], 0, "{rec}");
    let lines = read_back(&state, "r1", "slow");
    // Delivery is at least once: a request cut by the outage may have been stored and sent
    // again. In order of first appearance, every line is there.
    let mut seen = std::collections::BTreeSet::new();
    let first: Vec<String> = events_of(&lines, "SubprocessHook")
        .into_iter()
        .filter(|e| e.starts_with("line ") && seen.insert(e.clone()))
        .collect();
    let expected: Vec<String> = (1..=100_000).map(|i| format!("line {i}")).collect();
    assert!(
        first == expected,
        "{} distinct lines in order of first appearance, not line 1..=100000",
        first.len()
    );
}

#[test]
fn sigterm_during_heavy_logging_keeps_every_undelivered_line_in_the_spill_file() {
    let dir = TempDir::new("tl-sigterm");
    let wf = workflow(&dir);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let proxy = Proxy::start(upstream());
    proxy.set_down(true);
    let mut args = run_task_args(&wf, "heavy", &state, "r1");
    args.extend(["--log-flush-timeout", "1"]);
    let child = command(&dir, &proxy.url(), &args, "heavy.out")
        .spawn()
        .expect("run-task");
    std::thread::sleep(Duration::from_secs(2));
    airtask_tests::terminate(&child);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = record(&dir, "heavy.out");
    assert_eq!(rec["status"], "STOPPED");
    let delivery = &rec["log_delivery"];
    assert_eq!(delivery["delivered"], 0, "{rec}");
    let undelivered = delivery["undelivered"].as_u64().expect("undelivered");
    assert!(undelivered > 1000, "{rec}");
    // The spill file holds exactly the lines that were not delivered: here, every line of the
    // local mirror, in order.
    let spill = std::fs::read_to_string(delivery["spill_file"].as_str().expect("spill_file"))
        .expect("the spill file");
    let spilled: Vec<String> = spill
        .lines()
        .map(|l| {
            let e: serde_json::Value = serde_json::from_str(l).expect("a spilled event");
            e["message"].as_str().expect("message").to_owned()
        })
        .collect();
    let mirror =
        std::fs::read_to_string(rec["log_file"].as_str().expect("log_file")).expect("mirror");
    let mirror: Vec<&str> = mirror.lines().collect();
    assert_eq!(spilled.len() as u64, undelivered);
    assert!(
        spilled == mirror,
        "the spill file is not the undelivered lines"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("were not delivered to CloudWatch"));

    // With CloudWatch reachable, SIGTERM during heavy logging delivers every line written
    // before the signal within the grace period: the stream equals the local mirror.
    let child = command(
        &dir,
        &airtask_tests::endpoint(),
        &run_task_args(&wf, "heavy", &state, "r2"),
        "heavy2.out",
    )
    .spawn()
    .expect("run-task");
    std::thread::sleep(Duration::from_secs(2));
    airtask_tests::terminate(&child);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rec = record(&dir, "heavy2.out");
    assert_eq!(rec["log_delivery"]["undelivered"], 0, "{rec}");
    let lines = read_back(&state, "r2", "heavy");
    let mirror =
        std::fs::read_to_string(rec["log_file"].as_str().expect("log_file")).expect("mirror");
    let mirror: Vec<serde_json::Value> = mirror
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert!(mirror.len() > 1000, "{} lines", mirror.len());
    assert_eq!(rec["log_delivery"]["delivered"], mirror.len(), "{rec}");
    assert!(lines == mirror, "the stream differs from the local mirror");

    // A task that succeeds but cannot deliver its log exits 6, and its record says so.
    let mut args = run_task_args(&wf, "quick", &state, "r1");
    args.extend(["--log-flush-timeout", "0.5"]);
    let out = command(&dir, &proxy.url(), &args, "quick.out")
        .output()
        .expect("run-task");
    assert_eq!(out.status.code(), Some(6));
    let rec = record(&dir, "quick.out");
    assert_eq!(rec["status"], "SUCCESS");
    assert!(
        rec["log_delivery"]["undelivered"].as_u64() > Some(0),
        "{rec}"
    );
}

#[test]
fn logs_follow_reads_until_the_attempt_ends() {
    let dir = TempDir::new("tl-follow");
    let wf = workflow(&dir);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let mut task = command(
        &dir,
        &airtask_tests::endpoint(),
        &run_task_args(&wf, "ticking", &state, "r1"),
        "ticking.out",
    )
    .spawn()
    .expect("run-task");
    // Follow from before the stream exists until the record says the attempt ended.
    let follow = Command::new(airtask_bin())
        .args([
            "logs",
            "--workflow-id",
            "tl",
            "--run-id",
            "r1",
            "--task-id",
            "ticking",
            "--try",
            "1",
            "--state-dir",
            &state,
            "--follow",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("airtask logs --follow");
    assert_eq!(task.wait().expect("wait").code(), Some(0));
    let out = follow.wait_with_output().expect("follow output");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let ticks: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split_once(" - ").map(|(_, m)| m))
        .filter(|m| m.starts_with("tick "))
        .collect();
    let expected: Vec<String> = (1..=20).map(|i| format!("tick {i}")).collect();
    assert_eq!(ticks, expected, "{text}");
    assert!(
        text.trim_end()
            .ends_with("INFO    - Attempt 1 ended SUCCESS"),
        "{text}"
    );
}
