from __future__ import annotations

import io

import bm25s
import numpy as np
import pytest

from knowledge import lexical
from knowledge.lexical import MERGE_MIN, LexicalIndex
from knowledge.text import (
    field_tokens,
    identify_language,
    is_chinese,
    same_language,
    stem,
    surface_tokens,
    tokenize,
)

_CORPUS = [
    "vpn connection fails with error 809",
    "printer on floor 2 jams every morning",
    "vpn client crashes after windows update",
    "invoice amount is wrong in the portal",
    "password reset link expired",
    "vpn connection drops every hour",
]


def _index(corpus: list[str] = _CORPUS) -> LexicalIndex:
    index = LexicalIndex(k1=1.5, b=0.75)
    for row, text in enumerate(corpus):
        index.upsert(row, tokenize(text))
    return index


def _reference(corpus: list[str], query: str) -> np.ndarray:
    model = bm25s.BM25(k1=1.5, b=0.75, method="lucene")
    model.index([tokenize(t) for t in corpus], show_progress=False)
    return np.asarray(model.get_scores(tokenize(query)))


@pytest.mark.parametrize("query", ["vpn connection", "printer jams", "vpn error 809 crashes"])
def test_lexical_scores_equal_bm25s_on_the_same_corpus(query: str) -> None:
    index = _index()
    scores = index.search(index.query(surface_tokens(query)), k=len(_CORPUS))
    expected = _reference(_CORPUS, query)
    for row in range(len(_CORPUS)):
        assert scores.get(row, 0.0) == pytest.approx(float(expected[row]), abs=1e-5)


def test_lexical_update_and_delete_score_as_a_fresh_build() -> None:
    index = _index()
    index.merge()
    index.upsert(1, tokenize("vpn gateway certificate expired"))
    index.remove([3, 99])
    index.upsert(6, tokenize("vpn connection refused"))
    corpus = {row: text for row, text in enumerate(_CORPUS) if row != 3}
    corpus[1] = "vpn gateway certificate expired"
    corpus[6] = "vpn connection refused"
    rows = sorted(corpus)
    expected = _reference([corpus[r] for r in rows], "vpn connection expired")
    scores = index.search(index.query(surface_tokens("vpn connection expired")), k=10)
    assert 3 not in scores
    for position, row in enumerate(rows):
        assert scores.get(row, 0.0) == pytest.approx(float(expected[position]), abs=1e-5)


def test_lexical_delta_merges_past_threshold() -> None:
    index = LexicalIndex()
    for row in range(MERGE_MIN + 5):
        index.upsert(row, ["common", f"term{row}"])
    found = index.search(index.query([("term7", "term7")]), k=3)
    assert list(found) == [7]
    assert index.stats()["pending"] == 0


@pytest.mark.parametrize("share", [0.0, 1.0])  # allowed rows masked / ranked by their positions
def test_lexical_scores_for_given_candidates_and_allowed_rows(
    share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lexical, "ALLOWED_POSITIONS_SHARE", share)
    index = _index()
    query = index.query(surface_tokens("vpn connection"))
    top = index.search(query, k=1, candidates=[2, 3])
    assert set(top) == {0, 2} or set(top) == {5, 2}
    assert 3 not in top  # no shared term: no score
    only = index.search(query, k=5, allowed=np.array([2, 4]))
    assert set(only) == {2}
    # Only allowed rows are ranked (the best of them, not of every row), and a candidate outside
    # them gets no score; the allowed rows' scores are the unrestricted ones.
    everything = index.search(query, k=6)
    allowed = np.array([1, 2, 4, 5])
    best = index.search(query, k=1, candidates=[0, 1], allowed=allowed)
    assert best == {5: everything[5]}
    assert index.search(query, k=3, allowed=allowed) == {r: everything[r] for r in (2, 5)}


def test_self_score_bounds_document_scores() -> None:
    index = _index()
    query = index.query(surface_tokens("vpn connection drops every hour"))
    best = max(index.search(query, k=3).values())
    assert 0 < best <= index.self_score(query) * 1.05


def test_snapshot_round_trip_and_compaction_forgets_deleted_terms() -> None:
    index = _index()
    index.upsert(10, tokenize("secretname laptop stolen"), chinese=False)
    index.upsert(11, tokenize("打印机 无法 打印"), chinese=True)
    index.upsert(12, tokenize("impressora não imprime"), language="pt")
    index.remove([10])
    data = index.to_bytes()
    assert b"secretname" not in data
    copy = LexicalIndex.from_bytes(data)
    assert len(copy) == len(index) and copy.chinese_rows() == {11}
    rows = [10, 11, 12, 99]
    assert copy.languages_of(rows) == index.languages_of(rows)
    assert copy.languages_of([11, 12, 99]) == ["zh", "pt", "und"]
    query = surface_tokens("vpn connection")
    assert copy.search(copy.query(query), k=3) == pytest.approx(index.search(index.query(query), k=3))


def test_matched_terms_are_the_query_words_rarest_first() -> None:
    index = _index()
    query_pairs = surface_tokens("VPN connections failing with error 809")
    query = index.query(query_pairs)
    # "failing" matches "fails" through the stemmer; ties in rarity keep the query's order.
    assert index.matched(query, 0) == ("failing", "error", "809", "connections", "vpn")
    # One query asked about several documents (a search's hits) answers each as a fresh query would.
    for row in (2, 0, 5, 1):
        assert index.matched(query, row) == index.matched(index.query(query_pairs), row)
    assert index.matched(query, 0, limit=2) == ("failing", "error")
    assert index.matched(query, 0, limit=0) == ()


@pytest.mark.parametrize("far", [2**31 + 7, 2**40])
def test_one_row_looked_up_in_packed_rows_of_either_width(far: int) -> None:
    """Packed rows are int32 while every row id fits, int64 past: a row looked up alone (a hit's
    matched words, ``in``) is found in either, and a row id past int32 is absent from int32 rows."""
    narrow, wide = _index(), _index()
    wide.upsert(far, tokenize("vpn error 809 after the update"))
    for index in (narrow, wide):
        index.merge()  # packs the documents
    assert narrow._docs.packed.rows.dtype == np.int32 and wide._docs.packed.rows.dtype == np.int64
    query = wide.query(surface_tokens("vpn error 809"))
    assert set(wide.matched(query, far)) == {"809", "error", "vpn"} and far in wide
    assert narrow.matched(narrow.query(surface_tokens("vpn error 809")), far) == () and far not in narrow
    for index in (narrow, wide):
        query = index.query(surface_tokens("vpn error 809"))
        assert set(index.matched(query, 0)) == {"809", "error", "vpn"} and 0 in index and 6 not in index
        index.remove([0])
        assert index.matched(query, 0) == () and 0 not in index  # removed: masked, still packed


def test_top_terms_name_a_group() -> None:
    index = _index()
    assert index.top_terms([0, 2, 5], limit=2)[0] == "vpn"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Failed connections", ["fail", "connection"]),
        ("org.apache.hadoop fails", ["org.apache.hadoop", "org", "apache", "hadoop", "fail"]),
        ("the printer is on", ["printer"]),
        ("打印机无法打印", ["打印机", "无法", "打印"]),
        ("VPN 连接失败 error 809", ["vpn", "连接", "失败", "error", "809"]),
    ],
)
def test_tokenize(text: str, expected: list[str]) -> None:
    assert tokenize(text) == expected


def test_surface_tokens_keep_the_original_word() -> None:
    assert surface_tokens("Printers failed") == [("printer", "printers"), ("fail", "failed")]


def test_a_line_break_ends_every_token() -> None:
    """A search tokenises a ticket's title once: the tokens of title + newline + body are the title's
    then the body's, whatever stands either side of the break (the title's weight rests on it)."""
    import random

    pieces = ["VPN", "org.apache.hdfs", "a-b/c:d_e", "ΟΔΟΣ", "Σ", "打印机", "无法连接", "İx", "error 809",
              "v2.3", "ORA-00600", " ", ".", "-", "/", "の", "가", "服务器srv-01宕机", "fails", "x"]  # fmt: skip
    draw = random.Random(7)
    for _ in range(400):
        title = "".join(draw.choice(pieces) for _ in range(draw.randint(0, 5)))
        body = "".join(draw.choice(pieces) for _ in range(draw.randint(0, 8)))
        assert surface_tokens(f"{title}\n{body}") == surface_tokens(title) + surface_tokens(body)
    assert tokenize("srv-01/db:main") == ["srv-01/db:main", "srv", "01", "db", "main"]


def test_field_tokens_weight_the_title() -> None:
    assert field_tokens("vpn down", "since monday").count("vpn") == 3


@pytest.mark.parametrize(
    ("word", "expected"), [("crashes", "crashe"), ("queries", "query"), ("status", "status")]
)
def test_stem(word: str, expected: str) -> None:
    assert stem(word) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("打印机无法打印", True), ("VPN 无法连接 error", True), ("printer offline", False), ("", False)],
)
def test_is_chinese(text: str, expected: bool) -> None:
    assert is_chinese(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mein Drucker druckt seit heute Morgen nicht mehr", "de"),
        ("A impressora não imprime desde ontem", "pt"),
        ("Принтер не печатает с утра", "ru"),
        ("プリンターが印刷できません", "ja"),
        # Han characters alone (no kana) are Chinese even where the detector says Japanese.
        ("電子郵件系統異常", "zh"),
        ("打印机无法打印 error 809", "zh"),
        ("The VPN drops every hour since the update", "en"),
        ("12345 -- 678", "und"),
    ],
)
def test_identify_language_names_the_language(text: str, expected: str) -> None:
    assert identify_language(text)[0] == expected


def test_language_answers_outlast_a_whole_batch() -> None:
    """Routing asks about every ticket of a batch, then search asks again: the detector's answers for
    the largest batch the API takes are all still remembered by then (fastText runs once a ticket)."""
    from knowledge import text
    from serving.schemas import MAX_BATCH

    samples = [f"ticket {i}: the VPN drops every hour on host srv-{i}" for i in range(MAX_BATCH)]
    first = [identify_language(s) for s in samples]
    hits = text._detected.cache_info().hits
    assert [identify_language(s) for s in samples] == first
    assert text._detected.cache_info().hits - hits == MAX_BATCH


@pytest.mark.parametrize(
    ("a", "b", "comparable"),
    [("en", "en", True), ("en", "pt", False), ("und", "de", True), ("und", "zh", False), ("zh", "zh", True)],
)
def test_same_language_pairs(a: str, b: str, comparable: bool) -> None:
    assert same_language(a, b) is comparable


def test_packed_documents_follow_random_writes_merges_and_snapshots() -> None:
    """Documents kept as packed arrays plus the ones written since agree with an index built afresh
    from the same live documents: scores, matched words, languages, the Chinese rows, snapshots."""
    rng = np.random.default_rng(5)
    words = [
        "vpn",
        "printer",
        "badge",
        "mailbox",
        "password",
        "reset",
        "laptop",
        "screen",
        "error",
        "timeout",
        "打印机",
        "无法",
    ]
    index = LexicalIndex()
    live: dict[int, tuple[list[str], str]] = {}
    for step in range(400):
        row = int(rng.integers(0, 120))
        if step % 5 == 4:
            index.remove([row])
            live.pop(row, None)
        else:
            tokens = [str(w) for w in rng.choice(words, size=int(rng.integers(1, 8)))]
            language = str(rng.choice(["en", "zh", "pt"]))
            index.upsert(row, tokens, chinese=language == "zh", language=language)
            live[row] = (tokens, language)
        if step % 97 == 0 and step < 300:
            index.merge()
        if step == 250:
            index = LexicalIndex.read(io.BytesIO(index.to_bytes()))
    fresh = LexicalIndex()
    for row, (tokens, language) in sorted(live.items()):
        fresh.upsert(row, tokens, chinese=language == "zh", language=language)
    rows = list(range(130))
    texts = ("vpn error", "打印机 timeout", "badge badge reset")
    assert index._docs.recent  # documents written since the last merge are checked too
    for copy in (index, LexicalIndex.from_bytes(index.to_bytes())):
        assert len(copy) == len(live)
        assert copy.languages_of(rows) == [live[r][1] if r in live else "und" for r in rows]
        assert copy.chinese_rows() == {r for r, (_, language) in live.items() if language == "zh"}
        for text in texts:
            query = [(t, t) for t in text.split()]
            for row in live:
                assert set(copy.matched(copy.query(query), row)) == set(
                    fresh.matched(fresh.query(query), row)
                )
    # Scores: a merged index (the delta segment is scored with the statistics of its own build).
    index.merge()
    for copy in (index, LexicalIndex.from_bytes(index.to_bytes())):
        for text in texts:
            query = [(t, t) for t in text.split()]
            assert copy.search(copy.query(query), k=10) == pytest.approx(
                fresh.search(fresh.query(query), k=10)
            )


def test_a_snapshot_between_writes_and_search_changes_no_score() -> None:
    """Writing a snapshot packs the documents written since the merge; the delta segment built after
    it reads them packed and scores exactly as one built from them unpacked."""
    twins = [_index(), _index()]
    for index in twins:
        index.merge()
        index.upsert(20, tokenize("vpn vpn tunnel error 809 again"), language="en")
        index.upsert(21, tokenize("printer jams on floor 3"), language="en")
        index.remove([1])
    twins[0].to_bytes()
    assert not twins[0]._docs.recent and twins[1]._docs.recent
    query = [(t, t) for t in tokenize("vpn error printer")]
    assert twins[0].search(twins[0].query(query), k=10) == twins[1].search(twins[1].query(query), k=10)
    assert twins[0].matched(twins[0].query(query), 20) == twins[1].matched(twins[1].query(query), 20)


def test_packed_arrays_widen_past_their_small_types() -> None:
    """Packed documents take the smallest integer types their values fit; past 65,536 terms, counts of
    256 and 65,536 and a document of 65,536 tokens they widen, and score as the documents unpacked do."""
    twins = [LexicalIndex(), LexicalIndex()]
    for index in twins:
        for doc in range(70):  # 70,000 distinct terms
            index.upsert(doc, [f"t{doc}x{j}" for j in range(1000)] + ["vpn"], language="en")
        index.upsert(100, ["vpn"] * 300 + ["error"], language="en")  # a count past 255
        index.upsert(101, ["error"] * 70_000 + ["t69x999"], language="en")  # past 65,535 tokens
    twins[0].to_bytes()  # packs the documents; twins[1] keeps them as written
    packed = twins[0]._docs.packed
    assert not twins[0]._docs.recent and twins[1]._docs.recent
    assert (packed.terms.dtype, packed.counts.dtype, packed.lengths.dtype) == (np.int32, np.uint32, np.int32)
    query = [(t, t) for t in ("vpn", "error", "t69x999", "t3x5")]
    expected = twins[1].search(twins[1].query(query), k=10)
    assert twins[0].search(twins[0].query(query), k=10) == expected
    assert twins[0].matched(twins[0].query(query), 101) == twins[1].matched(twins[1].query(query), 101)
    assert LexicalIndex.from_bytes(twins[0].to_bytes()).search(twins[1].query(query), k=10) == pytest.approx(
        expected
    )
    small = LexicalIndex()
    small.upsert(1, ["vpn", "vpn", "error"], language="en")
    small.merge()
    packed = small._docs.packed
    assert (packed.terms.dtype, packed.counts.dtype, packed.lengths.dtype) == (np.uint16, np.uint8, np.uint16)


def _tokens_snapshot(index: LexicalIndex) -> bytes:
    """A snapshot as written before the documents were stored packed: every token of each."""
    packed = index._docs.pack(len(index._terms))
    codes = np.array(index._docs.codes, dtype="<U16")
    buffer = io.BytesIO()
    np.savez(
        buffer,
        rows=packed.rows,
        lengths=packed.lengths.astype(np.int64),
        tokens=packed.tokens().astype(np.int32),
        terms=np.frombuffer("\n".join(index._terms).encode("utf-8"), dtype=np.uint8),
        chinese=packed.rows[packed.chinese],
        language_rows=packed.rows,
        language_codes=codes[packed.codes],
        params=np.array([index.k1, index.b], dtype=np.float64),
    )
    return buffer.getvalue()


def test_a_snapshot_of_tokens_loads_as_the_packed_one() -> None:
    """Snapshots hold each document's distinct terms and counts; one written before, with every
    token, still loads into the same index: the same scores, words, languages and Chinese rows."""
    index = _index()
    index.upsert(50, ["打印机", "无法", "打印机"], chinese=True, language="zh")
    index.upsert(51, tokenize("vpn vpn vpn tunnel"), language="pt")
    old, new = LexicalIndex.from_bytes(_tokens_snapshot(index)), LexicalIndex.from_bytes(index.to_bytes())
    rows = list(range(60))
    assert old.languages_of(rows) == new.languages_of(rows) == index.languages_of(rows)
    assert old.chinese_rows() == new.chinese_rows() == {50}
    for text in ("vpn error", "打印机 无法", "printer jams"):
        query = [(t, t) for t in tokenize(text)]
        assert old.search(old.query(query), k=10) == new.search(new.query(query), k=10)
        assert old.search(old.query(query), k=10) == pytest.approx(index.search(index.query(query), k=10))
        assert all(old.matched(old.query(query), r) == new.matched(new.query(query), r) for r in rows)
