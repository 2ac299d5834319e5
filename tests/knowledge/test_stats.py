from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from knowledge import stats
from knowledge.ledger import Feedback, HandlingRecord, Ledger, PredictionRecord
from knowledge.stats import Period

NOW = datetime.now(UTC)


@pytest.fixture
def ledger(database_target: str) -> Iterator[Ledger]:
    ledger = Ledger(database_target)
    ledger.open()
    yesterday = NOW - timedelta(days=1)
    records = []
    for i, (dept, lang, abstained, at) in enumerate(
        [
            ("IT", "zh", False, NOW),
            ("IT", "en", True, NOW),
            ("HR", "zh", False, NOW),
            ("IT", "zh", False, yesterday),
            ("Finance", "en", False, NOW - timedelta(days=10)),
        ]
    ):
        records.append(
            PredictionRecord("acme", f"t{i}", "v1", "active", "department", dept, 0.9, abstained, lang, at)
        )
        records.append(
            PredictionRecord("acme", f"t{i}", "v1", "active", "priority", "P3", 0.4, True, lang, at)
        )
        records.append(
            PredictionRecord("acme", f"t{i}", "v2", "shadow", "department", "HR", 0.8, False, lang, at)
        )
    records.append(PredictionRecord("other", "x", "v1", "active", "department", "IT", 0.9, False, "zh", NOW))
    ledger.log(records)
    ledger.flush()
    yield ledger
    ledger.close()


def test_period_names_ranges_and_buckets() -> None:
    today = Period.of("today", NOW)
    assert today.bucket == "hour" and today.since.hour == 0 and today.until == NOW
    assert Period.of("30d", NOW).bucket == "day" and Period.of("7d", NOW).since == NOW - timedelta(days=7)
    custom = Period.of("custom", NOW, since=datetime(2026, 3, 1), until=datetime(2026, 3, 2, tzinfo=UTC))
    assert custom.since.tzinfo is not None and custom.bucket == "hour"
    with pytest.raises(ValueError, match="known: today, 7d, 30d, custom"):
        Period.of("week", NOW)


def test_period_since_and_until_are_filters_every_combination_is_a_period() -> None:
    """Each value the schema allows is a period: no rule between two parameters that OpenAPI cannot state."""
    day_ago = NOW - timedelta(days=1)
    # No range: custom when a bound is given, else the last 7 days.
    assert Period.of(None, NOW) == Period.of("7d", NOW)
    assert Period.of(None, NOW, since=day_ago) == Period(day_ago, NOW, "hour")
    # since/until narrow a preset range; they never widen it.
    assert Period.of("7d", NOW, since=day_ago).since == day_ago
    assert Period.of("7d", NOW, since=NOW - timedelta(days=30)).since == NOW - timedelta(days=7)
    assert Period.of("30d", NOW, until=day_ago).until == day_ago
    # custom without since starts at the first recorded prediction (now when there is none).
    first = NOW - timedelta(days=40)
    assert Period.of("custom", NOW, first=lambda: first) == Period(first, NOW, "day")
    assert Period.of("custom", NOW).empty
    # A reversed or disjoint request is an empty period at its start, not an error.
    reversed_ = Period.of("custom", NOW, since=NOW, until=NOW - timedelta(hours=1))
    assert reversed_.empty and reversed_.since == reversed_.until == NOW and reversed_.bucket == "hour"
    assert Period.of("today", NOW, until=NOW - timedelta(days=2)).empty


def test_an_empty_period_answers_no_rows(ledger: Ledger) -> None:
    """Even one that starts inside an hour (or day) holding facts: whole-hour rounding adds nothing."""
    empty = Period.of("custom", NOW, since=NOW - timedelta(minutes=1), until=NOW - timedelta(hours=3))
    assert empty.empty
    for figure in (stats.volume, stats.routing, stats.coverage, stats.accuracy, stats.handoffs):
        assert figure(ledger, "acme", empty).rows == [], figure.__name__
    assert stats.handling_accuracy(ledger, "acme", empty).rows == []
    assert stats.volume(ledger, "acme", Period.of("7d", NOW + timedelta(seconds=1))).rows  # not vacuous


def test_first_prediction_is_the_hour_of_the_tenants_first_prediction(ledger: Ledger) -> None:
    first = stats.first_prediction(ledger, "acme")
    ten_days_ago = NOW - timedelta(days=10)
    assert first == ten_days_ago.replace(minute=0, second=0, microsecond=0)
    assert stats.first_prediction(ledger, "nobody") is None
    everything = Period.of("custom", NOW + timedelta(seconds=1), first=lambda: first)
    assert sum(n for _, _, n in stats.volume(ledger, "acme", everything).rows) == 5


def test_volume_counts_live_tickets_per_bucket_and_key(ledger: Ledger) -> None:
    week = Period.of("7d", NOW + timedelta(seconds=1))
    by_dept = stats.volume(ledger, "acme", week)
    assert by_dept.columns == ("bucket", "key", "tickets")
    totals: dict[str, int] = {}
    for _, key, n in by_dept.rows:
        totals[key] = totals.get(key, 0) + n
    assert totals == {"IT": 3, "HR": 1}  # shadow predictions and the 10-day-old ticket are left out
    assert len({b for b, _, _ in by_dept.rows}) == 2  # yesterday and today, per day
    by_lang = stats.volume(ledger, "acme", week, by="language")
    assert sum(n for _, k, n in by_lang.rows if k == "zh") == 3
    with pytest.raises(ValueError, match="known: department, category, priority, language"):
        stats.volume(ledger, "acme", week, by="team")
    assert stats.volume(ledger, "nobody", week).rows == [] and stats.volume(ledger, "nobody", week).columns


def test_routing_and_coverage_per_head(ledger: Ledger) -> None:
    week = Period.of("7d", NOW + timedelta(seconds=1))
    routed = {(h, auto, human) for h, _, auto, human in stats.routing(ledger, "acme", week).rows}
    assert sum(a for h, a, _ in routed if h == "department") == 3
    assert sum(x for h, _, x in routed if h == "department") == 1
    assert sum(x for h, _, x in routed if h == "priority") == 4
    cov = stats.coverage(ledger, "acme", week)
    assert cov.columns == ("head", "version", "bucket", "predictions", "coverage", "mean_confidence")
    assert {r[1] for r in cov.rows} == {"v1"}


def test_accuracy_confusion_and_handoffs_from_feedback_and_reassignments(ledger: Ledger) -> None:
    ledger.add_feedback(Feedback("acme", "t0", "label", head="department", predicted="IT", accepted=True))
    ledger.add_feedback(Feedback("acme", "t1", "label", head="department", predicted="IT", correct="HR"))
    ledger.add_feedback(Feedback("acme", "t2", "label", head="department", predicted="HR", correct="HR"))
    ledger.add_feedback(Feedback("acme", "t3", "case", case_id="C-9", helpful=False))
    ledger.add_feedback(Feedback("acme", "t2", "case", case_id="C-9", helpful=True))
    ledger.add_reassignment("acme", "t5", "IT", "HR", NOW - timedelta(hours=2), "zendesk")
    ledger.add_reassignment("acme", "t6", "IT", "HR", NOW - timedelta(hours=1), "zendesk")
    period = Period.of("7d", datetime.now(UTC) + timedelta(minutes=1))
    acc = stats.accuracy(ledger, "acme", period)
    assert [(r[0], r[1], r[3], r[4]) for r in acc.rows] == [("department", "v1", 3, round(2 / 3, 4))]
    conf = stats.confusion(ledger, "acme", period)
    assert conf.rows == [("HR", "HR", 1), ("IT", "HR", 1), ("IT", "IT", 1)]
    moves = stats.handoffs(ledger, "acme", period)
    assert moves.rows == [("IT", "HR", "zendesk", 2), ("IT", "HR", "correction", 1)]
    cell = stats.handoff_tickets(ledger, "acme", period, "IT", "HR")
    assert [r[0] for r in cell.rows] == ["t1", "t6", "t5"]
    assert stats.suggestions(ledger, "acme", period).rows == [("C-9", 1, 1)]
    assert "from_department,to_department,source,tickets\nIT,HR,zendesk,2\n" in moves.csv()


def test_sla_risk_lists_open_risky_tickets_by_time_left(ledger: Ledger) -> None:
    start = NOW - timedelta(hours=5)
    ledger.log(
        [
            HandlingRecord("acme", "late", "v1", "IT", "P1", start, 4.0, 9.0, sla_hours=8, breach_risk=0.9),
            HandlingRecord("acme", "soon", "v1", "IT", "P1", start, 4.0, 9.0, sla_hours=6, breach_risk=0.7),
            HandlingRecord("acme", "safe", "v1", "HR", "P3", start, 2.0, 4.0, sla_hours=48, breach_risk=0.1),
            HandlingRecord("acme", "done", "v1", "HR", "P3", start, 2.0, 4.0, sla_hours=4, breach_risk=0.95),
        ]
    )
    ledger.flush()
    assert ledger.close_ticket("acme", "done", start + timedelta(hours=3))
    assert not ledger.close_ticket("acme", "never-triaged", NOW)
    risky = stats.sla_risk(ledger, "acme", NOW)
    assert [r[0] for r in risky.rows] == ["soon", "late"]
    assert risky.rows[0][5] == pytest.approx(1.0, abs=0.01)  # hours left
    closed = stats.handling_accuracy(
        ledger, "acme", Period.of("7d", datetime.now(UTC) + timedelta(minutes=1))
    )
    assert closed.rows == [("HR", 1, 2.0, 3.0, 1.0, 1.0)]


@pytest.mark.sqlite_only(
    "a SQLite file from before the aggregates gets them rebuilt on open; no PostgreSQL database predates them"
)
def test_verdict_aggregates_are_rebuilt_for_a_database_from_before_them(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "db.sqlite")
    ledger.open()
    ledger.log([PredictionRecord("acme", "t1", "v7", "active", "department", "IT", 0.9, False, "en")])
    ledger.flush()
    ledger.add_feedback(Feedback("acme", "t1", "label", head="department", predicted="IT", correct="HR"))
    ledger.add_feedback(Feedback("acme", "t1", "case", case_id="C-1", helpful=False))
    ledger.add_reassignment("acme", "t2", "HR", "Legal", NOW - timedelta(minutes=1), "jira")
    period = Period.of("7d", datetime.now(UTC) + timedelta(minutes=1))
    figures = (stats.accuracy, stats.confusion, stats.handoffs, stats.suggestions)
    before = [f(ledger, "acme", period).rows for f in figures]
    assert before[0][0][1] == "v7" and before[3] == [("C-1", 0, 1)]
    with ledger._lock:
        for table in ("verdict_hours", "handoff_hours", "handoff_days", "suggestion_hours"):
            ledger.db.execute(f"DELETE FROM {table}")
    ledger.close()
    again = Ledger(tmp_path / "db.sqlite")
    again.open()
    assert [f(again, "acme", period).rows for f in figures] == before
    again.close()


def test_period_day_split_reads_whole_days_and_ragged_hours() -> None:
    period = Period.of(
        "custom",
        NOW,
        since=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
        until=datetime(2026, 3, 4, 5, 10, tzinfo=UTC),
    )
    assert period.day_split() == (
        ("2026-03-01T09", "2026-03-02T00"),
        ("2026-03-02", "2026-03-04"),
        ("2026-03-04T00", "2026-03-04T06"),
    )
    midnight = Period.of(
        "custom", NOW, since=datetime(2026, 3, 1, tzinfo=UTC), until=datetime(2026, 3, 3, tzinfo=UTC)
    )
    assert midnight.day_split() == (
        ("2026-03-01T00", "2026-03-01T00"),
        ("2026-03-01", "2026-03-03"),
        ("2026-03-03T00", "2026-03-03T00"),
    )
    within = Period.of(
        "custom", NOW, since=datetime(2026, 3, 1, 2, tzinfo=UTC), until=datetime(2026, 3, 1, 8, tzinfo=UTC)
    )
    assert within.day_split() == (("2026-03-01T02", "2026-03-01T08"), ("", ""), ("", ""))


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (datetime(2026, 3, 1, 9, 30, tzinfo=UTC), datetime(2026, 3, 4, 5, 10, tzinfo=UTC)),
        (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)),
        (datetime(2026, 3, 2, 22, tzinfo=UTC), datetime(2026, 3, 3, 1, tzinfo=UTC)),
    ],
)
def test_handoffs_over_days_count_what_the_hours_hold(
    tmp_path: Path, since: datetime, until: datetime
) -> None:
    ledger = Ledger(tmp_path / "db.sqlite")
    ledger.open()
    start = datetime(2026, 2, 28, tzinfo=UTC)
    for i in range(0, 6 * 24, 5):  # every 5 hours over six days, two directions
        at = start + timedelta(hours=i, minutes=17)
        a, b = ("IT", "HR") if i % 2 else ("HR", "Legal")
        ledger.add_reassignment("acme", f"t{i}", a, b, at, "zendesk")
    period = Period.of("custom", NOW, since=since, until=until)
    low, high = period.hours()
    _, expected = ledger.query(
        "SELECT from_department, to_department, source, count(*) FROM reassignments WHERE tenant='acme'"
        " AND substr(at, 1, 13)>=? AND substr(at, 1, 13)<? GROUP BY 1, 2, 3",
        [low, high],
    )
    got = stats.handoffs(ledger, "acme", period).rows
    assert sorted(got) == sorted(expected) and expected
    ledger.close()


def test_duplicates_lists_open_cases_tickets_repeat(tmp_path: Path) -> None:
    import numpy as np

    from knowledge.store import Document, DocumentStore

    path = tmp_path / "db.sqlite"
    store = DocumentStore(path)
    store.open()
    cases = [
        Document("INC-1", tenant="acme", title="VPN down", department="IT", status="open"),
        Document("INC-2", tenant="acme", title="Printer jam", department="Facilities", status="Pending"),
        Document("INC-3", tenant="acme", title="Old outage", department="IT", status="resolved"),
    ]
    store.upsert(cases, np.ones((3, 4), dtype=np.float32), "hash")
    ledger = Ledger(path)
    ledger.open()
    assert ledger.add_duplicates("acme", "T-1", [("INC-1", 0.8), ("INC-2", 0.6)]) == 2
    assert ledger.add_duplicates("acme", "T-1", [("INC-1", 0.9)]) == 0  # the same ticket checked again
    assert ledger.add_duplicates("acme", "T-2", [("INC-1", 0.7), ("INC-3", 0.9)]) == 2
    assert ledger.add_duplicates("other", "T-9", [("INC-1", 0.99)]) == 1  # another tenant's case space
    with pytest.raises(ValueError, match="ticket key is empty"):
        ledger.add_duplicates("acme", " ", [("INC-1", 0.5)])
    table = stats.duplicates(ledger, "acme", Period.of("today", datetime.now(UTC) + timedelta(minutes=1)))
    assert table.columns[:6] == ("case_id", "title", "department", "status", "tickets", "best_score")
    assert [r[:6] for r in table.rows] == [
        ("INC-1", "VPN down", "IT", "open", 2, 0.8),
        ("INC-2", "Printer jam", "Facilities", "Pending", 1, 0.6),
    ]  # INC-3 is resolved: no longer an open incident; the other tenant's INC-1 is not joined
    earlier = Period.of("custom", NOW, since=NOW - timedelta(days=3), until=NOW - timedelta(days=2))
    assert stats.duplicates(ledger, "acme", earlier).rows == []
    ledger.close()
    store.close()
