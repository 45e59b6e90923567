"""DataSync task executions: the failure and long-running paths stock moto 5.2.5 lacks.

What stock moto does:
- an execution walks INITIALIZING -> PREPARING -> TRANSFERRING -> VERIFYING -> SUCCESS, one
  step per DescribeTaskExecution; it never fails, and it cannot be kept running;
- CancelTaskExecution makes it ERROR, and DescribeTaskExecution never carries a Result (no
  ErrorCode or ErrorDetail).

What this patch changes (each an AWS path, selected by the task's Name):
- an execution of a task whose Name contains `moto-error` is ERROR from its second read, with
  Result ErrorCode "moto" and ErrorDetail "moto: transfer failed (moto-error in the task name)";
- an execution of a task whose Name contains `moto-running` stays TRANSFERRING until it is
  cancelled;
- a cancelled execution reads ERROR with Result ErrorCode "OpCancelled";
- when an execution ends in ERROR, its task is AVAILABLE again (as after SUCCESS in stock moto).
Executions of other tasks behave exactly as in stock moto.

Tests that need it: tests/datasync.rs (DataSyncOperator on a failed execution, past
max_iterations, and SIGTERM -> on_kill -> CancelTaskExecution).
"""

import json

from moto.datasync.models import DataSyncBackend, TaskExecution
from moto.datasync.responses import DataSyncResponse

_stock_start = DataSyncBackend.start_task_execution
_stock_iterate = TaskExecution.iterate_status
_stock_cancel = TaskExecution.cancel
_stock_describe_response = DataSyncResponse.describe_task_execution

_FAILED = "moto: transfer failed (moto-error in the task name)"


def _start_task_execution(self: DataSyncBackend, task_arn: str) -> str:
    arn = _stock_start(self, task_arn)
    name = self.tasks[task_arn].name or ""
    execution = self.task_executions[arn]
    if "moto-error" in name:
        execution.moto_mode = "error"
    elif "moto-running" in name:
        execution.moto_mode = "running"
    return arn


def _iterate_status(self: TaskExecution) -> None:
    mode = getattr(self, "moto_mode", None)
    if mode == "error" and self.status in self.TASK_EXECUTION_INTERMEDIATE_STATES:
        self.status = "ERROR"
        return
    if mode == "running" and self.status == "TRANSFERRING":
        return
    _stock_iterate(self)


def _cancel(self: TaskExecution) -> None:
    _stock_cancel(self)
    self.moto_cancelled = True


def _describe_task_execution(self: DataSyncResponse) -> str:
    body = json.loads(_stock_describe_response(self))
    if body.get("Status") != "ERROR":
        return json.dumps(body)
    execution = self.datasync_backend.task_executions[body["TaskExecutionArn"]]
    if getattr(execution, "moto_cancelled", False):
        code, detail = "OpCancelled", "Task execution was cancelled"
    else:
        code, detail = "moto", _FAILED
    body["Result"] = {
        "PrepareStatus": "SUCCESS",
        "TransferStatus": "ERROR",
        "VerifyStatus": "PENDING",
        "ErrorCode": code,
        "ErrorDetail": detail,
    }
    task = self.datasync_backend.tasks.get(execution.task_arn)
    if task is not None:
        task.status = "AVAILABLE"
        task.current_task_execution_arn = None
    return json.dumps(body)


def apply() -> None:
    """Installs the DataSync paths described above."""
    DataSyncBackend.start_task_execution = _start_task_execution
    TaskExecution.iterate_status = _iterate_status
    TaskExecution.cancel = _cancel
    DataSyncResponse.describe_task_execution = _describe_task_execution
