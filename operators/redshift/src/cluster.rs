//! What the Redshift cluster operators and sensor share: the hook's `cluster_status`, the
//! waiters they use (botocore's `cluster_available`, `cluster_deleted` and `snapshot_available`,
//! the provider's `cluster_paused` and `cluster_resumed`), the provider's retries of a call the
//! cluster's state refuses (`InvalidClusterStateFault`), and the parameter readers.

use std::future::Future;
use std::time::Duration;

use airtask_core::wait::{self, Poll, WaitSettings};
use airtask_core::{ParamError, ParamReader, TaskContext, TaskError};
use aws_sdk_redshift::Client;
use aws_sdk_redshift::types::Tag;
use serde_json::Value;

/// The logger of the Redshift hook's lines.
pub(crate) const HOOK_LOGGER: &str =
    "airflow.task.hooks.airflow.providers.amazon.aws.hooks.redshift_cluster.RedshiftHook";

/// What `cluster_status` answers for a cluster that does not exist (the hook's value).
pub(crate) const NOT_FOUND: &str = "cluster_not_found";

/// How many times pause, resume and delete are sent while the cluster's state refuses them.
pub(crate) const STATE_ATTEMPTS: u32 = 10;

/// The time between those attempts.
pub(crate) const STATE_ATTEMPT_INTERVAL: Duration = Duration::from_secs(15);

/// The hook's `cluster_status`: DescribeClusters of `id`, its ClusterStatus, or
/// `cluster_not_found`.
pub(crate) async fn cluster_status(rs: &Client, id: &str) -> Result<String, TaskError> {
    match rs.describe_clusters().cluster_identifier(id).send().await {
        Ok(out) => Ok(out
            .clusters()
            .first()
            .and_then(|c| c.cluster_status())
            .unwrap_or("None")
            .to_owned()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_cluster_not_found_fault()) =>
        {
            Ok(NOT_FOUND.to_owned())
        }
        Err(e) => Err(airtask_aws::error::task_error(
            &format!("DescribeClusters {id}"),
            &e,
        )),
    }
}

/// The waiters on a cluster's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClusterWaiter {
    /// botocore's `cluster_available`: available; fails at deleting; a missing cluster is
    /// waited for.
    Available,
    /// botocore's `cluster_deleted`: gone; fails at creating or modifying.
    Deleted,
    /// The provider's `cluster_paused`: paused; fails at deleting.
    Paused,
    /// The provider's `cluster_resumed`: available; fails at deleting.
    Resumed,
}

impl ClusterWaiter {
    /// The waiter's name, for messages.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ClusterWaiter::Available => "cluster_available",
            ClusterWaiter::Deleted => "cluster_deleted",
            ClusterWaiter::Paused => "cluster_paused",
            ClusterWaiter::Resumed => "cluster_resumed",
        }
    }

    /// What the waiter makes of `status`: done, a terminal failure (`Err`), or pending.
    pub(crate) fn judge(self, id: &str, status: &str) -> Result<Poll<()>, TaskError> {
        let (success, failures): (&str, &[&str]) = match self {
            ClusterWaiter::Available | ClusterWaiter::Resumed => ("available", &["deleting"]),
            ClusterWaiter::Deleted => (NOT_FOUND, &["creating", "modifying"]),
            ClusterWaiter::Paused => ("paused", &["deleting"]),
        };
        if status == success {
            Ok(Poll::Done(()))
        } else if failures.contains(&status) {
            Err(TaskError::retryable(format!(
                "Redshift cluster {id}: waiter {} failed: the cluster is {status}, a terminal \
                 failure state for it",
                self.name()
            )))
        } else {
            Ok(Poll::Pending {
                state: status.to_owned(),
            })
        }
    }
}

/// Waits with `waiter` until the cluster `id` is where it should be.
///
/// # Errors
/// A terminal failure state, the attempts running out, or a DescribeClusters error.
pub(crate) async fn wait_cluster(
    ctx: &TaskContext,
    rs: &Client,
    id: &str,
    waiter: ClusterWaiter,
    settings: &WaitSettings,
) -> Result<(), TaskError> {
    wait::until_terminal(
        ctx,
        settings,
        &format!("Redshift cluster {id} ({})", waiter.name()),
        || async move {
            let status = cluster_status(rs, id).await?;
            waiter.judge(id, &status)
        },
    )
    .await
}

/// botocore's `snapshot_available`, as the provider calls it (with the cluster's identifier):
/// every snapshot of the cluster available; fails when one is failed or deleted.
///
/// # Errors
/// A terminal failure state, the attempts running out, or a DescribeClusterSnapshots error.
pub(crate) async fn wait_snapshots(
    ctx: &TaskContext,
    rs: &Client,
    cluster: &str,
    settings: &WaitSettings,
) -> Result<(), TaskError> {
    wait::until_terminal(
        ctx,
        settings,
        &format!("the snapshots of Redshift cluster {cluster} (snapshot_available)"),
        || async move { snapshots_poll(rs, cluster).await },
    )
    .await
}

/// One poll of `snapshot_available`.
pub(crate) async fn snapshots_poll(rs: &Client, cluster: &str) -> Result<Poll<()>, TaskError> {
    let out = rs
        .describe_cluster_snapshots()
        .cluster_identifier(cluster)
        .send()
        .await
        .map_err(|e| {
            airtask_aws::error::task_error(&format!("DescribeClusterSnapshots {cluster}"), &e)
        })?;
    let snaps: Vec<(&str, &str)> = out
        .snapshots()
        .iter()
        .map(|s| {
            (
                s.snapshot_identifier().unwrap_or_default(),
                s.status().unwrap_or_default(),
            )
        })
        .collect();
    if let Some((name, status)) = snaps
        .iter()
        .find(|(_, s)| *s == "failed" || *s == "deleted")
    {
        return Err(TaskError::retryable(format!(
            "Redshift cluster {cluster}: waiter snapshot_available failed: snapshot {name} is \
             {status}"
        )));
    }
    if !snaps.is_empty() && snaps.iter().all(|(_, s)| *s == "available") {
        return Ok(Poll::Done(()));
    }
    let state = snaps.iter().find(|(_, s)| *s != "available").map_or_else(
        || "no snapshots".to_owned(),
        |(n, s)| format!("snapshot {n} {s}"),
    );
    Ok(Poll::Pending { state })
}

/// A call the cluster's state refused (`InvalidClusterStateFault`), or another failure.
#[derive(Debug)]
pub(crate) enum CallError {
    /// The cluster's state refused the call: the provider tries again.
    InvalidState(TaskError),
    /// Any other failure.
    Other(TaskError),
}

/// Sends `call` up to [`STATE_ATTEMPTS`] times, [`STATE_ATTEMPT_INTERVAL`] apart, while the
/// cluster's state refuses it; `refused(remaining)` logs each refusal (the provider's error
/// line).
///
/// # Errors
/// The last refusal, or any other failure at once.
pub(crate) async fn while_state_refuses<F, Fut, L, LFut>(
    mut call: F,
    mut refused: L,
) -> Result<(), TaskError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<(), CallError>>,
    L: FnMut(u32) -> LFut,
    LFut: Future<Output = ()>,
{
    let mut remaining = STATE_ATTEMPTS;
    loop {
        match call().await {
            Ok(()) => return Ok(()),
            Err(CallError::Other(e)) => return Err(e),
            Err(CallError::InvalidState(e)) => {
                remaining -= 1;
                if remaining == 0 {
                    return Err(e);
                }
                refused(remaining).await;
                tokio::time::sleep(STATE_ATTEMPT_INTERVAL).await;
            }
        }
    }
}

/// The wait settings of an operator that names them `poll_interval` and `max_attempt(s)`.
pub(crate) fn wait_settings(
    p: &mut ParamReader<'_>,
    wait_for_completion: bool,
    deferrable: bool,
    delay: f64,
    attempts_name: &'static str,
    attempts: u32,
) -> Result<WaitSettings, ParamError> {
    Ok(WaitSettings {
        wait_for_completion,
        waiter_delay: Duration::from_secs_f64(p.seconds("poll_interval", delay)?),
        waiter_max_attempts: p.u32(attempts_name, 1..=u32::MAX)?.unwrap_or(attempts),
        deferrable,
    })
}

/// An optional list of strings (boto3 refuses anything else where the API takes a list).
pub(crate) fn str_list(
    p: &mut ParamReader<'_>,
    name: &'static str,
) -> Result<Option<Vec<String>>, ParamError> {
    let operator = p.operator();
    let Some(items) = p.list(name)? else {
        return Ok(None);
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(ParamError::at(
                name,
                format!(
                    "{operator} parameter `{name}` must be a list of strings; it holds {}",
                    airtask_core::params::describe(other)
                ),
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `tags`: a list of `{Key: ..., Value: ...}` mappings (boto3's Tag list).
pub(crate) fn tags(p: &mut ParamReader<'_>) -> Result<Option<Vec<Tag>>, ParamError> {
    let operator = p.operator();
    let Some(items) = p.list("tags")? else {
        return Ok(None);
    };
    let bad = |what: String| {
        ParamError::at(
            "tags",
            format!(
                "{operator} parameter `tags` must be a list of {{Key: ..., Value: ...}} \
                 mappings of strings; {what}"
            ),
        )
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let m = item.as_object().ok_or_else(|| {
                bad(format!(
                    "item {} is {}",
                    i + 1,
                    airtask_core::params::describe(item)
                ))
            })?;
            if let Some(k) = m.keys().find(|k| *k != "Key" && *k != "Value") {
                return Err(bad(format!("item {} has the unknown key `{k}`", i + 1)));
            }
            let text = |k: &str| match m.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!(
                    "item {} has `{k}` {}",
                    i + 1,
                    airtask_core::params::describe(other)
                ))),
            };
            Ok(Tag::builder()
                .set_key(text("Key")?)
                .set_value(text("Value")?)
                .build())
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_redshift::operation::describe_clusters::{
        DescribeClustersError, DescribeClustersOutput,
    };
    use aws_sdk_redshift::types::Cluster;
    use aws_sdk_redshift::types::error::ClusterNotFoundFault;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;

    #[test]
    fn waiters_judge_statuses_as_the_provider_s() {
        let done = Ok(Poll::Done(()));
        assert_eq!(ClusterWaiter::Available.judge("c", "available"), done);
        assert!(matches!(
            ClusterWaiter::Available.judge("c", NOT_FOUND),
            Ok(Poll::Pending { .. })
        ));
        let e = ClusterWaiter::Available.judge("c", "deleting").unwrap_err();
        assert_eq!(
            e.message,
            "Redshift cluster c: waiter cluster_available failed: the cluster is deleting, a \
             terminal failure state for it"
        );
        assert_eq!(ClusterWaiter::Deleted.judge("c", NOT_FOUND), done);
        assert!(ClusterWaiter::Deleted.judge("c", "modifying").is_err());
        assert!(ClusterWaiter::Deleted.judge("c", "creating").is_err());
        assert!(matches!(
            ClusterWaiter::Deleted.judge("c", "deleting"),
            Ok(Poll::Pending { .. })
        ));
        assert_eq!(ClusterWaiter::Paused.judge("c", "paused"), done);
        assert!(matches!(
            ClusterWaiter::Paused.judge("c", "pausing"),
            Ok(Poll::Pending { .. })
        ));
        assert!(ClusterWaiter::Resumed.judge("c", "deleting").is_err());
        assert_eq!(ClusterWaiter::Resumed.judge("c", "available"), done);
    }

    #[tokio::test]
    async fn a_missing_cluster_has_the_hook_s_status() {
        let missing = mock!(Client::describe_clusters).then_error(|| {
            DescribeClustersError::ClusterNotFoundFault(ClusterNotFoundFault::builder().build())
        });
        let found = mock!(Client::describe_clusters).then_output(|| {
            DescribeClustersOutput::builder()
                .clusters(Cluster::builder().cluster_status("paused").build())
                .build()
        });
        let rs = mock_client!(aws_sdk_redshift, RuleMode::Sequential, [&missing, &found]);
        assert_eq!(cluster_status(&rs, "c").await.unwrap(), NOT_FOUND);
        assert_eq!(cluster_status(&rs, "c").await.unwrap(), "paused");
    }

    #[tokio::test(start_paused = true)]
    async fn refused_calls_are_sent_again_fifteen_seconds_apart_ten_times_at_most() {
        let calls = Mutex::new(0u32);
        let lines = Arc::new(Mutex::new(Vec::new()));
        let t0 = tokio::time::Instant::now();
        let r = while_state_refuses(
            || {
                let mut n = calls.lock().unwrap();
                *n += 1;
                let ok = *n == 3;
                async move {
                    if ok {
                        Ok(())
                    } else {
                        Err(CallError::InvalidState(TaskError::fatal("refused")))
                    }
                }
            },
            |left| {
                lines.lock().unwrap().push(left);
                async {}
            },
        )
        .await;
        assert_eq!(r, Ok(()));
        assert_eq!(t0.elapsed(), Duration::from_secs(30));
        assert_eq!(*lines.lock().unwrap(), [9, 8]);
        *calls.lock().unwrap() = 100;
        let t0 = tokio::time::Instant::now();
        let r = while_state_refuses(
            || async { Err(CallError::InvalidState(TaskError::fatal("refused"))) },
            |_| async {},
        )
        .await;
        assert_eq!(r, Err(TaskError::fatal("refused")));
        assert_eq!(t0.elapsed(), Duration::from_secs(9 * 15));
        let r = while_state_refuses(
            || async { Err(CallError::Other(TaskError::fatal("denied"))) },
            |_| async {},
        )
        .await;
        assert_eq!(r, Err(TaskError::fatal("denied")));
    }
}
