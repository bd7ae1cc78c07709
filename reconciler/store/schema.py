"""The state database's tables, as SQLAlchemy Core ``Table`` objects on one ``metadata``.

This module owns the schema that ``migrations/versions`` builds; a test checks that
Alembic's autogenerate finds no drift between the two. Every timestamp is stored and
returned as a timezone-aware UTC ``datetime`` (``UtcDateTime``), on SQLite as well.
JSON columns use the portable ``sa.JSON`` so one schema serves SQLite and PostgreSQL.

The tables are plain Core, not ORM models: every query of the store is a Core statement
(no sessions), and importing ``sqlalchemy.orm`` would add ~0.1 s to every command that
opens the state. A column is NOT NULL unless it says ``nullable=True``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Constraint names fixed by convention so migrations (and batch mode on SQLite) can
# refer to them by name on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp; refuses naive values instead of guessing."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the state store; use UTC-aware values")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        # SQLite keeps no offset: what comes back was written as UTC.
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[object], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite stores ISO text; parsing it directly is several times faster than the
        # generic regex path, which matters for a 100k-row snapshot.
        def process(value: object) -> datetime | None:
            if value is None:
                return None
            parsed = datetime.fromisoformat(str(value))
            if parsed.tzinfo is None:
                return parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)

        return process


metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

# One row: which state this is (lineage) and how many mutations it has seen.
meta = sa.Table(
    "meta",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lineage", sa.String(32), nullable=False),
    sa.Column("serial", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
)

# The current state of one video address.
videos = sa.Table(
    "videos",
    metadata,
    sa.Column("address", sa.String(512), primary_key=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("description", sa.Text, nullable=True),
    sa.Column("labels", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("task_id", sa.String(128), nullable=True),
    sa.Column("progress", sa.Integer, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("result_url", sa.Text, nullable=True),
    sa.Column("result_expires_at", UtcDateTime(), nullable=True),
    sa.Column("file_path", sa.Text, nullable=True),
    sa.Column("file_sha256", sa.String(64), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# Every task ever created, kept forever: it was paid for.
tasks = sa.Table(
    "tasks",
    metadata,
    sa.Column("task_id", sa.String(128), primary_key=True),
    # No foreign key: `state rm` and `state mv` keep the tasks of an address.
    sa.Column("address", sa.String(512), nullable=False, index=True),
    sa.Column("fingerprint", sa.String(128), nullable=False),
    sa.Column("spec", sa.JSON, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("error_message", sa.Text, nullable=True),
    sa.Column("cost", sa.Float, nullable=True),
    # Revision 0002: a replaced video's old result stays reachable (it was paid for).
    sa.Column("result_url", sa.Text, nullable=True),
    sa.Column("result_expires_at", UtcDateTime(), nullable=True),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("operation_id", sa.Integer, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# An asset by content hash: where it was uploaded and how its audit went.
assets = sa.Table(
    "assets",
    metadata,
    sa.Column("content_hash", sa.String(128), primary_key=True),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("uploaded_url", sa.Text, nullable=True),
    sa.Column("upload_expires_at", UtcDateTime(), nullable=True),
    sa.Column("audit_asset_id", sa.String(128), nullable=True),
    sa.Column("audit_status", sa.String(32), nullable=True),
    sa.Column("audit_reason", sa.Text, nullable=True),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
)

# One invocation of a state-changing command: who, where, when, with what outcome.
runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("user", sa.String(128), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("git_commit", sa.String(64), nullable=True),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
    sa.Column("outcome", sa.String(32), nullable=True),
)

# The journal: one row per mutation; paid calls get theirs *before* the call.
operations = sa.Table(
    "operations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=True, index=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("address", sa.String(512), nullable=True, index=True),
    sa.Column("fingerprint", sa.String(128), nullable=True),
    sa.Column("request", sa.JSON, nullable=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("task_id", sa.String(128), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("finished_at", UtcDateTime(), nullable=True),
)

# At most one row (id 1): who holds the write lock. PostgreSQL adds an advisory lock.
lock = sa.Table(
    "lock",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("lock_id", sa.String(32), nullable=False),
    sa.Column("holder", sa.Text, nullable=False),
    sa.Column("command", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("acquired_at", UtcDateTime(), nullable=False),
    sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
)
