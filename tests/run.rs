//! `airtask run`: a whole workflow run, one `run-task` process per task instance.

use airtask_tests::{TempDir, airtask, airtask_expect, workspace_root};

const DIAMOND: &str = r#"
diamond:
  tasks:
    start:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    good:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo good"
      dependencies: [start]
    bad:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo bad; exit 1"
      dependencies: [start]
    join:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo never"
      dependencies: [good, bad]
    after_join:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      dependencies: [join]
    on_failure:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo a branch failed"
      trigger_rule: one_failed
      dependencies: [good, bad]
    skipper:
      operator: airflow.operators.bash.BashOperator
      bash_command: "exit 99"
      dependencies: [start]
    after_skip:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      dependencies: [skipper]
    fan:
      operator: airflow.operators.bash.BashOperator
      expand:
        bash_command: ["echo one", "echo two", "echo three"]
      dependencies: [good]
    cleanup:
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo cleanup"
      trigger_rule: all_done
      dependencies: [after_join, on_failure, after_skip, fan]
"#;

fn state_of(summary: &str, task: &str) -> String {
    summary
        .lines()
        .rev()
        .find(|l| l.split_whitespace().next() == Some(task))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn diamond_with_a_failing_branch_and_an_all_done_cleanup() {
    let dir = TempDir::new("run-diamond");
    let wf = dir.write("diamond.yaml", DIAMOND);
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    let out = airtask(&[
        "run",
        &wf,
        "--run-id",
        "r1",
        "--state-dir",
        &state,
        "--parallelism",
        "3",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (task, expected) in [
        ("start", "success"),
        ("good", "success"),
        ("bad", "failed"),
        ("join", "upstream_failed"),
        ("after_join", "upstream_failed"),
        ("on_failure", "success"),
        ("skipper", "skipped"),
        ("after_skip", "skipped"),
        ("fan", "success"),
        ("cleanup", "success"),
    ] {
        assert_eq!(state_of(&stdout, task), expected, "{task}:\n{stdout}");
    }
    // One process per mapped item, each with its own record and output.
    for i in 0..3 {
        let dir = dir.path().join(format!("state/diamond/r1/fan/{i}"));
        assert!(dir.join("record.json").exists(), "{}", dir.display());
    }
    let fan1 = std::fs::read_to_string(
        dir.path()
            .join("state/diamond/r1/fan/1/xcom/return_value.json"),
    )
    .unwrap();
    assert_eq!(fan1, "\"two\"");
    // The only leaf (cleanup) succeeded, so the run succeeded, as Airflow decides it.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("run r1 succeeded"), "{stdout}");
}

#[test]
fn a_failed_leaf_fails_the_run() {
    let dir = TempDir::new("run-fail");
    let wf = dir.write(
        "wf.yaml",
        "wf:\n  tasks:\n    a:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: 'exit 2'\n",
    );
    let state = dir.path().join("state");
    let out = airtask(&["run", &wf, "--state-dir", &state.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("failed"));
}

#[test]
fn a_mapped_task_expands_over_an_upstream_list_from_the_store() {
    let dir = TempDir::new("run-mapped-xcom");
    let wf = dir.write(
        "wf.yaml",
        "wf:\n  tasks:\n    keys:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n    each:\n      operator: airflow.operators.bash.BashOperator\n      expand: {bash_command: keys.output}\n",
    );
    // An upstream list, as an operator that returns a list (S3ListOperator) leaves it.
    let xcom = dir.path().join("state/wf/r1/keys/-1/xcom");
    std::fs::create_dir_all(&xcom).unwrap();
    std::fs::write(xcom.join("return_value.json"), r#"["echo a", "echo b"]"#).unwrap();
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    let out = airtask(&[
        "run-task",
        &wf,
        "each",
        "--run-id",
        "r1",
        "--state-dir",
        &state,
        "--map-index",
        "1",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("INFO    - b"));
    let out = airtask(&[
        "run-task",
        &wf,
        "each",
        "--run-id",
        "r1",
        "--state-dir",
        &state,
        "--map-index",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("mapped over 2 values"));
}

#[test]
fn the_hello_world_example_runs() {
    let dir = TempDir::new("run-hello");
    let example = workspace_root().join("examples/hello_world.yaml");
    let state = dir.path().join("state");
    let stdout = airtask_expect(
        &[
            "run",
            &example.to_string_lossy(),
            "--logical-date",
            "2025-03-09",
            "--state-dir",
            &state.to_string_lossy(),
        ],
        0,
    );
    assert!(
        stdout.contains("per_region                   success          3"),
        "{stdout}"
    );
    assert!(
        stdout.contains("flaky                        success"),
        "{stdout}"
    );
    // A run id of its own (manual__<when it started>), named in the last line.
    let run_dir = std::path::PathBuf::from(
        stdout
            .lines()
            .last()
            .and_then(|l| l.rsplit_once(" are under "))
            .map(|(_, dir)| dir.trim())
            .unwrap_or_default(),
    );
    assert!(
        run_dir
            .to_string_lossy()
            .starts_with(&*state.join("hello_world/manual__").to_string_lossy()),
        "{stdout}"
    );
    let report = std::fs::read_to_string(run_dir.join("report/-1/output.log")).unwrap();
    assert!(
        report.contains(
            "greeting was: hello from hello_world on 2025-03-09; regions: [\"eu\", \"us\", \"ap\"]"
        ),
        "{report}"
    );
    let flaky = std::fs::read_to_string(run_dir.join("flaky/-1/output.log")).unwrap();
    assert!(
        flaky.contains("UP_FOR_RETRY") && flaky.contains("Attempt 2 ended SUCCESS"),
        "{flaky}"
    );
}

#[test]
fn a_mapped_task_runs_once_per_item_of_an_upstream_list() {
    // `dirs` is itself mapped, so its return value is the list of its instances' values; `each`
    // expands over that list, as `.expand(cwd=dirs.output)` does in Airflow.
    let dir = TempDir::new("run-mapped-upstream");
    let wf = dir.write(
        "wf.yaml",
        "chain:\n  tasks:\n    dirs:\n      operator: airflow.operators.bash.BashOperator\n      expand:\n        bash_command: [\"echo /\", \"echo /tmp\", \"echo /usr\"]\n    each:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: pwd\n      expand: {cwd: dirs.output}\n",
    );
    let state = dir.path().join("state");
    let stdout = airtask_expect(
        &[
            "run",
            &wf,
            "--run-id",
            "r1",
            "--state-dir",
            &state.to_string_lossy(),
        ],
        0,
    );
    assert!(
        stdout.contains("each                         running (3 mapped instances)"),
        "{stdout}"
    );
    for (i, expected) in ["/", "/tmp", "/usr"].iter().enumerate() {
        let v = std::fs::read_to_string(
            state.join(format!("chain/r1/each/{i}/xcom/return_value.json")),
        )
        .unwrap();
        assert_eq!(v, format!("\"{expected}\""));
    }
}

#[test]
fn one_success_starts_before_its_slow_upstream_ends() {
    let dir = TempDir::new("run-early");
    let wf = dir.write(
        "early.yaml",
        "early:\n  tasks:\n    fast:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n    slow:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: sleep 3\n    first_result:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo go\n      trigger_rule: one_success\n      dependencies: [fast, slow]\n",
    );
    let state = dir.path().join("state");
    airtask_expect(
        &[
            "run",
            &wf,
            "--state-dir",
            &state.to_string_lossy(),
            "--run-id",
            "r1",
            "--no-cloudwatch",
        ],
        0,
    );
    let record = |task: &str| -> serde_json::Value {
        let text = std::fs::read_to_string(state.join(format!("early/r1/{task}/-1/record.json")))
            .expect("record");
        serde_json::from_str(&text).expect("record JSON")
    };
    let started = record("first_result")["completed_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let slow_done = record("slow")["completed_at"].as_str().unwrap().to_owned();
    // Both are UTC ISO timestamps of the same format: they compare as strings.
    assert!(
        started < slow_done,
        "first_result ended at {started}, slow at {slow_done}"
    );
}
