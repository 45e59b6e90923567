"""Redshift clusters and snapshots: the transitional states stock moto 5.2.5 skips.

What stock moto does:
- CreateCluster answers ClusterStatus "creating", but every DescribeClusters after it says
  "available"; PauseCluster and ResumeCluster make the cluster "paused" / "available" at once;
  CreateClusterSnapshot makes the snapshot "available" at once. A waiter (cluster_available,
  cluster_paused, cluster_resumed, snapshot_available) therefore never sees a second poll, and no
  wait can run out.

What this patch changes (AWS's own transitional states):
- after CreateCluster, PauseCluster and ResumeCluster, the next DescribeClusters of that cluster
  answers "creating", "pausing" or "resuming" once, then the stock status;
- after CreateClusterSnapshot (manual), the next DescribeClusterSnapshots that lists the snapshot
  answers it "creating" once, then "available";
- a cluster or snapshot whose identifier contains `moto-stuck-<state>` (`moto-stuck-creating`,
  `moto-stuck-pausing`, `moto-stuck-resuming`) stays in that transitional state (for the
  waiters' "max attempts reached").
The stored status is never changed: only what the DescribeClusters / DescribeClusterSnapshots
responses say (the backend's own lookups, which other calls make, see the stock status). The
wrapped functions are called as they were when the patch was applied.

Tests that need it: tests/redshift_cluster.rs (waits that poll more than once, and waits that run
out of attempts).
"""

import copy

from moto.redshift.models import RedshiftBackend
from moto.redshift.responses import RedshiftResponse

_STUCK = "moto-stuck-"
# Attribute on a moto Cluster / Snapshot: [transitional status, describes left (None: forever)].
_ATTR = "_airtask_transition"


def _mark(obj, identifier: str, status: str) -> None:
    setattr(obj, _ATTR, [status, None if _STUCK + status in identifier else 1])


def _shown(obj):
    """The object as the next describe shows it (a copy in its transitional status)."""
    pending = obj.__dict__.get(_ATTR)
    if not pending:
        return obj
    status, left = pending
    if left is not None:
        if left <= 0:
            obj.__dict__.pop(_ATTR, None)
            return obj
        pending[1] = left - 1
    shown = copy.copy(obj)
    shown.__dict__.pop(_ATTR, None)
    shown.status = status
    return shown


def _wrap_transition(stock, status):
    def wrapped(self, *args, **kwargs):
        cluster = stock(self, *args, **kwargs)
        _mark(cluster, cluster.cluster_identifier, status)
        return cluster

    return wrapped


def _wrap_describe(stock, key):
    """Wraps a response method whose ActionResult lists objects under `key`."""

    def describe(self, *args, **kwargs):
        answer = stock(self, *args, **kwargs)
        result = getattr(answer, "result", None)
        if isinstance(result, dict) and isinstance(result.get(key), list):
            result[key] = [_shown(o) for o in result[key]]
        return answer

    return describe


def _wrap_create_snapshot(stock):
    def create_cluster_snapshot(self, *args, **kwargs):
        snapshot = stock(self, *args, **kwargs)
        if snapshot.snapshot_type == "manual":
            _mark(snapshot, snapshot.snapshot_identifier, "creating")
        return snapshot

    return create_cluster_snapshot


def apply() -> None:
    """Installs the transitional states described above."""
    RedshiftBackend.create_cluster = _wrap_transition(RedshiftBackend.create_cluster, "creating")
    RedshiftBackend.pause_cluster = _wrap_transition(RedshiftBackend.pause_cluster, "pausing")
    RedshiftBackend.resume_cluster = _wrap_transition(RedshiftBackend.resume_cluster, "resuming")
    RedshiftResponse.describe_clusters = _wrap_describe(
        RedshiftResponse.describe_clusters, "Clusters"
    )
    RedshiftBackend.create_cluster_snapshot = _wrap_create_snapshot(
        RedshiftBackend.create_cluster_snapshot
    )
    RedshiftResponse.describe_cluster_snapshots = _wrap_describe(
        RedshiftResponse.describe_cluster_snapshots, "Snapshots"
    )
