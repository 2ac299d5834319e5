from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from knowledge import index as index_module
from knowledge.index import IndexSnapshots, VectorIndex


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_round_trips_through_bytes(kind: str) -> None:
    vectors = _vectors(50)
    index = VectorIndex(16, kind)
    index.upsert(np.arange(100, 150), vectors)
    index.remove(np.array([101]))
    copy = VectorIndex.from_bytes(index.to_bytes())
    assert copy.kind == kind and len(copy) == 49
    _, ids = copy.search(vectors[7], 1)
    assert ids[0][0] == 107
    assert 101 not in copy.search(vectors[1], 49)[1][0]
    np.testing.assert_allclose(copy.centre(0), index.centre(0), atol=1e-6)


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_update_and_delete_never_return_stale_rows(kind: str) -> None:
    vectors = _vectors(200)
    index = VectorIndex(16, kind)
    index.upsert(np.arange(200), vectors)
    index.upsert(np.array([5]), vectors[150:151])  # row 5 now looks like row 150
    index.remove(np.arange(100, 150))
    assert len(index) == 150
    scores, ids = index.search(vectors[5], 5)
    assert 5 not in ids[0][:1] or scores[0][0] < 0.999  # its old vector is gone
    _, ids = index.search(vectors[150], 2)
    assert set(ids[0]) == {5, 150}
    _, ids = index.search(vectors[120], 150)
    assert not set(range(100, 150)) & set(ids[0].tolist())
    assert len(set(ids[0].tolist())) == 150


def test_hnsw_rebuilds_after_many_tombstones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "REBUILD_SHARE", 0.2)
    vectors = _vectors(100)
    index = VectorIndex(16, "hnsw")
    index.upsert(np.arange(100), vectors)
    index.remove(np.arange(15))
    assert index.tombstones == 15
    index.remove(np.arange(15, 30))
    assert index.tombstones == 0 and len(index) == 70
    _, ids = index.search(vectors[50], 1)
    assert ids[0][0] == 50


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_search_within_allowed_rows(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "EXACT_SUBSET", 10)
    vectors = _vectors(300)
    index = VectorIndex(16, kind)
    index.upsert(np.arange(300), vectors)
    for query, allowed in ((7, np.array([3, 7, 999])), (8, np.arange(0, 300, 2))):
        _, ids = index.search(vectors[query], 3, allowed=allowed)
        assert ids[0][0] == query
        assert set(ids[0][ids[0] >= 0].tolist()) <= set(allowed.tolist())


def test_hnsw_subset_search_follows_writes_with_the_same_allowed_array() -> None:
    # The subset's stacked vectors are reused for the same array of rows until the index changes.
    vectors = _vectors(300)
    index = VectorIndex(16, "hnsw")
    index.upsert(np.arange(300), vectors)
    allowed = np.array([3, 7, 11, 19])
    assert index.search(vectors[7], 1, allowed=allowed)[1][0][0] == 7
    index.upsert(np.array([11]), vectors[7:8])  # row 11 now looks like row 7 ...
    index.upsert(np.array([7]), vectors[200:201])  # ... and row 7 like row 200
    _, ids = index.search(vectors[7], 2, allowed=allowed)
    assert ids[0][0] == 11 and 7 not in ids[0][:1]
    index.remove(np.array([11]))
    _, ids = index.search(vectors[7], 4, allowed=allowed)
    assert 11 not in ids[0].tolist() and set(ids[0][ids[0] >= 0].tolist()) == {3, 7, 19}
    scores, ids = index.search(vectors[200], 1, allowed=allowed)
    assert ids[0][0] == 7 and scores[0][0] > 0.99


def test_matrix_within_a_searched_subset_equals_the_decoded_rows() -> None:
    """``matrix(ids, within=allowed)`` reads a searched subset's cached vectors: the same arrays as
    decoding the rows, in the order asked; after a write, or for a row outside it, it decodes."""
    vectors = _vectors(300)
    index = VectorIndex(16, "hnsw")
    index.upsert(np.arange(300), vectors)
    allowed = np.array([19, 3, 250, 7, 11])  # not ascending: looked up by the rows' sorted order
    index.search(vectors[7], 2, allowed=allowed)  # caches the subset's decoded vectors

    def same(ids: list[int]) -> None:
        rows, matrix = index.matrix(ids, within=allowed)
        expected_rows, expected = index.matrix(ids)
        assert rows.tolist() == expected_rows.tolist() and matrix.tobytes() == expected.tobytes()

    same([3, 7, 11, 250])
    same([250, 3])
    same([3, 42])  # 42 is not in the subset: decoded
    same([])
    index.upsert(np.array([11]), vectors[7:8])  # a write: the cached subset is stale
    same([3, 11])
    index.search(vectors[7], 2, allowed=allowed)
    index.remove(np.array([3]))
    same([3, 7])  # removed since: absent, as decoding says
    assert index.matrix([7, 19], within=np.array([7, 19]))[0].tolist() == [7, 19]  # never searched


def test_vector_index_switches_kind_by_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "EXACT_LIMIT", 100)
    vectors = _vectors(120)
    index = VectorIndex.for_size(16, 10)
    assert index.kind == "flat"
    index.upsert(np.arange(120), vectors)
    index.resize_for(len(index))
    assert index.kind == "hnsw" and len(index) == 120
    index.remove(np.arange(80))
    index.resize_for(len(index))
    assert index.kind == "flat" and len(index) == 40
    _, ids = index.search(vectors[100], 1)
    assert ids[0][0] == 100


def test_centre_is_the_shrunk_mean_of_live_vectors() -> None:
    vectors = _vectors(10)
    index = VectorIndex(16)
    index.upsert(np.arange(10), vectors)
    index.upsert(np.array([0]), vectors[1:2])
    index.remove(np.array([9]))
    live = np.concatenate([vectors[1:2], vectors[1:9]])
    np.testing.assert_allclose(index.centre(0), live.mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(index.centre(9), live.sum(axis=0) / 18, atol=1e-6)


def test_snapshots_are_atomic_and_pruned(tmp_path: Path) -> None:
    snapshots = IndexSnapshots(tmp_path)
    snapshots.save("acme/corp", "dense-use-m3", b"one", 3, {"encoder": "use-m3"})
    snapshots.save("acme/corp", "dense-old", b"two", 3, {"encoder": "old"})
    folder = next(tmp_path.iterdir())
    stale = folder / ".dense-use-m3.bin.abc.tmp"
    stale.write_bytes(b"half-written")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))  # left by a crash an hour ago
    fresh = folder / ".dense-use-m3.bin.def.tmp"
    fresh.write_bytes(b"being written")  # another process sharing the folder, mid-write
    assert snapshots.load("acme/corp", "dense-use-m3", {"encoder": "use-m3"}) == (b"one", 3)
    assert snapshots.load("acme/corp", "dense-use-m3", {"encoder": "other"}) is None
    snapshots.prune("acme/corp", ["dense-use-m3"])
    assert sorted(p.name for p in folder.iterdir()) == [fresh.name, "dense-use-m3.bin", "dense-use-m3.json"]
    assert snapshots.load("other", "dense-use-m3", {}) is None


def test_snapshot_that_does_not_match_its_checksum_is_not_used(tmp_path: Path) -> None:
    snapshots = IndexSnapshots(tmp_path)
    index = VectorIndex(16)
    index.upsert(np.array([1, 2]), _vectors(2))
    snapshots.save("acme", "dense-x", index.write, 5, {"encoder": "x"})  # streamed, as the base writes it
    loaded = snapshots.load("acme", "dense-x", {"encoder": "x"})
    assert loaded is not None and loaded[1] == 5 and len(VectorIndex.from_bytes(loaded[0])) == 2
    data = next(tmp_path.rglob("dense-x.bin"))
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF  # one flipped byte, e.g. a bad copy over a network mount
    data.write_bytes(bytes(damaged))
    assert snapshots.load("acme", "dense-x", {"encoder": "x"}) is None  # rebuilt from the database


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_row_given_twice_keeps_the_last_vector(kind: str) -> None:
    vectors = _vectors(3)
    index = VectorIndex(16, kind)
    index.upsert(np.array([7, 8, 7]), vectors)
    assert len(index) == 2
    _, ids = index.search(vectors[2], 3)
    assert ids[0][0] == 7 and list(ids[0]).count(7) == 1


def test_hnsw_row_lookup_follows_random_upserts_and_deletes() -> None:
    """The row -> label look-up (sorted arrays plus the labels added since) agrees with a plain dict
    through small writes (kept aside) and bulk ones (re-sorted), replacements and deletes."""
    rng = np.random.default_rng(3)
    index = VectorIndex(16, "hnsw")
    expected: dict[int, np.ndarray] = {}
    for step in range(60):
        size = 1500 if step == 0 else int(rng.choice([1, 5, 40, 1500]))  # trained on a real sample
        rows = rng.integers(0, 3000, size=size)
        if step % 4 == 3:
            index.remove(rows)
            for row in rows.tolist():
                expected.pop(row, None)
        else:
            vectors = _vectors(size, seed=step)
            index.upsert(rows, vectors)
            for row, vector in zip(rows.tolist(), vectors, strict=True):
                expected[row] = vector
        assert len(index) == len(expected)
    probe = np.arange(3000)
    stored = index.vectors(probe.tolist())
    assert set(stored) == set(expected)
    for row in rng.choice(sorted(expected), size=50).tolist():
        assert float(stored[row] @ expected[row]) > 0.95  # 8-bit codes of the latest vector
    _, found = index.search(_vectors(20, seed=99), 30)
    assert set(found[found >= 0].tolist()) <= set(expected)


def test_hnsw_row_lookup_with_labels_in_row_order() -> None:
    """Rows added in increasing order keep no label array (label i is the i-th row) and share the
    row array with the look-up; the look-up still follows deletes, small and bulk writes, and a round
    trip through bytes."""
    index = VectorIndex(16, "hnsw")
    rows = np.arange(10, 4010, 2)  # a bulk write (past 1,024 rows): sorted at once
    vectors = _vectors(len(rows))
    index.upsert(rows, vectors)
    expected = dict(zip(rows.tolist(), vectors, strict=True))
    assert not index._recent and index._sorted_labels is None  # the saving itself
    assert index._sorted_rows is index._label_row
    index.remove(rows[::7])  # tombstones in the labels: the look-up keeps its own sorted rows
    for row in rows[::7].tolist():
        del expected[row]
    assert set(index.vectors(list(range(4100)))) == set(expected)
    small = np.array([11, 13, 40], dtype=np.int64)  # new rows between old ones, and one replaced
    index.upsert(small, _vectors(3, seed=1))
    expected.update(zip(small.tolist(), _vectors(3, seed=1), strict=True))
    assert set(index.vectors(list(range(4100)))) == set(expected)
    bulk = np.arange(6001, 3000, -1)  # a bulk write in decreasing order: re-sorted with labels
    index.upsert(bulk, _vectors(len(bulk), seed=2))
    expected.update(zip(bulk.tolist(), _vectors(len(bulk), seed=2), strict=True))
    assert not index._recent and index._sorted_labels is not None
    for current in (index, VectorIndex.from_bytes(index.to_bytes())):
        stored = current.vectors(list(range(6100)))
        assert set(stored) == set(expected)
        for row in list(expected)[::37]:
            assert float(stored[row] @ expected[row]) > 0.95
        assert len(current) == len(expected)
