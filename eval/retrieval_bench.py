"""Retrieval quality: the knowledge base's hybrid search against single-method baselines, same data, same run.

Run ``python -m eval.retrieval_bench [--datasets ../shared/datasets] [--out BENCHMARKS.md]``.

- GitBugs (Hadoop, SeaMonkey): each gold duplicate pair's query bug searches every other bug of
  its project; recall@10 and MRR (rank cut at 100, so ours searches with k=100) of the gold
  duplicate.
- AFQMC dev: ROC-AUC of each method's similarity score over the labelled question pairs.
- cn-ict-fault-tickets split: each test ticket searches the train tickets; label agreement of the
  top hit and character ROUGE-L F1 of its resolution against the true one (all 167, and the 124
  whose text does not occur in train).

"Ours" is ``KnowledgeBase.search`` exactly as the service runs it (USE-m3 main vectors,
``sentence-transformers:minilm`` as a further encoder, BM25, ``HybridConfig`` weights); the
baselines are computed here from the same embeddings. Embeddings are cached under
``var/cache/retrieval``. Only aggregate numbers are printed or written.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from embeddings import Encoder, get_encoder
from eval.headline_bench import rouge_l_f1
from eval.report import DEFAULT_DATASETS, stamp, update_section
from eval.scale_bench import embed_cached
from knowledge import Document, DocumentStore, Hit, HybridConfig, KnowledgeBase
from knowledge.base import embedding_text
from knowledge.store import SearchFilters
from training.data import DataError, read_dataset_csv

logger = logging.getLogger(__name__)

_CACHE = Path("var") / "cache" / "retrieval"
_MAIN, _EXTRA = "use-m3", "sentence-transformers:minilm"
_DEPTH = 100


class CachedEncoder:
    """An encoder answering from precomputed vectors (same name and dimension as the real one)."""

    def __init__(self, real: Encoder, vectors: dict[str, np.ndarray]) -> None:
        self.name = real.name
        self.dim = real.dim
        self._real = real
        self._vectors = vectors

    def load(self) -> None:
        return None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        missing = [t for t in texts if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self._real.encode(missing), strict=True))
        return np.stack([self._vectors[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)


def _embed(spec: str, texts: Sequence[str]) -> CachedEncoder:
    encoder = get_encoder(spec)
    unique = sorted(set(texts))
    vectors = embed_cached(encoder, unique, _CACHE).astype(np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return CachedEncoder(encoder, dict(zip(unique, vectors, strict=True)))


def _csv(path: Path) -> list[dict[str, str]]:
    try:
        return read_dataset_csv(path)
    except DataError as e:
        raise SystemExit(str(e)) from None


# ---------------------------------------------------------------- baselines


def _bm25_english(texts: Sequence[str]) -> list[list[str]]:
    import bm25s

    return [bm25s.tokenize(t, stopwords="en", show_progress=False, return_ids=False)[0] for t in texts]


def _bm25_chinese(texts: Sequence[str]) -> list[list[str]]:
    from knowledge.text import _jieba

    return [[w for w in _jieba().lcut(t) if w.strip()] for t in texts]


def bm25_scores(docs: Sequence[list[str]], queries: Sequence[list[str]]) -> np.ndarray:
    """Plain bm25s (default k1, b) scores of each query against every document."""
    import bm25s

    model = bm25s.BM25()
    model.index(list(docs), show_progress=False)
    out = np.zeros((len(queries), len(docs)), dtype=np.float32)
    for i, query in enumerate(queries):
        ids = model.get_tokens_ids(query)
        if ids:
            out[i] = model.get_scores_from_ids(ids)
    return out


def tfidf_scores(docs: Sequence[str], queries: Sequence[str], chinese: bool) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = (
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True)
        if chinese
        else TfidfVectorizer(sublinear_tf=True)
    )
    matrix = vectorizer.fit_transform(list(docs))
    return np.asarray((vectorizer.transform(list(queries)) @ matrix.T).todense())


def rrf(score_sets: Sequence[np.ndarray], k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion (equal weights) of several query x document score matrices."""
    out = np.zeros_like(score_sets[0], dtype=np.float64)
    for scores in score_sets:
        order = np.argsort(-scores, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(
            ranks, order, np.arange(1, scores.shape[1] + 1)[None, :].repeat(len(scores), 0), axis=1
        )
        out += 1.0 / (k + ranks)
    return out


# ---------------------------------------------------------------- the service's search


def search_bugs(
    kb: KnowledgeBase, main: Encoder, queries: Sequence[str], texts: Sequence[str], titles: Sequence[str]
) -> dict[str, list[Hit]]:
    """The service's hybrid search for each query bug (by id, with its text and title), itself left out."""
    return {
        query: kb.search(
            main.encode([text])[0], "default", k=_DEPTH, exclude_ids=[query], text=text, title=title
        )
        for query, text, title in zip(queries, texts, titles, strict=True)
    }


def _knowledge_base(
    folder: Path,
    docs: Sequence[Document],
    main: CachedEncoder,
    extra: Sequence[Encoder],
    config: HybridConfig | None = None,
) -> KnowledgeBase:
    kb = KnowledgeBase(
        DocumentStore(folder / "kb.db"), main, folder / "index", extra_encoders=extra, config=config
    )
    kb.load()
    for start in range(0, len(docs), 500):
        kb.add(docs[start : start + 500])
    return kb


@dataclass(frozen=True)
class Sample:
    """One duplicate decision: flag when ``score`` reaches the threshold; ``correct`` if that flag is right.

    ``positive``: there is a duplicate to find (GitBugs: a query bug with a gold duplicate; AFQMC:
    a paraphrase pair).
    """

    source: str
    score: float
    correct: bool
    positive: bool


@dataclass(frozen=True)
class Row:
    dataset: str
    method: str
    metrics: dict[str, float]
    notes: dict[str, str] = field(default_factory=dict)  # cells written as given (intervals)


# ---------------------------------------------------------------- GitBugs


@dataclass(frozen=True)
class GitBugs:
    """One GitBugs project: its bugs as search documents and the gold duplicate pairs."""

    ids: list[str]
    titles: list[str]
    texts: list[str]  # title and description, as the service embeds them
    docs: list[Document]
    pairs: list[tuple[str, str]]  # (query id, duplicate id)

    @property
    def queries(self) -> list[str]:
        return sorted({q for q, _ in self.pairs})

    @property
    def position(self) -> dict[str, int]:
        return {bug_id: i for i, bug_id in enumerate(self.ids)}


def load_gitbugs(datasets: Path, project: str) -> GitBugs:
    files = {"hadoop": "hadoop_bugs.csv", "seamonkey": "SeaMonkey_bugs.csv"}
    root = datasets / "gitbugs-hadoop-seamonkey"
    bugs = _csv(root / files[project])
    pairs = [(r["query_id"], r["duplicate_id"]) for r in _csv(root / f"eval_duplicate_pairs_{project}.csv")]
    ids = [b["Issue id"] for b in bugs]
    titles = [b["Summary"] or "" for b in bugs]
    bodies = [b["Description"] or "" for b in bugs]
    docs = [
        Document(doc_id=bug_id, title=t, body=b, status=(bug.get("Status") or "resolved").lower())
        for bug_id, t, b, bug in zip(ids, titles, bodies, bugs, strict=True)
    ]
    texts = [embedding_text(t, b) for t, b in zip(titles, bodies, strict=True)]
    return GitBugs(ids, titles, texts, docs, pairs)


def gitbugs(datasets: Path, project: str, folder: Path, samples: list[Sample]) -> list[Row]:
    data = load_gitbugs(datasets, project)
    ids, titles, texts, pairs, queries = data.ids, data.titles, data.texts, data.pairs, data.queries
    position = data.position
    main, extra = _embed(_MAIN, texts), _embed(_EXTRA, texts)
    rows_q = [position[q] for q in queries]

    def ranks_from(scores: np.ndarray) -> dict[str, list[str]]:
        out = {}
        for row, query in zip(rows_q, queries, strict=True):
            s = scores[row].astype(np.float64).copy()
            s[row] = -np.inf
            out[query] = [ids[i] for i in np.argsort(-s, kind="stable")[:_DEPTH]]
        return out

    dense_use = main.encode(texts) @ main.encode(texts).T
    dense_mini = extra.encode(texts) @ extra.encode(texts).T
    tokens = _bm25_english(texts)
    bm25 = bm25_scores(tokens, tokens)
    tfidf = tfidf_scores(texts, texts, chinese=False)
    rankings: dict[str, dict[str, list[str]]] = {
        "USE-m3": ranks_from(dense_use),
        "MiniLM": ranks_from(dense_mini),
        "BM25 (bm25s default)": ranks_from(bm25),
        "TF-IDF (sublinear)": ranks_from(tfidf),
        "RRF(MiniLM+BM25)": ranks_from(rrf([dense_mini, bm25])),
    }
    kb = _knowledge_base(folder / project, data.docs, main, [extra])
    started = time.perf_counter()
    hits_of = search_bugs(
        kb, main, queries, [texts[position[q]] for q in queries], [titles[position[q]] for q in queries]
    )
    ours = {q: [h.document.doc_id for h in hits] for q, hits in hits_of.items()}
    scores = {q: {h.document.doc_id: h.score for h in hits} for q, hits in hits_of.items()}
    per_query_ms = (time.perf_counter() - started) * 1000 / len(queries)
    rankings["Ours: hybrid (KnowledgeBase.search)"] = ours
    gold: dict[str, set[str]] = {}
    for q, d in pairs:
        gold.setdefault(q, set()).add(d)
    # Duplicate decisions as find_duplicates makes them: flag the top hit when its score is high enough.
    for q in queries:
        top = ours[q][0] if ours[q] else None
        samples.append(Sample(f"gitbugs-{project}", scores[q].get(top or "", 0.0), top in gold[q], True))
    involved = {q for q, _ in pairs} | {d for _, d in pairs}
    loners = [bug_id for bug_id in ids if bug_id not in involved]
    for bug_id in np.random.default_rng(0).choice(loners, size=min(300, len(loners)), replace=False).tolist():
        i = position[bug_id]
        hits = kb.search(
            main.encode([texts[i]])[0], "default", k=1, exclude_ids=[bug_id], text=texts[i], title=titles[i]
        )
        samples.append(Sample(f"gitbugs-{project}", hits[0].score if hits else 0.0, False, False))
    kb.store.close()
    rows = []
    for method, ranking in rankings.items():
        found = [ranking[q].index(d) + 1 if d in ranking[q] else None for q, d in pairs]
        rows.append(
            Row(
                f"GitBugs {project} ({len(pairs)} pairs, {len(ids)} bugs)",
                method,
                {
                    "recall@10": float(np.mean([r is not None and r <= 10 for r in found])),
                    "MRR": float(np.mean([1.0 / r if r else 0.0 for r in found])),
                    **({"ms/query": per_query_ms} if method.startswith("Ours") else {}),
                },
            )
        )
    return rows


# ---------------------------------------------------------------- AFQMC


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, scores))


def afqmc(datasets: Path, folder: Path, samples: list[Sample]) -> list[Row]:
    pairs = _csv(datasets / "cn-afqmc-pairs" / "dev.csv")
    first = [p["sentence1"] for p in pairs]
    second = [p["sentence2"] for p in pairs]
    labels = np.array([int(p["label"]) for p in pairs])
    sentences = sorted(set(first) | set(second))
    sid = {s: f"q{i}" for i, s in enumerate(sentences)}
    main = _embed(_MAIN, sentences)
    a, b = main.encode(first), main.encode(second)
    sentence_tokens = dict(zip(sentences, _bm25_chinese(sentences), strict=True))
    model_scores = {}
    bm25_all = _pair_bm25([sentence_tokens[s] for s in sentences], sentences, first, second, sentence_tokens)
    model_scores["BM25 (jieba)"] = bm25_all
    model_scores["USE-m3"] = np.sum(a * b, axis=1)
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True).fit(sentences)
    ta, tb = vectorizer.transform(first), vectorizer.transform(second)
    model_scores["TF-IDF char 1-3"] = np.asarray(ta.multiply(tb).sum(axis=1)).ravel()
    # The MiniLM channel has weight 0 for Chinese queries: the KB is built without it (same scores).
    docs = [Document(doc_id=sid[s], body=s) for s in sentences]
    kb = _knowledge_base(folder / "afqmc", docs, main, [])
    started = time.perf_counter()
    ours = np.zeros(len(pairs))
    for i, (s1, s2) in enumerate(zip(first, second, strict=True)):
        hits = kb.search(a[i], "default", k=1, text=s1, filters=SearchFilters(doc_ids=(sid[s2],)))
        ours[i] = hits[0].score if hits else 0.0
    per_query_ms = (time.perf_counter() - started) * 1000 / len(pairs)
    kb.store.close()
    samples.extend(Sample("afqmc", float(v), bool(y), bool(y)) for v, y in zip(ours, labels, strict=True))
    rows = [
        Row(f"AFQMC dev ({len(pairs)} pairs)", m, {"ROC-AUC": _auc(labels, s)})
        for m, s in model_scores.items()
    ]
    rows.append(
        Row(
            f"AFQMC dev ({len(pairs)} pairs)",
            "Ours: hybrid score",
            {"ROC-AUC": _auc(labels, ours), "ms/query": per_query_ms},
        )
    )
    return rows


def _pair_bm25(
    corpus: Sequence[list[str]],
    sentences: Sequence[str],
    first: Sequence[str],
    second: Sequence[str],
    tokens: dict[str, list[str]],
) -> np.ndarray:
    import bm25s

    model = bm25s.BM25()
    model.index(list(corpus), show_progress=False)
    index = {s: i for i, s in enumerate(sentences)}
    out = np.zeros(len(first))
    for i, (s1, s2) in enumerate(zip(first, second, strict=True)):
        ids = model.get_tokens_ids(tokens[s1])
        if ids:
            out[i] = model.get_scores_from_ids(ids)[index[s2]]
    return out


# ---------------------------------------------------------------- cn-ict


def _char_rouge(candidate: str, reference: str) -> float:
    return rouge_l_f1([c for c in candidate if not c.isspace()], [c for c in reference if not c.isspace()])


def ict(datasets: Path, folder: Path) -> list[Row]:
    root = datasets / "cn-ict-fault-tickets" / "split"
    train, test = _csv(root / "train.csv"), _csv(root / "test.csv")
    train_texts = [r["text"] for r in train]
    test_texts = [r["text"] for r in test]
    seen = set(train_texts)
    unseen = np.array([t not in seen for t in test_texts])
    main = _embed(_MAIN, train_texts + test_texts)
    dense = main.encode(test_texts) @ main.encode(train_texts).T
    bm25 = bm25_scores(_bm25_chinese(train_texts), _bm25_chinese(test_texts))
    tops: dict[str, list[int]] = {
        "USE-m3": list(dense.argmax(axis=1)),
        "BM25 (jieba)": list(bm25.argmax(axis=1)),
        "TF-IDF char 1-3": list(tfidf_scores(train_texts, test_texts, chinese=True).argmax(axis=1)),
        "RRF(USE-m3+BM25)": list(rrf([dense, bm25]).argmax(axis=1)),
    }
    docs = [
        Document(doc_id=f"t{i}", body=r["text"], resolution=r["resolution"] or "", department=r["label"])
        for i, r in enumerate(train)
    ]
    kb = _knowledge_base(folder / "ict", docs, main, [])
    started = time.perf_counter()
    ours = []
    for text in test_texts:
        hits = kb.search(main.encode([text])[0], "default", k=1, text=text)
        ours.append(int(hits[0].document.doc_id[1:]) if hits else 0)
    per_query_ms = (time.perf_counter() - started) * 1000 / len(test_texts)
    kb.store.close()
    tops["Ours: hybrid (KnowledgeBase.search)"] = ours
    rng = np.random.default_rng(0)
    tops["random train ticket"] = list(rng.integers(0, len(train), size=len(test)))
    has_resolution = np.array([bool(r["resolution"]) for r in test])
    rows = []
    for method, top in tops.items():
        label = np.array([train[j]["label"] == test[i]["label"] for i, j in enumerate(top)])
        rouge = np.array(
            [
                _char_rouge(train[j]["resolution"] or "", test[i]["resolution"] or "")
                for i, j in enumerate(top)
            ]
        )
        metrics = {
            "label@1": float(label.mean()),
            "ROUGE-L": float(rouge[has_resolution].mean()),
            "unseen label@1": float(label[unseen].mean()),
            "unseen ROUGE-L": float(rouge[unseen & has_resolution].mean()),
        }
        if method.startswith("Ours"):
            metrics["ms/query"] = per_query_ms
        rows.append(Row(f"cn-ict split ({len(test)} test, {int(unseen.sum())} unseen)", method, metrics))
    return rows


# ---------------------------------------------------------------- duplicate thresholds


def _f1(samples: Sequence[Sample], threshold: float) -> tuple[float, float, float]:
    """Precision, recall and F1 of flagging every decision whose score reaches ``threshold``."""
    flagged = [s for s in samples if s.score >= threshold]
    right = sum(1 for s in flagged if s.correct)
    positives = sum(1 for s in samples if s.positive)
    precision = right / len(flagged) if flagged else 0.0
    recall = right / positives if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def best_threshold(samples: Sequence[Sample]) -> float:
    """The score threshold with the best F1."""
    candidates = sorted({round(s.score, 3) for s in samples})
    return max(candidates, key=lambda t: (_f1(samples, t)[2], t)) if candidates else 1.0


def duplicate_thresholds(samples: Sequence[Sample]) -> str:
    """Choose each language's threshold on one set, report it on another (``DUPLICATE_THRESHOLD``)."""
    lines = [
        "## Duplicate thresholds (`knowledge.duplicates.DUPLICATE_THRESHOLD`)",
        "",
        "GitBugs: every query bug with a gold duplicate, plus 300 bugs in no duplicate pair, searches the "
        "others; its top hit is flagged when the hybrid score reaches the threshold, rightly when it is a "
        "gold duplicate (recall: of the queries with one). AFQMC: a pair is flagged when its score "
        "reaches the threshold, rightly when it is a paraphrase. The threshold maximises F1 on the "
        "*choose* set; precision and recall are read on the *check* set.",
        "",
        "| language | choose on | check on | threshold | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    afqmc = [s for s in samples if s.source == "afqmc"]
    plans = [
        (
            "en",
            "gitbugs-hadoop",
            "gitbugs-seamonkey",
            [s for s in samples if s.source == "gitbugs-hadoop"],
            [s for s in samples if s.source == "gitbugs-seamonkey"],
        ),
        ("zh", "AFQMC dev, even rows", "AFQMC dev, odd rows", afqmc[::2], afqmc[1::2]),
    ]
    for language, choose_name, check_name, choose, check in plans:
        if not choose or not check:
            continue
        threshold = best_threshold(choose)
        precision, recall, f1 = _f1(check, threshold)
        lines.append(
            f"| {language} | {choose_name} | {check_name} | {threshold:.3f} | {precision:.3f} | {recall:.3f} | {f1:.3f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- report


CROSSLINGUAL = Path(__file__).resolve().parent / "resources" / "cn_ict_crosslingual.csv"
# English distractors for the Chinese -> English direction (itsm test tickets, first ones).
CROSSLINGUAL_DISTRACTORS = 500


def _paired_interval(ours: Sequence[bool], other: Sequence[bool], draws: int = 2000) -> tuple[float, float]:
    """95 % paired bootstrap interval (seed 0) of mean(ours) - mean(other) over the same queries."""
    a = np.asarray(ours, dtype=np.float64)
    b = np.asarray(other, dtype=np.float64)
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(a), size=(draws, len(a)))
    deltas = a[picks].mean(axis=1) - b[picks].mean(axis=1)
    return float(np.percentile(deltas, 2.5)), float(np.percentile(deltas, 97.5))


def crosslingual(datasets: Path, folder: Path) -> list[Row]:
    """cn-ict tickets against English descriptions of them written by hand for this check
    (``eval/resources/cn_ict_crosslingual.csv``: ticket ids and our own English, no dataset text;
    only the ``test`` rows here: the ``train`` rows fit ``knowledge.base.CROSS_LANGUAGE_MAPS``).

    English -> Chinese: each description searches all cn-ict tickets (train + test): is its ticket
    the top hit / in the top 10, and does the top hit share its label; and again in a mixed
    collection where the Chinese tickets sit beside English itsm tickets, which BM25 and the
    English scale could prefer. Chinese -> English: each ticket searches the descriptions mixed with
    English itsm tickets: is its own description first. Only cross-lingual channels can score these
    pairs, so BM25 alone cannot answer. Differences to USE-m3 alone come with a paired bootstrap
    interval over the descriptions.
    """
    pairs = [p for p in _csv(CROSSLINGUAL) if p.get("split", "test") == "test"]
    root = datasets / "cn-ict-fault-tickets" / "split"
    tickets = _csv(root / "train.csv") + _csv(root / "test.csv")
    by_id = {r["id"]: r for r in tickets}
    zh_texts = [r["text"] for r in tickets]
    en_texts = [p["english"] for p in pairs]
    distractors = [r["text"] for r in _csv(datasets / "itsm-ticket-assignment" / "split" / "test.csv")]
    distractors = distractors[:CROSSLINGUAL_DISTRACTORS]
    main = _embed(_MAIN, zh_texts + en_texts + distractors)
    targets = [zh_texts.index(by_id[p["id"]]["text"]) for p in pairs]  # first ticket with that text
    dense = main.encode(en_texts) @ main.encode(zh_texts).T
    zh_docs = [
        Document(doc_id=f"z{i}", body=t, department=r["label"])
        for i, (t, r) in enumerate(zip(zh_texts, tickets, strict=True))
    ]
    zh_kb = _knowledge_base(folder / "xl-zh", zh_docs, main, [])
    distractor_docs = [Document(doc_id=f"d{i}", body=t) for i, t in enumerate(distractors)]
    mixed_kb = _knowledge_base(folder / "xl-mixed", zh_docs + distractor_docs, main, [])
    en_docs = [Document(doc_id=f"e{i}", body=t) for i, t in enumerate(en_texts)] + distractor_docs
    en_kb = _knowledge_base(folder / "xl-en", en_docs, main, [])
    ours_en, ours_mixed, ours_zh = [], [], []
    for text in en_texts:
        vector = main.encode([text])[0]
        hits = zh_kb.search(vector, "default", k=10, text=text)
        ours_en.append([int(h.document.doc_id[1:]) for h in hits])
        top = mixed_kb.search(vector, "default", k=1, text=text)
        ours_mixed.append(top[0].document.doc_id if top else "")
    zh_queries = [zh_texts[t] for t in targets]
    for text in zh_queries:
        hits = en_kb.search(main.encode([text])[0], "default", k=1, text=text)
        ours_zh.append(hits[0].document.doc_id if hits else "")
    for kb in (zh_kb, mixed_kb, en_kb):
        kb.store.close()
    reverse_dense = main.encode(zh_queries) @ main.encode(en_texts + distractors).T
    mixed_dense = main.encode(en_texts) @ main.encode(zh_texts + distractors).T
    rankings = {
        "USE-m3": [list(np.argsort(-row)[:10]) for row in dense],
        "Ours: hybrid (KnowledgeBase.search)": ours_en,
    }
    reverse = {
        "USE-m3": [
            f"e{int(np.argmax(row))}" if np.argmax(row) < len(en_texts) else "d" for row in reverse_dense
        ],
        "Ours: hybrid (KnowledgeBase.search)": ours_zh,
    }
    mixed = {
        "USE-m3": [
            f"z{int(np.argmax(row))}" if np.argmax(row) < len(zh_texts) else "d" for row in mixed_dense
        ],
        "Ours: hybrid (KnowledgeBase.search)": ours_mixed,
    }
    labels = [by_id[p["id"]]["label"] for p in pairs]
    name = (
        f"cn-ict cross-lingual ({len(pairs)} hand-written English descriptions of test tickets; "
        f"{len(zh_texts)} Chinese tickets, {len(distractors)} English itsm tickets as distractors)"
    )
    outcomes: dict[str, dict[str, list[bool]]] = {}
    for method, ranked in rankings.items():
        outcomes[method] = {
            "en->zh R@1": [zh_texts[r[0]] == zh_texts[t] for r, t in zip(ranked, targets, strict=True)],
            "en->zh R@10": [
                any(zh_texts[i] == zh_texts[t] for i in r[:10]) for r, t in zip(ranked, targets, strict=True)
            ],
            "en->zh label@1": [tickets[r[0]]["label"] == lab for r, lab in zip(ranked, labels, strict=True)],
            "en->zh+en R@1": [
                got.startswith("z") and zh_texts[int(got[1:])] == zh_texts[t]
                for got, t in zip(mixed[method], targets, strict=True)
            ],
            "zh->en R@1": [got == f"e{i}" for i, got in enumerate(reverse[method])],
        }
    rows = [
        Row(name, method, {k: float(np.mean(v)) for k, v in found.items()})
        for method, found in outcomes.items()
    ]
    ours, base = outcomes["Ours: hybrid (KnowledgeBase.search)"], outcomes["USE-m3"]
    intervals = {}
    for metric in ("en->zh R@1", "en->zh+en R@1", "zh->en R@1"):
        low, high = _paired_interval(ours[metric], base[metric])
        intervals[metric] = float(np.mean(ours[metric]) - np.mean(base[metric])), low, high
    rows.append(
        Row(
            name,
            "Ours - USE-m3 (paired 95 % interval)",
            {},
            notes={k: f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for k, (d, lo, hi) in intervals.items()},
        )
    )
    return rows


def markdown(rows: Sequence[Row], command: str, seconds: float) -> str:
    out = [
        "## Retrieval quality: hybrid search vs single methods",
        "",
        stamp(command).rstrip(),
        f"- Wall time: {seconds / 60:.1f} min (embeddings are cached under `var/cache/retrieval` for later runs).",
        "- Ours = `KnowledgeBase.search` with USE-m3 main vectors plus `sentence-transformers:minilm` as a "
        "further encoder (the default service runs USE-m3 + BM25 only, keeping torch out of serving), BM25 "
        "(jieba + light-stemmed English, title x3), fused by the weighted mean of channel similarities "
        "(`HybridConfig`). Baselines use the same embeddings.",
        "",
    ]
    for dataset in dict.fromkeys(r.dataset for r in rows):
        chosen = [r for r in rows if r.dataset == dataset]
        names = list(dict.fromkeys(k for r in chosen for k in (*r.metrics, *r.notes)))
        out += [
            f"**{dataset}**",
            "",
            "| method | " + " | ".join(names) + " |",
            "|---" * (len(names) + 1) + "|",
        ]
        for r in chosen:
            cells = [
                f"{r.metrics[n]:.3f}" if n in r.metrics and n != "ms/query" else r.notes.get(n, "")
                for n in names
            ]
            if "ms/query" in r.metrics:
                cells[names.index("ms/query")] = f"{r.metrics['ms/query']:.1f}"
            out.append(f"| {r.method} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--datasets", type=Path, default=DEFAULT_DATASETS)
    parser.add_argument(
        "--out", type=Path, default=None, help="benchmarks file to update (section 'retrieval')"
    )
    parser.add_argument(
        "--only", default="hadoop,seamonkey,afqmc,ict,crosslingual", help="comma-separated subset"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    started = time.perf_counter()
    wanted = set(args.only.split(","))
    samples: list[Sample] = []
    jobs: dict[str, Callable[[Path], list[Row]]] = {
        "hadoop": lambda f: gitbugs(args.datasets, "hadoop", f, samples),
        "seamonkey": lambda f: gitbugs(args.datasets, "seamonkey", f, samples),
        "afqmc": lambda f: afqmc(args.datasets, f, samples),
        "ict": lambda f: ict(args.datasets, f),
        "crosslingual": lambda f: crosslingual(args.datasets, f),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="retrieval-bench-") as tmp:
        for name, job in jobs.items():
            if name in wanted:
                rows += job(Path(tmp))
                logger.info("%s done after %.0f s", name, time.perf_counter() - started)
    command = "python -m eval.retrieval_bench" + (f" --out {args.out}" if args.out else "")
    text = markdown(rows, command, time.perf_counter() - started)
    thresholds = duplicate_thresholds(samples)
    print(text + "\n\n" + thresholds)
    if args.out:
        update_section(args.out, "retrieval", text)
        update_section(args.out, "duplicates", thresholds + "\n\n" + stamp(command))


if __name__ == "__main__":
    main()
