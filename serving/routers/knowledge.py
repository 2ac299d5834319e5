"""Solved cases and knowledge-base articles: CRUD, similar-case search, duplicates, spikes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query
from fastapi import Path as UrlPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from knowledge import Document, DocumentStore, detect_spikes, find_duplicates
from knowledge.duplicates import TooManyCases, duplicate_threshold
from serving.audit import document_summary
from serving.deps import (
    AuditDep,
    KnowledgeReader,
    KnowledgeWriter,
    ServiceDep,
    TenantDep,
    TriageCaller,
    bind_tenant,
)
from serving.errors import NOT_FOUND, V1_PROBLEMS
from serving.schemas import (
    ArticleList,
    ArticleOut,
    ArticleQuery,
    ArticleReplaceIn,
    ArticlesIn,
    CaseList,
    CaseOut,
    CaseQuery,
    CaseReplaceIn,
    CasesIn,
    DeleteIn,
    DeleteOut,
    DocumentIn,
    DocumentList,
    DocumentOut,
    DocumentQuery,
    DocumentsIn,
    DuplicatesIn,
    DuplicatesOut,
    SimilarCaseOut,
    SimilarIn,
    SimilarOut,
    SpikesOut,
    SpikesQuery,
)
from triage.pipeline import TriageService

router = APIRouter(tags=["knowledge"], responses=V1_PROBLEMS)


@router.post("/v1/similar", response_model=SimilarOut)
def similar(query: SimilarIn, caller: TriageCaller, svc: ServiceDep) -> SimilarOut:
    """Similar solved cases (or, with kind "article", knowledge-base articles) for a ticket text."""
    query = bind_tenant(query, caller)
    cases = svc.similar(query.to_ticket(), k=query.k, kind=query.kind)
    return SimilarOut(
        similar_cases=[
            SimilarCaseOut.model_validate(vars(c) | {"matched_terms": list(c.matched_terms)}) for c in cases
        ]
    )


@dataclass(frozen=True)
class _Collection:
    """One kind of stored document and the request and response models of its routes."""

    kind: Literal["case", "article"]
    plural: str  # in paths and route names
    bulk_in: type[DocumentsIn]
    replace_in: type[DocumentIn]
    query: type[DocumentQuery]
    item_out: type[DocumentOut]
    list_out: type[DocumentList]


CASES = _Collection("case", "cases", CasesIn, CaseReplaceIn, CaseQuery, CaseOut, CaseList)
ARTICLES = _Collection(
    "article", "articles", ArticlesIn, ArticleReplaceIn, ArticleQuery, ArticleOut, ArticleList
)
_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def _typed(handler: _Handler, **annotations: Any) -> _Handler:
    """Give a factory-made handler its collection's models.

    This module's annotations are strings (``from __future__ import annotations``) that FastAPI
    resolves in the module's globals, where the factory's per-collection models are not.
    """
    handler.__annotations__.update(annotations)
    return handler


def _page(store: DocumentStore, kind: str, query: DocumentQuery) -> tuple[list[Document], int]:
    """One page of a tenant's documents of a kind that pass the query's filters (oldest first), and their total."""
    filters = query.filters()
    if filters.empty:
        docs = store.page(query.tenant, kind, limit=query.limit, offset=query.offset)
        return docs, store.count(query.tenant, kind)
    rows = sorted(store.filter_rows(query.tenant, kind, filters).tolist())
    chosen = rows[query.offset : query.offset + query.limit]
    found = store.get_rows(chosen)
    return [found[r] for r in chosen if r in found], len(rows)


def _add_document_routes(router: APIRouter, c: _Collection) -> None:
    """Bulk add, list, get, replace, delete and bulk delete for one kind of document."""
    one, many = c.kind, c.plural
    path = f"/v1/{many}"
    item = f"{path}/{{{one}_id}}"
    doc_id_param = Annotated[str, UrlPath(alias=f"{one}_id", description=f"The {one}'s id.")]
    not_found = NOT_FOUND

    def missing(doc_id: str, tenant: str) -> HTTPException:
        return HTTPException(status_code=404, detail=f"{one} {doc_id!r} not found for tenant {tenant!r}")

    def stored(svc: TriageService, row_ids: list[int]) -> list[Document]:
        # Read back what was written: with redact_pii on, that is not what was sent.
        found = svc.knowledge.store.get_rows(row_ids)
        return [found[r] for r in row_ids if r in found]

    def add(body: DocumentsIn, caller: KnowledgeWriter, svc: ServiceDep, audit: AuditDep) -> DocumentList:
        given = bind_tenant(body, caller).documents()
        before = {(d.tenant, d.doc_id): svc.knowledge.store.get(d.tenant, c.kind, d.doc_id) for d in given}
        docs = stored(svc, svc.add_documents(given))
        # One row per document (a bulk call shares the request id), per tenant of the batch.
        for tenant in dict.fromkeys(d.tenant for d in docs):
            audit.record_many(
                tenant,
                [
                    (
                        f"{one}.{'replace' if before.get((d.tenant, d.doc_id)) else 'create'}",
                        f"{one}:{d.doc_id}",
                        document_summary(before.get((d.tenant, d.doc_id))),
                        document_summary(d),
                    )
                    for d in docs
                    if d.tenant == tenant
                ],
            )
        return c.list_out.of(docs, total=len(docs))

    def list_(query: DocumentQuery, caller: KnowledgeReader, svc: ServiceDep) -> DocumentList:
        docs, total = _page(svc.knowledge.store, c.kind, bind_tenant(query, caller, ("query",)))
        return c.list_out.of(docs, total=total)

    def get(doc_id: str, caller: KnowledgeReader, tenant: TenantDep, svc: ServiceDep) -> DocumentOut:
        doc = svc.knowledge.store.get(tenant, c.kind, doc_id)
        if doc is None:
            raise missing(doc_id, tenant)
        return c.item_out.of(doc)

    def replace(
        doc_id: str,
        body: DocumentIn,
        caller: KnowledgeWriter,
        tenant: TenantDep,
        svc: ServiceDep,
        audit: AuditDep,
    ) -> DocumentOut:
        before = svc.knowledge.store.get(tenant, c.kind, doc_id)
        if before is None:
            raise missing(doc_id, tenant)  # before the embedding work
        # Checked again where it is written: a DELETE that lands while this one embeds wins.
        rows = svc.add_documents([body.to_document(doc_id, tenant)], existing_only=True)
        docs = stored(svc, rows) if rows else []
        if not docs:  # deleted between the write and the read-back: the DELETE won
            raise missing(doc_id, tenant)
        after = docs[0]
        audit.record(
            tenant, f"{one}.replace", f"{one}:{doc_id}", document_summary(before), document_summary(after)
        )
        return c.item_out.of(after)

    def delete(
        doc_id: str, caller: KnowledgeWriter, tenant: TenantDep, svc: ServiceDep, audit: AuditDep
    ) -> Response:
        before = svc.knowledge.store.get(tenant, c.kind, doc_id)
        if not svc.knowledge.delete(tenant, c.kind, [doc_id]):
            raise missing(doc_id, tenant)
        audit.record(tenant, f"{one}.delete", f"{one}:{doc_id}", document_summary(before), {"exists": False})
        return Response(status_code=204)

    def delete_many(body: DeleteIn, caller: KnowledgeWriter, svc: ServiceDep, audit: AuditDep) -> DeleteOut:
        body = bind_tenant(body, caller)
        ids = list(dict.fromkeys(body.ids))
        before = {i: svc.knowledge.store.get(body.tenant, c.kind, i) for i in ids}
        deleted = set(svc.knowledge.delete(body.tenant, c.kind, ids))
        audit.record_many(
            body.tenant,
            [
                (f"{one}.delete", f"{one}:{i}", document_summary(before[i]), {"exists": False, "bulk": True})
                for i in ids
                if i in deleted
            ],
        )
        return DeleteOut(
            deleted=[i for i in ids if i in deleted], not_found=[i for i in ids if i not in deleted]
        )

    routes: list[tuple[str, str, str, Callable[..., Any], dict[str, Any], str]] = [
        (
            "POST",
            path,
            f"add_{many}",
            _typed(add, body=c.bulk_in),
            {"response_model": c.list_out, "status_code": 201},
            f"Store and index {many} (insert, or replace by id). Durable when this returns.",
        ),
        (
            "GET",
            path,
            f"list_{many}",
            _typed(list_, query=Annotated[c.query, Query()]),
            {"response_model": c.list_out},
            f"A page of stored {many}, oldest first, optionally filtered; `total` counts all that match.",
        ),
        (
            "GET",
            item,
            f"get_{one}",
            _typed(get, doc_id=doc_id_param),
            {"response_model": c.item_out, "responses": not_found},
            f"One {one}.",
        ),
        (
            "PUT",
            item,
            f"replace_{one}",
            _typed(replace, doc_id=doc_id_param, body=c.replace_in),
            {"response_model": c.item_out, "responses": not_found},
            f"Replace an existing {one} (every field) and embed and index it again. "
            f"404 for an unknown id: create it with POST {path}.",
        ),
        (
            "DELETE",
            item,
            f"delete_{one}",
            _typed(delete, doc_id=doc_id_param),
            {"status_code": 204, "responses": not_found},
            f"Delete a {one} from the database, every index and the index snapshots on disk.",
        ),
        (
            "POST",
            f"{path}:delete",
            f"delete_{many}",
            delete_many,
            {"response_model": DeleteOut},
            f"Delete several {many} as DELETE {item} does; says which ids were deleted and which not found.",
        ),
    ]
    for method, route_path, name, handler, options, description in routes:
        router.add_api_route(
            route_path, handler, methods=[method], name=name, description=description, **options
        )


for _collection in (CASES, ARTICLES):
    _add_document_routes(router, _collection)


@router.post("/v1/duplicates", response_model=DuplicatesOut)
def duplicates(query: DuplicatesIn, caller: TriageCaller, svc: ServiceDep) -> DuplicatesOut:
    """Open cases the ticket likely repeats: hybrid score at or above the threshold fitted for its language.

    Each match is recorded once per ticket (its id, else a digest of its text) for the dashboard's
    duplicates figure (`GET /v1/stats/duplicates`).
    """
    query = bind_tenant(query, caller)
    ticket = query.to_ticket()
    fitted = duplicate_threshold(ticket.text)
    hits = find_duplicates(
        svc.knowledge,
        svc.encode([ticket])[0],
        ticket.tenant,
        text=ticket.text,
        title=ticket.title or None,
        k=query.k,
        threshold=query.threshold,  # None: find_duplicates uses the fitted one
        exclude_ids=[ticket.id] if ticket.id else [],
    )
    if hits and svc.ledger is not None:  # the dashboard's "duplicates of open incidents"
        key = ticket.id or "text:" + hashlib.sha256(ticket.text.encode("utf-8")).hexdigest()[:32]
        svc.ledger.add_duplicates(ticket.tenant, key, [(h.document.doc_id, h.score) for h in hits])
    return DuplicatesOut.of(hits, fitted, query.threshold)


@router.get("/v1/spikes", response_model=SpikesOut)
def spikes(query: Annotated[SpikesQuery, Query()], caller: KnowledgeReader, svc: ServiceDep) -> SpikesOut:
    """Recurring-issue spikes: groups of similar cases created in the window ending at `now`, well above their usual rate."""
    query = bind_tenant(query, caller, ("query",))
    end = query.now or datetime.now(UTC)
    end = end.replace(tzinfo=UTC) if end.tzinfo is None else end.astimezone(UTC)
    window = timedelta(hours=query.window_hours)
    try:
        found = detect_spikes(
            svc.knowledge,
            query.tenant,
            now=end,
            window=window,
            history=query.history,
            min_size=query.min_size,
            min_ratio=query.min_ratio,
            similarity=query.similarity,
        )
    except TooManyCases as exc:
        raise RequestValidationError(
            [{"loc": ("query", "window_hours"), "msg": str(exc), "type": "value_error"}]
        ) from exc
    return SpikesOut.of(found, query, end - window, end)
