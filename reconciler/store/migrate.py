"""Running the Alembic migrations programmatically and checking the schema version.

Owns: finding ``migrations/`` (inside the installed wheel as ``reconciler/_migrations``,
else next to the package in a checkout), reading the current and head revisions, and
the rule for opening a database: new -> upgraded to head; behind -> refused unless
upgrading, with the exact command to run; ahead (unknown revision) -> refused.
"""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from reconciler.errors import StateUnavailable, StateVersionError
from reconciler.store.engine import WRITE, is_default_url, redact

log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that serialises schema changes ("reconcil").
_MIGRATION_LOCK_KEY = int.from_bytes(b"reconcil", "big") >> 1


def migrations_dir() -> Path:
    """Where ``env.py`` and ``versions/`` live for this installation."""
    shipped = importlib.resources.files("reconciler") / "_migrations"
    if shipped.is_dir() and (shipped / "env.py").is_file():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parents[2] / "migrations"
    if (checkout / "env.py").is_file():
        return checkout
    raise StateUnavailable(
        "the database migrations are missing from this installation",
        hint="reinstall reconciler; the wheel ships them as reconciler/_migrations",
    )


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StateVersionError(f"the migrations have {len(heads)} heads, expected one")
    return heads[0]


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        command.downgrade(alembic_config(conn), revision)
        conn.commit()


def upgrade_hint(url: str) -> str:
    if is_default_url(url):
        return "reconciler db upgrade"
    return f"reconciler --state '{redact(url)}' db upgrade"


def ensure_schema(engine: Engine, url: str, *, upgrade_allowed: bool) -> None:
    """Bring a new database to head; refuse (or, when allowed, upgrade) an old one."""
    head = head_revision()
    if current_revision(engine) == head:
        return
    # Several processes may meet a new database at once: decide and migrate inside one
    # exclusive transaction (SQLite BEGIN IMMEDIATE; a transaction-scoped advisory lock
    # on PostgreSQL), re-reading the revision once we hold it.
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK_KEY)))
        current = MigrationContext.configure(conn).get_current_revision()
        if current == head:
            return
        if current is not None and current not in known_revisions():
            raise StateVersionError(
                f"the state database {redact(url)!r} is at schema revision {current!r}, "
                f"newer than this reconciler knows (head {head!r})",
                hint="upgrade reconciler to the version that last wrote this state",
            )
        if current is not None and not upgrade_allowed:
            raise StateVersionError(
                f"the state database {redact(url)!r} is at schema revision {current!r}, "
                f"behind this reconciler (head {head!r})",
                hint=upgrade_hint(url),
            )
        if current is None:
            log.info("creating the state schema in %s", redact(url))
        else:
            log.info("upgrading the state schema of %s from %s to %s", redact(url), current, head)
        command.upgrade(alembic_config(conn), "head")
