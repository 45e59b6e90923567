//! The runtime under faults (issue 11): tasks that cannot start, signals to `airtask run`,
//! hostile inputs, concurrent tries, full disks. Every test drives the binary.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use airtask_tests::{TempDir, airtask, airtask_bin};

/// Waits (up to two minutes: the machine may be loaded) until `cond` holds; panics with `what`
/// otherwise. Not a timing assertion: only a guard against a hang.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let mut polls = 0;
    while !cond() {
        polls += 1;
        assert!(polls < POLLS, "gave up waiting: {what}");
        std::thread::sleep(POLL);
    }
}

/// How often, and how many times, a test looks for what it waits for: two minutes in all.
const POLL: Duration = Duration::from_millis(50);
const POLLS: u32 = 2400;

/// Waits for `child` to exit (at most two minutes), killing it on a hang.
fn wait_output(mut child: Child, what: &str) -> Output {
    for _ in 0..POLLS {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(POLL);
    }
    let _ = child.kill();
    let out = child.wait_with_output().expect("output");
    panic!(
        "{what} hung:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run_in_background(args: &[&str]) -> Child {
    Command::new(airtask_bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start airtask")
}

fn text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn record(path: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn status_of(path: &Path) -> String {
    record(path)
        .and_then(|r| r["status"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// True while process `pid` exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().chars().next())
        })
        .flatten()
        .is_some_and(|state| state != 'Z' && state != 'X')
}

fn summary_state(stdout: &str, task: &str) -> String {
    stdout
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned()
}

const CHAIN: &str = "\
chain:
  tasks:
    first:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    second:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      dependencies: [first]
    cleanup:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      trigger_rule: all_done
      dependencies: [second]
";

#[test]
fn run_ends_when_no_task_can_start_because_the_state_directory_is_a_file() {
    let dir = TempDir::new("faults-state-file");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.write("state", "a regular file");
    let child = run_in_background(&["run", &wf, "--run-id", "r1", "--state-dir", &state]);
    let out = wait_output(child, "airtask run with a state directory that is a file");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(summary_state(&stdout, "first"), "failed", "{stdout}");
    assert_eq!(
        summary_state(&stdout, "second"),
        "upstream_failed",
        "{stdout}"
    );
    // all_done still runs (and cannot start either): the trigger rule was followed.
    assert_eq!(summary_state(&stdout, "cleanup"), "failed", "{stdout}");
    assert!(stdout.contains("Not a directory"), "{stdout}");
}

#[test]
fn run_ends_when_the_run_id_is_too_long_for_a_file_name() {
    let dir = TempDir::new("faults-long-run-id");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.path().join("state");
    // 250 characters (Airflow's limit), each encoded as three in the file name.
    let run_id = "~".repeat(250);
    let child = run_in_background(&[
        "run",
        &wf,
        "--run-id",
        &run_id,
        "--state-dir",
        &state.to_string_lossy(),
    ]);
    let out = wait_output(child, "airtask run with a long run id");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(summary_state(&stdout, "first"), "failed", "{stdout}");
    assert_eq!(summary_state(&stdout, "cleanup"), "failed", "{stdout}");
}

const LONG: &str = "\
sig:
  tasks:
    long:
      operator: airflow.operators.bash.BashOperator
      bash_command: \"echo $$ > PIDFILE; sleep 300 & wait\"
    after:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      dependencies: [long]
";

struct LongRun {
    dir: TempDir,
    state: PathBuf,
    pidfile: PathBuf,
    child: Child,
}

impl LongRun {
    fn start(name: &str) -> LongRun {
        let dir = TempDir::new(name);
        let pidfile = dir.path().join("bash.pid");
        let wf = dir.write(
            "sig.yaml",
            LONG.replace("PIDFILE", &pidfile.to_string_lossy()),
        );
        let state = dir.path().join("state");
        let child = run_in_background(&[
            "run",
            &wf,
            "--run-id",
            "r1",
            "--state-dir",
            &state.to_string_lossy(),
        ]);
        let run = LongRun {
            dir,
            state,
            pidfile,
            child,
        };
        wait_until("the task's command to start", || {
            std::fs::read_to_string(&run.pidfile).is_ok_and(|s| s.trim().parse::<u32>().is_ok())
        });
        run
    }

    fn record(&self) -> PathBuf {
        self.state.join("sig/r1/long/-1/record.json")
    }

    fn bash_pid(&self) -> u32 {
        std::fs::read_to_string(&self.pidfile)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }
}

#[test]
fn sigterm_to_run_stops_every_task_prints_the_summary_and_exits_4() {
    let run = LongRun::start("faults-run-sigterm");
    let bash = run.bash_pid();
    assert!(alive(bash));
    airtask_tests::terminate(&run.child);
    let out = wait_output(run.child, "airtask run after SIGTERM");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(summary_state(&stdout, "long"), "stopped", "{stdout}");
    assert!(stdout.contains("run r1 was stopped"), "{stdout}");
    let path = run.state.join("sig/r1/long/-1/record.json");
    assert_eq!(status_of(&path), "STOPPED");
    let log = std::fs::read_to_string(run.state.join("sig/r1/long/-1/output.log")).unwrap();
    assert!(log.contains("on_kill"), "{log}");
    assert!(!alive(bash), "the task's command outlived the run");
    drop(run.dir);
}

#[test]
fn children_of_a_killed_run_stop_too() {
    let mut run = LongRun::start("faults-run-sigkill");
    let bash = run.bash_pid();
    run.child.kill().expect("SIGKILL the run");
    let _ = run.child.wait();
    // The run-task child gets SIGTERM from the kernel (parent death signal), stops its command
    // and writes its record.
    let record = run.record();
    wait_until("the orphaned task to stop", || {
        status_of(&record) == "STOPPED"
    });
    wait_until("the task's command to end", || !alive(bash));
}

#[test]
fn a_failed_mapped_task_points_at_the_log_of_the_instance_that_failed() {
    let dir = TempDir::new("faults-mapped-pointer");
    let wf = dir.write(
        "m.yaml",
        "m:\n  tasks:\n    fan:\n      operator: airflow.operators.bash.BashOperator\n      \
         expand:\n        bash_command: [\"exit 1\", \"sleep 2\", \"sleep 4\"]\n",
    );
    let state = dir.path().join("state");
    let out = airtask(&[
        "run",
        &wf,
        "--run-id",
        "r1",
        "--state-dir",
        &state.to_string_lossy(),
        "--parallelism",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let line = stdout
        .lines()
        .find(|l| l.contains("fan ") && l.contains("failed (log:"))
        .unwrap_or_else(|| panic!("no failure line:\n{stdout}"));
    assert!(line.contains("/fan/0/output.log"), "{line}");
}

#[test]
fn default_run_ids_are_unique_per_run() {
    let dir = TempDir::new("faults-run-ids");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    let ids: Vec<String> = (0..2)
        .map(|_| {
            let out = airtask(&[
                "run",
                &wf,
                "--logical-date",
                "2025-03-09",
                "--state-dir",
                &state,
            ]);
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let line = stdout.lines().last().unwrap_or_default().to_owned();
            line.split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert!(ids[0].starts_with("manual__"), "{ids:?}");
    assert_ne!(ids[0], ids[1]);
    for id in &ids {
        assert!(
            dir.path()
                .join("state/chain")
                .join(id)
                .join("first/-1/record.json")
                .exists(),
            "{id}"
        );
    }
}

#[test]
fn numeric_flags_and_variables_are_range_checked() {
    let dir = TempDir::new("faults-numbers");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    for value in ["NaN", "inf", "1e30", "-1"] {
        let out = airtask(&[
            "run-task",
            &wf,
            "first",
            "--state-dir",
            &state,
            "--no-cloudwatch",
            &format!("--log-flush-timeout={value}"),
        ]);
        assert_eq!(out.status.code(), Some(2), "{value}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--log-flush-timeout"),
            "{}",
            text(&out)
        );
        let out = Command::new(airtask_bin())
            .env("AIRTASK_WORKFLOW", &wf)
            .env("AIRTASK_TASK_ID", "first")
            .env("AIRTASK_STATE_DIR", &*state)
            .env("AIRTASK_CLOUDWATCH", "off")
            .env("AIRTASK_LOG_FLUSH_TIMEOUT", value)
            .output()
            .expect("run airtask");
        assert_eq!(out.status.code(), Some(2), "{value}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("AIRTASK_LOG_FLUSH_TIMEOUT"),
            "{}",
            text(&out)
        );
    }
    let out = airtask(&["run", &wf, "--state-dir", &state, "--parallelism", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--parallelism"));
}

#[test]
fn run_ids_and_task_ids_are_validated_as_airflow_does() {
    let dir = TempDir::new("faults-ids");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    for run_id in ["", "a\u{7}b", "a/b", &"x".repeat(251)] {
        for cmd in ["run-task", "render"] {
            let out = airtask(&[cmd, &wf, "first", "--run-id", run_id, "--state-dir", &state]);
            assert_eq!(out.status.code(), Some(2), "{run_id:?}: {}", text(&out));
            assert!(String::from_utf8_lossy(&out.stderr).contains("run id"));
        }
        let out = airtask(&["run", &wf, "--run-id", run_id, "--state-dir", &state]);
        assert_eq!(out.status.code(), Some(2), "{run_id:?}: {}", text(&out));
    }
    let out = airtask(&["run-task", &wf, "fir\nst", "--state-dir", &state]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("task id"));
    let out = Command::new(airtask_bin())
        .env("AIRTASK_WORKFLOW", &wf)
        .env("AIRTASK_TASK_ID", "first")
        .env("AIRTASK_RUN_ID", "bad\u{1b}[31m")
        .env("AIRTASK_STATE_DIR", &*state)
        .env("AIRTASK_CLOUDWATCH", "off")
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AIRTASK_RUN_ID"));
    // Nothing was written for any of them.
    assert!(!Path::new(&*state).join("chain").exists());
}

/// `run-task` with the local state in `state` and no CloudWatch.
fn run_task(wf: &str, task: &str, state: &Path, extra: &[&str]) -> Output {
    let state = state.to_string_lossy();
    let mut args = vec![
        "run-task",
        wf,
        task,
        "--run-id",
        "r1",
        "--state-dir",
        &state,
        "--no-cloudwatch",
    ];
    args.extend_from_slice(extra);
    airtask(&args)
}

#[test]
fn concurrent_tries_of_one_task_instance_are_refused_while_one_runs() {
    let dir = TempDir::new("faults-lock");
    let go = dir.path().join("go");
    let wf = dir.write(
        "lock.yaml",
        format!(
            "lock:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"while [ ! -f {} ]; do sleep 0.05; done; echo done\"\n",
            go.display()
        ),
    );
    let state = dir.path().join("state");
    let state_s = state.to_string_lossy().into_owned();
    let first = run_in_background(&[
        "run-task",
        &wf,
        "t",
        "--run-id",
        "r1",
        "--state-dir",
        &state_s,
        "--no-cloudwatch",
    ]);
    let record = state.join("lock/r1/t/-1/record.json");
    wait_until("the first try to run", || status_of(&record) == "RUNNING");
    // 19 more tries while the first holds the instance: each is refused, and touches nothing.
    let others: Vec<Child> = (0..19)
        .map(|_| {
            run_in_background(&[
                "run-task",
                &wf,
                "t",
                "--run-id",
                "r1",
                "--state-dir",
                &state_s,
                "--no-cloudwatch",
            ])
        })
        .collect();
    for child in others {
        let out = wait_output(child, "a refused try");
        assert_eq!(out.status.code(), Some(7), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("another try of task 't'"), "{stderr}");
        assert!(!stderr.contains("Directory not empty"), "{stderr}");
    }
    assert_eq!(status_of(&record), "RUNNING");
    std::fs::write(&go, "").unwrap();
    let out = wait_output(first, "the first try");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(status_of(&record), "SUCCESS");
    let xcom = std::fs::read_to_string(state.join("lock/r1/t/-1/xcom/return_value.json"));
    assert_eq!(xcom.ok().as_deref(), Some("\"done\""));
    let leftovers: Vec<String> = std::fs::read_dir(state.join("lock/r1/t/-1"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".xcom.tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // The next try, once the first has ended, runs.
    let out = run_task(&wf, "t", &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_failed_rerun_clears_the_xcom_of_the_earlier_try() {
    let dir = TempDir::new("faults-stale-xcom");
    let flag = dir.path().join("fail-now");
    let wf = dir.write(
        "stale.yaml",
        format!(
            "stale:\n  tasks:\n    produce:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"if [ -f {} ]; then exit 1; fi; echo fresh\"\n    consume:\n      \
             operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"echo got {{{{ ti.xcom_pull(task_ids='produce') }}}}\"\n      \
             trigger_rule: all_done\n      dependencies: [produce]\n",
            flag.display()
        ),
    );
    let state = dir.path().join("state");
    let xcom = state.join("stale/r1/produce/-1/xcom/return_value.json");
    let out = run_task(&wf, "produce", &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(xcom.exists());
    std::fs::write(&flag, "").unwrap();
    let out = run_task(&wf, "produce", &state, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        status_of(&state.join("stale/r1/produce/-1/record.json")),
        "FAILED"
    );
    assert!(!xcom.exists(), "a FAILED record sits beside a stale XCom");
    let out = run_task(&wf, "consume", &state, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("got None"), "{stdout}");
    assert!(!stdout.contains("got fresh"), "{stdout}");
}

#[test]
fn a_log_mirror_on_a_full_disk_ends_the_try_with_a_clear_error() {
    let dir = TempDir::new("faults-full-disk");
    let wf = dir.write(
        "full.yaml",
        "full:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"for i in $(seq 1 2000); do echo line $i; done\"\n",
    );
    let state = dir.path().join("state");
    // The attempt's mirror is on a device that is always full.
    let mirror = state.join("logs/workflow_id=full/run_id=r1/task_id=t/attempt=1.log");
    std::fs::create_dir_all(mirror.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/full", &mirror).unwrap();
    let out = run_task(&wf, "t", &state, &["--output", "json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the task log cannot be written") && stderr.contains("No space left"),
        "{stderr}"
    );
    let rec = record(&state.join("full/r1/t/-1/record.json")).expect("a record");
    assert_eq!(rec["status"], "FAILED", "{rec}");
    assert!(
        rec["error"]
            .as_str()
            .unwrap_or_default()
            .contains("No space left"),
        "{rec}"
    );
    assert!(!state.join("full/r1/t/-1/xcom").exists());
}

#[test]
fn an_xcom_that_cannot_be_written_fails_the_try_and_leaves_nothing_behind() {
    let dir = TempDir::new("faults-xcom-write");
    let wf = dir.write(
        "big.yaml",
        "big:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"head -c 50000 /dev/zero | tr '\\\\0' x; echo\"\n",
    );
    let state = dir.path().join("state");
    // The log goes nowhere (and is never too big); any other file over 16 KB cannot be
    // written, as on a disk that is full.
    let mirror = state.join("logs/workflow_id=big/run_id=r1/task_id=t/attempt=1.log");
    std::fs::create_dir_all(mirror.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("/dev/null", &mirror).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 32; exec \"$@\"")
        .arg("sh")
        .arg(airtask_bin())
        .args([
            "run-task",
            &wf,
            "t",
            "--run-id",
            "r1",
            "--state-dir",
            &state.to_string_lossy(),
            "--no-cloudwatch",
        ])
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot write the XCom value return_value"),
        "{}",
        text(&out)
    );
    assert_eq!(status_of(&state.join("big/r1/t/-1/record.json")), "FAILED");
    let names: Vec<String> = std::fs::read_dir(state.join("big/r1/t/-1"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n != "xcom" && !n.starts_with(".xcom.tmp")),
        "{names:?}"
    );
}

#[test]
fn map_index_on_an_unmapped_task_and_a_corrupt_xcom_have_their_exit_codes() {
    let dir = TempDir::new("faults-minor");
    let wf = dir.write("chain.yaml", CHAIN);
    let state = dir.path().join("state");
    let out = run_task(&wf, "first", &state, &["--map-index", "3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not mapped"));
    assert!(!state.join("chain/r1/first/3").exists());

    let wf = dir.write(
        "pull.yaml",
        "pull:\n  tasks:\n    up:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n    \
         down:\n      operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"echo {{ ti.xcom_pull(task_ids='up', key='count') }}\"\n      \
         dependencies: [up]\n",
    );
    let xcom = state.join("pull/r1/up/-1/xcom");
    std::fs::create_dir_all(&xcom).unwrap();
    std::fs::write(xcom.join("count.json"), "{not json").unwrap();
    let out = run_task(&wf, "down", &state, &[]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("count.json is not JSON"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_path_that_is_not_utf8_is_an_error_of_its_argument() {
    use std::os::unix::ffi::OsStrExt as _;
    let path = std::ffi::OsStr::from_bytes(b"/tmp/airtask-\xff.yaml");
    for cmd in ["run-task", "render"] {
        let out = Command::new(airtask_bin())
            .arg(cmd)
            .arg(path)
            .arg("t")
            .output()
            .expect("run airtask");
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("<WORKFLOW>") && stderr.contains("not valid UTF-8"),
            "{stderr}"
        );
    }
}

#[test]
fn bash_runs_in_a_private_fresh_directory_that_is_removed_after_the_try() {
    let dir = TempDir::new("faults-bash-cwd");
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let wf = dir.write(
        "cwd.yaml",
        "cwd:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"echo $(pwd) $(stat -c %a .) $(ls -A | wc -l)\"\n",
    );
    let state = dir.path().join("state");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let out = Command::new(airtask_bin())
            .args([
                "run-task",
                &wf,
                "t",
                "--run-id",
                "r1",
                "--no-cloudwatch",
                "--output",
                "json",
            ])
            .arg("--state-dir")
            .arg(&state)
            .env("TMPDIR", &tmp)
            .output()
            .expect("run airtask");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let value = std::fs::read_to_string(state.join("cwd/r1/t/-1/xcom/return_value.json"))
            .expect("the last line is the XCom");
        let value: String = serde_json::from_str(&value).unwrap();
        let parts: Vec<&str> = value.split_whitespace().collect();
        assert_eq!(parts.len(), 3, "{value}");
        let name = Path::new(parts[0])
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(Path::new(parts[0]).starts_with(&tmp), "{value}");
        assert!(name.starts_with("airtask-bash-"), "{value}");
        // Not the old predictable airtask-bash-<pid>-<try>.
        assert!(!name.ends_with("-1"), "{value}");
        assert_eq!(parts[1], "700", "{value}");
        assert_eq!(parts[2], "0", "a fresh directory is empty: {value}");
        seen.push(name);
        let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().flatten().collect();
        assert!(
            left.is_empty(),
            "the working directory was not removed: {left:?}"
        );
    }
    assert_ne!(seen[0], seen[1]);
}

#[test]
fn a_soft_fail_sensor_whose_poke_hangs_skips_within_the_try_budget() {
    // An endpoint that accepts connections and never answers: every poke hangs.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    let dir = TempDir::new("faults-slow-poke");
    let wf = dir.write(
        "slow.yaml",
        "slow:\n  tasks:\n    wait:\n      operator: \
         airflow.providers.amazon.aws.sensors.s3.S3KeySensor\n      bucket_name: b\n      \
         bucket_key: k\n      poke_interval: 1\n      timeout: 600\n      soft_fail: true\n      \
         execution_timeout: 3\n",
    );
    let state = dir.path().join("state");
    let out = Command::new(airtask_bin())
        .args([
            "run-task",
            &wf,
            "wait",
            "--run-id",
            "r1",
            "--no-cloudwatch",
            "--output",
            "json",
        ])
        .arg("--state-dir")
        .arg(&state)
        .env("AWS_ENDPOINT_URL", &url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rec = record(&state.join("slow/r1/wait/-1/record.json")).expect("a record");
    assert_eq!(rec["status"], "SKIPPED", "{rec}");
    assert!(
        rec["error"]
            .as_str()
            .unwrap_or_default()
            .contains("execution_timeout of 3 s ran out"),
        "{rec}"
    );
}

#[test]
fn hostile_templates_fail_the_try_with_python_error_names() {
    let dir = TempDir::new("faults-hostile");
    let deep = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let chain = vec!["1"; 5000].join("+");
    let wf = dir.write(
        "hostile.yaml",
        format!(
            "hostile:\n  tasks:\n    recursive:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"{{% macro f(n) %}}{{{{ f(n + 1) }}}}{{% endmacro %}}{{{{ f(0) }}}}\"\n    \
             nested:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"echo {{{{ {deep} }}}}\"\n    \
             chained:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"echo {{{{ {chain} }}}}\"\n    \
             huge:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"echo {{{{ 'x' * 10**10 }}}}\"\n    \
             huge_list:\n      operator: airflow.operators.bash.BashOperator\n      \
             bash_command: \"echo {{{{ ([1] * 10**10) | length }}}}\"\n"
        ),
    );
    let state = dir.path().join("state");
    for (task, class) in [
        ("recursive", "RecursionError"),
        ("nested", "RecursionError"),
        ("chained", "RecursionError"),
        ("huge", "MemoryError"),
        ("huge_list", "MemoryError"),
    ] {
        let out = run_task(&wf, task, &state, &[]);
        assert_eq!(out.status.code(), Some(1), "{task}: {}", text(&out));
        let rec = record(&state.join(format!("hostile/r1/{task}/-1/record.json"))).unwrap();
        assert_eq!(rec["status"], "FAILED", "{task}: {rec}");
        assert!(
            rec["error"].as_str().unwrap_or_default().contains(class),
            "{task}: {rec}"
        );
    }
}

const LOOPS: &str = "\
loops:
  tasks:
    render_forever:
      operator: airflow.operators.bash.BashOperator
      execution_timeout: 2
      bash_command: \"{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}{% endfor %}\"
";

#[test]
fn rendering_is_cancelled_by_the_execution_timeout() {
    let dir = TempDir::new("faults-render-timeout");
    let wf = dir.write("loops.yaml", LOOPS);
    let state = dir.path().join("state");
    let child = run_in_background(&[
        "run-task",
        &wf,
        "render_forever",
        "--run-id",
        "r1",
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    let out = wait_output(child, "a template that loops past its timeout");
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(
        status_of(&state.join("loops/r1/render_forever/-1/record.json")),
        "TIMEOUT"
    );
}

#[test]
fn sigterm_during_rendering_stops_the_try_and_writes_the_record() {
    let dir = TempDir::new("faults-render-sigterm");
    let wf = dir.write(
        "loops.yaml",
        LOOPS.replace("execution_timeout: 2", "execution_timeout: 600"),
    );
    let state = dir.path().join("state");
    let child = run_in_background(&[
        "run-task",
        &wf,
        "render_forever",
        "--run-id",
        "r1",
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    let record = state.join("loops/r1/render_forever/-1/record.json");
    wait_until("the try to start", || status_of(&record) == "RUNNING");
    airtask_tests::terminate(&child);
    let out = wait_output(child, "a template stopped by SIGTERM");
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert_eq!(status_of(&record), "STOPPED");
}

#[test]
fn the_service_workflow_id_names_logs_state_and_sessions_and_templates_keep_the_dag_id() {
    let dir = TempDir::new("faults-workflow-id");
    let wf = dir.write(
        "simple_s3_test.yaml",
        "simple_s3_test:\n  tasks:\n    first:\n      operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"echo {{ dag.dag_id }} $AIRFLOW_CTX_DAG_ID\"\n    second:\n      \
         operator: airflow.operators.bash.BashOperator\n      \
         bash_command: \"echo got {{ ti.xcom_pull(task_ids='first') }}\"\n      \
         dependencies: [first]\n",
    );
    let state = dir.path().join("state");
    let wid = "simple_s3_test-abc1234def";
    // The container entrypoint, with the id the service passes.
    let out = Command::new(airtask_bin())
        .env("AIRTASK_WORKFLOW", &wf)
        .env("AIRTASK_TASK_ID", "first")
        .env("AIRTASK_WORKFLOW_ID", wid)
        .env("AIRTASK_RUN_ID", "r1")
        .env("AIRTASK_STATE_DIR", &state)
        .env("AIRTASK_CLOUDWATCH", "off")
        .env("AIRTASK_OUTPUT", "json")
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let rec = airtask_tests::last_json_line(&String::from_utf8_lossy(&out.stdout)).unwrap();
    assert_eq!(rec["workflow_id"], wid, "{rec}");
    assert_eq!(rec["dag_id"], "simple_s3_test", "{rec}");
    let stream = rec["log_stream"].as_str().unwrap_or_default();
    assert!(
        stream.starts_with(&format!(
            "//aws/mwaa-serverless/{wid}//workflow_id={wid}/run_id=r1/"
        )),
        "{stream}"
    );
    let mirror = state.join(format!(
        "logs/workflow_id={wid}/run_id=r1/task_id=first/attempt=1.log"
    ));
    assert!(mirror.exists(), "{}", mirror.display());
    let xcom =
        std::fs::read_to_string(state.join(format!("{wid}/r1/first/-1/xcom/return_value.json")));
    assert_eq!(
        xcom.ok().as_deref(),
        Some("\"simple_s3_test simple_s3_test\"")
    );
    // A downstream task of the same workflow id reads it; `run` passes the id to every task.
    let out = airtask(&[
        "run",
        &wf,
        "--workflow-id",
        wid,
        "--run-id",
        "r2",
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let second =
        std::fs::read_to_string(state.join(format!("{wid}/r2/second/-1/xcom/return_value.json")));
    assert_eq!(
        second.ok().as_deref(),
        Some("\"got simple_s3_test simple_s3_test\"")
    );
    assert!(
        !state.join("simple_s3_test").exists(),
        "the DAG id named a state directory"
    );
}
