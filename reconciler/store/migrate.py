"""Running the Alembic migrations programmatically and checking the schema version.

Owns: finding ``migrations/`` (inside the installed wheel as ``reconciler/_migrations``,
else next to the package in a checkout), reading the current and head revisions, and
the rule for opening a database: new -> upgraded to head; behind -> refused unless
upgrading, with the exact command to run; ahead (unknown revision) -> refused.

Opening a database already at head (every command but the first) is one SELECT of
``alembic_version`` compared with ``HEAD_REVISION``: Alembic, which costs more to
import than the rest of a warm ``plan`` together, is imported only to create, upgrade
or diagnose a database.
"""

from __future__ import annotations

import importlib.resources
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from reconciler.errors import StateUnavailable, StateVersionError
from reconciler.store.engine import WRITE, is_default_url, redact

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

# Key of the PostgreSQL advisory lock that serialises schema changes ("reconcil").
_MIGRATION_LOCK_KEY = int.from_bytes(b"reconcil", "big") >> 1

# The newest revision in migrations/versions. Bump it with every new migration:
# tests/store/test_store_migrations.py fails until it names the migrations' one head.
HEAD_REVISION = "0002"

# Where Alembic records the revision (its default table; migrations/env.py keeps it).
_READ_REVISION = sa.text("SELECT version_num FROM alembic_version")


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
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return HEAD_REVISION


def _script_head() -> str:
    """The head of the migration scripts themselves (loads Alembic)."""
    from alembic.script import ScriptDirectory

    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    if len(heads) != 1:
        raise StateVersionError(f"the migrations have {len(heads)} heads, expected one")
    if heads[0] != HEAD_REVISION:
        raise StateVersionError(
            f"the migrations' head is {heads[0]!r} but HEAD_REVISION says {HEAD_REVISION!r}",
            hint="set HEAD_REVISION in reconciler/store/migrate.py to the newest migration",
        )
    return heads[0]


def known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config())
    return {rev.revision for rev in script.walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None for a new (empty) database."""
    with engine.connect() as conn:
        return read_revision(conn)


def read_revision(conn: Connection) -> str | None:
    """``current_revision`` on an open connection, outside any explicit transaction.

    One SELECT; only when it fails is the catalogue asked whether the table exists.
    """
    try:
        revisions = conn.execute(_READ_REVISION).scalars().all()
    except DBAPIError:
        conn.rollback()  # PostgreSQL: the failed statement aborted the transaction
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        # The table exists now: another process may have created the schema between
        # the SELECT and this check (first use by several at once). Read it again; if
        # it fails for another reason, that error is raised.
        revisions = conn.execute(_READ_REVISION).scalars().all()
    if len(revisions) > 1:
        raise StateVersionError(
            f"the state database records {len(revisions)} schema revisions "
            f"({', '.join(sorted(revisions))}), expected one",
            hint="the alembic_version table was edited by hand; restore it from a backup",
        )
    return revisions[0] if revisions else None


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    with engine.connect().execution_options(**{WRITE: True}) as conn:
        command.upgrade(alembic_config(conn), revision)
        conn.commit()


def downgrade(engine: Engine, revision: str) -> None:
    from alembic import command

    with engine.connect().execution_options(**{WRITE: True}) as conn:
        command.downgrade(alembic_config(conn), revision)
        conn.commit()


def upgrade_hint(url: str) -> str:
    if is_default_url(url):
        return "reconciler db upgrade"
    return f"reconciler --state '{redact(url)}' db upgrade"


def ensure_schema(engine: Engine, url: str, *, upgrade_allowed: bool) -> None:
    """Bring a new database to head; refuse (or, when allowed, upgrade) an old one."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    head = _script_head()
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
