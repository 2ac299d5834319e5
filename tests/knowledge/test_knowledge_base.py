from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import get_encoder
from knowledge import Document, DocumentStore, KnowledgeBase
from knowledge.index import IndexSnapshots, VectorIndex


def _kb(tmp_path: Path) -> KnowledgeBase:
    kb = KnowledgeBase(DocumentStore(tmp_path / "kb.db"), get_encoder("hashing:128"), tmp_path / "index")
    kb.load()
    return kb


def _doc(doc_id: str, body: str, tenant: str = "default", kind: str = "case") -> Document:
    return Document(doc_id=doc_id, kind=kind, tenant=tenant, title="", body=body, resolution=f"fixed {doc_id}")


def test_knowledge_base_finds_the_nearest_case(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn connection fails with error 809"), _doc("b", "invoice amount is wrong")])
    hits = kb.search(kb.encoder.encode(["vpn fails error 809"])[0], tenant="default", k=2)
    assert [h.document.doc_id for h in hits] == ["a", "b"]
    assert 0.0 <= hits[1].score <= hits[0].score <= 1.0
    assert hits[0].document.resolution == "fixed a"


def test_knowledge_base_update_replaces_vector(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "printer jam on floor 2")])
    kb.add([_doc("a", "salary slip missing for march")])
    assert kb.size("default") == 1
    hit = kb.search(kb.encoder.encode(["salary slip missing"])[0], tenant="default", k=1)[0]
    assert hit.document.body == "salary slip missing for march"


def test_knowledge_base_keeps_tenants_apart(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken", tenant="acme"), _doc("b", "vpn broken", tenant="globex")])
    hits = kb.search(kb.encoder.encode(["vpn broken"])[0], tenant="acme", k=5)
    assert [h.document.doc_id for h in hits] == ["a"]
    assert kb.search(kb.encoder.encode(["vpn"])[0], tenant="nobody", k=5) == []


def test_knowledge_base_separates_cases_and_articles(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("c1", "reset password"), _doc("kb1", "how to reset your password", kind="article")])
    vector = kb.encoder.encode(["reset password"])[0]
    assert [h.document.doc_id for h in kb.search(vector, "default", k=5, kind="article")] == ["kb1"]
    assert [h.document.doc_id for h in kb.search(vector, "default", k=5)] == ["c1"]


def test_knowledge_base_delete_removes_from_index_and_snapshot(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer broken")])
    assert kb.delete("default", "case", ["a", "missing"]) == ["a"]
    assert kb.store.get("default", "case", "a") is None
    assert kb.size("default") == 1
    # The snapshot on disk no longer holds the deleted vector either.
    loaded = IndexSnapshots(tmp_path / "index").load("default", kb.encoder.name)
    assert loaded is not None and len(loaded[0]) == 1


def test_knowledge_base_catches_up_from_database_after_restart(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc(str(i), f"ticket number {i} about topic {i % 7}") for i in range(30)])
    kb.flush()
    # Writes after the last snapshot reach the database only, as if the process died then.
    kb.store.upsert([_doc("late", "late ticket vpn")], kb.encoder.encode(["late ticket vpn"]), kb.encoder.name)
    kb.store.delete("default", "case", ["3"])
    kb.store.close()
    again = _kb(tmp_path)
    assert again.size("default") == 30
    hit = again.search(again.encoder.encode(["late ticket vpn"])[0], "default", k=1)[0]
    assert hit.document.doc_id == "late"


def test_snapshot_from_another_encoder_is_rebuilt(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken")])
    kb.flush()
    assert IndexSnapshots(tmp_path / "index").load("default", "use-m3") is None
    assert IndexSnapshots(tmp_path / "index").load("default", kb.encoder.name) is not None


def test_corrupt_snapshot_is_rebuilt_from_database(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer")])
    kb.flush()
    kb.store.close()
    (tmp_path / "index" / "default.faiss").write_bytes(b"garbage")
    again = _kb(tmp_path)
    assert again.size("default") == 2


def test_store_rejects_mismatched_vectors(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.db")
    with pytest.raises(ValueError, match="2 documents but 1 vectors"):
        store.upsert([_doc("a", "x"), _doc("b", "y")], np.zeros((1, 4), dtype=np.float32), "hashing:4")


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_vector_index_round_trips_through_bytes(kind: str) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = VectorIndex(16, kind)
    index.upsert(np.arange(100, 150), vectors)
    copy = VectorIndex.from_bytes(index.to_bytes(), kind)
    _, ids = copy.search(vectors[7], 1)
    assert ids[0][0] == 107
