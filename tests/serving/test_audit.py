"""serving.audit: the per-request recorder and the summaries it writes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from starlette.requests import Request

from knowledge import Document
from knowledge.audit import AuditLog
from serving.audit import Auditor, document_summary


def test_auditor_names_the_key_the_request_authenticated_with(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "knowledge.db")
    request = Request({"type": "http", "headers": [], "state": {}})
    auditor = Auditor(log, request_id="req-1", client="10.0.0.7", request=request)
    # The key is known only once authentication ran, possibly after the recorder was built.
    request.state.caller = SimpleNamespace(key_id="key_3f2a", tenant="acme")
    rows = auditor.record_many("acme", [("case.delete", "case:1", None, {"exists": False})] * 2)
    assert [(r.key_id, r.request_id, r.client, r.seq) for r in rows] == [
        ("key_3f2a", "req-1", "10.0.0.7", 1),
        ("key_3f2a", "req-1", "10.0.0.7", 2),
    ]
    assert Auditor(log).record("acme", "model.retrain").key_id is None
    log.close()


def test_summaries_hold_labels_and_ids_never_text() -> None:
    doc = Document("C-1", title="secret title", body="secret body", department="IT", status="open")
    summary = document_summary(doc)
    assert "secret" not in str(summary) and summary["department"] == "IT"
    assert document_summary(None) == {"exists": False}
