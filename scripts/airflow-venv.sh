#!/usr/bin/env bash
# Installs a pinned Apache Airflow (with dag-factory) into a project-local venv, for the tests
# and the benchmark that run airtask under a real Airflow scheduler.
#
#   scripts/airflow-venv.sh [VERSION]     create .venv-airflow-<VERSION>/ (default 3.3.2), once
#
# Prints the venv's path. Everything lives in the project (git-ignored), nothing system-wide.
# Every package is pinned by scripts/airflow-constraints-<VERSION>.txt (the role Airflow's own
# constraints files play: the versions the last passing run of the tests installed, on Python
# 3.11), so a new release of any dependency cannot change what the tests run against.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
version="${1:-3.3.2}"
venv="$root/.venv-airflow-$version"
want="apache-airflow==$version dag-factory==1.1.0 apache-airflow-providers-amazon==9.39.0"
constraints="$root/scripts/airflow-constraints-$version.txt"
if [[ ! -f "$constraints" ]]; then
  echo "scripts/airflow-venv.sh: no constraints file for Airflow $version ($constraints); the" \
    "pinned versions are 3.3.2 and 3.1.8" >&2
  exit 2
fi
want="$want $(sha256sum "$constraints" | cut -c1-16)"
stamp="$venv/.airtask-requirements"
if [[ -x "$venv/bin/airflow" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv"
  exit 0
fi
echo "Installing $want into $venv ..." >&2
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
# shellcheck disable=SC2086
"$venv/bin/pip" install --quiet --disable-pip-version-check -c "$constraints" ${want% *} >&2
echo "$want" >"$stamp"
echo "$venv"
