"""The storage interface of bundles and index snapshots, on its directory implementation."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from knowledge.blobs import BlobError, BlobStore, ChecksumError, DirectoryBlobs


def test_put_get_list_delete(tmp_path: Path) -> None:
    blobs: BlobStore = DirectoryBlobs(tmp_path / "shared")
    digest = blobs.put("acme/dense.bin", b"vectors")
    assert digest == hashlib.sha256(b"vectors").hexdigest()
    blobs.put("acme/dense.json", b"{}")
    blobs.put("other/bm25.bin", lambda handle: handle.write(b"terms"))
    assert blobs.get("acme/dense.bin", digest) == b"vectors"
    assert blobs.list("acme") == ["acme/dense.bin", "acme/dense.json"]
    assert blobs.list() == ["acme/dense.bin", "acme/dense.json", "other/bm25.bin"]
    blobs.delete("acme/dense.json")
    blobs.delete("acme/dense.json")  # absent: nothing
    assert blobs.list("acme") == ["acme/dense.bin"]
    with pytest.raises(BlobError, match="not in"):
        blobs.get("acme/dense.json")


def test_a_damaged_copy_fails_its_checksum(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    digest = blobs.put("t/model.bin", b"x" * 1000)
    (tmp_path / "t" / "model.bin").write_bytes(b"x" * 999)  # a partial copy on the mount
    with pytest.raises(ChecksumError, match="does not match its checksum"):
        blobs.get("t/model.bin", digest)
    with pytest.raises(ChecksumError):
        blobs.verify("t/model.bin", digest)
    with pytest.raises(ChecksumError):
        blobs.open("t/model.bin", digest)


def test_open_reads_the_checked_object_from_its_start(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    digest = blobs.put("t/snap.bin", b"y" * (3 << 20))
    with blobs.open("t/snap.bin", digest) as handle:
        assert handle.read() == b"y" * (3 << 20)
    with pytest.raises(BlobError, match="not in"):
        blobs.open("t/absent.bin")


def test_a_failed_put_leaves_the_old_object_and_no_debris(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    digest = blobs.put("t/snap.bin", b"old")

    def broken(handle: BinaryIO) -> None:
        handle.write(b"half of the new")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        blobs.put("t/snap.bin", broken)
    assert blobs.get("t/snap.bin", digest) == b"old"
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["snap.bin"]


@pytest.mark.parametrize("key", ["", "/etc/passwd", "../x", "a/../b", "t/.hidden", "a//b"])
def test_keys_outside_the_store_are_refused(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError, match="not a relative name"):
        DirectoryBlobs(tmp_path).put(key, b"x")


def test_sweep_removes_only_stale_temp_files(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    blobs.put("t/a.bin", b"a")
    stale, fresh = tmp_path / "t" / ".a.bin.1.tmp", tmp_path / "t" / ".a.bin.2.tmp"
    stale.write_bytes(b"crash")
    fresh.write_bytes(b"another replica writing")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    assert blobs.sweep("t", older_than=600) == 1
    assert not stale.exists() and fresh.exists() and blobs.list("t") == ["t/a.bin"]
