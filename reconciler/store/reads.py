"""The read side of the state store: the planner's ``Snapshot`` and the CLI's listings.

Owns: turning rows into ``VideoRecord``/``AssetRecord``/journal rows with one query per
table (no N+1). Rows come from our own schema, so records are built without
re-validation. A 100k-video snapshot is kept fast (benchmarks/snapshot.py) by reading
the JSON columns as text and decoding them in one call, sharing the decoding of
repeated label sets, and pausing the cyclic GC while the records are built.
"""

from __future__ import annotations

import gc
import json
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


# The snapshot reads the JSON columns as text: decoding them ourselves (see _VideoRows)
# is much cheaper than one json.loads per row and column.
_JSON_KEYS = frozenset({"spec", "labels"})
_SNAPSHOT_COLUMNS = tuple(
    sa.cast(column, sa.Text).label(column.key) if column.key in _JSON_KEYS else column
    for column in _VIDEO_COLUMNS
)

_STATUSES = {status.value: status for status in VideoStatus}

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


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building 100k records allocates millions of objects, none of them garbage: the
    cyclic collector would scan them over and over (it doubles the snapshot time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _snapshot_videos(rows: Sequence[Sequence[object]]) -> tuple[VideoRecord, ...]:
    """Records from rows whose ``spec``/``labels`` are JSON text."""
    spec_at = _VIDEO_FIELDS.index("spec")
    labels_at = _VIDEO_FIELDS.index("labels")
    # One decode of a JSON array of every spec: the per-call overhead of json.loads
    # dominates when it is called 100k times on small documents.
    specs = json.loads("[" + ",".join(str(row[spec_at]) for row in rows) + "]")
    labels_seen: dict[str, dict[str, str]] = {}  # label sets repeat across videos
    records = []
    for row, spec in zip(rows, specs, strict=True):
        values = dict(zip(_VIDEO_FIELDS, row, strict=True))
        values["spec"] = spec
        text = str(row[labels_at])
        labels = labels_seen.get(text)
        if labels is None:
            labels = labels_seen[text] = json.loads(text)
        values["labels"] = dict(labels)  # a copy: records must not share mutable state
        values["status"] = _STATUSES[str(values["status"])]
        records.append(build(VideoRecord, values))
    return tuple(records)


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
        with self._read() as conn, _gc_paused():
            meta = conn.execute(sa.select(Meta.lineage, Meta.serial).where(Meta.id == 1)).one()
            rows = conn.execute(sa.select(*_SNAPSHOT_COLUMNS).order_by(Video.address)).all()
            videos = _snapshot_videos(rows)
            del rows
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
