"""Numbers written in digits, Chinese numerals or small English words."""

from __future__ import annotations

CN_NUM_CHARS = "零〇一二两三四五六七八九十百千万亿"
NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"

_CN_DIGITS = {"零": 0, "〇": 0, "两": 2} | {ch: i for i, ch in enumerate("一二三四五六七八九", start=1)}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_EN_NUMBERS: dict[str, float] = {
    w: i
    for i, w in enumerate(["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"], 1)
} | {"a": 1, "an": 1, "couple of": 2, "half an": 0.5}


def cn_number(text: str) -> float | None:
    """Parse a Chinese numeral such as "十五", "三万五千" or "半"; ``None`` when it is not one."""
    if text == "半":
        return 0.5
    total = section = digit = 0
    seen = False
    for ch in text:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
            seen = True
        elif ch in _CN_UNITS:
            section += (digit or 1) * _CN_UNITS[ch]
            digit = 0
            seen = True
        elif ch in _CN_BIG:
            total += (section + digit) * _CN_BIG[ch]
            section = digit = 0
        else:
            return None
    return float(total + section + digit) if seen else None


def number(text: str) -> float | None:
    """Parse an Arabic, Chinese or small English number word."""
    text = text.strip()
    if not text:
        return None
    if text[0].isdigit():
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return None
    lowered = text.lower()
    if lowered in _EN_NUMBERS:
        return float(_EN_NUMBERS[lowered])
    return cn_number(text)
