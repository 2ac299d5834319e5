"""The delivery worker: triage each accepted event and write the result back through the vendor's API.

One background thread per app. It takes due deliveries from the database oldest first; a vendor
answer of 429 or 5xx, a time-out or a dropped connection schedules another try after
``max(Retry-After, base * 2**(tries-1))`` (capped); after ``max_attempts`` tries, or at once on any
other 4xx (bad credentials, unknown ticket: retrying cannot help), the delivery is dead until
``POST /v1/deliveries/{id}:retry``. Steps already written (a Zammad tag, a GLPI followup) are
counted in the row, so a retry or a restart never writes them twice. A running delivery is held by
a lease (``lease`` seconds, renewed by a heartbeat while it runs): deliveries left ``running`` by
a crash are pending again at start (one process on SQLite: all of them) and, while replicas share
one PostgreSQL, as soon as their lease runs out, on whichever replica looks first: an accepted
event is never lost.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from knowledge.ledger import Feedback
from knowledge.store import Document
from serving.connectors import get_connector
from serving.connectors.base import Connector, ConnectorConfig, HttpCall, Inbound, WritePlan
from serving.connectors.plan import plan_write
from serving.connectors.store import ConnectorStore, Delivery
from triage.pipeline import TriageService
from triage.types import Ticket, TriageResult

logger = logging.getLogger(__name__)


class RetryableError(Exception):
    """The vendor could not take the call now (429, 5xx, time-out); try again later."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(Exception):
    """The vendor refused the call for good (4xx other than 429); retrying cannot help."""


# A delivery 'running' this long without an update (seconds) was left by a replica that died; the
# worker running one renews it every third of that (a vendor call takes at most its time-out).
LEASE_SECONDS = 60.0


class _Heartbeat:
    """Renews the lease on one running delivery every ``every`` seconds until the block ends."""

    def __init__(self, store: ConnectorStore, delivery_id: int, every: float) -> None:
        self._store = store
        self._id = delivery_id
        self._every = every
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"lease-{delivery_id}", daemon=True)

    def _beat(self) -> None:
        while not self._done.wait(self._every):
            try:
                if not self._store.renew(self._id):
                    return
            except Exception:  # the database is away a moment: the next beat tries again
                logger.warning("could not renew the lease on delivery %d", self._id, exc_info=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._done.set()
        self._thread.join(timeout=5)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 2.0
    max_delay: float = 600.0
    timeout: float = 10.0

    def delay(self, attempts: int, retry_after: float | None) -> float:
        backoff = min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))
        return max(backoff, min(retry_after or 0.0, self.max_delay))


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


def result_labels(result: TriageResult) -> dict[str, Any]:
    """What we predicted, kept with the delivery to judge the agents' final answer against."""
    labels: dict[str, Any] = {"model_version": result.model_version}
    for head in ("department", "category", "priority"):
        prediction = getattr(result, head)
        if prediction is not None:
            labels[head] = {
                "value": prediction.value,
                "confidence": round(prediction.confidence, 4),
                "abstained": prediction.abstained,
            }
    return labels


class VendorClient:
    """Runs a connector's calls against its base URL and classifies the answers."""

    def __init__(self, http: httpx.Client, connector: Connector, config: ConnectorConfig) -> None:
        self.http, self.connector, self.config = http, connector, config
        self.extra: dict[str, str] = {}

    def call(self, call: HttpCall, headers: Mapping[str, str] | None = None) -> Any:
        raw = b"" if call.json is None else json.dumps(call.json, ensure_ascii=False).encode()
        sent = {"Accept": "application/json", **self.connector.auth_headers(self.config), **self.extra}
        if call.json is not None:
            sent["Content-Type"] = "application/json"
            sent.update(self.connector.request_headers(self.config, raw))
        sent.update(headers or {})
        url = self.config.base_url.rstrip("/") + call.path
        what = f"{call.method} {call.path or '/'} ({call.label or 'call'})"
        try:
            response = self.http.request(call.method, url, content=raw or None, headers=sent)
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{what}: timed out") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{what}: {type(exc).__name__}") from exc
        status = response.status_code
        if status == 429 or status >= 500:
            wait = retry_after_seconds(response.headers.get("Retry-After"), time.time())
            raise RetryableError(f"{what}: HTTP {status}", retry_after=wait)
        if status not in call.expect:
            raise PermanentError(f"{what}: HTTP {status}, expected {call.expect}: {response.text[:200]}")
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def run(self, calls: list[HttpCall], start: int, on_step: Callable[[int], None]) -> None:
        """Calls ``calls[start:]`` in order (inside a login session where the system has one)."""
        login = self.connector.open_session(self.config)
        if login is not None:
            answer = self.call(login, self.connector.session_login_headers(self.config))
            self.extra = self.connector.session_headers(answer)
        try:
            for index in range(start, len(calls)):
                self.call(calls[index])
                on_step(index + 1)
        finally:
            logout = self.connector.close_session()
            if login is not None and logout is not None:
                try:
                    self.call(logout)
                except (RetryableError, PermanentError) as exc:
                    logger.warning("connector %s: could not close the session: %s", self.config.name, exc)
            self.extra = {}


class DeliveryWorker:
    """Background thread that works the delivery queue."""

    def __init__(
        self,
        store: ConnectorStore,
        service: TriageService,
        policy: RetryPolicy | None = None,
        on_result: Callable[[str, str], None] | None = None,
        lease: float = LEASE_SECONDS,
        sole: bool | None = None,
    ) -> None:
        """``sole``: this is the only process working this database's queue (default: on SQLite),
        so at start every delivery still marked running was cut short by its own last stop and is
        taken back at once; otherwise (PostgreSQL replicas, ``serve --workers N``) other processes
        may be mid-delivery and only deliveries whose lease ran out are taken back."""
        self.store = store
        self.lease = lease
        self.sole = store.db.dialect == "sqlite" if sole is None else sole
        self._next_reap = 0.0
        self.service = service
        self.policy = policy or RetryPolicy()
        self.on_result = on_result  # (connector, state) after each attempt, for metrics
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self.take_back_interrupted()
        self._next_reap = time.monotonic() + self.lease / 2
        self._http = httpx.Client(timeout=self.policy.timeout, follow_redirects=False, trust_env=False)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="delivery-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def wake(self) -> None:
        """A delivery was queued: look now instead of at the next poll."""
        self._wake.set()

    def take_back_interrupted(self) -> int:
        """At start: deliveries left running by a stop are pending again (how many)."""
        # Other processes' workers (replicas, or the other workers of `serve --workers`) may be
        # mid-delivery: take back only the stale ones, unless this process is the queue's only worker.
        requeued = self.store.requeue_running(stale_after=None if self.sole else self.lease)
        if requeued:
            logger.info("%d deliveries interrupted by a stop are pending again", requeued)
        return requeued

    def reap(self) -> int:
        """Deliveries whose lease ran out (their replica died while running them) are pending again."""
        requeued = self.store.requeue_running(stale_after=self.lease)
        if requeued:
            logger.warning(
                "%d deliveries whose worker stopped renewing its lease are pending again", requeued
            )
        return requeued

    def _loop(self) -> None:
        while not self._stop.is_set():
            if time.monotonic() >= self._next_reap:
                self._next_reap = time.monotonic() + self.lease / 2
                try:
                    self.reap()
                except Exception:
                    logger.exception("could not take back deliveries of a stopped replica")
            if not self.service.ready:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                delivery = self.store.claim(time.time())
            except Exception:
                logger.exception("could not read the delivery queue")
                delivery = None
            if delivery is not None:
                self.process(delivery)
                continue
            due = self.store.next_due()
            wait = 1.0 if due is None else min(1.0, max(0.0, due - time.time()))
            self._wake.wait(wait)
            self._wake.clear()

    def process(self, delivery: Delivery) -> None:
        """One attempt at one delivery (its lease renewed meanwhile); its row records the outcome."""
        with _Heartbeat(self.store, delivery.id, self.lease / 3):
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        attempts = delivery.attempts + 1
        state = "done"
        try:
            config = self.store.get(delivery.connector)
            if config is None:
                raise PermanentError(f"connector {delivery.connector!r} was removed; add it again and retry")
            connector = get_connector(config.system)
            inbound = connector.parse(delivery.headers, delivery.body)
            assert self._http is not None, "start() the worker first"
            client = VendorClient(self._http, connector, config)
            if inbound.kind == "ticket":
                self._write_back(delivery, config, connector, inbound, client)
            else:
                self._close_loop(delivery, config, connector, inbound, client)
            self.store.finish(delivery.id, attempts)
        except RetryableError as exc:
            if attempts >= self.policy.max_attempts:
                state = "dead"
                self.store.fail(delivery.id, attempts, f"{exc} (gave up after {attempts} tries)", None)
            else:
                state = "pending"
                delay = self.policy.delay(attempts, exc.retry_after)
                self.store.fail(delivery.id, attempts, str(exc), time.time() + delay)
            logger.warning("delivery %d (%s) attempt %d: %s", delivery.id, delivery.connector, attempts, exc)
        except Exception as exc:  # a bad answer or a bug must not stop the queue: dead, retryable by hand
            state = "dead"
            message = (
                str(exc) if isinstance(exc, PermanentError | ValueError) else f"{type(exc).__name__}: {exc}"
            )
            if not isinstance(exc, PermanentError | ValueError):
                logger.exception("delivery %d (%s) failed", delivery.id, delivery.connector)
            else:
                logger.warning("delivery %d (%s) failed: %s", delivery.id, delivery.connector, message)
            self.store.fail(delivery.id, attempts, message, None)
        if self.on_result is not None:
            self.on_result(delivery.connector, state)

    def _write_back(
        self,
        delivery: Delivery,
        config: ConnectorConfig,
        connector: Connector,
        inbound: Inbound,
        client: VendorClient,
    ) -> None:
        plan = (
            None
            if delivery.plan is None
            else WritePlan(**{**delivery.plan, "tags": tuple(delivery.plan["tags"])})
        )
        if plan is None:
            assert inbound.ticket is not None
            data = inbound.ticket
            result = self.service.triage(
                Ticket(
                    title=data.title,
                    body=data.body,
                    id=f"{config.name}:{inbound.ticket_id}",
                    language=data.language,
                    channel=config.system,
                    created_at=data.created_at,
                    tenant=config.tenant,
                )
            )
            plan = plan_write(result, config)
            if self.store.has_outcome(config.name, inbound.ticket_id):
                # A re-triage after the agents decided (moved, re-prioritised): note and tags only,
                # never overwriting their decision.
                plan = replace(plan, group=None, priority=None, category=None)
            self.store.save_plan(delivery.id, asdict(plan), result_labels(result))
        calls = connector.write_calls(config, inbound.ticket_id, plan)
        client.run(calls, delivery.steps_done, lambda done: self.store.step_done(delivery.id, done))
        if plan.group is not None:
            self.store.set_group(config.name, inbound.ticket_id, plan.group)

    def _close_loop(
        self,
        delivery: Delivery,
        config: ConnectorConfig,
        connector: Connector,
        inbound: Inbound,
        client: VendorClient,
    ) -> None:
        """The agents' final answer: feedback on our prediction, reassignments, the solved case into the KB."""
        outcome = inbound.outcome
        assert outcome is not None
        mapping = config.mapping
        final = {
            "department": mapping.ours("department", outcome.group),
            "priority": mapping.ours("priority", outcome.priority),
            "category": mapping.ours("category", outcome.category),
        }
        prior = self.store.ticket_delivery(config.name, inbound.ticket_id)
        ticket_key = f"{config.name}:{inbound.ticket_id}"
        seen = connector.parse(prior.headers, prior.body).ticket if prior is not None else None
        text = f"{seen.title}\n{seen.body}" if seen is not None else None
        ledger = self.service.ledger
        at = outcome.at or datetime.now(UTC)
        if ledger is not None and delivery.steps_done < 1:
            predicted = prior.result if prior is not None and prior.result else {}
            for head, correct in final.items():
                guess = predicted.get(head)
                if correct is None or not isinstance(guess, Mapping):
                    continue
                self.service.add_feedback(  # the service redacts the text with redact_pii on
                    Feedback(
                        tenant=config.tenant,
                        ticket_id=ticket_key,
                        kind="label",
                        head=head,
                        predicted=str(guess["value"]),
                        correct=correct,
                        accepted=correct == guess["value"],
                        text=text,
                        agent=f"connector:{config.name}",
                    )
                )
            # Zammad and GLPI send the group as it is now, not the one before: the last one seen is.
            before = outcome.previous_group or self.store.last_group(config.name, inbound.ticket_id)
            source = mapping.ours("department", before)
            if source and final["department"] and source != final["department"]:
                ledger.add_reassignment(
                    config.tenant, ticket_key, source, final["department"], at, source=config.system
                )
            if outcome.group is not None:
                self.store.set_group(config.name, inbound.ticket_id, outcome.group)
            self.store.step_done(delivery.id, 1)
        if outcome.solved and ledger is not None:
            # The real handling time, for the dashboard's predicted-vs-real panel (a ticket closes once).
            ledger.close_ticket(config.tenant, ticket_key, at if at.tzinfo else at.replace(tzinfo=UTC))
        if not outcome.solved or seen is None:
            return
        resolution = outcome.resolution
        if not resolution:
            fetch = connector.resolution_call(inbound.ticket_id)
            if fetch is not None:
                resolution = connector.resolution_from(client.call(fetch))
        if not resolution:
            logger.info(
                "connector %s: ticket solved without a resolution text; not added to the cases", config.name
            )
            return
        self.service.add_documents(
            [
                Document(
                    doc_id=ticket_key,
                    kind="case",
                    tenant=config.tenant,
                    title=seen.title,
                    body=seen.body,
                    resolution=resolution,
                    department=final["department"],
                    category=final["category"],
                    priority=final["priority"],
                    status="resolved",
                    created_at=seen.created_at.isoformat() if seen.created_at else None,
                    resolved_at=at.isoformat(),
                    metadata={"source": config.system, "connector": config.name},
                )
            ]
        )
