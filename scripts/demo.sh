#!/usr/bin/env bash
# The main job on the embedded default: build airtask and run it on the example workflow, which
# needs no AWS account. Today that is `validate` and `tasks`; running tasks arrives with the
# run-task issue.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"
cargo build --release --quiet -p airtask
bin="$CARGO_TARGET_DIR/release/airtask"
example=examples/hello_airtask.yaml
echo "\$ airtask validate $example"
"$bin" validate "$example"
echo
echo "\$ airtask tasks $example"
"$bin" tasks "$example"
