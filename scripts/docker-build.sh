#!/usr/bin/env bash
# Builds airtask's container image (Dockerfile at the repository's root) where Docker exists,
# and prints its size. Not part of the test command: the tests never need Docker.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tag="${1:-airtask:latest}"
if ! command -v docker >/dev/null 2>&1; then
  echo "docker-build: Docker is not installed here; the image cannot be built on this machine" >&2
  exit 1
fi
docker build -t "$tag" "$root"
docker image inspect "$tag" --format 'image {{.RepoTags}}: {{.Size}} bytes'
docker run --rm "$tag" --version
