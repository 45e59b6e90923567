"""A test executor for Airflow 3: each ExecuteTask workload becomes one process with exactly the
argv KubernetesExecutor puts in a worker pod (``python -m
airflow.sdk.execution_time.execute_workload --json-string <workload>``), started as
``$AIRTASK_BIN python -m ...`` (airtask as the image's entrypoint) or, with
``AIRTASK_EXECUTOR_MODE=python``, with this interpreter (Airflow's own worker, for the
benchmark). Each finished process's exit code, wall time, CPU time and peak RSS (of it and its
children, from wait4) is appended as one JSON line to ``$AIRTASK_EXECUTOR_STATS`` when set.

With ``AIRTASK_EXECUTOR_WRAP`` set (the path of the ``rusage-wrap`` benchmark tool), each
process is started through it and the tool writes that line instead: a process forked from this
executor keeps the scheduler's own peak RSS as its ``ru_maxrss`` across ``execve``, so only a
small intermediate parent gives the worker's true peak RSS.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from airflow.executors.base_executor import BaseExecutor

MODULE = "airflow.sdk.execution_time.execute_workload"


class AirtaskExecutor(BaseExecutor):
    """Runs every task instance as a local process with the Kubernetes worker command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.procs = {}

    def _process_workloads(self, workloads):
        for w in workloads:
            key = w.ti.key
            self.queued_tasks.pop(key, None)
            argv = ["python", "-m", MODULE, "--json-string", w.model_dump_json()]
            if os.environ.get("AIRTASK_EXECUTOR_MODE") == "python":
                cmd = [sys.executable] + argv[1:]
            else:
                cmd = [os.environ["AIRTASK_BIN"]] + argv
            wrap = os.environ.get("AIRTASK_EXECUTOR_WRAP")
            stats = os.environ.get("AIRTASK_EXECUTOR_STATS")
            if wrap and stats:
                cmd = [wrap, stats, w.ti.task_id, "--"] + cmd
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL)
            self.procs[key] = (proc, time.monotonic(), w.ti.task_id)
            self.running.add(key)

    def sync(self):
        for key, (proc, started, task_id) in list(self.procs.items()):
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid == 0:
                continue
            proc.returncode = os.waitstatus_to_exitcode(status)
            del self.procs[key]
            stats = os.environ.get("AIRTASK_EXECUTOR_STATS")
            if stats and not os.environ.get("AIRTASK_EXECUTOR_WRAP"):
                with open(stats, "a") as f:
                    f.write(json.dumps({
                        "task_id": task_id,
                        "exit": proc.returncode,
                        "wall_s": time.monotonic() - started,
                        "cpu_s": ru.ru_utime + ru.ru_stime,
                        "maxrss_kib": ru.ru_maxrss,
                    }) + "\n")
            if proc.returncode == 0:
                self.success(key)
            else:
                self.fail(key)

    def end(self):
        while self.procs:
            self.sync()
            time.sleep(0.1)

    def terminate(self):
        for proc, _, _ in self.procs.values():
            proc.terminate()
