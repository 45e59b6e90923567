#!/usr/bin/env python3
"""Writes a container image archive from layer directories, for scripts/image-build.sh.

    image_archive.py OUT.tar TAG ENTRYPOINT_JSON LAYER_DIR [LAYER_DIR ...]

Each directory becomes one layer (in order, the first at the bottom). The archive holds the OCI
image layout (oci-layout, index.json, blobs/sha256/...) and Docker's manifest.json beside it, the
way `docker save` writes it, so both `docker load -i` and `podman load -i` accept it. The image
runs ENTRYPOINT_JSON (e.g. '["/usr/local/bin/airtask"]') as the user airtask in /home/airtask,
as the Dockerfile's does, and is tagged TAG (e.g. airtask:latest).

Prints each layer's size uncompressed and gzip-compressed, and the totals: uncompressed is what
`docker image ls` shows; compressed is what a registry stores and what a node pulls.
"""

import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import zlib

# Fixed timestamp: the same inputs give the same archive (no build time inside it).
EPOCH = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
# Mount points that stay empty in an image.
EMPTY = {"dev", "proc", "sys"}


def layer_tar(src: str, dst) -> None:
    """Writes the directory `src` as an uncompressed layer tar into the open file `dst`."""
    with tarfile.open(fileobj=dst, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(src):
            rel_dir = os.path.relpath(dirpath, src)
            dirnames.sort()
            if rel_dir == ".":
                # Keep /dev, /proc and /sys as empty directories.
                for name in [d for d in dirnames if d in EMPTY]:
                    tar.add(os.path.join(dirpath, name), arcname=name, recursive=False)
                dirnames[:] = [d for d in dirnames if d not in EMPTY]
            for name in dirnames + sorted(filenames):
                path = os.path.join(dirpath, name)
                arc = name if rel_dir == "." else os.path.join(rel_dir, name)
                # os.walk does not follow symlinks to directories; they are added as links.
                tar.add(path, arcname=arc, recursive=False)


def digest_and_gzip_size(path: str) -> tuple:
    """The file's sha256 and the size of its gzip compression (level 6, as docker push uses)."""
    sha = hashlib.sha256()
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    gz = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            sha.update(chunk)
            gz += len(comp.compress(chunk))
    gz += len(comp.flush())
    return sha.hexdigest(), gz


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = EPOCH
    tar.addfile(info, io.BytesIO(data))


def main() -> int:
    if len(sys.argv) < 5:
        print("usage: " + __doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    out, tag, entrypoint, layer_dirs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4:]
    version = tag.partition(":")[2]
    tmp = tempfile.mkdtemp(prefix="airtask-layers.")
    layers = []
    for i, src in enumerate(layer_dirs):
        path = os.path.join(tmp, f"layer{i}.tar")
        with open(path, "wb") as f:
            layer_tar(src, f)
        sha, gz = digest_and_gzip_size(path)
        layers.append({"path": path, "sha": sha, "size": os.path.getsize(path), "gzip": gz})

    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {
            "User": "airtask",
            "WorkingDir": "/home/airtask",
            "Entrypoint": entrypoint,
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{l['sha']}" for l in layers]},
        "history": [{"created_by": f"scripts/image-build.sh: {os.path.basename(d.rstrip('/'))}"}
                    for d in layer_dirs],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_sha = hashlib.sha256(config_bytes).hexdigest()
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": f"sha256:{config_sha}", "size": len(config_bytes)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{l['sha']}", "size": l["size"]} for l in layers],
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()
    manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": f"sha256:{manifest_sha}", "size": len(manifest_bytes),
                       "annotations": {"io.containerd.image.name": f"docker.io/library/{tag}",
                                       "org.opencontainers.image.ref.name": version or "latest"}}],
    }
    docker_manifest = [{"Config": f"blobs/sha256/{config_sha}",
                        "RepoTags": [tag],
                        "Layers": [f"blobs/sha256/{l['sha']}" for l in layers]}]

    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        add_bytes(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add_bytes(tar, "index.json", json.dumps(index).encode())
        add_bytes(tar, "manifest.json", json.dumps(docker_manifest).encode())
        add_bytes(tar, f"blobs/sha256/{config_sha}", config_bytes)
        add_bytes(tar, f"blobs/sha256/{manifest_sha}", manifest_bytes)
        for l in layers:
            info = tar.gettarinfo(l["path"], arcname=f"blobs/sha256/{l['sha']}")
            info.mtime = EPOCH
            with open(l["path"], "rb") as f:
                tar.addfile(info, f)
    for l in layers:
        os.remove(l["path"])
    os.rmdir(tmp)

    mib = 1024 * 1024
    for src, l in zip(layer_dirs, layers):
        print(f"layer {os.path.basename(src.rstrip('/'))}: {l['size'] / mib:.1f} MiB uncompressed, "
              f"{l['gzip'] / mib:.1f} MiB gzip")
    total, total_gz = sum(l["size"] for l in layers), sum(l["gzip"] for l in layers)
    print(f"image {tag}: {total / mib:.1f} MiB uncompressed ({total} bytes), "
          f"{total_gz / mib:.1f} MiB compressed ({total_gz} bytes)")
    print(f"written to {out} (docker load -i {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
