"""Dates and times of day: absolute, relative and partial, joined into datetimes where they touch.

Relative dates ("昨天下午三点", "next Monday") resolve against ``reference_time`` (the ticket's
created_at). Without one their value is the surface text behind ``UNRESOLVED_PREFIX``. A month and
day without a year take the year nearest the reference; with no reference they stay partial:
``"03-05"`` (or ``"23"`` for a bare day of the month) with ``partial=True``. A time of day alone
("03:12 UTC") takes the reference's date (``"2026-03-04T03:12:00+00:00"``); with no reference it
is ``"03:12:00+00:00"``, partial. Weeks start on Monday: "上周五" and "last Friday" are the Friday
of the previous calendar week; a bare "Friday" is this week's. "03/05/2026" reads month first
unless the first number exceeds 12; "31.05.2017" reads day first. Zone names other than UTC/GMT
stay in the span but not in the value (their offset depends on daylight saving).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone

from triage.fields.engine import TABLE_PATH, Candidate, Hit, Rx, read_resource
from triage.fields.numbers import number
from triage.fields.table import followed_by_letter, named_patterns

#: Marks a relative date or time that had no ``reference_time`` to resolve against.
UNRESOLVED_PREFIX = "unresolved:"

_WORDS = read_resource(TABLE_PATH)["date_words"]
_EN_MONTHS = {m: i for i, m in enumerate(_WORDS["en_months"].split(), start=1)}
_EN_WEEKDAYS = {d: i for i, d in enumerate(_WORDS["en_weekdays"].split())}
_ZH_WEEKDAYS = {"天": 6} | {d: i for i, d in enumerate("一二三四五六日")} | {str(i + 1): i for i in range(7)}
_ZH_RELATIVE_DAYS: Mapping[str, int] = _WORDS["zh_relative_days"]
_EN_RELATIVE_DAYS: Mapping[str, int] = _WORDS["en_relative_days"]
_WEEK_OFFSETS: Mapping[str, int] = _WORDS["week_offsets"]
_EN_RELATIVE_NEEDLES = ("yesterday", "today", "tonight", "tomorrow", "this ")
_EN_WEEK_NEEDLES = ("last ", "next ", "this ", "coming ", "past ")
_ZH_EVENING = ("下午", "傍晚", "晚上", "晚间", "夜里", "夜间", "深夜", "午后")
_UTC_NAMES = frozenset({"utc", "gmt", "z"})


@dataclass(frozen=True, slots=True)
class DateExpr:
    """A parsed date expression before resolution against a reference time."""

    # "abs": year (maybe None), month, day; "dom": day of an unnamed month; "days": offset days;
    # "week": offset weeks, weekday
    kind: str
    year: int | None = None
    month: int = 0
    day: int = 0
    offset: int = 0
    weekday: int = 0
    pm_hint: bool = False  # "昨晚", "tonight": a bare hour means the evening


def _after_numeral(hit: Hit, text: str) -> bool:
    """ "13点" is no hour inside "113点": the hour must not continue a number."""
    return not (hit.start("h") > 0 and text[hit.start("h") - 1] in "0123456789零一二两三四五六七八九十")


#: The table's ``date_patterns`` (``resources/field_table.yaml``), by name.
_P = named_patterns(
    "date_patterns",
    {
        "same_separators": lambda hit, text: not hit.has("sep2") or hit.group("sep2") == hit.group("sep"),
        "month_ends_word": lambda hit, text: not followed_by_letter(text, hit.start("mend")),
        "hour_not_after_numeral": _after_numeral,
    },
)
_P["zh_relative"] = Rx("|".join(sorted(_ZH_RELATIVE_DAYS, key=len, reverse=True)), name="zh relative day")


class DateContext:
    """One ticket's date extraction: its text, reference time and the candidates found so far."""

    def __init__(self, text: str, lowered: str, has_han: bool, ref: datetime | None) -> None:
        self.text = text
        self.lowered = lowered
        self.has_han = has_han
        self.ref = ref
        self.found: list[Candidate] = []

    # ------------------------------------------------------------------ dates

    def dates(self) -> None:
        text, lowered, ref = self.text, self.lowered, self.ref
        if any(ch.isdigit() for ch in text):
            self._numeric_dates()
        for hit in (
            _P["en_relative"].finditer(text) if any(w in lowered for w in _EN_RELATIVE_NEEDLES) else ()
        ):
            rel = hit.group("rel").lower()
            expr = DateExpr("days", offset=_EN_RELATIVE_DAYS[rel], pm_hint=rel in ("tonight", "this evening"))
            self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["en_week"].finditer(text) if any(w in lowered for w in _EN_WEEK_NEEDLES) else ():
            expr = _week_expr(hit.group("wk").lower(), _EN_WEEKDAYS[hit.group("wd")[:3].lower()], ref)
            self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["en_weekday"].finditer(text) if "day" in lowered else ():
            # A bare "Friday" is this week's, like a bare "周五"; "last Friday" above is longer and wins.
            expr = DateExpr("week", offset=0, weekday=_EN_WEEKDAYS[hit.group("wd")[:3].lower()])
            self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["en_ago"].finditer(text) if "ago" in lowered else ():
            self._ago(hit)
        if self.has_han:
            self._chinese_dates()

    def _numeric_dates(self) -> None:
        text, lowered = self.text, self.lowered
        for hit in _P["iso_date"].finditer(text):
            expr = _abs(int(hit.group("y")), int(hit.group("m")), int(hit.group("d")))
            if expr is None:
                continue
            tail = _P["iso_time_tail"].match_at(text, hit.end())
            if tail is not None:
                hms = (int(tail.group("h")), int(tail.group("mi")), int(tail.group("s") or 0))
                tz, end = tail.get("tz"), tail.end()
                if tz and text[end : end + 1] in tuple("0123456789:"):
                    tz, end = None, tail.start("tz")  # no zone, then
                if tz and tz != "Z" and tail.group("t") != "T" and tail.get("s") is None:
                    tz, end = None, tail.end("mi")  # "2026-03-05 13:00-14:00" is a range, not an offset
                if text[end : end + 1].isdigit() or not _valid_hms(hms):
                    self._with_time(hit.start(), hit.end(), expr)
                else:
                    self.emit(hit.start(), end, expr, hms, tz)
            else:
                self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["dotted_dmy"].finditer(text) if "." in text else ():
            self._with_time(
                hit.start(), hit.end(), _abs(int(hit.group("y")), int(hit.group("m")), int(hit.group("d")))
            )
        if "/" in text:
            for hit in _P["numeric_dmy"].finditer(text):
                a, b = int(hit.group("a")), int(hit.group("b"))
                month, day = (b, a) if a > 12 else (a, b)
                self._with_time(hit.start(), hit.end(), _abs(int(hit.group("y")), month, day))
            for hit in _P["numeric_md"].finditer(text):
                if len(hit.group("m")) + len(hit.group("d")) < 3:
                    continue  # "1/2" is more likely a fraction than a date
                self._with_time(hit.start(), hit.end(), _abs(None, int(hit.group("m")), int(hit.group("d"))))
        if any(mon in lowered for mon in _EN_MONTHS):
            for pattern in (_P["en_month_day"], _P["en_day_month"]):
                for hit in pattern.finditer(text):
                    year_tail = _P["year_tail"].match_at(text, hit.end())
                    year = int(year_tail.group("y")) if year_tail else None
                    expr = _abs(year, _EN_MONTHS[hit.group("mon")[:3].lower()], int(hit.group("d")))
                    self._with_time(hit.start(), year_tail.end() if year_tail else hit.end(), expr)

    def _chinese_dates(self) -> None:
        text = self.text
        for hit in _P["zh_date"].finditer(text) if "月" in text else ():
            month_number, day_number = number(hit.group("m")), number(hit.group("d"))
            year_text = hit.get("y")
            if month_number is None or day_number is None:
                continue
            full_year = None if year_text is None else int(year_text) + (2000 if len(year_text) == 2 else 0)
            self._with_time(hit.start(), hit.end(), _abs(full_year, int(month_number), int(day_number)))
        for hit in _P["zh_day_only"].finditer(text) if "日" in text else ():
            self._with_time(hit.start(), hit.end(), DateExpr("dom", day=int(hit.group("d"))))
        for hit in _P["zh_year_month"].finditer(text) if "年" in text else ():
            if 1 <= int(hit.group("m")) <= 12:
                value = f"{int(hit.group('y')):04d}-{int(hit.group('m')):02d}"
                self.found.append(Candidate(hit.start(), hit.end(), "date", value))
        for hit in _P["zh_relative"].finditer(text):
            word = hit.group()
            expr = DateExpr("days", offset=_ZH_RELATIVE_DAYS[word], pm_hint=word.endswith("晚"))
            self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["zh_week"].finditer(text) if any(w in text for w in ("周", "星期", "礼拜")) else ():
            weeks = _WEEK_OFFSETS.get(hit.get("wk") or "", 0)
            expr = DateExpr("week", offset=weeks, weekday=_ZH_WEEKDAYS[hit.group("wd")])
            self._with_time(hit.start(), hit.end(), expr)
        for hit in _P["zh_ago"].finditer(text) if "前" in text else ():
            self._ago(hit)

    def _ago(self, hit: Hit) -> None:
        amount = number(hit.group("n"))
        if amount is None:
            return
        unit = hit.group("unit").lower()
        if unit.startswith(("min", "分")):
            delta, with_time = timedelta(minutes=amount), True
        elif unit.startswith(("h", "小", "钟")):
            delta, with_time = timedelta(hours=amount), True
        elif unit.startswith(("d", "天")):
            delta, with_time = timedelta(days=amount), False
        else:
            delta, with_time = timedelta(weeks=amount), False
        ref = self.ref
        if ref is None:
            value: str = UNRESOLVED_PREFIX + hit.group()
        elif with_time:
            value = (ref - delta).replace(microsecond=0).isoformat()
        else:
            value = (ref - delta).date().isoformat()
        self.found.append(Candidate(hit.start(), hit.end(), "datetime" if with_time else "date", value))

    def _with_time(self, start: int, end: int, expr: DateExpr | None) -> None:
        """Emit a date (none for ``None``), extended to a datetime when a time of day follows it."""
        if expr is None:
            return
        text = self.text
        hms: tuple[int, int, int] | None = None
        time_end = end
        zh = _P["zh_time"].match_at(text, end)
        if zh is not None and (zh.has("period") or zh.has("h")):
            hms, time_end = _zh_time(zh, expr.pm_hint)
            if hms is None and zh.has("period"):
                time_end = zh.end("period")
        else:
            en = _P["en_time"].match_at(text, end)
            if en is not None and (en.has("period") or en.has("h")):
                hms = _en_time(en, text, expr.pm_hint)
                if hms is not None:
                    time_end = en.end()
                elif en.has("period"):
                    time_end = en.end("period")
        self.emit(start, time_end, expr, hms, None)

    def emit(
        self, start: int, end: int, expr: DateExpr, hms: tuple[int, int, int] | None, tz: str | None
    ) -> None:
        self.found.append(_date_candidate(self.text, start, end, expr, hms, tz, self.ref))

    # ------------------------------------------------------------------ times of day

    def times(self) -> None:
        """Times of day on their own ("13:40", "3.45 am et", "下午3点"); joined with dates later."""
        text, lowered = self.text, self.lowered
        if ":" in text or "：" in text:
            for hit in _P["clock"].finditer(text):
                end = hit.end()
                ampm = _P["ampm_after"].match_at(text, end)
                if ampm is not None:
                    end = ampm.end()
                end, tz = _zone_after(text, end)
                uhr = _P["uhr_after"].match_at(text, end)
                if uhr is not None:
                    end = uhr.end()
                hour = _apply_ampm(int(hit.group("h")), ampm.group("ampm") if ampm else None)
                if hour is not None:
                    hms = (hour, int(hit.group("mi")), int(hit.get("s") or 0))
                    self._time(hit.start(), end, hms, tz)
        if "." in text:
            for hit in _P["dot_clock"].finditer(text):
                at = _P["at_before"].pattern.search(text[max(0, hit.start() - 12) : hit.start()])
                tail = _P["dot_tail"].match_at(text, hit.end())
                if not (at or tail):
                    continue  # "11.50" alone is as likely a number as a time
                marker = tail.group().strip().lower() if tail else ""
                dot_hour = _apply_ampm(int(hit.group("h")), marker if marker != "uhr" else None)
                if dot_hour is not None:
                    end, tz = _zone_after(text, tail.end() if tail else hit.end())
                    self._time(hit.start("h"), end, (dot_hour, int(hit.group("mi")), 0), tz)
        if "m" in lowered:
            for hit in _P["ampm_clock"].finditer(text):
                pm_hour = _apply_ampm(int(hit.group("h")), hit.group("ampm"))
                if pm_hour is not None:
                    end, tz = _zone_after(text, hit.end())
                    self._time(hit.start(), end, (pm_hour, 0, 0), tz)
        if self.has_han and ("点" in text or "时" in text):
            for hit in _P["zh_clock"].finditer(text):
                if not (hit.has("period") or hit.has("half") or hit.has("quarter") or hit.has("mi")):
                    continue
                zh_hms, end = _zh_time(hit, pm_hint=False)
                if zh_hms is not None:
                    self._time(hit.start(), end, zh_hms, None)

    def _time(self, start: int, end: int, hms: tuple[int, int, int], tz: str | None) -> None:
        ref = self.ref
        if ref is None:
            value = "{:02d}:{:02d}:{:02d}".format(*hms) + (_tz_suffix(tz) if tz else "")
            self.found.append(
                Candidate(start, end, "datetime", value, partial=True, detail=("time", hms, tz))
            )
            return
        # Anchored to the ticket's own day: in the time's zone when it names a fixed one.
        zone = _zone(tz) if tz else None
        day = (ref.astimezone(zone) if zone is not None and ref.tzinfo is not None else ref).date()
        tzinfo = zone if tz else ref.tzinfo
        value = datetime(day.year, day.month, day.day, *hms, tzinfo=tzinfo).isoformat()
        self.found.append(Candidate(start, end, "datetime", value, detail=("time", hms, tz)))

    # ------------------------------------------------------------------ joining

    def joined(self) -> list[Candidate]:
        """Join each time of day with a date right before or after it, and give a range's second time
        the date of its first ("6月13日05:35-06:00" -> 06-13T05:35, 06-13T06:00)."""
        found, text = self.found, self.text
        times = [c for c in found if c.detail is not None and c.detail[0] == "time"]
        if not times:
            return found
        plain_dates = [
            c for c in found if c.detail is not None and c.detail[0] == "date" and c.detail[2] is None
        ]
        dates_by_end, dates_by_start = _by_end(plain_dates), _by_start(plain_dates)
        joined: list[Candidate] = []
        gap = _P["date_time_gap"]
        for t in times:
            _, hms, tz = t.detail
            before = range(t.start, max(-1, t.start - 8), -1)
            date_first = _first(dates_by_end, ((k, k, t.start) for k in before), text, gap)
            after = range(t.end, min(len(text), t.end + 8) + 1)
            date_after = _first(dates_by_start, ((k, t.end, k) for k in after), text, gap)
            touching = date_first or date_after
            if touching is not None:
                start, end = (touching.start, t.end) if touching is date_first else (t.start, touching.end)
                joined.append(_date_candidate(text, start, end, touching.detail[1], hms, tz, self.ref))
        # The second end of a range takes the first end's date.
        ends = _by_end(
            c for c in (*found, *joined) if c.detail is not None and c.detail[0] == "date" and c.detail[2]
        )
        replaced: set[int] = set()
        for t in times:
            before = range(t.start, max(-1, t.start - 8), -1)
            first = _first(ends, ((k, k, t.start) for k in before), text, _P["range_gap"])
            if first is None:
                continue
            _, hms, tz = t.detail
            joined.append(
                _date_candidate(text, t.start, t.end, first.detail[1], hms, tz or first.detail[3], self.ref)
            )
            replaced.add(id(t))
        return [c for c in found if id(c) not in replaced] + joined


def extract_dates(text: str, lowered: str, has_han: bool, ref: datetime | None) -> list[Candidate]:
    """Every date, time and datetime candidate in ``text``."""
    context = DateContext(text, lowered, has_han, ref)
    context.dates()
    context.times()
    return context.joined()


# --------------------------------------------------------------------------- helpers


def _by_end(candidates: Iterable[Candidate]) -> dict[int, Candidate]:
    """Candidates by where they end; of two ending at one place, the one starting first."""
    found: dict[int, Candidate] = {}
    for c in candidates:
        if c.end not in found or c.start < found[c.end].start:
            found[c.end] = c
    return found


def _by_start(candidates: Iterable[Candidate]) -> dict[int, Candidate]:
    """Candidates by where they start; of two starting at one place, the one ending last."""
    found: dict[int, Candidate] = {}
    for c in candidates:
        if c.start not in found or c.end > found[c.start].end:
            found[c.start] = c
    return found


def _first(
    by_pos: Mapping[int, Candidate], gaps: Iterable[tuple[int, int, int]], text: str, gap: Rx
) -> Candidate | None:
    """The candidate at the first position ``k`` of ``(k, lo, hi)`` whose ``text[lo:hi]`` is only ``gap``."""
    return next((by_pos[k] for k, lo, hi in gaps if k in by_pos and gap.fullmatch(text, lo, hi)), None)


def _zone_after(text: str, end: int) -> tuple[int, str | None]:
    """A zone name right after ``end`` ("3pm UTC"): where it ends, and the name."""
    hit = _P["tz_after"].match_at(text, end)
    return (hit.end(), hit.group("tz")) if hit is not None else (end, None)


def _abs(year: int | None, month: int, day: int) -> DateExpr | None:
    try:
        date(2000 if year is None else year, month, day)  # 2000 is a leap year: 2月29日 stays
    except ValueError:
        return None
    return DateExpr("abs", year=year, month=month, day=day)


def _valid_hms(hms: tuple[int, int, int]) -> bool:
    return hms[0] <= 23 and hms[1] <= 59 and hms[2] <= 59


def _week_expr(word: str, weekday: int, ref: datetime | None) -> DateExpr:
    if word in ("last", "next", "this"):
        return DateExpr("week", offset=_WEEK_OFFSETS[word], weekday=weekday)
    # "coming Friday" / "past Friday": the nearest one after / before the reference day.
    if ref is None:
        return DateExpr("week", offset=0, weekday=weekday)
    today = ref.weekday()
    if word == "coming":
        return DateExpr("days", offset=(weekday - today - 1) % 7 + 1)
    return DateExpr("days", offset=-((today - weekday - 1) % 7 + 1))


def _zh_time(hit: Hit, pm_hint: bool) -> tuple[tuple[int, int, int] | None, int]:
    if not hit.has("h"):
        return None, hit.end()
    if hit.has("colon") and not hit.has("mi"):
        return None, hit.start("h")  # "3:" with no minutes is no time
    hour_f = number(hit.group("h"))
    if hour_f is None:
        return None, hit.end()
    hour, minute = int(hour_f), 0
    if hit.has("half"):
        minute = 30
    elif hit.has("quarter"):
        minute = 15 if hit.group("quarter") == "一刻" else 45
    elif hit.has("mi"):
        minute = int(number(hit.group("mi")) or 0)
    second_text = hit.get("s")
    second = int(second_text) if second_text else 0
    period = hit.get("period") or ""
    if ((period in _ZH_EVENING or (pm_hint and not period)) and hour < 12) or (
        period == "中午" and hour < 11
    ):
        hour += 12
    if hour > 23 or minute > 59 or second > 59:
        return None, hit.start("h")
    return (hour, minute, second), hit.end()


def _en_time(hit: Hit, text: str, pm_hint: bool) -> tuple[int, int, int] | None:
    if not hit.has("h"):
        return None
    tend = hit.start("tend")
    following = text[tend : tend + 1]
    if following and (following.isascii() and (following.isalnum() or following in "_:")):
        return None  # "3rd", "10:30:45:99": not a time of day here
    ampm = (hit.get("ampm") or "").lower().replace(".", "")
    if not (ampm or hit.has("mi") or hit.has("at")):
        return None  # "yesterday 3 users" is not a time
    hour, minute, second = int(hit.group("h")), int(hit.get("mi") or 0), int(hit.get("s") or 0)
    period = (hit.get("period") or "").lower()
    if ampm == "pm" or (not ampm and (period in ("afternoon", "evening", "night") or pm_hint)):
        if hour < 12:
            hour += 12
    elif ampm == "am" and hour == 12:
        hour = 0
    if hour > 23 or minute > 59 or second > 59:
        return None
    return hour, minute, second


def _apply_ampm(hour: int, ampm: str | None) -> int | None:
    marker = (ampm or "").lower().replace(".", "")
    if marker and not 1 <= hour <= 12:
        return None  # "15:00 pm"
    if marker == "pm" and hour < 12:
        return hour + 12
    if marker == "am" and hour == 12:
        return 0
    return hour


def _date_candidate(
    text: str,
    start: int,
    end: int,
    expr: DateExpr,
    hms: tuple[int, int, int] | None,
    tz: str | None,
    ref: datetime | None,
) -> Candidate:
    field_type = "date" if hms is None else "datetime"
    day = _resolve_day(expr, ref)
    partial = False
    value: str
    if day is None:
        if expr.kind in ("abs", "dom"):  # no year (or month), and nothing to infer it from
            partial = True
            value = f"{expr.month:02d}-{expr.day:02d}" if expr.kind == "abs" else f"{expr.day:02d}"
            if hms is not None:
                value += "T{:02d}:{:02d}:{:02d}".format(*hms) + (_tz_suffix(tz) if tz else "")
        else:
            value = UNRESOLVED_PREFIX + text[start:end]
    elif hms is None:
        value = day.isoformat()
    else:
        absolute = expr.kind in ("abs", "dom")
        tzinfo = _zone(tz) if tz else (ref.tzinfo if ref is not None and not absolute else None)
        value = datetime(day.year, day.month, day.day, *hms, tzinfo=tzinfo).isoformat()
    return Candidate(start, end, field_type, value, partial=partial, detail=("date", expr, hms, tz))


def _resolve_day(expr: DateExpr, ref: datetime | None) -> date | None:
    if expr.kind == "abs" and expr.year is not None:
        return date(expr.year, expr.month, expr.day)
    if ref is None:
        return None
    today = ref.date()
    if expr.kind == "days":
        return today + timedelta(days=expr.offset)
    if expr.kind == "week":
        monday = today - timedelta(days=today.weekday())
        return monday + timedelta(days=7 * expr.offset + expr.weekday)
    if expr.kind == "dom":  # the day of the previous, this or the next month nearest the reference
        first = today.replace(day=1)
        starts = (
            (first - timedelta(days=1)).replace(day=1),
            first,
            (first + timedelta(days=31)).replace(day=1),
        )
        months = [(m.year, m.month) for m in starts]
    else:  # a month and day without a year: the year that puts it nearest the reference
        months = [(year, expr.month) for year in (today.year - 1, today.year, today.year + 1)]
    days = []
    for year, month in months:
        try:
            days.append(date(year, month, expr.day))
        except ValueError:
            continue
    return min(days, key=lambda d: abs((d - today).days)) if days else None


def _tz_suffix(tz: str) -> str:
    """The ISO 8601 offset for a zone written as "Z", "+08:00" or "utc"; "" for named zones."""
    zone = _zone(tz)
    return "" if zone is None else datetime(2000, 1, 1, tzinfo=zone).isoformat()[19:]


def _zone(tz: str) -> timezone | None:
    """A fixed zone for "Z", "utc" or "+08:00"; ``None`` for names such as "et" (daylight saving)."""
    lowered = tz.lower()
    if lowered in _UTC_NAMES:
        return UTC
    if lowered.startswith(("utc", "gmt")):
        tz = tz[3:]  # "UTC+8", "GMT-05:00"
    if tz[0] not in "+-":
        return None
    sign = -1 if tz[0] == "-" else 1
    hours, _, minutes = tz[1:].partition(":")
    if not minutes and len(hours) > 2:
        hours, minutes = hours[:-2], hours[-2:]
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))
