//! `airtask execute-workload` (and the container command Airflow's executors send) against a
//! stand-in Task Execution API: an in-process HTTP server on 127.0.0.1 that records every
//! request and answers as Airflow's api-server does, with faults on demand.

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use airtask_tests::{TempDir, airtask_bin};
use serde_json::{Value, json};

/// One request the stand-in received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    auth: String,
    version: String,
    body: String,
}

/// What the stand-in serves, and how it misbehaves.
#[derive(Default)]
struct Behaviour {
    /// `(dag, run, task, key)` -> value.
    xcoms: HashMap<(String, String, String, String), Value>,
    variables: HashMap<String, String>,
    connections: HashMap<String, Value>,
    /// How many `PATCH run` calls answer 503 first.
    run_503: u32,
    /// The heartbeat from which the answer is 409 (1-based); 0: never.
    heartbeat_409_from: u32,
    /// After this many heartbeats, close every connection without an answer (a lost
    /// server); 0: never.
    lose_after_heartbeats: u32,
    /// The TIRunContext answer's `should_retry`.
    should_retry: bool,
    /// The run's conf.
    conf: Value,
    heartbeats: u32,
    runs: u32,
    down: bool,
}

#[derive(Clone)]
struct StandIn {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    b: Arc<Mutex<Behaviour>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl StandIn {
    fn start(b: Behaviour) -> StandIn {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!(
            "http://127.0.0.1:{}/execution/",
            listener.local_addr().expect("addr").port()
        );
        let s = StandIn {
            url,
            seen: Arc::default(),
            b: Arc::new(Mutex::new(b)),
        };
        let server = s.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let server = server.clone();
                std::thread::spawn(move || server.serve(conn));
            }
        });
        s
    }

    fn seen(&self) -> Vec<Seen> {
        lock(&self.seen).clone()
    }

    fn calls(&self, method: &str, suffix: &str) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| {
                s.method == method && s.path.split('?').next().unwrap_or("").ends_with(suffix)
            })
            .collect()
    }

    fn serve(&self, mut conn: TcpStream) {
        let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
        let mut reader = BufReader::new(conn.try_clone().expect("clone"));
        let mut first = String::new();
        if reader.read_line(&mut first).is_err() || first.is_empty() {
            return;
        }
        let mut parts = first.split_whitespace();
        let method = parts.next().unwrap_or("").to_owned();
        let path = parts.next().unwrap_or("").to_owned();
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
            }
        }
        let len: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        let body = String::from_utf8_lossy(&body).into_owned();
        lock(&self.seen).push(Seen {
            method: method.clone(),
            path: path.clone(),
            auth: headers.get("authorization").cloned().unwrap_or_default(),
            version: headers
                .get("airflow-api-version")
                .cloned()
                .unwrap_or_default(),
            body: body.clone(),
        });
        let (status, extra, answer) = self.answer(&method, &path, &body);
        if status == 0 {
            // A lost server: the connection closes without an answer.
            return;
        }
        let reason = match status {
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            404 => "Not Found",
            409 => "Conflict",
            _ => "Error",
        };
        let mut out = format!(
            "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nConnection: close\r\n{extra}"
        );
        if status == 204 {
            out.push_str("\r\n");
        } else {
            out.push_str(&format!("Content-Length: {}\r\n\r\n{answer}", answer.len()));
        }
        let _ = conn.write_all(out.as_bytes());
    }

    /// The status (0: no answer), extra header lines and body for one request.
    fn answer(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let mut b = lock(&self.b);
        let rel = path.strip_prefix("/execution/").unwrap_or(path);
        let (route, _query) = rel.split_once('?').unwrap_or((rel, ""));
        let seg: Vec<String> = route.split('/').map(decode).collect();
        let seg: Vec<&str> = seg.iter().map(String::as_str).collect();
        match (method, seg.as_slice()) {
            ("PATCH", ["task-instances", _, "run"]) => {
                b.runs += 1;
                if b.runs <= b.run_503 {
                    return (503, String::new(), r#"{"detail":"try later"}"#.into());
                }
                let ctx = json!({
                    "dag_run": {"dag_id": "ignored", "run_id": "r1",
                        "logical_date": "2025-03-09T06:30:00Z",
                        "data_interval_start": "2025-03-09T06:30:00Z",
                        "data_interval_end": "2025-03-09T06:30:00Z",
                        "run_after": "2025-03-09T06:30:00Z", "run_type": "manual",
                        "state": "running", "conf": b.conf, "clear_number": 0,
                        "consumed_asset_events": [], "a_future_field": {"x": 1}},
                    "task_reschedule_count": 0, "max_tries": 1, "variables": [], "connections": [],
                    "next_method": null, "next_kwargs": null,
                    "xcom_keys_to_clear": ["return_value"], "should_retry": b.should_retry
                });
                (
                    200,
                    "Refreshed-API-Token: execution-token\r\n".into(),
                    ctx.to_string(),
                )
            }
            ("PUT", ["task-instances", _, "heartbeat"]) => {
                b.heartbeats += 1;
                if b.lose_after_heartbeats > 0 && b.heartbeats > b.lose_after_heartbeats {
                    b.down = true;
                }
                if b.down {
                    return (0, String::new(), String::new());
                }
                if b.heartbeat_409_from > 0 && b.heartbeats >= b.heartbeat_409_from {
                    return (
                        409,
                        String::new(),
                        r#"{"detail":{"reason":"not_running","current_state":"failed"}}"#.into(),
                    );
                }
                (204, String::new(), String::new())
            }
            ("PUT", ["task-instances", _, "rtif"]) if !b.down => (
                201,
                String::new(),
                r#"{"message":"Rendered Task Instance Fields successfully set"}"#.into(),
            ),
            ("PATCH", ["task-instances", _, "state"]) if !b.down => {
                (204, String::new(), String::new())
            }
            ("GET", ["xcoms", dag, run, task, key]) if !b.down => {
                match b.xcoms.get(&(
                    dag.to_string(),
                    run.to_string(),
                    task.to_string(),
                    key.to_string(),
                )) {
                    Some(v) => (
                        200,
                        String::new(),
                        json!({"key": key, "value": v}).to_string(),
                    ),
                    None => (
                        404,
                        String::new(),
                        r#"{"detail":{"reason":"not_found"}}"#.into(),
                    ),
                }
            }
            ("POST", ["xcoms", dag, run, task, key]) if !b.down => {
                let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
                b.xcoms.insert(
                    (
                        dag.to_string(),
                        run.to_string(),
                        task.to_string(),
                        key.to_string(),
                    ),
                    v,
                );
                (201, String::new(), "null".into())
            }
            ("DELETE", ["xcoms", dag, run, task, key]) if !b.down => {
                b.xcoms.remove(&(
                    dag.to_string(),
                    run.to_string(),
                    task.to_string(),
                    key.to_string(),
                ));
                (204, String::new(), String::new())
            }
            ("GET", ["variables", key]) if !b.down => match b.variables.get(*key) {
                Some(v) => (
                    200,
                    String::new(),
                    json!({"key": key, "value": v}).to_string(),
                ),
                None => (
                    404,
                    String::new(),
                    r#"{"detail":{"reason":"not_found"}}"#.into(),
                ),
            },
            ("GET", ["connections", id]) if !b.down => match b.connections.get(*id) {
                Some(c) => (200, String::new(), c.to_string()),
                None => (
                    404,
                    String::new(),
                    r#"{"detail":{"reason":"not_found"}}"#.into(),
                ),
            },
            _ if b.down => (0, String::new(), String::new()),
            _ => (404, String::new(), r#"{"detail":"no such route"}"#.into()),
        }
    }
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

const DAG: &str = r#"
af_e2e:
  params: {who: world}
  tasks:
    produce:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo first; echo 'hello {{ params.who }} {{ ds }} try {{ ti.try_number }}'"
      outlets:
        - {__type__: airflow.sdk.Asset, name: greetings, uri: "s3://lake/greetings/"}
    consume:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo got {{ ti.xcom_pull(task_ids='produce') }} {{ var.value.greeting }} {{ var.json.cfg.n }} {{ var.value.get('missing', 'dflt') }}"
      dependencies: [produce]
    fail:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo failing; exit 3"
      retries: 1
    long:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo started; sleep 45.5 & wait; echo never"
    empty:
      operator: airflow.operators.empty.EmptyOperator
    skip:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo skipping; exit 99"
    conn_user:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo {{ conn.my_db.host }}:{{ conn.my_db.port }} {{ conn.my_db.extra_dejson.db }} {{ conn.my_db.password }} {{ conn.get('nope', 'none') }}"
"#;

/// A DAGs folder with the YAML and its dag-factory loader, and a log folder.
pub(crate) fn dags(name: &str) -> TempDir {
    let d = TempDir::new(name);
    std::fs::create_dir_all(d.path().join("dags/team")).expect("mkdir");
    std::fs::write(d.path().join("dags/team/af_e2e.yaml"), DAG).expect("write");
    std::fs::write(
        d.path().join("dags/team/loader.py"),
        "from dagfactory import load_yaml_dags\nload_yaml_dags(globals_dict=globals())\n",
    )
    .expect("write");
    d
}

fn workload(task: &str, try_number: u32) -> String {
    json!({
        "token": "workload-token",
        "ti": {"id": format!("0193-{task}-{try_number}"), "task_id": task, "dag_id": "af_e2e",
               "run_id": "manual__2025-03-09T06:30:00+00:00", "try_number": try_number,
               "dag_version_id": "v1", "map_index": -1, "hostname": null,
               "context_carrier": null, "queue": "default", "pool_slots": 1, "priority_weight": 1},
        "dag_rel_path": "team/loader.py",
        "bundle_info": {"name": "dags-folder", "version": null},
        "log_path": format!("dag_id=af_e2e/run_id=manual__2025-03-09T06:30:00+00:00/task_id={task}/attempt={try_number}.log"),
        "sentry_integration": "",
        "type": "ExecuteTask"
    })
    .to_string()
}

/// The command KubernetesExecutor sends, with airtask as the entrypoint.
fn run(
    server: &StandIn,
    dir: &TempDir,
    task: &str,
    try_number: u32,
    env: &[(&str, &str)],
) -> Output {
    let mut cmd = Command::new(airtask_bin());
    cmd.args([
        "python",
        "-m",
        "airflow.sdk.execution_time.execute_workload",
        "--json-string",
        &workload(task, try_number),
    ])
    .env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", &server.url)
    .env("AIRFLOW__CORE__DAGS_FOLDER", dir.path().join("dags"))
    .env("AIRFLOW__LOGGING__BASE_LOG_FOLDER", dir.path().join("logs"))
    .env("AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MIN", "0.1")
    .env("AIRFLOW__WORKERS__EXECUTION_API_RETRY_WAIT_MAX", "0.2")
    .env_remove("AIRFLOW__LOGGING__REMOTE_LOGGING");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run airtask")
}

fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn final_state(server: &StandIn) -> Value {
    let states = server.calls("PATCH", "/state");
    assert_eq!(states.len(), 1, "exactly one final state: {states:?}");
    serde_json::from_str(&states[0].body).expect("JSON state")
}

#[test]
fn a_task_runs_with_xcoms_from_the_api_and_reports_success() {
    let dir = dags("af-happy");
    let mut b = Behaviour::default();
    b.xcoms.insert(
        (
            "af_e2e".into(),
            "manual__2025-03-09T06:30:00+00:00".into(),
            "produce".into(),
            "return_value".into(),
        ),
        json!("hello there"),
    );
    b.variables.insert("greeting".into(), "hi".into());
    b.variables.insert("cfg".into(), r#"{"n": 7}"#.into());
    let server = StandIn::start(b);
    let out = run(&server, &dir, "consume", 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    // PATCH run first, with the workload token, hostname, pid and the pinned version.
    let seen = server.seen();
    assert_eq!(seen[0].method, "PATCH", "{seen:?}");
    assert!(
        seen[0].path.ends_with("/task-instances/0193-consume-1/run"),
        "{seen:?}"
    );
    assert_eq!(seen[0].auth, "Bearer workload-token");
    let start: Value = serde_json::from_str(&seen[0].body).expect("JSON");
    assert_eq!(start["state"], "running");
    assert!(start["pid"].as_u64().is_some(), "{start}");
    assert!(
        start["hostname"].as_str().is_some_and(|h| !h.is_empty()),
        "{start}"
    );
    assert!(seen.iter().all(|s| s.version == "2025-11-05"), "{seen:?}");
    // Every later call carries the token the server refreshed.
    assert!(
        seen[1..].iter().all(|s| s.auth == "Bearer execution-token"),
        "{seen:?}"
    );
    // The earlier try's XComs were cleared, the upstream value read, and return_value pushed.
    assert_eq!(
        server.calls("DELETE", "/consume/return_value").len(),
        1,
        "{seen:?}"
    );
    let pushed = server.calls("POST", "/consume/return_value");
    assert_eq!(pushed.len(), 1, "{seen:?}");
    assert_eq!(pushed[0].body, r#""got hello there hi 7 dflt""#);
    let state = final_state(&server);
    assert_eq!(state["state"], "success", "{state}");
    assert!(state["end_date"].as_str().is_some(), "{state}");
    // The Rendered Template tab: the rendered fields, put once before the operator ran.
    let rtif = server.calls("PUT", "/task-instances/0193-consume-1/rtif");
    assert_eq!(rtif.len(), 1, "{seen:?}");
    let fields: Value = serde_json::from_str(&rtif[0].body).expect("JSON");
    assert_eq!(
        fields["bash_command"], "echo got hello there hi 7 dflt",
        "{fields}"
    );

    // The task log at base_log_folder/log_path, JSON lines as Airflow's UI reads them.
    let log = std::fs::read_to_string(dir.path().join(
        "logs/dag_id=af_e2e/run_id=manual__2025-03-09T06:30:00+00:00/task_id=consume/attempt=1.log",
    ))
    .expect("the task log");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["event"] == "got hello there hi 7 dflt"),
        "{log}"
    );
    for l in &lines {
        for k in ["event", "level", "logger", "timestamp"] {
            assert!(l.get(k).is_some(), "{k} missing in {l}");
        }
    }
    // The workload's token never reaches the log.
    assert!(!log.contains("workload-token"), "{log}");
}

/// The connection of the `conn_user` task.
pub(crate) fn my_db() -> Value {
    json!({"conn_id": "my_db", "conn_type": "postgres", "host": "db.internal", "schema": "app",
           "login": "app", "password": "s3cr3t-pw", "port": 5432, "extra": "{\"db\": \"sales\"}"})
}

#[test]
fn connections_are_read_through_the_api_and_their_password_is_masked() {
    let dir = dags("af-conn");
    let mut b = Behaviour::default();
    b.connections.insert("my_db".into(), my_db());
    let server = StandIn::start(b);
    let out = run(&server, &dir, "conn_user", 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(
        server.calls("GET", "/connections/my_db").len(),
        4,
        "{:?}",
        server.seen()
    );
    assert_eq!(
        server.calls("GET", "/connections/nope").len(),
        1,
        "{:?}",
        server.seen()
    );
    let pushed = server.calls("POST", "/conn_user/return_value");
    assert_eq!(pushed.len(), 1, "{:?}", server.seen());
    // The XCom keeps the value; the log masks it.
    assert_eq!(pushed[0].body, r#""db.internal:5432 sales s3cr3t-pw none""#);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("db.internal:5432 sales *** none"),
        "{}",
        text(&out)
    );
    assert!(!stdout.contains("s3cr3t-pw"), "{}", text(&out));
    // So does the Rendered Template tab.
    let rtif = server.calls("PUT", "/rtif");
    assert_eq!(rtif.len(), 1, "{:?}", server.seen());
    let fields: Value = serde_json::from_str(&rtif[0].body).expect("JSON");
    assert_eq!(
        fields["bash_command"], "echo db.internal:5432 sales *** none",
        "{fields}"
    );
}

#[test]
fn templates_see_the_runs_dates_and_conf_and_execute_workload_reads_a_file() {
    let dir = dags("af-conf");
    let server = StandIn::start(Behaviour {
        conf: json!({"who": "conf"}),
        ..Behaviour::default()
    });
    let path = dir.write("wl.json", workload("produce", 2));
    let out = Command::new(airtask_bin())
        .args(["execute-workload", "--json-path", &path])
        .env("AIRFLOW__CORE__EXECUTION_API_SERVER_URL", &server.url)
        .env("AIRFLOW__CORE__DAGS_FOLDER", dir.path().join("dags"))
        .env("AIRFLOW__LOGGING__BASE_LOG_FOLDER", dir.path().join("logs"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let pushed = server.calls("POST", "/produce/return_value");
    assert_eq!(pushed.len(), 1, "{:?}", server.seen());
    assert_eq!(pushed[0].body, r#""hello conf 2025-03-09 try 2""#);
    let state = final_state(&server);
    assert_eq!(state["state"], "success");
    // The task's outlets, as the API's AssetProfile: Airflow records an asset event for each.
    assert_eq!(
        state["task_outlets"],
        json!([{"name": "greetings", "uri": "s3://lake/greetings/", "type": "Asset"}]),
        "{state}"
    );
    assert_eq!(state["outlet_events"], json!([]), "{state}");
}

#[test]
fn a_5xx_answer_is_retried() {
    let dir = dags("af-retry");
    let server = StandIn::start(Behaviour {
        run_503: 2,
        ..Behaviour::default()
    });
    let out = run(&server, &dir, "empty", 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(server.calls("PATCH", "/run").len(), 3);
    assert_eq!(final_state(&server)["state"], "success");
}

#[test]
fn a_failure_is_up_for_retry_only_when_the_server_says_so() {
    let dir = dags("af-fail");
    let server = StandIn::start(Behaviour {
        should_retry: true,
        ..Behaviour::default()
    });
    let out = run(&server, &dir, "fail", 1, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(final_state(&server)["state"], "up_for_retry");
    assert!(server.calls("POST", "/return_value").is_empty());

    let server = StandIn::start(Behaviour::default());
    let out = run(&server, &dir, "fail", 2, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(final_state(&server)["state"], "failed");
}

#[test]
fn a_missing_definition_fails_the_task_in_airflow_with_the_reason() {
    let dir = dags("af-missing");
    std::fs::remove_file(dir.path().join("dags/team/af_e2e.yaml")).expect("rm");
    let server = StandIn::start(Behaviour::default());
    let out = run(&server, &dir, "empty", 1, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(final_state(&server)["state"], "failed");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("no YAML file"),
        "{}",
        text(&out)
    );
}

#[test]
// The wall clock bounds how long the process ran: the test is about not hanging.
#[allow(clippy::disallowed_methods)]
fn a_409_heartbeat_stops_the_task_and_sends_no_state() {
    let dir = dags("af-409");
    let server = StandIn::start(Behaviour {
        heartbeat_409_from: 2,
        ..Behaviour::default()
    });
    // Built (or found) before the clock starts: the first call runs `cargo build`.
    airtask_bin();
    let t0 = std::time::Instant::now();
    let out = run(
        &server,
        &dir,
        "long",
        1,
        &[("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}\n{}\n{:?}",
        t0.elapsed(),
        text(&out),
        server.seen()
    );
    assert!(
        server.calls("PATCH", "/state").is_empty(),
        "{:?}",
        server.seen()
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("on_kill"),
        "{}",
        text(&out)
    );
}

#[test]
// The wall clock bounds how long the process ran: the test is about not hanging.
#[allow(clippy::disallowed_methods)]
fn a_lost_server_is_retried_then_the_task_fails_without_hanging() {
    let dir = dags("af-lost");
    let server = StandIn::start(Behaviour {
        lose_after_heartbeats: 2,
        ..Behaviour::default()
    });
    // Built (or found) before the clock starts: the first call runs `cargo build`.
    airtask_bin();
    let t0 = std::time::Instant::now();
    let out = run(
        &server,
        &dir,
        "long",
        1,
        &[
            ("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1"),
            ("AIRFLOW__WORKERS__EXECUTION_API_RETRIES", "2"),
        ],
    );
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        t0.elapsed() < Duration::from_secs(40),
        "took {:?}",
        t0.elapsed()
    );
    // Heartbeats were retried before giving up.
    assert!(
        server.calls("PUT", "/heartbeat").len() >= 5,
        "{:?}",
        server.seen()
    );
    // The failed state update was retried too.
    assert!(
        server.calls("PATCH", "/state").len() >= 2,
        "{:?}",
        server.seen()
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Airflow was not told"), "{}", text(&out));
}

#[test]
fn a_malformed_workload_is_a_usage_error() {
    let out = Command::new(airtask_bin())
        .args(["execute-workload", "--json-string", "{\"ti\": 1}"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not an Airflow ExecuteTask workload"),
        "{}",
        text(&out)
    );
}

/// With Airflow's CloudWatch remote logging configured (`[logging] remote_logging`,
/// `remote_base_log_folder = cloudwatch://arn:...:log-group:G`), the task log goes to group G,
/// stream `log_path` with `:` replaced by `_`, one JSON object per line with `event`, `level`,
/// `logger` and `timestamp`: what Airflow's CloudWatch handler reads back for its log view.
#[test]
fn remote_logging_ships_the_log_to_airflows_cloudwatch_group_and_stream() {
    let dir = dags("af-remote-log");
    let server = StandIn::start(Behaviour::default());
    let group = format!("airflow-remote-{}", std::process::id());
    let folder = format!("cloudwatch://arn:aws:logs:us-east-1:123456789012:log-group:{group}");
    let out = run(
        &server,
        &dir,
        "produce",
        1,
        &[
            ("AIRFLOW__LOGGING__REMOTE_LOGGING", "True"),
            ("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER", &folder),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let stream =
        "dag_id=af_e2e/run_id=manual__2025-03-09T06_30_00+00_00/task_id=produce/attempt=1.log";
    let lines = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(async {
            let config = airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await;
            let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
            crate::logs::read_stream(&logs, &group, stream).await
        });
    assert!(
        !lines.is_empty(),
        "nothing in {group}/{stream}:\n{}",
        text(&out)
    );
    let parsed: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    for v in &parsed {
        for field in ["event", "level", "logger", "timestamp"] {
            assert!(v[field].is_string(), "no {field} in {v}");
        }
    }
    let events: Vec<&str> = parsed.iter().filter_map(|v| v["event"].as_str()).collect();
    assert!(
        events.contains(&"hello world 2025-03-09 try 1"),
        "{events:?}"
    );
    assert!(events.contains(&"first"), "{events:?}");
    // The same lines in the local file Airflow's log view falls back to.
    let local = std::fs::read_to_string(dir.path().join("logs").join(
        "dag_id=af_e2e/run_id=manual__2025-03-09T06:30:00+00:00/task_id=produce/attempt=1.log",
    ))
    .expect("the local log file");
    assert_eq!(local.lines().count(), lines.len(), "{local}");
}
