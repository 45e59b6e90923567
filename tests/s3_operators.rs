//! The S3 operators and sensors, each through `airtask run-task` against the local endpoint:
//! the success path, the XCom value, and the documented failure conditions. Then the S3
//! workflows of ../shared/corpus, whole, with `airtask run`.

use airtask_tests::{TempDir, airtask, corpus_dir, endpoint};

const B: &str = "s3ops-main";

async fn client() -> aws_sdk_s3::Client {
    airtask_tests::s3_client(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

async fn body(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    let out = s3.get_object().bucket(bucket).key(key).send().await.ok()?;
    Some(out.body.collect().await.ok()?.into_bytes().to_vec())
}

async fn bucket_exists(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    s3.head_bucket().bucket(bucket).send().await.is_ok()
}

/// One task per case: (task id, operator class, parameters as YAML lines).
fn workflow(script_ok: &str, script_fail: &str) -> String {
    let s3 = "airflow.providers.amazon.aws.operators.s3";
    let sensors = "airflow.providers.amazon.aws.sensors.s3";
    let tasks: Vec<(&str, String, String)> = vec![
        (
            "create_bucket",
            format!("{s3}.S3CreateBucketOperator"),
            format!("bucket_name: {B}"),
        ),
        (
            "put_a",
            format!("{s3}.S3CreateObjectOperator"),
            format!("s3_bucket: {B}\ns3_key: data/a.csv\ndata: \"a,{{{{ ds }}}}\""),
        ),
        (
            "put_b",
            format!("{s3}.S3CreateObjectOperator"),
            format!("s3_bucket: {B}\ns3_key: data/sub/b.csv\ndata: b"),
        ),
        (
            "put_gz",
            format!("{s3}.S3CreateObjectOperator"),
            format!("s3_key: s3://{B}/other/c.txt\ndata: hello\ncompression: gzip"),
        ),
        (
            "put_list",
            format!("{s3}.S3CreateObjectOperator"),
            format!(
                "s3_bucket: {B}\ns3_key: listing.txt\nreplace: true\ndata: \"{{{{ ti.xcom_pull(task_ids='list_all') }}}}\""
            ),
        ),
        (
            "put_no_bucket",
            format!("{s3}.S3CreateObjectOperator"),
            "s3_key: a.txt\ndata: x".into(),
        ),
        (
            "list_all",
            format!("{s3}.S3ListOperator"),
            format!("bucket: {B}"),
        ),
        (
            "list_delimited",
            format!("{s3}.S3ListOperator"),
            format!("bucket: {B}\nprefix: data/\ndelimiter: /"),
        ),
        (
            "list_wildcard",
            format!("{s3}.S3ListOperator"),
            format!("bucket: {B}\nprefix: data/*.csv\napply_wildcard: true"),
        ),
        (
            "list_nothing",
            format!("{s3}.S3ListOperator"),
            format!("bucket: {B}\nprefix: nothing/"),
        ),
        (
            "list_missing_bucket",
            format!("{s3}.S3ListOperator"),
            "bucket: s3ops-no-such-bucket".into(),
        ),
        (
            "prefixes",
            format!("{s3}.S3ListPrefixesOperator"),
            format!("bucket: {B}\nprefix: ''\ndelimiter: /"),
        ),
        (
            "copy",
            format!("{s3}.S3CopyObjectOperator"),
            format!(
                "source_bucket_key: s3://{B}/data/a.csv\ndest_bucket_name: {B}\ndest_bucket_key: copy/a.csv"
            ),
        ),
        (
            "copy_missing",
            format!("{s3}.S3CopyObjectOperator"),
            format!(
                "source_bucket_key: s3://{B}/no/such.csv\ndest_bucket_key: s3://{B}/copy/x.csv"
            ),
        ),
        (
            "copy_half_kms",
            format!("{s3}.S3CopyObjectOperator"),
            format!(
                "source_bucket_key: s3://{B}/data/a.csv\ndest_bucket_key: s3://{B}/copy/y.csv\nkms_key_id: k"
            ),
        ),
        (
            "get_tags",
            format!("{s3}.S3GetBucketTaggingOperator"),
            format!("bucket_name: {B}"),
        ),
        (
            "put_tags",
            format!("{s3}.S3PutBucketTaggingOperator"),
            format!("bucket_name: {B}\ntag_set: {{team: data}}\nkey: env\nvalue: dev"),
        ),
        (
            "put_half_tag",
            format!("{s3}.S3PutBucketTaggingOperator"),
            format!("bucket_name: {B}\nkey: env"),
        ),
        (
            "delete_tags",
            format!("{s3}.S3DeleteBucketTaggingOperator"),
            format!("bucket_name: {B}"),
        ),
        (
            "get_tags_missing_bucket",
            format!("{s3}.S3GetBucketTaggingOperator"),
            "bucket_name: s3ops-no-such-bucket".into(),
        ),
        (
            "transform",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/data/a.csv\ndest_s3_key: s3://{B}/transformed/a.csv\ntransform_script: {script_ok}\nscript_args: [\"{{{{ ds_nodash }}}}\"]"
            ),
        ),
        (
            "transform_fails",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/data/a.csv\ndest_s3_key: s3://{B}/transformed/never.csv\ntransform_script: {script_fail}"
            ),
        ),
        (
            "transform_exists",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/data/a.csv\ndest_s3_key: s3://{B}/data/sub/b.csv\ntransform_script: {script_ok}"
            ),
        ),
        (
            "select",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/data/a.csv\ndest_s3_key: s3://{B}/selected/a.csv\nselect_expression: SELECT * FROM S3Object\nselect_expr_serialization_config: {{input_serialization: {{CSV: {{FileHeaderInfo: NONE}}}}, output_serialization: {{CSV: {{}}}}}}"
            ),
        ),
        (
            "select_bad_config",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/data/a.csv\ndest_s3_key: s3://{B}/selected/b.csv\nselect_expression: SELECT * FROM S3Object\nselect_expr_serialization_config: {{input_serialization: {{CSV: {{FileHeaderInfo: SOMETIMES}}}}}}"
            ),
        ),
        (
            "transform_missing_source",
            format!("{s3}.S3FileTransformOperator"),
            format!(
                "source_s3_key: s3://{B}/no/such.csv\ndest_s3_key: s3://{B}/transformed/x.csv\ntransform_script: {script_ok}"
            ),
        ),
        (
            "sense_key",
            format!("{sensors}.S3KeySensor"),
            format!("bucket_name: {B}\nbucket_key: data/a.csv"),
        ),
        (
            "sense_wildcard",
            format!("{sensors}.S3KeySensor"),
            format!("bucket_key: s3://{B}/data/*/b.csv\nwildcard_match: true"),
        ),
        (
            "sense_regex",
            format!("{sensors}.S3KeySensor"),
            format!("bucket_name: {B}\nbucket_key: 'other/c\\..*'\nuse_regex: true"),
        ),
        (
            "sense_soft_fail",
            format!("{sensors}.S3KeySensor"),
            format!(
                "bucket_name: {B}\nbucket_key: [data/a.csv, data/missing.csv]\npoke_interval: 0.5\ntimeout: 3\nsoft_fail: true"
            ),
        ),
        (
            "sense_timeout",
            format!("{sensors}.S3KeySensor"),
            format!(
                "bucket_name: {B}\nbucket_key: data/missing.csv\npoke_interval: 0.5\ntimeout: 3\nretries: 2\nretry_delay: 0"
            ),
        ),
        (
            "sense_soft_fail_budget",
            format!("{sensors}.S3KeySensor"),
            format!(
                "bucket_name: {B}\nbucket_key: data/missing.csv\npoke_interval: 0.2\ntimeout: 600\nsoft_fail: true\nexecution_timeout: 1"
            ),
        ),
        (
            "sense_no_bucket",
            format!("{sensors}.S3KeySensor"),
            "bucket_key: data/a.csv".into(),
        ),
        (
            "unchanged",
            format!("{sensors}.S3KeysUnchangedSensor"),
            format!(
                "bucket_name: {B}\nprefix: data/\ninactivity_period: 1\npoke_interval: 0.3\nmin_objects: 2"
            ),
        ),
        (
            "unchanged_too_few",
            format!("{sensors}.S3KeysUnchangedSensor"),
            format!(
                "bucket_name: {B}\nprefix: data/\ninactivity_period: 0.2\npoke_interval: 0.2\ntimeout: 3\nmin_objects: 5"
            ),
        ),
        (
            "unchanged_reschedule",
            format!("{sensors}.S3KeysUnchangedSensor"),
            format!("bucket_name: {B}\nprefix: data/\nmode: reschedule"),
        ),
        (
            "delete_keys",
            format!("{s3}.S3DeleteObjectsOperator"),
            format!("bucket: {B}\nkeys: [copy/a.csv]"),
        ),
        (
            "delete_prefix",
            format!("{s3}.S3DeleteObjectsOperator"),
            format!("bucket: {B}\nprefix: transformed/"),
        ),
        (
            "delete_window",
            format!("{s3}.S3DeleteObjectsOperator"),
            format!("bucket: {B}\nprefix: data/\nto_datetime: '2000-01-01T00:00:00Z'"),
        ),
        (
            "delete_empty_prefix",
            format!("{s3}.S3DeleteObjectsOperator"),
            format!("bucket: {B}\nprefix: ''"),
        ),
        (
            "delete_bucket_not_empty",
            format!("{s3}.S3DeleteBucketOperator"),
            format!("bucket_name: {B}"),
        ),
        (
            "delete_bucket_force",
            format!("{s3}.S3DeleteBucketOperator"),
            format!("bucket_name: {B}\nforce_delete: true"),
        ),
    ];
    let mut text = String::from("s3ops:\n  default_args:\n    retries: 0\n  tasks:\n");
    for (id, op, params) in tasks {
        text.push_str(&format!("    {id}:\n      operator: {op}\n"));
        for line in params.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

struct Run {
    code: Option<i32>,
    log: String,
    record: serde_json::Value,
    xcom: Option<serde_json::Value>,
}

#[tokio::test(flavor = "current_thread")]
async fn every_s3_operator_against_the_endpoint() {
    let dir = TempDir::new("s3ops");
    let ok = dir.write(
        "upper.sh",
        "#!/bin/sh\ntr a-z A-Z < \"$1\" > \"$2\"\necho \"transformed with $3\"\necho to stderr >&2\n",
    );
    let fail = dir.write("fail.sh", "#!/bin/sh\necho failing\nexit 3\n");
    for s in [&ok, &fail] {
        let status = std::process::Command::new("chmod")
            .args(["+x", s])
            .status()
            .expect("chmod");
        assert!(status.success());
    }
    let wf = dir.write("s3ops.yaml", workflow(&ok, &fail));
    let state = dir.path().join("state");
    let state_s = state.to_string_lossy().into_owned();
    let run = |task: &str| -> Run {
        let out = airtask(&[
            "run-task",
            &wf,
            task,
            "--state-dir",
            &state_s,
            "--run-id",
            "r1",
            "--logical-date",
            "2025-03-09",
            "--output",
            "json",
        ]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let log = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
        let record = airtask_tests::last_json_line(&stdout).unwrap_or(serde_json::Value::Null);
        let xcom = std::fs::read_to_string(
            state.join(format!("s3ops/r1/{task}/-1/xcom/return_value.json")),
        )
        .ok()
        .map(|t| serde_json::from_str(&t).expect("XCom JSON"));
        Run {
            code: out.status.code(),
            log,
            record,
            xcom,
        }
    };
    let expect = |task: &str, code: i32| -> Run {
        let r = run(task);
        assert_eq!(r.code, Some(code), "{task}:\n{}", r.log);
        r
    };
    let error_of = |r: &Run| r.record["error"].as_str().unwrap_or_default().to_owned();
    let s3 = client().await;

    // Buckets: created, and creating it again is fine.
    let r = expect("create_bucket", 0);
    assert!(
        r.log.contains(&format!("Created bucket with name: {B}")),
        "{}",
        r.log
    );
    assert_eq!(r.xcom, None);
    assert!(bucket_exists(&s3, B).await);
    let r = expect("create_bucket", 0);
    assert!(r.log.contains("already exists"), "{}", r.log);

    // Objects: templated data, a URL key, gzip; replace: false refuses an existing key at once.
    for t in ["put_a", "put_b", "put_gz"] {
        assert_eq!(expect(t, 0).xcom, None);
    }
    assert_eq!(
        body(&s3, B, "data/a.csv").await.as_deref(),
        Some(&b"a,2025-03-09"[..])
    );
    let gz = body(&s3, B, "other/c.txt").await.expect("gzip object");
    assert_eq!(&gz[..2], &[0x1f, 0x8b], "gzip magic");
    let r = expect("put_a", 1);
    assert!(
        error_of(&r).starts_with("The key data/a.csv already exists."),
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 1);
    let r = expect("put_no_bucket", 2);
    assert!(r.log.contains("Please provide a bucket name"), "{}", r.log);

    // Listing: XCom lists, every page, [] when nothing matches.
    let r = expect("list_all", 0);
    assert_eq!(
        r.xcom,
        Some(serde_json::json!([
            "data/a.csv",
            "data/sub/b.csv",
            "other/c.txt"
        ]))
    );
    assert!(r.log.contains(&format!(
        "Getting the list of files from bucket: {B} in prefix:  (Delimiter )"
    )));
    assert_eq!(
        expect("list_delimited", 0).xcom,
        Some(serde_json::json!(["data/a.csv"]))
    );
    assert_eq!(
        expect("list_wildcard", 0).xcom,
        Some(serde_json::json!(["data/a.csv", "data/sub/b.csv"]))
    );
    assert_eq!(expect("list_nothing", 0).xcom, Some(serde_json::json!([])));
    let r = expect("list_missing_bucket", 1);
    assert!(error_of(&r).contains("NoSuchBucket"), "{}", r.log);
    assert_eq!(
        expect("prefixes", 0).xcom,
        Some(serde_json::json!(["data/", "other/"]))
    );
    // A lone xcom_pull renders natively, and `data` still gets the text Airflow writes.
    expect("put_list", 0);
    assert_eq!(
        body(&s3, B, "listing.txt").await.as_deref(),
        Some(&b"['data/a.csv', 'data/sub/b.csv', 'other/c.txt']"[..])
    );

    // Copy.
    expect("copy", 0);
    assert_eq!(
        body(&s3, B, "copy/a.csv").await.as_deref(),
        Some(&b"a,2025-03-09"[..])
    );
    let r = expect("copy_missing", 1);
    assert!(error_of(&r).contains("NoSuchKey"), "{}", r.log);
    let r = expect("copy_half_kms", 2);
    assert!(
        r.log
            .contains("kms_key_id and kms_encryption_type must both be specified")
    );

    // Tags: an untagged bucket has [], put replaces, delete empties, a missing bucket fails.
    assert_eq!(expect("get_tags", 0).xcom, Some(serde_json::json!([])));
    expect("put_tags", 0);
    let tags = expect("get_tags", 0).xcom.expect("tags");
    let mut tags: Vec<String> = tags
        .as_array()
        .expect("a list")
        .iter()
        .map(|t| {
            format!(
                "{}={}",
                t["Key"].as_str().unwrap(),
                t["Value"].as_str().unwrap()
            )
        })
        .collect();
    tags.sort();
    assert_eq!(tags, ["env=dev", "team=data"]);
    let r = expect("put_half_tag", 2);
    assert!(
        r.log.contains("Key and Value must be specified as a pair"),
        "{}",
        r.log
    );
    expect("delete_tags", 0);
    assert_eq!(expect("get_tags", 0).xcom, Some(serde_json::json!([])));
    let r = expect("get_tags_missing_bucket", 1);
    assert!(error_of(&r).contains("doesn't exist"), "{}", r.log);

    // File transform: the script's output in the log, its result uploaded; failures.
    let r = expect("transform", 0);
    assert!(r.log.contains("transformed with 20250309"), "{}", r.log);
    assert!(r.log.contains("to stderr"), "{}", r.log);
    assert_eq!(
        body(&s3, B, "transformed/a.csv").await.as_deref(),
        Some(&b"A,2025-03-09"[..])
    );
    let r = expect("transform_fails", 1);
    assert_eq!(error_of(&r), "Transform script failed: 3");
    assert!(r.log.contains("failing"));
    let r = expect("transform_exists", 1);
    assert!(error_of(&r).starts_with("The key data/sub/b.csv already exists."));
    assert!(
        !r.log.contains("transformed with"),
        "the script ran: {}",
        r.log
    );
    // S3 Select: the selected records are uploaded (no script).
    let r = expect("select", 0);
    assert!(r.log.contains("Selecting from source S3 file"), "{}", r.log);
    assert_eq!(
        body(&s3, B, "selected/a.csv").await.as_deref(),
        Some(&b"a,2025-03-09\n"[..])
    );
    let r = expect("select_bad_config", 2);
    assert!(r.log.contains("USE, IGNORE or NONE"), "{}", r.log);
    let r = expect("transform_missing_source", 1);
    assert!(error_of(&r).contains("does not exist"), "{}", r.log);

    // Key sensors.
    let r = expect("sense_key", 0);
    assert!(
        r.log
            .contains(&format!("Poking for key : s3://{B}/data/a.csv")),
        "{}",
        r.log
    );
    assert!(r.log.contains("Success criteria met"), "{}", r.log);
    expect("sense_wildcard", 0);
    expect("sense_regex", 0);
    let r = expect("sense_soft_fail", 0);
    assert_eq!(r.record["status"], "SKIPPED", "{}", r.log);
    assert!(r.log.contains("criteria not met after"), "{}", r.log);
    let r = expect("sense_timeout", 1);
    assert!(
        error_of(&r).starts_with("Sensor has timed out"),
        "{}",
        r.log
    );
    assert_eq!(r.record["try"], 1, "a sensor timeout is not retried");
    // With soft_fail, the try's execution_timeout running out skips the task (Airflow's
    // AirflowTaskTimeout under soft_fail), rather than timing it out.
    let r = expect("sense_soft_fail_budget", 0);
    assert_eq!(r.record["status"], "SKIPPED", "{}", r.log);
    assert!(
        error_of(&r).contains("execution_timeout of 1 s ran out"),
        "{}",
        r.log
    );
    let r = expect("sense_no_bucket", 2);
    assert!(r.log.contains("Please provide a bucket name"), "{}", r.log);

    // Keys-unchanged sensor: data/ holds 2 keys that stay put.
    let r = expect("unchanged", 0);
    assert!(
        r.log.contains("SUCCESS: Sensor found 2 objects"),
        "{}",
        r.log
    );
    let r = expect("unchanged_too_few", 1);
    assert!(
        r.log.contains("FAILURE: Inactivity Period passed"),
        "{}",
        r.log
    );
    let r = expect("unchanged_reschedule", 2);
    assert!(r.log.contains("Only 'poke' is acceptable"), "{}", r.log);

    // Deleting objects: keys, a prefix, a time window that matches nothing; never a whole
    // bucket by an empty prefix.
    expect("delete_keys", 0);
    assert_eq!(body(&s3, B, "copy/a.csv").await, None);
    expect("delete_prefix", 0);
    assert_eq!(body(&s3, B, "transformed/a.csv").await, None);
    expect("delete_window", 0);
    assert!(body(&s3, B, "data/a.csv").await.is_some());
    let r = expect("delete_empty_prefix", 2);
    assert!(r.log.contains("would delete every object"), "{}", r.log);

    // Deleting the bucket: not while it holds objects, unless forced; a missing one is fine.
    let r = expect("delete_bucket_not_empty", 1);
    assert!(error_of(&r).contains("BucketNotEmpty"), "{}", r.log);
    expect("delete_bucket_force", 0);
    assert!(!bucket_exists(&s3, B).await);
    let r = expect("delete_bucket_force", 0);
    assert!(r.log.contains("doesn't exist"), "{}", r.log);
}

/// `airtask run` of one corpus file, with its summary.
fn run_corpus(file: &str, state: &std::path::Path) -> (Option<i32>, String) {
    let path = corpus_dir().join(file);
    let out = airtask(&[
        "run",
        &path.to_string_lossy(),
        "--state-dir",
        &state.to_string_lossy(),
        "--logical-date",
        "2025-03-09",
        "--run-id",
        "corpus",
    ]);
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn task_log(state: &std::path::Path, wf: &str, task: &str) -> String {
    std::fs::read_to_string(state.join(format!("{wf}/corpus/{task}/-1/output.log")))
        .unwrap_or_default()
}

#[tokio::test(flavor = "current_thread")]
async fn the_corpus_s3_workflows_run_end_to_end() {
    let s3 = client().await;
    let dir = TempDir::new("s3-corpus");

    // aws-samples/s3_dag.yaml makes and removes its own bucket.
    let (code, out) = run_corpus("aws-samples/s3_dag.yaml", dir.path());
    assert_eq!(code, Some(0), "{out}");
    let list = task_log(dir.path(), "s3_dag", "list_objects");
    assert!(list.contains("Attempt 1 ended SUCCESS"), "{list}");
    let xcom = std::fs::read_to_string(
        dir.path()
            .join("s3_dag/corpus/list_objects/-1/xcom/return_value.json"),
    )
    .expect("list_objects XCom");
    assert_eq!(xcom, "[\"test-file.txt\"]");
    assert!(!bucket_exists(&s3, "test-bucket-20250309").await);

    // aws-docs/simple_s3_test.yaml lists a bucket it expects to exist, and writes the listing.
    s3.create_bucket()
        .bucket("amzn-s3-demo-bucket")
        .send()
        .await
        .expect("create the bucket the workflow expects");
    s3.put_object()
        .bucket("amzn-s3-demo-bucket")
        .key("existing.csv")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("put an object");
    let (code, out) = run_corpus("aws-docs/simple_s3_test.yaml", dir.path());
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(
        body(&s3, "amzn-s3-demo-bucket", "filelist.txt")
            .await
            .as_deref(),
        Some(&b"['existing.csv']"[..])
    );

    // converter-upstream/example_s3.yaml: two buckets, two objects, a listing, forced deletes.
    let (code, out) = run_corpus("converter-upstream/example_s3.yaml", dir.path());
    assert_eq!(code, Some(0), "{out}");
    let xcom = std::fs::read_to_string(
        dir.path()
            .join("example_s3/corpus/list_keys/-1/xcom/return_value.json"),
    )
    .expect("list_keys XCom");
    assert_eq!(xcom, "[\"py2yml-key\",\"py2yml-key-v2\"]");
    for b in [
        "py2yml-my-personal-test-s3-bucket",
        "py2yml-my-personal-test-s3-bucket-v2",
    ] {
        assert!(!bucket_exists(&s3, b).await, "{b} was not deleted");
    }
}
