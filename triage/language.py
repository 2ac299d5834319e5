"""Language detection for tickets: zh, en, mixed or other, from the script of the letters."""

from __future__ import annotations

from triage import safe_regex

_HAN_RUN = safe_regex.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = safe_regex.compile(r"[A-Za-z]{2,}")

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
    han = sum(len(run) for run in _HAN_RUN.findall(text))
    words = _LATIN_WORD.findall(text)
    latin_words = len(words)
    if han == 0 and latin_words == 0:
        return "other"
    latin_letters = sum(len(w) for w in words)
    # Letters as ``re`` counts ``[^\W\d_]``: word characters that are neither digits nor "_".
    letters = sum(1 for char in text if char.isalnum() and not char.isdecimal())
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
