"""Routes Airflow 3.3+ tasks to airtask through the Task SDK's coordinator protocol.

Put this file on the Python path of every Airflow worker (e.g. ``$AIRFLOW_HOME/plugins/``, or any
directory in ``PYTHONPATH``) and configure the Task SDK (env vars, or ``[sdk]`` in airflow.cfg)::

    AIRFLOW__SDK__COORDINATORS='{"airtask": {"classpath": "airtask_coordinator.AirtaskCoordinator",
                                 "kwargs": {"airtask": "/usr/local/bin/airtask"}}}'
    AIRFLOW__SDK__QUEUE_TO_COORDINATOR='{"airtask": "airtask"}'

Tasks whose ``queue`` is ``airtask`` (in dag-factory: ``queue: airtask`` on the task or in
``default_args``) then run in airtask: the worker's supervisor starts ``airtask coordinator
--dags-folder <bundle root> --comm=HOST:PORT --logs=HOST:PORT`` and keeps doing its heartbeats,
state calls and task logs, as for a Python task. Other queues keep Airflow's Python task runner.

kwargs:
    airtask: the airtask executable (a path, or a name looked up on PATH; default ``airtask``).
    dags_folder: the folder airtask searches for the YAML definitions; default: the root of
        the task's DAG bundle (``[core] dags_folder`` for the default ``dags-folder`` bundle).
    task_startup_timeout: seconds airtask has to dial back (SubprocessCoordinator's, 10).
"""

from __future__ import annotations

import os
import shutil
import threading

import attrs

from airflow.sdk.coordinators._subprocess import SubprocessCoordinator

# The supervisor schema airtask speaks (Task SDK 1.3); newer supervisors migrate to it.
SUPERVISOR_SCHEMA_VERSION = "2026-06-16"


def _bundle_root(bundle_info) -> str | None:
    """The root folder of the task's DAG bundle, as Airflow's task runner finds it."""
    try:
        from airflow.dag_processing.bundles.manager import DagBundlesManager

        bundle = DagBundlesManager().get_bundle(name=bundle_info.name, version=bundle_info.version)
        bundle.initialize()
        return os.fspath(bundle.path)
    except Exception:
        return None


@attrs.define(kw_only=True)
class AirtaskCoordinator(SubprocessCoordinator):
    """Runs a task instance with ``airtask coordinator``."""

    airtask: str = "airtask"
    dags_folder: str | None = None
    # The manager keeps one coordinator per name for the worker process; the bundle root of the
    # task being started is per thread, in case a worker runs tasks in threads.
    _current: threading.local = attrs.field(factory=threading.local, init=False)

    def execute_task(self, *, what, dag_rel_path, bundle_info, **kwargs):
        self._current.root = self.dags_folder or _bundle_root(bundle_info)
        return super().execute_task(what=what, dag_rel_path=dag_rel_path, bundle_info=bundle_info, **kwargs)

    def _build_execute_task_command(self, *, what):
        exe = self.airtask
        if os.sep not in exe:
            exe = shutil.which(exe) or exe
        if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
            raise FileNotFoundError(
                f"airtask coordinator: the executable {self.airtask!r} is not found or not executable; "
                "set kwargs.airtask of the coordinator in [sdk] coordinators to its path"
            )
        command = [exe, "coordinator"]
        root = getattr(self._current, "root", None)
        if root:
            command += ["--dags-folder", root]
        return command, SUPERVISOR_SCHEMA_VERSION
