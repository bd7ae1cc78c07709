"""The state database's tables, as SQLAlchemy 2 typed declarative models.

This module owns the schema that ``migrations/versions`` builds; a test checks that
Alembic's autogenerate finds no drift between the two. Every timestamp is stored and
returned as a timezone-aware UTC ``datetime`` (``UtcDateTime``), on SQLite as well.
JSON columns use the portable ``sa.JSON`` so one schema serves SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
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


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class Meta(Base):
    """One row: which state this is (lineage) and how many mutations it has seen."""

    __tablename__ = "meta"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    lineage: Mapped[str] = mapped_column(sa.String(32))
    serial: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Video(Base):
    """The current state of one video address."""

    __tablename__ = "videos"

    address: Mapped[str] = mapped_column(sa.String(512), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    spec: Mapped[dict[str, object]] = mapped_column(sa.JSON)
    description: Mapped[str | None] = mapped_column(sa.Text)
    labels: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))
    task_id: Mapped[str | None] = mapped_column(sa.String(128))
    progress: Mapped[int] = mapped_column(sa.Integer)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    result_url: Mapped[str | None] = mapped_column(sa.Text)
    result_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    file_path: Mapped[str | None] = mapped_column(sa.Text)
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Task(Base):
    """Every task ever created, kept forever: it was paid for."""

    __tablename__ = "tasks"

    task_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    # No foreign key: `state rm` and `state mv` keep the tasks of an address.
    address: Mapped[str] = mapped_column(sa.String(512), index=True)
    fingerprint: Mapped[str] = mapped_column(sa.String(128))
    spec: Mapped[dict[str, object]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))
    error_message: Mapped[str | None] = mapped_column(sa.Text)
    cost: Mapped[float | None] = mapped_column(sa.Float)
    # Revision 0002: a replaced video's old result stays reachable (it was paid for).
    result_url: Mapped[str | None] = mapped_column(sa.Text)
    result_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    operation_id: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Asset(Base):
    """An asset by content hash: where it was uploaded and how its audit went."""

    __tablename__ = "assets"

    content_hash: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(16))
    uploaded_url: Mapped[str | None] = mapped_column(sa.Text)
    upload_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    audit_asset_id: Mapped[str | None] = mapped_column(sa.String(128))
    audit_status: Mapped[str | None] = mapped_column(sa.String(32))
    audit_reason: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Run(Base):
    """One invocation of a state-changing command: who, where, when, with what outcome."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    command: Mapped[str] = mapped_column(sa.Text)
    user: Mapped[str] = mapped_column(sa.String(128))
    host: Mapped[str] = mapped_column(sa.String(255))
    pid: Mapped[int] = mapped_column(sa.Integer)
    git_commit: Mapped[str | None] = mapped_column(sa.String(64))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.String(32))


class Operation(Base):
    """The journal: one row per mutation; paid calls get theirs *before* the call."""

    __tablename__ = "operations"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(sa.Integer, sa.ForeignKey("runs.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    address: Mapped[str | None] = mapped_column(sa.String(512), index=True)
    fingerprint: Mapped[str | None] = mapped_column(sa.String(128))
    request: Mapped[dict[str, object] | None] = mapped_column(sa.JSON)
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    task_id: Mapped[str | None] = mapped_column(sa.String(128))
    message: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Lock(Base):
    """At most one row (id 1): who holds the write lock. PostgreSQL adds an advisory lock."""

    __tablename__ = "lock"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    lock_id: Mapped[str] = mapped_column(sa.String(32))
    holder: Mapped[str] = mapped_column(sa.Text)
    command: Mapped[str] = mapped_column(sa.Text)
    pid: Mapped[int] = mapped_column(sa.Integer)
    host: Mapped[str] = mapped_column(sa.String(255))
    run_id: Mapped[int | None] = mapped_column(sa.Integer)
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime())
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime())


metadata = Base.metadata
