//! `airtask render`: which fields render, params precedence, XComs, errors and exit codes.

use airtask_tests::{TempDir, airtask, airtask_expect, airtask_json};

const WF: &str = r#"
etl:
  params: {env: dev, bucket: acme, limit: 10}
  tasks:
    list_keys:
      operator: airflow.providers.standard.operators.empty.EmptyOperator
    load:
      operator: airflow.providers.standard.operators.bash.BashOperator
      params: {env: staging}
      bash_command: "echo {{ params.env }} {{ params.bucket }} {{ params.limit }} {{ ds }} {{ run_id }} {{ ti.try_number }} {{ ti.map_index }}"
      env:
        KEYS: "{{ ti.xcom_pull(task_ids='list_keys') }}"
        FIRST: "{{ ti.xcom_pull(task_ids='list_keys')[0] }}"
        COUNT: "{{ ti.xcom_pull(task_ids='list_keys', key='count') }}"
        LITERAL: 5
      cwd: /tmp/{{ ds_nodash }}
      dependencies: [list_keys]
    broken:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo {{ execution_date }}"
    bad_syntax:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "line one\n{% if params.env %}\nunclosed"
"#;

#[test]
fn renders_template_fields_with_params_precedence_and_xcoms() {
    let dir = TempDir::new("render");
    let path = dir.write("etl.yaml", WF);
    let v = airtask_json(&[
        "render",
        &path,
        "load",
        "--logical-date",
        "2025-03-09T06:30:00+02:00",
        "--params",
        r#"{"limit": 99}"#,
        "--xcom",
        r#"list_keys=["a.csv", "b.csv"]"#,
        "--xcom",
        "list_keys:count=2",
        "--try",
        "2",
        "--map-index",
        "3",
    ]);
    // Task params override workflow params; --params override both. The logical date is UTC.
    assert_eq!(
        v["bash_command"],
        "echo staging acme 99 2025-03-09 manual__2025-03-09T04:30:00+00:00 2 3"
    );
    // A lone xcom_pull gives the value itself; anything else renders to text.
    assert_eq!(v["env"]["KEYS"], serde_json::json!(["a.csv", "b.csv"]));
    assert_eq!(v["env"]["FIRST"], "a.csv");
    assert_eq!(v["env"]["COUNT"], 2);
    assert_eq!(v["env"]["LITERAL"], 5, "non-strings are not templates");
    assert_eq!(v["cwd"], "/tmp/20250309");

    // An operator without template fields renders nothing.
    let v = airtask_json(&["render", &path, "list_keys"]);
    assert_eq!(v, serde_json::json!({}));
    // Without --xcom there is nothing upstream yet: pulling gives None, and indexing None
    // fails as in Airflow, naming the field.
    let out = airtask(&[
        "render",
        &path,
        "load",
        "--run-id",
        "r1",
        "--logical-date",
        "2025-01-01",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("template field 'env.FIRST': UndefinedError: None has no element 0"),
        "{stderr}"
    );
}

#[test]
fn template_errors_name_the_field_and_what_to_write() {
    let dir = TempDir::new("render-errors");
    let path = dir.write("etl.yaml", WF);
    let out = airtask(&["render", &path, "broken"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("task 'broken': template field 'bash_command': UndefinedError: 'execution_date' is undefined"), "{stderr}");
    assert!(stderr.contains("use logical_date instead"), "{stderr}");

    let out = airtask(&["render", &path, "bad_syntax"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "template field 'bash_command': TemplateSyntaxError: Unexpected end of template"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("(line 3)"), "{stderr}");

    // Usage errors: exit 2.
    for args in [
        vec!["render", path.as_str(), "nope"],
        vec!["render", path.as_str(), "load", "--xcom", "list_keys"],
        vec![
            "render",
            path.as_str(),
            "load",
            "--xcom",
            "list_keys=not json",
        ],
        vec!["render", path.as_str(), "load", "--params", "[1]"],
        vec![
            "render",
            path.as_str(),
            "load",
            "--logical-date",
            "yesterday",
        ],
    ] {
        let out = airtask(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
    let stderr = String::from_utf8_lossy(&airtask(&["render", &path, "nope"]).stderr).into_owned();
    assert!(
        stderr.contains("its tasks are list_keys, load, broken, bad_syntax"),
        "{stderr}"
    );
    airtask_expect(&["render", "--help"], 0);
}

#[test]
fn upstream_values_come_from_the_state_directory() {
    let dir = TempDir::new("render-store");
    let path = dir.write("etl.yaml", WF);
    // What `run-task` writes: <state>/<workflow>/<run>/<task>/<map_index>/xcom/<key>.json.
    let task_dir = dir.path().join("state/etl/run1/list_keys");
    for (sub, file, value) in [
        ("-1/xcom", "return_value.json", r#"["s3://a", "s3://b"]"#),
        ("-1/xcom", "count.json", "2"),
    ] {
        std::fs::create_dir_all(task_dir.join(sub)).unwrap();
        std::fs::write(task_dir.join(sub).join(file), value).unwrap();
    }
    let state = dir.path().join("state");
    let state = state.to_string_lossy();
    let v = airtask_json(&[
        "render",
        &path,
        "load",
        "--run-id",
        "run1",
        "--state-dir",
        &state,
    ]);
    assert_eq!(v["env"]["KEYS"], serde_json::json!(["s3://a", "s3://b"]));
    assert_eq!(v["env"]["FIRST"], "s3://a");
    assert_eq!(v["env"]["COUNT"], 2);
    // --xcom wins over the store.
    let v = airtask_json(&[
        "render",
        &path,
        "load",
        "--run-id",
        "run1",
        "--state-dir",
        &state,
        "--xcom",
        r#"list_keys=["given"]"#,
    ]);
    assert_eq!(v["env"]["KEYS"], serde_json::json!(["given"]));
    // Another run sees nothing; a corrupt value is an error naming the file.
    std::fs::write(task_dir.join("-1/xcom/count.json"), "{").unwrap();
    let out = airtask(&[
        "render",
        &path,
        "load",
        "--run-id",
        "run1",
        "--state-dir",
        &state,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("XComError") && stderr.contains("count.json is not JSON"),
        "{stderr}"
    );
}

#[test]
fn xcom_pull_reads_mapped_instances_by_map_indexes() {
    let dir = TempDir::new("render-map-indexes");
    let path = dir.write(
        "wf.yaml",
        "wf:\n  tasks:\n    t:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: \"{{ ti.xcom_pull(task_ids='m', map_indexes=[0, 2]) }}|{{ ti.xcom_pull(task_ids='m', map_indexes=1) }}|{{ ti.xcom_pull(task_ids='m') }}|{{ ti.xcom_pull(task_ids='m', map_indexes=7, default='none') }}\"\n",
    );
    for i in 0..3 {
        let x = dir.path().join(format!("state/wf/r/m/{i}/xcom"));
        std::fs::create_dir_all(&x).unwrap();
        std::fs::write(x.join("return_value.json"), format!("\"v{i}\"")).unwrap();
    }
    let state = dir.path().join("state");
    let v = airtask_json(&[
        "render",
        &path,
        "t",
        "--run-id",
        "r",
        "--state-dir",
        &state.to_string_lossy(),
    ]);
    assert_eq!(v["bash_command"], "['v0', 'v2']|v1|['v0', 'v1', 'v2']|none");
}
