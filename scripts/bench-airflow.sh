#!/usr/bin/env bash
# Worker cost per task under the same Airflow scheduler: airtask against Airflow's own
# `python -m airflow.sdk.execution_time.execute_workload`, both started by the test executor
# (tests/airflow/airtask_executor.py) with exactly KubernetesExecutor's argv.
#
#   scripts/bench-airflow.sh [RUNS] [AIRFLOW_VERSION]     (default 3 runs, Airflow 3.3.2)
#   AIRTASK_BIN=path/to/airtask scripts/bench-airflow.sh   (that binary instead of a release build)
#   RUSAGE_WRAP=path/to/rusage-wrap ...                    (a rusage-wrap built already)
#
# Starts api-server, scheduler and dag-processor on loopback (SQLite) in a temporary home,
# triggers RUNS runs of a DAG of three tasks (Empty is skipped by Airflow's scheduler, so the
# tasks are Bash), once per worker, and prints the median CPU seconds (user+sys of the worker
# and its children), wall seconds (process start to exit) and peak RSS per task. Each worker is
# started through benches/bin/rusage_wrap.rs: a process forked straight from the Python
# scheduler would report the scheduler's peak RSS as its own (ru_maxrss survives execve).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs="${1:-3}"
version="${2:-3.3.2}"
venv=$("$root/scripts/airflow-venv.sh" "$version")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"
if [[ -n "${AIRTASK_BIN:-}" ]]; then
  # A binary built already (a debug build measures an upper bound of airtask's cost).
  bin="$AIRTASK_BIN"
  echo "bench-airflow: measuring $bin" >&2
else
  cargo build --quiet --release -p airtask --manifest-path "$root/Cargo.toml"
  bin="$CARGO_TARGET_DIR/release/airtask"
fi

if [[ -n "${RUSAGE_WRAP:-}" ]]; then
  export AIRTASK_EXECUTOR_WRAP="$RUSAGE_WRAP"
else
  cargo build --quiet --release -p airtask-benches --bin rusage-wrap --manifest-path "$root/Cargo.toml"
  export AIRTASK_EXECUTOR_WRAP="$CARGO_TARGET_DIR/release/rusage-wrap"
fi

home=$(mktemp -d "${TMPDIR:-/tmp}/airtask-bench-airflow.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
  rm -rf "$home"
}
trap cleanup EXIT INT TERM

mkdir -p "$home/dags"
cat >"$home/dags/bench.yaml" <<'YAML'
bench:
  default_args: {start_date: 2025-01-01}
  schedule: null
  catchup: false
  tasks:
    a:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo a {{ ds }}"
    b:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo b {{ ti.xcom_pull(task_ids='a') }}"
      dependencies: [a]
    c:
      operator: airflow.providers.standard.operators.bash.BashOperator
      bash_command: "echo c"
      dependencies: [a]
YAML
printf '# An Airflow DAG file: dag-factory builds the DAGs of the YAML beside it.\nfrom dagfactory import load_yaml_dags\n\nload_yaml_dags(globals_dict=globals())\n' >"$home/dags/loader.py"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
api="http://127.0.0.1:$port"
export AIRFLOW_HOME="$home" PYTHONPATH="$root/tests/airflow"
export AIRFLOW__CORE__EXECUTOR=airtask_executor.AirtaskExecutor
export AIRFLOW__CORE__DAGS_FOLDER="$home/dags" AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$home/airflow.db"
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="$api/execution/" AIRFLOW__API__BASE_URL="$api"
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=True
export AIRFLOW__API_AUTH__JWT_SECRET="airtask-bench-$port-0123456789abcdef"
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=1 AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False AIRFLOW__LOGGING__BASE_LOG_FOLDER="$home/logs"
export AIRTASK_BIN="$bin"

"$venv/bin/airflow" db migrate >"$home/migrate.log" 2>&1
start() { setsid "$venv/bin/airflow" "$@" </dev/null >"$home/$1.log" 2>&1 & pids+=($!); }
start api-server --port "$port" --host 127.0.0.1 --workers 1
start scheduler
start dag-processor
for _ in $(seq 300); do
  curl -sf "$api/api/v2/dags/bench" >/dev/null && break
  sleep 1
done

bench_mode() {
  local mode=$1
  export AIRTASK_EXECUTOR_MODE=$mode AIRTASK_EXECUTOR_STATS="$home/stats-$mode.jsonl"
  # The scheduler reads the mode when it starts a worker; restart it with this environment.
  kill -KILL -- "-${pids[1]}" 2>/dev/null || true
  start scheduler
  pids[1]=${pids[-1]}
  # Airflow refuses a second run of a DAG with the same logical date: one month per mode.
  local month=03
  [[ "$mode" == python ]] && month=04
  for i in $(seq "$runs"); do
    curl -sf -X POST "$api/api/v2/dags/bench/dagRuns" -H 'Content-Type: application/json' \
      -d "{\"dag_run_id\": \"$mode-$i\", \"logical_date\": \"2025-${month}-$(printf %02d "$i")T00:00:00Z\"}" >/dev/null \
      || { echo "bench-airflow: Airflow refused the run $mode-$i" >&2; exit 1; }
    for _ in $(seq 600); do
      state=$(curl -sf "$api/api/v2/dags/bench/dagRuns/$mode-$i" | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
      [[ "$state" == success || "$state" == failed ]] && break
      sleep 1
    done
    echo "$mode run $i: $state" >&2
  done
}
bench_mode airtask
bench_mode python

python3 - "$home" <<'PY'
import json, statistics, sys
home = sys.argv[1]
def load(mode):
    with open(f"{home}/stats-{mode}.jsonl") as f:
        return [json.loads(l) for l in f]
rows = {m: load(m) for m in ("airtask", "python")}
print(f"{'worker':<28} {'tasks':>5} {'CPU s/task':>11} {'wall s/task':>12} {'peak RSS MiB':>13}")
med = {}
for m, label in (("airtask", "airtask"), ("python", "execute_workload (Python)")):
    r = rows[m]
    cpu = statistics.median(x["cpu_s"] for x in r)
    wall = statistics.median(x["wall_s"] for x in r)
    rss = statistics.median(x["maxrss_kib"] for x in r) / 1024
    med[m] = cpu
    print(f"{label:<28} {len(r):>5} {cpu:>11.3f} {wall:>12.2f} {rss:>13.1f}")
if med["airtask"] > 0:
    print(f"CPU per task: Python / airtask = {med['python'] / med['airtask']:.0f}x")
PY
