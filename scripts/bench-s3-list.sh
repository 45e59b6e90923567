#!/usr/bin/env bash
# The S3ListOperator benchmark: starts a local AWS endpoint of its own, builds the release
# binary, and runs benches/benches/s3_list_operator.rs against it (10,000 keys; filling the
# bucket takes about half a minute).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/airtask-bench.XXXXXX")
cleanup() {
  scripts/aws-endpoint.sh stop "$run_dir" || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

cargo build --release -p airtask
url=$(scripts/aws-endpoint.sh start "$run_dir")
export AWS_ENDPOINT_URL="$url"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE
cargo bench -p airtask-benches --bench s3_list_operator
