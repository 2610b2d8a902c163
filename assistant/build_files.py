"""The files of a build on disk: written durably with their checksums, and verified before use.

Split from store.py, which decides what a build holds; this module only makes sure that what is read
back is byte for byte what was written, and that its vectors can give sane scores.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

MANIFEST = "manifest.json"
BUILD_FILES = ("chunks.faiss", "sentences.faiss", "documents.json", "chunks.json", "derived.json", "derived.npz")
# Stored vectors are unit length, so every inner-product score lies in [-1, 1]; a vector longer than
# this (or not finite) can only come from damage, and would make a wrong passage win.
MAX_VECTOR_NORM = 1.01


def write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def write_json(path: Path, data) -> bytes:
    """Write `data` as JSON; returns the bytes written, so their checksum is of exactly what is on disk."""
    encoded = json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8")
    write_bytes(path, encoded)
    return encoded


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (a crash after the switch must not undo it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def checksum(data: bytes) -> dict:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def verify_build(build: Path, manifest: dict) -> list[str]:
    """What is wrong with the files of a build (each problem names its file); empty when all match
    the sizes and sha256 checksums recorded in the manifest."""
    return read_and_verify(build, manifest)[0]


def read_and_verify(build: Path, manifest: dict) -> tuple[list[str], dict[str, bytes]]:
    """The problems of a build's files, and the bytes of the files that passed (read once)."""
    checksums = manifest.get("checksums")
    if not isinstance(checksums, dict):
        return [f"{build / MANIFEST} has no checksums (built by an older version)"], {}
    problems, contents = [], {}
    for name in BUILD_FILES:
        path = build / name
        expected = checksums.get(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            problems.append(f"{path} is missing")
            continue
        except OSError as exc:
            problems.append(f"{path} cannot be read ({exc.strerror or exc})")
            continue
        if not isinstance(expected, dict) or expected.get("bytes") is None:
            problems.append(f"{path} has no checksum in the manifest")
        elif len(data) != expected["bytes"]:
            problems.append(f"{path} is truncated or padded ({len(data)} bytes, {expected['bytes']} written)")
        elif hashlib.sha256(data).hexdigest() != expected.get("sha256"):
            problems.append(f"{path} is corrupted (its sha256 does not match the one written)")
        else:
            contents[name] = data
    return problems, contents


def sane_norms(vectors: np.ndarray) -> bool:
    vectors = np.asarray(vectors)
    # In blocks: the float64 copy (huge values must not overflow) of a whole index would double its memory.
    for start in range(0, len(vectors), 4096):
        norms = np.linalg.norm(vectors[start : start + 4096].astype(np.float64), axis=1)
        if not (np.all(np.isfinite(norms)) and norms.max() <= MAX_VECTOR_NORM):
            return False
    return True
