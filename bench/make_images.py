#!/usr/bin/env python3
"""Build synthetic OCI images into an OCI layout, for bench/mirror.sh.

Usage:
  make_images.py LAYOUT_DIR --images N [--base-kib K] [--own-kib K]
                 [--multi-every M] [--prefix NAME] [--seed S]

Writes (or adds to) an OCI image layout (`oci-layout`, `index.json`,
`blobs/sha256/*`) with N images tagged `<prefix>-00`, `<prefix>-01`, ... (the
`org.opencontainers.image.ref.name` annotation, so `skopeo copy
oci:LAYOUT_DIR:<prefix>-07 docker://...` pushes one of them).

Every image has one base layer shared by all N images (`--base-kib`, 0 for
none), its own layer (`--own-kib`) and its own config. Every M-th image
(`--multi-every M`, 0 for none) is an OCI index of two platforms (amd64,
arm64), each with the shared base layer plus its own layer and config.

Layers are uncompressed tars (`application/vnd.oci.image.layer.v1.tar`) holding
one file of seeded pseudo-random, incompressible bytes, so the digest equals
the diff_id and the same arguments always give the same digests. Layers are
generated and hashed in 1 MiB pieces straight to disk: a 1 GiB layer needs a
few MiB of memory.

Prints one JSON object on stdout: the tags, the unique blob (layer + config)
bytes and count the images reference, and the digest and size of the largest
layer (for raw blob-copy baselines).
"""

import argparse
import hashlib
import io
import json
import os
import random
import sys
import tarfile

CHUNK = 1 << 20

MT_LAYER = "application/vnd.oci.image.layer.v1.tar"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_INDEX = "application/vnd.oci.image.index.v1+json"


class RandomReader(io.RawIOBase):
    """A file-like object yielding `size` seeded pseudo-random bytes, piece by piece."""

    def __init__(self, seed, size):
        self.rng = random.Random(seed)
        self.left = size

    def readable(self):
        return True

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.left
        n = min(n, self.left, CHUNK)
        self.left -= n
        return self.rng.randbytes(n)


class HashingWriter(io.RawIOBase):
    """Writes to a file while hashing and counting what passes through."""

    def __init__(self, f):
        self.f = f
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self):
        return True

    def write(self, b):
        self.f.write(b)
        self.sha.update(b)
        self.size += len(b)
        return len(b)


class Layout:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            f.write('{"imageLayoutVersion":"1.0.0"}')
        self.index_path = os.path.join(root, "index.json")
        if os.path.exists(self.index_path):
            with open(self.index_path) as f:
                self.index = json.load(f)
        else:
            self.index = {"schemaVersion": 2, "manifests": []}

    def _commit(self, tmp, digest_hex):
        final = os.path.join(self.blobs, digest_hex)
        os.replace(tmp, final)
        return "sha256:" + digest_hex

    def put_bytes(self, data):
        digest_hex = hashlib.sha256(data).hexdigest()
        path = os.path.join(self.blobs, digest_hex)
        if not os.path.exists(path):
            with open(path + ".tmp", "wb") as f:
                f.write(data)
            self._commit(path + ".tmp", digest_hex)
        return "sha256:" + digest_hex, len(data)

    def put_layer(self, seed, size):
        """A tar with one file of `size` random bytes; returns (digest, size)."""
        tmp = os.path.join(self.blobs, f".layer-{seed}.tmp")
        with open(tmp, "wb") as f:
            w = HashingWriter(f)
            with tarfile.open(fileobj=w, mode="w|", format=tarfile.USTAR_FORMAT) as tar:
                info = tarfile.TarInfo(f"data/blob-{seed}.bin")
                info.size = size
                info.mtime = 0
                info.mode = 0o644
                tar.addfile(info, RandomReader(seed, size))
        return self._commit(tmp, w.sha.hexdigest()), w.size

    def tag(self, name, media_type, digest, size):
        self.index["manifests"] = [
            m for m in self.index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != name
        ]
        self.index["manifests"].append({
            "mediaType": media_type, "digest": digest, "size": size,
            "annotations": {"org.opencontainers.image.ref.name": name},
        })

    def save(self):
        with open(self.index_path, "w") as f:
            json.dump(self.index, f)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("layout")
    p.add_argument("--images", type=int, required=True)
    p.add_argument("--base-kib", type=int, default=0)
    p.add_argument("--own-kib", type=int, default=4)
    p.add_argument("--multi-every", type=int, default=0)
    p.add_argument("--prefix", default="img")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv[1:])

    layout = Layout(args.layout)
    unique = {}  # digest -> size, layers and configs
    largest = ("", 0)

    def blob(digest, size):
        nonlocal largest
        unique[digest] = size
        if size > largest[1]:
            largest = (digest, size)
        return {"digest": digest, "size": size}

    base = None
    if args.base_kib > 0:
        base = layout.put_layer(args.seed * 1_000_000, args.base_kib * 1024)

    def image(seed, arch):
        layers = []
        if base:
            layers.append(blob(*base))
        layers.append(blob(*layout.put_layer(seed, args.own_kib * 1024)))
        config = {
            "architecture": arch, "os": "linux",
            "config": {"Labels": {"bench.seed": str(seed)}},
            "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
        }
        config_desc = blob(*layout.put_bytes(json.dumps(config, sort_keys=True).encode()))
        manifest = {
            "schemaVersion": 2, "mediaType": MT_MANIFEST,
            "config": {"mediaType": MT_CONFIG, **config_desc},
            "layers": [{"mediaType": MT_LAYER, **l} for l in layers],
        }
        return layout.put_bytes(json.dumps(manifest, sort_keys=True).encode())

    tags = []
    for i in range(args.images):
        name = f"{args.prefix}-{i:02d}"
        seed = args.seed * 1_000_000 + (i + 1) * 10
        if args.multi_every and i % args.multi_every == args.multi_every - 1:
            children = []
            for j, arch in enumerate(["amd64", "arm64"]):
                digest, size = image(seed + j, arch)
                children.append({"mediaType": MT_MANIFEST, "digest": digest, "size": size,
                                 "platform": {"architecture": arch, "os": "linux"}})
            index = {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": children}
            digest, size = layout.put_bytes(json.dumps(index, sort_keys=True).encode())
            layout.tag(name, MT_INDEX, digest, size)
            tags.append({"tag": name, "digest": digest, "platforms": 2})
        else:
            digest, size = image(seed, "amd64")
            layout.tag(name, MT_MANIFEST, digest, size)
            tags.append({"tag": name, "digest": digest, "platforms": 1})
    layout.save()

    json.dump({
        "tags": tags,
        "unique_blob_bytes": sum(unique.values()),
        "unique_blobs": len(unique),
        "largest_layer": {"digest": largest[0], "size": largest[1]},
    }, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
