from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from embeddings import get_encoder
from knowledge import Document, DocumentStore, KnowledgeBase
from knowledge.duplicates import detect_spikes, find_duplicates

NOW = datetime(2024, 6, 10, 12, 0, 0)


def _kb(tmp_path: Path) -> KnowledgeBase:
    kb = KnowledgeBase(DocumentStore(tmp_path / "kb.db"), get_encoder("hashing:256"), tmp_path / "index")
    kb.load()
    return kb


def _flag(kb: KnowledgeBase, text: str, **kwargs: object) -> list[str]:
    vector = kb.encoder.encode([text])[0]
    return [h.document.doc_id for h in find_duplicates(kb, vector, "default", text=text, **kwargs)]  # type: ignore[arg-type]


def test_find_duplicates_flags_a_repeated_open_case_only(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    kb.add(
        [
            Document(
                doc_id="open", body="VPN connection fails with error 809 on the office laptop", status="Open"
            ),
            Document(
                doc_id="closed",
                body="VPN connection fails with error 809 on the office laptop",
                status="resolved",
            ),
            Document(doc_id="other", body="Invoice amount wrong in the billing portal", status="open"),
        ]
    )
    assert _flag(kb, "VPN connection fails with error 809 on my office laptop") == ["open"]
    assert _flag(kb, "The canteen menu is not updated") == []
    assert (
        _flag(kb, "VPN error", threshold=0.0) == ["open", "other"]
        or _flag(kb, "VPN error", threshold=0.0)[0] == "open"
    )
    assert _flag(kb, "VPN connection fails with error 809", threshold=1.01) == []


def _case(doc_id: str, body: str, when: datetime) -> Document:
    return Document(doc_id=doc_id, body=body, created_at=when.isoformat(), status="open")


@pytest.mark.parametrize("history_rate", [0, 1])
def test_detect_spikes_finds_a_burst_of_similar_cases(tmp_path: Path, history_rate: int) -> None:
    kb = _kb(tmp_path)
    burst = [
        _case(
            f"b{i}",
            f"mail server outage users cannot send email error 550 site {i % 2}",
            NOW - timedelta(hours=i + 1),
        )
        for i in range(8)
    ]
    noise = [
        _case(f"n{i}", text, NOW - timedelta(hours=3 * i + 2))
        for i, text in enumerate(
            ["printer jam floor 2", "salary slip missing", "new laptop request", "badge broken"]
        )
    ]
    past = [
        _case(
            f"p{day}",
            "mail server outage users cannot send email error 550",
            NOW - timedelta(days=day, hours=5),
        )
        for day in range(2, 9)
        for _ in range(history_rate)
    ]
    kb.add(burst + noise + past)
    spikes = detect_spikes(kb, "default", now=NOW, min_size=5)
    assert len(spikes) == 1
    spike = spikes[0]
    assert set(spike.case_ids) == {d.doc_id for d in burst}
    assert spike.size == 8 and spike.baseline == pytest.approx(
        history_rate * 6 / 7 if history_rate else 0, abs=0.3
    )
    assert {"mail", "outage"} <= set(spike.terms) or "550" in spike.terms
    assert spike.first_seen < spike.last_seen


def test_created_between_compares_instants_and_orders_by_them(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    shanghai = timezone(timedelta(hours=8))
    kb.add(
        [
            _case("late-utc", "a", datetime(2024, 6, 10, 3, 0, tzinfo=UTC)),
            _case("early-sh", "b", datetime(2024, 6, 10, 9, 30, tzinfo=shanghai)),  # 01:30 UTC
            _case("outside-sh", "c", datetime(2024, 6, 10, 13, 0, tzinfo=shanghai)),  # 05:00 UTC
            _case("naive", "d", datetime(2024, 6, 10, 2, 0)),  # no offset: UTC
            Document(doc_id="undated", body="e"),
        ]
    )
    rows = kb.store.created_between("default", "case", "2024-06-10T01:00:00+00:00", "2024-06-10T04:00:00Z")
    assert [doc_id for _, doc_id, _ in rows] == ["early-sh", "naive", "late-utc"]


def test_detect_spikes_ignores_an_issue_at_its_usual_rate(tmp_path: Path) -> None:
    kb = _kb(tmp_path)
    text = "mail server outage users cannot send email error 550"
    cases = [
        _case(f"d{day}-{i}", text, NOW - timedelta(days=day, hours=i + 1))
        for day in range(8)
        for i in range(6)
    ]
    kb.add(cases)
    assert detect_spikes(kb, "default", now=NOW, min_size=5) == []
    assert detect_spikes(kb, "default", now=NOW, min_size=5, min_ratio=0.5)[0].size == 6
