"""RDS: the failed and long-running states stock moto 5.2.5 never reaches.

What stock moto does (../shared/reference/local-aws-families.md):
- a DB instance is `available` as soon as CreateDBInstance answers; a DB snapshot and a DB
  cluster snapshot are `available` as soon as Create/Copy answers; none ever fails;
- a snapshot export task is `complete` as soon as StartExportTask answers: it is never
  `in_progress` and never `failed`, so an export can be neither cancelled while it runs nor
  fail.

What this patch changes (each a state AWS itself has, selected by the resource's name):
- a DB instance whose identifier contains `moto-failed` is `failed` once created;
- a DB snapshot or DB cluster snapshot whose identifier contains `moto-failed` is `failed`
  once created or copied;
- an export task whose identifier contains `moto-failed` is `failed`, with FailureCause
  "moto: export failed (moto-failed in the identifier)"; one whose identifier contains
  `moto-running` stays `in_progress` until CancelExportTask (which makes it `canceled`, as in
  stock moto).
Resources without these markers behave exactly as in stock moto. Every function here wraps
the stock one and calls it first (another patch may wrap the same backend, e.g. the cluster
start/stop functions, which this one leaves alone).

Tests that need it: tests/rds.rs (creation and snapshot waits ending at a failed state, the
export task operator and sensor on a failed export, cancelling a running export).
"""

from moto.rds.models import RDSBackend

_FAILED = "moto-failed"
_RUNNING = "moto-running"
_EXPORT_FAILURE = "moto: export failed (moto-failed in the identifier)"


def _wrap_create_db_instance(stock):
    def create_db_instance(self, db_kwargs, *args, **kwargs):
        database = stock(self, db_kwargs, *args, **kwargs)
        if _FAILED in (database.db_instance_identifier or ""):
            database.status = "failed"
        return database

    return create_db_instance


def _wrap_snapshot(stock, position, keyword):
    """Wraps a snapshot Create/Copy whose new identifier is argument `position`/`keyword`."""

    def create(self, *args, **kwargs):
        snapshot = stock(self, *args, **kwargs)
        name = kwargs.get(keyword, args[position] if len(args) > position else "")
        if _FAILED in (name or ""):
            snapshot.status = "failed"
        return snapshot

    return create


def _wrap_start_export_task(stock):
    def start_export_task(self, kwargs, *args, **more):
        task = stock(self, kwargs, *args, **more)
        name = task.export_task_identifier or ""
        if _FAILED in name:
            task.status = "failed"
            task.failure_cause = _EXPORT_FAILURE
        elif _RUNNING in name:
            task.status = "in_progress"
        return task

    return start_export_task


def apply() -> None:
    """Wraps the stock backend functions (see the module documentation)."""
    RDSBackend.create_db_instance = _wrap_create_db_instance(RDSBackend.create_db_instance)
    RDSBackend.create_db_snapshot = _wrap_snapshot(
        RDSBackend.create_db_snapshot, 1, "db_snapshot_identifier"
    )
    RDSBackend.copy_db_snapshot = _wrap_snapshot(
        RDSBackend.copy_db_snapshot, 1, "target_db_snapshot_identifier"
    )
    RDSBackend.create_db_cluster_snapshot = _wrap_snapshot(
        RDSBackend.create_db_cluster_snapshot, 1, "db_cluster_snapshot_identifier"
    )
    RDSBackend.copy_db_cluster_snapshot = _wrap_snapshot(
        RDSBackend.copy_db_cluster_snapshot, 1, "target_db_cluster_snapshot_identifier"
    )
    RDSBackend.start_export_task = _wrap_start_export_task(RDSBackend.start_export_task)
