//! DataSyncOperator through `airtask run-task` against the local endpoint: a task created with
//! its two locations and executed (XCom `{TaskArn, TaskExecutionArn}`), the same task found
//! again by its location URIs, updated, executed and deleted, nothing left to find, several
//! candidate tasks, an unsupported location type, a failed execution, an execution past
//! `max_iterations` (cancelled) and SIGTERM during an execution (on_kill cancels it). The
//! failure and long-running paths come from the endpoint's DataSync patch
//! (scripts/moto_patches/datasync.py): `moto-error` and `moto-running` in the task's Name.
//! DataSync's locations are shared by the whole endpoint: every test has bucket names of its
//! own.

use aws_sdk_datasync::types::S3Config;

use crate::flow::Flow;

const OPERATOR: &str = "airflow.providers.amazon.aws.operators.datasync.DataSyncOperator";

async fn datasync() -> aws_sdk_datasync::Client {
    let config = airtask_tests::aws_config_for(&airtask_tests::endpoint(), None).await;
    aws_sdk_datasync::Client::new(&config)
}

/// An S3 location of `bucket` (URI `s3://bucket`), made directly.
async fn location(bucket: &str) -> String {
    datasync()
        .await
        .create_location_s3()
        .s3_bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .s3_config(
            S3Config::builder()
                .bucket_access_role_arn("arn:aws:iam::123456789012:role/datasync")
                .build()
                .expect("S3Config"),
        )
        .send()
        .await
        .expect("CreateLocationS3")
        .location_arn
        .expect("LocationArn")
}

/// A task named `name` from bucket `from` to bucket `to`, made directly.
async fn task(name: &str, from: &str, to: &str) -> String {
    let (source, destination) = (location(from).await, location(to).await);
    datasync()
        .await
        .create_task()
        .name(name)
        .source_location_arn(source)
        .destination_location_arn(destination)
        .send()
        .await
        .expect("CreateTask")
        .task_arn
        .expect("TaskArn")
}

fn s3_kwargs(bucket: &str) -> String {
    format!(
        "{{S3BucketArn: 'arn:aws:s3:::{bucket}', S3Config: {{BucketAccessRoleArn: 'arn:aws:iam::123456789012:role/datasync'}}}}"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn a_datasync_task_is_created_found_updated_executed_and_deleted() {
    let uris = "source_location_uri: s3://dst-life-src\ndestination_location_uri: s3://DST-life-dst/\nwait_interval_seconds: 0";
    let flow = Flow::new(
        "dst_life",
        &[
            (
                "create",
                OPERATOR,
                format!(
                    "{uris}\ncreate_task_kwargs: {{Name: dst-life, Options: {{VerifyMode: ONLY_FILES_TRANSFERRED}}}}\ncreate_source_location_kwargs: {}\ncreate_destination_location_kwargs: {}",
                    s3_kwargs("dst-life-src"),
                    s3_kwargs("dst-life-dst")
                ),
            ),
            (
                "again",
                OPERATOR,
                format!(
                    "{uris}\nupdate_task_kwargs: {{Name: dst-life-2}}\ndelete_task_after_execution: true"
                ),
            ),
            ("gone", OPERATOR, uris.to_owned()),
        ],
    );
    let run = flow.expect("create", 0);
    let xcom = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    let task_arn = xcom["TaskArn"].as_str().unwrap_or_default().to_owned();
    let execution = xcom["TaskExecutionArn"].as_str().unwrap_or_default();
    assert!(
        task_arn.contains(":task/task-")
            && execution.starts_with(&format!("{task_arn}/execution/")),
        "{xcom}"
    );
    for line in [
        "No matching source Locations",
        "Attempting to create source Location",
        "Attempting to create destination Location",
        "Creating a Task.",
        &format!("Created a Task with TaskArn {task_arn}"),
        "status=TRANSFERRING",
        "status=SUCCESS",
        "Status=SUCCESS",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    let described = datasync()
        .await
        .describe_task()
        .task_arn(&task_arn)
        .send()
        .await
        .expect("DescribeTask");
    assert_eq!(described.name(), Some("dst-life"));

    // The same URIs (in other case, with a trailing slash) find the task again.
    let run = flow.expect("again", 0);
    let xcom = run
        .xcom
        .clone()
        .unwrap_or_else(|| panic!("no XCom:\n{}", run.log));
    assert_eq!(xcom["TaskArn"], task_arn.as_str(), "{}", run.log);
    assert_ne!(xcom["TaskExecutionArn"].as_str(), Some(execution));
    for line in [
        &format!("Found candidate DataSync TaskArns ['{task_arn}']"),
        &format!("Updated TaskArn {task_arn}"),
        "Task Deleted",
    ] {
        assert!(run.log.contains(line), "{line}:\n{}", run.log);
    }
    assert!(
        datasync()
            .await
            .describe_task()
            .task_arn(&task_arn)
            .send()
            .await
            .is_err(),
        "the task was deleted"
    );

    let run = flow.expect("gone", 1);
    assert!(
        run.error()
            .contains("DataSync TaskArn could not be identified or created."),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn several_candidate_tasks_or_an_unsupported_location_fail_the_task() {
    task("dst-many-1", "dst-many-src", "dst-many-dst").await;
    task("dst-many-2", "dst-many-src", "dst-many-dst").await;
    let flow = Flow::new(
        "dst_choose",
        &[
            (
                "many",
                OPERATOR,
                "source_location_uri: s3://dst-many-src\ndestination_location_uri: s3://dst-many-dst".to_owned(),
            ),
            (
                "hdfs",
                OPERATOR,
                "source_location_uri: hdfs://namenode/dst-data\ndestination_location_uri: s3://dst-hdfs-dst\ncreate_task_kwargs: {Name: dst-hdfs}\ncreate_source_location_kwargs: {NameNodes: []}".to_owned(),
            ),
        ],
    );
    let run = flow.expect("many", 1);
    assert!(
        run.error()
            .contains("Unable to choose a Task from ['arn:aws:datasync:"),
        "{}",
        run.log
    );
    let run = flow.expect("hdfs", 1);
    assert!(
        run.error()
            .contains("Invalid/Unsupported location type: hdfs"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_execution_fails_the_task_with_its_error() {
    let arn = task("dst-moto-error", "dst-error-src", "dst-error-dst").await;
    let flow = Flow::new(
        "dst_error",
        &[(
            "run",
            OPERATOR,
            format!("task_arn: {arn}\nwait_interval_seconds: 0"),
        )],
    );
    let run = flow.expect("run", 1);
    assert!(
        run.error().contains("Failed TaskExecutionArn")
            && run.error().contains("moto: transfer failed"),
        "{}",
        run.log
    );
    assert!(run.log.contains("Status=ERROR"), "{}", run.log);
    assert!(run.log.contains("ErrorCode=moto"), "{}", run.log);
    assert!(run.xcom.is_none(), "a failed task pushes no XCom");
}

#[tokio::test(flavor = "current_thread")]
async fn an_execution_past_max_iterations_is_cancelled() {
    let arn = task("dst-moto-running-iter", "dst-iter-src", "dst-iter-dst").await;
    let flow = Flow::new(
        "dst_iterations",
        &[(
            "run",
            OPERATOR,
            format!("task_arn: {arn}\nwait_interval_seconds: 0\nmax_iterations: 4"),
        )],
    );
    let run = flow.expect("run", 1);
    assert!(
        run.error()
            .contains("did not reach a terminal state after 4 attempts"),
        "{}",
        run.log
    );
    assert!(
        run.log.contains("Cancelling TaskExecution after Exception")
            && run.log.contains("Cancelled TaskExecutionArn"),
        "{}",
        run.log
    );
    let task = datasync()
        .await
        .describe_task()
        .task_arn(&arn)
        .send()
        .await
        .expect("DescribeTask");
    assert_eq!(task.status().map(|s| s.as_str()), Some("AVAILABLE"));
}

#[tokio::test(flavor = "current_thread")]
async fn sigterm_during_an_execution_cancels_it() {
    let arn = task("dst-moto-running-kill", "dst-kill-src", "dst-kill-dst").await;
    let flow = Flow::new(
        "dst_kill",
        &[(
            "run",
            OPERATOR,
            format!("task_arn: {arn}\nwait_interval_seconds: 1"),
        )],
    );
    let started = flow.start_until("run", |l| l.contains("status=TRANSFERRING"));
    let (code, log) = started.terminate();
    assert_eq!(code, Some(4), "{log}");
    assert!(
        log.contains("Cancelling TaskExecution after task was killed")
            && log.contains("Cancelled TaskExecutionArn"),
        "{log}"
    );
    let execution = log
        .split("Started TaskExecutionArn ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .map(|s| s.trim_end_matches(['"', ',']).to_owned())
        .unwrap_or_else(|| panic!("no execution logged:\n{log}"));
    let d = datasync()
        .await
        .describe_task_execution()
        .task_execution_arn(&execution)
        .send()
        .await
        .expect("DescribeTaskExecution");
    assert_eq!(d.status().map(|s| s.as_str()), Some("ERROR"));
    assert_eq!(d.result().and_then(|r| r.error_code()), Some("OpCancelled"));
}
