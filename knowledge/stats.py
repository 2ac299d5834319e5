"""The operations dashboard's figures: aggregates over the ledger, computed in the database.

Every figure is one SQL statement over the ledger's tables (the per-hour prediction aggregates,
feedback, reassignments, handling estimates), grouped in the database and returned as a ``Table``
(column names + rows), so a month of a busy tenant never travels into Python row by row and
every chart has its table view and CSV export for free.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from knowledge.duplicates import OPEN_STATUSES
from knowledge.ledger import Ledger

HEADS = ("department", "category", "priority")
VOLUME_BY = (*HEADS, "language")
RANGES = ("today", "7d", "30d", "custom")
BUCKETS = {"hour": 13, "day": 10}  # ISO prefix lengths: "2026-01-31T09", "2026-01-31"
HIGH_RISK = 0.5
MAX_ROWS = 500  # longest lists (tickets behind a cell, SLA lists)


@dataclass(frozen=True)
class Period:
    """A dashboard time range: [since, until) in UTC, shown per ``bucket`` (hour or day).

    Empty when ``until == since`` (a reversed request answers an empty period, as a filter that
    nothing passes, never an error).
    """

    since: datetime
    until: datetime
    bucket: str

    @classmethod
    def of(
        cls,
        name: str | None,
        now: datetime,
        since: datetime | None = None,
        until: datetime | None = None,
        first: Callable[[], datetime | None] = lambda: None,
    ) -> Period:
        """The period of a request's ``range`` and ``since``/``until``; hour buckets up to 2 days.

        ``today``, ``7d`` and ``30d`` end now, and ``since``/``until`` narrow them further (both are
        filters). ``custom`` is just ``since``/``until``: without ``since`` it starts at ``first()``
        (the tenant's first recorded prediction; now when there is none), without ``until`` it ends
        now. No ``range`` means ``custom`` when ``since`` or ``until`` is given, else ``7d``.
        """
        now = now.astimezone(UTC)
        if name is None:
            name = "custom" if since is not None or until is not None else "7d"
        if name == "custom":
            start = _aware(since) if since is not None else _aware(first() or now)
            end = _aware(until) if until is not None else now
        elif name in ("today", "7d", "30d"):
            if name == "today":
                start = now.replace(hour=0, minute=0, second=0, microsecond=0)
            else:
                start = now - timedelta(days=int(name[:-1]))
            end = now
            if since is not None:
                start = max(start, _aware(since))
            if until is not None:
                end = min(end, _aware(until))
        else:
            raise ValueError(f"unknown range {name!r}; known: {', '.join(RANGES)}")
        end = max(start, end)
        return cls(start, end, "hour" if end - start <= timedelta(days=2) else "day")

    @property
    def empty(self) -> bool:
        return self.until <= self.since

    @property
    def width(self) -> int:
        return BUCKETS[self.bucket]

    def hours(self) -> tuple[str, str]:
        """Bounds on the hourly aggregates' ``hour`` (whole hours containing the period)."""
        start = self.since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        if self.empty:
            return start.isoformat()[:13], start.isoformat()[:13]
        end = self.until.astimezone(UTC)
        ceil = end.replace(minute=0, second=0, microsecond=0)
        if ceil < end:
            ceil += timedelta(hours=1)
        return start.isoformat()[:13], ceil.isoformat()[:13]

    def days(self) -> tuple[str, str]:
        """Bounds on per-day aggregates' ``day`` (whole UTC days containing the period), [low, high)."""
        low, high = self.hours()
        return low[:10], high[:10] if high.endswith("T00") else _next_day(high[:10])

    def day_split(self) -> tuple[tuple[str, str], tuple[str, str], tuple[str, str]]:
        """The period's whole hours as (leading hours, whole UTC days, trailing hours), each [low, high).

        Figures kept per day as well as per hour read the whole days from the day table and only
        the ragged edges from the hour table; a range without a whole day is all leading hours.
        """
        low, high = self.hours()
        first = low[:10] if low.endswith("T00") else _next_day(low[:10])
        last = high[:10]
        if first >= last:
            return (low, high), ("", ""), ("", "")
        return (low, f"{first}T00"), (first, last), (f"{last}T00", high)

    def instants(self) -> tuple[str, str]:
        """Bounds on stored instants (ISO UTC text, as the ledger writes them)."""
        return _iso(self.since), _iso(self.until)


@dataclass(frozen=True)
class Table:
    """One figure: column names and rows (JSON-ready values)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return out.getvalue()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _next_day(day: str) -> str:
    return (datetime.fromisoformat(day) + timedelta(days=1)).date().isoformat()


def _iso(moment: datetime) -> str:
    return _aware(moment).astimezone(UTC).isoformat(timespec="milliseconds")


def _table(ledger: Ledger, sql: str, args: Sequence[Any]) -> Table:
    columns, rows = ledger.query(sql, args)
    return Table(columns, rows)


def first_prediction(ledger: Ledger, tenant: str) -> datetime | None:
    """The start of the hour of the tenant's first recorded prediction (None when it has none)."""
    _, rows = ledger.query("SELECT min(hour) FROM score_hours WHERE tenant=? AND head='department'", [tenant])
    hour = rows[0][0] if rows else None
    return datetime.fromisoformat(f"{hour}:00:00+00:00") if hour else None


def _check(name: str, value: str, known: Sequence[str]) -> None:
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; known: {', '.join(known)}")


def volume(ledger: Ledger, tenant: str, period: Period, by: str = "department") -> Table:
    """Tickets per bucket and department / category / priority / language (live predictions)."""
    _check("by", by, VOLUME_BY)
    low, high = period.hours()
    if by == "language":  # one department prediction per ticket: tickets per language
        source, key, args = "language_hours WHERE tenant=?", "language", [tenant, low, high]
    else:
        source, key, args = "label_hours WHERE tenant=? AND head=?", "value", [tenant, by, low, high]
    return _table(
        ledger,
        f"SELECT substr(hour, 1, {period.width}) AS bucket, {key} AS key, sum(n) AS tickets FROM {source}"
        " AND hour>=? AND hour<? AND role<>'shadow' GROUP BY bucket, key ORDER BY bucket, key",
        args,
    )


def routing(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Per head and bucket: tickets routed automatically vs sent to a person (the model abstained)."""
    low, high = period.hours()
    return _table(
        ledger,
        f"SELECT head AS head, substr(hour, 1, {period.width}) AS bucket,"
        " sum(CASE WHEN abstained=0 THEN n ELSE 0 END) AS auto_routed,"
        " sum(CASE WHEN abstained=1 THEN n ELSE 0 END) AS needs_human"
        " FROM score_hours WHERE tenant=? AND hour>=? AND hour<? AND role<>'shadow'"
        " GROUP BY head, bucket ORDER BY head, bucket",
        [tenant, low, high],
    )


def coverage(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Per head, model version and bucket: predictions, share answered (not abstained), mean confidence."""
    low, high = period.hours()
    return _table(
        ledger,
        f"SELECT head AS head, version AS version, substr(hour, 1, {period.width}) AS bucket,"
        " sum(n) AS predictions, round(1.0 * sum(CASE WHEN abstained=0 THEN n ELSE 0 END) / sum(n), 4) AS coverage,"
        " round(sum(conf_sum) / sum(n), 4) AS mean_confidence"
        " FROM score_hours WHERE tenant=? AND hour>=? AND hour<? AND role<>'shadow'"
        " GROUP BY head, version, bucket ORDER BY head, version, bucket",
        [tenant, low, high],
    )


def accuracy(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Per head, model version and bucket: agents' verdicts (accepted or corrected) and the share we had right.

    The version is the one whose live prediction the agent judged (its latest for that ticket and head).
    """
    low, high = period.hours()
    return _table(
        ledger,
        f"SELECT head AS head, version AS version, substr(hour, 1, {period.width}) AS bucket, sum(n) AS judged,"
        " round(1.0 * sum(CASE WHEN predicted=chosen THEN n ELSE 0 END) / sum(n), 4) AS accuracy"
        " FROM verdict_hours WHERE tenant=? AND hour>=? AND hour<?"
        " GROUP BY head, version, bucket ORDER BY head, version, bucket",
        [tenant, low, high],
    )


def confusion(ledger: Ledger, tenant: str, period: Period, head: str = "department") -> Table:
    """What we predicted vs what agents chose (accepted = same label), with counts."""
    _check("head", head, HEADS)
    low, high = period.hours()
    return _table(
        ledger,
        "SELECT predicted AS predicted, chosen AS chosen, sum(n) AS tickets FROM verdict_hours"
        " WHERE tenant=? AND hour>=? AND hour<? AND head=? GROUP BY predicted, chosen ORDER BY predicted, chosen",
        [tenant, low, high, head],
    )


def handoffs(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Who passes tickets to whom: reassignments (by source) and agents' corrections, from -> to.

    Whole days come from the per-day handoff table, the period's partial days from the per-hour one.
    """
    (head_low, head_high), (day_low, day_high), (tail_low, tail_high) = period.day_split()
    return _table(
        ledger,
        "SELECT from_department AS from_department, to_department AS to_department, source AS source,"
        " sum(n) AS tickets FROM ("
        " SELECT from_department, to_department, source, n FROM handoff_hours WHERE tenant=?"
        " AND ((hour>=? AND hour<?) OR (hour>=? AND hour<?))"
        " UNION ALL SELECT from_department, to_department, source, n FROM handoff_days WHERE tenant=?"
        " AND day>=? AND day<?) AS cells"
        " GROUP BY from_department, to_department, source ORDER BY tickets DESC, from_department, to_department",
        [tenant, head_low, head_high, tail_low, tail_high, tenant, day_low, day_high],
    )


def handoff_tickets(
    ledger: Ledger, tenant: str, period: Period, from_department: str, to_department: str
) -> Table:
    """The tickets behind one cell of the handoff matrix, newest first (at most ``MAX_ROWS``)."""
    low, high = period.instants()
    return _table(
        ledger,
        "SELECT ticket_id AS ticket_id, source AS source, at AS at FROM ("
        " SELECT ticket_id, source, at FROM reassignments WHERE tenant=? AND from_department=?"
        " AND to_department=? AND at>=? AND at<?"
        " UNION ALL SELECT ticket_id, 'correction', at FROM feedback WHERE tenant=? AND head='department'"
        " AND predicted=? AND correct=? AND kind='label' AND at>=? AND at<?) AS moves"
        f" ORDER BY at DESC LIMIT {MAX_ROWS}",
        [
            tenant,
            from_department,
            to_department,
            low,
            high,
            tenant,
            from_department,
            to_department,
            low,
            high,
        ],
    )


def sla_risk(ledger: Ledger, tenant: str, now: datetime, threshold: float = HIGH_RISK) -> Table:
    """Open tickets whose predicted breach risk is at least ``threshold``, least time left first."""
    return _table(
        ledger,
        "SELECT ticket_id AS ticket_id, department AS department, priority AS priority,"
        " created_at AS created_at, due_at AS due_at,"
        " round((julianday(due_at) - julianday(?)) * 24, 2) AS hours_left,"
        " round(breach_risk, 4) AS breach_risk, p50_hours AS p50_hours, p90_hours AS p90_hours"
        " FROM handling WHERE tenant=? AND closed_at IS NULL AND breach_risk>=? AND due_at IS NOT NULL"
        f" ORDER BY due_at LIMIT {MAX_ROWS}",
        [_iso(now), tenant, threshold],
    )


def handling_accuracy(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Tickets closed in the period (whole UTC days) per department: predicted p50 vs real hours, share within p90."""
    return _table(
        ledger,
        "SELECT department AS department, sum(closed) AS closed,"
        " round(sum(p50_sum) / sum(closed), 2) AS predicted_p50_hours,"
        " round(sum(real_sum) / sum(closed), 2) AS real_hours,"
        " round(sum(abs_err_sum) / sum(closed), 2) AS mean_abs_error_hours,"
        " round(1.0 * sum(within_p90) / sum(closed), 4) AS within_p90"
        " FROM handling_days WHERE tenant=? AND day>=? AND day<? GROUP BY department ORDER BY department",
        [tenant, *period.days()],
    )


def suggestions(ledger: Ledger, tenant: str, period: Period) -> Table:
    """Suggested cases and articles agents judged: helpful and not helpful, most rejected first."""
    low, high = period.hours()
    return _table(
        ledger,
        "SELECT case_id AS case_id, sum(helpful) AS helpful, sum(not_helpful) AS not_helpful"
        " FROM suggestion_hours WHERE tenant=? AND hour>=? AND hour<?"
        f" GROUP BY case_id ORDER BY not_helpful DESC, helpful, case_id LIMIT {MAX_ROWS}",
        [tenant, low, high],
    )


def duplicates(ledger: Ledger, tenant: str, period: Period, statuses: Sequence[str] = OPEN_STATUSES) -> Table:
    """Open cases that tickets in the period repeat (as the duplicate check found), most repeated first.

    Joins the knowledge base's cases (the same database) for each case's title, department and
    current status; a case closed since is left out, being no longer an open incident.
    """
    low, high = period.instants()
    marks = ", ".join("?" for _ in statuses)
    return _table(
        ledger,
        "SELECT l.case_id AS case_id, d.title AS title, d.department AS department, d.status AS status,"
        " count(*) AS tickets, round(CAST(max(l.score) AS NUMERIC), 4) AS best_score,"
        " min(l.at) AS first_seen, max(l.at) AS last_seen"
        " FROM duplicate_links l JOIN documents d"
        " ON d.tenant=l.tenant AND d.kind='case' AND d.doc_id=l.case_id"
        f" WHERE l.tenant=? AND l.at>=? AND l.at<? AND lower(d.status) IN ({marks})"
        f" GROUP BY l.case_id, d.title, d.department, d.status ORDER BY tickets DESC, last_seen DESC, l.case_id LIMIT {MAX_ROWS}",
        [tenant, low, high, *(s.lower() for s in statuses)],
    )
