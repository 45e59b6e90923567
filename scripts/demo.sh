#!/usr/bin/env bash
# The main job on the embedded default: build airtask and run the example workflow with
# `airtask run` (each task in its own `airtask run-task` process). No AWS account or endpoint
# is needed. State (XComs, task records, task output) goes to .airtask/ in the working directory.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"
bin="$CARGO_TARGET_DIR/release/airtask"
echo "==> building airtask (release) into $bin"
echo "    a cold build (first run: the AWS SDK crates) takes about 27 minutes on 2 cores; later runs take seconds"
# Cargo's own progress: a live bar on a terminal, one line per crate otherwise.
cargo build --release -p airtask
echo
example=examples/hello_world.yaml
echo "\$ airtask validate $example"
"$bin" validate "$example"
echo
# --no-cloudwatch: the demo never ships logs, even when the environment has AWS credentials.
echo "\$ airtask run $example --no-cloudwatch"
"$bin" run "$example" --no-cloudwatch
echo
run_dir=$(ls -td .airtask/hello_world/*/ | head -n 1)
echo "Task records, XCom values and each task's output are under $run_dir."
echo "The task 'flaky' failed its first try and succeeded on the retry; its output, try by try:"
echo "\$ cat ${run_dir}flaky/-1/output.log"
cat "${run_dir}flaky/-1/output.log"
echo "\$ cat ${run_dir}report/-1/output.log"
cat "${run_dir}report/-1/output.log"
echo
echo "The task graph (also --format dot or mermaid):"
echo "\$ airtask graph $example"
"$bin" graph "$example"
