"""Runs one task instance through Airflow's own Task SDK supervisor and the airtask coordinator
class, with the Task Execution API replaced by an in-memory one (httpx.MockTransport).

    python real_supervisor.py SCENARIO_JSON OUT_FILE

Everything between the API and airtask is Airflow's code: ``AirtaskCoordinator.execute_task``
(scripts/airflow/airtask_coordinator.py) -> ``SubprocessCoordinator`` -> the supervisor's
``_PopenActivitySubprocess`` (sockets, ``PATCH run``, ``StartupDetails``, request decoding and
schema migration, heartbeats, the kill on a refused heartbeat, the final state call) and the
real ``Client``. The scenario (JSON) gives the task and what the API holds:

    {"airtask": PATH, "dags_folder": DIR, "task_id": T, "try_number": 1, "max_tries": 0,
     "should_retry": false, "xcom_keys_to_clear": [], "conf": {}, "xcoms": {"task/key": value},
     "variables": {key: value}, "connections": {conn_id: {...}},
     "refuse_heartbeat_from": N}   (the Nth heartbeat and later are answered 409 not_running)

Writes one JSON object to OUT_FILE: ``exit_code``, ``final_state``, ``requests`` (method, path, JSON body of
every API call the supervisor made, and the seconds since the start) and ``logs`` (the task log lines as the supervisor's logger
received them: ``event``, ``level`` and the other keys).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from datetime import datetime, timezone

# Before Airflow reads its configuration: heartbeat every second.
os.environ.setdefault("AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL", "1")

import httpx  # noqa: E402
import structlog  # noqa: E402

from airflow.sdk.api.client import Client  # noqa: E402
from airflow.sdk.api.datamodels._generated import BundleInfo, TaskInstance  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "airflow"))
from airtask_coordinator import AirtaskCoordinator  # noqa: E402

DAG_ID = "af_e2e"
RUN_ID = "manual__2025-03-09T06:30:00+00:00"


def main() -> None:
    s = json.loads(sys.argv[1])
    ti = TaskInstance(
        id=uuid.uuid4(),
        task_id=s["task_id"],
        dag_id=DAG_ID,
        run_id=RUN_ID,
        try_number=s.get("try_number", 1),
        dag_version_id=uuid.uuid4(),
        queue="airtask",
    )
    requests: list[list] = []
    t0 = time.monotonic()

    def handle(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        body = json.loads(request.content) if request.content else None
        requests.append([request.method, path, body, round(time.monotonic() - t0, 3)])
        parts = path.strip("/").split("/")
        if parts[0] == "task-instances" and parts[-1] == "run":
            return httpx.Response(200, json=run_context(s))
        if parts[0] == "task-instances" and parts[-1] == "heartbeat":
            beats = sum(1 for r in requests if r[1].endswith("/heartbeat"))
            if beats >= s.get("refuse_heartbeat_from", 1 << 30):
                return httpx.Response(
                    409, json={"detail": {"reason": "not_running", "current_state": "failed"}}
                )
            return httpx.Response(204)
        if parts[0] == "task-instances" and parts[-1] == "state":
            return httpx.Response(204)
        if parts[0] == "task-instances" and parts[-1] == "rtif" and request.method == "PUT":
            return httpx.Response(201, json={"message": "Rendered Task Instance Fields successfully set"})
        if parts[0] == "xcoms" and len(parts) == 5:
            key = f"{parts[3]}/{parts[4]}"
            if request.method == "GET":
                if key in s.get("xcoms", {}):
                    return httpx.Response(200, json={"key": parts[4], "value": s["xcoms"][key]})
                return httpx.Response(404, json={"detail": {"reason": "not_found"}})
            if request.method == "POST":
                return httpx.Response(201, json=None)
            if request.method == "DELETE":
                return httpx.Response(200, json=None)
        if parts[0] == "variables" and request.method == "GET":
            if parts[1] in s.get("variables", {}):
                return httpx.Response(200, json={"key": parts[1], "value": s["variables"][parts[1]]})
            return httpx.Response(404, json={"detail": {"reason": "not_found"}})
        if parts[0] == "connections" and request.method == "GET":
            if parts[1] in s.get("connections", {}):
                return httpx.Response(200, json=s["connections"][parts[1]])
            return httpx.Response(404, json={"detail": {"reason": "not_found"}})
        return httpx.Response(404, json={"detail": f"no route {request.method} {path}"})

    client = Client(base_url=None, dry_run=True, token="", transport=httpx.MockTransport(handle))
    capture = structlog.testing.LogCapture()
    logger = structlog.wrap_logger(
        structlog.ReturnLogger(),
        processors=[capture],
        wrapper_class=structlog.make_filtering_bound_logger(0),
    )
    coordinator = AirtaskCoordinator(airtask=s["airtask"], dags_folder=s["dags_folder"])
    result = coordinator.execute_task(
        what=ti,
        dag_rel_path="team/loader.py",
        bundle_info=BundleInfo(name="dags-folder", version=None),
        client=client,
        logger=logger,
        subprocess_logs_to_stdout=False,
    )
    logs = []
    for entry in capture.entries:
        entry = {k: v for k, v in entry.items() if k != "__level_override"}
        entry["level"] = entry.pop("log_level", None)
        logs.append(json.loads(json.dumps(entry, default=str)))
    with open(sys.argv[2], "w") as out:
        json.dump(
            {
                "exit_code": result.exit_code,
                "final_state": str(getattr(result.final_state, "value", result.final_state)),
                "requests": requests,
                "logs": logs,
            },
            out,
        )


def run_context(s: dict) -> dict:
    at = "2025-03-09T06:30:00Z"
    return {
        "dag_run": {
            "dag_id": DAG_ID,
            "run_id": RUN_ID,
            "logical_date": at,
            "data_interval_start": at,
            "data_interval_end": at,
            "run_after": at,
            "start_date": datetime.now(timezone.utc).isoformat(),
            "end_date": None,
            "clear_number": 0,
            "run_type": "manual",
            "state": "running",
            "conf": s.get("conf", {}),
            "consumed_asset_events": [],
            "partition_key": None,
        },
        "task_reschedule_count": 0,
        "max_tries": s.get("max_tries", 0),
        "xcom_keys_to_clear": s.get("xcom_keys_to_clear", []),
        "should_retry": s.get("should_retry", False),
    }


if __name__ == "__main__":
    main()
