"""The operations dashboard's aggregates (``GET /v1/stats/...``) and its pages (``/dashboard``, ``/models``).

Each figure is computed in the database (``knowledge.stats``) and answered as a table: column names
and rows as JSON, or the same table as CSV with ``format=csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, Response

from knowledge import stats
from knowledge.ledger import Ledger
from knowledge.stats import Period, Table
from serving.deps import FeedbackCaller, ServiceDep, StatsReader, TenantDep
from serving.errors import V1_PROBLEMS
from serving.routers.ops import STATIC
from serving.schemas import LabelsOut, StatsOut, Timestamp

router = APIRouter(tags=["stats"], responses=V1_PROBLEMS)

RangeQuery = Annotated[
    Literal["today", "7d", "30d", "custom"] | None,
    Query(
        alias="range",
        description=(
            "today (UTC), the last 7 or 30 days (each ending now), or custom (just since/until). "
            "Default: custom when since or until is given, else 7d."
        ),
    ),
]
SinceQuery = Annotated[
    Timestamp | None,
    Query(
        description=(
            "Start (inclusive), ISO 8601. Narrows a today/7d/30d range; a custom range without it "
            "starts at the tenant's first recorded prediction."
        )
    ),
]
UntilQuery = Annotated[
    Timestamp | None,
    Query(
        description=(
            "End (exclusive), ISO 8601; default now. Narrows a today/7d/30d range. "
            "An end at or before the start answers an empty period (no rows)."
        )
    ),
]
FormatQuery = Annotated[Literal["json", "csv"], Query(description="json (columns + rows) or csv.")]
HeadQuery = Annotated[
    Literal["department", "category", "priority"], Query(description="Which prediction head.")
]


@router.get("/dashboard", include_in_schema=False)
def dashboard_page() -> FileResponse:
    return FileResponse(STATIC / "dashboard.html")


@router.get("/models", include_in_schema=False)
def models_page() -> FileResponse:
    return FileResponse(STATIC / "models.html")


def _period(
    svc: ServiceDep,
    tenant: TenantDep,
    range_: RangeQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
) -> Period:
    """The period every figure takes from its range/since/until query (one dependency, not a copy per route).

    Every combination the schema allows is a period (a reversed one is empty), so the published
    schema is the whole rule: no 422 for a pair of values each valid on its own.
    """

    def first() -> datetime | None:
        if svc.ledger is None:
            return None
        svc.ledger.flush()
        return stats.first_prediction(svc.ledger, tenant)

    return Period.of(range_, datetime.now(UTC), since, until, first=first)


PeriodDep = Annotated[Period, Depends(_period)]


def _ledger(svc: ServiceDep) -> Ledger:
    if svc.ledger is None:
        raise HTTPException(
            status_code=409, detail="no prediction log configured: the dashboard has no facts"
        )
    svc.ledger.flush()
    return svc.ledger


def _answer(figure: str, tenant: str, period: Period | None, table: Table, fmt: str) -> StatsOut | Response:
    if fmt == "csv":
        name = f"{figure}-{tenant}.csv"
        return Response(
            table.csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return StatsOut(
        figure=figure,
        tenant=tenant,
        since=period.since if period else None,
        until=period.until if period else None,
        bucket=period.bucket if period else None,
        columns=list(table.columns),
        rows=[list(r) for r in table.rows],
    )


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The table (JSON, or CSV with format=csv)."}
}


def _figure(name: str, compute: Callable[[Ledger, str, Period], Table], summary: str) -> None:
    def handler(
        caller: StatsReader,
        tenant: TenantDep,
        svc: ServiceDep,
        period: PeriodDep,
        format: FormatQuery = "json",
    ) -> StatsOut | Response:
        return _answer(name, tenant, period, compute(_ledger(svc), tenant, period), format)

    handler.__doc__ = summary
    router.add_api_route(
        f"/v1/stats/{name}",
        handler,
        methods=["GET"],
        response_model=StatsOut,
        name=f"stats_{name}",
        responses=_CSV,
    )


_figure("routing", stats.routing, "Per head and bucket: tickets routed automatically vs sent to a person.")
_figure("coverage", stats.coverage, "Per head, model version and bucket: share answered (not abstained).")
_figure("accuracy", stats.accuracy, "Per head, model version and bucket: agents' verdicts and accuracy.")
_figure("handoffs", stats.handoffs, "Who passes tickets to whom: reassignments and corrections, from -> to.")
_figure(
    "handling", stats.handling_accuracy, "Closed tickets: predicted vs real handling hours per department."
)
_figure("suggestions", stats.suggestions, "Suggested cases and articles judged helpful / not helpful.")
_figure(
    "duplicates",
    stats.duplicates,
    "Open cases that tickets in the period repeat (found by POST /v1/duplicates), most repeated first.",
)


@router.get("/v1/stats/volume", response_model=StatsOut, responses=_CSV)
def volume(
    caller: StatsReader,
    tenant: TenantDep,
    svc: ServiceDep,
    period: PeriodDep,
    by: Annotated[
        Literal["department", "category", "priority", "language"],
        Query(description="What to break volume down by."),
    ] = "department",
    format: FormatQuery = "json",
) -> StatsOut | Response:
    """Tickets per bucket (hour up to two days, else day), by department, category, priority or language."""
    return _answer("volume", tenant, period, stats.volume(_ledger(svc), tenant, period, by), format)


@router.get("/v1/stats/confusion", response_model=StatsOut, responses=_CSV)
def confusion(
    caller: StatsReader,
    tenant: TenantDep,
    svc: ServiceDep,
    period: PeriodDep,
    head: HeadQuery = "department",
    format: FormatQuery = "json",
) -> StatsOut | Response:
    """What we predicted vs what agents chose, with counts (from label feedback)."""
    return _answer("confusion", tenant, period, stats.confusion(_ledger(svc), tenant, period, head), format)


@router.get("/v1/stats/handoffs/tickets", response_model=StatsOut, responses=_CSV)
def handoff_tickets(
    caller: StatsReader,
    tenant: TenantDep,
    svc: ServiceDep,
    from_department: Annotated[str, Query(alias="from", min_length=1, max_length=200)],
    to_department: Annotated[str, Query(alias="to", min_length=1, max_length=200)],
    period: PeriodDep,
    format: FormatQuery = "json",
) -> StatsOut | Response:
    """The tickets behind one cell of the handoff matrix (newest first, at most 500)."""
    table = stats.handoff_tickets(_ledger(svc), tenant, period, from_department, to_department)
    return _answer("handoff-tickets", tenant, period, table, format)


@router.get("/v1/stats/sla-risk", response_model=StatsOut, responses=_CSV)
def sla_risk(
    caller: StatsReader,
    tenant: TenantDep,
    svc: ServiceDep,
    threshold: Annotated[
        float, Query(ge=0.0, le=1.0, description="Least predicted breach risk listed.")
    ] = 0.5,
    format: FormatQuery = "json",
) -> StatsOut | Response:
    """Open tickets whose predicted SLA breach risk is at least `threshold`, least time left first."""
    return _answer(
        "sla-risk", tenant, None, stats.sla_risk(_ledger(svc), tenant, datetime.now(UTC), threshold), format
    )


@router.get("/v1/labels", tags=["models"], response_model=LabelsOut)
def labels(caller: FeedbackCaller, tenant: TenantDep, svc: ServiceDep) -> LabelsOut:
    """Every label the tenant's active model knows, per head (what an agent may correct a prediction to)."""
    bundle = svc.models.assign(tenant, None).serving
    known = bundle.manifest.get("labels", {})
    return LabelsOut(
        model_version=bundle.version, labels={str(h): [str(v) for v in vs] for h, vs in known.items()}
    )
