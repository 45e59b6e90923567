//! `airtask run-task`: tries, timeouts, signals, XCom and the task record, through the binary.

use std::io::BufRead as _;
use std::process::{Command, Stdio};

use airtask_tests::{TempDir, airtask, airtask_bin};

const WF: &str = r#"
rt:
  params: {greeting: hello}
  tasks:
    produce:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo first line; echo '{{ params.greeting }} {{ ds }} try {{ ti.try_number }}'"
    consume:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo got {{ ti.xcom_pull(task_ids='produce') }}"
      dependencies: [produce]
    flaky:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo attempt {{ ti.try_number }}; exit 3"
      retries: 2
      retry_delay: 0.2
    slow:
      operator: airflow.operators.bash.BashOperator
      bash_command: "sleep 37.25 & sleep 37.25; echo never"
      execution_timeout: 1
    slow_in_namespace:
      operator: airflow.operators.bash.BashOperator
      bash_command: "sleep 38.75 & sleep 38.75; echo never"
      execution_timeout: 1
    long:
      operator: airflow.operators.bash.BashOperator
      bash_command: "trap 'echo stopping cleanly; exit 143' TERM; echo started; sleep 41.5 & wait; echo never"
    big:
      operator: airflow.operators.bash.BashOperator
      bash_command: "head -c 210000 /dev/zero | tr '\\0' x; echo"
    fails_after_output:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo partial; exit 1"
    skipped:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo skipping; exit 99"
    bad_param:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo x"
      bash_comand: "typo"
    bad_template:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo {{ next_ds }}"
    ctx_env:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo $AIRFLOW_CTX_DAG_ID/$AIRFLOW_CTX_TASK_ID/$AIRFLOW_CTX_TRY_NUMBER/$AIRFLOW_CTX_LOGICAL_DATE/$AIRFLOW_CTX_DAG_RUN_ID/$AIRFLOW_CTX_DAG_OWNER/${ONLY_THIS:-unset}/${HOME:-nohome}"
      env: {ONLY_THIS: set}
    secret_env:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo password is $DB_PASSWORD; echo token=$SHORT_TOKEN"
      env: {DB_PASSWORD: hunter2-long, SHORT_TOKEN: abc}
"#;

struct Env {
    dir: TempDir,
    wf: String,
    state: String,
}

fn env(name: &str) -> Env {
    let dir = TempDir::new(name);
    let wf = dir.write("rt.yaml", WF);
    let state = dir.path().join("state").to_string_lossy().into_owned();
    Env { dir, wf, state }
}

impl Env {
    fn run(&self, task: &str, extra: &[&str]) -> (Option<i32>, String, serde_json::Value) {
        let mut args = vec![
            "run-task",
            &self.wf,
            task,
            "--state-dir",
            &self.state,
            "--run-id",
            "r1",
            "--logical-date",
            "2025-03-09",
            "--output",
            "json",
        ];
        args.extend(extra);
        let out = airtask(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let record = stdout
            .lines()
            .last()
            .and_then(|l| serde_json::from_str(l).ok())
            .unwrap_or(serde_json::Value::Null);
        (out.status.code(), stdout, record)
    }

    fn task_dir(&self, task: &str) -> std::path::PathBuf {
        self.dir.path().join("state/rt/r1").join(task).join("-1")
    }
}

fn processes_matching(pattern: &str) -> usize {
    let out = Command::new("pgrep")
        .args(["-f", pattern])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn success_pushes_the_last_line_and_downstream_pulls_it() {
    let e = env("rt-success");
    let (code, stdout, record) = e.run("produce", &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("INFO    - first line"), "{stdout}");
    assert_eq!(record["status"], "SUCCESS");
    assert_eq!(record["try"], 1);
    assert_eq!(
        record["log_stream"],
        "//aws/mwaa-serverless/rt//workflow_id=rt/run_id=r1/task_id=produce/attempt=1.log"
    );
    let xcom =
        std::fs::read_to_string(e.task_dir("produce").join("xcom/return_value.json")).unwrap();
    assert_eq!(xcom, "\"hello 2025-03-09 try 1\"");
    let on_disk: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(e.task_dir("produce").join("record.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(on_disk, record);

    let (code, stdout, _) = e.run("consume", &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("INFO    - got hello 2025-03-09 try 1"),
        "{stdout}"
    );
}

#[test]
fn bash_sees_airflow_context_variables_and_only_its_env() {
    let e = env("rt-ctx-env");
    let (code, stdout, _) = e.run("ctx_env", &[]);
    assert_eq!(code, Some(0), "{stdout}");
    let xcom =
        std::fs::read_to_string(e.task_dir("ctx_env").join("xcom/return_value.json")).unwrap();
    // `env` without append_env replaces the environment (no HOME); AIRFLOW_CTX_* come on top.
    assert_eq!(
        xcom,
        "\"rt/ctx_env/1/2025-03-09T00:00:00+00:00/r1/airflow/set/nohome\""
    );
}

#[test]
fn values_of_secret_looking_parameters_are_masked_in_every_log() {
    let e = env("rt-secret");
    let (code, stdout, record) = e.run("secret_env", &[]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("INFO    - password is ***"), "{stdout}");
    assert!(!stdout.contains("hunter2-long"), "{stdout}");
    // Too short to mask (Airflow's minimum length is 5).
    assert!(stdout.contains("token=abc"), "{stdout}");
    let mirror = std::fs::read_to_string(record["log_file"].as_str().unwrap()).unwrap();
    assert!(mirror.contains("password is ***") && !mirror.contains("hunter2-long"));
}

#[test]
fn retries_with_delay_then_fail_and_try_runs_exactly_one() {
    let e = env("rt-retry");
    let (code, stdout, record) = e.run("flaky", &[]);
    assert_eq!(code, Some(1), "{stdout}");
    for n in 1..=3 {
        assert!(stdout.contains(&format!("- attempt {n}")), "{stdout}");
    }
    assert_eq!(stdout.matches("UP_FOR_RETRY").count(), 2, "{stdout}");
    assert!(
        stdout.contains("Waiting 0.2 s (retry_delay) before attempt 2"),
        "{stdout}"
    );
    assert_eq!(record["status"], "FAILED");
    assert_eq!(record["try"], 3);
    assert_eq!(
        record["error"],
        "Bash command failed. The command returned a non-zero exit code 3."
    );

    let (code, stdout, record) = e.run("flaky", &["--try", "2"]);
    assert_eq!(code, Some(1));
    assert!(
        stdout.contains("- attempt 2") && !stdout.contains("- attempt 1"),
        "{stdout}"
    );
    assert_eq!(
        record["status"], "UP_FOR_RETRY",
        "try 2 of 3 failing leaves a retry to the orchestrator"
    );
    let (code, _, _) = e.run("flaky", &["--try", "4"]);
    assert_eq!(code, Some(2));
}

#[test]
fn a_try_past_its_timeout_is_killed_with_its_process_group() {
    let e = env("rt-timeout");
    let (code, stdout, record) = e.run("slow", &[]);
    assert_eq!(code, Some(3), "{stdout}");
    assert_eq!(record["status"], "TIMEOUT");
    assert!(
        stdout.contains("Killing the task's work (on_kill)"),
        "{stdout}"
    );
    assert_eq!(
        processes_matching("sleep 37.25"),
        0,
        "the background sleep was killed too"
    );
}

/// As a container's init (PID 1, in a PID namespace of its own), run-task reaps the orphans of
/// a killed command, so the group ends at SIGTERM instead of lingering as zombies until SIGKILL.
#[test]
fn as_pid_1_the_killed_group_is_reaped_without_waiting_for_sigkill() {
    let e = env("rt-pid1");
    let out = Command::new("unshare")
        .args([
            "--user",
            "--map-root-user",
            "--pid",
            "--fork",
            "--mount-proc",
        ])
        .arg(airtask_bin())
        .args([
            "run-task",
            &e.wf,
            "slow_in_namespace",
            "--state-dir",
            &e.state,
            "--run-id",
            "r1",
            "--no-cloudwatch",
        ])
        .output()
        .expect("unshare (util-linux) runs the binary as PID 1 of a new namespace");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("Sending SIGTERM signal to process group"),
        "{stdout}"
    );
    assert!(stdout.contains("ended after SIGTERM"), "{stdout}");
    assert!(!stdout.contains("sending SIGKILL"), "{stdout}");
}

#[test]
fn sigterm_stops_the_task_runs_on_kill_and_flushes_the_record() {
    let e = env("rt-sigterm");
    let mut child = Command::new(airtask_bin())
        .args([
            "run-task",
            &e.wf,
            "long",
            "--state-dir",
            &e.state,
            "--run-id",
            "r1",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let started = line.ends_with("- started");
        seen.push(line);
        if started {
            break;
        }
    }
    airtask_tests::terminate(&child);
    seen.extend(lines.map(Result::unwrap));
    let code = child.wait().unwrap().code();
    let log = seen.join("\n");
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains("Killing the task's work (on_kill)") && log.contains("ended STOPPED"),
        "{log}"
    );
    // What the command printed as it stopped is in the log, before the attempt's end.
    let last_words = log
        .find("- stopping cleanly")
        .expect("the trap's line is logged");
    assert!(last_words < log.find("ended STOPPED").unwrap(), "{log}");
    assert_eq!(processes_matching("sleep 41.5"), 0);
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(e.task_dir("long").join("record.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(record["status"], "STOPPED");
    assert!(!e.task_dir("long").join("xcom").exists());
}

#[test]
fn xcom_over_quota_fails_and_failed_tries_store_nothing() {
    let e = env("rt-xcom");
    let (code, stdout, record) = e.run("big", &[]);
    assert_eq!(
        code,
        Some(1),
        "{}",
        &stdout[stdout.len().saturating_sub(500)..]
    );
    assert_eq!(record["status"], "FAILED");
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("at most 204800 bytes (200 KB)")
    );
    assert!(!e.task_dir("big").join("xcom").exists());

    let (code, _, record) = e.run("fails_after_output", &[]);
    assert_eq!(code, Some(1));
    assert_eq!(record["status"], "FAILED");
    assert!(!e.task_dir("fails_after_output").join("xcom").exists());

    let (code, _, record) = e.run("skipped", &[]);
    assert_eq!(code, Some(0));
    assert_eq!(record["status"], "SKIPPED");
    assert!(!e.task_dir("skipped").join("xcom").exists());
}

#[test]
fn invalid_parameters_and_templates_exit_2() {
    let e = env("rt-invalid");
    let (code, _, record) = e.run("bad_param", &[]);
    assert_eq!(code, Some(2));
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("BashOperator has no parameter `bash_comand`"),
        "{record}"
    );
    let (code, _, record) = e.run("bad_template", &[]);
    assert_eq!(code, Some(2));
    assert!(
        record["error"]
            .as_str()
            .unwrap()
            .contains("'next_ds' is undefined"),
        "{record}"
    );
    let out = airtask(&["run-task", &e.wf, "nope"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_container_entrypoint_takes_its_inputs_from_the_environment() {
    let e = env("rt-entrypoint");
    let run = |vars: &[(&str, &str)]| {
        let mut cmd = Command::new(airtask_bin());
        for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("AIRTASK_")) {
            cmd.env_remove(k);
        }
        cmd.envs(vars.iter().copied());
        cmd.output().unwrap()
    };
    let out = run(&[
        ("AIRTASK_WORKFLOW", &e.wf),
        ("AIRTASK_TASK_ID", "produce"),
        ("AIRTASK_WORKFLOW_ID", "rt"),
        ("AIRTASK_RUN_ID", "env-run"),
        ("AIRTASK_LOGICAL_DATE", "2025-03-09T06:30:00Z"),
        ("AIRTASK_STATE_DIR", &e.state),
        ("AIRTASK_OUTPUT", "json"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let record: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(record["run_id"], "env-run");
    assert_eq!(record["status"], "SUCCESS");

    // A missing required variable: exit 2, naming it.
    let out = run(&[("AIRTASK_WORKFLOW", &e.wf)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("AIRTASK_TASK_ID is not set"), "{stderr}");
    // A malformed workflow id, or a role this build cannot assume: refused, never ignored.
    for vars in [
        vec![
            ("AIRTASK_WORKFLOW", e.wf.as_str()),
            ("AIRTASK_TASK_ID", "produce"),
            ("AIRTASK_WORKFLOW_ID", "other/../id"),
        ],
        vec![
            ("AIRTASK_WORKFLOW", e.wf.as_str()),
            ("AIRTASK_TASK_ID", "produce"),
            ("AIRTASK_CLOUDWATCH", "maybe"),
        ],
        vec![
            ("AIRTASK_WORKFLOW", e.wf.as_str()),
            ("AIRTASK_TASK_ID", "produce"),
            ("AIRTASK_MAP_INDEX", "x"),
        ],
        vec![
            ("AIRTASK_WORKFLOW", e.wf.as_str()),
            ("AIRTASK_TASK_ID", "produce"),
            ("AIRTASK_SESSION_DURATION", "an hour"),
        ],
        vec![
            ("AIRTASK_WORKFLOW", e.wf.as_str()),
            ("AIRTASK_TASK_ID", "produce"),
            ("AIRTASK_EXECUTION_ROLE_ARN", "wf-exec"),
        ],
    ] {
        let out = run(&vars);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{vars:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Runs airtask with the AWS config and credentials files pointing at a FIFO: loading AWS
/// configuration blocks on opening it. Returns the exit code, or None if the process was still
/// blocked after `seconds`.
fn run_with_blocking_aws_config(e: &Env, args: &[&str], seconds: u64) -> Option<i32> {
    let fifo = e.dir.path().join("aws-config.fifo");
    if !fifo.exists() {
        assert!(
            Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .expect("mkfifo")
                .success()
        );
    }
    let mut child = Command::new(airtask_bin())
        .args(args)
        .env("AWS_CONFIG_FILE", &fifo)
        .env("AWS_SHARED_CREDENTIALS_FILE", &fifo)
        // A laptop with no AWS in its environment (no endpoint, no keys): nothing to ship logs
        // to, so nothing may touch the configuration.
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn airtask");
    for _ in 0..seconds * 20 {
        if let Some(status) = child.try_wait().expect("wait") {
            return status.code();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_task_without_aws_calls_never_loads_aws_configuration() {
    let e = env("rt-no-aws");
    let code = run_with_blocking_aws_config(
        &e,
        &[
            "run-task",
            &e.wf,
            "produce",
            "--state-dir",
            &e.state,
            "--run-id",
            "r1",
        ],
        20,
    );
    assert_eq!(
        code,
        Some(0),
        "run-task of a local workflow touched the AWS configuration"
    );
    // Control: a command that does load AWS configuration blocks on the FIFO.
    let code =
        run_with_blocking_aws_config(&e, &["validate", "s3://airtask-e2e-no-bucket/wf.yaml"], 2);
    assert_eq!(
        code, None,
        "the FIFO trick no longer detects loading AWS configuration"
    );
}
