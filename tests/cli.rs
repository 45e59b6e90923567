//! The `validate`, `tasks` and `operators` commands on local files: forms, output, exit codes.

use airtask_tests::{TempDir, airtask, airtask_expect, airtask_json, stdout_json, workspace_root};

#[test]
fn the_example_workflow_is_valid_and_lists_in_topological_order() {
    let example = workspace_root().join("examples/hello_airtask.yaml");
    let example = example.to_string_lossy();
    let out = airtask(&["validate", &example]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("valid: workflow 'hello_airtask', 4 tasks")
    );

    let out = airtask(&["tasks", "--format", "json", &example]);
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    let ids: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["start", "greet", "count_files", "done"]);
    let greet = &v["tasks"][1];
    assert_eq!(greet["retries"], 1, "default_args apply");
    assert_eq!(greet["retry_delay_seconds"], 30);
    assert_eq!(greet["execution_timeout_seconds"], 60);
    assert_eq!(
        greet["operator"],
        "airflow.providers.standard.operators.bash.BashOperator"
    );
    assert_eq!(v["tasks"][3]["trigger_rule"], "all_done");
    assert_eq!(
        v["tasks"][3]["upstream"],
        serde_json::json!(["greet", "count_files"])
    );
    assert_eq!(v["schedule"], "0 6 * * *");
    assert_eq!(v["start_date"], "2025-01-01T00:00:00Z");

    let out = airtask(&["tasks", &example]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .next()
            .unwrap()
            .contains("workflow hello_airtask")
    );
    assert!(text.contains("TASK"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("done ")
            && l.contains("greet,count_files")
            && l.contains("all_done")),
        "{text}"
    );
}

#[test]
fn dag_factory_forms_load() {
    let dir = TempDir::new("forms");
    // List-form tasks, a `default:` block, task groups (nested, with group dependencies),
    // $VAR expansion, YAML 1.1 scalars, the bare word None, aliases, `expand`/`partial`,
    // `__type__` enum / ArgNotSet / builtins.list, !!binary, datetime objects, aliases.
    let text = r#"
default:
  default_args:
    retries: 3
    retry_delay: 10
wf:
  schedule: None
  start_date: {__type__: datetime.datetime, year: 2025, month: 3, day: 9, hour: 6, minute: 30}
  end_date: 2026-01-01 00:00:00
  timezone: UTC
  params: {bucket: $AIRTASK_E2E_BUCKET, flag: yes, none_word: None}
  task_groups:
    extract:
      tooltip: x
    inner:
      parent_group_name: extract
      dependencies: [setup]
  tasks:
    - task_id: setup
      operator: airflow.operators.empty.EmptyOperator
      retries: 0
      data: !!binary aGVsbG8=
      aws_conn_id: {__type__: airflow.sdk.definitions._internal.types.ArgNotSet}
    - task_id: a
      operator: airflow.operators.bash.BashOperator
      bash_command: "echo ${AIRTASK_E2E_BUCKET} ${{ params.x }}"
      task_group_name: inner
    - task_id: b
      operator: airflow.operators.bash.BashOperator
      bash_command: echo b
      task_group_name: inner
      dependencies: [a]
      state: {__type__: airflow.providers.amazon.aws.hooks.eks.ClusterStates, __args__: [ACTIVE]}
      items: {__type__: builtins.list, items: [1, 2]}
    - task_id: after
      operator: airflow.providers.standard.operators.empty.EmptyOperator
      dependencies: [extract]
      execution_timeout: {__type__: datetime.timedelta, minutes: 5}
      trigger_rule: none_failed_min_one_success
    - task_id: mapped
      operator: airflow.providers.standard.operators.bash.BashOperator
      partial: {cwd: /tmp}
      expand: {bash_command: after.output}
"#;
    let path = dir.write("forms.yaml", text);
    let out = std::process::Command::new(airtask_tests::airtask_bin())
        .args(["tasks", "--format", "json", &path])
        .env("AIRTASK_E2E_BUCKET", "my-bucket")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    let tasks = v["tasks"].as_array().unwrap();
    let ids: Vec<&str> = tasks
        .iter()
        .map(|t| t["task_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "setup",
            "extract.inner.a",
            "extract.inner.b",
            "after",
            "mapped"
        ]
    );
    let by_id = |id: &str| tasks.iter().find(|t| t["task_id"] == id).unwrap();
    assert_eq!(by_id("setup")["retries"], 0);
    assert_eq!(by_id("extract.inner.a")["retries"], 3, "`default:` applies");
    assert_eq!(by_id("extract.inner.a")["retry_delay_seconds"], 10);
    assert_eq!(
        by_id("extract.inner.a")["upstream"],
        serde_json::json!(["setup"]),
        "group dependency"
    );
    assert_eq!(
        by_id("after")["upstream"],
        serde_json::json!(["extract.inner.b"]),
        "a group's leaves"
    );
    assert_eq!(by_id("after")["execution_timeout_seconds"], 300);
    assert_eq!(
        by_id("after")["trigger_rule"],
        "none_failed_min_one_success"
    );
    assert_eq!(by_id("mapped")["mapped"], true);
    assert_eq!(
        by_id("mapped")["upstream"],
        serde_json::json!(["after"]),
        "expand over XCom adds the dependency"
    );
    assert_eq!(v["start_date"], "2025-03-09T06:30:00Z");
    assert_eq!(v["end_date"], "2026-01-01T00:00:00Z");
    assert_eq!(v["schedule"], serde_json::Value::Null);
}

#[test]
fn ignored_parameters_warn_only_when_they_change_something() {
    let dir = TempDir::new("warn");
    let text = "wf:\n  catchup: false\n  tags: [a]\n  tasks:\n    t:\n      operator: airflow.providers.standard.operators.empty.EmptyOperator\n      priority_weight: 1\n      pool: etl\n      aws_conn_id: aws_default\n      region_name: eu-west-1\n      outlets: []\n";
    let path = dir.write("warn.yaml", text);
    let out = airtask(&["validate", "--format", "json", &path]);
    assert_eq!(out.status.code(), Some(0));
    let v = stdout_json(&out);
    let keys: Vec<&str> = v["files"][0]["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["severity"], "warning");
            d["key"].as_str().unwrap()
        })
        .collect();
    assert_eq!(keys, ["tags", "pool", "region_name"]);
}

#[test]
fn validate_exit_codes() {
    let dir = TempDir::new("exit");
    let good = dir.write(
        "good.yaml",
        "wf:\n  tasks:\n    t: {operator: airflow.operators.empty.EmptyOperator}\n",
    );
    let bad = dir.write(
        "bad.yaml",
        "wf:\n  tasks:\n    t: {operator: airflow.operators.empty.EmptyOperator, retries: 4}\n",
    );
    assert_eq!(airtask(&["validate", &good]).status.code(), Some(0));
    assert_eq!(airtask(&["validate", &good, &bad]).status.code(), Some(1));
    let missing = dir.path().join("missing.yaml");
    let out = airtask(&["validate", &missing.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("cannot read the definition"));
    // Usage errors.
    assert_eq!(airtask(&["validate"]).status.code(), Some(2));
    assert_eq!(
        airtask(&["validate", "--format", "xml", &good])
            .status
            .code(),
        Some(2)
    );
    let out = airtask(&["validate", "--version-id", "v1", &good]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--version-id applies to s3://"));
    assert_eq!(
        airtask(&["validate", "s3://only-a-bucket"]).status.code(),
        Some(2)
    );
    // --for-create: a past start_date is refused only then.
    let past = dir.write("past.yaml", "wf:\n  start_date: '2024-01-01'\n  tasks:\n    t: {operator: airflow.operators.empty.EmptyOperator}\n");
    assert_eq!(airtask(&["validate", &past]).status.code(), Some(0));
    let out = airtask(&["validate", "--for-create", &past]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not in the future"));
    // Help shows an example.
    let out = airtask(&["validate", "--help"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("Examples:"));
}

#[test]
fn operators_lists_what_the_build_implements_and_validate_points_at_it() {
    let text = airtask_expect(&["operators"], 0);
    let lines: Vec<&str> = text.lines().collect();
    let mut sorted = lines.clone();
    sorted.sort_unstable();
    assert_eq!(lines, sorted, "sorted by class path");
    assert!(
        lines.contains(&"airflow.providers.amazon.aws.operators.glue.GlueJobOperator"),
        "{text}"
    );
    // An operator with aliases names them after its class path.
    assert!(
        lines.iter().any(|l| l
            .starts_with("airflow.providers.standard.operators.empty.EmptyOperator (also: ")
            && l.contains("airflow.operators.empty.EmptyOperator")),
        "{text}"
    );
    let json = airtask_json(&["operators", "--format", "json"]);
    let ops = json["operators"].as_array().expect("operators");
    assert_eq!(ops.len(), lines.len());
    let create = ops
        .iter()
        .find(|o| {
            o["class_path"] == "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator"
        })
        .expect("S3CreateObjectOperator is listed");
    assert_eq!(
        create["template_fields"],
        serde_json::json!([
            "aws_conn_id",
            "data",
            "region_name",
            "s3_bucket",
            "s3_key",
            "verify"
        ])
    );
    assert_eq!(create["calls_aws"], true);
    assert_eq!(
        airtask(&["operators", "--format", "xml"]).status.code(),
        Some(2)
    );

    // An operator of a module airtask knows: the error names that module's operators and the
    // count `airtask operators` lists.
    let dir = TempDir::new("operators");
    let wf = dir.write(
        "wf.yaml",
        "wf:\n  tasks:\n    t: {operator: airflow.providers.amazon.aws.operators.glue.GlueNoSuchOperator}\n",
    );
    let out = airtask(&["validate", "--format", "json", &wf]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout_json(&out);
    let msg = report["files"][0]["diagnostics"][0]["message"]
        .as_str()
        .expect("a diagnostic");
    let (_, nearby) = msg
        .split_once("; of airflow.providers.amazon.aws.operators.glue it implements ")
        .unwrap_or_else(|| panic!("no operators of the module named: {msg}"));
    let nearby = nearby.split(';').next().unwrap_or_default();
    assert!(
        nearby.split(", ").any(|c| c == "GlueJobOperator") && !nearby.contains("S3"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!(
            "`airtask operators` lists the {} operators",
            ops.len()
        )),
        "{msg}"
    );
}
