"""Connectors without a server: signatures on the raw body, documented payloads, write-back calls."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from cryptography.fernet import Fernet

from serving.app import build_connectors
from serving.connectors import (
    CONNECTORS,
    ConnectorConfig,
    LabelMapping,
    SignatureError,
    WritePlan,
    get_connector,
)
from serving.connectors.base import PayloadError, WritePolicy
from serving.connectors.plan import plan_write
from serving.connectors.store import ConnectorError, ConnectorStore
from serving.connectors.worker import RetryPolicy, _Heartbeat, retry_after_seconds
from serving.settings import load_settings
from tests.serving.connectors import fixtures as fx
from triage.pipeline import TriageService
from triage.types import Alternative, HandlingTime, Prediction, SimilarCase, Summary, TriageResult

SECRET = "s3cret-signing-key"
NOW = datetime.now(UTC)


def _signed(system: str) -> tuple[dict[str, str], bytes]:
    if system == "zendesk":
        body = fx.raw(fx.zendesk_event("created", "5158", "cbe4028c-7239"))
        return fx.zendesk_headers(SECRET, body, NOW), body
    if system == "jira":
        body = fx.raw(fx.jira_event("jira:issue_created", "SD-42", 1764810727000))
        return fx.jira_headers(SECRET, body), body
    if system == "zammad":
        body = fx.raw(fx.zammad_event(17, "2026-12-04T01:12:07.000Z"))
        return fx.zammad_headers(SECRET, body), body
    if system == "glpi":
        body = fx.raw(fx.glpi_ticket("new", 211))
        return fx.glpi_headers(SECRET, body, NOW), body
    body = fx.raw(fx.generic_event("created", "T-1", "evt-1"))
    return fx.generic_headers(SECRET, body, NOW), body


TICKET_IDS = {"zendesk": "5158", "jira": "SD-42", "zammad": "17", "glpi": "211", "generic": "T-1"}


@pytest.mark.parametrize("system", sorted(CONNECTORS))
def test_signed_created_event_parses_to_the_ticket(system: str) -> None:
    headers, body = _signed(system)
    connector = get_connector(system)
    connector.verify(SECRET, headers, body, NOW)
    inbound = connector.parse(headers, body)
    assert inbound.kind == "ticket"
    assert inbound.ticket_id == TICKET_IDS[system]
    assert inbound.ticket is not None
    assert inbound.ticket.title == fx.VPN_TITLE and inbound.ticket.body == fx.VPN_BODY
    assert inbound.event_id


@pytest.mark.parametrize("system", sorted(CONNECTORS))
def test_wrong_secret_or_changed_body_is_refused(system: str) -> None:
    headers, body = _signed(system)
    connector = get_connector(system)
    with pytest.raises(SignatureError):
        connector.verify("another-secret", headers, body, NOW)
    with pytest.raises(SignatureError):
        connector.verify(SECRET, headers, body.replace(b"VPN", b"NPV", 1), NOW)


@pytest.mark.parametrize("system", sorted(CONNECTORS))
def test_missing_signature_header_is_refused_by_name(system: str) -> None:
    headers, body = _signed(system)
    stripped = {k: v for k, v in headers.items() if "signature" not in k.lower()}
    with pytest.raises(SignatureError, match=r"(?i)signature"):
        get_connector(system).verify(SECRET, stripped, body, NOW)


@pytest.mark.parametrize(
    ("system", "late"),
    [("zendesk", 301), ("generic", 301), ("glpi", 3601)],
    ids=["zendesk", "generic", "glpi"],
)
def test_stale_timestamp_is_refused(system: str, late: int) -> None:
    headers, body = _signed(system)
    connector = get_connector(system)
    connector.verify(SECRET, headers, body, NOW + timedelta(seconds=late - 10))
    with pytest.raises(SignatureError, match="stale"):
        connector.verify(SECRET, headers, body, NOW + timedelta(seconds=late + 5))


def test_unusable_payload_names_the_field() -> None:
    body = fx.raw({"type": "zen:event-type:ticket.created", "id": "e1"})
    with pytest.raises(PayloadError, match=r"detail\.id"):
        get_connector("zendesk").parse({}, body)
    with pytest.raises(PayloadError, match="not JSON"):
        get_connector("jira").parse({}, b"<xml/>")


def test_zendesk_outcomes() -> None:
    zendesk = get_connector("zendesk")
    moved = fx.zendesk_event(
        "group_assignment_changed", "5158", "e2", current={"id": "360002"}, previous={"id": "360001"}
    )
    outcome = zendesk.parse({}, fx.raw(moved)).outcome
    assert outcome is not None and (outcome.group, outcome.previous_group) == ("360002", "360001")
    solved = zendesk.parse(
        {}, fx.raw(fx.zendesk_event("status_changed", "5158", "e3", current="SOLVED"))
    ).outcome
    assert solved is not None and solved.solved and solved.group == "360001"
    other = zendesk.parse({}, fx.raw(fx.zendesk_event("comment_made_private", "5158", "e4")))
    assert other.kind == "ignored"


def test_jira_update_with_changelog_is_an_outcome() -> None:
    items = [
        {"field": "Component", "fieldId": "components", "from": "10000", "fromString": "IT", "to": "10001"},
        {"field": "priority", "fieldId": "priority", "from": "3", "to": "2", "toString": "High"},
    ]
    payload = fx.jira_event("jira:issue_updated", "SD-42", 1764810800000, items)
    inbound = get_connector("jira").parse({}, fx.raw(payload))
    assert inbound.kind == "outcome" and inbound.outcome is not None
    assert (inbound.outcome.group, inbound.outcome.previous_group, inbound.outcome.priority) == (
        "10001",
        "10000",
        "2",
    )
    text_only = fx.jira_event(
        "jira:issue_updated", "SD-42", 1764810900000, [{"field": "summary", "to": None}]
    )
    assert get_connector("jira").parse({}, fx.raw(text_only)).kind == "ticket"


def test_jira_description_in_document_format_is_read_as_text() -> None:
    payload = fx.jira_event("jira:issue_created", "SD-43", 1764810727000)
    payload["issue"]["fields"]["description"] = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": fx.VPN_BODY}]}],
    }
    ticket = get_connector("jira").parse({}, fx.raw(payload)).ticket
    assert ticket is not None and ticket.body == fx.VPN_BODY


def test_zammad_follow_up_and_close_are_outcomes() -> None:
    zammad = get_connector("zammad")
    closed = fx.zammad_event(17, "2026-12-04T03:00:00.000Z", article_count=3, state="closed", group_id=2)
    closed["article"]["body"] = "Reset the VPN profile."
    outcome = zammad.parse({}, fx.raw(closed)).outcome
    assert outcome is not None and outcome.solved and outcome.group == "2"
    assert outcome.resolution == "Reset the VPN profile."


def test_glpi_solution_carries_the_resolution_and_html_is_stripped() -> None:
    inbound = get_connector("glpi").parse({}, fx.raw(fx.glpi_solution(5, 211, "Reset the VPN profile.")))
    assert inbound.kind == "outcome" and inbound.ticket_id == "211"
    assert inbound.outcome is not None and inbound.outcome.resolution == "Reset the VPN profile."
    created = get_connector("glpi").parse({"X-GLPI-timestamp": "1"}, fx.raw(fx.glpi_ticket("new", 211)))
    assert created.ticket is not None and "<p>" not in created.ticket.body


def _config(system: str, **policy: object) -> ConnectorConfig:
    credentials = {
        "zendesk": {"email": "a@b.c", "api_token": "tok"},
        "jira": {"email": "a@b.c", "api_token": "tok"},
        "zammad": {"api_token": "tok"},
        "glpi": {"app_token": "app", "user_token": "usr"},
        "generic": {},
    }[system]
    return ConnectorConfig(
        name=f"t-{system}",
        tenant="default",
        system=system,  # type: ignore[arg-type]
        base_url="http://127.0.0.1:9",
        signing_secret=SECRET,
        credentials=credentials,
        mapping=LabelMapping(**fx.MAPPING),
        policy=WritePolicy(**policy),  # type: ignore[arg-type]
    )


PLAN = WritePlan(group="360001", priority="2", category="cat-network", tags=("triage",), note="Headline")


def test_write_calls_follow_each_vendors_api() -> None:
    calls = {s: get_connector(s).write_calls(_config(s), TICKET_IDS[s], PLAN) for s in CONNECTORS}
    assert [(c.method, c.path) for c in calls["zendesk"]] == [("PUT", "/api/v2/tickets/5158.json")]
    assert calls["zendesk"][0].json == {
        "ticket": {
            "group_id": 360001,
            "priority": "2",
            "additional_tags": ["triage", "cat-network"],
            "comment": {"body": "Headline", "public": False},
        }
    }
    assert [(c.method, c.path, c.expect) for c in calls["jira"]] == [
        ("PUT", "/rest/api/3/issue/SD-42", (204,)),
        ("POST", "/rest/servicedeskapi/request/SD-42/comment", (201,)),
    ]
    assert calls["jira"][1].json == {"body": "Headline", "public": False}
    assert [c.path for c in calls["zammad"]] == [
        "/api/v1/tickets/17",
        "/api/v1/tags/add",
        "/api/v1/tags/add",
        "/api/v1/ticket_articles",
    ]
    assert calls["zammad"][-1].json["internal"] is True
    assert calls["glpi"][0].json == {
        "input": {"_groups_id_assign": 360001, "priority": 2, "itilcategories_id": "cat-network"}
    }
    assert calls["glpi"][1].json["input"]["is_private"] == 1
    assert calls["generic"][0].json["tags"] == ["triage"]


def test_credentials_are_checked_per_system() -> None:
    bad = ConnectorConfig(
        name="x", tenant="default", system="zendesk", base_url="http://x", signing_secret="s"
    )
    with pytest.raises(ValueError, match="api_token"):
        get_connector("zendesk").auth_headers(bad)
    assert "tok" not in repr(_config("zendesk"))


def _prediction(value: str, confidence: float, abstained: bool = False) -> Prediction:
    return Prediction(value, confidence, (Alternative(value, confidence),), abstained)


def _result(department: Prediction, priority: Prediction) -> TriageResult:
    return TriageResult(
        ticket_id="t",
        language="zh",
        fields=(),
        completeness=None,
        summary=Summary("VPN 809", "VPN fails with 809."),
        department=department,
        category=_prediction("network", 0.9),
        priority=priority,
        handling_time=HandlingTime(2.0, 6.0, 8.0, 0.1),
        similar_cases=(SimilarCase("C-1", "VPN 809 again", "Reset the profile.", 0.8),),
        model_version="v1",
    )


def test_plan_writes_fields_only_when_confident_and_flags_the_rest() -> None:
    config = _config("zendesk", min_confidence=0.7, case_url="https://kb.example/cases/{id}")
    sure = plan_write(_result(_prediction("IT", 0.9), _prediction("P2", 0.8)), config)
    assert (sure.group, sure.priority, sure.category) == ("360001", "high", "cat-network")
    assert sure.tags == ("triage",)
    assert sure.note is not None and "https://kb.example/cases/C-1" in sure.note and "6.0 h" in sure.note
    unsure = plan_write(_result(_prediction("IT", 0.95, abstained=True), _prediction("P2", 0.5)), config)
    assert (unsure.group, unsure.priority) == (None, None)
    assert unsure.tags == ("triage", "triage-needs-human")


def test_store_encrypts_secrets_and_deduplicates_deliveries(database_target: str) -> None:
    db = database_target
    store = ConnectorStore(db, Fernet.generate_key())
    store.put(_config("zendesk"))
    with pytest.raises(ConnectorError, match="already exists"):
        store.put(_config("zendesk"))
    raw = store.db.execute("SELECT credentials, signing_secret FROM connectors").fetchone()
    assert b"tok" not in bytes(raw[0]) and SECRET.encode() not in bytes(raw[1])
    loaded = store.get("t-zendesk")
    assert loaded is not None and loaded.credentials["api_token"] == "tok"
    assert loaded.mapping.ours("priority", "HIGH") == "P2"
    first = store.enqueue(loaded, "5158", "e1", "ticket", {}, b"{}")
    again = store.enqueue(loaded, "5158", "e1", "ticket", {}, b"{}")
    assert first[1] and not again[1] and first[0] == again[0]
    store.close()
    with pytest.raises(ConnectorError, match="do not decrypt"):
        ConnectorStore(db, Fernet.generate_key()).get("t-zendesk")


def test_running_deliveries_are_pending_again_after_a_crash(database_target: str) -> None:
    store = ConnectorStore(database_target, Fernet.generate_key())
    store.put(_config("generic"))
    config = store.get("t-generic")
    assert config is not None
    store.enqueue(config, "T-1", "e1", "ticket", {}, b"{}")
    claimed = store.claim(datetime.now(UTC).timestamp() + 1)
    assert claimed is not None and claimed.state == "running"
    assert store.claim(datetime.now(UTC).timestamp() + 1) is None
    assert store.requeue_running() == 1
    assert store.claim(datetime.now(UTC).timestamp() + 1) is not None


def test_a_worker_starting_beside_others_leaves_their_running_deliveries_alone(
    database_target: str, tmp_path: Path
) -> None:
    """`serve --workers N` on SQLite: a worker that starts (or is restarted by the supervisor) while
    another is mid-delivery must not hand that delivery out again."""
    settings = load_settings(data_dir=tmp_path, database=database_target, workers=2)
    store, worker = build_connectors(settings, cast(TriageService, None))
    store.put(_config("generic"))
    config = store.get("t-generic")
    assert config is not None
    store.enqueue(config, "T-1", "e1", "ticket", {}, b"{}")
    running = store.claim(datetime.now(UTC).timestamp() + 1)  # another worker's, lease fresh
    assert running is not None and not worker.sole
    assert worker.take_back_interrupted() == 0  # what start() does first
    assert store.claim(datetime.now(UTC).timestamp() + 1) is None, "taken from its worker"
    # Served by one process on SQLite, a delivery still running at start was cut short by its stop.
    alone = build_connectors(
        load_settings(data_dir=tmp_path, database=database_target), cast(TriageService, None)
    )
    assert alone[1].sole == (store.db.dialect == "sqlite")
    assert alone[1].take_back_interrupted() == (1 if alone[1].sole else 0)
    store.close()
    alone[0].close()


def test_a_dead_replicas_running_delivery_is_taken_back_when_its_lease_runs_out(database_target: str) -> None:
    store = ConnectorStore(database_target, Fernet.generate_key())
    store.put(_config("generic"))
    config = store.get("t-generic")
    assert config is not None
    store.enqueue(config, "T-1", "e1", "ticket", {}, b"{}")
    store.enqueue(config, "T-2", "e2", "ticket", {}, b"{}")
    now = datetime.now(UTC).timestamp()
    dead = store.claim(now + 1)  # claimed by a replica that then died
    alive = store.claim(now + 1)  # claimed by one that keeps renewing its lease
    assert dead is not None and alive is not None
    assert store.requeue_running(stale_after=60.0, now=now + 30) == 0, "both leases still run"
    assert store.renew(alive.id, now=now + 50)
    assert store.requeue_running(stale_after=60.0, now=now + 61) == 1, "only the unrenewed one"
    again = store.claim(now + 62)
    assert again is not None and again.id == dead.id and store.claim(now + 62) is None
    store.finish(alive.id, 1)
    assert not store.renew(alive.id), "a finished delivery has no lease to renew"
    store.close()


def test_the_worker_renews_its_lease_while_a_delivery_runs(database_target: str) -> None:
    store = ConnectorStore(database_target, Fernet.generate_key())
    store.put(_config("generic"))
    config = store.get("t-generic")
    assert config is not None
    store.enqueue(config, "T-1", "e1", "ticket", {}, b"{}")
    claimed = store.claim(datetime.now(UTC).timestamp() + 1)
    assert claimed is not None
    with _Heartbeat(store, claimed.id, every=0.1):
        time.sleep(0.6)  # a slow vendor call, longer than the lease below
        assert store.requeue_running(stale_after=0.4) == 0, "the heartbeat kept the lease"
    time.sleep(0.6)
    assert store.requeue_running(stale_after=0.4) == 1, "no heartbeat, the lease ran out"
    store.close()


def test_backoff_honours_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=60.0)
    assert [policy.delay(n, None) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert policy.delay(1, 30.0) == 30.0
    assert policy.delay(10, None) == 60.0
    assert retry_after_seconds("7", 0.0) == 7.0
    assert (
        retry_after_seconds("Fri, 04 Dec 2026 06:00:10 GMT", datetime(2026, 12, 4, 6, tzinfo=UTC).timestamp())
        == 10.0
    )
    assert retry_after_seconds("soon", 0.0) is None


def test_store_remembers_each_tickets_last_group(database_target: str) -> None:
    store = ConnectorStore(database_target, Fernet.generate_key())
    assert store.last_group("c", "1") is None
    store.set_group("c", "1", "360001")
    store.set_group("c", "1", "360002")
    assert store.last_group("c", "1") == "360002" and store.last_group("c", "2") is None
