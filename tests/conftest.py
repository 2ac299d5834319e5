"""Root fixtures: network refused beyond loopback, shared datasets location, tiny real parts."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import backend
from tests.postgres import INSTALL_HINT, PostgresServer, find_bin_dir

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent / "shared" / "datasets"

_LOOPBACK_PREFIXES = ("127.", "::1", "localhost")
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
        return host.startswith(_LOOPBACK_PREFIXES) or host == "0.0.0.0"
    # AF_UNIX sockets carry a path: local by definition.
    return isinstance(address, str | bytes)


class NetworkRefusedError(OSError):
    pass


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise NetworkRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise NetworkRefusedError(f"tests may not reach the network (tried {address!r})")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Refuse every socket connect except loopback, so nothing is fetched from a hub."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    yield


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The real public datasets beside the repository; tests that need them skip without them."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"../shared/datasets not found at {SHARED_DATASETS}: data tests need it")
    return SHARED_DATASETS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sqlite_only(reason): about the SQLite file itself; skipped when TRIAGE_TEST_DATABASE=postgresql",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database backend: {backend.BACKEND} ({backend.ENV})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not backend.ON_POSTGRESQL:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            why = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))


@pytest.fixture(scope="session", autouse=True)
def _database_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """On TRIAGE_TEST_DATABASE=postgresql, every SQLite path the suite uses becomes a PostgreSQL
    database (see tests/backend.py)."""
    if not backend.ON_POSTGRESQL:
        yield "sqlite"
        return
    import knowledge.db

    server: PostgresServer = request.getfixturevalue("postgres_server")
    router = backend.Router(server, knowledge.db.database_url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(knowledge.db, "database_url", router.database_url)
        backend.ROUTER = router
        try:
            yield "postgresql"
        finally:
            backend.ROUTER = None
            knowledge.db.close_all()


@pytest.fixture(autouse=True)
def _drop_test_databases(request: pytest.FixtureRequest) -> Iterator[None]:
    """The PostgreSQL databases of a test's own files are dropped when it ends."""
    yield
    router = backend.ROUTER
    tmp = request.node.funcargs.get("tmp_path") if hasattr(request.node, "funcargs") else None
    if router is not None and isinstance(tmp, Path):
        router.drop_under(tmp)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session (skipped with the install hint if absent)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip(INSTALL_HINT)
    server = PostgresServer(bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def database_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database on each backend: a SQLite file path, or a PostgreSQL URL."""
    if request.param == "sqlite":
        if backend.ON_POSTGRESQL:
            pytest.skip("the SQLite case runs in the SQLite run of the suite")
        yield str(tmp_path / "knowledge.db")
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create_database()
    try:
        yield url
    finally:
        server.drop_database(url)
