//! The Redshift cluster operators and sensor through `airtask run-task` against the local
//! endpoint: create (waiting through "creating"; an existing cluster; a wait that runs out of
//! attempts), snapshots (create and wait, a cluster that is not available, a missing cluster,
//! delete and wait until gone, a missing snapshot), pause and resume (waiting through
//! "pausing" / "resuming", a missing cluster, a wait that runs out), delete (with a
//! final snapshot, without waiting, a missing cluster, a final snapshot without its name), the
//! sensor (met after a poke that is not, a missing cluster as `cluster_not_found`, a timeout)
//! and the parameter checks. The transitional states come from the endpoint's patch
//! scripts/moto_patches/redshift.py (`moto-stuck-<state>` in an
//! identifier keeps one). Every test has
//! cluster names of its own.

use airtask_tests::{TempDir, airtask, endpoint};

use crate::flow::{Flow, workflow};

const P: &str = "airflow.providers.amazon.aws.operators.redshift_cluster.";
const SENSOR: &str = "airflow.providers.amazon.aws.sensors.redshift_cluster.RedshiftClusterSensor";

fn op(class: &str) -> String {
    format!("{P}{class}")
}

async fn rs() -> aws_sdk_redshift::Client {
    aws_sdk_redshift::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

/// The cluster's status as DescribeClusters says it, or `None` when there is no such cluster.
async fn status(id: &str) -> Option<String> {
    match rs()
        .await
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
    {
        Ok(out) => out.clusters()[0].cluster_status().map(str::to_owned),
        Err(e) => {
            assert!(
                e.as_service_error()
                    .is_some_and(|se| se.is_cluster_not_found_fault()),
                "{e:?}"
            );
            None
        }
    }
}

/// Creates an available single-node cluster `id` (reading it once, past its "creating").
async fn cluster(id: &str) {
    rs().await
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .master_username("admin")
        .master_user_password("Secret123")
        .cluster_type("single-node")
        .send()
        .await
        .expect("CreateCluster");
    assert_eq!(status(id).await.as_deref(), Some("creating"));
    assert_eq!(status(id).await.as_deref(), Some("available"));
}

fn create_params(id: &str) -> String {
    format!(
        "cluster_identifier: {id}\nnode_type: dc2.large\nmaster_username: admin\n\
         master_user_password: Secret123\ncluster_type: single-node\npublicly_accessible: false"
    )
}

#[tokio::test(flavor = "current_thread")]
async fn create_cluster_waits_until_available_and_an_existing_cluster_fails() {
    let id = "rsc-create";
    let create = op("RedshiftCreateClusterOperator");
    let flow = Flow::new(
        "rsc_create",
        &[
            (
                "create",
                &create,
                format!(
                    "{}\nwait_for_completion: true\npoll_interval: 1\nmax_attempt: 5\n\
                     tags:\n  - Key: team\n    Value: data",
                    create_params(id)
                ),
            ),
            ("again", &create, create_params(id)),
        ],
    );
    let run = flow.expect("create", 0);
    assert!(run.xcom.is_none(), "no XCom: {:?}", run.xcom);
    assert!(
        run.log.contains(&format!("Creating Redshift cluster {id}")),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Redshift cluster {id} (cluster_available): creating (poll 1 of 5"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!("Created Redshift cluster {id}")),
        "{}",
        run.log
    );
    assert!(
        !run.log.contains("Secret123"),
        "the password is never logged"
    );
    let out = rs()
        .await
        .describe_clusters()
        .cluster_identifier(id)
        .send()
        .await
        .expect("DescribeClusters");
    let c = &out.clusters()[0];
    assert_eq!(c.cluster_status(), Some("available"));
    assert_eq!(c.node_type(), Some("dc2.large"));
    assert_eq!(c.db_name(), Some("dev"));
    assert_eq!(c.publicly_accessible(), Some(false));
    assert!(
        c.tags()
            .iter()
            .any(|t| t.key() == Some("team") && t.value() == Some("data")),
        "{c:?}"
    );

    let run = flow.expect("again", 1);
    assert!(
        run.error()
            .contains(&format!("CreateCluster {id} failed: ClusterAlreadyExists")),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_create_wait_that_never_sees_available_runs_out_of_attempts() {
    let id = "rsc-moto-stuck-creating";
    let flow = Flow::new(
        "rsc_create_stuck",
        &[(
            "create",
            &op("RedshiftCreateClusterOperator"),
            format!(
                "{}\nwait_for_completion: true\npoll_interval: 1\nmax_attempt: 2",
                create_params(id)
            ),
        )],
    );
    let run = flow.expect("create", 1);
    assert!(
        run.error().contains(&format!(
            "Redshift cluster {id} (cluster_available) did not reach a terminal state after 2 \
             attempts"
        )),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn snapshots_are_created_and_deleted_with_their_waits() {
    let id = "rsc-snap";
    cluster(id).await;
    let create = op("RedshiftCreateClusterSnapshotOperator");
    let delete = op("RedshiftDeleteClusterSnapshotOperator");
    let flow = Flow::new(
        "rsc_snap",
        &[
            (
                "snap",
                &create,
                format!(
                    "cluster_identifier: {id}\nsnapshot_identifier: rsc-snap-1\n\
                     retention_period: 1\nwait_for_completion: true\npoll_interval: 1"
                ),
            ),
            (
                "again",
                &create,
                format!("cluster_identifier: {id}\nsnapshot_identifier: rsc-snap-1"),
            ),
            (
                "drop",
                &delete,
                format!(
                    "cluster_identifier: {id}\nsnapshot_identifier: rsc-snap-1\npoll_interval: 1"
                ),
            ),
            (
                "drop_missing",
                &delete,
                format!("cluster_identifier: {id}\nsnapshot_identifier: rsc-snap-none"),
            ),
        ],
    );
    let run = flow.expect("snap", 0);
    assert!(run.xcom.is_none());
    assert!(
        run.log.contains(&format!(
            "the snapshots of Redshift cluster {id} (snapshot_available): snapshot rsc-snap-1 \
             creating (poll 1 of 20"
        )),
        "{}",
        run.log
    );
    let snaps = rs()
        .await
        .describe_cluster_snapshots()
        .snapshot_identifier("rsc-snap-1")
        .send()
        .await
        .expect("DescribeClusterSnapshots");
    assert_eq!(snaps.snapshots()[0].status(), Some("available"));

    let run = flow.expect("again", 1);
    assert!(
        run.error().contains("ClusterSnapshotAlreadyExists"),
        "{}",
        run.log
    );

    let run = flow.expect("drop", 0);
    assert!(run.xcom.is_none());
    let gone = rs()
        .await
        .describe_cluster_snapshots()
        .snapshot_identifier("rsc-snap-1")
        .send()
        .await
        .expect_err("the snapshot is gone");
    assert!(
        gone.as_service_error()
            .is_some_and(|se| se.is_cluster_snapshot_not_found_fault()),
        "{gone:?}"
    );

    let run = flow.expect("drop_missing", 1);
    assert!(
        run.error()
            .contains("DeleteClusterSnapshot rsc-snap-none of cluster rsc-snap failed: ClusterSnapshotNotFound"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_snapshot_needs_an_available_cluster() {
    let id = "rsc-snap-paused";
    cluster(id).await;
    rs().await
        .pause_cluster()
        .cluster_identifier(id)
        .send()
        .await
        .expect("PauseCluster");
    let create = op("RedshiftCreateClusterSnapshotOperator");
    let flow = Flow::new(
        "rsc_snap_paused",
        &[
            (
                "paused",
                &create,
                format!("cluster_identifier: {id}\nsnapshot_identifier: rsc-snap-p"),
            ),
            (
                "missing",
                &create,
                "cluster_identifier: rsc-snap-none\nsnapshot_identifier: rsc-snap-m".to_owned(),
            ),
        ],
    );
    let run = flow.expect("paused", 1);
    // The first read after the pause says "pausing" (the patch's transitional state).
    assert!(
        run.error().starts_with(
            "Redshift cluster must be in available state. Redshift cluster current state is \
             pausing"
        ),
        "{}",
        run.log
    );
    let run = flow.expect("missing", 1);
    assert!(
        run.error()
            .contains("Redshift cluster current state is cluster_not_found"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn pause_and_resume_wait_through_their_transitions() {
    let id = "rsc-pause";
    cluster(id).await;
    let flow = Flow::new(
        "rsc_pause",
        &[
            (
                "pause",
                &op("RedshiftPauseClusterOperator"),
                format!("cluster_identifier: {id}\nwait_for_completion: true\npoll_interval: 1"),
            ),
            (
                "resume",
                &op("RedshiftResumeClusterOperator"),
                format!("cluster_identifier: {id}\nwait_for_completion: true\npoll_interval: 1"),
            ),
            (
                "pause_missing",
                &op("RedshiftPauseClusterOperator"),
                "cluster_identifier: rsc-pause-none".to_owned(),
            ),
            (
                "resume_missing",
                &op("RedshiftResumeClusterOperator"),
                "cluster_identifier: rsc-pause-none".to_owned(),
            ),
        ],
    );
    let run = flow.expect("pause", 0);
    assert!(run.xcom.is_none());
    assert!(
        run.log.contains(&format!(
            "Redshift cluster {id} (cluster_paused): pausing (poll 1 of 30"
        )),
        "{}",
        run.log
    );
    assert_eq!(status(id).await.as_deref(), Some("paused"));

    let run = flow.expect("resume", 0);
    assert!(run.log.contains("Starting resume cluster"), "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "Redshift cluster {id} (cluster_resumed): resuming (poll 1 of 30"
        )),
        "{}",
        run.log
    );
    assert_eq!(status(id).await.as_deref(), Some("available"));

    for task in ["pause_missing", "resume_missing"] {
        let run = flow.expect(task, 1);
        assert!(
            run.error().contains("Cluster rsc-pause-none not found"),
            "{task}: {}",
            run.log
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_pause_wait_that_never_sees_paused_runs_out_of_attempts() {
    let id = "rsc-moto-stuck-pausing";
    cluster(id).await;
    let flow = Flow::new(
        "rsc_pause_stuck",
        &[(
            "pause",
            &op("RedshiftPauseClusterOperator"),
            format!(
                "cluster_identifier: {id}\nwait_for_completion: true\npoll_interval: 1\n\
                 max_attempts: 2"
            ),
        )],
    );
    let run = flow.expect("pause", 1);
    assert!(
        run.error().contains(&format!(
            "Redshift cluster {id} (cluster_paused) did not reach a terminal state after 2 \
             attempts (every 1 s; last state pausing)"
        )),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn delete_cluster_takes_a_final_snapshot_and_waits_until_gone() {
    cluster("rsc-del").await;
    cluster("rsc-del-nowait").await;
    cluster("rsc-del-nofinal").await;
    let delete = op("RedshiftDeleteClusterOperator");
    let flow = Flow::new(
        "rsc_delete",
        &[
            (
                "delete",
                &delete,
                "cluster_identifier: rsc-del\nskip_final_cluster_snapshot: false\n\
                 final_cluster_snapshot_identifier: rsc-del-final\npoll_interval: 1"
                    .to_owned(),
            ),
            (
                "nowait",
                &delete,
                "cluster_identifier: rsc-del-nowait\nwait_for_completion: false".to_owned(),
            ),
            (
                "missing",
                &delete,
                "cluster_identifier: rsc-del-none".to_owned(),
            ),
            (
                "no_final_name",
                &delete,
                "cluster_identifier: rsc-del-nofinal\nskip_final_cluster_snapshot: false"
                    .to_owned(),
            ),
        ],
    );
    let run = flow.expect("delete", 0);
    assert!(run.xcom.is_none());
    assert!(
        run.log
            .contains("Waiting for cluster rsc-del to be deleted"),
        "{}",
        run.log
    );
    assert_eq!(status("rsc-del").await, None);
    let snaps = rs()
        .await
        .describe_cluster_snapshots()
        .snapshot_identifier("rsc-del-final")
        .send()
        .await
        .expect("the final snapshot");
    assert_eq!(snaps.snapshots()[0].cluster_identifier(), Some("rsc-del"));

    let run = flow.expect("nowait", 0);
    assert!(
        !run.log.contains("Waiting for cluster rsc-del-nowait"),
        "{}",
        run.log
    );
    assert_eq!(status("rsc-del-nowait").await, None);

    let run = flow.expect("missing", 1);
    assert!(
        run.error()
            .contains("DeleteCluster rsc-del-none failed: ClusterNotFound"),
        "{}",
        run.log
    );
    let run = flow.expect("no_final_name", 1);
    assert!(
        run.error()
            .contains("FinalClusterSnapshotIdentifier is required"),
        "{}",
        run.log
    );
    assert_eq!(
        status("rsc-del-nofinal").await.as_deref(),
        Some("available")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_cluster_sensor_waits_for_its_target_status_or_times_out() {
    let id = "rsc-sense";
    rs().await
        .create_cluster()
        .cluster_identifier(id)
        .node_type("dc2.large")
        .master_username("admin")
        .master_user_password("Secret123")
        .cluster_type("single-node")
        .send()
        .await
        .expect("CreateCluster");
    let flow = Flow::new(
        "rsc_sense",
        &[
            (
                "available",
                SENSOR,
                format!("cluster_identifier: {id}\npoke_interval: 1\ntimeout: 30"),
            ),
            (
                "gone",
                SENSOR,
                "cluster_identifier: rsc-sense-none\ntarget_status: cluster_not_found\n\
                 poke_interval: 1"
                    .to_owned(),
            ),
            (
                "paused",
                SENSOR,
                format!(
                    "cluster_identifier: {id}\ntarget_status: paused\npoke_interval: 1\ntimeout: 2"
                ),
            ),
        ],
    );
    let run = flow.expect("available", 0);
    assert!(
        run.log.contains(&format!(
            "Poked cluster {id} for status 'available', found status 'creating'"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Poked cluster {id} for status 'available', found status 'available'"
        )),
        "{}",
        run.log
    );
    let run = flow.expect("gone", 0);
    assert!(
        run.log.contains("found status 'cluster_not_found'"),
        "{}",
        run.log
    );
    let run = flow.expect("paused", 1);
    assert!(
        run.error().starts_with("Sensor has timed out"),
        "{}",
        run.log
    );
}

#[test]
fn redshift_cluster_parameters_are_checked_by_validate() {
    let dir = TempDir::new("rsc-validate");
    let cases = [
        (
            op("RedshiftCreateClusterOperator"),
            "cluster_identifier: c\nnode_type: dc2.large\nmaster_username: a",
            "needs `master_user_password`",
        ),
        (
            op("RedshiftCreateClusterOperator"),
            "cluster_identifier: c\nnode_type: dc2.large\nmaster_username: a\n\
             master_user_password: p\ncluster_type: big",
            "must be multi-node or single-node",
        ),
        (
            op("RedshiftCreateClusterSnapshotOperator"),
            "cluster_identifier: c",
            "needs `snapshot_identifier`",
        ),
        (
            op("RedshiftPauseClusterOperator"),
            "cluster_identifier: c\nmax_attempt: 3",
            "has no parameter `max_attempt`",
        ),
        (
            SENSOR.to_owned(),
            "target_status: paused",
            "needs `cluster_identifier`",
        ),
    ];
    for (i, (class, params, expected)) in cases.iter().enumerate() {
        let wf = dir.write(
            &format!("wf{i}.yaml"),
            workflow(
                &format!("rsc_validate_{i}"),
                &[("t", class, (*params).to_owned())],
            ),
        );
        let out = airtask(&["validate", &wf]);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(1), "{params}: {text}");
        assert!(text.contains(expected), "{params}: {text}");
    }
    // The provider's older module paths name the same operators.
    let wf = dir.write(
        "legacy.yaml",
        workflow(
            "rsc_validate_legacy",
            &[
                (
                    "p",
                    "airflow.providers.amazon.aws.operators.redshift_pause_cluster.RedshiftPauseClusterOperator",
                    "cluster_identifier: c".to_owned(),
                ),
                (
                    "s",
                    "airflow.providers.amazon.aws.sensors.redshift.AwsRedshiftClusterSensor",
                    "cluster_identifier: c".to_owned(),
                ),
            ],
        ),
    );
    let out = airtask(&["validate", &wf]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn the_redshift_corpus_workflow_validates_and_its_cluster_tasks_run() {
    let file = airtask_tests::corpus_dir().join("converter-upstream/example_redshift.yaml");
    let file_s = file.to_string_lossy().into_owned();
    let out = airtask(&["validate", &file_s]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = TempDir::new("rsc-corpus");
    let state = dir.path().join("state").to_string_lossy().into_owned();
    // The cluster's life without the slow polls (the snapshot and the sensors after pause and
    // resume wait 30 s between reads): create, wait for available (the first poke sees
    // "creating", the next one 15 s later "available"), pause, resume, delete.
    let id = "test-redshift-cluster";
    for (task, after) in [
        ("create_cluster", Some("available")),
        ("wait_cluster_available", Some("available")),
        ("pause_cluster", Some("paused")),
        ("resume_cluster", Some("available")),
        ("delete_cluster", None),
    ] {
        let out = airtask(&[
            "run-task",
            &file_s,
            task,
            "--state-dir",
            &state,
            "--run-id",
            "r1",
            "--logical-date",
            "2026-01-02",
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{task}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if task == "create_cluster" {
            // wait_for_completion is false: the next read is still "creating".
            continue;
        }
        // Past the patch's transitional state, if the task did not read it itself.
        let mut now = status(id).await;
        if now.as_deref().is_some_and(|s| s.ends_with("ing")) {
            now = status(id).await;
        }
        assert_eq!(now.as_deref(), after, "{task}");
    }
}
