//! `airtask coordinator` against a stand-in of Airflow 3.3's Task SDK supervisor: two listening
//! sockets on 127.0.0.1 (`--comm`, `--logs`), the supervisor's side of the frames (4-byte
//! big-endian length, msgpack `[id, body, error]`), scripted answers, and every request and log
//! line recorded. The first frame is a `StartupDetails` captured from Task SDK 1.3.2 (tests/
//! fixtures/airflow_startup_details.hex), or one built the same way.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airtask_tests::{TempDir, airtask_bin, workspace_root};
use serde_json::{Value, json};

use super::airflow_api::{dags, my_db};

/// JSON as msgpack; strings that are RFC 3339 instants of `TIMESTAMP_KEYS` become Timestamps
/// (extension -1), as msgspec writes a `datetime`.
fn to_msgpack(key: Option<&str>, v: &Value) -> rmpv::Value {
    use rmpv::Value as M;
    const TIMESTAMP_KEYS: &[&str] = &[
        "start_date",
        "end_date",
        "logical_date",
        "data_interval_start",
        "data_interval_end",
        "run_after",
    ];
    match v {
        Value::Null => M::Nil,
        Value::Bool(b) => M::Boolean(*b),
        Value::Number(n) => n
            .as_i64()
            .map(M::from)
            .or_else(|| n.as_u64().map(M::from))
            .unwrap_or_else(|| M::F64(n.as_f64().unwrap_or_default())),
        Value::String(s) => match (key, s.parse::<jiff::Timestamp>()) {
            (Some(k), Ok(t)) if TIMESTAMP_KEYS.contains(&k) => {
                let (secs, nanos) = (t.as_second(), t.subsec_nanosecond());
                if nanos == 0 {
                    M::Ext(
                        -1,
                        u32::try_from(secs)
                            .expect("a 32-bit second")
                            .to_be_bytes()
                            .to_vec(),
                    )
                } else {
                    let packed = (u64::try_from(nanos).expect("nanoseconds") << 34)
                        | u64::try_from(secs).expect("seconds");
                    M::Ext(-1, packed.to_be_bytes().to_vec())
                }
            }
            _ => M::from(s.as_str()),
        },
        Value::Array(a) => M::Array(a.iter().map(|x| to_msgpack(None, x)).collect()),
        Value::Object(m) => M::Map(
            m.iter()
                .map(|(k, x)| (M::from(k.as_str()), to_msgpack(Some(k), x)))
                .collect(),
        ),
    }
}

fn to_json(v: rmpv::Value) -> Value {
    use rmpv::Value as M;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => i
            .as_i64()
            .map(Value::from)
            .or_else(|| i.as_u64().map(Value::from))
            .unwrap_or(Value::Null),
        M::F64(f) => json!(f),
        M::F32(f) => json!(f),
        M::String(s) => Value::String(s.into_str().unwrap_or_default()),
        M::Array(a) => Value::Array(a.into_iter().map(to_json).collect()),
        M::Map(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), to_json(v)))
                .collect(),
        ),
        other => panic!("airtask sent a msgpack value the supervisor does not expect: {other:?}"),
    }
}

fn write_frame(s: &mut TcpStream, v: &rmpv::Value) {
    let mut payload = Vec::new();
    rmpv::encode::write_value(&mut payload, v).expect("encode");
    let mut out = u32::try_from(payload.len())
        .expect("a small frame")
        .to_be_bytes()
        .to_vec();
    out.extend(payload);
    s.write_all(&out).expect("write a frame");
}

fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).ok()?;
    Some(payload)
}

/// The `StartupDetails` frame Task SDK 1.3.2 sent for af_e2e.consume (length prefix included).
fn captured_startup() -> Vec<u8> {
    let text = std::fs::read_to_string(
        workspace_root().join("tests/fixtures/airflow_startup_details.hex"),
    )
    .expect("the fixture");
    let hex: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::chars)
        .filter(char::is_ascii_hexdigit)
        .collect();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `StartupDetails` for `task` of af_e2e, built as the supervisor builds it.
fn startup(task: &str, try_number: u32, should_retry: bool) -> Value {
    json!({
        "ti": {"id": format!("0193a1b2-c3d4-7e5f-8a9b-{:012}", try_number), "task_id": task,
               "dag_id": "af_e2e", "run_id": "manual__2025-03-09T06:30:00+00:00",
               "try_number": try_number, "dag_version_id": "0193a1b2-0000-7000-8000-000000000001",
               "map_index": -1, "hostname": null, "context_carrier": null, "queue": "airtask"},
        "dag_rel_path": "team/loader.py",
        "bundle_info": {"name": "dags-folder", "version": null},
        "start_date": "2025-03-09T06:31:02.123456Z",
        "ti_context": {
            "dag_run": {"dag_id": "af_e2e", "run_id": "manual__2025-03-09T06:30:00+00:00",
                "logical_date": "2025-03-09T06:30:00Z", "data_interval_start": "2025-03-09T06:30:00Z",
                "data_interval_end": "2025-03-09T06:30:00Z", "run_after": "2025-03-09T06:30:00Z",
                "start_date": "2025-03-09T06:31:00Z", "end_date": null, "clear_number": 0,
                "run_type": "manual", "state": "running", "conf": {}, "triggering_user_name": null,
                "consumed_asset_events": [], "partition_key": null, "partition_date": null,
                "note": null, "team_name": null},
            "task_reschedule_count": 0, "max_tries": 1, "variables": null, "connections": null,
            "next_method": null, "next_kwargs": null, "xcom_keys_to_clear": null,
            "should_retry": should_retry, "start_date": null},
        "sentry_integration": "",
        "type": "StartupDetails"
    })
}

/// How the stand-in answers one request: a body, an error, or nothing (the connection is
/// closed: a supervisor that died).
enum Answer {
    Body(Value),
    Nothing,
    Error(Value),
    Hangup,
}

/// What a conversation left: the requests (bodies), the log lines, and airtask's output.
struct Conversation {
    requests: Vec<Value>,
    logs: Vec<Value>,
    out: Output,
}

impl Conversation {
    fn types(&self) -> Vec<&str> {
        self.requests
            .iter()
            .map(|r| r["type"].as_str().unwrap_or("?"))
            .collect()
    }
    fn text(&self) -> String {
        format!(
            "requests: {:#?}\nlogs: {:#?}\nexit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.requests,
            self.logs,
            self.out.status.code(),
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }
    fn logged(&self, needle: &str) -> bool {
        self.logs
            .iter()
            .any(|l| l["event"].as_str().is_some_and(|e| e.contains(needle)))
    }
}

/// Starts `airtask coordinator` as the Task SDK's SubprocessCoordinator does (the command, then
/// `--comm=` and `--logs=`), accepts both connections, sends `first` (the raw StartupDetails
/// frame), answers each request with `answer`, and collects everything until airtask exits.
/// `during` runs with the child and the log lines so far while the conversation goes on (for
/// signals).
fn converse(
    dir: &TempDir,
    first: Vec<u8>,
    answer: impl FnMut(&Value) -> Answer + Send + 'static,
    during: impl FnOnce(&Child, &dyn Fn(&str) -> bool),
) -> Conversation {
    converse_with(dir, &[], first, answer, during)
}

/// [`converse`] with more environment variables (the supervisor passes the logging level).
fn converse_with(
    dir: &TempDir,
    env: &[(&str, &str)],
    first: Vec<u8>,
    mut answer: impl FnMut(&Value) -> Answer + Send + 'static,
    during: impl FnOnce(&Child, &dyn Fn(&str) -> bool),
) -> Conversation {
    let comm = TcpListener::bind("127.0.0.1:0").expect("bind");
    let logs = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut child = Command::new(airtask_bin())
        .args(["coordinator", "--dags-folder"])
        .arg(dir.path().join("dags"))
        .arg(format!("--comm={}", comm.local_addr().expect("addr")))
        .arg(format!("--logs={}", logs.local_addr().expect("addr")))
        .env("AIRFLOW__WORKERS__EXECUTION_API_RETRIES", "1")
        .env("AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT", "5")
        .env_remove("AIRFLOW__CORE__DAGS_FOLDER")
        .env_remove("AIRFLOW__LOGGING__LOGGING_LEVEL")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start airtask");
    let mut c = accept(&comm, &mut child, "--comm");
    let l = accept(&logs, &mut child, "--logs");
    let lines: Arc<Mutex<Vec<Value>>> = Arc::default();
    let log_reader = {
        let lines = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(l).lines().map_while(Result::ok) {
                let v = serde_json::from_str::<Value>(&line)
                    .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
                lines.lock().expect("lines").push(v);
            }
        })
    };
    c.write_all(&first).expect("send StartupDetails");
    let server = std::thread::spawn(move || {
        let mut requests = Vec::new();
        while let Some(payload) = read_frame(&mut c) {
            let frame = to_json(rmpv::decode::read_value(&mut &payload[..]).expect("msgpack"));
            let items = frame.as_array().expect("a frame is an array").clone();
            assert!(
                (2..=3).contains(&items.len()),
                "a request frame is [id, body] or [id, body, context_carrier]: {frame}"
            );
            let id = items[0].as_i64().expect("an integer id");
            let body = items[1].clone();
            let a = answer(&body);
            requests.push(body);
            let reply = |b: rmpv::Value, e: rmpv::Value| {
                rmpv::Value::Array(vec![rmpv::Value::from(id), b, e])
            };
            match a {
                Answer::Body(b) => {
                    write_frame(&mut c, &reply(to_msgpack(None, &b), rmpv::Value::Nil))
                }
                Answer::Nothing => write_frame(&mut c, &reply(rmpv::Value::Nil, rmpv::Value::Nil)),
                Answer::Error(e) => {
                    write_frame(&mut c, &reply(rmpv::Value::Nil, to_msgpack(None, &e)))
                }
                Answer::Hangup => break,
            }
        }
        requests
    });
    {
        let lines = lines.clone();
        let logged = move |needle: &str| {
            lines
                .lock()
                .expect("lines")
                .iter()
                .any(|l| l["event"].as_str().is_some_and(|e| e.contains(needle)))
        };
        during(&child, &logged);
    }
    let out = {
        let mut stdout = Vec::new();
        let mut stderr = Vec::new();
        if let Some(mut s) = child.stdout.take() {
            let _ = s.read_to_end(&mut stdout);
        }
        if let Some(mut s) = child.stderr.take() {
            let _ = s.read_to_end(&mut stderr);
        }
        let status = child.wait().expect("wait");
        Output {
            status,
            stdout,
            stderr,
        }
    };
    log_reader.join().expect("the log reader");
    let logs = lines.lock().expect("lines").clone();
    Conversation {
        requests: server.join().expect("the stand-in"),
        logs,
        out,
    }
}

/// The connection airtask makes to `listener`; a failing test (not a hang) when airtask ends
/// without making it.
// The wall clock bounds the wait.
#[allow(clippy::disallowed_methods)]
fn accept(listener: &TcpListener, child: &mut Child, what: &str) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking");
    let t0 = std::time::Instant::now();
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking");
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("accepting on {what}: {e}"),
        }
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut s) = child.stderr.take() {
                let _ = s.read_to_string(&mut err);
            }
            panic!("airtask ended ({status}) without dialing {what}: {err}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "airtask did not dial {what} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn built(body: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let v = rmpv::Value::Array(vec![
        rmpv::Value::from(0),
        to_msgpack(None, body),
        rmpv::Value::Nil,
    ]);
    rmpv::encode::write_value(&mut out, &v).expect("encode");
    let mut framed = u32::try_from(out.len())
        .expect("a small frame")
        .to_be_bytes()
        .to_vec();
    framed.extend(out);
    framed
}

#[test]
fn a_task_runs_under_the_supervisor_with_xcoms_variables_and_logs() {
    let dir = dags("coord-happy");
    let c = converse(
        &dir,
        captured_startup(),
        |req| match req["type"].as_str() {
            Some("GetXCom") if req["task_id"] == "produce" && req["key"] == "return_value" => {
                Answer::Body(
                    json!({"key": "return_value", "value": "hello there", "type": "XComResult"}),
                )
            }
            Some("GetVariable") if req["key"] == "greeting" => {
                Answer::Body(json!({"key": "greeting", "value": "hi", "type": "VariableResult"}))
            }
            // As Task SDK 1.3.2 dumps it (exclude_unset): no type.
            Some("GetVariable") if req["key"] == "cfg" => {
                Answer::Body(json!({"key": "cfg", "value": "{\"n\": 7}"}))
            }
            Some("GetVariable") => Answer::Body(json!({
                "error": "VARIABLE_NOT_FOUND", "detail": {"key": req["key"]}, "type": "ErrorResponse"
            })),
            _ => Answer::Nothing,
        },
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        [
            "DeleteXCom",
            "GetXCom",
            "GetVariable",
            "GetVariable",
            "GetVariable",
            "SetRenderedFields",
            "SetXCom",
            "SucceedTask"
        ],
        "{}",
        c.text()
    );
    // The earlier try's XCom is cleared, as Airflow's task runner does.
    let r = &c.requests;
    assert_eq!(
        r[0],
        json!({"type": "DeleteXCom", "key": "return_value", "dag_id": "af_e2e",
               "run_id": "manual__2025-03-09T06:30:00+00:00", "task_id": "consume", "map_index": -1})
    );
    assert_eq!(r[1]["dag_id"], "af_e2e");
    assert_eq!(r[1]["include_prior_dates"], false);
    assert_eq!(r[4]["key"], "missing");
    // The Rendered Template tab, before the operator runs.
    assert_eq!(
        r[5],
        json!({"type": "SetRenderedFields", "rendered_fields": {"bash_command":
            "echo got hello there hi 7 dflt"}})
    );
    assert_eq!(
        r[6],
        json!({"type": "SetXCom", "key": "return_value", "value": "got hello there hi 7 dflt",
               "dag_id": "af_e2e", "run_id": "manual__2025-03-09T06:30:00+00:00",
               "task_id": "consume", "map_index": -1})
    );
    let done = &r[7];
    assert_eq!(done["state"], "success");
    assert_eq!(done["task_outlets"], json!([]));
    assert!(
        done["end_date"]
            .as_str()
            .is_some_and(|d| d.parse::<jiff::Timestamp>().is_ok()),
        "{done}"
    );
    // The log lines: JSON objects with the keys the supervisor reads, none on stdout.
    assert!(c.logged("got hello there hi 7 dflt"), "{}", c.text());
    assert!(
        c.logged("under Airflow's coordinator protocol"),
        "{}",
        c.text()
    );
    for l in &c.logs {
        for k in ["event", "level", "logger", "timestamp"] {
            assert!(l.get(k).is_some(), "{k} missing in {l}");
        }
        assert!(
            ["info", "warning", "error"].contains(&l["level"].as_str().unwrap_or("")),
            "{l}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&c.out.stdout).contains("got hello there"),
        "{}",
        c.text()
    );
}

#[test]
fn the_runs_conf_and_dates_reach_the_templates() {
    let dir = dags("coord-conf");
    let mut s = startup("produce", 2, false);
    s["ti_context"]["dag_run"]["conf"] = json!({"who": "conf"});
    let c = converse(&dir, built(&s), |_| Answer::Nothing, |_, _| {});
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    // No xcom_keys_to_clear (null): nothing deleted.
    assert_eq!(
        c.types(),
        ["SetRenderedFields", "SetXCom", "SucceedTask"],
        "{}",
        c.text()
    );
    assert_eq!(c.requests[1]["value"], "hello conf 2025-03-09 try 2");
    assert_eq!(
        c.requests[2]["task_outlets"],
        json!([{"name": "greetings", "uri": "s3://lake/greetings/", "type": "Asset"}]),
        "{}",
        c.text()
    );
}

#[test]
fn a_failure_is_retry_task_only_when_the_supervisor_allows_a_retry() {
    let dir = dags("coord-fail");
    let c = converse(
        &dir,
        built(&startup("fail", 1, true)),
        |_| Answer::Nothing,
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        ["SetRenderedFields", "RetryTask"],
        "{}",
        c.text()
    );
    let retry = &c.requests[1];
    assert_eq!(retry["state"], "up_for_retry");
    assert!(
        retry["retry_reason"]
            .as_str()
            .is_some_and(|r| r.contains("non-zero exit code 3")),
        "{retry}"
    );
    assert!(c.logged("failing"), "{}", c.text());

    let c = converse(
        &dir,
        built(&startup("fail", 2, false)),
        |_| Answer::Nothing,
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        ["SetRenderedFields", "TaskState"],
        "{}",
        c.text()
    );
    assert_eq!(c.requests[1]["state"], "failed");
    assert!(c.requests[1]["end_date"].is_string(), "{}", c.text());
}

#[test]
fn the_supervisors_logging_level_filters_the_lines() {
    let dir = dags("coord-level");
    let c = converse_with(
        &dir,
        &[("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")],
        built(&startup("fail", 2, false)),
        |_| Answer::Nothing,
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        ["SetRenderedFields", "TaskState"],
        "{}",
        c.text()
    );
    // The failure is an error line; the command's output and the start line are info.
    assert!(c.logged("Task ended failed"), "{}", c.text());
    assert!(!c.logged("failing"), "{}", c.text());
    assert!(!c.logged("coordinator protocol"), "{}", c.text());
    assert!(c.logs.iter().all(|l| l["level"] != "info"), "{}", c.text());
}

#[test]
fn a_missing_definition_fails_the_task_with_the_reason_in_the_log() {
    let dir = dags("coord-missing");
    std::fs::remove_file(dir.path().join("dags/team/af_e2e.yaml")).expect("rm");
    let c = converse(
        &dir,
        built(&startup("empty", 1, true)),
        |_| Answer::Nothing,
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    // Not retried: a missing definition does not heal by itself.
    assert_eq!(c.types(), ["TaskState"], "{}", c.text());
    assert_eq!(c.requests[0]["state"], "failed");
    assert!(c.logged("no YAML file"), "{}", c.text());
}

#[test]
fn connections_are_read_through_the_supervisor() {
    let dir = dags("coord-conn");
    let c = converse(
        &dir,
        built(&startup("conn_user", 1, false)),
        |req| match (req["type"].as_str(), req["conn_id"].as_str()) {
            (Some("GetConnection"), Some("my_db")) => {
                let mut conn = my_db();
                conn["type"] = json!("ConnectionResult");
                Answer::Body(conn)
            }
            (Some("GetConnection"), _) => Answer::Body(json!({
                "error": "CONNECTION_NOT_FOUND", "detail": {"conn_id": req["conn_id"]},
                "type": "ErrorResponse"
            })),
            _ => Answer::Nothing,
        },
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        [
            "GetConnection",
            "GetConnection",
            "GetConnection",
            "GetConnection",
            "GetConnection",
            "SetRenderedFields",
            "SetXCom",
            "SucceedTask"
        ],
        "{}",
        c.text()
    );
    // The XCom keeps the password; the Rendered Template tab masks it, as the log does.
    assert_eq!(
        c.requests[5]["rendered_fields"]["bash_command"],
        "echo db.internal:5432 sales *** none"
    );
    assert_eq!(
        c.requests[6]["value"],
        "db.internal:5432 sales s3cr3t-pw none"
    );
    assert!(c.logged("db.internal:5432 sales *** none"), "{}", c.text());
    assert!(!c.logged("s3cr3t-pw"), "{}", c.text());
}

#[test]
fn an_error_answer_fails_the_try() {
    let dir = dags("coord-error");
    let c = converse(
        &dir,
        built(&startup("produce", 1, false)),
        |req| match req["type"].as_str() {
            Some("SetXCom") => Answer::Error(json!({
                "error": "API_SERVER_ERROR",
                "detail": {"status_code": 500, "message": "xcom backend down"},
                "type": "ErrorResponse"
            })),
            _ => Answer::Nothing,
        },
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(0), "{}", c.text());
    assert_eq!(
        c.types(),
        ["SetRenderedFields", "SetXCom", "TaskState"],
        "{}",
        c.text()
    );
    assert_eq!(c.requests[2]["state"], "failed");
    assert!(c.logged("xcom backend down"), "{}", c.text());
}

#[test]
// The wall clock bounds how long the process ran: the test is about not hanging.
#[allow(clippy::disallowed_methods)]
fn sigterm_stops_the_task_and_leaves_the_state_to_the_supervisor() {
    let dir = dags("coord-term");
    // Built (or checked) before the clock starts.
    let _ = airtask_bin();
    let t0 = std::time::Instant::now();
    let c = converse(
        &dir,
        built(&startup("long", 1, true)),
        |_| Answer::Nothing,
        |child, logged| {
            // Once the command runs, as the supervisor does after a refused heartbeat.
            let t0 = std::time::Instant::now();
            while !logged("started") && t0.elapsed() < Duration::from_secs(60) {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
        },
    );
    assert_eq!(c.out.status.code(), Some(4), "{}", c.text());
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "took {:?}",
        t0.elapsed()
    );
    // The rendered fields went out before the command ran; no state message after it.
    assert_eq!(c.types(), ["SetRenderedFields"], "{}", c.text());
    assert!(c.logged("on_kill"), "{}", c.text());
}

#[test]
// The wall clock bounds how long the process ran: the test is about not hanging.
#[allow(clippy::disallowed_methods)]
fn a_supervisor_that_goes_away_ends_airtask_without_hanging() {
    let dir = dags("coord-gone");
    // Built (or checked) before the clock starts.
    let _ = airtask_bin();
    let t0 = std::time::Instant::now();
    let c = converse(
        &dir,
        built(&startup("produce", 1, false)),
        |_| Answer::Hangup,
        |_, _| {},
    );
    assert_eq!(c.out.status.code(), Some(5), "{}", c.text());
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "took {:?}",
        t0.elapsed()
    );
    let err = String::from_utf8_lossy(&c.out.stderr);
    assert!(err.contains("the supervisor was not told"), "{}", c.text());
}

#[test]
fn without_a_supervisor_the_command_says_who_starts_it() {
    let out = Command::new(airtask_bin())
        .args(["coordinator", "--comm=127.0.0.1:1", "--logs=127.0.0.1:1"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(5));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("[sdk] coordinators"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
