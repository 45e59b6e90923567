//! `airtask policy` against an endpoint that enforces IAM: a workflow of S3, Glue, Lambda and
//! SQS tasks runs under exactly the policies `airtask policy` writes (the execution role's and
//! a task role's), every task succeeds; then each statement is taken out in turn and the tasks
//! that need it fail with AccessDenied. The endpoint is the test's own (IAM enforcement must
//! not reach other tests); scripts/moto_patches/iam_resources.py gives Glue, Lambda and Logs
//! calls their real resource ARNs, so resources are enforced as well as actions.

use std::collections::BTreeSet;

use airtask_tests::{OwnEndpoint, TempDir, airtask_bin, airtask_json};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use serde_json::{Value, json};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// The IAM world: an admin (for the test's own set-up calls), the base user airtask runs as
/// (allowed only to assume the execution role), the execution role and one task role.
struct World {
    endpoint: OwnEndpoint,
    admin: aws_config::SdkConfig,
    runner: (String, String),
    exec_role: String,
    task_role: String,
    queue_url: String,
}

async fn user(iam: &aws_sdk_iam::Client, name: &str, policy: Value) -> (String, String, String) {
    let arn = iam
        .create_user()
        .user_name(name)
        .send()
        .await
        .expect("CreateUser")
        .user()
        .expect("user")
        .arn()
        .to_owned();
    iam.put_user_policy()
        .user_name(name)
        .policy_name("p")
        .policy_document(policy.to_string())
        .send()
        .await
        .expect("PutUserPolicy");
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .expect("CreateAccessKey");
    let key = key.access_key().expect("key");
    (
        arn,
        key.access_key_id().to_owned(),
        key.secret_access_key().to_owned(),
    )
}

async fn role(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    ]});
    iam.create_role()
        .role_name(name)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole")
        .role()
        .expect("role")
        .arn()
        .to_owned()
}

async fn set_up() -> World {
    let endpoint = OwnEndpoint::start("policy", &[]);
    let root = airtask_tests::aws_config_for(&endpoint.url, None).await;
    let iam = aws_sdk_iam::Client::new(&root);
    let everything = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"}
    ]});
    let (_, admin_id, admin_secret) = user(&iam, "policy-admin", everything).await;
    let exec_role = role(&iam, "policy-exec").await;
    let task_role = role(&iam, "policy-task").await;
    let only_assume = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": exec_role}
    ]});
    let (_, runner_id, runner_secret) = user(&iam, "policy-runner", only_assume).await;

    let s3 = airtask_tests::s3_client(&root);
    s3.create_bucket()
        .bucket("policy-data")
        .send()
        .await
        .expect("CreateBucket");
    s3.put_object()
        .bucket("policy-data")
        .key("scripts/job.py")
        .body(b"print('hello')".to_vec().into())
        .send()
        .await
        .expect("PutObject");
    let glue = aws_sdk_glue::Client::new(&root);
    glue.create_job()
        .name("policy-job")
        .role(&exec_role)
        .command(
            aws_sdk_glue::types::JobCommand::builder()
                .name("glueetl")
                .script_location("s3://policy-data/scripts/job.py")
                .build(),
        )
        .send()
        .await
        .expect("CreateJob");
    let lambda = aws_sdk_lambda::Client::new(&root);
    lambda
        .create_function()
        .function_name("policy-fn")
        .runtime(Runtime::Python312)
        .role(&task_role)
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(&b"code"[..]))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction");
    let sqs = aws_sdk_sqs::Client::new(&root);
    let queue_url = sqs
        .create_queue()
        .queue_name("policy-q")
        .send()
        .await
        .expect("CreateQueue")
        .queue_url()
        .expect("url")
        .to_owned();
    let admin =
        airtask_tests::aws_config_for(&endpoint.url, Some((&admin_id, &admin_secret))).await;
    World {
        endpoint,
        admin,
        runner: (runner_id, runner_secret),
        exec_role,
        task_role,
        queue_url,
    }
}

impl World {
    /// From now on every call is signed, authenticated and checked against IAM policies.
    fn enforce(&self) {
        let body =
            airtask_tests::http_post(&format!("{}/moto-api/reset-auth", self.endpoint.url), "0");
        assert!(body.contains("ok"), "reset-auth answered {body}");
    }

    /// Puts `doc` as the role's one inline policy; a document without statements (IAM refuses
    /// it as malformed) removes the policy instead.
    async fn attach(&self, role_arn: &str, doc: &Value) {
        let name = role_arn.rsplit('/').next().expect("a role name");
        let iam = aws_sdk_iam::Client::new(&self.admin);
        if doc["Statement"].as_array().is_some_and(Vec::is_empty) {
            iam.delete_role_policy()
                .role_name(name)
                .policy_name("airtask-policy")
                .send()
                .await
                .unwrap_or_else(|e| panic!("DeleteRolePolicy {name}: {e:?}"));
            return;
        }
        iam.put_role_policy()
            .role_name(name)
            .policy_name("airtask-policy")
            .policy_document(doc.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutRolePolicy {name}: {e:?}"));
    }

    /// `airtask` as the base user, with the execution role, against this endpoint.
    fn airtask(&self, args: &[&str]) -> (i32, String) {
        let out = std::process::Command::new(airtask_bin())
            .args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint.url)
            .env("AWS_ACCESS_KEY_ID", &self.runner.0)
            .env("AWS_SECRET_ACCESS_KEY", &self.runner.1)
            .env_remove("AWS_SESSION_TOKEN")
            .env("AIRTASK_EXECUTION_ROLE_ARN", &self.exec_role)
            .output()
            .expect("run airtask");
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

fn workflow(w: &World) -> String {
    format!(
        "policy_wf:\n  default_args:\n    retries: 0\n  tasks:\n\
         \x20   put:\n      operator: airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator\n      s3_bucket: policy-data\n      s3_key: \"out/{{{{ ds }}}}.txt\"\n      data: hello\n      replace: true\n\
         \x20   glue:\n      operator: airflow.providers.amazon.aws.operators.glue.GlueJobOperator\n      job_name: policy-job\n      wait_for_completion: true\n      job_poll_interval: 0.2\n      script_args: {{'--moto-polls': '1'}}\n\
         \x20   invoke:\n      operator: airflow.providers.amazon.aws.operators.lambda_function.LambdaInvokeFunctionOperator\n      function_name: policy-fn\n      payload: '{{\"a\": 1}}'\n      task_iam_role_arn: {}\n\
         \x20   publish:\n      operator: airflow.providers.amazon.aws.operators.sqs.SqsPublishOperator\n      sqs_queue: {}\n      message_content: hi\n",
        w.task_role, w.queue_url
    )
}

/// The actions of a policy document's statements, each with its resources.
fn statements(doc: &Value) -> Vec<(BTreeSet<String>, BTreeSet<String>)> {
    doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| {
            let set = |k: &str| {
                s[k].as_array()
                    .expect("a list")
                    .iter()
                    .map(|v| v.as_str().expect("a string").to_owned())
                    .collect::<BTreeSet<_>>()
            };
            (set("Action"), set("Resource"))
        })
        .collect()
}

fn without(doc: &Value, i: usize) -> Value {
    let mut d = doc.clone();
    d["Statement"].as_array_mut().expect("statements").remove(i);
    d
}

#[tokio::test(flavor = "current_thread")]
async fn a_workflow_runs_under_exactly_its_generated_policies_and_needs_every_statement() {
    let w = set_up().await;
    let dir = TempDir::new("policy");
    let wf = dir.write("policy_wf.yaml", workflow(&w));
    let generated = airtask_json(&[
        "policy",
        &wf,
        "--format",
        "json",
        "--account",
        ACCOUNT,
        "--region",
        REGION,
    ]);
    let exec_doc = generated["execution_role"].clone();
    let task_doc = generated["task_roles"][&w.task_role].clone();
    assert!(
        task_doc.is_object(),
        "no policy for the task role: {generated}"
    );
    // The templated key widened, and said so.
    assert!(
        generated["notes"]
            .as_array()
            .expect("notes")
            .iter()
            .any(|n| n
                .as_str()
                .is_some_and(|n| n.contains("arn:aws:s3:::policy-data/out/*.txt"))),
        "{generated}"
    );
    // The runtime's own needs: logs of the workflow's group, assuming the task role.
    let exec_statements = statements(&exec_doc);
    assert!(
        exec_statements
            .iter()
            .any(|(a, r)| a.contains("logs:PutLogEvents")
                && r.contains(&format!(
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/mwaa-serverless/policy_wf/:*"
                )))
    );
    assert!(
        exec_statements
            .iter()
            .any(|(a, r)| a.contains("sts:AssumeRole") && r.contains(&w.task_role))
    );
    w.attach(&w.exec_role, &exec_doc).await;
    w.attach(&w.task_role, &task_doc).await;
    w.enforce();

    // Every task succeeds under exactly these policies.
    let state = dir.path().join("state");
    let state = state.to_str().expect("utf-8");
    let (code, text) = w.airtask(&["run", &wf, "--state-dir", state, "--run-id", "full"]);
    assert_eq!(
        code, 0,
        "the run failed under its generated policies:\n{text}"
    );
    for task in ["put", "glue", "invoke", "publish"] {
        let record: Value = serde_json::from_str(
            &std::fs::read_to_string(
                dir.path()
                    .join(format!("state/policy_wf/full/{task}/-1/record.json")),
            )
            .unwrap_or_else(|e| panic!("{task}'s record: {e}\n{text}")),
        )
        .expect("record JSON");
        assert_eq!(record["status"], "SUCCESS", "{task}: {record}");
    }

    // Each statement taken out: the tasks that need it fail with AccessDenied.
    let tasks: Vec<(String, Option<String>, Value)> = generated["tasks"]
        .as_object()
        .expect("tasks")
        .iter()
        .map(|(id, t)| {
            (
                id.clone(),
                t["role_arn"].as_str().map(str::to_owned),
                t["policy"].clone(),
            )
        })
        .collect();
    let mut checked = 0;
    let mut problems = Vec::new();
    for (role, doc) in [(&w.exec_role, &exec_doc), (&w.task_role, &task_doc)] {
        for (i, (actions, resources)) in statements(doc).into_iter().enumerate() {
            // The tasks whose own policy holds one of these grants; for the runtime's own
            // statements (logs, AssumeRole) every task under the role ships logs, and the
            // task with a role of its own is the one whose role is assumed.
            let needs = |t: &(String, Option<String>, Value)| {
                statements(&t.2)
                    .iter()
                    .any(|(a, r)| !a.is_disjoint(&actions) && !r.is_disjoint(&resources))
            };
            let runtime_logs = actions.iter().any(|a| a.starts_with("logs:"));
            let assume = actions.contains("sts:AssumeRole");
            let affected: Vec<&String> = tasks
                .iter()
                .filter(|t| {
                    let under = if role == &w.exec_role {
                        t.1.is_none() || assume || runtime_logs
                    } else {
                        t.1.as_deref() == Some(role.as_str())
                    };
                    under
                        && (needs(t)
                            || runtime_logs
                            || (assume && t.1.as_deref() == Some(w.task_role.as_str())))
                })
                .map(|t| &t.0)
                .collect();
            assert!(
                !affected.is_empty(),
                "statement {i} of {role} ({actions:?} on {resources:?}) is needed by no task"
            );
            w.attach(role, &without(doc, i)).await;
            for task in affected {
                let run_id = format!("without-{i}-{}", role.rsplit('/').next().unwrap_or("r"));
                let (code, text) = w.airtask(&[
                    "run-task",
                    &wf,
                    task,
                    "--state-dir",
                    state,
                    "--run-id",
                    &run_id,
                ]);
                // Denied: the task fails (or, for the runtime's own logs statement, its log
                // is not delivered: exit 6), naming the refusal.
                let denied = text.contains("AccessDenied")
                    || text.contains("Access Denied")
                    || text.contains("not authorized");
                if code == 0 || !denied {
                    problems.push(format!(
                        "{task} without statement {i} of {role} ({actions:?} on {resources:?}): \
                         exit {code}, {}\n{text}",
                        if code == 0 {
                            "it succeeded"
                        } else {
                            "no AccessDenied in its output"
                        }
                    ));
                }
                checked += 1;
            }
            w.attach(role, doc).await;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    // Five statements of the execution role and one of the task role; the logs statement
    // alone is needed by all four tasks.
    assert!(checked >= 9, "only {checked} removals were checked");
}
