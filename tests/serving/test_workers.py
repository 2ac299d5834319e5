"""The pieces that make several worker processes one service (serving/workers.py), without a server:
the shared token-bucket table, signed console sessions, the worker count and the admission split,
the run folder, and `triage serve --workers` refusing a bad value. The real multi-process server is
tests/serving/test_workers_e2e.py."""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from serving.auth import ConsoleSessions
from serving.cli import app
from serving.limits import RateLimit, SharedTokenBuckets, TokenBuckets
from serving.settings import SettingsError, load_settings
from serving.workers import ARGS_ENV, METRICS_ENV, RUN_DIR_ENV, multiprocess_environment, worker_settings


def _table(tmp_path: Path) -> Path:
    path = tmp_path / "buckets"
    SharedTokenBuckets.create_table(path)
    return path


def test_shared_buckets_refill_as_the_in_memory_ones_do(tmp_path: Path) -> None:
    now = [100.0]
    limits = {"read": RateLimit(per_second=2, burst=2)}
    shared = SharedTokenBuckets(limits, _table(tmp_path), clock=lambda: now[0])
    local = TokenBuckets(limits, clock=lambda: now[0])
    for moment in (100.0, 100.0, 100.0, 100.2, 100.5, 101.0, 101.0, 101.0, 105.0):
        now[0] = moment
        assert shared.take("a", "read") == pytest.approx(local.take("a", "read"))
    assert shared.take("b", "read") == 0  # per caller
    assert shared.take("a", "triage") == 0  # no limit configured for the class
    shared.close()


def test_two_processes_share_one_bucket(tmp_path: Path) -> None:
    """A second process (as a second worker) takes from the same bucket: the burst is spent once."""
    path = _table(tmp_path)
    limits = {"read": RateLimit(per_second=0.001, burst=5)}
    here = SharedTokenBuckets(limits, path)
    assert [here.take("key:k1", "read") for _ in range(3)] == [0, 0, 0]
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        there = pool.apply(_take_three, (str(path),))
    assert there[:2] == [0, 0] and there[2] > 0  # 2 tokens were left of 5
    assert here.take("key:k1", "read") > 0
    assert here.take("key:k2", "read") == 0
    here.close()


def _take_three(path: str) -> list[float]:
    buckets = SharedTokenBuckets({"read": RateLimit(per_second=0.001, burst=5)}, Path(path))
    try:
        return [buckets.take("key:k1", "read") for _ in range(3)]
    finally:
        buckets.close()


def test_a_full_neighbourhood_gives_up_its_stalest_slot(tmp_path: Path) -> None:
    now = [0.0]
    path = tmp_path / "small"
    SharedTokenBuckets.create_table(path, slots=64)
    buckets = SharedTokenBuckets({"read": RateLimit(1, 1)}, path, clock=lambda: now[0])
    callers = [f"addr:10.0.0.{i}" for i in range(64 * 3)]
    for caller in callers:  # more callers than slots: every neighbourhood fills, the oldest go
        now[0] += 0.001
        buckets.take(caller, "read")
    assert buckets.take(callers[-1], "read") > 0  # the latest is still remembered (its token spent)
    assert buckets.take(callers[0], "read") == 0  # the first was forgotten: a full bucket again
    buckets.close()
    with pytest.raises(ValueError, match="create_table"):
        (tmp_path / "empty").write_bytes(b"")
        SharedTokenBuckets({}, tmp_path / "empty")


def test_console_sessions_signed_with_one_secret_are_accepted_by_each_holder() -> None:
    secret = os.urandom(32)
    one, other = ConsoleSessions(secret=secret), ConsoleSessions(secret=secret)
    token, expires = one.issue()
    caller = other.verify(token)
    assert caller is not None and caller.tenant == "default" and "keys:admin" not in caller.scopes
    assert expires > datetime.now(UTC) + timedelta(hours=11)
    assert ConsoleSessions(secret=os.urandom(32)).verify(token) is None  # another server start
    assert ConsoleSessions().verify(token) is None  # a process of its own: a random secret
    session_id, stamp = token.split("_", 2)[1], token.split("_", 2)[2].split(".")[0]
    later = f"{int(stamp, 16) + 3600:x}"
    assert other.verify(token.replace(f"_{stamp}.", f"_{later}.")) is None  # expiry is signed
    assert other.verify(f"tc_{session_id}_zz.{'0' * 64}") is None
    expired = ConsoleSessions(secret=secret, ttl=timedelta(seconds=-1))
    assert other.verify(expired.issue()[0]) is None


def test_workers_setting_counts_processes_and_splits_the_in_flight_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    one = load_settings()
    assert one.worker_count == 1 and one.in_flight_bound == one.total_in_flight_bound == 2
    auto = load_settings(workers="auto")
    # At least 2 per worker by default: the running batch and the next request read and waiting.
    assert auto.worker_count == 2 and auto.in_flight_bound == 2 and auto.total_in_flight_bound == 4
    assert auto.queue_bound == 8  # per worker: 4 per slot
    given = load_settings(workers="3", max_in_flight=8)  # the service's total: an even share, rounded up
    assert given.in_flight_bound == 3 and given.total_in_flight_bound == 9
    assert load_settings(workers=2, max_in_flight=2).in_flight_bound == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert load_settings(workers=2).in_flight_bound == 4 and load_settings().in_flight_bound == 8
    monkeypatch.setenv("TRIAGE_WORKERS", "2")
    assert load_settings().worker_count == 2
    for bad, says in (("0", "give 1 to 64"), ("many", "not a number of processes"), ("65", "give 1 to 64")):
        with pytest.raises(SettingsError, match=says):
            load_settings(workers=bad)


def test_bad_workers_value_is_a_clear_cli_error(tmp_path: Path) -> None:
    for bad in ("0", "two"):
        result = CliRunner().invoke(app, ["serve", "--data-dir", str(tmp_path), "--workers", bad])
        assert result.exit_code != 0
        assert "workers" in result.output and "Traceback" not in result.output


def test_the_run_folder_carries_the_command_line_to_the_workers_and_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the server start makes its folder
    config = tmp_path / "triage.yaml"
    config.write_text("similar_k: 7\n")
    for name in (RUN_DIR_ENV, METRICS_ENV, ARGS_ENV):
        monkeypatch.delenv(name, raising=False)
    with multiprocess_environment(config, {"data_dir": tmp_path / "data", "port": 8123, "workers": 2}) as run:
        assert run.path.parent == tmp_path and oct(run.path.stat().st_mode)[-3:] == "700"
        assert os.environ[METRICS_ENV] == str(run.metrics) and run.metrics.is_dir()
        assert len(run.console_secret()) == 32 and oct(run.console_key.stat().st_mode)[-3:] == "600"
        assert json.loads(os.environ[ARGS_ENV])["overrides"]["port"] == 8123
        settings = worker_settings()  # what a worker process loads
        assert (settings.data_dir, settings.port, settings.similar_k, settings.worker_count) == (
            tmp_path / "data",
            8123,
            7,
            2,
        )
    assert not run.path.exists()
    assert RUN_DIR_ENV not in os.environ and METRICS_ENV not in os.environ
