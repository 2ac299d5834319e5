from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from knowledge.ledger import Feedback, Ledger, PredictionRecord


@pytest.fixture
def ledger(database_target: str) -> Ledger:
    ledger = Ledger(database_target)
    ledger.open()
    yield ledger
    ledger.close()


def _record(ticket: str, role: str, value: str, version: str = "v1") -> PredictionRecord:
    return PredictionRecord("acme", ticket, version, role, "department", value, 0.9, False)


def test_ledger_logs_predictions_in_the_background(ledger: Ledger) -> None:
    ledger.log([_record(f"t{i}", "active", "IT") for i in range(25)])
    ledger.flush()
    rows = ledger.predictions("acme")
    assert len(rows) == 25 and rows[0]["value"] == "IT"
    assert ledger.predictions("other") == []


def test_ledger_feedback_is_durable_across_reopen(database_target: str) -> None:
    ledger = Ledger(database_target)
    feedback_id = ledger.add_feedback(
        Feedback("acme", "t1", "label", head="department", predicted="IT", correct="HR")
    )
    ledger.close()
    again = Ledger(database_target)
    rows = again.feedback("acme")
    assert feedback_id >= 1 and rows[0]["correct"] == "HR"
    again.close()


def test_ledger_comparison_counts_agreement_and_accuracy(ledger: Ledger) -> None:
    ledger.log(
        [
            _record("t1", "active", "IT"),
            _record("t1", "shadow", "IT", "v2"),
            _record("t2", "active", "IT"),
            _record("t2", "shadow", "HR", "v2"),
            _record("t3", "active", "Finance"),
        ]
    )
    ledger.add_feedback(Feedback("acme", "t2", "label", head="department", correct="HR"))
    ledger.add_feedback(Feedback("acme", "t1", "label", head="department", predicted="IT", accepted=True))
    ledger.flush()
    report = ledger.comparison("acme")
    assert report["tickets_compared"] == 2 and report["agreement"] == 0.5
    assert report["with_feedback"] == 2
    assert report["accuracy_active"] == 0.5 and report["accuracy_candidate"] == 1.0


def test_ledger_predictions_read_a_time_window_with_confidences(ledger: Ledger) -> None:
    ledger.log(
        [
            PredictionRecord("acme", f"t{i}", "v1", "active", head, "IT", 0.5 + i / 100, False)
            for i in range(6)
            for head in ("department", "priority")
        ]
    )
    ledger.flush()
    # Spread the rows over three days (the writer stamps them all with the write time).
    with ledger._lock:
        for ticket, day in (
            ("t0", "01"),
            ("t1", "01"),
            ("t2", "02"),
            ("t3", "02"),
            ("t4", "03"),
            ("t5", "03"),
        ):
            ledger.db.execute(
                "UPDATE predictions SET at=? WHERE ticket_id=?", (f"2026-03-{day}T12:00:00.000+00:00", ticket)
            )
    day_two = ledger.predictions("acme", "department", since="2026-03-02", until="2026-03-03")
    assert [r["ticket_id"] for r in day_two] == ["t2", "t3"]
    assert [r["confidence"] for r in day_two] == [0.52, 0.53]
    assert {r["head"] for r in day_two} == {"department"}
    assert len(ledger.predictions("acme", "priority", until="2026-03-02")) == 2
    assert len(ledger.predictions("acme", "priority", since="2026-03-02")) == 4
    assert len(ledger.predictions("acme", "department")) == 6


def test_ledger_reassignments_are_durable_idempotent_and_windowed(database_target: str) -> None:
    ledger = Ledger(database_target)
    day = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    first = ledger.add_reassignment("acme", "t1", "IT", "HR", day, "zendesk")
    # The same vendor event replayed is stored once.
    assert ledger.add_reassignment("acme", "t1", "IT", "HR", day, "zendesk") == first
    # An instant given in another zone is the same instant.
    beijing = day.astimezone(timezone(timedelta(hours=8)))
    assert ledger.add_reassignment("acme", "t1", "IT", "HR", beijing, "zendesk") == first
    ledger.add_reassignment("acme", "t1", "HR", "Finance", day + timedelta(days=1), "agent")
    ledger.add_reassignment("acme", "t2", "IT", "Finance", day - timedelta(days=1), "jira")
    ledger.add_reassignment("other", "t1", "IT", "HR", day, "zendesk")
    ledger.close()

    again = Ledger(database_target)
    moves = again.reassignments("acme")
    assert [(m.ticket_id, m.from_department, m.to_department, m.source) for m in moves] == [
        ("t2", "IT", "Finance", "jira"),
        ("t1", "IT", "HR", "zendesk"),
        ("t1", "HR", "Finance", "agent"),
    ]
    assert moves[1].id == first and moves[1].at == day and moves[1].tenant == "acme"
    window = again.reassignments("acme", since=day, until=day + timedelta(days=1))
    assert [m.to_department for m in window] == ["HR"]
    assert [m.to_department for m in again.reassignments("acme", ticket_id="t1")] == ["HR", "Finance"]
    assert len(again.reassignments("other")) == 1
    again.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("acme", "t1", "IT", "IT", datetime(2026, 3, 2, tzinfo=UTC), "agent"), "to itself"),
        (("acme", "", "IT", "HR", datetime(2026, 3, 2, tzinfo=UTC), "agent"), "ticket_id"),
        (("acme", "t1", "IT", "HR", datetime(2026, 3, 2, tzinfo=UTC), " "), "source"),
        (("acme", "t1", "IT", "HR", datetime(2026, 3, 2), "agent"), "time zone"),
    ],
)
def test_ledger_reassignment_rejects_unusable_events(ledger: Ledger, args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ledger.add_reassignment(*args)
    assert ledger.reassignments("acme") == []
