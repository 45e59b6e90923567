"""SageMaker: the states, calls and errors stock moto 5.2.5 lacks, for tests/sagemaker.rs.

What stock moto does:
- training, processing, transform and tuning jobs are "Completed", endpoints "InService" and
  pipeline executions "Succeeded" the moment they are created: no job is ever InProgress,
  Failed or Stopped, so no wait ever polls twice and no failure path can be reached;
- CreateEndpoint of an existing endpoint silently replaces it (AWS refuses with "Cannot create
  already existing endpoint"), CreateModelPackageGroup of an existing group likewise (AWS:
  "Model Package Group already exists");
- UpdateEndpoint, StopPipelineExecution, ListPipelineExecutionSteps, DeleteModelPackageGroup,
  CreateAutoMLJob and DescribeAutoMLJob (the v1 calls the provider makes) answer 500.

What this patch changes (every other SageMaker call behaves exactly as before):
- a resource whose name contains one of these markers is answered, by every describe call of
  it, as:
  * `moto-failed`: the kind's failed state ("Failed") with FailureReason
    "moto-failed: the resource failed (test marker)";
  * `moto-stopped`: "Stopped" (jobs; pipeline executions);
  * `moto-slow`: the kind's in-progress state ("InProgress", "Creating", "Executing") for
    the first two describes, then the stock (or marked) state;
  * `moto-stuck`: the in-progress state forever.
  (For a pipeline execution the marker is in the pipeline's name; notebook instances take
  `moto-failed` only.)
- CreateEndpoint of an existing endpoint and CreateModelPackageGroup of an existing group give
  AWS's ValidationException;
- UpdateEndpoint points the endpoint at the new endpoint config ("Updating" on the next
  describe, then InService); StopPipelineExecution of an "Executing" execution makes it
  "Stopping" once, then "Stopped" (of any other: AWS's ValidationException "Only pipelines
  with 'Executing' status can be stopped"); ListPipelineExecutionSteps lists the steps of the
  pipeline's definition with the execution's state; DeleteModelPackageGroup deletes the group;
  CreateAutoMLJob / DescribeAutoMLJob keep a v1 AutoML job ("Completed", with a BestCandidate).

Tests that need it: tests/sagemaker.rs.
"""

import json

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.sagemaker.exceptions import ValidationError
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sagemaker.utils import arn_formatter

_REASON = "moto-failed: the resource failed (test marker)"
# describes seen per (kind, name), for moto-slow
_SEEN: dict = {}
# pipeline executions stopped by StopPipelineExecution: arn -> describes since
_STOPPED: dict = {}
# endpoints being updated: name -> describes left in "Updating"
_UPDATING: dict = {}


def _marked(kind: str, name: str, answer: dict, key: str, running: str, failed: str = "Failed"):
    """Applies the name markers to a describe answer (a fresh dict moto built)."""
    name = name or ""
    seen = _SEEN.get((kind, name), 0)
    _SEEN[(kind, name)] = seen + 1
    if "moto-stuck" in name or ("moto-slow" in name and seen < 2):
        answer[key] = running
        return answer
    if "moto-failed" in name:
        answer[key] = failed
        answer["FailureReason"] = _REASON
    elif "moto-stopped" in name:
        answer[key] = "Stopped"
    return answer


def _wrap_describe(method: str, kind: str, key: str, running: str):
    stock = getattr(SageMakerModelBackend, method)

    def describe(self, *args, **kwargs):
        answer = stock(self, *args, **kwargs)
        # moto passes the name by position or by keyword (transform_job_name=...)
        name = args[0] if args else next(iter(kwargs.values()), "")
        return _marked(kind, name, dict(answer), key, running)

    setattr(SageMakerModelBackend, method, describe)


def _pipeline_name(arn: str) -> str:
    # arn:aws:sagemaker:REGION:ACCOUNT:pipeline/NAME/execution/ID
    return arn.split(":pipeline/", 1)[-1].split("/execution/", 1)[0]


def _execution_status(self, arn: str, answer: dict) -> dict:
    name = _pipeline_name(arn)
    if arn in _STOPPED:
        n = _STOPPED[arn]
        _STOPPED[arn] = n + 1
        answer["PipelineExecutionStatus"] = "Stopping" if n == 0 else "Stopped"
        return answer
    answer = _marked("pipeline", name, answer, "PipelineExecutionStatus", "Executing")
    return answer


def apply() -> None:
    """Installs the behaviour described above."""
    _wrap_describe("describe_training_job", "training", "TrainingJobStatus", "InProgress")
    _wrap_describe("describe_processing_job", "processing", "ProcessingJobStatus", "InProgress")
    _wrap_describe("describe_transform_job", "transform", "TransformJobStatus", "InProgress")
    _wrap_describe(
        "describe_hyper_parameter_tuning_job",
        "tuning",
        "HyperParameterTuningJobStatus",
        "InProgress",
    )

    stock_endpoint = SageMakerModelBackend.describe_endpoint

    def describe_endpoint(self, endpoint_name):
        answer = dict(stock_endpoint(self, endpoint_name))
        left = _UPDATING.get(endpoint_name, 0)
        if left > 0:
            _UPDATING[endpoint_name] = left - 1
            answer["EndpointStatus"] = "Updating"
            return answer
        return _marked("endpoint", endpoint_name, answer, "EndpointStatus", "Creating")

    SageMakerModelBackend.describe_endpoint = describe_endpoint

    stock_create_endpoint = SageMakerModelBackend.create_endpoint

    def create_endpoint(self, endpoint_name, endpoint_config_name, tags):
        if endpoint_name in self.endpoints:
            arn = self.endpoints[endpoint_name].arn
            raise ValidationError(message=f'Cannot create already existing endpoint "{arn}".')
        return stock_create_endpoint(self, endpoint_name, endpoint_config_name, tags)

    SageMakerModelBackend.create_endpoint = create_endpoint

    def update_endpoint(self):
        backend = self.sagemaker_backend
        name = self._get_param("EndpointName")
        config_name = self._get_param("EndpointConfigName")
        if name not in backend.endpoints:
            arn = arn_formatter("endpoint", name, backend.account_id, backend.region_name)
            raise ValidationError(message=f"Could not find endpoint \"{arn}\".")
        config = backend.describe_endpoint_config(config_name)
        endpoint = backend.endpoints[name]
        endpoint.endpoint_config_name = config_name
        endpoint.production_variants = config["ProductionVariants"]
        endpoint.last_modified_time = str(utcnow())
        _UPDATING[name] = 1
        return ActionResult({"EndpointArn": endpoint.arn})

    SageMakerResponse.update_endpoint = update_endpoint

    stock_execution = SageMakerModelBackend.describe_pipeline_execution

    def describe_pipeline_execution(self, pipeline_execution_arn):
        answer = dict(stock_execution(self, pipeline_execution_arn))
        return _execution_status(self, pipeline_execution_arn, answer)

    SageMakerModelBackend.describe_pipeline_execution = describe_pipeline_execution

    def _current_status(backend, arn):
        # What the execution's describe would say now, without counting a describe.
        name = _pipeline_name(arn)
        if arn in _STOPPED:
            return "Stopping" if _STOPPED[arn] == 0 else "Stopped"
        seen = _SEEN.get(("pipeline", name), 0)
        if "moto-stuck" in name or ("moto-slow" in name and seen < 2):
            return "Executing"
        if "moto-failed" in name:
            return "Failed"
        if "moto-stopped" in name:
            return "Stopped"
        return "Succeeded"

    def stop_pipeline_execution(self):
        backend = self.sagemaker_backend
        arn = self._get_param("PipelineExecutionArn")
        stock_execution(backend, arn)  # unknown executions fail as moto fails them
        status = _current_status(backend, arn)
        if status != "Executing":
            raise ValidationError(
                message=f"Only pipelines with 'Executing' status can be stopped. "
                f"The pipeline execution '{arn}' is in '{status}' status."
            )
        _STOPPED[arn] = 0
        return ActionResult({"PipelineExecutionArn": arn})

    SageMakerResponse.stop_pipeline_execution = stop_pipeline_execution

    def list_pipeline_execution_steps(self):
        backend = self.sagemaker_backend
        arn = self._get_param("PipelineExecutionArn")
        answer = stock_execution(backend, arn)
        name = _pipeline_name(arn)
        pipeline = backend.pipelines.get(name)
        try:
            steps = json.loads(pipeline.pipeline_definition or "{}").get("Steps", [])
        except (ValueError, AttributeError):
            steps = []
        status = _current_status(backend, arn)
        step_status = {"Succeeded": "Succeeded", "Failed": "Failed", "Stopped": "Stopped"}.get(
            status, "Executing"
        )
        return ActionResult(
            {
                "PipelineExecutionSteps": [
                    {
                        "StepName": s.get("Name", f"step-{i}"),
                        "StepStatus": step_status,
                        "StartTime": answer.get("CreationTime"),
                    }
                    for i, s in enumerate(steps)
                ]
            }
        )

    SageMakerResponse.list_pipeline_execution_steps = list_pipeline_execution_steps

    stock_group = SageMakerModelBackend.create_model_package_group

    def create_model_package_group(self, model_package_group_name, *args, **kwargs):
        if model_package_group_name in self.model_package_groups:
            arn = self.model_package_groups[model_package_group_name].arn
            raise ValidationError(message=f"Model Package Group already exists: {arn}")
        return stock_group(self, model_package_group_name, *args, **kwargs)

    SageMakerModelBackend.create_model_package_group = create_model_package_group

    def delete_model_package_group(self):
        backend = self.sagemaker_backend
        name = self._get_param("ModelPackageGroupName")
        if name not in backend.model_package_groups:
            raise ValidationError(message=f"ModelPackageGroup {name} does not exist.")
        del backend.model_package_groups[name]
        return EmptyResult()

    SageMakerResponse.delete_model_package_group = delete_model_package_group

    def create_auto_ml_job(self):
        backend = self.sagemaker_backend
        jobs = backend.__dict__.setdefault("_airtask_automl_v1", {})
        name = self._get_param("AutoMLJobName")
        arn = arn_formatter("automl-job", name, backend.account_id, backend.region_name)
        if name in jobs:
            raise ValidationError(
                message=f"Resource Already Exists: Auto ML Job with name {name} already exists. "
                "Choose a different name."
            )
        now = utcnow()
        jobs[name] = {
            "AutoMLJobName": name,
            "AutoMLJobArn": arn,
            "InputDataConfig": self._get_param("InputDataConfig"),
            "OutputDataConfig": self._get_param("OutputDataConfig"),
            "RoleArn": self._get_param("RoleArn"),
            "AutoMLJobConfig": self._get_param("AutoMLJobConfig") or {},
            "CreationTime": now,
            "LastModifiedTime": now,
            "AutoMLJobStatus": "Completed",
            "AutoMLJobSecondaryStatus": "Completed",
            "BestCandidate": {
                "CandidateName": f"{name}-best",
                "ObjectiveStatus": "Succeeded",
                "CandidateStatus": "Completed",
                "CandidateSteps": [],
                "CreationTime": now,
                "LastModifiedTime": now,
            },
        }
        return ActionResult({"AutoMLJobArn": arn})

    SageMakerResponse.create_auto_ml_job = create_auto_ml_job

    def describe_auto_ml_job(self):
        backend = self.sagemaker_backend
        jobs = backend.__dict__.setdefault("_airtask_automl_v1", {})
        name = self._get_param("AutoMLJobName")
        if name not in jobs:
            raise ValidationError(message=f"Could not find AutoML job with name {name}.")
        answer = _marked(
            "automl", name, dict(jobs[name]), "AutoMLJobStatus", "InProgress"
        )
        if answer["AutoMLJobStatus"] == "InProgress":
            answer["AutoMLJobSecondaryStatus"] = "Starting"
        return ActionResult(answer)

    SageMakerResponse.describe_auto_ml_job = describe_auto_ml_job

    stock_notebook = SageMakerResponse.describe_notebook_instance

    def describe_notebook_instance(self):
        backend = self.sagemaker_backend
        name = self._get_param("NotebookInstanceName")
        instance = backend.notebook_instances.get(name)
        answer = stock_notebook(self)
        if instance is not None and "moto-failed" in name:
            instance.status = "Failed"
            body = answer.result if hasattr(answer, "result") else None
            if isinstance(body, dict):
                body["NotebookInstanceStatus"] = "Failed"
                body["FailureReason"] = _REASON
        return answer

    SageMakerResponse.describe_notebook_instance = describe_notebook_instance
