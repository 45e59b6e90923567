//! The Lambda family through `airtask run-task` against the local endpoint (moto's simple
//! Lambda backend with the project's patch, `scripts/moto_patches/lambda_.py`): the provider's
//! XCom values, FunctionError, an unknown function, the log tail, Event and DryRun
//! invocations, create + wait for Active, the state sensor, and the corpus's lambda_dag.yaml.
//! Tests that queue canned results (a FIFO global to the server) start an endpoint of their
//! own; every test uses its own function names.

use std::path::{Path, PathBuf};
use std::process::Command;

use airtask_tests::{OwnEndpoint, TempDir, airtask_bin, aws_config_for, corpus_dir, endpoint};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};

const INVOKE: &str =
    "airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator";
const CREATE: &str =
    "airflow.providers.amazon.aws.operators.lambda_function.LambdaCreateFunctionOperator";
const SENSOR: &str =
    "airflow.providers.amazon.aws.sensors.lambda_function.LambdaFunctionStateSensor";

/// What one `run-task` did (shared with the Glue Data Quality tests).
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) log: String,
    pub(crate) record: serde_json::Value,
    pub(crate) xcom: Option<serde_json::Value>,
}

impl Run {
    pub(crate) fn error(&self) -> String {
        self.record["error"].as_str().unwrap_or_default().to_owned()
    }
}

/// A workflow named `id` with `tasks`: (task id, operator class, parameters as YAML lines).
pub(crate) fn workflow(dir: &TempDir, id: &str, tasks: &[(&str, &str, String)]) -> String {
    let mut text = format!("{id}:\n  default_args:\n    retries: 0\n  tasks:\n");
    for (task, op, params) in tasks {
        text.push_str(&format!("    {task}:\n      operator: {op}\n"));
        for line in params.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    dir.write(&format!("{id}.yaml"), text)
}

/// Runs `task` of the workflow file `wf` against the endpoint at `url`.
pub(crate) fn run_task(url: &str, wf: &str, task: &str, state: &Path, extra: &[&str]) -> Run {
    let state_s = state.to_string_lossy().into_owned();
    let mut args = vec![
        "run-task",
        wf,
        task,
        "--state-dir",
        &state_s,
        "--run-id",
        "r1",
        "--no-cloudwatch",
        "--output",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = Command::new(airtask_bin())
        .args(&args)
        .env("AWS_ENDPOINT_URL", url)
        .output()
        .expect("run airtask");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let record = airtask_tests::last_json_line(&stdout).unwrap_or(serde_json::Value::Null);
    let workflow_id = Path::new(wf)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let xcom = std::fs::read_to_string(
        state.join(format!("{workflow_id}/r1/{task}/-1/xcom/return_value.json")),
    )
    .ok()
    .map(|t| serde_json::from_str(&t).expect("XCom JSON"));
    Run {
        code: out.status.code(),
        log,
        record,
        xcom,
    }
}

pub(crate) fn expect(run: Run, code: i32, what: &str) -> Run {
    assert_eq!(run.code, Some(code), "{what}:\n{}", run.log);
    run
}

/// A plain HTTP POST of a JSON body to `url` (the endpoint's `/moto-api/...`).
fn http_post(url: &str, body: &str) {
    use std::io::{Read as _, Write as _};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut conn = std::net::TcpStream::connect(host).expect("connect to the endpoint");
    write!(
        conn,
        "POST /{path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send the request");
    let mut response = String::new();
    conn.read_to_string(&mut response)
        .expect("read the response");
    assert!(
        response.starts_with("HTTP/1.0 20") || response.starts_with("HTTP/1.1 20"),
        "POST {url}: {response}"
    );
}

/// Queues canned results for the next invocations (any function) of the endpoint at `url`.
fn queue_results(url: &str, results: &[&str]) {
    let body = serde_json::json!({ "results": results }).to_string();
    http_post(
        &format!("{url}/moto-api/static/lambda-simple/response"),
        &body,
    );
}

/// Clients of the endpoint at `url`.
async fn clients(url: &str) -> (aws_sdk_lambda::Client, aws_sdk_iam::Client) {
    let config = aws_config_for(url, None).await;
    (
        aws_sdk_lambda::Client::new(&config),
        aws_sdk_iam::Client::new(&config),
    )
}

/// Creates the role `name` (moto's CreateFunction wants it to exist) and returns its ARN.
async fn role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .expect("CreateRole");
    out.role().map(|r| r.arn().to_owned()).expect("role ARN")
}

/// Creates the function `name` (with `description`, which the endpoint patch reads).
async fn function(lambda: &aws_sdk_lambda::Client, role_arn: &str, name: &str, description: &str) {
    lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Python312)
        .role(role_arn)
        .handler("index.handler")
        .description(description)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(&b"code"[..]))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction");
}

pub(crate) fn state_dir(dir: &TempDir) -> PathBuf {
    dir.path().join("state")
}

#[tokio::test(flavor = "current_thread")]
async fn invoke_pushes_the_payload_string_prints_the_tail_and_never_retries_an_unknown_function() {
    let url = endpoint();
    let (lambda, iam) = clients(&url).await;
    let arn = role(&iam, "lambda-e2e-invoke-role").await;
    function(&lambda, &arn, "lambda-e2e-echo", "").await;
    let dir = TempDir::new("lambda-invoke");
    let wf = workflow(
        &dir,
        "lambda_invoke",
        &[
            (
                "invoke",
                INVOKE,
                "function_name: lambda-e2e-echo\npayload: '{\"day\": \"{{ ds }}\"}'\nlog_type: Tail"
                    .into(),
            ),
            (
                "invoke_mapping",
                INVOKE,
                "function_name: lambda-e2e-echo\npayload: {a: 1, b: [x]}".into(),
            ),
            (
                "tail_blank_lines",
                INVOKE,
                "function_name: lambda-e2e-echo\npayload: \"{\\\"a\\\":\\n\\n1}\"\nlog_type: Tail\nkeep_empty_log_lines: false"
                    .into(),
            ),
            (
                "event",
                INVOKE,
                "function_name: lambda-e2e-echo\npayload: '{\"a\": 1}'\ninvocation_type: Event"
                    .into(),
            ),
            (
                "dry_run",
                INVOKE,
                "function_name: lambda-e2e-echo\ninvocation_type: DryRun".into(),
            ),
            (
                "unknown",
                INVOKE,
                "function_name: lambda-e2e-no-such-function\nretries: 2\nretry_delay: 0".into(),
            ),
            (
                "unknown_qualifier",
                INVOKE,
                "function_name: lambda-e2e-echo\nqualifier: '7'".into(),
            ),
            (
                "bad_invocation_type",
                INVOKE,
                "function_name: lambda-e2e-echo\ninvocation_type: Sync".into(),
            ),
        ],
    );
    let state = state_dir(&dir);
    let run = |task: &str| run_task(&url, &wf, task, &state, &["--logical-date", "2025-03-09"]);

    // The payload string, not parsed; the tail one record per line, before the result.
    let r = expect(run("invoke"), 0, "invoke");
    assert_eq!(r.xcom, Some(serde_json::json!("{\"day\": \"2025-03-09\"}")));
    assert!(
        r.log.contains(
            "Invoking AWS Lambda function: lambda-e2e-echo with payload: {\"day\": \"2025-03-09\"}"
        ),
        "{}",
        r.log
    );
    let tail = r
        .log
        .find("The last 4 KB of the Lambda execution log (keep_empty_log_lines=True).")
        .unwrap_or_else(|| panic!("no tail header:\n{}", r.log));
    let after = &r.log[tail..];
    for line in [
        "INFO    - START RequestId: ",
        "INFO    - END RequestId: ",
        "INFO    - REPORT RequestId: ",
    ] {
        assert!(after.contains(line), "{line} missing:\n{}", r.log);
    }
    assert!(
        after.find("START RequestId").unwrap_or(usize::MAX)
            < after
                .find("Lambda function invocation succeeded")
                .unwrap_or(0),
        "{}",
        r.log
    );
    // A mapping is sent as its JSON.
    let r = expect(run("invoke_mapping"), 0, "invoke_mapping");
    assert_eq!(r.xcom, Some(serde_json::json!("{\"a\":1,\"b\":[\"x\"]}")));

    // keep_empty_log_lines: false drops the blank lines the function printed.
    let r = expect(run("tail_blank_lines"), 0, "tail_blank_lines");
    let after = &r.log[r
        .log
        .find("(keep_empty_log_lines=False)")
        .unwrap_or_else(|| panic!("no tail header:\n{}", r.log))..];
    assert!(after.contains("INFO    - {\"a\":\n"), "{}", r.log);
    assert!(after.contains("INFO    - 1}\n"), "{}", r.log);
    assert!(
        !after.contains("INFO    - \n"),
        "an empty line was printed:\n{}",
        r.log
    );

    // Event and DryRun: "" is pushed.
    let r = expect(run("event"), 0, "event");
    assert_eq!(r.xcom, Some(serde_json::json!("")));
    assert!(r.log.contains("'HTTPStatusCode': 202"), "{}", r.log);
    assert!(!r.log.contains("The last 4 KB"), "{}", r.log);
    let r = expect(run("dry_run"), 0, "dry_run");
    assert_eq!(r.xcom, Some(serde_json::json!("")));
    assert!(r.log.contains("'HTTPStatusCode': 204"), "{}", r.log);

    // An unknown function or version is fatal: one try, though retries are left.
    let r = expect(run("unknown"), 1, "unknown");
    assert_eq!(r.record["try"], 1, "{}", r.log);
    assert!(r.error().contains("ResourceNotFoundException"), "{}", r.log);
    assert!(
        r.error().contains("lambda-e2e-no-such-function"),
        "{}",
        r.log
    );
    assert!(!r.log.contains("Starting attempt 2"), "{}", r.log);
    let r = expect(run("unknown_qualifier"), 1, "unknown_qualifier");
    assert!(r.error().contains("ResourceNotFoundException"), "{}", r.log);

    // A bad parameter: exit 2 before any call, the allowed values listed.
    let r = expect(run("bad_invocation_type"), 2, "bad_invocation_type");
    assert!(
        r.log.contains("`invocation_type` is 'Sync'")
            && r.log.contains("RequestResponse, Event, DryRun"),
        "{}",
        r.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn function_error_fails_each_try_with_the_error_payload_and_the_tail() {
    // The canned results are a FIFO of the whole server: an endpoint of this test's own.
    let own = OwnEndpoint::start("lambda-function-error", &[]);
    let (lambda, iam) = clients(&own.url).await;
    let arn = role(&iam, "lambda-e2e-error-role").await;
    function(&lambda, &arn, "lambda-e2e-fails", "").await;
    let dir = TempDir::new("lambda-error");
    let wf = workflow(
        &dir,
        "lambda_error",
        &[
            (
                "fails",
                INVOKE,
                "function_name: lambda-e2e-fails\npayload: '{}'\nlog_type: Tail\nretries: 1\nretry_delay: 0"
                    .into(),
            ),
            (
                "canned",
                INVOKE,
                "function_name: lambda-e2e-fails\ndeserialize_payload: true".into(),
            ),
        ],
    );
    let state = state_dir(&dir);
    let error = r#"{"errorMessage": "boom", "errorType": "ValueError"}"#;
    queue_results(
        &own.url,
        &[&format!("!Unhandled:{error}"), &format!("!Handled:{error}")],
    );
    let r = expect(run_task(&own.url, &wf, "fails", &state, &[]), 1, "fails");
    // Retried as Airflow retries a ValueError; each try fails with the function's payload.
    assert_eq!(r.record["try"], 2, "{}", r.log);
    assert!(r.log.contains("Starting attempt 2"), "{}", r.log);
    assert!(
        r.error()
            .contains("Lambda function execution resulted in error: lambda-e2e-fails returned FunctionError 'Handled'"),
        "{}",
        r.log
    );
    assert!(r.error().contains(error), "{}", r.log);
    assert!(r.log.contains("FunctionError 'Unhandled'"), "{}", r.log);
    // The tail was printed before the failure.
    assert!(
        r.log.contains(&format!("INFO    - [ERROR] {error}")),
        "{}",
        r.log
    );
    assert_eq!(r.xcom, None);

    // A canned success, deserialised.
    queue_results(&own.url, &[r#"{"ok": 1}"#]);
    let r = expect(run_task(&own.url, &wf, "canned", &state, &[]), 0, "canned");
    assert_eq!(r.xcom, Some(serde_json::json!({"ok": 1})));
}

#[tokio::test(flavor = "current_thread")]
async fn create_function_waits_for_active_and_pushes_the_arn() {
    let url = endpoint();
    let (lambda, iam) = clients(&url).await;
    let arn = role(&iam, "lambda-e2e-create-role").await;
    let dir = TempDir::new("lambda-create");
    let common = format!(
        "role: {arn}\nruntime: python3.12\nhandler: index.handler\ncode: {{ZipFile: 'def handler(e, c): return e'}}"
    );
    let wf = workflow(
        &dir,
        "lambda_create",
        &[
            (
                "create_wait",
                CREATE,
                format!(
                    "function_name: lambda-e2e-created\n{common}\ndescription: moto:Pending=2\n\
                     wait_for_completion: true\nwaiter_delay: 1\n\
                     config: {{memory_size: 256, environment: {{Variables: {{STAGE: test}}}}, tags: {{team: data}}}}"
                ),
            ),
            (
                "create_no_wait",
                CREATE,
                format!(
                    "function_name: lambda-e2e-created-2\n{common}\ndescription: moto:Pending=1000"
                ),
            ),
            (
                "create_failed",
                CREATE,
                format!(
                    "function_name: lambda-e2e-created-3\n{common}\ndescription: moto:Failed\nwait_for_completion: true"
                ),
            ),
            (
                "boto_style_config",
                CREATE,
                format!(
                    "function_name: lambda-e2e-created-4\n{common}\nconfig: {{MemorySize: 128}}"
                ),
            ),
            (
                "zip_without_handler",
                CREATE,
                format!(
                    "function_name: lambda-e2e-created-5\nrole: {arn}\nruntime: python3.12\n\
                     code: {{ZipFile: x}}\nconfig: {{package_type: Zip}}"
                ),
            ),
        ],
    );
    // `validate` finds the two bad tasks, naming the key, before anything runs.
    let out = Command::new(airtask_bin())
        .args(["validate", "--format", "json", &wf])
        .output()
        .expect("run airtask validate");
    let report = airtask_tests::stdout_json(&out);
    let mut errors: Vec<(String, String)> = report["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .map(|d| {
            (
                d["task"].as_str().unwrap_or_default().to_owned(),
                d["key"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("boto_style_config".to_owned(), "config".to_owned()),
            ("zip_without_handler".to_owned(), "handler".to_owned())
        ],
        "{report}"
    );

    let state = state_dir(&dir);
    let run = |task: &str| run_task(&url, &wf, task, &state, &[]);

    let r = expect(run("create_wait"), 0, "create_wait");
    assert_eq!(
        r.xcom,
        Some(serde_json::json!(
            "arn:aws:lambda:us-east-1:123456789012:function:lambda-e2e-created"
        ))
    );
    assert!(
        r.log.contains("Wait for Lambda function to be active"),
        "{}",
        r.log
    );
    assert!(r.log.contains("Pending"), "a poll saw Pending:\n{}", r.log);
    let config = lambda
        .get_function_configuration()
        .function_name("lambda-e2e-created")
        .send()
        .await
        .expect("GetFunctionConfiguration");
    assert_eq!(config.memory_size(), Some(256));
    assert_eq!(
        config
            .environment()
            .and_then(|e| e.variables())
            .and_then(|v| v.get("STAGE"))
            .map(String::as_str),
        Some("test")
    );

    // Without wait_for_completion (the provider's default) it does not wait for Pending.
    let r = expect(run("create_no_wait"), 0, "create_no_wait");
    assert_eq!(
        r.xcom,
        Some(serde_json::json!(
            "arn:aws:lambda:us-east-1:123456789012:function:lambda-e2e-created-2"
        ))
    );
    assert!(!r.log.contains("Wait for Lambda function"), "{}", r.log);

    let r = expect(run("create_failed"), 1, "create_failed");
    assert!(r.error().contains("state Failed"), "{}", r.log);
    assert_eq!(r.xcom, None);

    let r = expect(run("boto_style_config"), 2, "boto_style_config");
    assert!(
        r.log.contains("no key `MemorySize`") && r.log.contains("memory_size"),
        "{}",
        r.log
    );
    let r = expect(run("zip_without_handler"), 2, "zip_without_handler");
    assert!(
        r.log
            .contains("needs `handler` when config.package_type is Zip"),
        "{}",
        r.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn state_sensor_waits_for_the_target_state_and_fails_on_failed() {
    let url = endpoint();
    let (lambda, iam) = clients(&url).await;
    let arn = role(&iam, "lambda-e2e-sensor-role").await;
    function(&lambda, &arn, "lambda-e2e-pending", "moto:Pending=3").await;
    function(&lambda, &arn, "lambda-e2e-broken", "moto:Failed").await;
    function(&lambda, &arn, "lambda-e2e-stuck", "moto:Pending=1000000").await;
    let dir = TempDir::new("lambda-sensor");
    let wf = workflow(
        &dir,
        "lambda_sensor",
        &[
            (
                "active",
                SENSOR,
                "function_name: lambda-e2e-pending\npoke_interval: 0.1".into(),
            ),
            (
                "failed",
                SENSOR,
                "function_name: lambda-e2e-broken\npoke_interval: 0.1\nretries: 1\nretry_delay: 0"
                    .into(),
            ),
            (
                "pending_target",
                SENSOR,
                "function_name: lambda-e2e-stuck\ntarget_states: [Pending]\npoke_interval: 0.1"
                    .into(),
            ),
            (
                "timeout",
                SENSOR,
                "function_name: lambda-e2e-stuck\npoke_interval: 0.2\ntimeout: 0.5".into(),
            ),
            (
                "unknown",
                SENSOR,
                "function_name: lambda-e2e-never-created\npoke_interval: 0.1".into(),
            ),
        ],
    );
    let state = state_dir(&dir);
    let run = |task: &str| run_task(&url, &wf, task, &state, &[]);

    let r = expect(run("active"), 0, "active");
    assert!(
        r.log.contains("lambda-e2e-pending is in state Pending"),
        "{}",
        r.log
    );
    assert!(
        r.log.contains("lambda-e2e-pending is in state Active"),
        "{}",
        r.log
    );
    assert_eq!(r.xcom, None);

    let r = expect(run("failed"), 1, "failed");
    assert!(
        r.error().contains(
            "Lambda function state sensor failed because the Lambda is in a failed state"
        ),
        "{}",
        r.log
    );
    assert_eq!(
        r.record["try"], 1,
        "a Failed function is not retried:\n{}",
        r.log
    );

    expect(run("pending_target"), 0, "pending_target");

    let r = expect(run("timeout"), 1, "timeout");
    assert!(r.error().contains("Sensor has timed out"), "{}", r.log);

    let r = expect(run("unknown"), 1, "unknown");
    assert!(r.error().contains("ResourceNotFoundException"), "{}", r.log);
}

#[tokio::test(flavor = "current_thread")]
async fn corpus_lambda_dag_validates_and_its_invoke_task_runs() {
    let file = corpus_dir().join("aws-samples/lambda_dag.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = Command::new(airtask_bin())
        .args(["validate", "--format", "json", &file_s])
        .output()
        .expect("run airtask validate");
    let report = airtask_tests::stdout_json(&out);
    let errors: Vec<&serde_json::Value> = report["files"][0]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter(|d| d["severity"] == "error")
        .collect();
    // The whole file validates (its stack tasks too, since the CloudFormation family exists);
    // tests/cloudformation.rs runs it end to end through its stack.

    assert!(errors.is_empty(), "{errors:?}");
    // Here the Lambda task runs alone, from a copy of the file without the stack tasks (its
    // text otherwise unchanged), on a function the test creates under its own name.
    let text = std::fs::read_to_string(&file).expect("read lambda_dag.yaml");
    let dir = TempDir::new("lambda-corpus");
    let lambda_only = dir.write("lambda_dag.yaml", invoke_task_only(&text));
    let url = endpoint();
    let (lambda, iam) = clients(&url).await;
    let arn = role(&iam, "lambda-e2e-corpus-role").await;
    function(&lambda, &arn, "lambda-e2e-corpus-fn", "").await;
    let r = run_task(
        &url,
        &lambda_only,
        "invoke_function",
        &state_dir(&dir),
        &["--params", r#"{"function_name": "lambda-e2e-corpus-fn"}"#],
    );
    let r = expect(r, 0, "invoke_function");
    assert_eq!(r.xcom, Some(serde_json::json!("{\"action\": \"test\"}")));
}

/// lambda_dag.yaml with only its `invoke_function` task, without the dependency on the stack.
fn invoke_task_only(text: &str) -> String {
    let mut out = String::new();
    let mut in_tasks = false;
    let mut keep = true;
    let mut in_dependencies = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        if line.starts_with("  tasks:") {
            in_tasks = true;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if in_tasks && indent == 2 && !line.trim().is_empty() {
            in_tasks = false;
            keep = true;
        }
        if in_tasks && indent == 4 {
            keep = line.trim_start().starts_with("invoke_function:");
        }
        if in_tasks && indent == 6 && !line.trim_start().starts_with("- ") {
            in_dependencies = line.trim_start().starts_with("dependencies:");
        }
        if keep && !(in_tasks && in_dependencies && indent >= 6) {
            out.push_str(line);
            out.push('\n');
        }
    }
    assert!(
        out.contains("invoke_function:") && !out.contains("cloud_formation"),
        "the corpus file changed shape:\n{out}"
    );
    out
}
