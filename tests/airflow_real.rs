//! airtask under a real Apache Airflow 3: api-server, scheduler and dag-processor on loopback
//! (SQLite), the DAG parsed by dag-factory from a YAML file, and airtask as the task runner two
//! ways: a test executor of a few lines (tests/airflow/airtask_executor.py) that starts airtask
//! with exactly the argv KubernetesExecutor gives a worker pod, and (Airflow 3.3) the
//! LocalExecutor's Python workers handing the `airtask` queue to `airtask coordinator` through
//! `[sdk] coordinators` (scripts/airflow/airtask_coordinator.py). Everything is checked through
//! Airflow's public REST API: task states, try numbers, XComs and the task logs.
//!
//! Airflow is installed by scripts/airflow-venv.sh into a project-local venv (pinned versions).
//! These tests take minutes: they are `#[ignore]`d in `cargo test` (cargo reports them as
//! ignored, so they never run concurrently with the rest of the suite), and scripts/test.sh runs
//! them last, one at a time: it installs the venvs, sets AIRTASK_AIRFLOW_TESTS=1 and passes
//! `--ignored --test-threads=1`.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use airtask_tests::{TempDir, airtask_bin, workspace_root};
use serde_json::{Value, json};

const DAG: &str = r#"
af_real:
  default_args:
    start_date: 2025-01-01
    owner: airtask
  schedule: null
  catchup: false
  tasks:
    start:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    hello:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo 'hello from {{ ti.task_id }} {{ ds }} {{ params.who }}'"
      dependencies: [start]
      outlets:
        - __type__: airflow.sdk.Asset
          name: af_real_greeting
          uri: "s3://airtask-test/greeting"
    flaky:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo try {{ ti.try_number }}; test {{ ti.try_number }} -gt 1"
      retries: 1
      retry_delay: 1
      dependencies: [start]
    bucket:
      operator: airflow.providers.amazon.aws.operators.s3.S3CreateBucketOperator
      bucket_name: "{{ params.bucket }}"
      dependencies: [start]
    put:
      operator: airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator
      s3_bucket: "{{ params.bucket }}"
      s3_key: "out/{{ ds }}.txt"
      data: "{{ ti.xcom_pull(task_ids='hello') }}"
      dependencies: [bucket, hello]
    consume:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo got {{ ti.xcom_pull(task_ids='hello') }}"
      dependencies: [put, flaky]
"#;

/// A DAG of one long task, for the "mark failed" fault. Its own file: MWAA (and airtask) take
/// one workflow per definition file.
const STOP_DAG: &str = r#"
af_stop:
  default_args:
    start_date: 2025-01-01
    owner: airtask
  schedule: null
  catchup: false
  tasks:
    long:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "sleep 613"
"#;

const LOADER: &str = "# An Airflow DAG file: dag-factory builds the DAGs of the YAML beside it.\n\
from dagfactory import load_yaml_dags\n\nload_yaml_dags(globals_dict=globals())\n";

fn enabled() -> bool {
    std::env::var("AIRTASK_AIRFLOW_TESTS").is_ok_and(|v| v == "1")
}

/// A plain HTTP/1.0 request on loopback: (status, body). With `simple_auth_manager_all_admins`,
/// Airflow 3.3 serves the public API without a token; 3.1 answers 401 and hands an admin token
/// out at `GET /auth/token`: on a 401 the token is fetched (once per server) and the request
/// repeated with it.
fn http(method: &str, url: &str, body: Option<&Value>) -> Option<(u16, String)> {
    static TOKENS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let known = |tokens: &[(String, String)]| {
        tokens
            .iter()
            .find(|(h, _)| h == host)
            .map(|(_, t)| t.clone())
    };
    let token = TOKENS.lock().ok().and_then(|t| known(&t));
    let answer = http_once(method, host, path, body, token.as_deref())?;
    if answer.0 != 401 || token.is_some() || path.starts_with("auth/") {
        return Some(answer);
    }
    let (status, text) = http_once("GET", host, "auth/token", None, None)?;
    let token = serde_json::from_str::<Value>(&text).ok()?["access_token"]
        .as_str()
        .filter(|_| matches!(status, 200 | 201))?
        .to_owned();
    if let Ok(mut t) = TOKENS.lock() {
        t.push((host.to_owned(), token.clone()));
    }
    http_once(method, host, path, body, Some(&token))
}

fn http_once(
    method: &str,
    host: &str,
    path: &str,
    body: Option<&Value>,
    token: Option<&str>,
) -> Option<(u16, String)> {
    let mut conn = std::net::TcpStream::connect(host).ok()?;
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let payload = body.map(Value::to_string).unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        conn,
        "{method} /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         {auth}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
        payload.len()
    )
    .ok()?;
    let mut response = String::new();
    conn.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

fn get_json(url: &str) -> Value {
    let (status, body) = http("GET", url, None).unwrap_or_else(|| panic!("GET {url}: no answer"));
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {url}: {e}: {body}"))
}

/// How airtask gets the tasks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// The test executor starts `airtask python -m ...execute_workload --json-string ...`.
    Container,
    /// LocalExecutor; the DAG's tasks are on the `airtask` queue, which `[sdk]
    /// queue_to_coordinator` routes to `airtask coordinator`.
    Coordinator,
}

/// A running Airflow: its processes (each in its own process group) and its home.
struct Airflow {
    home: TempDir,
    api: String,
    children: Vec<Child>,
    stats: PathBuf,
}

impl Drop for Airflow {
    fn drop(&mut self) {
        for c in &mut self.children {
            // The whole group: api-server workers, the dag-processor's parsers, task processes.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .status();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn venv(version: &str) -> PathBuf {
    let out = Command::new(workspace_root().join("scripts/airflow-venv.sh"))
        .arg(version)
        .stderr(Stdio::inherit())
        .output()
        .expect("run scripts/airflow-venv.sh");
    assert!(
        out.status.success(),
        "scripts/airflow-venv.sh {version} failed"
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Airflow {
    fn start(name: &str, version: &str, mode: Mode) -> Airflow {
        let venv = venv(version);
        let home = TempDir::new(name);
        let dags = home.path().join("dags");
        std::fs::create_dir_all(&dags).expect("mkdir");
        let dag = match mode {
            Mode::Container => DAG.to_owned(),
            // Every task on the queue the coordinator serves.
            Mode::Coordinator => DAG.replace(
                "    owner: airtask\n",
                "    owner: airtask\n    queue: airtask\n",
            ),
        };
        std::fs::write(dags.join("af_real.yaml"), dag).expect("write");
        std::fs::write(dags.join("af_stop.yaml"), STOP_DAG).expect("write");
        std::fs::write(dags.join("af_loader.py"), LOADER).expect("write");
        let port = free_port();
        let api = format!("http://127.0.0.1:{port}");
        let stats = home.path().join("stats.jsonl");
        let coordinators = json!({"airtask": {
            "classpath": "airtask_coordinator.AirtaskCoordinator",
            "kwargs": {"airtask": airtask_bin().display().to_string()},
        }});
        let mut env: Vec<(String, String)> = [
            ("AIRFLOW_HOME", home.path().display().to_string()),
            (
                "PYTHONPATH",
                format!(
                    "{}:{}",
                    workspace_root().join("tests/airflow").display(),
                    workspace_root().join("scripts/airflow").display()
                ),
            ),
            (
                "AIRFLOW__CORE__EXECUTOR",
                match mode {
                    Mode::Container => "airtask_executor.AirtaskExecutor".into(),
                    Mode::Coordinator => "LocalExecutor".into(),
                },
            ),
            ("AIRFLOW__CORE__DAGS_FOLDER", dags.display().to_string()),
            ("AIRFLOW__CORE__LOAD_EXAMPLES", "False".into()),
            (
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                format!("sqlite:///{}/airflow.db", home.path().display()),
            ),
            (
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL",
                format!("{api}/execution/"),
            ),
            ("AIRFLOW__API__BASE_URL", api.clone()),
            (
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS",
                "True".into(),
            ),
            (
                "AIRFLOW__API_AUTH__JWT_SECRET",
                format!("airtask-test-{port}-0123456789abcdef"),
            ),
            ("AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC", "1".into()),
            ("AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL", "5".into()),
            ("AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False".into()),
            (
                "AIRFLOW__LOGGING__BASE_LOG_FOLDER",
                home.path().join("logs").display().to_string(),
            ),
            ("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "2".into()),
            ("AIRTASK_EXECUTOR_STATS", stats.display().to_string()),
            ("AIRTASK_BIN", airtask_bin().display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if mode == Mode::Coordinator {
            env.push((
                "AIRFLOW__SDK__COORDINATORS".into(),
                coordinators.to_string(),
            ));
            env.push((
                "AIRFLOW__SDK__QUEUE_TO_COORDINATOR".into(),
                r#"{"airtask": "airtask"}"#.into(),
            ));
            env.push(("AIRFLOW__CORE__PARALLELISM".into(), "4".into()));
        }
        let airflow = venv.join("bin/airflow");
        let run = |args: &[&str], log: &str| -> Child {
            let log = std::fs::File::create(home.path().join(log)).expect("log file");
            let mut cmd = Command::new(&airflow);
            cmd.args(args)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .env_remove("AIRTASK_EXECUTOR_MODE")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log);
            std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
            cmd.spawn().expect("start airflow")
        };
        let mut migrate = run(&["db", "migrate"], "migrate.log");
        assert!(
            migrate.wait().expect("migrate").success(),
            "airflow db migrate failed"
        );
        let children = vec![
            run(
                &[
                    "api-server",
                    "--port",
                    &port.to_string(),
                    "--host",
                    "127.0.0.1",
                    "--workers",
                    "1",
                ],
                "api.log",
            ),
            run(&["scheduler"], "scheduler.log"),
            run(&["dag-processor"], "dag-processor.log"),
        ];
        let af = Airflow {
            home,
            api,
            children,
            stats,
        };
        af.wait_for("the DAG to be parsed", Duration::from_secs(300), || {
            http("GET", &format!("{}/api/v2/dags/af_real", af.api), None)
                .is_some_and(|(s, _)| s == 200)
        });
        af
    }

    // Waiting on a real Airflow is bounded by the wall clock.
    #[allow(clippy::disallowed_methods)]
    fn wait_for(&self, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !done() {
            assert!(
                t0.elapsed() < limit,
                "gave up waiting {limit:?} for {what}; logs in {}:\n{}",
                self.home.path().display(),
                self.tail_logs()
            );
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    fn tail_logs(&self) -> String {
        ["api.log", "scheduler.log", "dag-processor.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.home.path().join(f)).unwrap_or_default();
                let lines: Vec<&str> = text.lines().collect();
                format!(
                    "== {f}\n{}",
                    lines[lines.len().saturating_sub(15)..].join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn trigger(&self, run_id: &str, conf: Value) {
        self.trigger_dag("af_real", run_id, conf);
    }

    fn trigger_dag(&self, dag: &str, run_id: &str, conf: Value) {
        let (status, body) = http(
            "POST",
            &format!("{}/api/v2/dags/{dag}/dagRuns", self.api),
            Some(&json!({"dag_run_id": run_id, "logical_date": "2025-03-09T00:00:00Z", "conf": conf})),
        )
        .expect("trigger");
        assert_eq!(status, 200, "trigger: {body}");
    }

    fn run_state(&self, run_id: &str) -> String {
        get_json(&format!(
            "{}/api/v2/dags/af_real/dagRuns/{run_id}",
            self.api
        ))["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The lines of a try's task log in run r1, as Airflow's log endpoint gives them.
    fn log_lines(&self, task: &str, try_number: u64) -> Vec<Value> {
        let v = get_json(&format!(
            "{}/api/v2/dags/af_real/dagRuns/r1/taskInstances/{task}/logs/{try_number}",
            self.api
        ));
        v["content"].as_array().cloned().unwrap_or_default()
    }

    fn task_instances(&self, run_id: &str) -> Vec<Value> {
        get_json(&format!(
            "{}/api/v2/dags/af_real/dagRuns/{run_id}/taskInstances",
            self.api
        ))["task_instances"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

fn a_dag_run_succeeds_through_airtask(version: &str, mode: Mode) {
    assert!(
        enabled(),
        "airflow_real needs the pinned Airflow venvs: run `scripts/test.sh` (or scripts/airflow-venv.sh)"
    );
    let name = match mode {
        Mode::Container => format!("af-real-{version}"),
        Mode::Coordinator => format!("af-coord-{version}"),
    };
    let af = Airflow::start(&name, version, mode);
    // One bucket per test: the container and coordinator runs of one version share the test
    // process and the endpoint, and `put` (replace: false) refuses an existing key.
    let bucket = format!("{name}-{}", std::process::id()).replace('.', "-");
    af.trigger("r1", json!({"who": "conf", "bucket": bucket}));
    af.wait_for("the run to end", Duration::from_secs(420), || {
        matches!(af.run_state("r1").as_str(), "success" | "failed")
    });
    let tis = af.task_instances("r1");
    let summary: Vec<(String, String, u64)> = tis
        .iter()
        .map(|t| {
            (
                t["task_id"].as_str().unwrap_or_default().to_owned(),
                t["state"].as_str().unwrap_or_default().to_owned(),
                t["try_number"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        af.run_state("r1"),
        "success",
        "{summary:?}\nstats: {}\n{}",
        std::fs::read_to_string(&af.stats).unwrap_or_default(),
        af.tail_logs()
    );
    for (task, state, _) in &summary {
        assert_eq!(state, "success", "{task}: {summary:?}");
    }
    let flaky = summary.iter().find(|t| t.0 == "flaky").expect("flaky");
    assert_eq!(
        flaky.2, 2,
        "the flaky task succeeded on its second try: {summary:?}"
    );

    // The XCom, as Airflow stores it.
    let x = get_json(&format!(
        "{}/api/v2/dags/af_real/dagRuns/r1/taskInstances/hello/xcomEntries/return_value",
        af.api
    ));
    assert_eq!(x["value"], "hello from hello 2025-03-09 conf", "{x}");
    let x = get_json(&format!(
        "{}/api/v2/dags/af_real/dagRuns/r1/taskInstances/consume/xcomEntries/return_value",
        af.api
    ));
    assert_eq!(x["value"], "got hello from hello 2025-03-09 conf", "{x}");

    // The Rendered Template tab (SetRenderedFields / PUT rtif), as the UI reads it.
    let ti = get_json(&format!(
        "{}/api/v2/dags/af_real/dagRuns/r1/taskInstances/hello",
        af.api
    ));
    assert_eq!(
        ti["rendered_fields"]["bash_command"], "echo 'hello from hello 2025-03-09 conf'",
        "{ti}"
    );

    // The outlet: Airflow recorded an asset event from hello's success.
    let events = get_json(&format!(
        "{}/api/v2/assets/events?source_dag_id=af_real&source_task_id=hello&source_run_id=r1",
        af.api
    ));
    let uris: Vec<&str> = events["asset_events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["uri"].as_str())
        .collect();
    assert_eq!(uris, ["s3://airtask-test/greeting"], "{events}");

    // The task logs, through Airflow's log endpoint: structured lines (event, level, logger).
    let hello = af.log_lines("hello", 1);
    let line = hello
        .iter()
        .find(|l| {
            l["event"]
                .as_str()
                .is_some_and(|e| e.contains("hello from hello 2025-03-09 conf"))
        })
        .unwrap_or_else(|| panic!("no bash output line in {hello:#?}"));
    assert_eq!(line["level"], "info", "{line}");
    assert!(
        line["logger"].as_str().is_some_and(|l| !l.is_empty()),
        "{line}"
    );
    // airtask found the YAML under the bundle's folder (the coordinator class passes it as
    // --dags-folder; the container command reads [core] dags_folder).
    let yaml = af.home.path().join("dags/af_real.yaml");
    let defined = format!("DAG 'af_real' is defined in {}", yaml.display());
    assert!(
        hello.iter().any(|l| l["event"] == defined.as_str()),
        "{defined}: {hello:#?}"
    );
    // The retried task: one log per try, each with its own try number.
    for n in 1..=2 {
        let lines = af.log_lines("flaky", n);
        assert!(
            lines
                .iter()
                .any(|l| l["event"].as_str() == Some(&format!("try {n}"))),
            "flaky try {n}: {lines:#?}"
        );
    }

    match mode {
        Mode::Container => {
            // Every task ran in airtask (the executor's record of each process).
            let stats = std::fs::read_to_string(&af.stats).expect("stats");
            assert!(stats.lines().count() >= 5, "{stats}");
            a_task_marked_failed_is_stopped(&af);
        }
        Mode::Coordinator => {
            // Every try of every task ran in airtask, started by the supervisor's coordinator
            // for the `airtask` queue. Except `start`: Airflow's scheduler sets an EmptyOperator
            // without callbacks or outlets to success without sending it to any worker
            // (DagRun.schedule_tis), so no task runner, Python or airtask, sees it.
            for (task, _, tries) in &summary {
                let ti = tis
                    .iter()
                    .find(|t| t["task_id"] == task.as_str())
                    .expect("the task instance");
                assert_eq!(ti["queue"], "airtask", "{ti}");
                let ran = |n: u64| {
                    af.log_lines(task, n).iter().any(|l| {
                        l["event"]
                            .as_str()
                            .is_some_and(|e| e.contains("under Airflow's coordinator protocol"))
                    })
                };
                if task == "start" {
                    assert!(!ran(1), "start ran in a worker: {ti}");
                    continue;
                }
                for n in 1..=*tries {
                    assert!(ran(n), "{task} try {n}: {:#?}", af.log_lines(task, n));
                }
            }
        }
    }
}

/// The user marks a running task failed through the public API (what the UI's "mark failed"
/// does): Airflow answers airtask's next heartbeat 409, and airtask stops the task (its Bash
/// child included) and exits non-zero well before the command would have ended.
// Waiting on a real Airflow is bounded by the wall clock.
#[allow(clippy::disallowed_methods)]
fn a_task_marked_failed_is_stopped(af: &Airflow) {
    let ti_url = format!(
        "{}/api/v2/dags/af_stop/dagRuns/s1/taskInstances/long",
        af.api
    );
    let log_url = format!("{ti_url}/logs/1");
    af.trigger_dag("af_stop", "s1", json!({}));
    let sleeping = || {
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
            .any(|c| c == b"sleep\x00613\x00")
    };
    af.wait_for("the long task to run", Duration::from_secs(300), || {
        get_json(&ti_url)["state"] == "running" && sleeping()
    });
    let (status, body) =
        http("PATCH", &ti_url, Some(&json!({"new_state": "failed"}))).expect("mark failed");
    assert_eq!(status, 200, "mark failed: {body}");
    let marked = Instant::now();
    let record = || -> Option<Value> {
        std::fs::read_to_string(&af.stats)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|r| r["task_id"] == "long")
    };
    af.wait_for("airtask to stop the task", Duration::from_secs(240), || {
        record().is_some()
    });
    let record = record().expect("the record of the long task");
    assert_ne!(record["exit"], 0, "the stopped task exited 0: {record}");
    assert!(
        record["wall_s"].as_f64().is_some_and(|w| w < 500.0),
        "the task ran its whole `sleep 613`: {record}"
    );
    eprintln!(
        "marked failed -> airtask exited {} in {:?}",
        record["exit"],
        marked.elapsed()
    );
    assert_eq!(get_json(&ti_url)["state"], "failed");
    // The Bash child went with it.
    assert!(!sleeping(), "`sleep 613` outlived the stopped task");
    let lines = get_json(&log_url)["content"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        lines.iter().any(|l| l["event"]
            .as_str()
            .is_some_and(|e| e.contains("may not run any more"))),
        "no stop line in the task log: {lines:#?}"
    );
}

#[test]
#[ignore = "minutes under a real Airflow 3.3: scripts/test.sh runs it last, one at a time"]
fn airflow_3_3_runs_a_dag_through_airtask() {
    a_dag_run_succeeds_through_airtask("3.3.2", Mode::Container);
}

#[test]
#[ignore = "minutes under a real Airflow 3.3: scripts/test.sh runs it last, one at a time"]
fn airflow_3_3_runs_a_queue_through_the_airtask_coordinator() {
    a_dag_run_succeeds_through_airtask("3.3.2", Mode::Coordinator);
}

#[test]
#[ignore = "minutes under a real Airflow 3.1: scripts/test.sh runs it last, one at a time"]
fn airflow_3_1_runs_a_dag_through_airtask() {
    a_dag_run_succeeds_through_airtask("3.1.8", Mode::Container);
}

/// What a task instance run through Airflow's own Task SDK supervisor left
/// (tests/airflow/real_supervisor.py): the exit code and final state the supervisor derived,
/// its calls to the (in-memory) Task Execution API, and the task log lines it received.
struct Supervised {
    exit_code: i64,
    final_state: String,
    /// `(method, path, body)` of every API call but the heartbeats.
    calls: Vec<(String, String, Value)>,
    heartbeats: usize,
    logs: Vec<Value>,
    raw: String,
}

impl Supervised {
    fn logged(&self, needle: &str) -> bool {
        self.logs
            .iter()
            .any(|l| l["event"].as_str().is_some_and(|e| e.contains(needle)))
    }
    /// The body of the one `PATCH .../state`.
    fn state_call(&self) -> &Value {
        let calls: Vec<&Value> = self
            .calls
            .iter()
            .filter(|(m, p, _)| m == "PATCH" && p.ends_with("/state"))
            .map(|(_, _, b)| b)
            .collect();
        assert_eq!(calls.len(), 1, "one state call: {}", self.raw);
        calls[0]
    }
}

/// Runs `task` of af_e2e (tests/airflow_api.rs) with `scenario` (the API's content) through
/// Task SDK 1.3.2's supervisor and scripts/airflow/airtask_coordinator.py.
// A hung supervisor is bounded by the wall clock.
#[allow(clippy::disallowed_methods)]
fn supervise(name: &str, task: &str, mut scenario: Value) -> Supervised {
    assert!(
        enabled(),
        "airflow_real needs the pinned Airflow venvs: run `scripts/test.sh` (or scripts/airflow-venv.sh)"
    );
    let venv = venv("3.3.2");
    let dir = super::airflow_api::dags(name);
    scenario["airtask"] = json!(airtask_bin().display().to_string());
    scenario["dags_folder"] = json!(dir.path().join("dags").display().to_string());
    scenario["task_id"] = json!(task);
    let out = dir.path().join("result.json");
    let home = dir.path().join("airflow-home");
    let mut child = Command::new(venv.join("bin/python"))
        .arg(workspace_root().join("tests/airflow/real_supervisor.py"))
        .arg(scenario.to_string())
        .arg(&out)
        .env("AIRFLOW_HOME", &home)
        .env_remove("AIRFLOW__CORE__DAGS_FOLDER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the supervisor");
    let t0 = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if t0.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("the supervisor did not finish in 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let raw = std::fs::read_to_string(&out)
        .unwrap_or_else(|e| panic!("no result from the supervisor ({e}): {err}"));
    let v: Value = serde_json::from_str(&raw).expect("the result");
    let requests = v["requests"].as_array().cloned().unwrap_or_default();
    let heartbeats = requests
        .iter()
        .filter(|r| r[1].as_str().is_some_and(|p| p.ends_with("/heartbeat")))
        .count();
    Supervised {
        exit_code: v["exit_code"].as_i64().unwrap_or(-1000),
        final_state: v["final_state"].as_str().unwrap_or_default().to_owned(),
        calls: requests
            .iter()
            .filter(|r| !r[1].as_str().is_some_and(|p| p.ends_with("/heartbeat")))
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_owned(),
                    r[1].as_str().unwrap_or_default().to_owned(),
                    r[2].clone(),
                )
            })
            .collect(),
        heartbeats,
        logs: v["logs"].as_array().cloned().unwrap_or_default(),
        raw: format!("{raw}\nstderr:\n{err}"),
    }
}

const XCOMS: &str = "/xcoms/af_e2e/manual__2025-03-09T06:30:00+00:00";

#[test]
#[ignore = "needs the Airflow 3.3 venv: scripts/test.sh runs it last, one at a time"]
fn the_task_sdks_supervisor_runs_airtask_with_xcoms_variables_and_logs() {
    let s = supervise(
        "sup-happy",
        "consume",
        json!({"xcom_keys_to_clear": ["return_value"],
               "xcoms": {"produce/return_value": "hello there"},
               "variables": {"greeting": "hi", "cfg": "{\"n\": 7}"}}),
    );
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (0, "success"),
        "{}",
        s.raw
    );
    let calls: Vec<(&str, String)> = s
        .calls
        .iter()
        .map(|(m, p, _)| (m.as_str(), p.replace(XCOMS, "X")))
        .collect();
    assert_eq!(calls.len(), 9, "{}", s.raw);
    assert_eq!(calls[0].0, "PATCH");
    assert!(calls[0].1.ends_with("/run"), "{}", s.raw);
    assert_eq!(
        &calls[1..6],
        [
            ("DELETE", "X/consume/return_value".to_owned()),
            ("GET", "X/produce/return_value".to_owned()),
            ("GET", "/variables/greeting".to_owned()),
            ("GET", "/variables/cfg".to_owned()),
            ("GET", "/variables/missing".to_owned()),
        ],
        "{}",
        s.raw
    );
    // The supervisor put the rendered fields (SetRenderedFields) to the API.
    assert_eq!(calls[6].0, "PUT", "{}", s.raw);
    assert!(calls[6].1.ends_with("/rtif"), "{}", s.raw);
    assert_eq!(
        s.calls[6].2,
        json!({"bash_command": "echo got hello there hi 7 dflt"}),
        "{}",
        s.raw
    );
    assert_eq!(calls[7], ("POST", "X/consume/return_value".to_owned()));
    assert_eq!(s.calls[7].2, "got hello there hi 7 dflt", "{}", s.raw);
    let done = s.state_call();
    assert_eq!(done["state"], "success", "{}", s.raw);
    assert_eq!(done["task_outlets"], json!([]), "{}", s.raw);
    assert!(s.heartbeats >= 1, "{}", s.raw);
    // The lines reached the supervisor's task logger as structured events.
    let line = s
        .logs
        .iter()
        .find(|l| l["event"] == "got hello there hi 7 dflt")
        .unwrap_or_else(|| panic!("no bash output line: {}", s.raw));
    assert_eq!(line["level"], "info", "{line}");
    assert!(
        line["logger"]
            .as_str()
            .is_some_and(|l| l.starts_with("airflow.task.hooks")),
        "{line}"
    );
    assert!(
        s.logged("under Airflow's coordinator protocol"),
        "{}",
        s.raw
    );
}

#[test]
#[ignore = "needs the Airflow 3.3 venv: scripts/test.sh runs it last, one at a time"]
fn the_task_sdks_supervisor_relays_connections_and_masks_them() {
    let s = supervise(
        "sup-conn",
        "conn_user",
        json!({"connections": {"my_db": super::airflow_api::my_db()}}),
    );
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (0, "success"),
        "{}",
        s.raw
    );
    let gets = s
        .calls
        .iter()
        .filter(|(m, p, _)| m == "GET" && p.starts_with("/connections/"))
        .count();
    assert_eq!(gets, 5, "{}", s.raw);
    let pushed = s
        .calls
        .iter()
        .find(|(m, p, _)| m == "POST" && p.ends_with("/conn_user/return_value"))
        .unwrap_or_else(|| panic!("no XCom: {}", s.raw));
    assert_eq!(pushed.2, "db.internal:5432 sales s3cr3t-pw none");
    assert!(s.logged("db.internal:5432 sales *** none"), "{}", s.raw);
    assert!(
        !s.raw.contains("\"s3cr3t-pw\"") && !s.logged("s3cr3t-pw"),
        "{}",
        s.raw
    );
}

#[test]
#[ignore = "needs the Airflow 3.3 venv: scripts/test.sh runs it last, one at a time"]
fn the_task_sdks_supervisor_takes_retry_failed_and_skipped() {
    let s = supervise(
        "sup-retry",
        "fail",
        json!({"should_retry": true, "max_tries": 1}),
    );
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (0, "up_for_retry"),
        "{}",
        s.raw
    );
    let retry = s.state_call();
    assert_eq!(retry["state"], "up_for_retry", "{}", s.raw);
    assert!(
        retry["retry_reason"]
            .as_str()
            .is_some_and(|r| r.contains("non-zero exit code 3")),
        "{}",
        s.raw
    );

    let s = supervise(
        "sup-failed",
        "fail",
        json!({"try_number": 2, "should_retry": false, "max_tries": 1}),
    );
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (0, "failed"),
        "{}",
        s.raw
    );
    assert_eq!(s.state_call()["state"], "failed", "{}", s.raw);
    assert!(s.logged("failing"), "{}", s.raw);

    let s = supervise("sup-skip", "skip", json!({}));
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (0, "skipped"),
        "{}",
        s.raw
    );
    assert_eq!(s.state_call()["state"], "skipped", "{}", s.raw);
}

#[test]
#[ignore = "needs the Airflow 3.3 venv: scripts/test.sh runs it last, one at a time"]
fn a_refused_heartbeat_makes_the_supervisor_stop_airtask() {
    let s = supervise("sup-409", "long", json!({"refuse_heartbeat_from": 3}));
    // The supervisor sent SIGTERM; airtask stopped the command (on_kill) and exited by itself
    // (4, not killed by the supervisor's SIGKILL escalation) without a state message; the
    // supervisor keeps the state the server set.
    assert_eq!(
        (s.exit_code, s.final_state.as_str()),
        (4, "SERVER_TERMINATED"),
        "{}",
        s.raw
    );
    assert!(
        !s.calls.iter().any(|(_, p, _)| p.ends_with("/state")),
        "{}",
        s.raw
    );
    assert!(s.logged("started"), "{}", s.raw);
    assert!(s.logged("on_kill"), "{}", s.raw);
    assert!(s.logged("Task stopped"), "{}", s.raw);
    assert!(
        !s.logs.iter().any(|l| l["event"] == "never"),
        "the command ran to its end: {}",
        s.raw
    );
}
