//! Rendering matches Airflow 3.0.6: every template of
//! ../shared/reference/template-renders-airflow-3.0.6.json is rendered through `airtask render`
//! with the same context (params, logical date, run id, upstream XComs) and compared with what
//! real Airflow printed, or the exception it raised.

use airtask_tests::{TempDir, airtask, workspace_root};

fn reference() -> serde_json::Value {
    let path = workspace_root().join("../shared/reference/template-renders-airflow-3.0.6.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("reference JSON")
}

/// The workflow Airflow rendered in: dag `tpl_corpus`, task `render_all`, the params, and the
/// template in a templated field (BashOperator's `bash_command`).
fn workflow(params: &serde_json::Value, template: &str) -> String {
    // JSON strings and objects are valid YAML flow scalars/mappings.
    format!(
        "tpl_corpus:\n  params: {params}\n  tasks:\n    render_all:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      bash_command: {}\n",
        serde_json::Value::String(template.to_owned())
    )
}

/// Python's `repr()` of a JSON value (Airflow stores XComs as JSON).
fn py_repr(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "None".into(),
        serde_json::Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => format!("'{s}'"),
        serde_json::Value::Array(a) => {
            format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", "))
        }
        serde_json::Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str()` of a JSON value.
fn py_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// airtask's one deliberate difference: a field that is exactly one `{{ ti.xcom_pull(...) }}`
/// receives the pulled value itself; its `str()` is what Airflow renders.
fn is_lone_xcom_pull(template: &str) -> bool {
    let t = template.trim();
    (t.starts_with("{{ ti.xcom_pull(") || t.starts_with("{{ task_instance.xcom_pull("))
        && t.ends_with(") }}")
        && t.matches("{{").count() == 1
        && template == t
}

fn xcom_args(xcoms: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for (task, keys) in xcoms.as_object().expect("xcoms") {
        for (key, value) in keys.as_object().expect("keys") {
            out.push(format!("--xcom={task}:{key}={value}"));
        }
    }
    out
}

#[test]
fn renders_match_airflow_3_0_6() {
    let r = reference();
    let ctx = &r["context"];
    let dir = TempDir::new("templates");
    let logical_date = ctx["logical_date"].as_str().expect("logical_date");
    let run_id = ctx["run_id"].as_str().expect("run_id");
    let xcoms = xcom_args(&ctx["xcoms"]);
    let cases = r["cases"].as_array().expect("cases");
    assert!(cases.len() >= 144);
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let id = case["id"].as_str().expect("id");
        let template = case["template"].as_str().expect("template");
        let path = dir.write(
            &format!("case{i:03}.yaml"),
            workflow(&ctx["params"], template),
        );
        let mut args: Vec<&str> = vec![
            "render",
            &path,
            "render_all",
            "--logical-date",
            logical_date,
            "--run-id",
            run_id,
        ];
        args.extend(xcoms.iter().map(String::as_str));
        let out = airtask(&args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") {
            failures.push(format!("{id}: panic: {stderr}"));
            continue;
        }
        if let Some(expected) = case.get("expected").and_then(|e| e.as_str()) {
            if case["nondeterministic"] == true && case["depends_on_run_id"] != true {
                if out.status.code() != Some(0) {
                    failures.push(format!("{id}: failed: {stderr}"));
                }
                continue;
            }
            if out.status.code() != Some(0) {
                failures.push(format!(
                    "{id}: {template:?}: expected {expected:?}, failed: {}",
                    stderr.trim()
                ));
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(&stdout).expect("render prints JSON");
            let got = &v["bash_command"];
            let got_text = if is_lone_xcom_pull(template) {
                Some(py_str(got))
            } else {
                got.as_str().map(str::to_owned)
            };
            if got_text.as_deref() != Some(expected) {
                failures.push(format!(
                    "{id}: {template:?}: expected {expected:?}, got {got}"
                ));
            }
        } else if let Some(err) = case.get("error") {
            let class = err["class"].as_str().expect("class");
            let message = err["message"].as_str().expect("message");
            if out.status.code() != Some(1) || !stderr.contains(&format!("{class}: {message}")) {
                failures.push(format!(
                    "{id}: {template:?}: expected {class}: {message}, got exit {:?}: {} {}",
                    out.status.code(),
                    stdout.trim(),
                    stderr.trim()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} templates differ from Airflow 3.0.6:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
