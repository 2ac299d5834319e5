"""With redact_pii on, personal data sent through every writing route is stored nowhere and logged nowhere.

A real server process (uvicorn, bundled models, SQLite, FAISS/BM25 snapshots) receives tickets, cases,
articles and feedback carrying e-mails, phones, Chinese ID numbers, bank cards and names; after it
shuts down (flushing its index snapshots), every file under its data dir (database with -wal/-shm,
snapshots, model registry) and its log are searched for each raw value and for its pieces as a
tokenizer would keep them (lowercased words and number runs of six or more characters, two-character
pieces of a Chinese name), in UTF-8, UTF-16 and UTF-32 (numpy keeps BM25 terms as UTF-32), inside
joblib files too (they are compressed). A piece already present in the copied models before the
run (a common first name, say) cannot be checked and is left out; every value keeps at least one.
"""

from __future__ import annotations

import os
import pickle
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import joblib
import pytest

from eval.processes import stop_process
from serving.keys import ALL_SCOPES, KeyStore
from tests import backend
from tests.backend import database_dump_file, server_env
from training.demo import DemoPaths

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# The values that must never be written; each one is found by the redactor in the texts below.
EMAIL = "wangfangqzv@xkcdmail.cn"
PHONE = "13912345678"
ID_NUMBER = "440306198503151234"  # valid check digit
BANK_CARD = "6228480012345671"  # passes Luhn
CARD_SPACED = "4367 4200 1234 5673"  # passes Luhn
NAME_EN = "Margaret Quillfeather"
NAME_ZH = "欧阳娜娜"
AGENT = "Quentin Zabriskie"
RAW = [EMAIL, PHONE, ID_NUMBER, BANK_CARD, CARD_SPACED, NAME_EN, NAME_ZH, AGENT]

BODY_ZH = f"联系人：{NAME_ZH}，电话{PHONE}，身份证号{ID_NUMBER}，报销打到银行卡{BANK_CARD}，VPN 报错 809。"
BODY_EN = f"Contact {NAME_EN} at {EMAIL}; card {CARD_SPACED} was charged twice for the VPN licence."


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def _server(data_dir: Path, log_path: Path, redact: bool) -> Iterator[str]:
    """A real server process (debug logging) over ``data_dir``; stopped on exit."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update({"TRIAGE_REDACT_PII": str(redact).lower(), "TRIAGE_LOG_LEVEL": "DEBUG", "NO_PROXY": "*"})
    env.update(server_env(data_dir / "knowledge.db"))
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.cli", "serve", "--data-dir", str(data_dir), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited with {process.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server not ready within 180 s")
            time.sleep(0.5)
        yield base
    finally:
        stop_process(process)  # a graceful stop: the lifespan flushes the index snapshots
        log.close()


def _pieces(value: str) -> set[str]:
    """The value and what a tokenizer might keep of it."""
    pieces = {value, value.lower(), re.sub(r"[\s-]", "", value)}
    pieces |= {m.lower() for m in re.findall(r"[A-Za-z0-9]{6,}", value)}
    for run in re.findall(r"[\u4e00-\u9fff]{2,}", value):
        pieces |= {run[i : i + 2] for i in range(len(run) - 1)}
    return pieces


def _content(path: Path) -> bytes:
    """A file's bytes; a joblib file (zlib-compressed) as its objects pickled without compression."""
    if path.suffix == ".joblib":
        return bytes(pickle.dumps(joblib.load(path)))
    return path.read_bytes()


def _found(paths: list[Path], pieces: set[str]) -> set[tuple[str, str]]:
    """(piece, file name) for each piece found in a file, in any of the encodings it could be kept in."""
    hits = set()
    for path in paths:
        content = _content(path)
        for piece in pieces:
            if any(piece.encode(codec) in content for codec in ("utf-8", "utf-16-le", "utf-32-le")):
                hits.add((piece, str(path)))
    return hits


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _send_everything(base: str, headers: dict[str, str], redact: bool) -> None:
    """Every route that writes (and the read-only ones that see ticket text), each carrying PII."""
    ticket_zh = {"id": "PII-T1", "tenant": "pii", "title": "VPN 连不上", "body": BODY_ZH, "requester": EMAIL}
    ticket_en = {"id": "PII-T2", "tenant": "pii", "title": "Double charge", "body": BODY_EN}
    case = {
        "id": "PII-C1",
        "tenant": "pii",
        "title": f"VPN for {NAME_EN}",
        "body": BODY_ZH,
        "resolution": f"Called {PHONE}, reset the VPN profile; told {NAME_EN} by mail ({EMAIL}).",
        "department": "IT",
        "status": "open",
        "metadata": {"card": int(BANK_CARD), "reporter": f"Contact {NAME_EN}", "nested": {"id": ID_NUMBER}},
    }
    article = {
        "id": "PII-A1",
        "tenant": "pii",
        "title": "Refunds",
        "body": f"For refunds ask 联系人：{NAME_ZH} ({EMAIL}, {PHONE}).",
        "metadata": {"owner": EMAIL},
    }
    with httpx.Client(base_url=base, timeout=60, headers=headers) as http:
        calls = [
            ("POST", "/v1/triage", ticket_zh),
            ("POST", "/v1/triage", ticket_en),
            ("POST", "/v1/triage:batch", {"tickets": [ticket_zh, ticket_en]}),
            ("POST", "/v1/classify", ticket_en),
            ("POST", "/v1/extract", ticket_zh),
            ("POST", "/v1/summarize", ticket_en),
            ("POST", "/v1/cases", {"cases": [case]}),
            ("POST", "/v1/articles", {"articles": [article]}),
            ("POST", "/v1/similar", {"tenant": "pii", "title": "VPN", "body": BODY_EN}),
            ("POST", "/v1/duplicates", {"tenant": "pii", "title": "VPN", "body": BODY_ZH}),
            (
                "POST",
                "/v1/feedback",
                {
                    "tenant": "pii",
                    "ticket_id": "PII-T1",
                    "head": "department",
                    "predicted": "Finance",
                    "correct": "IT",
                    "text": BODY_ZH,
                    "agent": AGENT,
                },
            ),
            (
                "POST",
                "/v1/feedback",
                {
                    "tenant": "pii",
                    "ticket_id": "PII-T2",
                    "case_id": "PII-C1",
                    "helpful": True,
                    "agent": EMAIL,
                },
            ),
        ]
        for method, path, body in calls:
            response = http.request(method, path, json=body)
            assert response.status_code < 300, (path, response.status_code, response.text[:300])
        replaced = {k: v for k, v in case.items() if k not in ("id", "tenant")} | {"body": BODY_EN}
        response = http.put("/v1/cases/PII-C1", params={"tenant": "pii"}, json=replaced)
        assert response.status_code == 200, response.text[:300]
        article_replaced = {k: v for k, v in article.items() if k not in ("id", "tenant")} | {"body": BODY_EN}
        response = http.put("/v1/articles/PII-A1", params={"tenant": "pii"}, json=article_replaced)
        assert response.status_code == 200, response.text[:300]

        stored = http.get("/v1/cases/PII-C1", params={"tenant": "pii"}).json()
        if not redact:
            return
        # The writes happened, redacted: what comes back holds the placeholders.
        assert "[EMAIL]" in stored["body"] and "[BANK_CARD]" in stored["body"] and "[NAME]" in stored["body"]
        assert stored["metadata"] == {
            "card": "[BANK_CARD]",
            "reporter": "Contact [NAME]",
            "nested": {"id": "[ID_NUMBER]"},
        }
        # ... and the extractor does see every raw value (so searching for them below can fail).
        found = set()
        for ticket in (ticket_zh, ticket_en):
            found |= {f["text"] for f in http.post("/v1/extract", json=ticket).json()["fields"]}
        # (the ID and the card in BODY_ZH are found by triage.pii alone: resident_ids, bank_cards)
        assert {EMAIL, PHONE, CARD_SPACED, NAME_EN, NAME_ZH} <= found


def _run_and_scan(demo_dir: Path, tmp_path: Path, redact: bool) -> set[tuple[str, str]]:
    """Send everything to a fresh server, stop it, and return (piece, file) for every piece found."""
    data_dir = tmp_path / "data"
    shutil.copytree(DemoPaths(demo_dir).models, data_dir / "models")  # the demo's models, no cases
    wanted = {value: _pieces(value) for value in RAW}
    already = {piece for piece, _ in _found(_files(data_dir), set().union(*wanted.values()))}
    checked = {value: pieces - already for value, pieces in wanted.items()}
    assert all(checked.values()), f"nothing left to check for {[v for v, p in checked.items() if not p]}"
    pieces = set().union(*checked.values())

    keys = KeyStore(data_dir / "knowledge.db")
    headers = {"Authorization": f"Bearer {keys.create('pii', ALL_SCOPES, name='pii test').secret}"}
    keys.close()
    log_path = tmp_path / "server.log"
    with _server(data_dir, log_path, redact) as base:
        _send_everything(base, headers, redact)
        with httpx.Client(
            base_url=base, timeout=60, headers=headers
        ) as http:  # waits for the background prediction log
            assert http.get("/v1/models:compare", params={"tenant": "pii"}).status_code == 200
        running = _files(data_dir)
        if backend.ROUTER is None:
            assert {"knowledge.db", "knowledge.db-wal", "knowledge.db-shm"} <= {p.name for p in running}
        # On PostgreSQL the database's whole content, dumped, is scanned with the files.
        running += database_dump_file(data_dir / "knowledge.db", tmp_path / "running.sql")
        leaks = _found(running, pieces)  # the database and its -wal/-shm while the server runs
    stopped = _files(data_dir) + database_dump_file(data_dir / "knowledge.db", tmp_path / "stopped.sql")
    assert any(p.suffix == ".bin" for p in stopped), f"no index snapshot: {sorted(p.name for p in stopped)}"
    assert log_path.stat().st_size > 0
    return leaks | _found(stopped, pieces) | _found([log_path], pieces)


def test_redact_pii_keeps_personal_data_out_of_every_file_and_log(demo_dir: Path, tmp_path: Path) -> None:
    leaks = _run_and_scan(demo_dir, tmp_path, redact=True)
    assert not leaks, sorted(leaks)


def test_without_redaction_the_same_scan_finds_the_values(demo_dir: Path, tmp_path: Path) -> None:
    """The control: the scan above can fail, in the database and in the BM25 snapshot's UTF-32 terms."""
    leaks = _run_and_scan(demo_dir, tmp_path, redact=False)
    where = {Path(path).name for _, path in leaks}
    assert "knowledge.db" in where or "knowledge.db-wal" in where or "stopped.sql" in where
    assert any(name.endswith(".bin") for name in where), sorted(where)
    assert {EMAIL.split("@")[0], "quillfeather"} <= {piece for piece, _ in leaks}
