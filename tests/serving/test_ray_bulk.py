"""`triage backfill` and `triage triage-file` on a real local Ray instance (2 CPUs, one per module).

Real parts: Ray Data and its actors, SQLite, FAISS/BM25 snapshots, the field extractor, and for
batch triage the demo's bundled models. Backfill embeds with the model-free hashing encoder so the
module stays quick; the embedding path is the server's own (TriageService.prepare_documents).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from serving.settings import Settings, load_settings

ray = pytest.importorskip("ray", reason="Ray is the optional 'ray' extra: pip install -e '.[ray]'")

from serving.backfill import CaseColumns, run_backfill  # noqa: E402
from serving.batch_triage import TicketColumns, run_triage_file  # noqa: E402
from serving.cli import app  # noqa: E402
from serving.ray_support import ray_session  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.sqlite_only("reads the SQLite file with sqlite3 while Ray workers write it"),
]
REPO = Path(__file__).resolve().parents[2]
ENCODER = "hashing:64"

_TEXTS = [
    "VPN 无法连接 错误 {n}，主机 srv-{n}",
    "laptop blue screen after update KB{n}",
    "invoice INV-{n} amount wrong, please check",
    "年假余额 {n} 天 不对",
    "printer on floor {n} is offline",
]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """One local Ray instance bounded to 2 CPUs for the module; yields its address."""
    with ray_session(None, num_cpus=2) as session:
        yield str(session.get_runtime_context().gcs_address)


def _cases(n: int) -> list[dict[str, str]]:
    return [
        {
            "ticket": f"C{i:05d}",
            "subject": f"case {i}",
            "details": _TEXTS[i % len(_TEXTS)].format(n=1000 + i),
            "fix": f"fixed by step {i}",
            "team": ["IT", "Finance", "HR"][i % 3],
        }
        for i in range(n)
    ]


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _settings(data_dir: Path) -> Settings:
    return load_settings(data_dir=data_dir, encoder=ENCODER)


SPEC = CaseColumns(("subject", "details"), "fix", id="ticket", title="subject", department="team")


def _db(settings: Settings) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{settings.database_path}?mode=ro", uri=True)


def _snapshot_marks(settings: Settings) -> dict[str, int]:
    return {p.name: json.loads(p.read_text())["mark"] for p in sorted(settings.snapshot_dir.rglob("*.json"))}


def test_backfill_counts_skips_and_a_rerun_changes_nothing(ray_cluster: str, tmp_path: Path) -> None:
    rows = _cases(40)
    rows.append(dict(rows[3]))  # the same id again: a duplicate
    rows.append({**rows[5], "ticket": "C-EMPTY", "subject": "", "details": "  "})  # no text
    rows.append({**rows[6], "ticket": ""})  # no id: bad
    data = _write_csv(tmp_path / "history.csv", rows)
    settings = _settings(tmp_path / "var")

    first = run_backfill(settings, data, SPEC, batch_size=16)

    assert first.read == 43
    assert dict(first.counts) == {"written": 40, "empty": 1, "duplicate": 1, "bad": 1, "already stored": 0}
    assert first.indexed == 40
    with _db(settings) as db:
        assert db.execute("SELECT COUNT(*) FROM documents").fetchone()[0] == 40
        changes = db.execute("SELECT COUNT(*) FROM changes").fetchone()[0]
        title, department, metadata = db.execute(
            "SELECT title, department, metadata FROM documents WHERE doc_id='C00000'"
        ).fetchone()
    assert (title, department) == ("case 0", "IT")
    # Key fields are extracted into the case's metadata (the host name of the VPN text).
    assert any(f["type"] == "hostname" for f in json.loads(metadata)["fields"]), metadata
    marks = _snapshot_marks(settings)
    assert marks and set(marks.values()) == {changes}

    again = run_backfill(settings, data, SPEC, batch_size=16)

    assert dict(again.counts) == {"written": 0, "empty": 1, "duplicate": 1, "bad": 1, "already stored": 40}
    with _db(settings) as db:
        assert db.execute("SELECT COUNT(*) FROM changes").fetchone()[0] == changes
    assert _snapshot_marks(settings) == marks


@pytest.mark.parametrize("suffix", [".parquet", ".jsonl"])
def test_backfill_reads_a_folder_of_parts_and_ids_cases_by_content(
    ray_cluster: str, tmp_path: Path, suffix: str
) -> None:
    import pandas as pd

    rows = _cases(30)
    parts = tmp_path / "parts"
    parts.mkdir()
    for n, chunk in enumerate((rows[:15], [*rows[15:], rows[0]])):  # rows[0] again, word for word
        frame = pd.DataFrame(chunk)
        if suffix == ".parquet":
            frame.to_parquet(parts / f"part-{n}.parquet")
        else:
            frame.to_json(parts / f"part-{n}.jsonl", orient="records", lines=True, force_ascii=False)
    settings = _settings(tmp_path / "var")
    spec = CaseColumns(("subject", "details"), "fix")  # no id column: the id is a content hash

    summary = run_backfill(settings, parts, spec, batch_size=8)

    assert summary.read == 31
    assert summary.counts["written"] == 30 and summary.counts["duplicate"] == 1
    with _db(settings) as db:
        ids = [r[0] for r in db.execute("SELECT doc_id FROM documents")]
    assert len(ids) == 30 and all(i.startswith("sha256:") for i in ids)


def test_backfill_stores_the_cases_triage_index_stores(ray_cluster: str, tmp_path: Path) -> None:
    rows = _cases(12)
    data = _write_csv(tmp_path / "history.csv", rows)
    flags = ["--text", "subject", "details", "--resolution", "fix", "--id", "ticket", "--title", "subject"]
    runner = CliRunner()
    stored = {}
    for command in ("index", "backfill"):
        data_dir = tmp_path / command
        env = {"TRIAGE_ENCODER": ENCODER, "TRIAGE_DATA_DIR": str(data_dir)}
        extra = ["--no-fields"] if command == "backfill" else []
        result = runner.invoke(app, [command, "--data", str(data), *flags, *extra], env=env)
        assert result.exit_code == 0, result.output
        with _db(_settings(data_dir)) as db:
            stored[command] = db.execute(
                "SELECT doc_id, title, body, resolution, language, vector FROM documents ORDER BY doc_id"
            ).fetchall()
    assert len(stored["backfill"]) == 12
    assert stored["backfill"] == stored["index"]


def test_backfill_cli_names_a_missing_column(ray_cluster: str, tmp_path: Path) -> None:
    data = _write_csv(tmp_path / "history.csv", _cases(3))
    result = CliRunner().invoke(
        app,
        ["backfill", "--data", str(data), "--text", "body", "--resolution", "fix"],
        env={"TRIAGE_ENCODER": ENCODER, "TRIAGE_DATA_DIR": str(tmp_path / "var")},
    )
    assert result.exit_code == 2
    assert "['body'] not found" in result.output and "details" in result.output


def test_backfill_killed_midway_resumes_where_it_stopped(ray_cluster: str, tmp_path: Path) -> None:
    total = 600
    data = _write_csv(tmp_path / "history.csv", _cases(total))
    settings = _settings(tmp_path / "var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(
        {"TRIAGE_ENCODER": ENCODER, "TRIAGE_DATA_DIR": str(settings.data_dir), "PYTHONPATH": str(REPO)}
    )
    command = [sys.executable, "-m", "serving.cli", "backfill", "--data", str(data), "--ray", ray_cluster]
    command += ["--text", "subject", "details", "--resolution", "fix", "--id", "ticket", "--batch", "8"]
    log = (tmp_path / "backfill.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    written = 0
    try:
        deadline = time.monotonic() + 180
        while written == 0 and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
            if settings.database_path.exists():
                try:
                    with _db(settings) as db:
                        written = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
                except sqlite3.OperationalError:  # the schema is being created
                    continue
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the process group this test started
        process.wait()
    # Batches already handed to the cluster's workers may still land after the driver dies (Ray
    # cancels a dead driver's tasks only once it notices): count once the store has settled.
    before, settled_at = -1, time.monotonic()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with _db(settings) as db:
            count = db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        if count != before:
            before, settled_at = count, time.monotonic()
        elif time.monotonic() - settled_at > 3:
            break
        time.sleep(0.2)
    assert 0 < before < total, f"kill landed outside the run ({before} of {total} written)"

    resumed = run_backfill(settings, data, SPEC, batch_size=64)

    assert resumed.counts["already stored"] == before
    assert resumed.counts["written"] == total - before
    with _db(settings) as db:
        assert db.execute("SELECT COUNT(DISTINCT doc_id), COUNT(*) FROM documents").fetchone() == (
            total,
            total,
        )
    assert resumed.indexed == total


# ---------------------------------------------------------------------------- batch triage


def _tickets(path: Path) -> Path:
    rows: list[dict[str, Any]] = [
        {"id": f"T{i}", "title": "", "body": _TEXTS[i % len(_TEXTS)].format(n=2000 + i)} for i in range(9)
    ]
    rows.insert(4, {"id": "BLANK", "title": "x", "body": "   "})
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_triage_file_writes_every_result_in_input_order(
    ray_cluster: str, demo_dir: Path, client: TestClient, tmp_path: Path, suffix: str
) -> None:
    source = _tickets(tmp_path / "backlog.jsonl")
    target = tmp_path / f"results{suffix}"
    settings = load_settings(data_dir=demo_dir)

    summary = run_triage_file(settings, source, target, TicketColumns(), batch_size=4)

    assert (summary.rows, summary.triaged, summary.refused) == (10, 9, 1)
    if suffix == ".jsonl":
        lines = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
        results = {line["id"]: line.get("result") for line in lines}
        errors = [line["error"] for line in lines if "error" in line]
    else:
        import pyarrow.parquet as pq

        table = pq.read_table(target).to_pylist()
        lines = table
        results = {r["id"]: json.loads(r["result"]) if r["result"] else None for r in table}
        errors = [r["error"] for r in table if r["error"]]
        first = table[0]
        assert first["department"] == results["T0"]["department"]["value"]
        assert first["similar_case_ids"] == [c["id"] for c in results["T0"]["similar_cases"]]
    assert [line["row"] for line in lines] == list(range(10))
    assert [line["id"] for line in lines][3:6] == ["T3", "BLANK", "T4"]
    assert len(errors) == 1 and errors[0].startswith("body:")
    # The same service as the HTTP API: the same routing and similar cases for the same ticket.
    for ticket_id in ("T0", "T7"):
        body = next(json.loads(x)["body"] for x in source.read_text().splitlines() if f'"{ticket_id}"' in x)
        answer = client.post("/v1/triage", json={"id": ticket_id, "body": body}).json()
        result = results[ticket_id]
        assert result is not None
        assert result["department"]["value"] == answer["department"]["value"]
        assert [c["id"] for c in result["similar_cases"]] == [c["id"] for c in answer["similar_cases"]]
        assert result["similar_cases"], "the demo's cases should be found"


def test_triage_file_refuses_an_unknown_output_format(
    ray_cluster: str, demo_dir: Path, tmp_path: Path
) -> None:
    source = _tickets(tmp_path / "backlog.jsonl")
    result = CliRunner().invoke(
        app,
        ["triage-file", "--in", str(source), "--out", str(tmp_path / "out.xlsx")],
        env={"TRIAGE_DATA_DIR": str(demo_dir)},
    )
    assert result.exit_code == 2
    assert ".jsonl or .parquet" in result.output
