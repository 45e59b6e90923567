//! Malformed definitions: each gives exactly one clear error naming the file, the task and key
//! where there is one, and the line; exit code 1; never a panic.

use airtask_tests::{TempDir, airtask, stdout_json};

const EMPTY_OP: &str = "airflow.providers.standard.operators.empty.EmptyOperator";

/// A one-task workflow whose task `t` has `extra` (indented task keys) added.
fn task_with(extra: &str) -> String {
    format!("wf:\n  schedule: None\n  tasks:\n    t:\n      operator: {EMPTY_OP}\n{extra}")
}

/// A workflow with the given workflow-level lines and one valid task.
fn workflow_with(extra: &str) -> String {
    format!("wf:\n{extra}  tasks:\n    t:\n      operator: {EMPTY_OP}\n")
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    /// Text the one error message must contain.
    message: &'static str,
    task: Option<&'static str>,
    key: Option<&'static str>,
    line: Option<u64>,
}

fn case(
    name: &'static str,
    input: impl Into<Vec<u8>>,
    message: &'static str,
    task: Option<&'static str>,
    key: Option<&'static str>,
    line: Option<u64>,
) -> Case {
    Case {
        name,
        input: input.into(),
        message,
        task,
        key,
        line,
    }
}

fn alias_bomb() -> String {
    let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for name in 'b'..='j' {
        let refs = vec![format!("*{prev}"); 10].join(", ");
        text.push_str(&format!("{name}: &{name} [{refs}]\n"));
        prev = name;
    }
    text
}

fn cases() -> Vec<Case> {
    let t = Some("t");
    vec![
        case(
            "unclosed flow sequence",
            "wf:\n  tasks: [a, b\n  schedule: x\n",
            "cannot be read",
            None,
            None,
            Some(3),
        ),
        case(
            "tab indentation",
            "wf:\n\ttasks: {}\n",
            "cannot be read",
            None,
            None,
            Some(2),
        ),
        case(
            "unclosed quote",
            "wf:\n  schedule: 'abc\n  tasks: {}\n",
            "cannot be read",
            None,
            None,
            None,
        ),
        case(
            "empty file",
            "",
            "the definition is empty",
            None,
            None,
            None,
        ),
        case(
            "only comments",
            "# nothing here\n\n",
            "the definition is empty",
            None,
            None,
            None,
        ),
        case(
            "not UTF-8",
            b"wf:\n  schedule: \xff\xfe\n".to_vec(),
            "not valid UTF-8",
            None,
            None,
            Some(2),
        ),
        case(
            "over 50 KB",
            format!("wf:\n  description: '{}'\n", "x".repeat(52_000)),
            "bytes (50 KB)",
            None,
            None,
            None,
        ),
        case("alias bomb", alias_bomb(), "alias bomb", None, None, None),
        case(
            "deep nesting",
            format!("wf: {}{}\n", "[".repeat(80), "]".repeat(80)),
            "nests deeper",
            None,
            None,
            Some(1),
        ),
        case(
            "two documents",
            format!("{}---\nother: {{}}\n", workflow_with("")),
            "more than one YAML document",
            None,
            None,
            Some(5),
        ),
        case(
            "python tag",
            "wf: !!python/name:os.system\n",
            "not supported",
            None,
            None,
            None,
        ),
        case(
            "top level is a list",
            "- wf\n",
            "must be a mapping of one workflow id",
            None,
            None,
            Some(1),
        ),
        case(
            "two workflows",
            format!("{}other:\n  tasks: {{}}\n", workflow_with("")),
            "holds 2 workflows",
            None,
            None,
            Some(5),
        ),
        case(
            "no tasks",
            "wf:\n  schedule: None\n",
            "has no `tasks`",
            None,
            None,
            None,
        ),
        case(
            "tasks is a string",
            "wf:\n  tasks: everything\n",
            "`tasks` must be a mapping",
            None,
            Some("tasks"),
            Some(2),
        ),
        case(
            "task is a string",
            "wf:\n  tasks:\n    t: EmptyOperator\n",
            "must be a mapping with an `operator`",
            t,
            None,
            Some(3),
        ),
        case(
            "missing operator",
            "wf:\n  tasks:\n    t:\n      retries: 1\n",
            "has no `operator`",
            t,
            Some("operator"),
            Some(3),
        ),
        case(
            "operator is a number",
            "wf:\n  tasks:\n    t:\n      operator: 5\n",
            "operator must be the full class path",
            t,
            Some("operator"),
            Some(4),
        ),
        case(
            "unimplemented operator",
            "wf:\n  tasks:\n    t:\n      operator: airflow.providers.standard.operators.python.PythonOperator\n",
            "not implemented by this runtime yet",
            t,
            Some("operator"),
            Some(4),
        ),
        case(
            "implemented class under an unknown module path",
            "wf:\n  tasks:\n    t:\n      operator: airflow.operators.empty_operator.EmptyOperator\n",
            "(airtask knows EmptyOperator as airflow.providers.standard.operators.empty.EmptyOperator)",
            t,
            Some("operator"),
            Some(4),
        ),
        case(
            "decorator task",
            "wf:\n  tasks:\n    t:\n      decorator: airflow.sdk.task\n      python_callable: m.f\n",
            "TaskFlow",
            t,
            Some("decorator"),
            Some(4),
        ),
        case(
            "retries too high",
            task_with("      retries: 5\n"),
            "retries is 5; MWAA Serverless allows 0 to 3",
            t,
            Some("retries"),
            Some(6),
        ),
        case(
            "retries negative",
            task_with("      retries: -1\n"),
            "retries is -1",
            t,
            Some("retries"),
            Some(6),
        ),
        case(
            "retries a word",
            task_with("      retries: three\n"),
            "whole number from 0 to 3, found a string",
            t,
            Some("retries"),
            Some(6),
        ),
        case(
            "retries a fraction",
            task_with("      retries: 2.5\n"),
            "whole number from 0 to 3, found a number",
            t,
            Some("retries"),
            Some(6),
        ),
        case(
            "retry_delay too long",
            task_with("      retry_delay: 301\n"),
            "retry_delay is 301 s; MWAA Serverless allows 0 to 300 s",
            t,
            Some("retry_delay"),
            Some(6),
        ),
        case(
            "retry_delay timedelta too long",
            task_with("      retry_delay: {__type__: datetime.timedelta, minutes: 10}\n"),
            "retry_delay is 600 s",
            t,
            Some("retry_delay"),
            Some(6),
        ),
        case(
            "retry_delay a string",
            task_with("      retry_delay: 5m\n"),
            "retry_delay is not a duration",
            t,
            Some("retry_delay"),
            Some(6),
        ),
        case(
            "execution_timeout too long",
            task_with("      execution_timeout: 3601\n"),
            "execution_timeout is 3601 s",
            t,
            Some("execution_timeout"),
            Some(6),
        ),
        case(
            "execution_timeout timedelta hours",
            task_with(
                "      execution_timeout:\n        __type__: datetime.timedelta\n        hours: 2\n",
            ),
            "execution_timeout is 7200 s",
            t,
            Some("execution_timeout"),
            Some(7),
        ),
        case(
            "execution_timeout zero",
            task_with("      execution_timeout: 0\n"),
            "more than 0 and at most 3600 s",
            t,
            Some("execution_timeout"),
            Some(6),
        ),
        case(
            "default_args retries",
            workflow_with("  default_args:\n    retries: 9\n"),
            "retries is 9",
            None,
            Some("default_args.retries"),
            Some(3),
        ),
        case(
            "cron minute out of range",
            workflow_with("  schedule: '61 * * * *'\n"),
            "is not a valid schedule",
            None,
            Some("schedule"),
            Some(2),
        ),
        case(
            "cron with 4 fields",
            workflow_with("  schedule: '0 6 * *'\n"),
            "has 5 fields",
            None,
            Some("schedule"),
            Some(2),
        ),
        case(
            "unknown preset",
            workflow_with("  schedule: '@fortnightly'\n"),
            "is not a valid schedule",
            None,
            Some("schedule"),
            Some(2),
        ),
        case(
            "timedelta schedule",
            workflow_with("  schedule: {__type__: datetime.timedelta, hours: 6}\n"),
            "time-delta schedule",
            None,
            Some("schedule"),
            Some(2),
        ),
        case(
            "end before start",
            workflow_with("  start_date: 2025-06-01\n  end_date: '2025-01-01'\n"),
            "end_date must be on or after start_date",
            None,
            Some("end_date"),
            Some(3),
        ),
        case(
            "start_date not a date",
            workflow_with("  start_date: next tuesday\n"),
            "start_date is not a valid date",
            None,
            Some("start_date"),
            Some(2),
        ),
        case(
            "datetime month 13",
            workflow_with(
                "  start_date: {__type__: datetime.datetime, year: 2025, month: 13, day: 1}\n",
            ),
            "is not a valid datetime.datetime",
            None,
            Some("start_date"),
            Some(2),
        ),
        case(
            "unknown timezone",
            workflow_with("  timezone: Mars/Olympus\n"),
            "not a known time zone",
            None,
            Some("timezone"),
            Some(2),
        ),
        case(
            "max_active_runs over quota",
            workflow_with("  max_active_runs: 50\n"),
            "allows 1 to 20",
            None,
            Some("max_active_runs"),
            Some(2),
        ),
        case(
            "schedule_interval beside schedule",
            workflow_with("  schedule: '@daily'\n  schedule_interval: '@daily'\n"),
            "both `schedule` and `schedule_interval` are given",
            None,
            Some("schedule_interval"),
            Some(3),
        ),
        case(
            "params a list",
            workflow_with("  params: [a, b]\n"),
            "`params` must be a mapping",
            None,
            Some("params"),
            Some(2),
        ),
        case(
            "cycle",
            format!(
                "wf:\n  tasks:\n    a:\n      operator: {EMPTY_OP}\n      dependencies: [b]\n    b:\n      operator: {EMPTY_OP}\n      dependencies: [a]\n"
            ),
            "form a cycle",
            Some("a"),
            Some("dependencies"),
            None,
        ),
        case(
            "self dependency",
            task_with("      dependencies: [t]\n"),
            "depends on itself",
            t,
            Some("dependencies"),
            None,
        ),
        case(
            "unknown dependency",
            task_with("      dependencies: [extract]\n"),
            "'extract' is not a task or task group",
            t,
            Some("dependencies"),
            Some(6),
        ),
        case(
            "dependencies a number",
            task_with("      dependencies: 7\n"),
            "dependencies must be a list",
            t,
            Some("dependencies"),
            Some(6),
        ),
        case(
            "duplicate task ids (mapping)",
            format!(
                "wf:\n  tasks:\n    t:\n      operator: {EMPTY_OP}\n    t:\n      operator: {EMPTY_OP}\n"
            ),
            "'t' appears twice",
            None,
            None,
            Some(5),
        ),
        case(
            "duplicate task ids (list)",
            format!(
                "wf:\n  tasks:\n    - task_id: t\n      operator: {EMPTY_OP}\n    - task_id: t\n      operator: {EMPTY_OP}\n"
            ),
            "used twice",
            t,
            Some("task_id"),
            Some(5),
        ),
        case(
            "list task without task_id",
            format!("wf:\n  tasks:\n    - operator: {EMPTY_OP}\n"),
            "needs a `task_id`",
            None,
            Some("task_id"),
            Some(3),
        ),
        case(
            "invalid task id",
            format!("wf:\n  tasks:\n    'bad id!':\n      operator: {EMPTY_OP}\n"),
            "is not valid",
            Some("bad id!"),
            Some("task_id"),
            Some(3),
        ),
        case(
            "invalid workflow id",
            format!("'my wf':\n  tasks:\n    t:\n      operator: {EMPTY_OP}\n"),
            "workflow id 'my wf' is not valid",
            None,
            Some("dag_id"),
            Some(1),
        ),
        case(
            "unknown __type__",
            task_with("      bucket: {__type__: collections.OrderedDict}\n"),
            "unknown `__type__` 'collections.OrderedDict'",
            t,
            Some("bucket"),
            Some(6),
        ),
        case(
            "timedelta bad field",
            task_with("      retry_delay: {__type__: datetime.timedelta, fortnights: 1}\n"),
            "has no field `fortnights`",
            t,
            Some("retry_delay"),
            Some(6),
        ),
        case(
            "trigger rule unknown",
            task_with("      trigger_rule: sometimes\n"),
            "'sometimes' is not a trigger rule",
            t,
            Some("trigger_rule"),
            Some(6),
        ),
        case(
            "verify",
            task_with("      verify: false\n"),
            "`verify` is not allowed",
            t,
            Some("verify"),
            Some(6),
        ),
        case(
            "botocore_config",
            task_with("      botocore_config: {retries: {max_attempts: 3}}\n"),
            "`botocore_config` is not allowed",
            t,
            Some("botocore_config"),
            Some(6),
        ),
        case(
            "unknown task group",
            format!(
                "wf:\n  task_groups:\n    load: {{}}\n  tasks:\n    t:\n      operator: {EMPTY_OP}\n      task_group_name: extract\n"
            ),
            "task_group_name 'extract' is not a task group",
            t,
            Some("task_group_name"),
            Some(7),
        ),
        case(
            "expand a number",
            task_with("      expand: {x: 3}\n"),
            "must be a list",
            t,
            Some("expand.x"),
            Some(6),
        ),
        case(
            "malformed role ARN",
            task_with("      task_iam_role_arn: writer\n"),
            "is not an IAM role ARN",
            t,
            Some("task_iam_role_arn"),
            Some(6),
        ),
        case(
            "malformed role_arn",
            task_with("      role_arn: arn:aws:iam::123:role/x\n"),
            "is not an IAM role ARN",
            t,
            Some("role_arn"),
            Some(6),
        ),
        case(
            "role_arn and task_iam_role_arn disagree",
            task_with(
                "      task_iam_role_arn: arn:aws:iam::123456789012:role/a\n      role_arn: arn:aws:iam::123456789012:role/b\n",
            ),
            "name different roles",
            t,
            Some("role_arn"),
            Some(7),
        ),
        case(
            "duplicate key in a task",
            task_with("      retries: 1\n      retries: 2\n"),
            "'retries' appears twice",
            None,
            None,
            Some(7),
        ),
    ]
}

#[test]
fn each_malformed_definition_gives_one_clear_error() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the issue asks for at least 40 malformed inputs"
    );
    let dir = TempDir::new("malformed");
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let path = dir.write(&format!("case{i:02}.yaml"), &c.input);
        let out = airtask(&["validate", "--format", "json", &path]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(1) || stderr.contains("panicked") || !stderr.is_empty() {
            failures.push(format!(
                "{}: exit {:?}, stderr: {stderr}",
                c.name,
                out.status.code()
            ));
            continue;
        }
        let v = stdout_json(&out);
        let file = &v["files"][0];
        assert_eq!(file["file"], path.as_str());
        let errors: Vec<&serde_json::Value> = file["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["severity"] == "error")
            .collect();
        let [e] = errors.as_slice() else {
            failures.push(format!("{}: expected one error, got {errors:?}", c.name));
            continue;
        };
        let msg = e["message"].as_str().unwrap_or_default();
        let mut problems = Vec::new();
        if !msg.contains(c.message) {
            problems.push(format!("message lacks {:?}", c.message));
        }
        if e["task"].as_str() != c.task {
            problems.push(format!("task {:?} != {:?}", e["task"], c.task));
        }
        if e["key"].as_str() != c.key {
            problems.push(format!("key {:?} != {:?}", e["key"], c.key));
        }
        if c.line.is_some() && e["line"].as_u64() != c.line {
            problems.push(format!("line {:?} != {:?}", e["line"], c.line));
        }
        if c.line.is_some() && e["col"].as_u64().is_none() {
            problems.push("no column".to_owned());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {} in {e}", c.name, problems.join(", ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_output_names_file_line_task_and_key() {
    let dir = TempDir::new("text");
    let path = dir.write("wf.yaml", task_with("      retries: 5\n"));
    let out = airtask(&["validate", &path]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "{path}:6:16: error: task 't', key 'retries': retries is 5; MWAA Serverless allows 0 to 3 retries"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{path}: invalid: 1 error")),
        "{stdout}"
    );
}
