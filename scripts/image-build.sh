#!/usr/bin/env bash
# Builds airtask's container image WITHOUT Docker: the same image the Dockerfile describes
# (Debian bookworm, slimmed the way the official debian:bookworm-slim is, CA certificates, the
# non-root user airtask (uid 10001), the stripped release binary as the entrypoint), written
# as an image archive that `docker load -i` and `podman load -i` accept. It then runs the
# binary inside the image's root file system (chroot, as uid 10001) and prints the image's size:
# uncompressed (what `docker image ls` shows) and gzip-compressed (what a registry stores and a
# node pulls).
#
#   scripts/image-build.sh [BINARY] [OUT.tar]
#   scripts/image-build.sh --airflow-baseline [OUT.tar]
#
# BINARY defaults to a release build of the default binary (`cargo build --release -p airtask`);
# OUT defaults to $CARGO_TARGET_DIR/image/airtask-image.tar. Needs root (debootstrap and chroot),
# debootstrap (installed with apt when missing on Debian), python3 and access to
# deb.debian.org. Not part of the test command.
#
# --airflow-baseline builds, for comparison, the smallest image of the same kind that runs the
# same tasks with Airflow's own worker: the same slim Debian base and user, plus Debian's
# python3 and a venv with the stack the tests and benchmarks compare with (Airflow 3.3.2, the
# Amazon provider 9.39.0, dag-factory 1.1.0, every package pinned by
# scripts/airflow-constraints-3.3.2.txt), as one layer; it also needs access to PyPI.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/airtask-target}"
baseline=
if [ "${1:-}" = --airflow-baseline ]; then
  baseline=1
  shift
  out="${1:-$CARGO_TARGET_DIR/image/airflow-baseline-image.tar}"
else
  bin="${1:-}"
  out="${2:-$CARGO_TARGET_DIR/image/airtask-image.tar}"
fi
suite=bookworm
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

die() { echo "image-build: $*" >&2; exit 1; }
# Where skopeo is installed, it reads the archive back both ways and verifies every digest.
check_archive() {
  command -v skopeo >/dev/null 2>&1 || return 0
  skopeo copy -q "docker-archive:$out" "oci:$work/check-docker:x" \
    && skopeo copy -q "oci-archive:$out" "oci:$work/check-oci:x" \
    || die "skopeo cannot read $out back"
  echo "==> skopeo read $out back as a docker archive and as an OCI archive (digests verified)"
}
[ "$(id -u)" = 0 ] || die "debootstrap and chroot need root; run it as root (or use scripts/docker-build.sh where Docker exists)"
if ! command -v debootstrap >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 || die "debootstrap is not installed and there is no apt-get to install it"
  echo "==> installing debootstrap"
  apt-get install -y --no-install-recommends debootstrap >/dev/null
fi
command -v python3 >/dev/null 2>&1 || die "python3 is needed to write the image archive"

if [ -z "$baseline" ] && [ -z "$bin" ]; then
  echo "==> building airtask (release) into $CARGO_TARGET_DIR/release/airtask"
  (cd "$root" && cargo build --release --locked -p airtask)
  bin="$CARGO_TARGET_DIR/release/airtask"
fi
[ -n "$baseline" ] || [ -x "$bin" ] || die "$bin is not an executable file"

work=$(mktemp -d "${TMPDIR:-/tmp}/airtask-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "==> debootstrap --variant=minbase $suite (from $mirror)"
debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }

# What debian:bookworm-slim leaves out: documentation (copyright files stay), manual pages,
# info pages, locales and lintian data; dpkg keeps leaving them out of later installs.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{groff,info,linda,lintian,locale,man}/*

# Commands inside the image run with a clean environment: the host's variables (PIP_*,
# proxies, locale) must not leak into the image or point at the host's files.
in_root() {
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
}
# The same as the image's user, the way the container runs.
as_user() {
  chroot --userspec=10001:10001 "$rootfs" /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin \
    HOME=/home/airtask "$@"
}

echo "==> CA certificates and the user airtask (uid 10001)"
mount -t proc proc "$rootfs/proc"
trap 'umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
in_root apt-get install -y --no-install-recommends ca-certificates >"$work/apt.log" 2>&1 \
  || { tail -n 20 "$work/apt.log" >&2; die "installing ca-certificates failed (log above)"; }
in_root useradd --uid 10001 --create-home --shell /bin/bash airtask
if [ -n "$baseline" ]; then
  echo "==> python3 and a venv with Airflow 3.3.2, the Amazon provider and dag-factory in /opt/airflow"
  # Debian's python3 is 3.11.2 and the pinned soupsieve 4.x wants 3.11.5 or later: that one pin
  # is left to pip (it picks a 3.x soupsieve, a few kB either way).
  grep -v '^soupsieve==' "$root/scripts/airflow-constraints-3.3.2.txt" >"$rootfs/tmp/constraints.txt"
  # A host that reaches PyPI through a TLS-inspecting proxy names its CA bundle in PIP_CERT;
  # pip inside the chroot uses the same bundle (from /tmp, so it stays out of the image).
  pip_cert=
  if [ -n "${PIP_CERT:-}" ] && [ -f "$PIP_CERT" ]; then
    cp "$PIP_CERT" "$rootfs/tmp/pip-cert.pem"
    pip_cert=/tmp/pip-cert.pem
  fi
  in_root apt-get install -y --no-install-recommends python3 python3-venv >>"$work/apt.log" 2>&1 \
    || { tail -n 20 "$work/apt.log" >&2; die "installing python3 failed (log above)"; }
  in_root ${pip_cert:+PIP_CERT=$pip_cert} /bin/sh -c 'python3 -m venv /opt/airflow \
    && /opt/airflow/bin/pip install --quiet --no-cache-dir --disable-pip-version-check --upgrade pip \
    && /opt/airflow/bin/pip install --quiet --no-cache-dir --disable-pip-version-check -c /tmp/constraints.txt \
       apache-airflow==3.3.2 apache-airflow-providers-amazon==9.39.0 dag-factory==1.1.0' >"$work/pip.log" 2>&1 \
    || { mkdir -p "$(dirname "$out")"; cp "$work/pip.log" "${out%.tar}.pip.log"
         tail -n 20 "$work/pip.log" >&2; die "installing Airflow failed (log above; all of it in ${out%.tar}.pip.log)"; }
fi
umount "$rootfs/proc"
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
  "$rootfs"/var/cache/apt/archives/partial/* "$rootfs"/var/log/* "$rootfs"/tmp/* "$rootfs"/proc/* \
  "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old

mkdir -p "$(dirname "$out")"
if [ -n "$baseline" ]; then
  echo "==> checking the image: Airflow's worker module imports, as uid 10001"
  as_user AIRFLOW_HOME=/tmp/airflow /opt/airflow/bin/python -c \
    'import airflow.sdk.execution_time.execute_workload, airflow.providers.amazon, dagfactory; print("airflow", airflow.__version__)'
  rm -rf "$rootfs"/tmp/*
  mv "$rootfs" "$work/airflow-baseline"
  python3 "$root/scripts/image_archive.py" "$out" airflow-baseline:3.3.2 \
    '["/opt/airflow/bin/python", "-m", "airflow.sdk.execution_time.execute_workload"]' "$work/airflow-baseline"
  check_archive
  exit 0
fi

# The binary is a layer of its own, as COPY makes it in the Dockerfile.
app="$work/app"
install -D -m 0755 "$bin" "$app/usr/local/bin/airtask"
strip "$app/usr/local/bin/airtask"

echo "==> checking the image: airtask runs inside it as uid 10001"
install -m 0755 "$app/usr/local/bin/airtask" "$rootfs/usr/local/bin/airtask"
cp "$root/examples/hello_world.yaml" "$rootfs/home/airtask/hello_world.yaml"
as_user /usr/local/bin/airtask --version
as_user /usr/local/bin/airtask validate /home/airtask/hello_world.yaml >/dev/null \
  || die "airtask validate failed inside the image"
rm "$rootfs/usr/local/bin/airtask" "$rootfs/home/airtask/hello_world.yaml"

python3 "$root/scripts/image_archive.py" "$out" airtask:latest '["/usr/local/bin/airtask"]' "$rootfs" "$app"
check_archive
