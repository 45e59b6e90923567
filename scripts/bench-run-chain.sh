#!/usr/bin/env bash
# `airtask run` of a chain of 20 EmptyOperator tasks against the same 20 `airtask run-task`
# processes started one after another (`perf stat -r N` of each). The run's overhead is what
# it adds: spawning, reacting to each child's exit, reading its record, deciding the next task.
# Target: the run within 1.5x of the sequential processes.
#
#   cargo build --release -p airtask && scripts/bench-run-chain.sh [repeats]
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${CARGO_TARGET_DIR:-target}/release/airtask"
[ -x "$bin" ] || { echo "build it first: cargo build --release -p airtask" >&2; exit 2; }
repeats="${1:-10}"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
wf="$dir/chain.yaml"
{
  echo "chain:"
  echo "  tasks:"
  for i in $(seq -w 0 19); do
    echo "    t$i:"
    echo "      operator: airflow.providers.standard.operators.empty.EmptyOperator"
    [ "$i" = 00 ] || echo "      dependencies: [t$(printf %02d $((10#$i - 1)))]"
  done
} > "$wf"
seq_cmd="for i in \$(seq -w 0 19); do '$bin' run-task '$wf' t\$i --run-id seq --logical-date 2025-03-09 --state-dir '$dir/state' >/dev/null 2>&1; done"
echo "20 run-task processes, one after another:"
perf stat -r "$repeats" sh -c "$seq_cmd" 2>&1 >/dev/null | grep -E "task-clock|elapsed"
echo "airtask run of the 20-task chain:"
perf stat -r "$repeats" "$bin" run "$wf" --run-id run --logical-date 2025-03-09 \
  --state-dir "$dir/state" 2>&1 >/dev/null | grep -E "task-clock|elapsed"
