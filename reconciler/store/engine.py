"""Turning a state URL into a working SQLAlchemy engine, or a clear ``StateUnavailable``.

Owns: the accepted URL schemes (``sqlite:///path`` and ``postgresql://...``, mapped to
the psycopg 3 driver), password redaction for messages, the SQLite PRAGMAs set on every
connection, and SQLite's ``BEGIN IMMEDIATE`` for write transactions (so two writers never
deadlock upgrading a read lock; readers still use a plain deferred ``BEGIN``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import ConnectionPoolEntry

from reconciler.errors import StateUnavailable

log = logging.getLogger(__name__)

DEFAULT_STATE_URL = "sqlite:///.reconciler/state.db"
# Execution option naming a write transaction: SQLite then begins it IMMEDIATE.
WRITE = "reconciler_write"
_SQLITE_BUSY_MS = 5000
_PG_CONNECT_TIMEOUT_S = 5


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``; unparsable text is returned cut short."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url if "@" not in url else "<unparsable URL with credentials>"


def is_default_url(url: str) -> bool:
    """Whether ``url`` names ``.reconciler/state.db`` under the current directory."""
    if url == DEFAULT_STATE_URL:
        return True
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return False
    default = Path(DEFAULT_STATE_URL.removeprefix(prefix)).resolve()
    return Path(url.removeprefix(prefix)).resolve() == default


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StateUnavailable(
            f"state URL {redact(url)!r} is not a database URL",
            hint="use sqlite:///path/to/state.db or postgresql://user@host/db",
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.drivername not in ("sqlite", "sqlite+pysqlite"):
            raise _unknown_scheme(url)
        return parsed
    if backend in ("postgresql", "postgres"):
        if parsed.drivername not in ("postgresql", "postgres", "postgresql+psycopg"):
            raise _unknown_scheme(url)
        return parsed.set(drivername="postgresql+psycopg")
    raise _unknown_scheme(url)


def _unknown_scheme(url: str) -> StateUnavailable:
    return StateUnavailable(
        f"state URL {redact(url)!r} uses an unsupported scheme",
        hint="use sqlite:///path/to/state.db or postgresql://user@host/db (psycopg 3)",
    )


def _sqlite_path(url: URL, raw: str) -> Path | None:
    database = url.database
    if not database or database == ":memory:" or "mode=memory" in raw:
        raise StateUnavailable(
            f"state URL {redact(raw)!r} names an in-memory database, which would forget "
            "every paid task when the process exits",
            hint="use a file: sqlite:///path/to/state.db",
        )
    if database.startswith("file:"):
        return None
    path = Path(database)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateUnavailable(
            f"cannot create the directory of the state database {redact(raw)!r}: {exc.strerror}",
            hint="check the path in --state / RECONCILER_STATE_URL and its permissions",
        ) from exc
    return path


def _on_sqlite_connect(dbapi_connection: sqlite3.Connection, _: ConnectionPoolEntry) -> None:
    # Autocommit at the driver level: the "begin" hook below issues BEGIN itself, so the
    # driver's implicit transactions cannot get in the way of IMMEDIATE ones.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {_SQLITE_BUSY_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # FULL: a commit that returned survives a power loss; the journal depends on it.
        cursor.execute("PRAGMA synchronous = FULL")
    finally:
        cursor.close()


def _on_sqlite_begin(conn: Connection) -> None:
    if conn.get_execution_options().get(WRITE):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


def _loads(data: str | bytes) -> object:
    # psycopg hands JSON over as bytes; json.loads(bytes) first sniffs the encoding,
    # which costs more than the parse itself on a 100k-row snapshot.
    return json.loads(data.decode() if isinstance(data, bytes) else data)


def create_state_engine(url: str) -> Engine:
    """An engine for ``url``, checked by one round trip; ``StateUnavailable`` if it fails."""
    parsed = _parse(url)
    if parsed.get_backend_name() == "sqlite":
        _sqlite_path(parsed, url)
        engine = sa.create_engine(parsed)
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    else:
        engine = sa.create_engine(
            parsed,
            pool_pre_ping=True,
            json_deserializer=_loads,
            connect_args={"connect_timeout": _PG_CONNECT_TIMEOUT_S},
        )
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except SQLAlchemyError as exc:
        engine.dispose()
        raise StateUnavailable(
            f"cannot open the state database {redact(url)!r}: {_reason(exc)}",
            hint="check --state / RECONCILER_STATE_URL, that the server is running and "
            "reachable, and that the path is writable",
        ) from exc
    return engine


def _reason(exc: SQLAlchemyError) -> str:
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
