//! `airtask validate` builds each task's operator from its unrendered parameters, as Airflow
//! does when it parses a DAG: unknown and ill-typed parameters are errors naming the task, the
//! key and the line; templates pass wherever their rendering may fit.

use airtask_tests::{TempDir, airtask, stdout_json};

const BASH: &str = "airflow.providers.standard.operators.bash.BashOperator";
const EMPTY: &str = "airflow.providers.standard.operators.empty.EmptyOperator";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.s3.S3KeySensor";
const CREATE: &str = "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator";

/// The JSON diagnostics of `validate` on `text`, and its exit code.
fn validate(name: &str, text: &str) -> (Option<i32>, Vec<serde_json::Value>) {
    let dir = TempDir::new(name);
    let path = dir.write(&format!("{name}.yaml"), text);
    let out = airtask(&["validate", "--format", "json", &path]);
    let v = stdout_json(&out);
    let diags = v["files"][0]["diagnostics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    (out.status.code(), diags)
}

#[test]
fn unknown_and_ill_typed_parameters_name_the_task_key_and_line() {
    let text = format!(
        "vp:\n  tasks:\n    typo:\n      operator: {BASH}\n      bash_command: echo hi\n      retires: 2\n    missing:\n      operator: {BASH}\n      cwd: /tmp\n    noop:\n      operator: {EMPTY}\n      foo: 1\n    sense:\n      operator: {SENSOR}\n      bucket_name: b\n      bucket_key: k\n      poke_interval: soon\n    flags:\n      operator: {BASH}\n      bash_command: echo\n      append_env: maybe\n    zipped:\n      operator: {CREATE}\n      s3_key: s3://b/k\n      data: x\n      compression: bz2\n    fine:\n      operator: {BASH}\n      bash_command: echo ok\n"
    );
    let (code, diags) = validate("vp-bad", &text);
    assert_eq!(code, Some(1), "{diags:?}");
    let find = |task: &str| {
        diags
            .iter()
            .find(|d| d["task"] == task)
            .unwrap_or_else(|| panic!("no diagnostic for {task}: {diags:?}"))
    };
    let d = find("typo");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["key"], "retires");
    assert_eq!(d["line"], 6);
    let msg = d["message"].as_str().unwrap();
    assert!(
        msg.starts_with("BashOperator has no parameter `retires`; it takes ")
            && msg.contains("bash_command")
            && msg.contains("Invalid arguments were passed"),
        "{msg}"
    );
    // A missing required parameter: the task's line.
    let d = find("missing");
    assert_eq!(
        (d["key"].as_str(), d["line"].as_i64()),
        (Some("bash_command"), Some(7))
    );
    assert_eq!(
        d["message"],
        "BashOperator needs `bash_command`: the command to run"
    );
    // EmptyOperator refuses parameters like every other operator.
    let d = find("noop");
    assert_eq!(
        (d["key"].as_str(), d["line"].as_i64()),
        (Some("foo"), Some(12))
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .starts_with("EmptyOperator has no parameter `foo`; it takes no parameters"),
        "{d}"
    );
    let d = find("sense");
    assert_eq!(
        (d["key"].as_str(), d["line"].as_i64()),
        (Some("poke_interval"), Some(17))
    );
    assert_eq!(
        d["message"],
        "S3KeySensor parameter `poke_interval` must be a number of seconds, 0 or more, not a string (\"soon\")"
    );
    let d = find("flags");
    assert_eq!(
        (d["key"].as_str(), d["line"].as_i64()),
        (Some("append_env"), Some(21))
    );
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("must be true or false"),
        "{d}"
    );
    let d = find("zipped");
    assert!(
        d["message"].as_str().unwrap().contains("only one is gzip"),
        "{d}"
    );
    assert!(diags.iter().all(|d| d["task"] != "fine"), "{diags:?}");

    // The text form: file:line:col, the task and the key.
    let dir = TempDir::new("vp-text");
    let path = dir.write("vp.yaml", &text);
    let out = airtask(&["validate", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{path}:6:16: error: task 'typo', key 'retires': BashOperator has no parameter"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("invalid: 6 errors"), "{stdout}");
}

#[test]
fn templates_pass_wherever_their_rendering_may_fit() {
    // Numbers, booleans and S3 URLs that only rendering can give, a mapped argument, and
    // default_args the operator does not take: all valid before rendering.
    let text = format!(
        "vt:\n  default_args:\n    owner: me\n    poke_interval: 5\n  params:\n    p: 3\n  tasks:\n    sense:\n      operator: {SENSOR}\n      bucket_key: \"s3://{{{{ params.bucket }}}}/k\"\n      poke_interval: \"{{{{ params.p }}}}\"\n      soft_fail: \"{{{{ params.soft }}}}\"\n      timeout: \"{{% if params.p %}}60{{% endif %}}\"\n    write:\n      operator: {CREATE}\n      s3_key: \"{{{{ params.url }}}}\"\n      data: \"{{{{ ds }}}}\"\n      replace: \"{{{{ params.replace }}}}\"\n    mapped:\n      operator: {BASH}\n      partial: {{env: {{A: x}}}}\n      expand: {{bash_command: [\"echo 1\", \"echo 2\"]}}\n    plain:\n      operator: {EMPTY}\n"
    );
    let (code, diags) = validate("vt-ok", &text);
    assert_eq!(code, Some(0), "{diags:?}");
    assert!(diags.iter().all(|d| d["severity"] != "error"), "{diags:?}");

    // A template never excuses an unknown parameter.
    let text = format!(
        "vu:\n  tasks:\n    t:\n      operator: {BASH}\n      bash_command: echo\n      bash_env: \"{{{{ params.x }}}}\"\n"
    );
    let (code, diags) = validate("vt-unknown", &text);
    assert_eq!(code, Some(1), "{diags:?}");
    assert_eq!(diags[0]["key"], "bash_env", "{diags:?}");
}

#[test]
fn run_task_refuses_a_parameter_of_empty_operator_too() {
    let dir = TempDir::new("vp-run");
    let wf = dir.write(
        "vr.yaml",
        format!("vr:\n  tasks:\n    noop:\n      operator: {EMPTY}\n      foo: 1\n"),
    );
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let out = airtask(&[
        "run-task",
        &wf,
        "noop",
        "--state-dir",
        &state,
        "--output",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let record = airtask_tests::last_json_line(&stdout).expect("a record");
    assert_eq!(record["status"], "FAILED");
    assert!(
        record["error"]
            .as_str()
            .unwrap_or_default()
            .contains("EmptyOperator has no parameter `foo`"),
        "{record}"
    );
}
