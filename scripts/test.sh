#!/usr/bin/env bash
# The test command: everything CI checks, runnable from a clean checkout.
#
# Installs the local AWS endpoint when missing, starts it on 127.0.0.1 on a free port, points the
# AWS SDK at it with dummy credentials, runs fmt, clippy and every test of the workspace, and
# stops the endpoint by its PID whether the tests pass or not.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"

# The real-Airflow tests (tests/airflow_real.rs: Airflow 3.3.2 and 3.1.8 schedulers, the Task
# SDK's own supervisor) run last, one at a time, after everything else: a few minutes, plus the
# pinned Airflow venvs (scripts/airflow-venv.sh) the first time. `--no-airflow` leaves them out
# for a quicker loop; `--airflow` is accepted for older instructions (it is the default now).
airflow=1
case "${1:-}" in
  --no-airflow) airflow=0; shift ;;
  --airflow) shift ;;
esac

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/airtask-test.XXXXXX")
cleanup() {
  scripts/aws-endpoint.sh stop "$run_dir" || true
  rm -rf "$run_dir"
}
trap cleanup EXIT INT TERM

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --all --check"
cargo fmt --all --check

# Headless Chromium for the report test and Graphviz for the graph test (tests/pictures.rs),
# from Debian's packages. Where they cannot be installed (not root, no apt), those tests say so
# and check the page's HTML and the dot text only.
pkgs=()
[ -x /usr/bin/chromium ] || pkgs+=(chromium)
command -v dot >/dev/null 2>&1 || pkgs+=(graphviz)
if [ ${#pkgs[@]} -gt 0 ]; then
  step "installing Debian's ${pkgs[*]} for the picture tests"
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null) \
      || echo "could not install ${pkgs[*]}: the picture tests will say what they skipped" >&2
  else
    echo "not root or no apt-get: ${pkgs[*]} cannot be installed; the picture tests will say what they skipped" >&2
  fi
fi

step "starting the local AWS endpoint"
url=$(scripts/aws-endpoint.sh start "$run_dir")
echo "local AWS endpoint: $url (pid $(cat "$run_dir/pid"))" >&2
export AWS_ENDPOINT_URL="$url"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
# Never let a developer's own AWS profile or config leak into a test run.
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE
# Every try checks its AWS calls against its operator's declared permissions (issue 19): an
# action an operator calls but does not declare fails the try, so every end-to-end test of an
# operator also proves its declaration complete.
export AIRTASK_CHECK_PERMISSIONS=1

step "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test --workspace"
cargo test --workspace "$@"

if [ "$airflow" = 1 ]; then
  step "installing the pinned Airflow venvs (scripts/airflow-venv.sh 3.3.2, 3.1.8)"
  scripts/airflow-venv.sh 3.3.2 >/dev/null
  scripts/airflow-venv.sh 3.1.8 >/dev/null
  step "the real-Airflow tests (tests/airflow_real.rs), one at a time"
  AIRTASK_AIRFLOW_TESTS=1 cargo test --workspace --test e2e -- airflow_real:: --ignored --test-threads=1
fi
