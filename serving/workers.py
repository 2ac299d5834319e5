"""Several server processes (``triage serve --workers N``): the run folder they share, and their app.

uvicorn's own supervisor starts N worker processes (``multiprocessing`` spawn: fresh interpreters)
that accept on one listening socket; each loads the models itself. What would otherwise be one
copy per process is made correct across them through a folder made fresh for each server start
(``RunDir``, under the system temp folder, mode 0700, removed when the server stops):

- ``metrics/``: prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), so
  ``/metrics`` from any worker reports the totals of all of them (``serving.metrics``);
- ``buckets``: the per-caller token buckets, one fixed-size table in shared memory under a file
  lock, so a key gets its configured rate once, whichever worker its connections land on
  (``serving.limits.SharedTokenBuckets``);
- ``loads``: each worker's requests admitted or waiting, so a full worker closes a client's
  keep-alive connection only when another worker has room (``serving.limits.WorkerLoads``);
- ``console.key``: the secret that signs web-console session keys, so a session issued by one
  worker is accepted by every other (``serving.auth.ConsoleSessions``).

Everything else a worker holds is either per process by design (the admission bound: each worker
admits its share, ``Settings.in_flight_bound``) or already shared through the database, as between
replicas: API keys and revocations (a key read from the database is checked from memory for at most
``catch_up_interval``), the model registry (its mark is checked per
request), knowledge-base writes (every worker follows the change log, ``catch_up_interval``),
connector deliveries (database leases) and index snapshots (written atomically with a checksum).

The workers get the settings as the command line gave them: the config file and the flags travel
in ``TRIAGE_SERVE_ARGS`` (JSON) and each worker loads them again, with the same environment.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from serving.settings import Settings, load_settings

if TYPE_CHECKING:
    from fastapi import FastAPI

logger = logging.getLogger(__name__)

RUN_DIR_ENV = "TRIAGE_RUN_DIR"  # not a setting: the run folder of the server start a worker belongs to
ARGS_ENV = "TRIAGE_SERVE_ARGS"  # not a setting: the config file and flags the server was started with
METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"  # read by prometheus_client when it is first imported
_SECRET_BYTES = 32


@dataclass(frozen=True)
class RunDir:
    """The folder the workers of one server start share (see the module doc)."""

    path: Path

    @property
    def metrics(self) -> Path:
        return self.path / "metrics"

    @property
    def buckets(self) -> Path:
        return self.path / "buckets"

    @property
    def loads(self) -> Path:
        return self.path / "loads"

    @property
    def console_key(self) -> Path:
        return self.path / "console.key"

    def console_secret(self) -> bytes:
        return self.console_key.read_bytes()

    @classmethod
    def create(cls) -> RunDir:
        """A fresh run folder (its metrics folder empty, a new console secret, an empty bucket table)."""
        from serving.limits import SharedTokenBuckets, WorkerLoads

        path = Path(tempfile.mkdtemp(prefix=f"triage-serve-{os.getpid()}-"))
        run = cls(path)
        run.metrics.mkdir()
        descriptor = os.open(run.console_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(_SECRET_BYTES))
        SharedTokenBuckets.create_table(run.buckets)
        WorkerLoads.create_table(run.loads)
        return run

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def current_run() -> RunDir | None:
    """The run folder of the server start this process is a worker of; None in a single process."""
    value = os.environ.get(RUN_DIR_ENV)
    return RunDir(Path(value)) if value else None


@contextmanager
def multiprocess_environment(config: Path | None, overrides: dict[str, Any]) -> Iterator[RunDir]:
    """A fresh run folder, named with the settings' sources in the environment the workers inherit;
    removed (and the environment restored) when the server stops."""
    run = RunDir.create()
    given = {k: (str(v) if isinstance(v, Path) else v) for k, v in overrides.items() if v is not None}
    added = {
        RUN_DIR_ENV: str(run.path),
        METRICS_ENV: str(run.metrics),
        ARGS_ENV: json.dumps({"config": str(config) if config else None, "overrides": given}),
    }
    before = {k: os.environ.get(k) for k in added}
    os.environ.update(added)
    try:
        yield run
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        run.remove()


def worker_settings() -> Settings:
    """The settings of the server start this worker belongs to (config file, flags, environment)."""
    given = json.loads(os.environ.get(ARGS_ENV) or "{}")
    config = given.get("config")
    return load_settings(Path(config) if config else None, **given.get("overrides", {}))


def worker_app() -> FastAPI:
    """uvicorn's app factory in each worker process (``serving.workers:worker_app``)."""
    # As in the single process (serving.cli._serve): no collections while the models load; the
    # app's start-up collects once, freezes what it loaded and turns the collector back on.
    gc.disable()
    from serving.app import create_app
    from serving.request_context import LOG_FORMAT, install_request_id_logging

    settings = worker_settings()
    # The worker's pid in every line: N processes write to one terminal or log.
    logging.basicConfig(
        level=settings.log_level, format=LOG_FORMAT.replace("%(name)s", "%(name)s %(process)d")
    )
    install_request_id_logging()
    sys.setswitchinterval(settings.gil_switch_interval_ms / 1000)
    return create_app(settings, freeze_gc=True, run=current_run())
