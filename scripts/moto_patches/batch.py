"""AWS Batch: jobs that run without Docker, exit codes, and compute environment / job queue states.

What stock moto does (../shared/reference/local-aws-families.md):
- a submitted job runs its container in Docker; without Docker (the `docker` module missing, or
  no daemon) the job silently ends FAILED; the Docker-less "batch_simple" backend is a
  server-global config and ends every job SUCCEEDED at SubmitJob (FAILED only with a
  server-global environment variable);
- `container.exitCode` is never reported in DescribeJobs;
- a compute environment and a job queue are always VALID.

What this patch changes (each an AWS outcome, selected by the caller):
- a job no longer needs Docker: its thread walks SUBMITTED -> PENDING -> RUNNABLE -> STARTING ->
  RUNNING (about 0.2 s a step) and "runs" the container's command (containerOverrides.command,
  else the job definition's containerProperties.command) with the tiny shell of the ECS patch
  (moto_patches/ecs.py): `echo WORDS` writes a line to the job's log stream
  (`<awslogs-group, default /aws/batch/job>` / `<job definition>/default/<job id>`), `sleep N`
  keeps it RUNNING N seconds, `exit N` ends it with exit code N; it ends SUCCEEDED with exit
  code 0, else FAILED with statusReason "Essential container in task exited";
- TerminateJob (and CancelJob before it runs) ends a job FAILED with the reason given (exit code
  137 when it was running); a `timeout.attemptDurationSeconds` shorter than the job's sleeps ends
  it FAILED with "Job attempt duration exceeded timeout";
- DescribeJobs reports `container.exitCode`, `container.reason` and the job definition's
  `container.logConfiguration`, and `attempts[].container.exitCode`; a job sized by
  `resourceRequirements` reports those instead of `vcpus`/`memory` (stock moto copies a
  fractional Fargate vCPU, 0.25, into the integer `vcpus`, which the Rust SDK cannot read);
- a CloudFormation AWS::Batch::JobDefinition without RetryStrategy (optional in
  CloudFormation) is created (stock moto fails with a KeyError);
- a compute environment or a job queue tagged `moto:status` with a comma-separated list of
  statuses (`CREATING,VALID`, `INVALID`) answers the next status of the list to each describe
  that names it, the last one from then on (statusReason "moto: <STATUS>"); untagged ones are
  VALID as in stock moto.

Tests that need it: tests/batch.rs (BatchOperator succeeding with its XCom and logs, a failed
job, SIGTERM -> TerminateJob; BatchSensor on succeeded, failed and running jobs;
BatchCreateComputeEnvironmentOperator waiting for VALID or failing on INVALID; the compute
environment and job queue sensors in each state class; the corpus workflow batch_dag.yaml, whose
stack makes a Fargate job definition).
"""

import time
from datetime import datetime

from moto.batch.models import BatchBackend, Job, JobDefinition

from . import ecs as _ecs

_STEP_SECONDS = 0.2
_TICK = 0.05


def _pause(job: Job, seconds: float) -> bool:
    """Sleeps `seconds`; False when the job was terminated meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if job.stop:
            return False
        time.sleep(_TICK)
    return not job.stop


def _command(job: Job):
    if job.job_definition.container_properties is None:
        return []
    return job.container_overrides.get("command") or job.job_definition.container_properties.get(
        "command", []
    )


def _log_group(job: Job) -> str:
    props = job.job_definition.container_properties or {}
    options = (props.get("logConfiguration") or {}).get("options") or {}
    return options.get("awslogs-group") or "/aws/batch/job"


def _end(job: Job, success: bool, reason: str | None, exit_code: int | None) -> None:
    if reason is not None and job.job_stopped_reason is None:
        job.job_stopped_reason = reason
    job.exit_code = exit_code
    job._mark_stopped(success=success)


def _run(self: Job) -> None:
    self._airtask = True
    try:
        if self.depends_on and not self._wait_for_dependencies():
            return
        for status in ("PENDING", "RUNNABLE", "STARTING"):
            if not _pause(self, _STEP_SECONDS):
                _end(self, False, None, None)
                return
            self._status = status
        if not _pause(self, _STEP_SECONDS):
            _end(self, False, None, None)
            return
        self.job_started_at = datetime.now()
        self.log_stream_name = self._stream_name
        self._start_attempt()
        self._status = "RUNNING"
        run = _ecs.run_script(_command(self))
        limit = (self.timeout or {}).get("attemptDurationSeconds")
        started = time.monotonic()
        code = 0
        for kind, value in run["steps"]:
            if kind == "echo":
                _ecs.write_lines(
                    self.backend.account_id,
                    self.backend.region_name,
                    _log_group(self),
                    self._stream_name,
                    [value],
                )
            elif kind == "sleep":
                left = value
                if limit is not None:
                    left = min(value, max(0.0, started + float(limit) - time.monotonic()))
                if not _pause(self, left):
                    _end(self, False, None, 137)
                    return
                if left < value:
                    _end(self, False, "Job attempt duration exceeded timeout", 137)
                    return
            elif kind == "exit":
                code = value
                break
        if code == 0:
            _end(self, True, None, 0)
        else:
            _end(self, False, "Essential container in task exited", code)
    except Exception as err:  # keep the job's thread from dying silently
        _end(self, False, f"moto: {err}", None)


def _status(self: Job):
    if getattr(self, "_airtask", False):
        return self._status
    return _stock_status.fget(self)


def _set_status(self: Job, value) -> None:
    self._status = value


_stock_status = Job.status
_stock_container_details = Job._container_details
_stock_stop_attempt = Job._stop_attempt


def _container_details(self: Job) -> dict:
    details = _stock_container_details(self)
    if self.exit_code is not None:
        details["exitCode"] = self.exit_code
    if self.job_stopped and self.exit_code not in (None, 0) and self.job_stopped_reason:
        details["reason"] = self.job_stopped_reason
    properties = self.job_definition.container_properties or {}
    log = properties.get("logConfiguration")
    if log:
        details["logConfiguration"] = log
    requirements = (self.container_overrides or {}).get("resourceRequirements") or properties.get(
        "resourceRequirements"
    )
    if requirements:
        # As AWS reports a job sized by resourceRequirements (Fargate's 0.25 vCPU among them):
        # those, not the integer vcpus/memory stock moto fills in from them.
        details.pop("vcpus", None)
        details.pop("memory", None)
        details["resourceRequirements"] = requirements
    return details


def _stop_attempt(self: Job) -> None:
    _stock_stop_attempt(self)
    if self.latest_attempt and self.exit_code is not None:
        self.latest_attempt["container"]["exitCode"] = self.exit_code
    if self.latest_attempt and self.job_stopped_reason:
        self.latest_attempt["statusReason"] = self.job_stopped_reason


# Per-resource reads of the status sequence of `moto:status` (key: the resource ARN).
_reads: dict = {}


def _sequenced(backend: BatchBackend, arn: str, entry: dict) -> None:
    tags = backend.list_tags_for_resource(arn) or {}
    given = tags.get("moto:status")
    if not given:
        return
    statuses = [s.strip() for s in given.split(",") if s.strip()]
    if not statuses:
        return
    n = _reads.get(arn, 0)
    _reads[arn] = n + 1
    status = statuses[min(n, len(statuses) - 1)]
    entry["status"] = status
    entry["statusReason"] = f"moto: {status}"


_stock_describe_ces = BatchBackend.describe_compute_environments
_stock_describe_queues = BatchBackend.describe_job_queues


def _describe_ces(self, environments=None):
    result = _stock_describe_ces(self, environments)
    for entry in result:
        _sequenced(self, entry["computeEnvironmentArn"], entry)
    return result


def _describe_queues(self, job_queues=None):
    result = _stock_describe_queues(self, job_queues)
    for entry in result:
        _sequenced(self, entry["jobQueueArn"], entry)
    return result


_stock_job_definition_from_cfn = JobDefinition.create_from_cloudformation_json.__func__


def _job_definition_from_cfn(cls, resource_name, cloudformation_json, *args, **kwargs):
    properties = cloudformation_json.get("Properties") or {}
    if "RetryStrategy" not in properties:
        # RetryStrategy is optional in CloudFormation; stock moto fails with a KeyError.
        properties = {**properties, "RetryStrategy": {}}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return _stock_job_definition_from_cfn(cls, resource_name, cloudformation_json, *args, **kwargs)


def apply() -> None:
    """Installs the behaviour described above."""
    JobDefinition.create_from_cloudformation_json = classmethod(_job_definition_from_cfn)
    Job.run = _run
    Job.status = property(_status, _set_status)
    Job._container_details = _container_details
    Job._stop_attempt = _stop_attempt
    BatchBackend.describe_compute_environments = _describe_ces
    BatchBackend.describe_job_queues = _describe_queues
