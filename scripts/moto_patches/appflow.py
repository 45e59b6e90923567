"""Amazon AppFlow: a minimal fake, which stock moto 5.2.5 lacks (no AppFlow backend at all: the
server answers AppFlow's requests with an error).

This patch adds an `appflow` backend to moto (restJson, `POST /<operation-path>`, parsed and
answered through botocore's AppFlow model, as moto's own services are) with the operations the
airtask AppFlow operators call, and CreateFlow to set a flow up:
- CreateFlow stores the flow as given (ConflictException for a taken name); its status is Active
  for an OnDemand trigger, Draft for a Scheduled or Event one. Nothing checks connector profiles,
  buckets or the tasks' semantics;
- DescribeFlow answers the stored flow (ResourceNotFoundException, 404, for an unknown one);
- UpdateFlow replaces the flow's description, trigger, source, destinations and tasks with the
  request's, as AppFlow does (the next DescribeFlow shows exactly what the update sent);
- StartFlow of an OnDemand flow starts an execution (InProgress) and answers its executionId;
  of a Scheduled or Event flow it activates the flow and answers no executionId, as AppFlow does;
- DescribeFlowExecutionRecords lists the flow's executions, newest first, `maxResults` a page
  (1-100, default 100) with a `nextToken`. An execution is a moto managed state (model
  `appflow::execution`, default `manual` times 1): each listing shows it, then advances it, so
  the first listing after StartFlow shows InProgress and the next one the end state. It ends
  Successful with `recordsProcessed` 25 in its executionResult, or, selected by the flow name:
  `moto-no-records` gives Successful with `recordsProcessed` 0; `moto-error` gives Error with
  errorInfo.executionMessage. An InProgress execution has no executionResult yet.

Tests that need it: tests/appflow.rs (the AppFlow run operators, their filter updates, a failed
run, and AppflowRecordsShortCircuitOperator in a real `airtask run`).
"""

import re
import sys
import types
from datetime import datetime, timezone

from moto import backend_index
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_api import state_manager
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.managed_state_model import ManagedState

_MODEL = "appflow::execution"
_RECORDS = 25
_ERROR_MESSAGE = "moto: the flow run failed (moto-error in the flow name)"


class _NotFound(ServiceException):
    code = "ResourceNotFoundException"


class _Conflict(ServiceException):
    code = "ConflictException"


class _Invalid(ServiceException):
    code = "ValidationException"


def _now():
    return datetime.now(timezone.utc)


class _Execution(ManagedState):
    """One run of an on-demand flow; the flow's name picks how it ends."""

    def __init__(self, flow_name):
        final = "Error" if "moto-error" in flow_name else "Successful"
        super().__init__(model_name=_MODEL, transitions=[("InProgress", final)])
        self.execution_id = str(mock_random.uuid4())
        self.flow_name = flow_name
        self.started_at = _now()
        self.ended_at = None

    def record(self):
        """The ExecutionRecord as a listing shows it; the listing then advances the run."""
        status = self.status
        self.advance()
        answer = {
            "executionId": self.execution_id,
            "executionStatus": status,
            "startedAt": self.started_at,
            "lastUpdatedAt": self.ended_at or _now(),
            "dataPullStartTime": self.started_at,
        }
        if status == "InProgress":
            return answer
        if self.ended_at is None:
            self.ended_at = _now()
            answer["lastUpdatedAt"] = self.ended_at
        answer["dataPullEndTime"] = self.ended_at
        if status == "Error":
            answer["executionResult"] = {
                "errorInfo": {"putFailuresCount": 0, "executionMessage": _ERROR_MESSAGE},
                "bytesProcessed": 0,
                "bytesWritten": 0,
                "recordsProcessed": 0,
            }
        else:
            records = 0 if "moto-no-records" in self.flow_name else _RECORDS
            answer["executionResult"] = {
                "bytesProcessed": records * 100,
                "bytesWritten": records * 100,
                "recordsProcessed": records,
                "numParallelProcesses": 1,
                "maxPageSize": 2000,
            }
        return answer


# The stand-in for a moto service module: `moto.appflow`, with its backends and URLs.
_module = types.ModuleType("moto.appflow")


class AppFlowBackend(BaseBackend):
    """The flows and their executions of one account and region."""

    def __init__(self, region_name, account_id):
        super().__init__(region_name, account_id)
        self.flows = {}
        self.executions = {}

    @property
    def _url_module(self):
        return _module

    def flow(self, name):
        found = self.flows.get(name)
        if found is None:
            raise _NotFound(f"Flow {name} does not exist in account {self.account_id}")
        return found


def _backend(response):
    return _module.appflow_backends[response.current_account][response.region]


_FLOW_FIELDS = ("description", "triggerConfig", "sourceFlowConfig", "destinationFlowConfigList", "tasks")


class AppFlowResponse(BaseResponse):
    """AppFlow's restJson operations (the paths of botocore's model)."""

    def __init__(self):
        super().__init__(service_name="appflow")
        self.automated_parameter_parsing = True

    def create_flow(self):
        backend = _backend(self)
        name = self._get_param("flowName")
        if name in backend.flows:
            raise _Conflict(f"Flow {name} already exists")
        trigger = self._get_param("triggerConfig") or {}
        on_demand = trigger.get("triggerType") == "OnDemand"
        flow = {
            "flowArn": f"arn:{backend.partition}:appflow:{backend.region_name}:{backend.account_id}:flow/{name}",
            "flowName": name,
            "flowStatus": "Active" if on_demand else "Draft",
            "createdAt": _now(),
            "lastUpdatedAt": _now(),
            "tags": self._get_param("tags") or {},
            "schemaVersion": 1,
        }
        for key in _FLOW_FIELDS:
            value = self._get_param(key)
            if value is not None:
                flow[key] = value
        backend.flows[name] = flow
        return ActionResult({"flowArn": flow["flowArn"], "flowStatus": flow["flowStatus"]})

    def describe_flow(self):
        return ActionResult(_backend(self).flow(self._get_param("flowName")))

    def update_flow(self):
        flow = _backend(self).flow(self._get_param("flowName"))
        for key in _FLOW_FIELDS:
            value = self._get_param(key)
            if value is None:
                flow.pop(key, None)
            else:
                flow[key] = value
        flow["lastUpdatedAt"] = _now()
        return ActionResult({"flowStatus": flow["flowStatus"]})

    def start_flow(self):
        backend = _backend(self)
        name = self._get_param("flowName")
        flow = backend.flow(name)
        answer = {"flowArn": flow["flowArn"]}
        if (flow.get("triggerConfig") or {}).get("triggerType") != "OnDemand":
            flow["flowStatus"] = "Active"
        else:
            execution = _Execution(name)
            backend.executions.setdefault(name, []).insert(0, execution)
            answer["executionId"] = execution.execution_id
        answer["flowStatus"] = flow["flowStatus"]
        return ActionResult(answer)

    def describe_flow_execution_records(self):
        backend = _backend(self)
        name = self._get_param("flowName")
        backend.flow(name)
        size = self._get_param("maxResults") or 100
        if not 1 <= size <= 100:
            raise _Invalid("maxResults must be between 1 and 100")
        token = self._get_param("nextToken")
        start = 0
        if token:
            if not token.isdigit():
                raise _Invalid(f"Invalid nextToken {token}")
            start = int(token)
        executions = backend.executions.get(name, [])
        page = executions[start:start + size]
        answer = {"flowExecutions": [e.record() for e in page]}
        if start + size < len(executions):
            answer["nextToken"] = str(start + size)
        return ActionResult(answer)


_module.url_bases = [r"https?://appflow\.(.+)\.amazonaws\.com"]
_module.url_paths = {
    "{0}/" + path + "$": AppFlowResponse.dispatch
    for path in (
        "create-flow",
        "describe-flow",
        "update-flow",
        "start-flow",
        "describe-flow-execution-records",
    )
}
_module.appflow_backends = BackendDict(AppFlowBackend, "appflow")


def apply() -> None:
    """Registers the AppFlow backend with moto's server."""
    sys.modules["moto.appflow"] = _module
    if not any(name == "appflow" for name, _ in backend_index.backend_url_patterns):
        backend_index.backend_url_patterns.append(("appflow", re.compile(_module.url_bases[0])))
    state_manager.register_default_transition(_MODEL, transition={"progression": "manual", "times": 1})
