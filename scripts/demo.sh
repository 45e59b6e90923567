#!/usr/bin/env bash
# The main job on the embedded default: build airtask and run the example workflow with
# `airtask run` (each task in its own `airtask run-task` process). No AWS account or endpoint
# is needed. State (XComs, task records, task output) goes to .airtask/ in the working directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"
cargo build --release --quiet -p airtask
bin="$CARGO_TARGET_DIR/release/airtask"
example=examples/hello_world.yaml
echo "\$ airtask validate $example"
"$bin" validate "$example"
echo
# --no-cloudwatch: the demo never ships logs, even when the environment has AWS credentials.
echo "\$ airtask run $example --no-cloudwatch"
"$bin" run "$example" --no-cloudwatch
echo
run_dir=$(ls -td .airtask/hello_world/*/ | head -n 1)
echo "Task records, XCom values and each task's output are under $run_dir, e.g.:"
echo "\$ cat ${run_dir}report/-1/output.log"
cat "${run_dir}report/-1/output.log"
