"""Kill a writer with SIGKILL at random moments; every acknowledged write must survive, no index may break.

The writer (``crash_writer.py``, a real process using ``KnowledgeBase`` with ``hashing:64``)
snapshots every 7 changes, so kills land in database commits, index updates and snapshot writes.
After each kill the next round restarts it (catching up from the database), and the test opens the
knowledge base itself and checks: every acknowledged case is stored and found by search (top hit
for its own text), every acknowledged delete is gone from the database, the search results and the
snapshot files, and every snapshot on disk parses.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from embeddings import get_encoder
from knowledge import DocumentStore, KnowledgeBase
from knowledge.index import VectorIndex
from knowledge.lexical import LexicalIndex
from tests.backend import server_env

REPO = Path(__file__).resolve().parents[2]
ROUNDS = 20


def _run_round(folder: Path, first_id: int, seed: int, rng: random.Random) -> list[tuple[str, str]]:
    """Start the writer, let it write for a random while, SIGKILL it; the acknowledged operations."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.knowledge.crash_writer", str(folder), str(first_id), str(seed)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **server_env(folder / "kb.db")},
    )
    assert process.stdout is not None
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == "ready":
                ready.set()
            lines.append(line.strip())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    if not ready.wait(timeout=30):
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"writer did not start: {err[-2000:]}")
    time.sleep(rng.uniform(0.05, 0.8))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    reader.join(timeout=10)
    assert process.returncode == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
    acks = []
    for line in lines:
        op, _, doc_id = line.partition(" ")
        if op in ("A", "U", "D", "u", "d") and doc_id:
            acks.append((op, doc_id))
    return acks


def _check(folder: Path, live: set[str], deleted: set[str], sample: set[str], pending: set[str]) -> None:
    kb = KnowledgeBase(DocumentStore(folder / "kb.db"), get_encoder("hashing:64"), folder / "index")
    kb.load()
    try:
        stored = {d.doc_id: d for d in kb.store.page("default", "case", limit=1_000_000)}
        missing = live - set(stored) - pending
        assert not missing, f"acknowledged cases lost after SIGKILL: {sorted(missing)[:10]}"
        assert not deleted & set(stored), "an acknowledged delete came back"
        assert kb.size("default") == len(stored)
        for doc_id in sorted(sample & set(stored)):
            doc = stored[doc_id]
            hits = kb.search(kb.encoder.encode([doc.body])[0], "default", k=1, text=doc.body)
            assert hits and hits[0].document.doc_id == doc_id, f"case {doc_id} not found by its own text"
        # Every snapshot on disk parses, and none holds a deleted case's marker term.
        files = sorted((folder / "index").rglob("*.bin"))
        assert sorted(f.stem.split("-")[0] for f in files) == ["bm25", "dense"]
        for path in files:
            data = path.read_bytes()
            if path.stem == "bm25":
                assert len(LexicalIndex.from_bytes(data)) == len(stored)
                assert not [d for d in deleted if f"marker{d}x".encode() in data]
            else:
                assert len(VectorIndex.from_bytes(data)) == len(stored)
    finally:
        kb.store.close()


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20240601)
    live: set[str] = set()
    deleted: set[str] = set()
    next_id = 0
    total_acks = 0
    for round_number in range(ROUNDS):
        acks = _run_round(tmp_path, next_id, seed=round_number, rng=rng)
        total_acks += len(acks)
        touched = set()
        pending: set[str] = set()  # a replace or delete in flight when the writer died: either state
        for op, doc_id in acks:
            if op in ("u", "d"):
                pending = {doc_id}
                continue
            pending = set()
            if op == "D":
                live.discard(doc_id)
                deleted.add(doc_id)
            else:
                live.add(doc_id)
                deleted.discard(doc_id)
                touched.add(doc_id)
            if op == "A":
                next_id = max(next_id, int(doc_id) + 1)
        # Ids the killed writer may have committed without acknowledging are never reused.
        next_id += 10
        sample = touched | set(rng.sample(sorted(live), min(20, len(live))))
        _check(tmp_path, live, deleted, sample, pending)
        # What the database holds now is the truth the next round builds on.
        if pending:
            store = DocumentStore(tmp_path / "kb.db")
            present = {d.doc_id for d in store.page("default", "case", limit=1_000_000)}
            store.close()
            for doc_id in pending:
                if doc_id in present:
                    live.add(doc_id)
                else:
                    live.discard(doc_id)
                    deleted.add(doc_id)
    assert total_acks >= ROUNDS  # the writer did get work done between kills
    _check(tmp_path, live, deleted, set(live), set())
