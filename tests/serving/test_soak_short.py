"""The short parts of ``make soak`` in the normal test run: SIGKILL rounds during writes and a
bounded schemathesis run with every check. (The adversarial corpus is test_adversarial.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.soak import RATE_LIMITS_OFF, Server, create_key, run_kills, run_schemathesis

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SEED = 20261204  # the same cases on every run (make soak explores with new seeds)


@pytest.fixture(scope="module")
def soak_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo: the kills must not touch the data the other tests' servers use."""
    target = tmp_path_factory.mktemp("soak") / "demo"
    shutil.copytree(demo_dir, target, ignore=shutil.ignore_patterns("*.log"))
    return target


def test_no_acknowledged_write_is_lost_to_sigkill(soak_dir: Path) -> None:
    result = run_kills(soak_dir, rounds=3, seconds_per_round=2.0)
    assert result["acked_cases"] > 0 and result["acked_feedback"] > 0, result
    assert result["lost_cases"] == 0 and result["lost_feedback"] == 0, result


def test_schemathesis_finds_no_failure(soak_dir: Path) -> None:
    server = Server(soak_dir, env={"TRIAGE_RATE_LIMITS": RATE_LIMITS_OFF})
    server.start()
    try:
        result = run_schemathesis(
            server.base, max_examples=5, seconds=900, headers=create_key(soak_dir), seed=SEED
        )
    finally:
        server.stop()
    assert result["exit_code"] == 0, "\n".join(result["tail"])
