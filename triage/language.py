"""Language detection for tickets: zh, en, mixed or other, from the script of the letters."""

from __future__ import annotations

import re

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

# Share of Han characters among letters above which a text is Chinese even with some English
# system names or log lines in it (those are common in Chinese tickets).
_ZH_SHARE = 0.35
_ZH_MAJORITY = 0.5
_MIXED_SHARE = 0.08


def detect_language(text: str) -> str:
    """Return ``"zh"``, ``"en"``, ``"mixed"`` or ``"other"`` for a ticket text.

    Counts Han characters against Latin words (a Chinese character carries about as much as an
    English word). Other scripts (Cyrillic, Arabic, ...) and texts without letters are ``other``.
    """
    han = len(_HAN.findall(text))
    latin_words = len(_LATIN_WORD.findall(text))
    letters = len(_LETTER.findall(text))
    if han == 0 and latin_words == 0:
        return "other"
    latin_letters = sum(len(w) for w in _LATIN_WORD.findall(text))
    if han == 0:
        # Mostly non-Latin, non-Han letters: another script.
        return "en" if latin_letters >= 0.5 * max(letters, 1) else "other"
    units = han + latin_words
    han_share = han / units
    if han_share >= _ZH_MAJORITY or (han_share >= _ZH_SHARE and latin_words < 6):
        return "zh"
    if han_share <= _MIXED_SHARE and han < 4:
        return "en"
    return "mixed"
