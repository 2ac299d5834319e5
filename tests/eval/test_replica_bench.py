"""The replicas benchmark's command line: which backends it measures and where it writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import replica_bench


@pytest.mark.slow
def test_sqlite_only_run_writes_a_section_named_after_its_size(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("<!-- bench:replicas -->\nkept\n<!-- /bench:replicas -->\n", encoding="utf-8")

    replica_bench.main(["--cases", "1500", "--samples", "3", "--backends", "sqlite", "--out", str(out)])

    text = out.read_text(encoding="utf-8")
    assert "<!-- bench:replicas -->\nkept\n<!-- /bench:replicas -->" in text  # the 100k section stays
    section = text.split("<!-- bench:replicas-1500 -->", 1)[1].split("<!-- /bench:replicas-1500 -->", 1)[0]
    assert "## Replicas: SQLite at 1,500 cases" in section
    assert "--backends sqlite" in section
    assert "only SQLite was measured" in section
    assert "| not measured |" in section


def test_backends_without_sqlite_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        replica_bench.main(["--backends", "postgresql"])
    assert exc.value.code == 2
    assert "--backends" in capsys.readouterr().err
