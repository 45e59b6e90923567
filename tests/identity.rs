//! `airtask whoami`: the role chain, against the local endpoint.

use airtask_tests::{OwnEndpoint, TempDir, airtask_json, endpoint};

async fn create_role(name: &str) -> String {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    let out = iam
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create role");
    out.role().expect("role").arn().to_owned()
}

#[tokio::test(flavor = "current_thread")]
async fn whoami_shows_each_layer_with_a_session_name_that_names_the_task() {
    let exec = create_role("airtask-e2e-whoami-exec").await;
    let task_role = create_role("airtask-e2e-whoami-task").await;
    let dir = TempDir::new("whoami");
    let wf = dir.write(
        "wf.yaml",
        format!(
            "etl:\n  tasks:\n    load:\n      operator: airflow.operators.empty.EmptyOperator\n      task_iam_role_arn: {task_role}\n    plain:\n      operator: airflow.operators.empty.EmptyOperator\n"
        ),
    );
    let v = airtask_json(&[
        "whoami",
        &wf,
        "load",
        "--execution-role-arn",
        &exec,
        "--try",
        "2",
        "--format",
        "json",
    ]);
    assert!(v["base"].as_str().unwrap().starts_with("arn:aws:"), "{v}");
    assert_eq!(
        v["execution_role"],
        "arn:aws:sts::123456789012:assumed-role/airtask-e2e-whoami-exec/airtask.etl.load.try2"
    );
    assert_eq!(
        v["task_role"],
        "arn:aws:sts::123456789012:assumed-role/airtask-e2e-whoami-task/airtask.etl.load.try2"
    );
    // A task without its own role, and no execution role: the base layer only.
    let v = airtask_json(&["whoami", &wf, "plain", "--format", "json"]);
    assert_eq!(v.as_object().unwrap().len(), 1, "{v}");
}

/// The IAM world of the auth-mode test: a base user allowed everything (so that any fallback
/// to it would show), an execution role it may assume (allowed only sts:AssumeRole), two task
/// roles confined to one bucket each, and a role whose trust policy refuses everyone here.
struct Iam {
    endpoint: OwnEndpoint,
    access_key: String,
    secret_key: String,
    exec_role: String,
    role_a: String,
    role_b: String,
    untrusted: String,
    bucket_a: String,
    bucket_b: String,
}

async fn set_up_iam() -> Iam {
    // Set-up calls are free; after 40 calls of any kind, moto checks signatures and policies.
    let endpoint = OwnEndpoint::start("iam", &[("INITIAL_NO_AUTH_ACTION_COUNT", "40")]);
    let config = airtask_tests::aws_config_for(&endpoint.url, None).await;
    let iam = aws_sdk_iam::Client::new(&config);
    let s3 = airtask_tests::s3_client(&config);
    let (bucket_a, bucket_b) = ("confined-a".to_owned(), "confined-b".to_owned());
    for b in [
        &bucket_a,
        &bucket_b,
        "confined-state",
        "confined-defs",
        "confined-defs-denied",
    ] {
        s3.create_bucket()
            .bucket(b)
            .send()
            .await
            .expect("create bucket");
    }
    let user = iam
        .create_user()
        .user_name("runner")
        .send()
        .await
        .expect("user");
    let user_arn = user.user().expect("user").arn().to_owned();
    let key = iam
        .create_access_key()
        .user_name("runner")
        .send()
        .await
        .expect("access key");
    let key = key.access_key().expect("access key");
    let allow = |action: &str, resources: &[String]| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resources}
        ]})
        .to_string()
    };
    iam.put_user_policy()
        .user_name("runner")
        .policy_name("everything")
        .policy_document(allow("*", &["*".to_owned()]))
        .send()
        .await
        .expect("user policy");
    let trust = |principal: &str| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
        ]})
        .to_string()
    };
    let role = |name: &'static str, trust_doc: String, policy: String| {
        let iam = iam.clone();
        async move {
            let arn = iam
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust_doc)
                .send()
                .await
                .expect("create role")
                .role()
                .expect("role")
                .arn()
                .to_owned();
            iam.put_role_policy()
                .role_name(name)
                .policy_name("p")
                .policy_document(policy)
                .send()
                .await
                .expect("role policy");
            arn
        }
    };
    let bucket_policy = |b: &str| {
        allow(
            "s3:*",
            &[format!("arn:aws:s3:::{b}"), format!("arn:aws:s3:::{b}/*")],
        )
    };
    // The execution role may assume roles, ship logs, read definitions from one bucket and keep
    // state in another; nothing else.
    let exec_policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::confined-defs/*"},
        {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::confined-state", "arn:aws:s3:::confined-state/*"]}
    ]})
    .to_string();
    let exec_role = role("wf-exec", trust(&user_arn), exec_policy).await;
    let role_a = role("writes-a", trust("*"), bucket_policy(&bucket_a)).await;
    let role_b = role("writes-b", trust("*"), bucket_policy(&bucket_b)).await;
    let untrusted = role(
        "trusts-nobody-here",
        trust("arn:aws:iam::123456789012:user/somebody-else"),
        allow("*", &["*".to_owned()]),
    )
    .await;
    // Use up the free calls: from now on every call is authenticated and authorised.
    let mut refused = false;
    for _ in 0..60 {
        if iam.list_roles().send().await.is_err() {
            refused = true;
            break;
        }
    }
    assert!(refused, "the endpoint never started to check credentials");
    Iam {
        access_key: key.access_key_id().to_owned(),
        secret_key: key.secret_access_key().to_owned(),
        endpoint,
        exec_role,
        role_a,
        role_b,
        untrusted,
        bucket_a,
        bucket_b,
    }
}

impl Iam {
    /// `airtask` with the base user's credentials against the auth-mode endpoint.
    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(airtask_tests::airtask_bin());
        cmd.args(args)
            .env("AWS_ENDPOINT_URL", &self.endpoint.url)
            .env("AWS_ACCESS_KEY_ID", &self.access_key)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret_key)
            .env("AIRTASK_EXECUTION_ROLE_ARN", &self.exec_role);
        cmd
    }

    /// An S3 client with the base user's credentials (allowed everything).
    async fn s3(&self) -> aws_sdk_s3::Client {
        let creds = (self.access_key.as_str(), self.secret_key.as_str());
        airtask_tests::s3_client(
            &airtask_tests::aws_config_for(&self.endpoint.url, Some(creds)).await,
        )
    }

    async fn exists(&self, bucket: &str, key: &str) -> bool {
        self.s3()
            .await
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    }

    /// The session names of every AssumeRole call the endpoint answered for `role_arn`.
    fn sessions(&self, role_arn: &str) -> Vec<String> {
        let data = self.endpoint.data();
        data["sts"]["AssumedRole"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| r["role_arn"] == role_arn)
            .map(|r| r["session_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

fn output_text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "current_thread")]
async fn each_task_runs_as_its_own_role_and_nothing_broader() {
    let iam = set_up_iam().await;
    let dir = TempDir::new("confined");
    let create = "airflow.providers.amazon.aws.operators.s3.S3CreateObjectOperator";
    let task = |id: &str, role: &str, bucket: &str, extra: &str| {
        format!(
            "    {id}:\n      operator: {create}\n      role_arn: {role}\n      s3_bucket: {bucket}\n      s3_key: {id}.txt\n      data: \"written by {{{{ ti.task_id }}}}\"\n{extra}"
        )
    };
    let wf = dir.write(
        "confined.yaml",
        format!(
            "confined:\n  default_args:\n    retries: 0\n  tasks:\n{}{}{}{}{}{}    wait_for_late_key:\n      operator: airflow.providers.amazon.aws.sensors.s3.S3KeySensor\n      task_iam_role_arn: {}\n      bucket_name: {}\n      bucket_key: late.txt\n      poke_interval: 1\n      timeout: 60\n    print_credentials:\n      operator: airflow.providers.standard.operators.bash.BashOperator\n      task_iam_role_arn: {}\n      bash_command: |\n        echo \"secret=$AWS_SECRET_ACCESS_KEY token=$AWS_SESSION_TOKEN\"\n        {} -c \"import boto3; print(boto3.client(\x27sts\x27).get_caller_identity()[\x27Arn\x27])\"\n",
            task("a_writes_a", &iam.role_a, &iam.bucket_a, ""),
            task("b_writes_b", &iam.role_b, &iam.bucket_b, ""),
            // replace: true skips the HeadObject, whose 403 has no body to show the caller.
            task("a_writes_b", &iam.role_a, &iam.bucket_b, "      replace: true\n"),
            task("b_writes_a", &iam.role_b, &iam.bucket_a, "      replace: true\n"),
            task(
                "a_writes_b_retried",
                &iam.role_a,
                &iam.bucket_b,
                "      replace: true\n      retries: 2\n      retry_delay: 0\n"
            ),
            task(
                "untrusted_role",
                &iam.untrusted,
                &iam.bucket_a,
                "      retries: 2\n      retry_delay: 0\n"
            ),
            iam.role_a,
            iam.bucket_a,
            iam.role_a,
            airtask_tests::workspace_root()
                .join(".venv-aws/bin/python")
                .display(),
        ),
    );
    let state = dir.path().join("state").to_string_lossy().into_owned();
    let seen = std::cell::RefCell::new(String::new());
    let run = |task: &str, extra: &[&str]| {
        let mut args = vec![
            "run-task",
            &wf,
            task,
            "--state-dir",
            &state,
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        let out = iam.command(&args).output().expect("run airtask");
        seen.borrow_mut().push_str(&output_text(&out));
        out
    };
    let record = |out: &std::process::Output| -> serde_json::Value {
        let stdout = String::from_utf8_lossy(&out.stdout);
        airtask_tests::last_json_line(&stdout)
            .unwrap_or_else(|| panic!("no record:\n{}", output_text(out)))
    };

    // A try longer than its credentials: the sensor's sessions last 16 s and are refreshed
    // (the SDK renews them 10-15 s before they expire) while it waits for a key that appears
    // after 8 s.
    let sensor = iam
        .command(&[
            "run-task",
            &wf,
            "wait_for_late_key",
            "--state-dir",
            &state,
            "--output",
            "json",
            "--session-duration",
            "16",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the sensor");

    // Each task writes its own bucket...
    for (t, bucket) in [("a_writes_a", &iam.bucket_a), ("b_writes_b", &iam.bucket_b)] {
        let out = run(t, &[]);
        assert_eq!(out.status.code(), Some(0), "{t}:\n{}", output_text(&out));
        assert!(
            iam.exists(bucket, &format!("{t}.txt")).await,
            "{t} wrote nothing"
        );
        assert!(output_text(&out).contains(&format!("(session airtask.confined.{t}.try1)")));
    }
    // ...and the endpoint refuses it the other one, naming the task's session.
    for (t, role_arn, bucket) in [
        ("a_writes_b", &iam.role_a, &iam.bucket_b),
        ("b_writes_a", &iam.role_b, &iam.bucket_a),
    ] {
        let out = run(t, &[]);
        assert_eq!(out.status.code(), Some(1), "{t}:\n{}", output_text(&out));
        let error = record(&out)["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(error.contains("AccessDenied"), "{t}: {error}");
        assert!(
            iam.sessions(role_arn)
                .contains(&format!("airtask.confined.{t}.try1")),
            "{t}: the endpoint never assumed {role_arn} for the task"
        );
        assert!(!iam.exists(bucket, &format!("{t}.txt")).await);
    }

    // S3's AccessDenied cannot change on another try: the task fails at once, retries left.
    let out = run("a_writes_b_retried", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let rec = record(&out);
    assert_eq!(rec["try"], 1, "AccessDenied was retried: {rec}");
    assert_eq!(rec["status"], "FAILED");
    let error = rec["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "PutObject s3://{}/a_writes_b_retried.txt failed: AccessDenied",
            iam.bucket_b
        )),
        "{error}"
    );

    // A role that cannot be assumed fails the task before its operator runs, without another
    // try (AccessDenied cannot change), and nothing is written with other credentials.
    let out = run("untrusted_role", &[]);
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    let rec = record(&out);
    assert_eq!(rec["try"], 1, "{rec}");
    assert_eq!(rec["status"], "FAILED");
    let error = rec["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!(
            "cannot assume the role {} (session airtask.confined.untrusted_role.try1)",
            iam.untrusted
        )) && error.contains("AccessDenied")
            && error.ends_with("the operator did not run"),
        "{error}"
    );
    assert!(!iam.exists(&iam.bucket_a, "untrusted_role.txt").await);
    assert!(
        !output_text(&out).contains("Wrote"),
        "{}",
        output_text(&out)
    );

    // A child process runs as the task role: the endpoint sees the assumed-role ARN with the
    // session name that names the task (the command's last line, its XCom). The credentials it
    // was handed are masked in the log.
    let out = run("print_credentials", &["--run-id", "r1"]);
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    let text = output_text(&out);
    assert!(text.contains("secret=*** token=***"), "{text}");
    let xcom = std::fs::read_to_string(
        dir.path()
            .join("state/confined/r1/print_credentials/-1/xcom/return_value.json"),
    )
    .expect("the XCom of print_credentials");
    assert_eq!(
        xcom,
        "\"arn:aws:sts::123456789012:assumed-role/writes-a/airtask.confined.print_credentials.try1\""
    );

    // The definition and the state are read and written as the execution role (its session
    // names the task): a definition only the base user may read is refused.
    let s3 = iam.s3().await;
    let definition = std::fs::read(&wf).expect("the definition");
    for b in ["confined-defs", "confined-defs-denied"] {
        s3.put_object()
            .bucket(b)
            .key("confined.yaml")
            .body(definition.clone().into())
            .send()
            .await
            .expect("upload the definition");
    }
    let out = iam
        .command(&[
            "run-task",
            "s3://confined-defs/confined.yaml",
            "b_writes_b",
            "--store",
            "s3://confined-state/runs",
            "--run-id",
            "r2",
        ])
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(1), "{}", output_text(&out));
    seen.borrow_mut().push_str(&output_text(&out));
    let record = s3
        .get_object()
        .bucket("confined-state")
        .key("runs/confined/r2/b_writes_b/-1/record.json")
        .send()
        .await
        .expect("the record in the S3 store");
    let record = record.body.collect().await.expect("body").into_bytes();
    let record: serde_json::Value = serde_json::from_slice(&record).expect("record JSON");
    // b_writes_b.txt exists from before, and replace is false.
    assert_eq!(record["status"], "FAILED", "{record}");
    assert!(
        record["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("The key b_writes_b.txt already exists.")),
        "{record}"
    );
    assert!(
        iam.sessions(&iam.exec_role)
            .contains(&"airtask.confined.b_writes_b.try1".to_owned())
    );
    let out = iam
        .command(&[
            "run-task",
            "s3://confined-defs-denied/confined.yaml",
            "a_writes_a",
            "--state-dir",
            &state,
        ])
        .output()
        .expect("run airtask");
    assert_eq!(out.status.code(), Some(2), "{}", output_text(&out));
    assert!(
        output_text(&out).contains("was denied (AccessDenied)"),
        "{}",
        output_text(&out)
    );
    // `run` and `render` read it as the execution role too.
    let runs: [(&[&str], i32); 2] = [
        (
            &[
                "run",
                "s3://confined-defs-denied/confined.yaml",
                "--state-dir",
                &state,
            ],
            2,
        ),
        (
            &[
                "render",
                "s3://confined-defs-denied/confined.yaml",
                "a_writes_a",
            ],
            1,
        ),
    ];
    for (args, code) in runs {
        let out = iam.command(args).output().expect("run airtask");
        assert_eq!(
            out.status.code(),
            Some(code),
            "{args:?}: {}",
            output_text(&out)
        );
        assert!(
            output_text(&out).contains("was denied (AccessDenied)"),
            "{args:?}: {}",
            output_text(&out)
        );
    }

    // The sensor's credentials are renewed while it waits (a second AssumeRole for its
    // session, well within its 60 s timeout); then the late key appears, and the sensor finds it
    // with the renewed credentials.
    let sensor_sessions = || {
        iam.sessions(&iam.role_a)
            .iter()
            .filter(|s| *s == "airtask.confined.wait_for_late_key.try1")
            .count()
    };
    let mut refreshed = false;
    for _ in 0..300 {
        if sensor_sessions() >= 2 {
            refreshed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        refreshed,
        "the sensor's credentials were not renewed within 30 s: {:?}",
        iam.sessions(&iam.role_a)
    );
    iam.s3()
        .await
        .put_object()
        .bucket(&iam.bucket_a)
        .key("late.txt")
        .body(b"late".to_vec().into())
        .send()
        .await
        .expect("put the late key");
    let out = sensor.wait_with_output().expect("sensor output");
    assert_eq!(out.status.code(), Some(0), "{}", output_text(&out));
    assert!(output_text(&out).contains("Success criteria met"));

    // No secret the endpoint handed out (or the base user's) reached any output or record.
    let data = iam.endpoint.data();
    let mut secrets: Vec<String> = vec![iam.secret_key.clone()];
    for r in data["sts"]["AssumedRole"].as_array().into_iter().flatten() {
        for k in ["secret_access_key", "session_token"] {
            secrets.extend(r[k].as_str().map(str::to_owned));
        }
    }
    let mut everything = seen.take() + &output_text(&out);
    for entry in walk(dir.path()) {
        everything.push_str(&std::fs::read_to_string(entry).unwrap_or_default());
    }
    for s in &secrets {
        assert!(
            !everything.contains(s.as_str()),
            "a secret reached the output or the state"
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// STS out of reach: the assumption is retried with backoff (5 attempts, each a new connection
/// the proxy cuts), then run-task stops before anything runs, with exit 5 and the reason.
#[test]
fn an_unreachable_sts_is_retried_then_fails_closed() {
    let proxy = crate::logs::Proxy::start(crate::logs::upstream());
    proxy.set_down(true);
    let dir = TempDir::new("sts-down");
    let wf = dir.write(
        "wf.yaml",
        "etl:\n  tasks:\n    load:\n      operator: airflow.operators.bash.BashOperator\n      bash_command: echo should-not-run\n",
    );
    let out = std::process::Command::new(airtask_tests::airtask_bin())
        .args([
            "run-task",
            &wf,
            "load",
            "--state-dir",
            &dir.path().join("state").to_string_lossy(),
            "--execution-role-arn",
            "arn:aws:iam::123456789012:role/wf-exec",
            "--no-cloudwatch",
        ])
        .env("AWS_ENDPOINT_URL", proxy.url())
        .output()
        .expect("run airtask");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("cannot assume the role arn:aws:iam::123456789012:role/wf-exec")
            && stderr.contains("task 'load' did not run"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("should-not-run"));
    assert!(
        proxy.refused() >= 5,
        "STS was tried {} times, not 5",
        proxy.refused()
    );
}
