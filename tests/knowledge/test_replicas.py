"""Two knowledge bases on one database (as two replicas): each catches up from the change log."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from embeddings import get_encoder
from knowledge import Document, DocumentStore, KnowledgeBase
from tests.postgres import PostgresServer


def _replica(database_target: str, folder: Path) -> KnowledgeBase:
    kb = KnowledgeBase(DocumentStore(database_target), get_encoder("hashing:128"), folder / "index")
    kb.load()
    return kb


def _found(kb: KnowledgeBase, text: str, tenant: str = "default") -> list[str]:
    vector = kb.encoder.encode([text])[0]
    return [h.document.doc_id for h in kb.search(vector, tenant=tenant, k=5, text=text)]


def _snapshot_bytes(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((folder / "index").rglob("*")) if p.is_file())


def test_a_write_on_one_replica_is_found_on_the_other_and_a_delete_disappears(
    database_target: str, tmp_path: Path
) -> None:
    a = _replica(database_target, tmp_path / "a")
    a.add([Document("C-0", body="keyboard missing keys")])
    b = _replica(database_target, tmp_path / "b")
    assert _found(b, "keyboard") == ["C-0"]  # loaded at start
    a.add([Document("C-1", body="vpn error 809 on the branch office router")])
    assert "C-1" not in _found(b, "vpn error 809")  # not yet: b has not read the change log
    assert b.catch_up_all() == 1
    assert _found(b, "vpn error 809")[0] == "C-1"
    b.add([Document("C-2", body="printer jams on floor two")])
    b.delete("default", "case", ["C-1"])
    a.catch_up_all()
    assert "C-1" not in _found(a, "vpn error 809 printer") and "C-2" in _found(a, "printer jams")
    # The delete reached a's snapshots on disk too (right to be forgotten on every replica).
    assert b"branch office" not in _snapshot_bytes(tmp_path / "a")
    for kb in (a, b):
        kb.store.close()


def test_a_new_tenant_written_elsewhere_is_caught_up(database_target: str, tmp_path: Path) -> None:
    a = _replica(database_target, tmp_path / "a")
    b = _replica(database_target, tmp_path / "b")
    a.add([Document("X-1", tenant="acme", body="payroll export fails")])
    b.catch_up_all()
    assert _found(b, "payroll export", tenant="acme") == ["X-1"]
    for kb in (a, b):
        kb.store.close()


def test_following_replica_finds_a_write_within_the_bound_and_reports_its_lag(
    database_target: str, tmp_path: Path
) -> None:
    a = _replica(database_target, tmp_path / "a")
    a.add([Document("C-0", body="keyboard missing keys")])
    b = _replica(database_target, tmp_path / "b")
    b.follow(interval=0.05)
    try:
        vectors = a.encoder.encode(["mailbox quota exceeded"])
        a.add([Document("M-1", body="mailbox quota exceeded")], vectors=np.asarray(vectors))
        written = time.monotonic()
        while "M-1" not in _found(b, "mailbox quota"):
            assert time.monotonic() - written < 10, "the other replica did not catch up within 10 s"
            time.sleep(0.02)
        lag, behind = b.catch_up_lag()
        assert 0 <= lag < 10 and behind >= 0
    finally:
        b.stop_following()
    assert b.catch_up_lag() == (0.0, 0)
    for kb in (a, b):
        kb.store.close()


def test_on_postgresql_a_commit_wakes_the_followers_at_once(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """LISTEN/NOTIFY: with a 30 s poll, a write is still searchable on the other replica within seconds
    (the poll stays the fallback for notifications lost while the listener reconnects)."""
    url = postgres_server.create_database()
    a, b = _replica(url, tmp_path / "a"), _replica(url, tmp_path / "b")
    a.add([Document("C-0", body="keyboard missing keys")])
    b.catch_up_all()
    b.follow(30.0)
    try:
        time.sleep(0.5)  # the follower is listening
        for i, text in enumerate(("vpn error 809 on the router", "printer jams on floor two"), start=1):
            a.add([Document(f"C-{i}", body=text)])
            deadline = time.monotonic() + 10
            while f"C-{i}" not in _found(b, text):
                assert time.monotonic() < deadline, "the notification did not wake the follower"
                time.sleep(0.02)
        a.delete("default", "case", ["C-1"])
        deadline = time.monotonic() + 10
        while "C-1" in _found(b, "vpn error 809 on the router"):
            assert time.monotonic() < deadline, "the delete's notification did not wake the follower"
            time.sleep(0.02)
    finally:
        b.stop_following()
        for kb in (a, b):
            kb.store.close()
        postgres_server.drop_database(url)
