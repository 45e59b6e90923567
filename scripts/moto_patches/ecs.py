"""ECS: the task outcomes, container logs and cluster/task definition states stock moto 5.2.5 lacks.

What stock moto does (../shared/reference/local-aws-families.md):
- RunTask makes a task RUNNING; each DescribeTasks steps it RUNNING -> DEACTIVATING -> STOPPING
  -> DEPROVISIONING -> STOPPED (the state manager `ecs::task`, manual, times 1); StopTask makes
  it STOPPED with its stoppedReason;
- RunTask with an awsvpcConfiguration that has no securityGroups fails (KeyError, HTTP 500),
  and so does RunTask of a definition with a container that has no memory of its own (a
  Fargate definition with the task's memory only; TypeError);
- a task has one container whatever the task definition says, and it stays lastStatus PENDING
  with exitCode 0 after the task stopped; desiredStatus stays RUNNING and there is no stopCode,
  so a caller that checks the containers of a stopped task (the Amazon provider's
  EcsRunTaskOperator does) can never see it succeed or fail;
- nothing is written to the containers' CloudWatch log streams;
- a cluster is ACTIVE at CreateCluster and INACTIVE at DeleteCluster, so the provider's
  `cluster_active` / `cluster_inactive` waiters never wait nor fail;
- DeleteTaskDefinitions removes the revision at once: DescribeTaskDefinition no longer finds it.

What this patch changes (each an AWS outcome; the container's command selects it):
- an awsvpcConfiguration without securityGroups is accepted (AWS uses the VPC's default
  group; stock moto answers HTTP 500 with a KeyError), and a container without memory of its
  own counts as 0 MiB in moto's resource bookkeeping;
- a task has one container per container definition (name, image, command, cpu, memory,
  environment), the `command` of `overrides.containerOverrides` replacing the definition's;
- each container "runs" its command as a tiny shell: the command `["sh", "-c", SCRIPT]` (or any
  other list, joined with spaces) is split into statements at `;`, `&&` and newlines, of which
  `echo WORDS` writes a line to the container's log, `sleep N` keeps the task RUNNING N seconds
  (counted from RunTask, the longest container counts), and `exit N` ends the container with
  exit code N (0 when there is none); other statements are ignored;
- the lines go, as the container gets to them (those after a `sleep N` N seconds after
  RunTask; none once the task was stopped), to the container's awslogs stream
  (`logConfiguration` with logDriver awslogs: group `awslogs-group`, stream
  `<awslogs-stream-prefix>/<container>/<task id>`, as the awslogs driver names it); the group
  is made when missing;
- once a task is STOPPED it is reported as AWS reports a finished task: desiredStatus STOPPED,
  stopCode EssentialContainerExited, stoppedReason "Essential container in task exited",
  stoppedAt, and every container lastStatus STOPPED with its exit code;
- StopTask: stopCode UserInitiated, the given reason, containers STOPPED with exit code 137;
- a cluster tagged `moto:status` with a comma-separated list of statuses
  (`PROVISIONING,ACTIVE`, `PROVISIONING,FAILED`) answers the first at CreateCluster and the
  next one to each DescribeClusters that finds it, the last from then on; one tagged
  `moto:delete-status` (`DEPROVISIONING,INACTIVE`) does the same from DeleteCluster on;
  untagged clusters behave as in stock moto;
- a deleted task definition revision is still described, with status DELETE_IN_PROGRESS (as
  AWS keeps it while it deletes it);
- an image whose name contains `moto-unpullable` makes the task fail to start: when STOPPED it
  has stopCode TaskFailedToStart, stoppedReason and container reason "CannotPullContainerError:
  ..." and no exit code.

Tests that need it: tests/ecs.rs (EcsRunTaskOperator success with the last log line as XCom, a
non-zero exit code failing the task with its last log lines, skip_on_exit_code, a task that
fails to start, SIGTERM -> StopTask, reattach; EcsTaskStateSensor on a running and a stopped task;
the cluster operators' waiters waiting, failing and giving up; EcsTaskDefinitionStateSensor on a
deleted definition).
"""

import copy
import re
import shlex
import threading
import time

from moto.core.utils import unix_time_millis, utcnow
from moto.ecs import models
from moto.ecs.models import Container, EC2ContainerServiceBackend, Task
from moto.logs.models import logs_backends

_SHELLS = {"sh", "bash", "/bin/sh", "/bin/bash", "/usr/bin/env"}


def run_script(command) -> dict:
    """What a container running `command` (a list of strings, or a string) does: its output
    lines, how long it sleeps, its exit code (the tiny shell described above), and its steps in
    order (("echo", line), ("sleep", seconds), ("exit", code))."""
    if not command:
        return {"lines": [], "sleep": 0.0, "exit": 0, "steps": []}
    if isinstance(command, str):
        script = command
    elif len(command) >= 3 and command[0] in _SHELLS and command[1] == "-c":
        script = command[2]
    else:
        script = " ".join(str(c) for c in command)
    lines, sleep, code, steps = [], 0.0, 0, []
    for statement in re.split(r";|&&|\n", script):
        try:
            words = shlex.split(statement)
        except ValueError:
            words = statement.split()
        if not words:
            continue
        if words[0] == "echo":
            lines.append(" ".join(words[1:]))
            steps.append(("echo", lines[-1]))
        elif words[0] == "sleep" and len(words) > 1:
            try:
                sleep += float(words[1])
                steps.append(("sleep", float(words[1])))
            except ValueError:
                pass
        elif words[0] == "exit":
            try:
                code = int(words[1]) if len(words) > 1 else 0
            except ValueError:
                code = 2
            steps.append(("exit", code))
            break
    return {"lines": lines, "sleep": sleep, "exit": code, "steps": steps}


def write_lines(account_id: str, region: str, group: str, stream: str, lines: list) -> None:
    """Puts `lines` into `group`/`stream` (both made when missing), stamped now."""
    if not lines:
        return
    backend = logs_backends[account_id][region]
    backend.ensure_log_group(group)
    backend.ensure_log_stream(group, stream)
    now = int(unix_time_millis(utcnow()))
    backend.put_log_events(
        group, stream, [{"timestamp": now + i, "message": line} for i, line in enumerate(lines)]
    )


def _write_in_time(task: Task, group: str, stream: str, steps: list) -> None:
    """Writes each `echo` line of `steps` when the container gets to it: the lines before
    the first `sleep` now, the others once the sleeps before them have passed (unless the task
    was stopped by then)."""
    batches, offset = [(0.0, [])], 0.0
    for kind, value in steps:
        if kind == "sleep":
            offset += value
            batches.append((offset, []))
        elif kind == "echo":
            batches[-1][1].append(value)
    args = (task._account_id, task.region_name, group, stream)
    for at, lines in batches:
        if not lines:
            continue
        if at <= 0:
            write_lines(*args, lines)
            continue

        def later(lines=lines):
            if not getattr(task, "_airtask_stopped_by_user", False):
                write_lines(*args, lines)

        timer = threading.Timer(at, later)
        timer.daemon = True
        timer.start()


_stock_task_init = Task.__init__


def _task_init(self: Task, *args, **kwargs) -> None:
    network = kwargs.get("networking_configuration") or {}
    awsvpc = network.get("awsvpcConfiguration")
    if isinstance(awsvpc, dict) and "securityGroups" not in awsvpc:
        # AWS uses the VPC's default security group; stock moto fails with a KeyError (500).
        kwargs["networking_configuration"] = {
            **network,
            "awsvpcConfiguration": {**awsvpc, "securityGroups": []},
        }
    _stock_task_init(self, *args, **kwargs)
    task_definition = kwargs.get("task_definition") or args[1]
    overrides = {
        o.get("name"): o for o in (self.overrides or {}).get("containerOverrides", []) or []
    }
    containers, runs, slowest = [], [], 0.0
    for definition in task_definition.container_definitions:
        container = Container(task_definition)
        name = definition.get("name")
        command = (overrides.get(name) or {}).get("command") or definition.get("command")
        container.name = name
        container.image = definition.get("image")
        container.command = command
        container.cpu = definition.get("cpu", 0)
        container.memory = definition.get("memory")
        container.environment = definition.get("environment")
        containers.append(container)
        run = run_script(command)
        run["unpullable"] = "moto-unpullable" in str(definition.get("image") or "")
        runs.append(run)
        slowest = max(slowest, run["sleep"])
        log = definition.get("logConfiguration") or {}
        options = log.get("options") or {}
        if log.get("logDriver") == "awslogs" and options.get("awslogs-group"):
            prefix = options.get("awslogs-stream-prefix")
            stream = f"{prefix}/{name}/{self.id}" if prefix else self.id
            _write_in_time(self, options["awslogs-group"], stream, run["steps"])
    self.containers = containers
    self._airtask_runs = runs
    self._airtask_running_until = time.monotonic() + slowest
    self._airtask_finished = False


_stock_status = Task.status


def _status(self: Task):
    until = getattr(self, "_airtask_running_until", None)
    if (
        until is not None
        and time.monotonic() < until
        and self._status == "RUNNING"
        and not getattr(self, "_airtask_finished", False)
    ):
        # Still "sleeping": RUNNING, and the describe ticks do not count.
        self._tick = 0
        return self._status
    return _stock_status.fget(self)


def _set_status(self: Task, value) -> None:
    _stock_status.fset(self, value)


def _finish(task: Task, stop_code: str, reason: str, exit_codes=None) -> None:
    """Reports a STOPPED task as AWS reports a finished one (once)."""
    if getattr(task, "_airtask_finished", False):
        return
    task._airtask_finished = True
    runs = getattr(task, "_airtask_runs", [])
    unpullable = next((r for r in runs if r.get("unpullable")), None)
    task.desired_status = "STOPPED"
    task.stopped_at = utcnow()
    if unpullable is not None and stop_code != "UserInitiated":
        image = next(
            (c.image for c, r in zip(task.containers, runs) if r is unpullable), "image"
        )
        why = (
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: not found"
        )
        task.stop_code = "TaskFailedToStart"
        task.stopped_reason = why
        for container in task.containers:
            container.last_status = "STOPPED"
            container.exitCode = None
            container.reason = why
        return
    task.stop_code = stop_code
    task.stopped_reason = reason
    for i, container in enumerate(task.containers):
        container.last_status = "STOPPED"
        if exit_codes is not None:
            container.exitCode = exit_codes
        else:
            container.exitCode = runs[i]["exit"] if i < len(runs) else 0


_stock_describe_tasks = EC2ContainerServiceBackend.describe_tasks


def _describe_tasks(self, cluster_str, tasks):
    found = _stock_describe_tasks(self, cluster_str, tasks)
    for task in found:
        if task.last_status == "STOPPED":
            _finish(task, "EssentialContainerExited", "Essential container in task exited")
    return found


_stock_stop_task = EC2ContainerServiceBackend.stop_task


def _stop_task(self, cluster_str, task_str, reason):
    task = _stock_stop_task(self, cluster_str, task_str, reason)
    task._airtask_stopped_by_user = True
    _finish(task, "UserInitiated", reason or "Task stopped by the user", exit_codes=137)
    return task


_stock_delete_task_definitions = EC2ContainerServiceBackend.delete_task_definitions
_stock_describe_task_definition = EC2ContainerServiceBackend.describe_task_definition


def _delete_task_definitions(self, task_definitions):
    deleted, failures = _stock_delete_task_definitions(self, task_definitions)
    deleting = self.__dict__.setdefault("_airtask_deleting", {})
    for definition in deleted:
        deleting[(definition.family, definition.revision)] = definition
    return deleted, failures


def _describe_task_definition(self, task_definition_str):
    try:
        return _stock_describe_task_definition(self, task_definition_str)
    except Exception:
        name = task_definition_str.split("/")[-1]
        if ":" in name:
            family, rev = name.split(":", 1)
            found = self.__dict__.get("_airtask_deleting", {}).get((family, int(rev)))
            if found is not None:
                return found
        raise


def _statuses(cluster, key: str) -> list:
    """The comma-separated statuses of the cluster's tag `key`, or none."""
    for tag in getattr(cluster, "tags", None) or []:
        if tag.get("key") == key:
            return [s.strip() for s in str(tag.get("value", "")).split(",") if s.strip()]
    return []


_stock_create_cluster = EC2ContainerServiceBackend.create_cluster
_stock_describe_clusters = EC2ContainerServiceBackend.describe_clusters
_stock_delete_cluster = EC2ContainerServiceBackend.delete_cluster


def _create_cluster(self, *args, **kwargs):
    cluster = _stock_create_cluster(self, *args, **kwargs)
    statuses = _statuses(cluster, "moto:status")
    if statuses:
        cluster.status = statuses[0]
        cluster._airtask_next = statuses[1:]
    return cluster


def _describe_clusters(self, cluster_names):
    found, failures = _stock_describe_clusters(self, cluster_names)
    for cluster in found:
        pending = getattr(cluster, "_airtask_next", None)
        if pending:
            cluster.status = pending.pop(0)
    return found, failures


def _delete_cluster(self, cluster_str):
    cluster = _stock_delete_cluster(self, cluster_str)
    statuses = _statuses(cluster, "moto:delete-status")
    if statuses:
        cluster.status = statuses[0]
        cluster._airtask_next = statuses[1:]
    return cluster


_stock_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements
_MEMORY_KEYS = ("memory", "memoryReservation", "Memory", "MemoryReservation")


def _requirements(task_definition):
    definitions = task_definition.container_definitions or []
    if all(any(k in d for k in _MEMORY_KEYS) for d in definitions):
        return _stock_requirements(task_definition)
    # A container without memory of its own (the task's memory covers it, as on Fargate)
    # counts as 0 MiB instead of failing with a TypeError.
    proxy = copy.copy(task_definition)
    proxy.container_definitions = [
        d if any(k in d for k in _MEMORY_KEYS) else {**d, "memory": 0} for d in definitions
    ]
    return _stock_requirements(proxy)


def apply() -> None:
    """Installs the behaviour described above."""
    EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(_requirements)
    EC2ContainerServiceBackend.create_cluster = _create_cluster
    EC2ContainerServiceBackend.describe_clusters = _describe_clusters
    EC2ContainerServiceBackend.delete_cluster = _delete_cluster
    EC2ContainerServiceBackend.delete_task_definitions = _delete_task_definitions
    EC2ContainerServiceBackend.describe_task_definition = _describe_task_definition
    Task.__init__ = _task_init
    Task.status = property(_status, _set_status)
    EC2ContainerServiceBackend.describe_tasks = _describe_tasks
    EC2ContainerServiceBackend.stop_task = _stop_task
    assert models.Task is Task
