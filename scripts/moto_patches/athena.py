"""Athena query executions: the failure, long-running and not-found paths stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- a query execution only walks QUEUED -> RUNNING -> SUCCEEDED, driven by the global state manager
  `athena::execution` (default `immediate`: SUCCEEDED at once); FAILED never happens and
  GetQueryExecution never carries Status.StateChangeReason;
- a query can be kept running only by changing the global transition, which every other test on
  the same endpoint would see;
- GetQueryExecution and StopQueryExecution of an unknown id answer 500 (a KeyError).

What this patch changes (each an AWS path, selected by the query text):
- a query whose text contains `moto:FAILED` is FAILED from its first read, with
  Status.StateChangeReason "moto: query failed (moto:FAILED in the query)";
- a query whose text contains `moto:RUNNING` stays RUNNING until StopQueryExecution;
- a stopped query is CANCELLED (as in stock moto) and carries StateChangeReason
  "Query cancelled by user";
- GetQueryExecution and StopQueryExecution of an unknown id answer 400 InvalidRequestException
  "QueryExecution <id> was not found", as Athena does.
Queries without these markers behave exactly as in stock moto.

Tests that need it: tests/athena.rs (AthenaOperator FAILED with its reason, SIGTERM -> on_kill ->
StopQueryExecution -> CANCELLED, AthenaSensor on a failed and an unknown query).
"""

import json

from moto.core.exceptions import JsonRESTError

from moto.athena.models import AthenaBackend, Execution
from moto.athena.responses import AthenaResponse

_stock_status = Execution.status
_stock_get = AthenaBackend.get_query_execution
_stock_stop = AthenaBackend.stop_query_execution
_stock_get_response = AthenaResponse.get_query_execution

_FAILED_REASON = "moto: query failed (moto:FAILED in the query)"
_CANCELLED_REASON = "Query cancelled by user"


def _status(self: Execution):
    if self._status == "CANCELLED":
        return "CANCELLED"
    query = self.query or ""
    if "moto:FAILED" in query:
        return "FAILED"
    if "moto:RUNNING" in query:
        return "RUNNING"
    return _stock_status.fget(self)


def _not_found(exec_id: str) -> JsonRESTError:
    error = JsonRESTError(
        "InvalidRequestException", f"QueryExecution {exec_id} was not found"
    )
    error.code = 400
    return error


def _get_query_execution(self: AthenaBackend, exec_id: str) -> Execution:
    if exec_id not in self.executions:
        raise _not_found(exec_id)
    return _stock_get(self, exec_id)


def _stop_query_execution(self: AthenaBackend, exec_id: str) -> None:
    if exec_id not in self.executions:
        raise _not_found(exec_id)
    _stock_stop(self, exec_id)


def _get_query_execution_response(self: AthenaResponse) -> str:
    body = json.loads(_stock_get_response(self))
    status = body["QueryExecution"]["Status"]
    if status["State"] == "FAILED":
        status["StateChangeReason"] = _FAILED_REASON
    elif status["State"] == "CANCELLED":
        status["StateChangeReason"] = _CANCELLED_REASON
    return json.dumps(body)


def apply() -> None:
    """Installs the Athena paths described above."""
    Execution.status = property(_status, _stock_status.fset)
    AthenaBackend.get_query_execution = _get_query_execution
    AthenaBackend.stop_query_execution = _stop_query_execution
    AthenaResponse.get_query_execution = _get_query_execution_response
