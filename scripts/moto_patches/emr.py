"""EMR and EMR on EKS: the states and the API stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- a cluster is WAITING as soon as RunJobFlow answers (TERMINATED when it has no steps and
  KeepJobFlowAliveWhenNoSteps is false); it never fails (no TERMINATED_WITH_ERRORS) and is
  never seen STARTING;
- a step stays RUNNING (the first) or PENDING (the others) forever; DescribeStep of an unknown
  step answers an empty Step;
- notebook executions do not exist: StartNotebookExecution, DescribeNotebookExecution and
  StopNotebookExecution are not implemented;
- an EMR on EKS job run stays RUNNING forever (only CancelJobRun ends it).

What this patch changes (each a state or an API AWS itself has, selected by a name):
- a cluster whose Name contains `moto-failed` is TERMINATED_WITH_ERRORS once created, with
  StateChangeReason Code BOOTSTRAP_FAILURE; one whose Name contains `moto-starting` stays
  STARTING until it is terminated;
- a step is COMPLETED at the second DescribeStep of it (the first sees it RUNNING or PENDING);
  one whose Name contains `moto-failed` is FAILED then, with FailureDetails; one whose Name
  contains `moto-running` stays RUNNING; DescribeStep of an unknown step is
  InvalidRequestException;
- notebook executions: StartNotebookExecution (the cluster of ExecutionEngine.Id must exist),
  DescribeNotebookExecution (each describe advances STARTING, RUNNING, FINISHED; a
  RelativePath containing `moto-failed` ends FAILED with a LastStateChangeReason, one
  containing `moto-running` stays RUNNING) and StopNotebookExecution (STOPPED);
- an EMR on EKS job run is COMPLETED at the second DescribeJobRun of it; one whose name
  contains `moto-failed` is FAILED then (failureReason USER_ERROR, stateDetails); one whose name
  contains `moto-running` stays RUNNING until cancelled.
Everything without these markers behaves as in stock moto, apart from the step, notebook and
job run progressions above.

Tests that need it: tests/emr.rs.
"""

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.emr.exceptions import InvalidRequestException
from moto.emr.models import Cluster, ElasticMapReduceBackend, Step
from moto.emr.responses import ElasticMapReduceResponse
from moto.emr.utils import random_id
from moto.emrcontainers.models import EMRContainersBackend

_FAILED = "moto-failed"
_RUNNING = "moto-running"
_STARTING = "moto-starting"

_stock_run_job_flow = ElasticMapReduceBackend.run_job_flow
_stock_cluster_status = Cluster.status
_stock_describe_step = ElasticMapReduceBackend.describe_step
_stock_step_status = Step.status
_stock_describe_job_run = EMRContainersBackend.describe_job_run


def _run_job_flow(self, **kwargs):
    cluster = _stock_run_job_flow(self, **kwargs)
    name = cluster.name or ""
    if _FAILED in name:
        cluster.state = "TERMINATED_WITH_ERRORS"
        cluster.end_datetime = utcnow()
        cluster.last_state_change_reason = "moto: bootstrap failed (moto-failed in the name)"
        cluster.moto_reason_code = "BOOTSTRAP_FAILURE"
    elif _STARTING in name:
        cluster.state = "STARTING"
    return cluster


def _cluster_status(self):
    status = _stock_cluster_status.fget(self)
    code = getattr(self, "moto_reason_code", None)
    if code:
        status["StateChangeReason"]["Code"] = code
    return status


def _describe_step(self, cluster_id, step_id):
    self.describe_cluster(cluster_id)
    step = _stock_describe_step(self, cluster_id, step_id)
    if step is None:
        raise InvalidRequestException(f"Step id '{step_id}' is not valid.")
    polls = getattr(step, "moto_polls", 0)
    step.moto_polls = polls + 1
    if polls >= 1 and step.state in ("PENDING", "RUNNING") and _RUNNING not in step.name:
        step.end_date_time = utcnow()
        if _FAILED in step.name:
            step.state = "FAILED"
            step.moto_failure = {
                "Reason": "moto: step failed",
                "Message": "moto-failed in the step name",
                "LogFile": "s3://moto-logs/steps/stderr.gz",
            }
        else:
            step.state = "COMPLETED"
    return step


def _step_status(self):
    status = _stock_step_status.fget(self)
    failure = getattr(self, "moto_failure", None)
    if failure:
        status["FailureDetails"] = failure
    return status


def _notebooks(backend):
    if not hasattr(backend, "moto_notebook_executions"):
        backend.moto_notebook_executions = {}
    return backend.moto_notebook_executions


def _notebook(backend, execution_id):
    execution = _notebooks(backend).get(execution_id)
    if execution is None:
        raise InvalidRequestException(
            f"Notebook execution id '{execution_id}' is not valid."
        )
    return execution


def _start_notebook_execution(self):
    engine = self._get_param("ExecutionEngine") or {}
    cluster_id = engine.get("Id", "")
    self.backend.describe_cluster(cluster_id)
    execution_id = "ex-" + random_id(size=25)
    now = utcnow()
    _notebooks(self.backend)[execution_id] = {
        "NotebookExecutionId": execution_id,
        "EditorId": self._get_param("EditorId"),
        "RelativePath": self._get_param("RelativePath") or "",
        "ExecutionEngine": {
            "Id": cluster_id,
            "Type": engine.get("Type", "EMR"),
            "MasterInstanceSecurityGroupId": engine.get("MasterInstanceSecurityGroupId", ""),
        },
        "NotebookExecutionName": self._get_param("NotebookExecutionName") or "",
        "NotebookParams": self._get_param("NotebookParams") or "",
        "Status": "STARTING",
        "StartTime": now,
        "Arn": f"arn:aws:elasticmapreduce:{self.region}:{self.current_account}:"
        f"notebook-execution/{execution_id}",
        "NotebookInstanceSecurityGroupId": self._get_param(
            "NotebookInstanceSecurityGroupId"
        )
        or "",
        "Tags": self._get_param("Tags") or [],
    }
    return ActionResult({"NotebookExecutionId": execution_id})


def _describe_notebook_execution(self):
    execution = _notebook(self.backend, self._get_param("NotebookExecutionId"))
    shown = {k: v for k, v in execution.items() if k != "RelativePath"}
    path = execution["RelativePath"]
    # The next describe sees the next state.
    if execution["Status"] == "STARTING":
        execution["Status"] = "RUNNING"
    elif execution["Status"] == "RUNNING" and _RUNNING not in path:
        execution["EndTime"] = utcnow()
        if _FAILED in path:
            execution["Status"] = "FAILED"
            execution["LastStateChangeReason"] = (
                "moto: notebook execution failed (moto-failed in the relative path)"
            )
        else:
            execution["Status"] = "FINISHED"
    return ActionResult({"NotebookExecution": shown})


def _stop_notebook_execution(self):
    execution = _notebook(self.backend, self._get_param("NotebookExecutionId"))
    if execution["Status"] not in ("FINISHED", "FAILED", "STOPPED"):
        execution["Status"] = "STOPPED"
        execution["EndTime"] = utcnow()
    return EmptyResult()


def _describe_job_run(self, job_run_id, virtual_cluster_id):
    job_run = _stock_describe_job_run(self, job_run_id, virtual_cluster_id)
    polls = getattr(job_run, "moto_polls", 0)
    job_run.moto_polls = polls + 1
    name = job_run.name or ""
    if polls >= 1 and job_run.state == "RUNNING" and _RUNNING not in name:
        job_run.finished_at = utcnow().replace(microsecond=0)
        if _FAILED in name:
            job_run.state = "FAILED"
            job_run.failure_reason = "USER_ERROR"
            job_run.state_details = "moto: job failed (moto-failed in the name)"
        else:
            job_run.state = "COMPLETED"
    return job_run


def apply() -> None:
    """Installs the EMR and EMR on EKS paths described above."""
    ElasticMapReduceBackend.run_job_flow = _run_job_flow
    Cluster.status = property(_cluster_status)
    ElasticMapReduceBackend.describe_step = _describe_step
    Step.status = property(_step_status)
    ElasticMapReduceResponse.start_notebook_execution = _start_notebook_execution
    ElasticMapReduceResponse.describe_notebook_execution = _describe_notebook_execution
    ElasticMapReduceResponse.stop_notebook_execution = _stop_notebook_execution
    EMRContainersBackend.describe_job_run = _describe_job_run
