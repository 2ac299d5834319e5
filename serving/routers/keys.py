"""The tenant's API keys over HTTP: create (the secret shown once), list, show, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as UrlPath
from pydantic import BaseModel, ConfigDict, Field, JsonValue, field_validator

from serving.audit import key_summary
from serving.deps import AuditDep, KeysAdmin, KeyStoreDep, bind_tenant
from serving.errors import CONFLICT, NOT_FOUND, V1_PROBLEMS, ProblemError
from serving.keys import ALL_SCOPES, ApiKey, KeyRequestError, parse_scopes
from serving.schemas import TENANT_PATTERN, Timestamp

router = APIRouter(tags=["keys"], responses=V1_PROBLEMS)

KeyId = Annotated[str, UrlPath(pattern=r"^[a-z0-9]{8}$", description="The key's id (8 characters).")]


class KeyCreateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "zendesk connector",
                    "scopes": ["triage", "feedback"],
                    "expires": "2027-06-30T00:00:00Z",
                }
            ]
        },
    )
    name: str = Field(
        "", max_length=100, description="What the key is for, shown in lists and the audit trail."
    )
    scopes: list[str] = Field(
        ...,
        min_length=1,
        max_length=len(ALL_SCOPES),
        description=f"Scopes of the new key, each one the creating key holds: {', '.join(ALL_SCOPES)}.",
        json_schema_extra={"items": {"type": "string", "enum": [*ALL_SCOPES, "*", "all"]}},
    )
    expires: Timestamp | None = Field(
        None,
        description=(
            "When the key stops working (ISO 8601); none: never. A time already past is refused with "
            "409 (well formed, but the clock has passed it)."
        ),
    )
    tenant: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        pattern=TENANT_PATTERN,
        description="Must be the creating key's tenant (the default).",
    )

    @field_validator("scopes")
    @classmethod
    def _known_scopes(cls, value: list[str]) -> list[str]:
        unknown = [s for s in value if s not in ALL_SCOPES and s not in ("*", "all")]
        if unknown:  # exactly the names the schema lists: no blanks, no spaces around
            known = ", ".join(ALL_SCOPES)
            raise ValueError(
                f"unknown scope(s) {', '.join(map(repr, unknown))}; known: {known} (or '*' for all)"
            )
        try:
            return list(parse_scopes(value))
        except KeyRequestError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("expires")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_EXAMPLE_KEY: dict[str, JsonValue] = {
    "id": "k3fz9qpa",
    "prefix": "tt_k3fz9qpa",
    "name": "zendesk connector",
    "tenant": "acme",
    "scopes": ["triage", "feedback"],
    "status": "active",
    "created": "2026-12-01T09:00:00+00:00",
    "expires": "2027-07-01T00:00:00+00:00",
    "revoked": None,
    "last_used": "2026-12-04T06:12:00+00:00",
}


class KeyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE_KEY]})

    id: str = Field(..., description="Public id; names the key in lists, logs and the audit trail.")
    prefix: str = Field(..., description="The visible start of the key, e.g. tt_ab12cd34.")
    name: str = Field(..., description="What the key is for.")
    tenant: str = Field(..., description="The tenant whose data the key reaches.")
    scopes: list[str] = Field(..., description="What the key may do (see the API description).")
    status: str = Field(..., description="active, revoked or expired.")
    created: datetime = Field(..., description="When the key was created.")
    expires: datetime | None = Field(..., description="When it stops working; null: never.")
    revoked: datetime | None = Field(..., description="When it was revoked; null: it was not.")
    last_used: datetime | None = Field(None, description="Last use, to the minute.")

    @classmethod
    def of(cls, key: ApiKey) -> KeyOut:
        return cls(
            id=key.id,
            prefix=key.prefix,
            name=key.name,
            tenant=key.tenant,
            scopes=list(key.scopes),
            status=key.status,
            created=key.created,
            expires=key.expires,
            revoked=key.revoked,
            last_used=key.last_used,
        )


class KeyCreatedOut(KeyOut):
    model_config = ConfigDict(
        json_schema_extra={"examples": [_EXAMPLE_KEY | {"secret": "tt_k3fz9qpa_" + "x" * 43}]}
    )

    secret: str = Field(
        ..., description="The API key itself. Shown this once: store it now; only a hash is kept."
    )


class KeyList(BaseModel):
    keys: list[KeyOut] = Field(..., description="The tenant's keys, oldest first.")


@router.post("/v1/keys", response_model=KeyCreatedOut, status_code=201, responses=CONFLICT)
def create_key(body: KeyCreateIn, caller: KeysAdmin, keys: KeyStoreDep, audit: AuditDep) -> KeyCreatedOut:
    """Create a key of the caller's tenant; the answer holds its secret, the only time it is shown."""
    body = bind_tenant(body, caller)
    # 409, not 422: the same body was valid a moment ago; no schema can state "later than now".
    if body.expires is not None and body.expires <= datetime.now(UTC):
        raise ProblemError(
            409,
            f"expires ({body.expires.isoformat()}) is already past; give a later time or leave it out",
            "expiry-past",
            title="Expiry already past",
        )
    beyond = [s for s in body.scopes if s not in caller.scopes]
    if beyond:
        raise ProblemError(
            403,
            f"a key cannot grant scopes it does not hold: {', '.join(beyond)}",
            "scope-escalation",
            title="Scopes beyond the caller's",
        )
    created = keys.create(caller.tenant, body.scopes, name=body.name, expires=body.expires)
    audit.record(caller.tenant, "key.create", f"key:{created.key.id}", after=key_summary(created.key))
    return KeyCreatedOut(**KeyOut.of(created.key).model_dump(), secret=created.secret)


@router.get("/v1/keys", response_model=KeyList)
def list_keys(caller: KeysAdmin, keys: KeyStoreDep) -> KeyList:
    """Every key of the caller's tenant (revoked and expired ones too), oldest first; never a secret."""
    return KeyList(keys=[KeyOut.of(k) for k in keys.list(caller.tenant)])


@router.get("/v1/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
def show_key(key_id: KeyId, caller: KeysAdmin, keys: KeyStoreDep) -> KeyOut:
    """One key of the caller's tenant."""
    return KeyOut.of(keys.get(key_id, caller.tenant))


@router.delete("/v1/keys/{key_id}", response_model=KeyOut, responses=NOT_FOUND)
def revoke_key(key_id: KeyId, caller: KeysAdmin, keys: KeyStoreDep, audit: AuditDep) -> KeyOut:
    """Revoke a key of the caller's tenant: from now on it answers 401. Kept in the list, as revoked."""
    before = keys.get(key_id, caller.tenant)  # 404 naming it when it is not the tenant's
    revoked = keys.revoke(key_id, caller.tenant)
    audit.record(caller.tenant, "key.revoke", f"key:{key_id}", key_summary(before), key_summary(revoked))
    return KeyOut.of(revoked)
