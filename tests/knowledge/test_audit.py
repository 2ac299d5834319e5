"""The audit trail: chained appends, filters, and verify finding edits and deletions done with raw SQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator

import pytest

from knowledge.audit import GENESIS, AuditEvent, AuditLog, AuditSummaryError, row_hash
from knowledge.db import IntegrityError
from tests.postgres import connect_raw


@pytest.fixture
def audit(database_target: str) -> Iterator[AuditLog]:
    log = AuditLog(database_target)
    log.open()
    yield log
    log.close()


def _fill(log: AuditLog, n: int = 5) -> None:
    for i in range(n):
        log.append(
            AuditEvent(
                tenant="acme" if i % 2 else "other",
                action="case.delete" if i % 2 else "model.promote",
                target=f"case:C-{i}",
                before={"exists": True},
                after={"exists": False},
                key_id=f"key{i % 2}",
                request_id=f"req-{i}",
                client="127.0.0.1",
            )
        )


def _tamper(log: AuditLog, sql: str, *args: object) -> None:
    """What someone with the database (file or owner's login) can do: drop the guard triggers, then edit."""
    if log.path is not None:
        conn = sqlite3.connect(str(log.path), isolation_level=None)
        conn.execute("DROP TRIGGER audit_no_update")
        conn.execute("DROP TRIGGER audit_no_delete")
        conn.execute(sql, args)
        conn.close()
        return
    with connect_raw(log.db.url) as pg:
        pg.execute("ALTER TABLE audit DISABLE TRIGGER USER")
        pg.execute(sql.replace("?", "%s"), args)


def test_audit_append_chains_each_row_to_the_previous(audit: AuditLog) -> None:
    _fill(audit, 3)
    rows = list(reversed(audit.entries()))
    assert [r.seq for r in rows] == [1, 2, 3]
    assert rows[0].prev_hash == GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert rows[2].before == {"exists": True} and rows[2].request_id == "req-2"
    result = audit.verify()
    assert result.ok and result.rows == 3 and result.head == rows[-1].hash


def test_audit_rows_refuse_update_and_delete_through_sql(audit: AuditLog) -> None:
    _fill(audit, 2)
    with pytest.raises(IntegrityError, match="append-only"):
        audit.db.execute("UPDATE audit SET action='x' WHERE seq=1")
    with pytest.raises(IntegrityError, match="append-only"):
        audit.db.execute("DELETE FROM audit WHERE seq=1")
    assert audit.verify().ok


def test_audit_verify_names_an_edited_row(audit: AuditLog) -> None:
    _fill(audit, 5)
    _tamper(audit, "UPDATE audit SET key_id='someone-else' WHERE seq=3")
    result = audit.verify()
    assert not result.ok and result.first_bad == 3 and "edited" in (result.problem or "")


def test_audit_verify_names_the_row_after_a_deleted_one(audit: AuditLog) -> None:
    _fill(audit, 5)
    _tamper(audit, "DELETE FROM audit WHERE seq=2")
    result = audit.verify()
    assert not result.ok and result.first_bad == 3


def test_audit_verify_finds_the_newest_rows_deleted(audit: AuditLog) -> None:
    _fill(audit, 5)
    _tamper(audit, "DELETE FROM audit WHERE seq>=4")
    result = audit.verify()
    assert not result.ok and result.first_bad == 4 and "newest" in (result.problem or "")


def test_audit_verify_finds_a_rehashed_rewrite_by_its_expected_head(audit: AuditLog) -> None:
    _fill(audit, 3)
    head = audit.verify().head
    # A careful forger edits row 3 and recomputes its hash: the chain fits, the kept head does not.
    row = dict(audit.db.execute("SELECT * FROM audit WHERE seq=3").fetchone())
    row["action"] = "nothing.happened"
    _tamper(
        audit,
        "UPDATE audit SET action=?, hash=? WHERE seq=3",
        row["action"],
        row_hash(row["prev_hash"], row),
    )
    assert audit.verify().ok
    result = audit.verify(expect_head=head)
    assert not result.ok and "expected head" in (result.problem or "")


def test_audit_entries_filter_and_page(audit: AuditLog) -> None:
    _fill(audit, 6)
    acme = audit.entries("acme")
    assert [r.seq for r in acme] == [6, 4, 2]
    assert [r.seq for r in audit.entries("acme", limit=2)] == [6, 4]
    assert [r.seq for r in audit.entries("acme", before_seq=4)] == [2]
    assert {r.action for r in audit.entries(action="case.*")} == {"case.delete"}
    assert [r.seq for r in audit.entries(key_id="key0")] == [5, 3, 1]
    middle = audit.entries()[2].at
    assert all(r.at >= middle for r in audit.entries(since=middle))
    assert all(r.at < middle for r in audit.entries(until=middle))


@pytest.mark.parametrize(
    "summary",
    [{"text": "x" * 201}, {"nested": [{"body": "y" * 500}]}, {f"k{i}": "z" * 150 for i in range(40)}],
)
def test_audit_refuses_summaries_that_could_hold_ticket_text(
    audit: AuditLog, summary: dict[str, object]
) -> None:
    with pytest.raises(AuditSummaryError, match=r"never ticket text|summarise"):
        audit.append(AuditEvent(tenant="acme", action="case.upsert", after=summary))
    assert audit.entries() == []


def test_audit_concurrent_appends_from_two_connections_keep_one_chain(database_target: str) -> None:
    logs = [AuditLog(database_target) for _ in range(2)]  # as a server and a CLI process

    def write(log: AuditLog, who: str) -> None:
        for i in range(40):
            log.append(AuditEvent(tenant="acme", action="feedback.create", target=f"{who}-{i}"))

    threads = [threading.Thread(target=write, args=(log, f"w{n}")) for n, log in enumerate(logs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = logs[0].verify()
    assert result.ok and result.rows == 80
    for log in logs:
        log.close()
