"""Adversarial inputs for the HTTP API: long runs of each character class and of each bundled pattern's
worst case, placed in every text field of a ticket (title, body, requester, metadata values) and in
batches. Used by the CI test (tests/serving/test_adversarial.py) and by ``make soak``.

Each input is timed against a benign ticket of the same length on the same route, so a shared or
slow machine does not fail the check while any super-linear blow-up (seconds against a fraction of a
second) still does.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

# The schema's limits (serving/schemas.py): a longer value is refused with a 422 before any work.
BODY_CHARS = 20_000
TITLE_CHARS = 1_000
REQUESTER_CHARS = 200

# Runs of one character class, and of the strings the bundled patterns loop on: digits before
# "users" (the many-users rule), greetings and sign-offs, mail-thread headers ("on ... wrote"),
# log lines and stack frames, sentence ends, markup, URLs, e-mail and version-like fields.
UNITS: tuple[str, ...] = (
    "1",
    "a",
    "A",
    " ",
    "\n",
    "中",
    "中 ",
    ".",
    "-",
    "@",
    "*",
    "1 ",
    "a.",
    "1.",
    "x@",
    "hi ",
    "on ",
    "please ",
    "Caused by: ",
    "at a.b(",
    "{code:",
    "http://",
    "请",
    "，",
)
ROUTES: tuple[str, ...] = ("/v1/triage", "/v1/classify", "/v1/extract", "/v1/summarize", "/v1/similar")
BENIGN_EN = "The VPN client fails with error 809 after the update; ten colleagues cannot reach the wiki. "
BENIGN_ZH = "更新后VPN客户端报错809，十位同事无法访问内网，请尽快处理。"


def run_of(unit: str, chars: int) -> str:
    """``unit`` repeated to exactly ``chars`` characters."""
    return (unit * (chars // len(unit) + 1))[:chars]


@dataclass(frozen=True)
class Probe:
    route: str
    field: str  # title | body | requester | metadata | batch
    unit: str
    payload: dict[str, Any]


def benign(field: str) -> str:
    """The same-size benign text the probes of ``field`` are compared with."""
    chars = {"title": TITLE_CHARS, "requester": REQUESTER_CHARS}.get(field, BODY_CHARS)
    return run_of(BENIGN_ZH + BENIGN_EN, chars)


def _ticket(field: str, text: str) -> dict[str, Any]:
    ticket: dict[str, Any] = {"title": "VPN", "body": "VPN error 809"}
    if field == "title":
        ticket["title"] = text[:TITLE_CHARS]
    elif field == "body" or field == "batch":
        ticket["body"] = text
    elif field == "requester":
        ticket["requester"] = text[:REQUESTER_CHARS]
    elif field == "metadata":
        ticket["metadata"] = {"note": text, "site": text[:TITLE_CHARS]}
    return ticket


def probes(units: tuple[str, ...] = UNITS, batch_size: int = 4) -> Iterator[Probe]:
    """Every unit in the body on every route; in the other fields and in a batch through triage."""
    for unit in units:
        text = run_of(unit, BODY_CHARS)
        for route in ROUTES:
            yield Probe(route, "body", unit, _ticket("body", text))
        for field in ("title", "requester", "metadata"):
            yield Probe("/v1/triage", field, unit, _ticket(field, text))
    tickets = [_ticket("batch", run_of(unit, BODY_CHARS)) for unit in ("1", "中", "hi ", ".")][:batch_size]
    yield Probe("/v1/triage:batch", "batch", "mixed", {"tickets": tickets})


def baseline(route: str, field: str, batch_size: int = 4) -> dict[str, Any]:
    """The benign payload a probe of ``route`` and ``field`` is timed against."""
    if field == "batch":
        return {"tickets": [_ticket("body", benign("body")) for _ in range(batch_size)]}
    return _ticket(field, benign(field))


def timed_post(client: httpx.Client, route: str, payload: dict[str, Any]) -> tuple[float, int]:
    """Seconds and status of one POST."""
    started = time.perf_counter()
    status = client.post(route, json=payload).status_code
    return time.perf_counter() - started, status


def bound(baseline_seconds: float, floor: float = 0.5, ratio: float = 3.0) -> float:
    """The time a probe may take: 0.5 s, or ``ratio`` times its benign baseline on a slower machine."""
    return max(floor, ratio * baseline_seconds)
