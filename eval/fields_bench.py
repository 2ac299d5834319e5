r"""Field extraction on real tickets: ours against a plain-regex baseline and ours without NER.

``python -m eval.fields_bench [--datasets ../shared/datasets] [--out BENCHMARKS.md] [--before FILE]``

``--before FILE`` adds a column for an older extractor module (``git show REV:triage/fields.py >
FILE``), loaded as if it sat in ``triage/`` so its word lists resolve.

Two sets, both scored the same way. The tuning set (below) is the one the rules were written
against. The held-out set, ``eval/resources/field_labels_heldout.csv`` (one row per gold span:
``dataset, split, row_id, field_type, start, end, value``; a ticket without fields has one row
with empty type and offsets; ``value`` is given for dates and datetimes only, the ISO form, partial
ones as ``MM-DD`` / ``HH:MM:SS``), holds the first 60 ``itsm`` and the first 47 ``cn-ict`` test rows
by numeric id that the tuning set does not hold. They were labelled with the guide below (plus
``employee_id``, ``expense_claim_number`` and ``device``) before any extractor was run on them,
and no rule was changed after: they measure how the rules carry to tickets nobody tuned on.

The set: ``eval/data/field_labels.jsonl``, one line per ticket, ``{"dataset", "id", "spans"}`` with
``[start, end, type]`` character offsets into the ``text`` of that row of the dataset's fixed
``split/test.csv`` (read with pandas, ``dtype=str, keep_default_na=False``). Only ids, offsets and
types live in the repository, never text. Rows: the first 110 ``itsm`` and the first 120 ``cn-ict``
test rows by numeric id (every such row has text; none was skipped). Tickets with no field are kept:
they measure precision. The labels were written by hand from the texts and the definitions below
before any extractor output was looked at, and were not revised after.

Labelling guide (what counts, and the edge cases decided):

- Spans carry no surrounding punctuation, keyword or prefix that is not part of the value
  ("so#36199966" -> ``36199966``; "telecom_vendor_1#25191486" -> ``25191486``). Every occurrence
  is labelled, repeats included (itsm texts repeat the short description). No nesting: a location
  inside an organisation name, or a version inside a system name, is not labelled separately.
- person: a person's name, including itsm's scrambled pseudonyms ("name:" lines, mail headers,
  "employee xx yy", chat speakers, "\xx yy" caller suffixes). User ids and logins are not persons.
- organization: companies, carriers, vendors (itsm's pseudonymised ``telecom_vendor_1`` too), named
  business units and centres (国网信通调度, 国网湖北电力, 运检中心, 技术保障中心, 英大信托, 联通/移动/
  电信 as carriers, "rddept"). Generic words ("it team", "总部", "直属单位", "省公司") and bare
  abbreviations used as actors (运检, 调度) are not.
- location: countries, regions, provinces, cities, districts, sites and plants (``plant_317``):
  "germany", "apac", "u.s.", 北京, 蒙东, 亦庄. 国网北京、河北…电力 (an elided list of companies) is
  labelled as its provinces.
- system: named software, applications, platforms, modules and IT services: outlook, skype, windows,
  active directory / "ad", erp, crm, vpn, hr_tool, SID_34, job_scheduler, microsoft internet
  explorer, tomcat, IMS, I6000, "xx系统" / "xx平台" / "xx模块" with the suffix and without an owning
  organisation's prefix (国网湖北电力|云终端系统), elided list items (营销辅助、经济法律…等系统), and
  门户 for the portal. Hardware models (dell 7350, iphone), generic nouns (email, internet, network
  drive, 所有系统, 数据库) are not.
- hostname: names of machines and network devices: servers, PCs ("computer name"), switches,
  routers, printers with a host-like name (``hr14``, ``ts04562``), ``HostName_769``, FQDNs.
- ipv4 / ipv6 / url / email: the address itself. "URL探测" (a probe) and "IP地址" are not values.
- phone: telephone numbers, including a service hotline when it names the line called or reporting
  (拨打7186, 接7186申告, 与7186核实); inside a system name (95598业务支持系统) it is part of that name.
  Area codes and DNIS numbers alone are not phones.
- order_number, ticket_number, invoice_number, contract_number, po_number: ids of that document
  (sales and stock-transport orders ``5019411580/00001`` with the item suffix; vendor and internal
  ticket ids ``inplant_873601``). Material numbers (mm#), employee numbers, job names and user ids
  fit no type and are left out.
- asset_number: asset tags, service tags and equipment serials (``jnjxbq1234``, "wk 44567").
- amount: money only (with a currency symbol, code or word); counts, percentages, sizes are not.
- date: a calendar day: absolute (31.05.2017, 10/31, oct 31, 23日), weekday or relative day
  (sonntag, yesterday, 昨天). A year or month alone is not.
- datetime: a date and a time of day written together, in either order, joined by a space, comma,
  "at"/"on" and with its zone ("3.45 am et on 10/31", "10/30/2016 00:11:00", "6月8日05:40",
  "3月24日，15:20", "gestern ca. 15.00 uhr"); also a time of day alone (13:40, 10：25, 11.50): a
  range "6月13日05:35-06:00" is two spans, one per end.
- duration: a length of time ("30 milliseconds", 3小时); metric names such as 健康运行时长 are not.
- error_code: explicit codes (ORA-00600, 0x80070005, HTTP 500); error messages in words are not.
- version: version numbers of software; file_path: Windows, UNC and Unix paths and drive roots
  ("c:\", "m:\live\mw_live", "//HostName_95/departments/x"); id_number: national identity
  numbers; bank_card: payment card and bank account numbers.

Methods: ``ours`` = ``FieldExtractor(use_ner=True)`` with the language from ``detect_language``;
``no NER`` = ``FieldExtractor(use_ner=False)``; ``regex`` = the plain patterns in this module (email,
URL, IPv4, phone digits, ISO and slash dates with an optional time, currency amounts, ORA-/HTTP/0x
error codes, paths), longest match first. ``exact`` counts a prediction correct when start, end and
type equal a gold span; ``overlap`` when it overlaps a gold span of the same type (one-to-one).
Timing: extraction + ``Summarizer().summarize("", text, language)`` per ticket after loading.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pandas as pd

from eval.report import bench_main, stamp
from triage.fields import FIELD_TYPES, FieldExtractor
from triage.language import detect_language
from triage.summary import Summarizer

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
LABELS = REPO / "eval" / "data" / "field_labels.jsonl"
HELDOUT = REPO / "eval" / "resources" / "field_labels_heldout.csv"
COMMAND = "python -m eval.fields_bench --out BENCHMARKS.md"
#: Where each labelled dataset's texts are, relative to the shared datasets folder.
DATASET_FILES: dict[str, str] = {
    "itsm": "itsm-ticket-assignment/split/test.csv",
    "cn-ict": "cn-ict-fault-tickets/split/test.csv",
}
MATCHES = ("exact", "overlap")
DESCRIPTION = "Field extraction on hand-labelled real tickets: ours, ours without NER, plain regexes."
HEADING = "## Fields: key-field extraction on hand-labelled real tickets (ours, no NER, plain regexes)\n\n"

Span = tuple[int, int, str]
Extract = Callable[[str], list[Span]]


@dataclass(frozen=True)
class LabelledTicket:
    """One ticket's gold spans; the text stays in the shared datasets."""

    dataset: str
    id: str
    spans: tuple[Span, ...]


@dataclass(frozen=True)
class Counts:
    """Matched predictions, all predictions and all gold spans."""

    tp: int = 0
    predicted: int = 0
    gold: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.predicted + other.predicted, self.gold + other.gold)

    @property
    def precision(self) -> float:
        return self.tp / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.tp / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


# --------------------------------------------------------------------------- labels and texts


def load_labels(path: Path = LABELS) -> list[LabelledTicket]:
    """Parse and validate the label file; a ``ValueError`` names the line and what is wrong."""
    tickets: list[LabelledTicket] = []
    seen: set[tuple[str, str]] = set()
    known = set(FIELD_TYPES)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{where}: not JSON ({e})") from e
        dataset, ticket_id, raw = record.get("dataset"), record.get("id"), record.get("spans")
        if dataset not in DATASET_FILES:
            raise ValueError(f"{where}: dataset {dataset!r}; known: {', '.join(DATASET_FILES)}")
        if not isinstance(ticket_id, str) or not ticket_id:
            raise ValueError(f"{where}: id must be a non-empty string")
        if (dataset, ticket_id) in seen:
            raise ValueError(f"{where}: {dataset} id {ticket_id} is labelled twice")
        seen.add((dataset, ticket_id))
        if not isinstance(raw, list):
            raise ValueError(f"{where}: spans must be a list of [start, end, type]")
        spans: list[Span] = []
        for item in raw:
            if not (isinstance(item, list) and len(item) == 3):
                raise ValueError(f"{where}: span {item!r} is not [start, end, type]")
            start, end, kind = item
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                raise ValueError(f"{where}: span offsets {start!r}, {end!r} need 0 <= start < end")
            if kind not in known:
                raise ValueError(f"{where}: unknown type {kind!r}; known: {', '.join(FIELD_TYPES)}")
            spans.append((start, end, kind))
        ordered = sorted(spans)
        if any(a[1] > b[0] for a, b in pairwise(ordered)):
            raise ValueError(f"{where}: spans overlap")
        tickets.append(LabelledTicket(dataset, ticket_id, tuple(ordered)))
    return tickets


def load_heldout(path: Path = HELDOUT) -> tuple[list[LabelledTicket], dict[tuple[str, str, int, int], str]]:
    """The held-out set: its tickets, and the gold value of each date/datetime span by (dataset, id, start, end)."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    expected = ["dataset", "split", "row_id", "field_type", "start", "end", "value"]
    if list(frame.columns) != expected:
        raise ValueError(f"{path.name}: columns {list(frame.columns)}; expected {expected}")
    spans: dict[tuple[str, str], list[Span]] = {}
    values: dict[tuple[str, str, int, int], str] = {}
    known = set(FIELD_TYPES)
    for number, row in enumerate(frame.itertuples(index=False), start=2):
        where = f"{path.name} line {number}"
        if row.dataset not in DATASET_FILES or row.split != "test" or not row.row_id:
            raise ValueError(f"{where}: dataset {row.dataset!r} split {row.split!r} id {row.row_id!r}")
        spans.setdefault((row.dataset, row.row_id), [])
        if not row.field_type:
            continue  # a ticket with no field
        if row.field_type not in known:
            raise ValueError(f"{where}: unknown type {row.field_type!r}; known: {', '.join(FIELD_TYPES)}")
        start, end = int(row.start), int(row.end)
        if not 0 <= start < end:
            raise ValueError(f"{where}: offsets {start}, {end} need 0 <= start < end")
        spans[(row.dataset, row.row_id)].append((start, end, row.field_type))
        if row.value:
            values[(row.dataset, row.row_id, start, end)] = row.value
    tickets = []
    for (dataset, ticket_id), found in spans.items():
        ordered = sorted(found)
        if any(a[1] > b[0] for a, b in pairwise(ordered)):
            raise ValueError(f"{path.name}: spans of {dataset} {ticket_id} overlap")
        tickets.append(LabelledTicket(dataset, ticket_id, tuple(ordered)))
    return tickets, values


def load_before(path: Path) -> type:
    """``FieldExtractor`` from an older version of the fields module, read as if it sat in ``triage/``."""
    import sys
    import types

    module = types.ModuleType("fields_before")
    module.__file__ = str(REPO / "triage" / "fields_before.py")
    sys.modules["fields_before"] = module
    exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), module.__dict__)
    extractor: type = module.FieldExtractor
    return extractor


def load_texts(datasets: Path, tickets: Iterable[LabelledTicket]) -> dict[tuple[str, str], str]:
    """The text of every labelled ticket, keyed by (dataset, id); raises if a file or id is missing."""
    wanted: dict[str, set[str]] = {}
    for ticket in tickets:
        wanted.setdefault(ticket.dataset, set()).add(ticket.id)
    texts: dict[tuple[str, str], str] = {}
    for dataset, ids in wanted.items():
        path = datasets / DATASET_FILES[dataset]
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found")
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        found = {str(i): str(t) for i, t in zip(frame["id"], frame["text"], strict=True) if str(i) in ids}
        missing = sorted(ids - found.keys())
        if missing:
            raise ValueError(f"{len(missing)} labelled {dataset} ids are not in {path}: {missing[:5]}")
        texts.update({(dataset, i): t for i, t in found.items()})
    return texts


def span_problems(tickets: Iterable[LabelledTicket], texts: dict[tuple[str, str], str]) -> list[str]:
    """Spans past the end of their text, empty, or starting or ending in whitespace (ids only)."""
    problems = []
    for ticket in tickets:
        text = texts[(ticket.dataset, ticket.id)]
        for start, end, kind in ticket.spans:
            piece = text[start:end]
            if end > len(text):
                problems.append(f"{ticket.dataset} {ticket.id} [{start}, {end}) {kind}: past the text end")
            elif not piece.strip() or piece != piece.strip():
                problems.append(f"{ticket.dataset} {ticket.id} [{start}, {end}) {kind}: whitespace-bounded")
    return problems


# --------------------------------------------------------------------------- the regex baseline

_REGEX_BASELINE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("url", re.compile(r"(?:https?://|www\.)[^\s<>\"'，。）)]+", re.I)),
    ("ipv4", re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")),
    (
        "datetime",
        re.compile(
            r"(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})[ T]\d{1,2}:\d{2}(?::\d{2})?(?!\d)"
        ),
    ),
    ("date", re.compile(r"(?<!\d)(?:\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4})(?!\d)")),
    ("phone", re.compile(r"(?<![\w.])(?:\+\d{1,3}[ -]?)?(?:\(\d{2,4}\)[ -]?)?\d{3,4}[ -]?\d{4}(?![\w.])")),
    ("amount", re.compile(r"[$€£¥￥]\s?\d[\d,]*(?:\.\d+)?|\d[\d,]*(?:\.\d+)?\s?(?:元|USD|EUR|RMB|CNY)\b")),
    ("error_code", re.compile(r"\bORA-\d{5}\b|\bHTTP[ /]?[1-5]\d\d\b|\b0x[0-9a-f]{4,16}\b", re.I)),
    (
        "file_path",
        re.compile(
            r"\b[a-z]:\\[^\s:*?\"<>|]*|\\\\[\w.$-]+(?:\\[^\s\\]+)+|(?<![\w:/])/(?:[\w.-]+/)+[\w.-]*", re.I
        ),
    ),
)


def regex_baseline(text: str) -> list[Span]:
    """Plain common regexes; on overlap the longer match wins, then the earlier pattern."""
    found = [
        (m.start(), m.end(), kind, rank)
        for rank, (kind, pattern) in enumerate(_REGEX_BASELINE)
        for m in pattern.finditer(text)
        if m.end() > m.start()
    ]
    kept: list[Span] = []
    for start, end, kind, _ in sorted(found, key=lambda c: (c[0] - c[1], c[3], c[0])):
        if all(end <= s or start >= e for s, e, _ in kept):
            kept.append((start, end, kind))
    return sorted(kept)


def extractor_method(extractor: FieldExtractor) -> Extract:
    """Our extractor as ``text -> spans``, with the language detected the way the service does."""

    def extract(text: str) -> list[Span]:
        return [(f.start, f.end, f.type) for f in extractor.extract(text, detect_language(text))]

    return extract


# --------------------------------------------------------------------------- scoring


def match_counts(predicted: Sequence[Span], gold: Sequence[Span], match: str) -> dict[str, Counts]:
    """Per-type counts for one ticket; ``overlap`` pairs each span with at most one partner."""
    if match not in MATCHES:
        raise ValueError(f"unknown match {match!r}; known: {', '.join(MATCHES)}")
    counts: dict[str, Counts] = {}
    for kind in {s[2] for s in predicted} | {s[2] for s in gold}:
        pred = sorted(s for s in predicted if s[2] == kind)
        true = sorted(s for s in gold if s[2] == kind)
        if match == "exact":
            tp = len(set(pred) & set(true))
        else:
            used: set[int] = set()
            tp = 0
            for start, end, _ in pred:
                for i, (gs, ge, _) in enumerate(true):
                    if i not in used and start < ge and gs < end:
                        used.add(i)
                        tp += 1
                        break
        counts[kind] = Counts(tp, len(pred), len(true))
    return counts


def score(
    predictions: dict[tuple[str, str], list[Span]], tickets: Sequence[LabelledTicket], match: str
) -> dict[str, Counts]:
    """Counts per type summed over ``tickets``."""
    total: dict[str, Counts] = {}
    for ticket in tickets:
        for kind, counts in match_counts(
            predictions[(ticket.dataset, ticket.id)], ticket.spans, match
        ).items():
            total[kind] = total.get(kind, Counts()) + counts
    return total


def micro(per_type: dict[str, Counts]) -> Counts:
    return sum(per_type.values(), Counts())


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True)
class Result:
    """Predictions of every method on every labelled ticket, plus the timings of ours."""

    tickets: list[LabelledTicket]
    predictions: dict[str, dict[tuple[str, str], list[Span]]]
    ms_per_ticket: list[float]
    heldout: list[LabelledTicket] = field(default_factory=list)
    heldout_predictions: dict[str, dict[tuple[str, str], list[Span]]] = field(default_factory=dict)
    #: Per extractor, the date and datetime spans it found exactly on the held-out set: (gold value,
    #: its value, whether it marked the value partial).
    heldout_values: dict[str, list[tuple[str, str, bool]]] = field(default_factory=dict)
    #: Per extractor, milliseconds on each worst-case input of ``STRESS_INPUTS``.
    stress_ms: dict[str, dict[str, float]] = field(default_factory=dict)


#: Long runs of what field patterns loop on (about 20,000 characters each): a pattern that
#: backtracks, or a boundary check that retries at every character or every refused keyword
#: ("xusers": a cue inside a word), shows here, not on real tickets.
STRESS_INPUTS: dict[str, str] = {
    "letters, then a digit": "a" * 20_000 + "1",
    "digits": "1" * 20_000,
    "'x-' repeated": "x-" * 10_000 + "1",
    "'ORA-' repeated": "ORA-" * 5_000,
    "'a.' repeated, then '@'": "a." * 10_000 + "@",
    "'1 ' repeated": "1 " * 10_000,
    "'1:' repeated": "1:" * 10_000,
    "'xusers john ' repeated": "xusers john " * 1_700,
    "'xticket #1234 ' repeated": "xticket #1234 " * 1_450,
}


def stress_ms(extractor: FieldExtractor) -> dict[str, float]:
    """Milliseconds ``extractor`` takes on each of ``STRESS_INPUTS`` (English, NER as configured)."""
    timings = {}
    for name, text in STRESS_INPUTS.items():
        started = time.perf_counter()
        extractor.extract(text, "en")
        timings[name] = (time.perf_counter() - started) * 1000
    return timings


def predict_all(
    methods: dict[str, Extract], tickets: Sequence[LabelledTicket], texts: dict[tuple[str, str], str]
) -> dict[str, dict[tuple[str, str], list[Span]]]:
    return {
        name: {(t.dataset, t.id): extract(texts[(t.dataset, t.id)]) for t in tickets}
        for name, extract in methods.items()
    }


def time_ours(extractor: FieldExtractor, texts: Sequence[str]) -> list[float]:
    """Milliseconds per ticket of extraction + summary, models already loaded."""
    summarizer = Summarizer()
    timings = []
    for text in texts:
        language = detect_language(text)
        started = time.perf_counter()
        extractor.extract(text, language)
        summarizer.summarize("", text, language)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def run(datasets: Path, labels: Path = LABELS, heldout: Path = HELDOUT, before: Path | None = None) -> Result:
    tickets = load_labels(labels)
    held, gold_values = load_heldout(heldout)
    texts = load_texts(datasets, [*tickets, *held])
    problems = span_problems([*tickets, *held], texts)
    if problems:
        raise ValueError(f"{len(problems)} label spans do not fit their texts, e.g. {problems[0]}")
    ours = FieldExtractor(use_ner=True)
    no_ner = FieldExtractor(use_ner=False)
    started = time.perf_counter()
    ours.load()
    no_ner.load()
    logger.info("extractors loaded in %.1f s", time.perf_counter() - started)
    methods = {"ours": extractor_method(ours), "regex": regex_baseline, "no NER": extractor_method(no_ner)}
    if before is not None:
        older = load_before(before)()
        older.load()
        methods["before"] = extractor_method(older)
    predictions = predict_all(methods, tickets, texts)
    heldout_predictions = predict_all(methods, held, texts)
    values = {"ours": date_values(ours, held, texts, gold_values)}
    stress = {"ours": stress_ms(ours)}
    if before is not None:
        values["before"] = date_values(older, held, texts, gold_values)
        stress["before"] = stress_ms(older)
    ordered = [texts[(t.dataset, t.id)] for t in tickets]
    # One ticket per dataset first: the summariser loads its Chinese tokenizer on its first zh text.
    first = {t.dataset: texts[(t.dataset, t.id)] for t in reversed(tickets)}
    time_ours(ours, list(first.values()))
    timings = time_ours(ours, ordered)
    logger.info("%d tickets, %d gold spans", len(tickets), sum(len(t.spans) for t in tickets))
    return Result(tickets, predictions, timings, held, heldout_predictions, values, stress)


def date_values(
    extractor: FieldExtractor,
    tickets: Sequence[LabelledTicket],
    texts: dict[tuple[str, str], str],
    gold_values: dict[tuple[str, str, int, int], str],
) -> list[tuple[str, str, bool]]:
    """(gold value, extracted value, partial) for each date or datetime span found exactly."""
    found = []
    for ticket in tickets:
        text = texts[(ticket.dataset, ticket.id)]
        for f in extractor.extract(text, detect_language(text)):
            gold = gold_values.get((ticket.dataset, ticket.id, f.start, f.end))
            if gold is not None and f.type in ("date", "datetime"):
                found.append((gold, str(f.value), bool(getattr(f, "partial", False))))
    return found


def _pct(value: float) -> str:
    return f"{value:.2f}"


def render(result: Result) -> str:
    """The markdown section: micro scores per dataset and per type on both sets, dates, timing."""
    lines = [
        "### Tuning set (the rules were written against it)",
        "",
        *_set_tables(result.tickets, result.predictions, "`eval/data/field_labels.jsonl`"),
    ]
    if result.heldout:
        lines += [
            "",
            "### Held-out set (labelled before any extractor ran on it; no rule tuned on it)",
            "",
            *_set_tables(
                result.heldout, result.heldout_predictions, "`eval/resources/field_labels_heldout.csv`"
            ),
        ]
        for method, values in result.heldout_values.items():
            right = sum(1 for gold, value, _ in values if gold == value)
            partial = sum(1 for *_, is_partial in values if is_partial)
            lines += [
                "",
                f"Dates and datetimes {method} found with exact spans on the held-out set (no created_at given): "
                f"{right} of {len(values)} have the gold value (ISO, partial ones as `MM-DD` / `HH:MM:SS`); "
                f"{partial} are marked partial.",
            ]
    ms = sorted(result.ms_per_ticket)
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    lines += [
        "",
        f"Timing, ours (NER on), extraction + summary after loading, {len(ms)} tuning-set tickets: "
        f"p50 {statistics.median(ms):.1f} ms, p90 {p90:.1f} ms, max {ms[-1]:.1f} ms per ticket.",
    ]
    if result.stress_ms:
        methods = list(result.stress_ms)
        lines += [
            "",
            "Worst-case inputs (about 20,000 characters each; extraction only, NER on, one run each):",
            "",
            "| input | " + " | ".join(f"{m} ms" for m in methods) + " |",
            "|---|" + "---:|" * len(methods),
        ]
        for name in STRESS_INPUTS:
            lines.append(
                f"| {name} | " + " | ".join(f"{result.stress_ms[m][name]:.0f}" for m in methods) + " |"
            )
    return "\n".join(lines) + "\n"


def _set_tables(
    tickets: Sequence[LabelledTicket], predictions: dict[str, dict[tuple[str, str], list[Span]]], source: str
) -> list[str]:
    groups = {name: [t for t in tickets if t.dataset == name] for name in DATASET_FILES}
    groups["all"] = list(tickets)
    gold_spans = Counter(kind for t in tickets for _, _, kind in t.spans)
    lines = [
        f"Hand-labelled key fields on {len(tickets)} real test tickets "
        + ", ".join(f"{name} {len(g)}" for name, g in groups.items() if name != "all")
        + f"; {sum(gold_spans.values())} gold spans of {len(gold_spans)} types "
        f"(labels: {source}, ids and offsets only; guide in `eval/fields_bench.py`).",
        "",
        "| method | dataset | tickets | gold | predicted | P exact | R exact | F1 exact | P overlap | R overlap | F1 overlap |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method, by_ticket in predictions.items():
        for name, group in groups.items():
            exact = micro(score(by_ticket, group, "exact"))
            loose = micro(score(by_ticket, group, "overlap"))
            lines.append(
                f"| {method} | {name} | {len(group)} | {exact.gold} | {exact.predicted} | "
                f"{_pct(exact.precision)} | {_pct(exact.recall)} | {_pct(exact.f1)} | "
                f"{_pct(loose.precision)} | {_pct(loose.recall)} | {_pct(loose.f1)} |"
            )
    per_type = {
        (method, match): score(by_ticket, tickets, match)
        for method, by_ticket in predictions.items()
        for match in MATCHES
    }
    kinds = sorted(
        {k for counts in per_type.values() for k in counts}, key=lambda k: (-gold_spans.get(k, 0), k)
    )
    others = [m for m in predictions if m != "ours"]
    lines += [
        "",
        "Per type, all tickets; each cell is exact / overlap. Types with no gold span here (precision only): "
        + (", ".join(t for t in FIELD_TYPES if t not in gold_spans) or "none")
        + ".",
        "",
        "| type | gold | ours pred | ours P | ours R | ours F1 | "
        + " | ".join(f"{m} F1" for m in others)
        + " |",
        "|---|---:|---:|---:|---:|---:|" + "---:|" * len(others),
    ]
    for kind in kinds:
        exact = per_type[("ours", "exact")].get(kind, Counts())
        loose = per_type[("ours", "overlap")].get(kind, Counts())

        def both(method: str, kind: str = kind) -> str:
            e = per_type[(method, "exact")].get(kind, Counts())
            o = per_type[(method, "overlap")].get(kind, Counts())
            return f"{_pct(e.f1)} / {_pct(o.f1)}"

        lines.append(
            f"| {kind} | {exact.gold} | {exact.predicted} | {_pct(exact.precision)} / {_pct(loose.precision)} | "
            f"{_pct(exact.recall)} / {_pct(loose.recall)} | {both('ours')} | "
            + " | ".join(both(m) for m in others)
            + " |"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: print the tables and optionally write them into a benchmarks file."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--before", type=Path, default=None)
    known, rest = parser.parse_known_args(argv)
    before: Path | None = known.before
    if before is not None and not before.is_file():
        print(
            f"--before {before}: no such file; write one with git show REV:triage/fields.py > FILE",
            file=sys.stderr,
        )
        return 2
    command = COMMAND + (" --before FILE (triage/fields.py at 0ed97ed)" if before is not None else "")
    return bench_main(
        rest,
        prog="python -m eval.fields_bench",
        description=DESCRIPTION,
        section="fields",
        produce=lambda datasets: HEADING + stamp(command) + "\n" + render(run(datasets, before=before)),
    )


if __name__ == "__main__":
    raise SystemExit(main())
