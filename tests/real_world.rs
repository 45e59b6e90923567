//! Definitions shaped like the ones AWS and dag-factory users really write (issue 12): AWS cron
//! and EventBridge schedules with their next run times, the MWAA Serverless user guide's flat
//! form, empty task sets, cross-group short names, and the keys dag-factory consumes itself.

use airtask_tests::{TempDir, airtask, airtask_expect, airtask_json, stdout_json};
use serde_json::{Value, json};

const EMPTY: &str = "airflow.providers.standard.operators.empty.EmptyOperator";

/// A one-task workflow with `settings` (indented two spaces) at the workflow level.
fn workflow(settings: &str) -> String {
    format!("wf:\n{settings}  tasks:\n    only:\n      operator: {EMPTY}\n")
}

fn tasks_json(dir: &TempDir, name: &str, text: &str) -> Value {
    let path = dir.write(name, text);
    airtask_json(&["tasks", "--format", "json", &path])
}

fn next_runs(v: &Value) -> Vec<&str> {
    v["next_runs"]
        .as_array()
        .unwrap_or_else(|| panic!("no next_runs in {v}"))
        .iter()
        .map(|t| t.as_str().expect("a time"))
        .collect()
}

/// Validates `text` as JSON and returns the file's diagnostics.
fn diagnostics(dir: &TempDir, name: &str, text: &str, code: i32) -> Vec<Value> {
    let path = dir.write(name, text);
    let out = airtask(&["validate", "--format", "json", &path]);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_json(&out)["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .clone()
}

fn find<'a>(diags: &'a [Value], severity: &str, needle: &str) -> &'a Value {
    diags
        .iter()
        .find(|d| d["severity"] == severity && d["message"].as_str().unwrap_or("").contains(needle))
        .unwrap_or_else(|| panic!("no {severity} containing {needle:?} in {diags:#?}"))
}

#[test]
fn the_converters_aws_cron_is_eventbridge_daily_at_midnight_utc() {
    let dir = TempDir::new("aws-cron");
    let v = tasks_json(
        &dir,
        "wf.yaml",
        &workflow("  schedule: '0 0 * * ? *'\n  start_date: '2090-01-01'\n"),
    );
    assert_eq!(v["schedule"], "cron(0 0 * * ? *)");
    assert_eq!(
        next_runs(&v),
        [
            "2090-01-01T00:00:00Z",
            "2090-01-02T00:00:00Z",
            "2090-01-03T00:00:00Z",
            "2090-01-04T00:00:00Z",
            "2090-01-05T00:00:00Z"
        ]
    );
    // The text output has the same times on one line.
    let path = dir.write(
        "text.yaml",
        workflow("  schedule: '0 0 * * ? *'\n  start_date: '2090-01-01'\n"),
    );
    let text = airtask_expect(&["tasks", &path], 0);
    assert!(
        text.lines()
            .any(|l| l.starts_with("next runs: 2090-01-01T00:00:00Z, 2090-01-02T00:00:00Z")),
        "{text}"
    );
}

#[test]
fn eventbridge_cron_rate_and_at_forms_give_eventbridge_times() {
    let dir = TempDir::new("eventbridge");
    // Last Friday of the month, in 2091 only; day-of-week counts from SUN = 1.
    let v = tasks_json(
        &dir,
        "last-friday.yaml",
        &workflow("  schedule: cron(30 12 ? * 6L 2091)\n  start_date: '2090-01-01'\n"),
    );
    assert_eq!(v["schedule"], "cron(30 12 ? * 6L 2091)");
    assert_eq!(
        next_runs(&v),
        [
            "2091-01-26T12:30:00Z",
            "2091-02-23T12:30:00Z",
            "2091-03-30T12:30:00Z",
            "2091-04-27T12:30:00Z",
            "2091-05-25T12:30:00Z"
        ]
    );
    // MON-FRI by name, the second Tuesday by '#', the nearest weekday by 'W'.
    let v = tasks_json(
        &dir,
        "weekdays.yaml",
        &workflow("  schedule: cron(0 8 ? * MON-FRI *)\n  start_date: '2090-01-06'\n"),
    );
    // 2090-01-06 is a Friday.
    assert_eq!(
        next_runs(&v)[..2],
        ["2090-01-06T08:00:00Z", "2090-01-09T08:00:00Z"]
    );
    let v = tasks_json(
        &dir,
        "nth.yaml",
        &workflow("  schedule: cron(0 8 ? * 3#2 *)\n  start_date: '2090-01-01'\n"),
    );
    assert_eq!(next_runs(&v)[0], "2090-01-10T08:00:00Z");
    let v = tasks_json(
        &dir,
        "w.yaml",
        &workflow("  schedule: cron(0 8 1W * ? *)\n  start_date: '2090-04-01'\n"),
    );
    // 2090-04-01 is a Saturday: the nearest weekday in April is Monday the 3rd.
    assert_eq!(next_runs(&v)[0], "2090-04-03T08:00:00Z");

    let v = tasks_json(
        &dir,
        "rate.yaml",
        &workflow("  schedule: rate(6 hours)\n  start_date: 2090-01-01T03:00:00Z\n"),
    );
    assert_eq!(v["schedule"], "rate(6 hours)");
    assert_eq!(
        next_runs(&v)[..3],
        [
            "2090-01-01T03:00:00Z",
            "2090-01-01T09:00:00Z",
            "2090-01-01T15:00:00Z"
        ]
    );
    let v = tasks_json(
        &dir,
        "at.yaml",
        &workflow("  schedule: at(2095-03-01T10:00:00)\n"),
    );
    assert_eq!(v["schedule"], "at(2095-03-01T10:00:00)");
    assert_eq!(next_runs(&v), ["2095-03-01T10:00:00Z"]);

    // Five fields stay Airflow's cron, and an end date stops the list.
    let v = tasks_json(
        &dir,
        "five.yaml",
        &workflow(
            "  schedule: '15 6 * * 1'\n  start_date: '2090-01-01'\n  end_date: '2090-01-20'\n",
        ),
    );
    assert_eq!(v["schedule"], "15 6 * * 1");
    assert_eq!(
        next_runs(&v),
        [
            "2090-01-02T06:15:00Z",
            "2090-01-09T06:15:00Z",
            "2090-01-16T06:15:00Z"
        ]
    );
    let v = tasks_json(&dir, "none.yaml", &workflow("  schedule: None\n"));
    assert_eq!(v["next_runs"], json!([]));
}

#[test]
fn malformed_eventbridge_expressions_are_one_clear_error_each() {
    let dir = TempDir::new("aws-cron-errors");
    for (name, schedule, needle) in [
        ("five.yaml", "cron(0 0 * * *)", "cron(...) takes 6 fields"),
        ("both.yaml", "'0 0 * * * *'", "needs '?' in one of them"),
        (
            "dow.yaml",
            "cron(0 0 ? * 8 *)",
            "field 5 (day-of-week) has 8",
        ),
        ("year.yaml", "cron(0 0 * * ? 1960)", "1970-2199"),
        ("rate.yaml", "rate(1 hours)", "must say 'hour'"),
        ("at.yaml", "at(2030-01-31)", "at(yyyy-mm-ddThh:mm:ss)"),
    ] {
        let diags = diagnostics(
            &dir,
            name,
            &workflow(&format!("  schedule: {schedule}\n")),
            1,
        );
        let d = find(&diags, "error", needle);
        assert_eq!(d["key"], "schedule", "{name}: {d}");
        assert_eq!(d["line"], 2, "{name}: {d}");
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("is not a valid schedule"),
            "{name}: {d}"
        );
    }
}

#[test]
fn default_args_timezone_applies_to_a_naive_start_date() {
    let dir = TempDir::new("da-timezone");
    let text = "wf:\n  schedule: '0 6 * * *'\n  default_args:\n    timezone: America/New_York\n    \
                start_date: '2090-07-01'\n  tasks:\n    only:\n      operator: \
                airflow.providers.standard.operators.empty.EmptyOperator\n";
    let v = tasks_json(&dir, "wf.yaml", text);
    // Midnight in New York in July (EDT, UTC-4) is 04:00 UTC, as dag-factory makes it.
    assert_eq!(v["start_date"], "2090-07-01T04:00:00Z");
    assert_eq!(v["timezone"], "America/New_York");
    // The cron schedule is read in that time zone too, as Airflow does.
    assert_eq!(
        next_runs(&v)[..2],
        ["2090-07-01T10:00:00Z", "2090-07-02T10:00:00Z"]
    );
    // A workflow-level start date keeps the workflow-level timezone (UTC here), as in
    // dag-factory.
    let text = "wf:\n  start_date: '2090-07-01'\n  default_args:\n    timezone: America/New_York\n  \
                tasks:\n    only:\n      operator: \
                airflow.providers.standard.operators.empty.EmptyOperator\n";
    let v = tasks_json(&dir, "top.yaml", text);
    assert_eq!(v["start_date"], "2090-07-01T00:00:00Z");
    // An unknown zone is an error naming the key.
    let text = "wf:\n  default_args:\n    timezone: Mars/Olympus\n    start_date: '2090-07-01'\n  \
                tasks:\n    only:\n      operator: \
                airflow.providers.standard.operators.empty.EmptyOperator\n";
    let diags = diagnostics(&dir, "bad.yaml", text, 1);
    let d = find(&diags, "error", "not a known time zone");
    assert_eq!(d["key"], "default_args.timezone");
}

/// The MWAA Serverless user guide's example, in its own flat shape.
const USER_GUIDE_FLAT: &str = "\
dag_id: guide_example
schedule_interval: '@daily'
start_date: '2090-01-01'
tasks:
  - task_id: list_files
    operator: S3ListOperator
    bucket: my-bucket
    prefix: data/
  - task_id: report
    operator: BashOperator
    bash_command: echo done
    depends_on: [list_files]
";

#[test]
fn the_user_guides_flat_form_loads_with_one_warning_per_departure() {
    let dir = TempDir::new("flat");
    let diags = diagnostics(&dir, "guide.yaml", USER_GUIDE_FLAT, 0);
    let flat = find(&diags, "warning", "flat form");
    assert_eq!(flat["key"], "dag_id");
    assert_eq!(flat["line"], 1);
    assert!(
        flat["message"]
            .as_str()
            .unwrap()
            .contains("`guide_example:` then"),
        "{flat}"
    );
    let interval = find(&diags, "warning", "read as `schedule`");
    assert_eq!(interval["key"], "schedule_interval");
    assert_eq!(interval["line"], 2);
    let bare = find(&diags, "warning", "bare class name S3ListOperator");
    assert_eq!(bare["task"], "list_files");
    assert!(
        bare["message"]
            .as_str()
            .unwrap()
            .contains("`operator: airflow.providers.amazon.aws.operators.s3.S3ListOperator`"),
        "{bare}"
    );
    find(&diags, "warning", "bare class name BashOperator");
    let depends = find(&diags, "warning", "`depends_on` is read as `dependencies`");
    assert_eq!(depends["task"], "report");
    assert_eq!(depends["line"], 12);
    assert_eq!(diags.len(), 5, "one warning per departure: {diags:#?}");

    let v = tasks_json(&dir, "guide2.yaml", USER_GUIDE_FLAT);
    assert_eq!(v["workflow_id"], "guide_example");
    assert_eq!(v["schedule"], "@daily");
    assert_eq!(next_runs(&v)[0], "2090-01-01T00:00:00Z");
    assert_eq!(v["tasks"][1]["task_id"], "report");
    assert_eq!(v["tasks"][1]["upstream"], json!(["list_files"]));
    assert_eq!(
        v["tasks"][0]["operator"],
        "airflow.providers.amazon.aws.operators.s3.S3ListOperator"
    );
}

#[test]
fn the_flat_form_runs() {
    let dir = TempDir::new("flat-run");
    let text = "\
dag_id: flat_run
schedule_interval: None
tasks:
  first:
    operator: EmptyOperator
  second:
    operator: BashOperator
    bash_command: echo flat-form-ran
    depends_on: [first]
";
    let path = dir.write("flat.yaml", text);
    let state = dir.path().join("state");
    let out = airtask(&[
        "run",
        &path,
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let record = std::fs::read_dir(state.join("flat_run"))
        .expect("run dir")
        .next()
        .expect("one run")
        .expect("entry")
        .path()
        .join("second/-1/record.json");
    let record: Value =
        serde_json::from_str(&std::fs::read_to_string(&record).expect("record")).expect("json");
    assert_eq!(record["status"], "SUCCESS");
}

#[test]
fn a_bare_class_name_that_is_not_implemented_stays_an_error() {
    let dir = TempDir::new("bare-unknown");
    // Not an operator of MWAA Serverless's list (EcsRunTaskOperator was, until the ECS family).
    let text = "wf:\n  tasks:\n    t:\n      operator: DatabricksRunNowOperator\n";
    let diags = diagnostics(&dir, "wf.yaml", text, 1);
    let d = find(
        &diags,
        "error",
        "DatabricksRunNowOperator is not implemented",
    );
    assert_eq!(d["key"], "operator");
}

#[test]
fn an_empty_task_set_is_valid_with_a_warning_and_its_run_succeeds_at_once() {
    let dir = TempDir::new("empty-tasks");
    let text = "empty_wf:\n  schedule: None\n  tasks: {}\n";
    let diags = diagnostics(&dir, "empty.yaml", text, 0);
    let d = find(&diags, "warning", "the workflow has no tasks");
    assert_eq!(d["key"], "tasks");
    assert_eq!(d["line"], 3);
    let v = tasks_json(&dir, "empty2.yaml", text);
    assert_eq!(v["tasks"], json!([]));

    let path = dir.write("run.yaml", text);
    let state = dir.path().join("state");
    let out = airtask(&[
        "run",
        &path,
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // `tasks:` with no value is still an error.
    let diags = diagnostics(&dir, "null.yaml", "wf:\n  tasks:\n", 1);
    find(&diags, "error", "`tasks` has no value");
}

#[test]
fn a_short_dependency_name_resolves_through_its_own_group_when_unique() {
    let dir = TempDir::new("cross-group");
    let text = format!(
        "wf:
  task_groups:
    extract_data: {{}}
    save_data: {{}}
  tasks:
    get_items_data:
      operator: {EMPTY}
      task_group_name: extract_data
    store_items:
      operator: {EMPTY}
      task_group_name: save_data
      dependencies: [get_items_data]
"
    );
    let v = tasks_json(&dir, "wf.yaml", &text);
    assert_eq!(v["tasks"][1]["task_id"], "save_data.store_items");
    assert_eq!(
        v["tasks"][1]["upstream"],
        json!(["extract_data.get_items_data"])
    );

    // Two groups with a task of that name: the error stays, naming both (the list form lets
    // two tasks share a name).
    let text = format!(
        "wf:
  task_groups:
    a: {{}}
    b: {{}}
    c: {{}}
  tasks:
    - task_id: item
      operator: {EMPTY}
      task_group_name: a
    - task_id: item
      operator: {EMPTY}
      task_group_name: b
    - task_id: user
      operator: {EMPTY}
      task_group_name: c
      dependencies: [item]
"
    );
    let diags = diagnostics(&dir, "ambiguous.yaml", &text, 1);
    let d = find(&diags, "error", "the dependency 'item' is not a task");
    let msg = d["message"].as_str().unwrap();
    assert!(msg.contains("'a.item', 'b.item'"), "{msg}");
    assert_eq!(d["task"], "c.user");
    assert_eq!(d["line"], 16);
}

#[test]
fn task_group_name_without_task_groups_is_ignored_with_a_warning() {
    let dir = TempDir::new("undeclared-group");
    let text = format!(
        "wf:\n  tasks:\n    first:\n      operator: {EMPTY}\n      task_group_name: etl\n    \
         second:\n      operator: {EMPTY}\n      dependencies: [first]\n"
    );
    let diags = diagnostics(&dir, "wf.yaml", &text, 0);
    let d = find(&diags, "warning", "task_group_name 'etl' is ignored");
    assert_eq!(d["task"], "first");
    assert_eq!(d["line"], 5);
    let v = tasks_json(&dir, "wf2.yaml", &text);
    assert_eq!(v["tasks"][0]["task_id"], "first");
    assert_eq!(v["tasks"][1]["upstream"], json!(["first"]));

    // With groups declared, an unknown one is still an error.
    let text = format!(
        "wf:\n  task_groups:\n    load: {{}}\n  tasks:\n    first:\n      operator: {EMPTY}\n      \
         task_group_name: etl\n"
    );
    let diags = diagnostics(&dir, "declared.yaml", &text, 1);
    find(&diags, "error", "the groups are load");
}

#[test]
fn an_unknown_type_inside_an_ignored_key_is_a_warning() {
    let dir = TempDir::new("ignored-type");
    let text = format!(
        "wf:\n  tasks:\n    produce:\n      operator: {EMPTY}\n      outlets:\n        - \
         __type__: airflow.datasets.DatasetAlias\n          name: my-alias\n"
    );
    let diags = diagnostics(&dir, "wf.yaml", &text, 0);
    let d = find(&diags, "warning", "`outlets` is ignored");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("airflow.datasets.DatasetAlias"),
        "{d}"
    );
    assert_eq!(d["task"], "produce");
    assert_eq!(diags.len(), 1, "{diags:#?}");
    // In an operator parameter it is still an error.
    let text = format!(
        "wf:\n  tasks:\n    produce:\n      operator: {EMPTY}\n      my_param:\n        \
         __type__: airflow.datasets.DatasetAlias\n        name: my-alias\n"
    );
    let diags = diagnostics(&dir, "param.yaml", &text, 1);
    find(&diags, "error", "unknown `__type__`");
}

#[test]
fn callbacks_by_name_and_file_are_dag_factorys_own_keys() {
    let dir = TempDir::new("callback-files");
    let text = "wf:
  on_failure_callback_name: notify
  on_failure_callback_file: /usr/local/airflow/dags/callbacks.py
  default_args:
    on_retry_callback_name: note_retry
    on_retry_callback_file: /usr/local/airflow/dags/callbacks.py
  tasks:
    t:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: echo callbacks-ignored
      on_success_callback_name: done
      on_success_callback_file: /usr/local/airflow/dags/callbacks.py
";
    let diags = diagnostics(&dir, "wf.yaml", text, 0);
    for d in &diags {
        assert!(
            !d["message"].as_str().unwrap().contains("typo"),
            "dag-factory's own keys are not typos: {d}"
        );
    }
    let wf = find(
        &diags,
        "warning",
        "`on_failure_callback_name` and `on_failure_callback_file`",
    );
    assert_eq!(wf["line"], 2);
    find(&diags, "warning", "`default_args.on_retry_callback_name`");
    let task = find(&diags, "warning", "`on_success_callback_name` and");
    assert_eq!(task["task"], "t");
    assert_eq!(diags.len(), 3, "one warning per pair: {diags:#?}");

    // The operator is not given them: the task runs.
    let path = dir.write("run.yaml", text);
    let state = dir.path().join("state");
    let out = airtask(&[
        "run-task",
        &path,
        "t",
        "--state-dir",
        &state.to_string_lossy(),
        "--no-cloudwatch",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Renders `bash_command` of a one-task workflow through the binary.
fn render_bash(dir: &TempDir, name: &str, command_yaml: &str, extra: &[&str]) -> Value {
    let text = format!(
        "wf:\n  tasks:\n    up:\n      operator: {EMPTY}\n    t:\n      operator: \
         airflow.providers.standard.operators.bash.BashOperator\n      bash_command: \
         {command_yaml}\n"
    );
    let path = dir.write(name, text);
    let mut args = vec![
        "render",
        &path,
        "t",
        "--logical-date",
        "2025-03-09T06:30:00Z",
    ];
    args.extend_from_slice(extra);
    let out = airtask(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout_json(&out)
}

#[test]
fn range_prints_as_a_python_range_object_and_still_iterates() {
    let dir = TempDir::new("tpl-range");
    let v = render_bash(
        &dir,
        "range.yaml",
        "\"{{ range(3) }}|{{ range(1, 10, 2) }}|{{ range(3) | list }}|{% for i in range(2) %}{{ i }}{% endfor %}|{{ 2 in range(3) }}|{{ range(5) | last }}|{{ range(4) | length }}|{{ range(3)[-1] }}\"",
        &[],
    );
    assert_eq!(
        v["bash_command"],
        "range(0, 3)|range(1, 10, 2)|[0, 1, 2]|01|True|4|4|2"
    );
}

#[test]
fn crlf_renders_as_lf_and_one_trailing_newline_is_dropped() {
    let dir = TempDir::new("tpl-crlf");
    let v = render_bash(
        &dir,
        "crlf.yaml",
        "\"echo a\\r\\necho {{ ds }}\\r\\n\"",
        &[],
    );
    assert_eq!(v["bash_command"], "echo a\necho 2025-03-09");
    let v = render_bash(&dir, "cr.yaml", "\"a\\rb\\r\\r\"", &[]);
    assert_eq!(v["bash_command"], "a\nb\n");
}

#[test]
fn xcom_pull_of_a_task_list_gives_none_for_a_task_without_a_value() {
    let dir = TempDir::new("tpl-xcom-list");
    let v = render_bash(
        &dir,
        "xcom.yaml",
        "\"echo {{ ti.xcom_pull(task_ids=['up', 'missing']) }}\"",
        &[
            "--xcom",
            "up=\"v\"",
            "--state-dir",
            &dir.path().join("s").to_string_lossy(),
        ],
    );
    assert_eq!(v["bash_command"], "echo ['v', None]");
}

#[test]
fn comparing_naive_and_aware_datetimes_is_pythons_type_error() {
    let dir = TempDir::new("tpl-naive-aware");
    let text = "wf:\n  tasks:\n    t:\n      operator: \
                airflow.providers.standard.operators.bash.BashOperator\n      bash_command: \
                \"{{ logical_date > macros.datetime(2020, 1, 1) }}\"\n";
    let path = dir.write("wf.yaml", text);
    let out = airtask(&[
        "render",
        &path,
        "t",
        "--logical-date",
        "2025-03-09T06:30:00Z",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TypeError")
            && err.contains("can't compare offset-naive and offset-aware datetimes"),
        "{err}"
    );
}

#[test]
fn dollar_names_expand_in_every_string_like_dag_factorys_expandvars() {
    let dir = TempDir::new("expandvars");
    let text = "wf:\n  tasks:\n    t:\n      operator: \
                airflow.providers.standard.operators.bash.BashOperator\n      bash_command: \
                \"echo ${AIRTASK_E2E_HOME_X} $AIRTASK_E2E_HOME_X ${AIRTASK_E2E_UNSET_X} \
                $AIRTASK_E2E_HOME_Xé ${{ params.p }}\"\n      params: {p: 1}\n";
    let path = dir.write("wf.yaml", text);
    let out = std::process::Command::new(airtask_tests::airtask_bin())
        .args([
            "render",
            &path,
            "t",
            "--logical-date",
            "2025-03-09T06:30:00Z",
        ])
        .env("AIRTASK_E2E_HOME_X", "/home/x")
        .env_remove("AIRTASK_E2E_UNSET_X")
        .output()
        .expect("run airtask");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = stdout_json(&out);
    // Braced and bare names are replaced at load time (Python's ASCII `\w` ends a bare name at
    // 'é'); an unknown name and `${{ ... }}` stay as written.
    assert_eq!(
        v["bash_command"],
        "echo /home/x /home/x ${AIRTASK_E2E_UNSET_X} /home/xé $1"
    );
}
