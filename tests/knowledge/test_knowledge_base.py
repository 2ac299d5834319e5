from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from embeddings import get_encoder
from knowledge import Document, DocumentStore, KnowledgeBase
from knowledge.base import HybridConfig
from knowledge.index import IndexSnapshots, VectorIndex
from knowledge.lexical import LexicalIndex
from knowledge.store import SearchFilters
from knowledge.text import TOKENIZER_VERSION

# Every test runs on both backends: the test's database (a SQLite file or a PostgreSQL database),
# looked up by its tmp_path so that a test reopening the knowledge base gets the same one.
_DATABASES: dict[Path, str] = {}


@pytest.fixture(autouse=True)
def _backend(tmp_path: Path, database_target: str) -> Iterator[None]:
    _DATABASES[tmp_path] = database_target
    yield
    _DATABASES.pop(tmp_path, None)


def _kb(tmp_path: Path, extra: tuple[str, ...] = ()) -> KnowledgeBase:
    kb = KnowledgeBase(
        DocumentStore(_DATABASES.get(tmp_path, str(tmp_path / "kb.db"))),
        get_encoder("hashing:128"),
        tmp_path / "index",
        extra_encoders=[get_encoder(spec) for spec in extra],
    )
    kb.load()
    return kb


def _doc(doc_id: str, body: str, tenant: str = "default", kind: str = "case", **fields: str) -> Document:
    return Document(
        doc_id=doc_id, kind=kind, tenant=tenant, title="", body=body, resolution=f"fixed {doc_id}", **fields
    )


def _search(kb: KnowledgeBase, text: str, **kwargs: object) -> list[str]:
    vector = kb.encoder.encode([text])[0]
    return [h.document.doc_id for h in kb.search(vector, text=text, **kwargs)]  # type: ignore[arg-type]


def _snapshot_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((tmp_path / "index").rglob("*")) if p.is_file())


def test_knowledge_base_finds_the_nearest_case(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn connection fails with error 809"), _doc("b", "invoice amount is wrong")])
    hits = kb.search(kb.encoder.encode(["vpn fails error 809"])[0], tenant="default", k=2)
    assert [h.document.doc_id for h in hits] == ["a", "b"]
    assert 0.0 <= hits[1].score <= hits[0].score <= 1.0
    assert hits[0].document.resolution == "fixed a"


def test_hybrid_search_reports_matched_terms_and_channels(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "VPN connection fails with error 809"), _doc("b", "printer on floor 2 jams")])
    text = "my vpn connections failed, error 809 again"
    hits = kb.search(kb.encoder.encode([text])[0], "default", k=2, text=text)
    assert hits[0].document.doc_id == "a"
    # The query's own words, stemmed to match ("connections" ~ "connection"), rarest first.
    assert set(hits[0].matched_terms) == {"vpn", "connections", "failed", "error", "809"}
    assert set(hits[0].channels) == {"hashing:128", "bm25"}
    assert all(0.0 <= v <= 1.0 for v in hits[0].channels.values())
    assert 0.0 <= hits[1].score < hits[0].score <= 1.0


def test_lexical_channel_finds_a_rare_identifier(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc(str(i), f"disk usage alert on host number {i}") for i in range(30)])
    kb.add([_doc("x", "NameNode crashes with org.apache.hadoop.hdfs.BlockMissingException")])
    assert _search(kb, "BlockMissingException again", tenant="default", k=1) == ["x"]


def test_identical_text_scores_near_one(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "outlook keeps asking for the password"), _doc("b", "printer out of toner")])
    text = "outlook keeps asking for the password"
    hit = kb.search(kb.encoder.encode([text])[0], "default", k=1, text=text)[0]
    assert hit.document.doc_id == "a" and hit.score > 0.9


def test_knowledge_base_update_re_embeds_and_re_indexes(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "printer jam on floor 2")])
    kb.add([_doc("a", "salary slip missing for march")])
    assert kb.size("default") == 1
    hit = kb.search(kb.encoder.encode(["salary slip missing"])[0], tenant="default", k=1, text="salary slip")[
        0
    ]
    assert hit.document.body == "salary slip missing for march"
    assert hit.matched_terms == ("salary", "slip") or set(hit.matched_terms) == {"salary", "slip"}
    # The old text is gone from BM25 too: its words match nothing any more.
    assert (
        kb.search(kb.encoder.encode(["printer jam"])[0], "default", k=1, text="printer jam")[0].matched_terms
        == ()
    )


def test_knowledge_base_keeps_tenants_apart(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken", tenant="acme"), _doc("b", "vpn broken", tenant="globex")])
    assert _search(kb, "vpn broken", tenant="acme", k=5) == ["a"]
    assert _search(kb, "vpn", tenant="nobody", k=5) == []
    assert not (tmp_path / "index" / "nobody").exists()


def test_knowledge_base_separates_cases_and_articles(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("c1", "reset password"), _doc("kb1", "how to reset your password", kind="article")])
    kb.add([_doc(f"c{i}", f"reset password for user {i}") for i in range(2, 40)])
    assert _search(kb, "reset password", tenant="default", k=5, kind="article") == ["kb1"]
    assert "kb1" not in _search(kb, "reset password", tenant="default", k=50)


def test_date_filters_compare_instants_not_text(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add(
        [
            _doc("shanghai", "vpn down", created_at="2026-11-23T09:15:00+08:00"),  # 01:15 UTC
            _doc("utc", "vpn down", created_at="2026-11-23T03:00:00Z"),
            _doc("naive", "vpn down", created_at="2026-11-23T02:30:00"),  # no offset: UTC
            _doc("undated", "vpn down"),
            _doc("garbled", "vpn down", created_at="yesterday"),
        ]
    )
    cases = {
        SearchFilters(created_from="2026-11-23T02:00:00+00:00"): {"utc", "naive"},
        SearchFilters(created_to="2026-11-23T10:00:00+08:00"): {"shanghai"},  # 02:00 UTC
        SearchFilters(created_from="2026-11-23T01:15:00Z", created_to="2026-11-23T02:30:00Z"): {"shanghai"},
        SearchFilters(created_from="2026-11-23"): {"shanghai", "utc", "naive"},
    }
    names = ["shanghai", "utc", "naive", "undated", "garbled"]
    docs = {name: kb.store.get("default", "case", name) for name in names}
    for filters, expected in cases.items():
        rows = kb.store.filter_rows("default", "case", filters)
        found = kb.store.get_rows([int(r) for r in rows]).values()
        assert {d.doc_id for d in found} == expected, filters
        # The in-memory test agrees with the SQL one.
        assert {i for i, d in docs.items() if d is not None and filters.accepts(d)} == expected, filters


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (SearchFilters(departments=("network",)), {"a", "c"}),
        (SearchFilters(statuses=("OPEN",)), {"b", "c"}),
        (SearchFilters(languages=("en",)), {"a", "b"}),
        (SearchFilters(created_from="2024-03-01"), {"b", "c"}),
        (SearchFilters(created_from="2024-03-01", created_to="2024-04-01"), {"b"}),
        (SearchFilters(departments=("network",), statuses=("open",)), {"c"}),
        (SearchFilters(doc_ids=("a", "missing")), {"a"}),
        (SearchFilters(departments=("nobody",)), set()),
    ],
)
def test_search_filters(tmp_path: Path, filters: SearchFilters, expected: set[str]) -> None:
    kb = _kb(tmp_path)
    kb.add(
        [
            _doc(
                "a",
                "vpn down",
                department="network",
                status="resolved",
                language="en",
                created_at="2024-02-10",
            ),
            _doc(
                "b",
                "vpn down",
                department="it",
                status="open",
                language="en",
                created_at="2024-03-05T09:00:00",
            ),
            _doc(
                "c", "vpn down", department="network", status="Open", language="zh", created_at="2024-05-01"
            ),
        ]
    )
    assert set(_search(kb, "vpn down", tenant="default", k=10, filters=filters)) == expected


def test_exclude_ids_still_returns_k(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc(str(i), f"mailbox full warning {i}") for i in range(20)])
    found = _search(kb, "mailbox full", tenant="default", k=5, exclude_ids=["0", "1", "2"])
    assert len(found) == 5 and not {"0", "1", "2"} & set(found)


def test_delete_removes_from_every_index_and_snapshot(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    secret = "zebracorn"
    kb.add([_doc("a", f"vpn broken for {secret}"), _doc("b", "printer broken")])
    kb.flush()
    assert secret.encode() in _snapshot_bytes(tmp_path)
    vector_a = kb.store.vectors([r.row_id or 0 for r in kb.store.page("default", "case")])
    assert kb.delete("default", "case", ["a", "missing"]) == ["a"]
    assert kb.store.get("default", "case", "a") is None
    assert kb.size("default") == 1
    assert _search(kb, f"vpn {secret}", tenant="default", k=5) == ["b"]
    # Neither snapshot on disk keeps the deleted document: not its terms, not its vector.
    on_disk = _snapshot_bytes(tmp_path)
    assert secret.encode() not in on_disk
    deleted_vector = next(iter(vector_a.values())).tobytes()
    assert deleted_vector not in on_disk
    snapshots = IndexSnapshots(tmp_path / "index")
    dense = snapshots.load("default", "dense-hashing:128", {"encoder": "hashing:128", "dim": 128})
    lexical = snapshots.load("default", "bm25", {"tokenizer": TOKENIZER_VERSION})
    assert dense is not None and len(VectorIndex.from_bytes(dense[0])) == 1
    assert lexical is not None and len(LexicalIndex.from_bytes(lexical[0])) == 1
    # Nor does the database keep the further encoders' vectors, or the text in its files.
    assert kb.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 0
    database_files = b"".join(p.read_bytes() for p in tmp_path.glob("*.db*"))
    assert kb.store.db.dialect != "sqlite" or database_files
    assert secret.encode() not in database_files


def test_delete_removes_further_encoder_vectors(tmp_path: Path) -> None:
    kb = _kb(tmp_path, extra=("hashing:32",))
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer broken")])
    assert kb.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 2
    kb.delete("default", "case", ["a"])
    assert kb.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 1
    assert len(kb._shard("default").dense["hashing:32"]) == 1


def test_knowledge_base_catches_up_from_database_after_restart(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc(str(i), f"ticket number {i} about topic {i % 7}") for i in range(30)])
    kb.flush()
    # Writes after the last snapshot reach the database only, as if the process died then.
    kb.store.upsert(
        [_doc("late", "late ticket vpn")], kb.encoder.encode(["late ticket vpn"]), kb.encoder.name
    )
    kb.store.delete("default", "case", ["3"])
    kb.store.close()
    again = _kb(tmp_path)
    assert again.size("default") == 30
    hits = again.search(again.encoder.encode(["late ticket vpn"])[0], "default", k=1, text="late ticket vpn")
    assert hits[0].document.doc_id == "late" and "late" in hits[0].matched_terms
    assert "3" not in _search(again, "ticket number 3 about topic 3", tenant="default", k=30)


def test_added_encoder_backfills_vectors_from_the_database(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer broken")])
    kb.flush()
    kb.store.close()
    again = _kb(tmp_path, extra=("hashing:32",))
    assert len(again._shard("default").dense["hashing:32"]) == 2
    assert again.store.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 2
    assert _search(again, "printer broken", tenant="default", k=1) == ["b"]


def test_removed_encoder_snapshot_is_pruned(tmp_path: Path) -> None:
    kb = _kb(tmp_path, extra=("hashing:32",))
    kb.add([_doc("a", "vpn broken")])
    kb.flush()
    kb.store.close()
    assert any("hashing_32" in p.name for p in (tmp_path / "index").rglob("*"))
    _kb(tmp_path)
    assert not any("hashing_32" in p.name for p in (tmp_path / "index").rglob("*"))


def test_snapshot_from_another_encoder_is_rebuilt(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken")])
    kb.flush()
    snapshots = IndexSnapshots(tmp_path / "index")
    assert snapshots.load("default", "dense-hashing:128", {"encoder": "use-m3", "dim": 128}) is None
    assert snapshots.load("default", "dense-hashing:128", {"encoder": "hashing:128", "dim": 128}) is not None


@pytest.mark.parametrize("component", ["dense-hashing_128", "bm25"])
def test_corrupt_snapshot_is_rebuilt_from_database(tmp_path: Path, component: str) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer")])
    kb.flush()
    kb.store.close()
    matches = list((tmp_path / "index").rglob(f"{component}*.bin"))
    assert len(matches) == 1
    matches[0].write_bytes(b"garbage")
    again = _kb(tmp_path)
    assert again.size("default") == 2
    assert _search(again, "printer", tenant="default", k=1) == ["b"]


def test_snapshot_behind_the_database_replays_idempotently(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken"), _doc("b", "printer jam")])
    kb.flush()
    kb.add([_doc("a", "keyboard missing keys")])
    kb.delete("default", "case", ["b"])
    kb.store.close()
    # Put the older snapshot marks back: the replay re-applies changes the indexes already hold.
    for meta in (tmp_path / "index").rglob("*.json"):
        meta.write_text(meta.read_text().replace('"mark": 4', '"mark": 2'))
    again = _kb(tmp_path)
    assert again.size("default") == 1
    assert _search(again, "keyboard keys", tenant="default", k=5) == ["a"]


def test_store_rejects_mismatched_vectors(tmp_path: Path) -> None:
    store = DocumentStore(tmp_path / "s.db")
    with pytest.raises(ValueError, match="2 documents but 1 vectors"):
        store.upsert([_doc("a", "x"), _doc("b", "y")], np.zeros((1, 4), dtype=np.float32), "hashing:4")


def test_replace_of_existing_only_never_recreates_a_deleted_document(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn down"), _doc("b", "printer jam")])
    kb.delete("default", "case", ["a"])  # lands while a replace of "a" is still embedding
    rows = kb.add([_doc("a", "vpn down again"), _doc("b", "printer jam again")], existing_only=True)
    assert len(rows) == 1 and kb.store.get_rows(rows)[rows[0]].doc_id == "b"
    assert kb.store.get("default", "case", "a") is None
    assert kb.store.get("default", "case", "b").body == "printer jam again"  # type: ignore[union-attr]
    assert _search(kb, "vpn down again", tenant="default", k=5) == ["b"]
    # Without the flag it is an upsert: creates.
    kb.add([_doc("a", "vpn down again")])
    assert kb.store.get("default", "case", "a") is not None


def test_hybrid_config_weights_fall_back_by_kind() -> None:
    config = HybridConfig()
    assert config.weight("en", "sentence-transformers:/models/x") == 1.0
    assert config.weight("zh", "sentence-transformers:minilm") == 0.0
    assert config.weight("zh", "hashing:64") == 1.0
    assert config.language_of("sentence-transformers:minilm") == "en"
    assert config.language_of("use-m3") is None


def test_cross_language_maps_fall_back_from_the_pair_to_the_query_language() -> None:
    config = HybridConfig(
        cross_maps={"en>zh": (2.0, -0.5), "en>*": (1.5, -0.2), "zh>*": (1.2, -0.1), "*": (1.0, 0.0)}
    )
    assert config.cross_map("en", "zh") == (2.0, -0.5)  # the pair's own map
    assert config.cross_map("en", "pt") == (1.5, -0.2)  # the query language's
    assert config.cross_map("pt", "en") == (1.5, -0.2)  # a non-Chinese query: the English scale
    assert config.cross_map("zh", "de") == (1.2, -0.1)
    assert HybridConfig(cross_maps={"*": (1.0, 0.0)}).cross_map("ja", "en") == (1.0, 0.0)


def test_index_grown_past_the_exact_limit_is_snapshotted_as_hnsw(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A collection that crosses ``EXACT_LIMIT`` is rebuilt as HNSW once and saved so, not rebuilt on every start."""
    import knowledge.index as index_module

    monkeypatch.setattr(index_module, "EXACT_LIMIT", 40)
    kb = _kb(tmp_path)
    kb.add([_doc(f"d{i}", f"ticket {i} about printer {i % 7} on floor {i % 3}") for i in range(30)])
    kb.add([_doc(f"e{i}", f"ticket {i} about vpn error {i % 5}") for i in range(30)])
    assert kb._shard("default").dense["hashing:128"].kind == "hnsw"
    kb.flush()
    kb.store.close()
    restored = IndexSnapshots(tmp_path / "index").load(
        "default", "dense-hashing:128", {"encoder": "hashing:128", "dim": 128}
    )
    assert restored is not None
    assert VectorIndex.from_bytes(restored[0]).kind == "hnsw"
    again = _kb(tmp_path)
    assert _search(again, "vpn error 3", tenant="default", k=1) == ["e3"]
    assert again._shard("default").dense["hashing:128"].kind == "hnsw"


def test_search_kinds_many_equals_each_query_searched_alone(tmp_path: Path) -> None:
    """A batch's one FAISS call per kind and one document read give each query exactly its own hits."""
    kb = _kb(tmp_path)
    topics = ["vpn error 809", "printer jams on floor", "invoice amount wrong", "邮箱 无法 登录", "disk full"]
    kb.add([_doc(f"c{i}", f"{topics[i % 5]} case {i}") for i in range(60)])
    kb.add([_doc(f"a{i}", f"how to fix {topics[i % 5]}", kind="article") for i in range(6)])
    kb.delete("default", "case", ["c7"])
    queries = [*topics, "nothing like any of them", "vpn 809 and the printer"]
    texts: list[str | None] = [*queries[:-1], None]  # the last one: vector only, no BM25
    vectors = kb.encoder.encode(queries)
    excluded = [["c0"], [], ["c1", "c6"], [], [], ["a0"], []]
    kinds = {"case": 4, "article": 2}
    many = kb.search_kinds_many(
        vectors, "default", kinds, texts, [None] * len(queries), excluded, relevant_only=True
    )
    alone = [
        kb.search_kinds(v, "default", kinds, e, text=t, relevant_only=True)
        for v, t, e in zip(vectors, texts, excluded, strict=True)
    ]
    assert many == alone
    assert all(len(found["case"]) == 4 for found in many)
    assert "c0" not in {h.document.doc_id for h in many[0]["case"]}
    assert kb.search_kinds_many(vectors[:0], "nobody", kinds, [], [], []) == []


def test_search_kinds_many_with_queries_prepared_before_their_vectors(tmp_path: Path) -> None:
    """``prepare_queries`` (language, weights, BM25) before the vectors exist: the very same hits;
    prepared for other texts or another tenant, it is not used."""
    kb = _kb(tmp_path)
    topics = ["vpn error 809", "printer jams on floor", "invoice amount wrong", "邮箱 无法 登录", "disk full"]
    kb.add([_doc(f"c{i}", f"{topics[i % 5]} case {i}") for i in range(40)])
    kb.add([_doc(f"a{i}", f"how to fix {topics[i % 5]}", kind="article") for i in range(5)])
    texts: list[str | None] = [*topics, None]
    titles: list[str | None] = ["vpn", None, None, "邮箱", None, None]
    vectors = kb.encoder.encode([t or "disk" for t in texts])
    kinds = {"case": 3, "article": 2}
    excluded: list[list[str]] = [["c0"], [], [], [], [], []]
    plain = kb.search_kinds_many(vectors, "default", kinds, texts, titles, excluded, relevant_only=True)
    prepared = kb.prepare_queries("default", texts, titles)
    again = kb.search_kinds_many(
        vectors, "default", kinds, texts, titles, excluded, relevant_only=True, prepared=prepared
    )
    assert again == plain
    assert sum(len(f["case"]) for f in again) == 3 * len(texts)
    for other in (
        kb.prepare_queries("default", list(reversed(texts)), titles),
        kb.prepare_queries("acme", texts, titles),
    ):
        assert (
            kb.search_kinds_many(
                vectors, "default", kinds, texts, titles, excluded, relevant_only=True, prepared=other
            )
            == plain
        )


def test_bm25_snapshot_in_the_older_layout_is_written_again_when_loaded(tmp_path: Path) -> None:
    """A BM25 snapshot holding every token (the layout before packed terms and counts) loads, and the
    knowledge base writes it again in the current layout, with the same mark."""
    kb = _kb(tmp_path)
    kb.add([_doc("a", "vpn broken vpn"), _doc("b", "printer jam")])
    kb.flush()
    kb.store.close()
    snapshots = IndexSnapshots(tmp_path / "index")
    identity = {"tokenizer": TOKENIZER_VERSION}
    loaded = snapshots.load("default", "bm25", identity)
    assert loaded is not None
    data, mark = loaded
    index = LexicalIndex.from_bytes(data)
    packed = index._docs.pack(len(index._terms))
    with np.load(io.BytesIO(data)) as arrays:
        old = {name: arrays[name] for name in arrays.files if name not in ("offsets", "entries", "counts")}
    old["tokens"] = packed.tokens().astype(np.int32)  # the term ids are already compact here
    buffer = io.BytesIO()
    np.savez(buffer, **old)
    snapshots.save("default", "bm25", buffer.getvalue(), mark, identity)
    assert LexicalIndex.from_bytes(buffer.getvalue()).outdated_snapshot
    again = _kb(tmp_path)
    assert _search(again, "printer", tenant="default", k=1) == ["b"]
    rewritten = snapshots.load("default", "bm25", identity)
    assert rewritten is not None and rewritten[1] == mark
    assert not LexicalIndex.from_bytes(rewritten[0]).outdated_snapshot


def test_kind_rows_follow_writes_and_search_answers_as_a_fresh_process(tmp_path: Path) -> None:
    """After each write (through this knowledge base or another one on the database), the cached row
    ids of every kind are already current, ascending, without a read of every row, and searches
    answer exactly as a knowledge base loaded fresh from the database. Twenty articles in four groups
    of identical text tie in the exact subset search, where the rows' order breaks ties; their status
    and creation dates make the database's own order (its filter index) differ from row order."""
    config = HybridConfig(candidates=4)

    def open_kb(folder: str) -> KnowledgeBase:
        kb = KnowledgeBase(
            DocumentStore(_DATABASES[tmp_path]), get_encoder("hashing:128"), tmp_path / folder, config=config
        )
        kb.load()
        return kb

    topics = ["vpn error 809", "printer jams on floor", "invoice amount wrong", "邮箱 无法 登录"]
    kb = open_kb("a")
    kb.add([_doc(f"c{i}", f"{topics[i % 4]} case {i}") for i in range(70)])
    kb.add(
        [
            _doc(f"a{i}", f"how to fix {topics[i % 4]}", kind="article", status=("open", "closed")[i % 2])
            for i in range(20)
        ]
    )
    other = open_kb("b")
    queries = [*topics, "vpn 809 and the printer", "how to fix invoice amount wrong"]

    def answers(searcher: KnowledgeBase) -> list[dict[str, list[tuple[str, float]]]]:
        searcher.catch_up_all()
        out = []
        for text in queries:
            found = searcher.search_kinds(
                searcher.encoder.encode([text])[0], "default", {"case": 3, "article": 2}, text=text
            )
            out.append({kind: [(h.document.doc_id, h.score) for h in hits] for kind, hits in found.items()})
        return out

    def check(name: str) -> None:
        for searcher in (kb, other):
            searcher.catch_up_all()
            shard = searcher._shard("default")
            for kind in ("case", "article"):
                mark, rows = shard.kind_rows[kind]  # before any search: kept level by the catch-up
                assert mark == shard.mark, name
                assert rows.tolist() == sorted(searcher.store.filter_rows("default", kind).tolist()), name
        expected = answers(open_kb(f"fresh-{name}"))
        for searcher in (kb, other):
            assert answers(searcher) == expected, name

    answers(kb), answers(other)  # each kind's rows read once
    check("loaded")
    writes = [
        (
            "older duplicate",
            lambda: kb.add(
                [
                    _doc(
                        "a20",
                        "how to fix vpn error 809",
                        kind="article",
                        status="a-first",
                        created_at="2001-01-01T00:00:00Z",
                    )
                ]
            ),
        ),
        (
            "status changed",
            lambda: kb.add([_doc("a4", "how to fix vpn error 809", kind="article", status="aaa")]),
        ),
        ("article deleted", lambda: kb.delete("default", "article", ["a8"])),
        (
            "cases added elsewhere",
            lambda: other.add([_doc(f"c{i}", f"{topics[i % 4]} case {i}") for i in range(70, 75)]),
        ),
        ("case deleted", lambda: kb.delete("default", "case", ["c3", "c4"])),
        ("article re-added", lambda: kb.add([_doc("a8", "how to fix vpn error 809", kind="article")])),
    ]
    for name, write in writes:
        write()
        check(name)
