"""Neptune DB clusters (moto's RDS backend): the transitional and error states stock moto 5.2.5
lacks.

What stock moto does:
- StartDBCluster and StopDBCluster make the cluster "available" / "stopped" at once, so the
  provider's cluster_available / cluster_stopped waiters never see a second poll and no wait can
  run out;
- no cluster is ever in one of the error states Neptune has (migration-failed,
  inaccessible-encryption-credentials...).

What this patch changes, for clusters of engine `neptune` only (every other RDS cluster behaves
exactly as before):
- after StartDBCluster / StopDBCluster, the next DescribeDBClusters that lists the cluster
  answers "starting" / "stopping" once, then the stock status;
- a cluster whose identifier contains `moto-stuck-starting` / `moto-stuck-stopping` stays in
  that state after the call (for the waiters' "max attempts reached");
- a cluster whose identifier contains `moto-migration-failed` is answered "migration-failed".
The stored status is never changed: only what the DescribeDBClusters response says (the
backend's own lookups see the stock status). The wrapped functions are called as they were when the patch was applied (another patch of the RDS backend
may wrap them too).

Tests that need it: tests/neptune.rs.
"""

import copy

from moto.rds.models import RDSBackend
from moto.rds.responses import RDSResponse

_STUCK = "moto-stuck-"
_MIGRATION_FAILED = "moto-migration-failed"
# Attribute on a moto DBCluster: [transitional status, describes left (None: forever)].
_ATTR = "_airtask_transition"


def _is_neptune(cluster) -> bool:
    return getattr(cluster, "engine", None) == "neptune"


def _shown(cluster):
    """The cluster as the next describe shows it."""
    if not _is_neptune(cluster):
        return cluster
    identifier = getattr(cluster, "db_cluster_identifier", "") or ""
    status = None
    pending = cluster.__dict__.get(_ATTR)
    if pending:
        status, left = pending
        if left is not None:
            if left <= 0:
                cluster.__dict__.pop(_ATTR, None)
                status = None
            else:
                pending[1] = left - 1
    if _MIGRATION_FAILED in identifier:
        status = "migration-failed"
    if status is None:
        return cluster
    shown = copy.copy(cluster)
    shown.__dict__.pop(_ATTR, None)
    shown.status = status
    return shown


def _wrap_transition(stock, status):
    def wrapped(self, cluster_identifier, *args, **kwargs):
        answer = stock(self, cluster_identifier, *args, **kwargs)
        cluster = self.clusters.get(cluster_identifier)
        if cluster is not None and _is_neptune(cluster):
            left = None if _STUCK + status in cluster_identifier else 1
            cluster.__dict__[_ATTR] = [status, left]
        return answer

    return wrapped


def _wrap_describe(stock):
    def describe_db_clusters(self, *args, **kwargs):
        answer = stock(self, *args, **kwargs)
        result = getattr(answer, "result", None)
        if isinstance(result, dict) and isinstance(result.get("DBClusters"), list):
            result["DBClusters"] = [_shown(c) for c in result["DBClusters"]]
        return answer

    return describe_db_clusters


def apply() -> None:
    """Installs the Neptune states described above."""
    RDSBackend.start_db_cluster = _wrap_transition(RDSBackend.start_db_cluster, "starting")
    RDSBackend.stop_db_cluster = _wrap_transition(RDSBackend.stop_db_cluster, "stopping")
    RDSResponse.describe_db_clusters = _wrap_describe(RDSResponse.describe_db_clusters)
