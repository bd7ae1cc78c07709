"""The read side of the state store: the planner's ``Snapshot`` and the CLI's listings.

Owns: turning rows into ``VideoRecord``/``AssetRecord``/journal rows with one query per
table (no N+1). Rows come from our own schema, so records are built with
``model_construct`` (no re-validation) to keep a 100k-video snapshot fast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import OperationalError

from reconciler.errors import StateUnavailable
from reconciler.model import Frozen
from reconciler.stateview import AssetRecord, Snapshot, VideoRecord, VideoStatus
from reconciler.store.engine import redact
from reconciler.store.records import JournalEntry, LockInfo, OpState, RunRow, TaskRow
from reconciler.store.schema import Asset, Lock, Meta, Operation, Run, Task, Video

_VIDEO_COLUMNS = (
    Video.address,
    Video.fingerprint,
    Video.spec,
    Video.description,
    Video.labels,
    Video.status,
    Video.task_id,
    Video.progress,
    Video.attempts,
    Video.error_message,
    Video.result_url,
    Video.result_expires_at,
    Video.file_path,
    Video.file_sha256,
    Video.updated_at,
)
_ASSET_COLUMNS = (
    Asset.content_hash,
    Asset.type,
    Asset.uploaded_url,
    Asset.audit_asset_id,
    Asset.audit_status,
    Asset.updated_at,
)


M = TypeVar("M", bound=Frozen)
_VIDEO_FIELDS = tuple(column.key for column in _VIDEO_COLUMNS)
_ASSET_FIELDS = tuple(column.key for column in _ASSET_COLUMNS)


def build(cls: type[M], values: dict[str, object]) -> M:
    """An instance from trusted, complete values, skipping validation.

    What ``model_construct`` does, minus its per-field default handling: every field is
    present (the select names them all), so a snapshot of 100k rows stays fast.
    """
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


def video_record(row: Sequence[object]) -> VideoRecord:
    values = dict(zip(_VIDEO_FIELDS, row, strict=True))
    values["status"] = VideoStatus(str(values["status"]))
    return build(VideoRecord, values)


def journal_entry(row: RowMapping) -> JournalEntry:
    values = dict(row)
    values["state"] = OpState(values["state"])
    return JournalEntry.model_construct(**values)


def lock_info(row: RowMapping, took_over: str | None = None) -> LockInfo:
    values = dict(row)
    del values["id"]
    return LockInfo.model_construct(**values, took_over=took_over)


class StateReader:
    """Read-only queries. Any process may run them; none takes the write lock."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = url

    @property
    def url(self) -> str:
        """The state URL with the password redacted, for messages."""
        return redact(self._url)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        conn = self._engine.connect()
        if conn.dialect.name == "postgresql":
            # One consistent view across the per-table queries of a snapshot.
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        try:
            with conn.begin():
                yield conn
        except OperationalError as exc:
            raise StateUnavailable(
                f"reading the state database {self.url!r} failed: {exc.orig or exc}",
                hint="check that the database is reachable and retry",
            ) from exc
        finally:
            conn.close()

    def snapshot(self) -> Snapshot:
        with self._read() as conn:
            meta = conn.execute(sa.select(Meta.lineage, Meta.serial).where(Meta.id == 1)).one()
            videos = tuple(
                video_record(row)
                for row in conn.execute(sa.select(*_VIDEO_COLUMNS).order_by(Video.address))
            )
            assets = tuple(
                build(AssetRecord, dict(zip(_ASSET_FIELDS, row, strict=True)))
                for row in conn.execute(sa.select(*_ASSET_COLUMNS).order_by(Asset.content_hash))
            )
        return Snapshot.model_construct(
            lineage=meta.lineage, serial=meta.serial, videos=videos, assets=assets
        )

    def serial(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(Meta.serial).where(Meta.id == 1)).scalar_one())

    def video(self, address: str) -> VideoRecord | None:
        with self._read() as conn:
            row = conn.execute(sa.select(*_VIDEO_COLUMNS).where(Video.address == address)).first()
        return None if row is None else video_record(row)

    def tasks(self, address: str | None = None) -> list[TaskRow]:
        query = sa.select(Task).order_by(Task.created_at, Task.task_id)
        if address is not None:
            query = query.where(Task.address == address)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [TaskRow.model_construct(**row._asdict()) for row in rows]

    def history(
        self, address: str | None = None, *, limit: int | None = None
    ) -> list[JournalEntry]:
        """Journal entries, oldest first (the newest ``limit`` if given)."""
        query = sa.select(Operation).order_by(Operation.id.desc())
        if address is not None:
            query = query.where(Operation.address == address)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [journal_entry(row) for row in reversed(rows)]

    def open_intents(self) -> list[JournalEntry]:
        """Paid calls whose intent was written but whose outcome never was."""
        query = sa.select(Operation).where(Operation.state == OpState.INTENT).order_by(Operation.id)
        with self._read() as conn:
            return [journal_entry(row) for row in conn.execute(query).mappings().all()]

    def runs(self, *, limit: int = 50) -> list[RunRow]:
        query = sa.select(Run).order_by(Run.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [RunRow.model_construct(**row._asdict()) for row in reversed(rows)]

    def lock_holder(self) -> LockInfo | None:
        """The lock row as written; its holder may be dead (see ``StateStore.lock``)."""
        with self._read() as conn:
            row = conn.execute(sa.select(Lock).where(Lock.id == 1)).mappings().first()
        return None if row is None else lock_info(row)
