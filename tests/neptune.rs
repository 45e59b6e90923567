//! The Neptune operators through `airtask run-task` against the local endpoint (moto's RDS
//! backend serves the Neptune API): stop then start with their waits and XCom, a cluster
//! already stopped / available, `wait_for_completion: false`, a cluster in an error state, a
//! missing cluster, and a wait that runs out of attempts. The transitional and error states
//! come from the endpoint's patch scripts/moto_patches/neptune.py (`moto-stuck-stopping`
//! and `moto-migration-failed` in an identifier). The refusal of a call by the cluster's state is
//! covered by the crate's unit tests (its waits use the hook's 30 s delay). Every test has
//! cluster names of its own.

use airtask_tests::endpoint;
use serde_json::json;

use crate::flow::Flow;

const START: &str = "airflow.providers.amazon.aws.operators.neptune.NeptuneStartDbClusterOperator";
const STOP: &str = "airflow.providers.amazon.aws.operators.neptune.NeptuneStopDbClusterOperator";

async fn neptune() -> aws_sdk_neptune::Client {
    aws_sdk_neptune::Client::new(&airtask_tests::aws_config_for(&endpoint(), None).await)
}

async fn status(id: &str) -> String {
    neptune()
        .await
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .expect("DescribeDBClusters")
        .db_clusters()[0]
        .status()
        .unwrap_or_default()
        .to_owned()
}

/// Creates the Neptune cluster `id`, available.
async fn cluster(id: &str) {
    neptune()
        .await
        .create_db_cluster()
        .db_cluster_identifier(id)
        .engine("neptune")
        .send()
        .await
        .expect("CreateDBCluster");
    assert!(!status(id).await.is_empty(), "a new cluster has a status");
}

#[tokio::test(flavor = "current_thread")]
async fn stop_then_start_wait_and_return_the_cluster_id() {
    let id = "rsn-cycle";
    cluster(id).await;
    let params = format!("db_cluster_id: {id}\nwaiter_delay: 1");
    let flow = Flow::new(
        "rsn_cycle",
        &[
            ("stop", STOP, params.clone()),
            ("stop_again", STOP, params.clone()),
            ("start", START, params.clone()),
            ("start_again", START, params),
        ],
    );
    let run = flow.expect("stop", 0);
    assert_eq!(run.xcom, Some(json!({"db_cluster_id": id})), "{}", run.log);
    assert!(
        run.log.contains(&format!("Stopping Neptune cluster: {id}")),
        "{}",
        run.log
    );
    assert!(run.log.contains("Current status: available"), "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "Neptune cluster {id} (cluster_stopped): stopping (poll 1 of 60"
        )),
        "{}",
        run.log
    );
    assert!(
        run.log.contains(&format!(
            "Finished waiting for cluster {id}. Status is now stopped"
        )),
        "{}",
        run.log
    );
    assert_eq!(status(id).await, "stopped");

    let run = flow.expect("stop_again", 0);
    assert_eq!(run.xcom, Some(json!({"db_cluster_id": id})));
    assert!(
        run.log
            .contains(&format!("Neptune cluster {id} is already stopped.")),
        "{}",
        run.log
    );

    let run = flow.expect("start", 0);
    assert_eq!(run.xcom, Some(json!({"db_cluster_id": id})), "{}", run.log);
    assert!(
        run.log.contains(&format!(
            "Neptune cluster {id} (cluster_available): starting (poll 1 of 60"
        )),
        "{}",
        run.log
    );
    assert_eq!(status(id).await, "available");

    let run = flow.expect("start_again", 0);
    assert_eq!(run.xcom, Some(json!({"db_cluster_id": id})));
    assert!(
        run.log
            .contains(&format!("Neptune cluster {id} is already available.")),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn without_wait_for_completion_the_stop_returns_at_once() {
    let id = "rsn-nowait";
    cluster(id).await;
    let flow = Flow::new(
        "rsn_nowait",
        &[(
            "stop",
            STOP,
            format!("db_cluster_id: {id}\nwait_for_completion: false"),
        )],
    );
    let run = flow.expect("stop", 0);
    assert_eq!(run.xcom, Some(json!({"db_cluster_id": id})));
    assert!(
        !run.log.contains("Waiting for Neptune cluster"),
        "{}",
        run.log
    );
    // Nobody has read it since the stop: it is still stopping.
    assert_eq!(status(id).await, "stopping");
}

#[tokio::test(flavor = "current_thread")]
async fn a_cluster_in_an_error_state_or_missing_fails_the_task() {
    let id = "rsn-moto-migration-failed";
    cluster(id).await;
    let flow = Flow::new(
        "rsn_errors",
        &[
            ("start", START, format!("db_cluster_id: {id}")),
            ("stop", STOP, format!("db_cluster_id: {id}")),
            ("missing", START, "db_cluster_id: rsn-none".to_owned()),
        ],
    );
    for task in ["start", "stop"] {
        let run = flow.expect(task, 1);
        assert_eq!(
            run.error(),
            format!("Neptune cluster {id} is in error state migration-failed"),
            "{}",
            run.log
        );
        assert!(run.xcom.is_none());
    }
    let run = flow.expect("missing", 1);
    assert!(
        run.error()
            .contains("DescribeDBClusters rsn-none failed: DBClusterNotFoundFault"),
        "{}",
        run.log
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_stop_wait_that_never_sees_stopped_runs_out_of_attempts() {
    let id = "rsn-moto-stuck-stopping";
    cluster(id).await;
    let flow = Flow::new(
        "rsn_stuck",
        &[(
            "stop",
            STOP,
            format!("db_cluster_id: {id}\nwaiter_delay: 1\nwaiter_max_attempts: 2"),
        )],
    );
    let run = flow.expect("stop", 1);
    assert!(
        run.error().contains(&format!(
            "Neptune cluster {id} (cluster_stopped) did not reach a terminal state after 2 \
             attempts (every 1 s; last state stopping)"
        )),
        "{}",
        run.log
    );
}
