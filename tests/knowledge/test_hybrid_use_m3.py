"""Hybrid search with the real USE-m3 encoder: Chinese and English cases in one knowledge base."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from embeddings import Encoder, get_encoder
from knowledge import Document, DocumentStore, HybridConfig, KnowledgeBase
from knowledge.base import RELEVANCE_FLOORS, embedding_text

CASES = [
    ("zh-printer", "打印机卡纸，无法打印", "打开后盖取出卡住的纸张"),
    ("zh-laptop", "笔记本电脑无法开机，电源灯不亮", "更换电源适配器"),
    ("zh-expense", "差旅报销单提交后一直没有审批", "联系财务重新提交审批流程"),
    (
        "en-outlook",
        "Outlook keeps asking for my password",
        "Cleared cached credentials in Credential Manager",
    ),
    ("en-invoice", "Invoice amount is wrong in the billing portal", "Corrected the tax rate on the invoice"),
    ("en-wifi", "Office Wi-Fi disconnects every few minutes", "Updated the wireless driver"),
]


@pytest.fixture(scope="module")
def use_m3() -> Encoder:
    encoder = get_encoder("use-m3")
    encoder.load()
    return encoder


@pytest.fixture(scope="module")
def knowledge(use_m3: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    folder: Path = tmp_path_factory.mktemp("kb")
    kb = KnowledgeBase(DocumentStore(folder / "kb.db"), use_m3, folder / "index")
    kb.load()
    kb.add([Document(doc_id=i, title=t, resolution=r) for i, t, r in CASES])
    return kb


def _top(kb: KnowledgeBase, text: str, k: int = 1) -> list[str]:
    hits = kb.search(kb.encoder.encode([text])[0], "default", k=k, text=text)
    assert all(0.0 <= h.score <= 1.0 for h in hits)
    return [h.document.doc_id for h in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("My printer has a paper jam and won't print", "zh-printer"),
        ("The laptop does not turn on at all", "zh-laptop"),
        ("我的邮箱一直提示输入密码", "en-outlook"),
        ("无线网络每隔几分钟就断开", "en-wifi"),
    ],
)
def test_cross_lingual_query_finds_the_case_in_the_other_language(
    knowledge: KnowledgeBase, query: str, expected: str
) -> None:
    assert _top(knowledge, query) == [expected]


@pytest.mark.parametrize(
    ("query", "expected"),
    [("打印机又卡纸了", "zh-printer"), ("billing portal shows the wrong invoice amount", "en-invoice")],
)
def test_same_language_query_ranks_first_with_matched_terms(
    knowledge: KnowledgeBase, query: str, expected: str
) -> None:
    hit = knowledge.search(knowledge.encoder.encode([query])[0], "default", k=1, text=query)[0]
    assert hit.document.doc_id == expected
    assert hit.matched_terms  # BM25 saw shared words
    assert hit.channels["bm25"] > 0 and hit.channels["use-m3"] > 0


def _mapped(kb: KnowledgeBase, query: str, case: str, cosine: float) -> float:
    scale, shift = kb.config.cross_map(query, case)
    return min(1.0, max(0.0, scale * cosine + shift))


def test_cross_lingual_hit_is_scored_by_the_multilingual_encoder_alone(knowledge: KnowledgeBase) -> None:
    query = "My printer has a paper jam and won't print"
    hit = knowledge.search(knowledge.encoder.encode([query])[0], "default", k=1, text=query)[0]
    assert hit.document.doc_id == "zh-printer"
    assert hit.matched_terms == ()
    assert set(hit.channels) == {"use-m3"}  # BM25 cannot compare English words with Chinese ones
    # The raw cosine of the two texts (not centred on the collection), mapped onto English's scale.
    document = hit.document
    vectors = knowledge.encoder.encode([query, embedding_text(document.title, document.body)])
    cosine = float(vectors[0] @ vectors[1] / (np.linalg.norm(vectors[0]) * np.linalg.norm(vectors[1])))
    assert hit.channels["use-m3"] == pytest.approx(cosine, abs=1e-3)
    assert hit.score == pytest.approx(_mapped(knowledge, "en", "zh", cosine), abs=1e-3)
    assert knowledge.config.cross_map("en", "zh") != (1.0, 0.0)  # the fitted map ships


def test_vector_only_search_still_works(knowledge: KnowledgeBase) -> None:
    vector = knowledge.encoder.encode(["Outlook password prompt"])[0]
    hits = knowledge.search(vector, "default", k=2)
    assert hits[0].document.doc_id == "en-outlook" and hits[0].matched_terms == ()


@pytest.fixture(scope="module")
def with_minilm(use_m3: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    folder: Path = tmp_path_factory.mktemp("kb-minilm")
    minilm = get_encoder("sentence-transformers:minilm")
    kb = KnowledgeBase(DocumentStore(folder / "kb.db"), use_m3, folder / "index", extra_encoders=[minilm])
    kb.load()
    kb.add([Document(doc_id=i, title=t, resolution=r) for i, t, r in CASES])
    return kb


@pytest.mark.slow
def test_english_encoder_joins_english_pairs_only(with_minilm: KnowledgeBase) -> None:
    english = "Outlook asks for the password again and again"
    hits = with_minilm.search(with_minilm.encoder.encode([english])[0], "default", k=6, text=english)
    assert hits[0].document.doc_id == "en-outlook"
    assert set(hits[0].channels) == {"use-m3", "sentence-transformers:minilm", "bm25"}
    # A Chinese case is scored for this English query by USE-m3 alone.
    chinese_hit = next(h for h in hits if h.document.doc_id.startswith("zh-"))
    assert set(chinese_hit.channels) == {"use-m3"}
    assert chinese_hit.score == pytest.approx(
        _mapped(with_minilm, "en", "zh", chinese_hit.channels["use-m3"]), abs=1e-3
    )
    chinese = "打印机卡纸了"
    top = with_minilm.search(with_minilm.encoder.encode([chinese])[0], "default", k=1, text=chinese)[0]
    assert top.document.doc_id == "zh-printer"
    assert "sentence-transformers:minilm" not in top.channels  # weight 0 for Chinese queries


MULTILINGUAL = [
    (
        "en-printer",
        "The printer has a paper jam and does not print",
        "Opened the rear cover and removed the paper",
    ),
    ("en-vpn", "VPN connection drops every hour", "Renewed the VPN client certificate"),
    ("en-payroll", "My salary was not paid this month", "Payroll re-ran the payment batch"),
    ("pt-cafe", "A máquina de café não está funcionando e está com vazamento", "Técnico trocou a válvula"),
    ("pt-porta", "A porta da sala não está fechando e está com barulho", "Ajustamos a dobradiça"),
    ("de-parken", "Der Parkplatz ist nicht frei und die Schranke ist kaputt", "Schranke repariert"),
]


@pytest.fixture(scope="module")
def multilingual(use_m3: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    folder: Path = tmp_path_factory.mktemp("kb-multi")
    kb = KnowledgeBase(DocumentStore(folder / "kb.db"), use_m3, folder / "index")
    kb.load()
    kb.add([Document(doc_id=i, title=t, resolution=r) for i, t, r in MULTILINGUAL])
    return kb


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Portuguese and German queries share function words ("não está com", "ist nicht") with
        # unrelated cases in their own language; their English versions must still win.
        ("A impressora está com papel preso e não está imprimindo", "en-printer"),
        ("Mein Gehalt ist diesen Monat nicht gezahlt worden und die Abrechnung ist falsch", "en-payroll"),
        ("Die VPN-Verbindung ist jede Stunde weg und ist nicht stabil", "en-vpn"),
    ],
)
def test_words_are_compared_only_within_one_language(
    multilingual: KnowledgeBase, query: str, expected: str
) -> None:
    assert _top(multilingual, query) == [expected]


def test_same_language_cases_still_match_by_words(multilingual: KnowledgeBase) -> None:
    assert _top(multilingual, "A máquina de café está com vazamento") == ["pt-cafe"]


@pytest.fixture(scope="module")
def floored(use_m3: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The CASES knowledge base with the floors fitted on the shared datasets switched on."""
    folder: Path = tmp_path_factory.mktemp("kb-floored")
    kb = KnowledgeBase(
        DocumentStore(folder / "kb.db"),
        use_m3,
        folder / "index",
        config=HybridConfig(floors=RELEVANCE_FLOORS),
    )
    kb.load()
    kb.add([Document(doc_id=i, title=t, resolution=r) for i, t, r in CASES])
    return kb


def test_the_relevance_floor_is_off_by_default(knowledge: KnowledgeBase) -> None:
    query = "Can someone water the plants on the third floor balcony?"
    assert knowledge.search(
        knowledge.encoder.encode([query])[0], "default", k=3, text=query, relevant_only=True
    )


@pytest.mark.parametrize(
    "query",
    ["Can someone water the plants on the third floor balcony?", "下周三团建去哪里吃饭，大家投票"],
)
def test_an_off_topic_ticket_gets_no_similar_cases(floored: KnowledgeBase, query: str) -> None:
    vector = floored.encoder.encode([query])[0]
    assert floored.search(vector, "default", k=3, text=query), "without the floor: the least unrelated"
    assert floored.search(vector, "default", k=3, text=query, relevant_only=True) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Outlook keeps asking me for my password again", "en-outlook"),
        ("打印机又卡纸了，无法打印", "zh-printer"),
    ],
)
def test_the_relevance_floor_keeps_real_matches(knowledge: KnowledgeBase, query: str, expected: str) -> None:
    hits = knowledge.search(
        knowledge.encoder.encode([query])[0], "default", k=1, text=query, relevant_only=True
    )
    assert [h.document.doc_id for h in hits] == [expected]


@pytest.fixture(scope="module")
def chinese_only(use_m3: Encoder, tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Only the Chinese cases, floors on: every hit of an English query crosses languages."""
    folder: Path = tmp_path_factory.mktemp("kb-zh")
    kb = KnowledgeBase(
        DocumentStore(folder / "kb.db"),
        use_m3,
        folder / "index",
        config=HybridConfig(floors=RELEVANCE_FLOORS),
    )
    kb.load()
    kb.add([Document(doc_id=i, title=t, resolution=r) for i, t, r in CASES if i.startswith("zh-")])
    return kb


@pytest.mark.parametrize(
    "query",
    [
        "Can someone water the plants on the third floor balcony?",
        "Who wants to join the football match on Friday?",
    ],
)
def test_an_off_topic_ticket_gets_no_similar_cases_in_another_language(
    chinese_only: KnowledgeBase, query: str
) -> None:
    vector = chinese_only.encoder.encode([query])[0]
    assert chinese_only.search(vector, "default", k=3, text=query), "without the floor: the least unrelated"
    assert chinese_only.search(vector, "default", k=3, text=query, relevant_only=True) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("My printer has a paper jam and won't print", "zh-printer"),
        ("The laptop does not turn on at all", "zh-laptop"),
    ],
)
def test_the_relevance_floor_keeps_real_matches_in_another_language(
    chinese_only: KnowledgeBase, query: str, expected: str
) -> None:
    hits = chinese_only.search(
        chinese_only.encoder.encode([query])[0], "default", k=1, text=query, relevant_only=True
    )
    assert [h.document.doc_id for h in hits] == [expected]
