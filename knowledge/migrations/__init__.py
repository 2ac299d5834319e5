"""Versioned schema migrations of the service's database (Alembic), for SQLite and PostgreSQL.

Revision ids are numbers ("0001", "0002", ...): the schema version a message names. ``triage db
upgrade`` runs :func:`upgrade`; every store checks the version when it opens the database
(:func:`ensure_schema`): an empty database gets the current schema, an older one is refused with
the command that upgrades it (a running fleet of replicas never changes the schema under itself).
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

_HERE = Path(__file__).parent
# A revision file: versions/v<revision>_<what>.py, its revision id the four digits.
_REVISION_FILE = re.compile(r"v(\d{4})_\w+\.py")
# Tables of a database written before versioned migrations (no alembic_version table).
_KNOWN_TABLES = {"documents", "predictions", "feedback", "audit", "api_keys", "connectors", "deliveries"}
_SCHEMA_LOCK = 7_160_003


def _config(connection: Connection | None = None) -> Config:
    # Alembic is imported only where a migration runs or a version is read its way: a store opening
    # a database already at this build's version (every server start) never loads it (~0.2-0.5 s).
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_version() -> int:
    """The schema version this build needs: the highest revision among the files in ``versions/``
    (a test checks that it is Alembic's head; revisions are numbered in order)."""
    return max(
        int(found.group(1))
        for path in (_HERE / "versions").iterdir()
        if (found := _REVISION_FILE.fullmatch(path.name)) is not None
    )


def alembic_head() -> int:
    """The head revision as Alembic reads it from the revision files' ``down_revision`` chain."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return int(head)


def _stamped_version(conn: Connection) -> int | None:
    """The revision in ``alembic_version``, read with plain SQL; None without that table."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return int(revision) if revision is not None else None


def current_version(conn: Connection) -> int | None:
    """The database's schema version: None when empty, 0 when written before versioned migrations."""
    from alembic.runtime.migration import MigrationContext

    revision = MigrationContext.configure(conn).get_current_revision()
    if revision is not None:
        return int(revision)
    tables = set(inspect(conn).get_table_names())
    return 0 if tables & _KNOWN_TABLES else None


def _lock(conn: Connection, dialect: str) -> None:
    if dialect == "postgresql":
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_SCHEMA_LOCK})")


def _locked(engine: Engine, dialect: str) -> Connection:
    conn = engine.connect()
    if dialect == "sqlite":
        conn = conn.execution_options(triage_begin="IMMEDIATE")
    return conn


def ensure_schema(engine: Engine, dialect: str, *, create: bool = True) -> None:
    """Check the schema version; create the schema in an empty database (when ``create``).

    Raises ``SchemaVersionError`` for any other version than this build's, saying what to run.
    """
    from knowledge.db import SchemaVersionError, redact_url

    need = head_version()
    with engine.connect() as conn, conn.begin():
        if _stamped_version(conn) == need:
            return  # the usual case: no Alembic needed
        have = current_version(conn)
    if have == need:
        return
    if have is None and create:
        with _locked(engine, dialect) as conn, conn.begin():
            _lock(conn, dialect)
            have = current_version(conn)  # another process may have created it meanwhile
            if have is None:
                from alembic import command

                logger.info("creating the database schema (version %d)", need)
                command.upgrade(_config(conn), "head")
                return
    if have == need:
        return
    url = redact_url(engine.url.render_as_string(hide_password=True))
    if have is None:
        raise SchemaVersionError(
            f"database {url} has no schema, this build needs {need}: run `triage db upgrade`"
        )
    if have > need:
        raise SchemaVersionError(
            f"database schema {have}, this build needs {need}: the database was upgraded by a newer build; "
            "run that build (or restore a backup from before the upgrade)"
        )
    raise SchemaVersionError(f"database schema {have}, this build needs {need}: run `triage db upgrade`")


def upgrade(engine: Engine, dialect: str, target: str = "head") -> tuple[int | None, int]:
    """Migrate the database to ``target`` (one transaction); returns (version before, version after)."""
    from alembic import command

    with _locked(engine, dialect) as conn, conn.begin():
        _lock(conn, dialect)
        before = current_version(conn)
        command.upgrade(_config(conn), target)
    with engine.connect() as conn, conn.begin():
        after = current_version(conn)
    assert after is not None
    return before, after
