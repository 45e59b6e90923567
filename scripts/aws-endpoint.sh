#!/usr/bin/env bash
# Install, start and stop the local AWS endpoint (moto server) that airtask's tests talk to.
#
#   scripts/aws-endpoint.sh install        create .venv-aws/ with the pinned moto (once)
#   scripts/aws-endpoint.sh start DIR      start it; writes DIR/port and DIR/pid, prints the URL
#   scripts/aws-endpoint.sh stop DIR       stop the server whose PID is in DIR/pid
#
# Everything lives in the project: the venv in .venv-aws/ (git-ignored), nothing system-wide.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv-aws"
req="$root/scripts/aws-endpoint-requirements.txt"
con="$root/scripts/aws-endpoint-constraints.txt"
stamp="$venv/.airtask-requirements"

install() {
  local want
  want=$(cat "$req" "$con" | sha256sum | cut -d' ' -f1)
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return 0
  fi
  echo "Installing the local AWS endpoint (moto, pinned) into $venv ..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$req" -c "$con"
  echo "$want" > "$stamp"
}

start() {
  local dir=$1
  install
  mkdir -p "$dir"
  rm -f "$dir/port"
  "$venv/bin/python" "$root/scripts/aws_endpoint.py" --port-file "$dir/port" \
    > "$dir/endpoint.log" 2>&1 &
  echo $! > "$dir/pid"
  for _ in $(seq 1 200); do
    if [[ -s "$dir/port" ]]; then
      local url="http://127.0.0.1:$(cat "$dir/port")"
      if python3 - "$url" <<'PY' 2>/dev/null; then
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/moto-api/config", timeout=1).read()
PY
        echo "$url"
        return 0
      fi
    fi
    if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
      echo "The local AWS endpoint exited during start-up; its log:" >&2
      cat "$dir/endpoint.log" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "The local AWS endpoint did not answer within 20 s; its log is $dir/endpoint.log" >&2
  stop "$dir"
  return 1
}

stop() {
  local dir=$1 pid
  [[ -f "$dir/pid" ]] || return 0
  pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

case "${1:-}" in
  install) install ;;
  start) start "${2:?usage: $0 start DIR}" ;;
  stop) stop "${2:?usage: $0 stop DIR}" ;;
  *) echo "usage: $0 install | start DIR | stop DIR" >&2; exit 2 ;;
esac
