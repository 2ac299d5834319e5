"""Handing freed memory back to the operating system after a bulk load.

Loading or rebuilding an index allocates large temporary numpy arrays. glibc serves arrays under its
mmap threshold (which rises up to 32 MiB as large blocks are freed) from the heap, and a freed heap
block stays part of the process's resident memory until ``malloc_trim`` returns it. Measured on the
BM25 index of 103,722 documents in a fresh process: 190 MiB resident after loading, of which 153 MiB
free heap that ``malloc_trim(0)`` returned (37 MiB in use).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from functools import cache
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


@cache
def _libc() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> bool:
    """Return the heap's free memory to the operating system (glibc); False where not available."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


_INT32 = np.iinfo(np.int32)


def row_array(rows: np.ndarray) -> np.ndarray:
    """Database row ids (and -1 marks) as int32 while every one fits, int64 otherwise: half the bytes
    of the row maps an index keeps per row (7.7 MiB less each at 1M rows)."""
    rows = np.asarray(rows)
    if rows.dtype == np.int32:
        return rows
    if len(rows) == 0 or (int(rows.max()) <= _INT32.max and int(rows.min()) >= _INT32.min):
        return rows.astype(np.int32)
    return rows.astype(np.int64, copy=False)


def find_sorted(sorted_rows: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of ``rows`` is in the non-empty ascending ``sorted_rows`` (the last position when
    past it), and whether it is there. Searched in the array's own type: given int64 rows, numpy
    would convert a whole int32 array to int64 on every call."""
    rows = np.asarray(rows, dtype=np.int64)
    probe = rows
    if sorted_rows.dtype != np.int64:
        info = np.iinfo(sorted_rows.dtype)
        probe = np.clip(rows, info.min, info.max).astype(sorted_rows.dtype)
    at = np.minimum(np.searchsorted(sorted_rows, probe), len(sorted_rows) - 1)
    return at, sorted_rows[at] == rows
