"""The demo data generator: determinism, volume, shares, value domains, messiness, writers."""

from __future__ import annotations

import csv
import json
import re
import statistics
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from training import sample_data
from training.sample_data import (
    CATEGORIES,
    CHANNELS,
    DEPARTMENT_NAMES_ZH,
    DEPARTMENTS,
    PRIORITIES,
    generate_articles,
    generate_tickets,
    write_csv,
    write_jsonl,
)

TICKET_KEYS = {
    "id", "title", "body", "language", "department", "category", "priority", "requester", "channel",
    "created_at", "resolved_at", "resolution", "status",
}  # fmt: skip
ARTICLE_KEYS = {"id", "title", "body", "department", "category", "language"}
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
URGENT = re.compile(r"紧急|尽快|立即|全部用户|urgent|asap|outage|all users|immediately", re.IGNORECASE)


@pytest.fixture(scope="module")
def tickets() -> list[dict[str, str]]:
    return generate_tickets()


def _text(row: dict[str, str]) -> str:
    return f"{row['title']}\n{row['body']}"


def _hours(row: dict[str, str]) -> float:
    delta = datetime.fromisoformat(row["resolved_at"]) - datetime.fromisoformat(row["created_at"])
    return delta.total_seconds() / 3600


def test_generate_tickets_is_deterministic_by_seed() -> None:
    assert generate_tickets(400, seed=7) == generate_tickets(400, seed=7)


def test_generate_tickets_differs_between_seeds() -> None:
    first, second = generate_tickets(400, seed=1), generate_tickets(400, seed=2)
    same_bodies = sum(a["body"] == b["body"] for a, b in zip(first, second, strict=True))
    assert same_bodies < 20


@pytest.mark.parametrize("n", [0, 1, 57, 250])
def test_generate_tickets_returns_exactly_n(n: int) -> None:
    assert len(generate_tickets(n, seed=3)) == n


def test_generate_tickets_rejects_negative_n() -> None:
    with pytest.raises(ValueError, match="n must be"):
        generate_tickets(-1)


def test_generate_tickets_default_volume(tickets: list[dict[str, str]]) -> None:
    assert len(tickets) >= 3000


def test_generate_tickets_covers_every_department_with_it_largest(tickets: list[dict[str, str]]) -> None:
    counts = Counter(t["department"] for t in tickets)
    assert set(counts) == set(DEPARTMENTS)
    assert min(counts.values()) >= 100
    assert counts.most_common(1)[0][0] == "IT"


def test_generate_tickets_covers_every_category(tickets: list[dict[str, str]]) -> None:
    seen = {(t["department"], t["category"]) for t in tickets}
    assert seen == {(d, c) for d in DEPARTMENTS for c in CATEGORIES[d]}


def test_generate_tickets_language_shares(tickets: list[dict[str, str]]) -> None:
    shares = {lang: count / len(tickets) for lang, count in Counter(t["language"] for t in tickets).items()}
    assert 0.40 <= shares["zh"] <= 0.50
    assert 0.40 <= shares["en"] <= 0.50
    assert 0.06 <= shares["mixed"] <= 0.14


def test_generate_tickets_language_matches_script(tickets: list[dict[str, str]]) -> None:
    for t in tickets:
        han, words = len(HAN.findall(_text(t))), len(LATIN_WORD.findall(_text(t)))
        if t["language"] == "zh":
            assert han >= 5, t["id"]
        elif t["language"] == "en":
            assert han <= 8, t["id"]  # Han only inside identifiers: plates, folder names
        else:
            assert han >= 2 and words >= 3, t["id"]


def test_generate_tickets_rows_have_exact_keys_and_domains(tickets: list[dict[str, str]]) -> None:
    for t in tickets:
        assert set(t) == TICKET_KEYS
        assert all(isinstance(value, str) for value in t.values())
        assert re.fullmatch(r"DEMO-\d{6}", t["id"])
        assert t["language"] in ("zh", "en", "mixed")
        assert t["category"] in CATEGORIES[t["department"]]
        assert t["priority"] in PRIORITIES
        assert t["channel"] in CHANNELS
        assert t["status"] in ("resolved", "open")
        assert t["title"].strip() and t["body"].strip() and t["requester"].strip()


def test_generate_tickets_ids_unique_and_in_creation_order(tickets: list[dict[str, str]]) -> None:
    assert len({t["id"] for t in tickets}) == len(tickets)
    created = [datetime.fromisoformat(t["created_at"]) for t in tickets]
    assert created == sorted(created)


def test_generate_tickets_timestamps_are_iso_with_offset(tickets: list[dict[str, str]]) -> None:
    for t in tickets:
        created = datetime.fromisoformat(t["created_at"])
        assert created.utcoffset() == timedelta(hours=8)
        if t["status"] == "resolved":
            assert datetime.fromisoformat(t["resolved_at"]) > created, t["id"]
            assert t["resolution"].strip(), t["id"]
        else:
            assert t["resolved_at"] == "" and t["resolution"] == ""
    span = max(datetime.fromisoformat(t["created_at"]) for t in tickets) - min(
        datetime.fromisoformat(t["created_at"]) for t in tickets
    )
    assert span > timedelta(days=330)


def test_generate_tickets_open_share(tickets: list[dict[str, str]]) -> None:
    share = sum(t["status"] == "open" for t in tickets) / len(tickets)
    assert 0.02 <= share <= 0.08


def test_generate_tickets_handling_time_grows_with_priority(tickets: list[dict[str, str]]) -> None:
    medians = [
        statistics.median(_hours(t) for t in tickets if t["status"] == "resolved" and t["priority"] == p)
        for p in PRIORITIES
    ]
    assert medians == sorted(medians)
    assert medians[0] < 8 < 48 < medians[-1]


def test_generate_tickets_handling_time_depends_on_department(tickets: list[dict[str, str]]) -> None:
    def median_p3(department: str) -> float:
        return statistics.median(
            _hours(t)
            for t in tickets
            if t["status"] == "resolved" and t["priority"] == "P3" and t["department"] == department
        )

    assert median_p3("Legal") > 1.5 * median_p3("IT")


def test_generate_tickets_urgent_wording_tracks_priority(tickets: list[dict[str, str]]) -> None:
    def urgent_share(priority: str) -> float:
        rows = [t for t in tickets if t["priority"] == priority]
        return sum(bool(URGENT.search(_text(t))) for t in rows) / len(rows)

    assert urgent_share("P1") > 0.6
    assert urgent_share("P4") < 0.15
    assert urgent_share("P1") > urgent_share("P2") > urgent_share("P3")


@pytest.mark.parametrize(
    "marker",
    [
        "-----Original Message-----",
        "发件人: ",
        "\n> ",
        "Best regards",
        "CONFIDENTIALITY NOTICE",
        "保密信息",
        "您好，",
        "Hi team,",
        "    at com.corp.",
        "Exit Code:",
        "ORA-",
        "pls",
        "【问题描述】",
    ],
)
def test_generate_tickets_contains_messiness_marker(tickets: list[dict[str, str]], marker: str) -> None:
    assert sum(marker in t["body"] for t in tickets) >= 5


@pytest.mark.parametrize(
    "pattern",
    [
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b",  # IPv4
        r"\bAST-\d{4}-\d{5}\b",  # asset tag
        r"\bINV-\d{4}-\d{6}\b",  # invoice number
        r"发票号 \d{8}",
        r"\bPO-\d{4}-\d{3,4}\b",  # purchase order
        r"\bHT-\d{4}-\d{4}\b",  # contract
        r"\b1[358]\d[- ]?\d{4}[- ]?\d{4}\b",  # Chinese mobile
        r"\b0\d{2,3}-\d{8}\b",  # landline
        r"[\w.]+@[\w-]+(?:\.[\w-]+)+",  # e-mail
        r"\b(?:srv-db|web-prod|erp-prd|mail|k8s-node)-\d{2}\b",  # host name
        r"¥[\d,]+|[\d.]+万元|USD [\d,]+|€[\d,]+",  # amounts
        r"\d{4}年\d{1,2}月\d{1,2}日|下周[一二三四五六日]|next (?:Monday|Tuesday|Wednesday|Thursday|Friday)",  # dates
        r"HTTP 50\d|0x8007\w{4}|exit code 137",  # error codes
    ],
)
def test_generate_tickets_contains_extractable_field(tickets: list[dict[str, str]], pattern: str) -> None:
    assert sum(bool(re.search(pattern, t["body"])) for t in tickets) >= 10


def test_generate_tickets_repeats_outages_with_shared_resolution(tickets: list[dict[str, str]]) -> None:
    by_id = {t["id"]: t for t in tickets}
    duplicates = [t for t in tickets if re.match(r"(?:Duplicate of|与) (DEMO-\d{6})", t["resolution"])]
    assert len(duplicates) >= 30
    for t in duplicates:
        match = re.search(r"DEMO-\d{6}", t["resolution"])
        assert match is not None
        first = by_id[match.group()]
        gap = datetime.fromisoformat(t["created_at"]) - datetime.fromisoformat(first["created_at"])
        assert timedelta(0) <= gap <= timedelta(hours=12)
        assert (first["department"], first["category"]) == (t["department"], t["category"])


def test_generate_tickets_has_recurring_requesters(tickets: list[dict[str, str]]) -> None:
    counts = Counter(t["requester"] for t in tickets)
    assert counts.most_common(1)[0][1] >= 20
    assert counts["CEO office"] + counts["总经理办公室"] >= 10


def test_generate_tickets_leaves_no_template_syntax(tickets: list[dict[str, str]]) -> None:
    for t in tickets:
        for field in ("title", "body", "resolution"):
            assert "{" not in t[field] and "}" not in t[field], (t["id"], t[field])


def test_templates_render_every_linked_variant() -> None:
    when = datetime(2026, 1, 15, 10, 0, tzinfo=sample_data.TZ)
    for template in sample_data._TEMPLATES + sample_data._INCIDENTS:
        for variant in range(12):
            for lang in ("zh", "en"):
                slots = sample_data._Slots(sample_data.random.Random(variant), when)
                slots.variant = variant
                for part in ("title", "body", "resolution"):
                    text = sample_data._render(template.text(part, lang), slots, lang)
                    assert text and "{" not in text and "}" not in text, (template.zh_title, part, lang)


def test_generate_tickets_is_fast() -> None:
    started = time.process_time()
    generate_tickets(3600, seed=11)
    assert time.process_time() - started < 2.0


def test_generate_articles_cover_every_category_in_both_languages() -> None:
    articles = generate_articles()
    assert all(set(a) == ARTICLE_KEYS for a in articles)
    covered = Counter((a["department"], a["category"], a["language"]) for a in articles)
    for department in DEPARTMENTS:
        for category in CATEGORIES[department]:
            for lang in ("zh", "en"):
                assert 1 <= covered[(department, category, lang)] <= 2
    assert len({a["id"] for a in articles}) == len(articles)
    assert all(re.fullmatch(r"KB-\d{4}", a["id"]) for a in articles)


def test_generate_articles_bodies_are_several_sentences() -> None:
    for article in generate_articles():
        sentences = re.split(r"[。！？.!?]\s*|\n", article["body"])
        assert len([s for s in sentences if s.strip()]) >= 3, article["id"]


def test_generate_articles_is_deterministic_by_seed() -> None:
    assert generate_articles(seed=5) == generate_articles(seed=5)
    assert generate_articles(seed=5) != generate_articles(seed=6)


def test_department_names_zh_cover_departments() -> None:
    assert set(DEPARTMENT_NAMES_ZH) == set(DEPARTMENTS)
    assert DEPARTMENT_NAMES_ZH["Facilities"] == "行政部"


def test_write_jsonl_round_trips(tmp_path: Path) -> None:
    rows = generate_tickets(60, seed=4)
    path = tmp_path / "nested" / "tickets.jsonl"
    write_jsonl(rows, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert any(HAN.search(line) for line in lines)  # Chinese kept readable, not \u-escaped


def test_write_csv_round_trips(tmp_path: Path) -> None:
    rows = [
        *generate_tickets(60, seed=4),
        {"id": "X-1", "title": 'comma, "quote"', "body": "line 1\nline 2，中文"},
    ]
    path = tmp_path / "nested" / "tickets.csv"
    write_csv(rows, path)
    with path.open(encoding="utf-8", newline="") as handle:
        read = list(csv.DictReader(handle))
    assert read[:-1] == rows[:-1]
    assert read[-1]["title"] == 'comma, "quote"' and read[-1]["body"] == "line 1\nline 2，中文"
    assert read[-1]["priority"] == ""


def test_templates_are_read_from_resource_files_per_department_and_language() -> None:
    import yaml

    folder = sample_data.RESOURCES
    for department in DEPARTMENTS:
        for lang in ("zh", "en"):
            data = yaml.safe_load((folder / f"{department}.{lang}.yaml").read_text(encoding="utf-8"))
            assert data["department"] == department
            ours = [t for t in sample_data._TEMPLATES if t.department == department]
            assert [t.text("body", lang) for t in ours] == [e["body"] for e in data["templates"]]
    assert len(sample_data._INCIDENTS) == len(sample_data._INCIDENT_WEIGHTS) >= 10


def test_template_files_that_do_not_pair_up_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    for name in ("HR.zh.yaml", "HR.en.yaml"):
        shutil.copy(sample_data.RESOURCES / name, tmp_path / name)
    english = tmp_path / "HR.en.yaml"
    english.write_text(english.read_text(encoding="utf-8").replace("id: payroll-1", "id: payroll-x", 1))
    monkeypatch.setattr(sample_data, "RESOURCES", tmp_path)
    with pytest.raises(ValueError, match=r"HR.en.yaml: entry 'payroll-1' is missing or differs"):
        sample_data._templates("HR")


def test_generate_tickets_has_a_few_tickets_too_vague_to_route(tickets: list[dict[str, str]]) -> None:
    bodies = {b for lang in ("zh", "en") for b in sample_data.VAGUE_BODIES[lang]}
    openings = tuple(b.split("{")[0][:12] for b in bodies)
    vague = [t for t in tickets if any(o in t["body"] for o in openings)]
    assert 0.03 <= len(vague) / len(tickets) <= 0.08
    assert len({t["department"] for t in vague}) >= 5  # labelled by what the agent found out, not by wording


def test_generate_tickets_mostly_meet_their_sla_targets(tickets: list[dict[str, str]]) -> None:
    sla = {"P1": 4.0, "P2": 8.0, "P3": 24.0, "P4": 72.0}
    for priority, target in sla.items():
        hours = [_hours(t) for t in tickets if t["status"] == "resolved" and t["priority"] == priority]
        breached = sum(h > target for h in hours) / len(hours)
        assert 0.05 <= breached <= 0.40, (priority, breached)
