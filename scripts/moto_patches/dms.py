"""DMS replication tasks: the status transitions and failures stock moto 5.2.5 lacks.

What stock moto does:
- CreateReplicationTask leaves the task `creating` for good, so the `replication_task_ready`
  waiter the provider's DmsCreateTaskOperator waits with never ends;
- StartReplicationTask makes the task `running` for good: a full-load task never stops by
  itself, and no task ever fails (DescribeReplicationTasks never carries LastFailureMessage
  or StopReason);
- DescribeReplicationTasks with a filter that matches nothing answers an empty list, where DMS
  answers ResourceNotFoundFault "No Tasks found matching provided filters" (which the
  `replication_task_deleted` waiter takes as success);
- a task's dates are ISO 8601 strings (and null when unset), which no AWS SDK reads: the JSON
  protocol sends epoch seconds.

What this patch changes (each an AWS path, selected by the task identifier):
- a `creating` task is `ready` when it is next read (DMS takes a moment; the answer of
  CreateReplicationTask still says `creating`);
- a task whose identifier contains `moto-create-fails` is `failed` instead, with
  LastFailureMessage "moto: task creation failed (moto-create-fails in the task id)";
- a started task whose identifier contains `moto-completes` is read `running` once, then
  `stopped` with StopReason "Stop Reason FULL_LOAD_ONLY_FINISHED" (a full load that finished);
- a started task whose identifier contains `moto-fails` is read `failed`, with
  LastFailureMessage "moto: replication failed (moto-fails in the task id)";
- DescribeReplicationTasks with filters that match no task answers 400 ResourceNotFoundFault;
- a task's dates are epoch seconds, and unset ones are left out.
Tasks without these markers behave as in stock moto, apart from `creating` -> `ready`.

Tests that need it: tests/dms.rs (DmsCreateTaskOperator success and failure,
DmsDeleteTaskOperator's wait, DmsTaskCompletedSensor met, failed and not found).
"""

from datetime import datetime, timezone

from moto.core.utils import utcnow
from moto.dms.exceptions import ResourceNotFoundFault
from moto.dms.models import DatabaseMigrationServiceBackend, FakeReplicationTask

_stock_describe = DatabaseMigrationServiceBackend.describe_replication_tasks
_stock_start = FakeReplicationTask.start
_stock_to_dict = FakeReplicationTask.to_dict

_CREATE_FAILED = "moto: task creation failed (moto-create-fails in the task id)"
_RUN_FAILED = "moto: replication failed (moto-fails in the task id)"
_FULL_LOAD_DONE = "Stop Reason FULL_LOAD_ONLY_FINISHED"


def _advance(task: FakeReplicationTask) -> None:
    """Moves a task one step, as DMS would between two reads."""
    if task.status == "creating":
        if "moto-create-fails" in task.id:
            task.status = "failed"
            task.moto_failure = _CREATE_FAILED
        else:
            task.status = "ready"
    elif task.status == "running":
        if "moto-fails" in task.id:
            task.status = "failed"
            task.moto_failure = _RUN_FAILED
        elif "moto-completes" in task.id:
            if getattr(task, "moto_seen_running", False):
                task.status = "stopped"
                task.stop_date = utcnow()
                task.moto_stop_reason = _FULL_LOAD_DONE
            else:
                task.moto_seen_running = True


def _describe_replication_tasks(self, filters, max_records):
    tasks = list(_stock_describe(self, filters=filters, max_records=max_records))
    for task in tasks:
        _advance(task)
    if filters and not tasks:
        raise ResourceNotFoundFault("No Tasks found matching provided filters")
    return tasks


def _start(self: FakeReplicationTask) -> FakeReplicationTask:
    self.moto_seen_running = False
    self.moto_failure = None
    self.moto_stop_reason = None
    return _stock_start(self)


_TASK_DATES = ("ReplicationTaskCreationDate", "ReplicationTaskStartDate")
_STATS_DATES = (
    "FreshStartDate",
    "StartDate",
    "StopDate",
    "FullLoadStartDate",
    "FullLoadFinishDate",
)


def _epoch(body: dict, keys: tuple) -> None:
    """Turns the ISO 8601 dates of `body` into epoch seconds; drops the unset ones."""
    for key in keys:
        value = body.get(key)
        if value is None:
            body.pop(key, None)
        elif isinstance(value, str):
            when = datetime.fromisoformat(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=timezone.utc)
            body[key] = when.timestamp()


def _to_dict(self: FakeReplicationTask) -> dict:
    body = _stock_to_dict(self)
    _epoch(body, _TASK_DATES)
    if isinstance(body.get("ReplicationTaskStats"), dict):
        _epoch(body["ReplicationTaskStats"], _STATS_DATES)
    failure = getattr(self, "moto_failure", None)
    if failure:
        body["LastFailureMessage"] = failure
    reason = getattr(self, "moto_stop_reason", None)
    if reason:
        body["StopReason"] = reason
    return body


def apply() -> None:
    """Installs the DMS paths described above."""
    DatabaseMigrationServiceBackend.describe_replication_tasks = _describe_replication_tasks
    FakeReplicationTask.start = _start
    FakeReplicationTask.to_dict = _to_dict
