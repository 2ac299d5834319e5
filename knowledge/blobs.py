"""Where model bundles and index snapshots are shared: a small storage interface and its directory.

Replicas read bundles and index snapshots from one configurable location (``bundles_dir``, the
snapshot folder), which may be a network mount. Everything they need from it is five calls, so that
object storage (S3, GCS, Azure) can follow with a class of its own:

- ``put(key, data)``: write atomically (a reader sees the old object or the new one, never a part)
  and return the SHA-256 of what was stored;
- ``get(key, sha256)``: the bytes, verified against the checksum recorded when they were written
  (:class:`ChecksumError` when a copy is partial or damaged);
- ``open(key, sha256)``: the same, verified, as a readable file (a 1M-vector index snapshot is
  streamed into FAISS from it rather than held whole in memory beside the index; object storage
  can hand back a spooled temporary file);
- ``list(prefix)`` and ``delete(key)``.

Keys are ``/``-separated relative names (``<tenant>/<component>.bin``); ``..``, absolute names and
names starting with a dot (temp files) are refused.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

Data = bytes | Callable[[BinaryIO], None]


class BlobError(OSError):
    """An object is missing or cannot be read or written."""


class ChecksumError(BlobError):
    """An object's bytes do not match the checksum recorded when it was written."""


class BlobStore(Protocol):
    """Bundles' and snapshots' storage: a directory (``DirectoryBlobs``) today, object storage later."""

    def put(self, key: str, data: Data) -> str:
        """Store ``data`` (bytes, or a function streaming into a file) atomically; its SHA-256."""
        ...

    def get(self, key: str, sha256: str | None = None) -> bytes:
        """The object's bytes, checked against ``sha256`` when given; BlobError when absent."""
        ...

    def open(self, key: str, sha256: str | None = None) -> BinaryIO:
        """The object as a readable, seekable file (large snapshots are read without a whole copy in
        memory), checked against ``sha256`` when given; the caller closes it."""
        ...

    def list(self, prefix: str = "") -> list[str]:
        """Keys under ``prefix`` (a folder-like ``tenant/``), sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object (nothing if it is absent)."""
        ...


def _check_key(key: str) -> str:
    parts = key.split("/")
    if not key or key.startswith("/") or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        raise ValueError(f"blob key {key!r} is not a relative name of the form 'folder/name'")
    return key


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # a file system without directory handles (some network mounts)
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class DirectoryBlobs:
    """Objects as files under ``root`` (a local folder or a network mount shared by the replicas).

    ``put`` writes a temp file beside the target, fsyncs it, renames it over the target and fsyncs
    the folder; temp files are named ``.<name>.<random>.tmp`` and swept by :meth:`sweep`.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of a key (local readers that need a path, e.g. an ONNX model folder)."""
        return self.root / _check_key(key)

    def put(self, key: str, data: Data) -> str:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            digest = hashlib.sha256()
            with os.fdopen(fd, "w+b") as handle:
                if callable(data):
                    data(handle)
                else:
                    handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
                # Hashed as it lies on disk (a streamed zip seeks back to fill in its headers).
                handle.seek(0)
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(path.parent)
        return digest.hexdigest()

    def get(self, key: str, sha256: str | None = None) -> bytes:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobError(f"{key} is not in {self.root}") from exc
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise ChecksumError(
                f"{key} in {self.root} does not match its checksum (a partial or damaged copy)"
            )
        return data

    def open(self, key: str, sha256: str | None = None) -> BinaryIO:
        # Hashed through the handle that is then read: a replica renaming a new snapshot over this
        # one in between changes neither what was checked nor what is read.
        try:
            handle = self.path(key).open("rb")
        except FileNotFoundError as exc:
            raise BlobError(f"{key} is not in {self.root}") from exc
        if sha256 is not None:
            digest = hashlib.sha256()
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            if digest.hexdigest() != sha256:
                handle.close()
                raise ChecksumError(
                    f"{key} in {self.root} does not match its checksum (a partial or damaged copy)"
                )
            handle.seek(0)
        return handle

    def verify(self, key: str, sha256: str) -> None:
        """Check an object against its checksum without holding it in memory (large bundle files)."""
        digest = hashlib.sha256()
        try:
            with self.path(key).open("rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
        except FileNotFoundError as exc:
            raise BlobError(f"{key} is not in {self.root}") from exc
        if digest.hexdigest() != sha256:
            raise ChecksumError(
                f"{key} in {self.root} does not match its checksum (a partial or damaged copy)"
            )

    def list(self, prefix: str = "") -> list[str]:
        folder = self.root / prefix.rstrip("/") if prefix else self.root
        if not folder.is_dir():
            return []
        keys = []
        for path in folder.rglob("*"):
            relative = path.relative_to(self.root).as_posix()
            if path.is_file() and not any(p.startswith(".") for p in relative.split("/")):
                keys.append(relative)
        return sorted(keys)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def sweep(self, prefix: str, older_than: float) -> int:
        """Delete temp files a crash left under ``prefix`` (older than ``older_than`` seconds: a fresh
        one may be another replica's write in progress); how many."""
        folder = self.root / prefix.rstrip("/") if prefix else self.root
        if not folder.is_dir():
            return 0
        now, swept = time.time(), 0
        for path in folder.iterdir():
            if path.name.startswith(".") and path.is_file():
                try:
                    if now - path.stat().st_mtime > older_than:
                        path.unlink(missing_ok=True)
                        swept += 1
                except FileNotFoundError:
                    pass
        return swept
