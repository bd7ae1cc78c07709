"""The read side of the state store: the planner's ``Snapshot`` and the CLI's listings.

Owns: turning rows into ``VideoRecord``/``AssetRecord``/journal rows with one query per
table (no N+1). Rows come from our own schema, so records are built without
re-validation. A 100k-video snapshot is kept fast (benchmarks/snapshot.py) by letting
the database hand over plain values only (JSON as text, kept undecoded in the record;
timestamps as ISO 8601 text, which ``datetime.fromisoformat`` parses at C speed), so
neither SQLAlchemy nor the driver runs per-value conversions, by building each record
with one named-tuple call, and by pausing the cyclic GC while the records are built.
A snapshot read for planning is also kept small: it leaves out what the planner never
reads (``StateReader.plan_snapshot``), so a 100k-video plan fits in 256 MiB.
"""

from __future__ import annotations

import functools
import gc
import json
import sqlite3
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Set
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import TypeVarTuple, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql.elements import ColumnElement

from reconciler.errors import StateUnavailable
from reconciler.model import Desired, DesiredVideo
from reconciler.stateview import (
    AssetRecord,
    Snapshot,
    VideoRecord,
    VideoStatus,
    not_downloaded,
)
from reconciler.store.engine import redact
from reconciler.store.records import JournalEntry, LockInfo, OpState, RunRow, TaskRow
from reconciler.store.schema import assets, lock, meta, operations, runs, tasks, videos

_ASSET_COLUMNS = (
    assets.c.content_hash,
    assets.c.type,
    assets.c.uploaded_url,
    assets.c.audit_asset_id,
    assets.c.audit_status,
    assets.c.updated_at,
)

# What ``_video_select`` returns, in ``VideoRecord``'s field order: JSON and timestamps as
# text. Read for planning, ``updated_at`` and ``file_sha256`` come back NULL.
_VideoRow = tuple[
    str,
    str,
    str,
    str,
    str,
    str | None,
    str | None,
    str | None,
    int,
    int,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
]

_Row = TypeVarTuple("_Row")  # a row of ``_rows``, as its query's columns say

_STATUSES = {status.value: status for status in VideoStatus}
_STREAM_CHUNK = 2000  # rows per chunk of a PostgreSQL stream


def _utc_iso(column: ColumnElement[datetime], dialect: str) -> ColumnElement[str]:
    """A ``UtcDateTime`` column as ISO 8601 text with a ``+00:00`` offset (see ``_utc``)."""
    text: ColumnElement[str]
    if dialect == "postgresql":
        # to_char, not a cast: a cast's text follows the server's DateStyle setting.
        utc = sa.func.timezone("UTC", column)
        text = sa.func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS.US', type_=sa.Text)
    else:
        # SQLite holds the UTC time as text, without an offset when SQLAlchemy wrote it
        # ('YYYY-MM-DD HH:MM:SS.ffffff').
        text = sa.type_coerce(column, sa.Text)
    return text.concat("+00:00")  # NULL stays NULL


def _utc(text: str) -> datetime:
    """A timezone-aware UTC datetime from ``_utc_iso``'s text, at C speed."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        # Text that had an offset already (a row not written by SQLAlchemy).
        return datetime.fromisoformat(text.removesuffix("+00:00")).astimezone(UTC)


@functools.cache
def _video_select(dialect: str, *, planning: bool = False) -> sa.Select[*_VideoRow]:
    """One row per video: ``VideoRecord``'s fields, in its order, as plain values.

    With ``planning``, the columns the planner never reads (``updated_at``,
    ``file_sha256``) are NULL: see ``StateReader.plan_snapshot``.
    """
    unread = sa.null()
    return sa.select(
        videos.c.address,
        videos.c.fingerprint,
        sa.cast(videos.c.spec, sa.Text),
        sa.cast(videos.c.labels, sa.Text),
        videos.c.status,
        unread if planning else _utc_iso(videos.c.updated_at, dialect),
        videos.c.description,
        videos.c.task_id,
        videos.c.progress,
        videos.c.attempts,
        videos.c.error_message,
        videos.c.result_url,
        _utc_iso(videos.c.result_expires_at, dialect),
        videos.c.file_path,
        unread if planning else videos.c.file_sha256,
    )


def _video_records(
    rows: Iterable[_VideoRow], planning: _Planning | None = None
) -> list[VideoRecord]:
    """Records from ``_video_select`` rows; the spec stays JSON text until it is read.

    With ``planning``, the records are read for planning (see
    ``StateReader.plan_snapshot``).
    """
    labels_seen: dict[str, Mapping[str, str]] = {}  # label sets repeat across videos
    parse = datetime.fromisoformat
    records = []
    for (
        address,
        fingerprint,
        spec_text,
        labels_json,
        status,
        updated_at,
        description,
        task_id,
        progress,
        attempts,
        error_message,
        result_url,
        result_expires_at,
        file_path,
        file_sha256,
    ) in rows:
        state = _STATUSES[status]
        spec_json: str | None = spec_text
        if planning is not None:
            address, fingerprint, spec_json, description = _for_planning(
                planning.wanted.get(address), address, fingerprint, spec_text, description
            )
            if not_downloaded(state, file_path, planning.is_there):
                planning.not_downloaded.add(address)
            else:  # the planner reads the result URL only to download a missing file
                result_url = result_expires_at = None
            file_path = None  # nor does it read the path: ``not_downloaded`` says it all
        labels = labels_seen.get(labels_json)
        if labels is None:
            labels = labels_seen[labels_json] = json.loads(labels_json)
        try:  # the common case inline: 200k calls of _utc would cost 4% of a snapshot
            updated = None if updated_at is None else parse(updated_at)
            expires = None if result_expires_at is None else parse(result_expires_at)
        except ValueError:
            updated = None if updated_at is None else _utc(updated_at)
            expires = None if result_expires_at is None else _utc(result_expires_at)
        # _make: the named tuple from a tuple, without the keyword-handling __new__.
        record = VideoRecord._make(
            (
                address,
                fingerprint,
                spec_json,
                labels,
                state,
                updated,
                description,
                task_id,
                progress,
                attempts,
                error_message,
                result_url,
                expires,
                file_path,
                file_sha256,
            )
        )
        records.append(record)
    return records


@functools.cache
def _recorded_files() -> sa.Select[str]:
    """The recorded files of the completed videos (``plan_snapshot`` checks them)."""
    return sa.select(videos.c.file_path).where(
        videos.c.status == VideoStatus.COMPLETED.value, videos.c.file_path.is_not(None)
    )


def _snapshot(conn: Connection, planning: _Planning | None = None) -> Snapshot:
    """The snapshot; with ``planning``, read for planning (``plan_snapshot``)."""
    with _gc_paused():
        meta_row = conn.execute(
            sa.select(meta.c.lineage, meta.c.serial).where(meta.c.id == 1)
        ).one()
        # Closed before the transaction ends, also on an error: a stream left open
        # holds the connection, and the rollback would wait for it forever.
        query = _video_select(conn.dialect.name, planning=planning is not None)
        with closing(_rows(conn, query)) as rows:
            video_records = _video_records(rows, planning)
        # Sorted here rather than by ORDER BY: the same code-point order on every
        # backend and collation, rows can be streamed, and PostgreSQL does not sort
        # 100k wide rows on disk when its statistics are missing (after a bulk load).
        video_records.sort(key=attrgetter("address"))
        asset_records = tuple(
            AssetRecord(**row)
            for row in conn.execute(
                sa.select(*_ASSET_COLUMNS).order_by(assets.c.content_hash)
            ).mappings()
        )
    return Snapshot(
        lineage=meta_row.lineage,
        serial=meta_row.serial,
        videos=tuple(video_records),
        assets=asset_records,
    )


@dataclass(frozen=True, slots=True)
class _Planning:
    """What a snapshot read for planning is trimmed against (``plan_snapshot``)."""

    wanted: Mapping[str, DesiredVideo]  # the desired videos by address
    gone: Set[str]  # recorded files of completed videos that are not there
    not_downloaded: set[str] = field(default_factory=set)  # filled by the read

    def is_there(self, file_path: str) -> bool:
        return file_path not in self.gone


def _for_planning(
    video: DesiredVideo | None,
    address: str,
    fingerprint: str,
    spec_json: str,
    description: str | None,
) -> tuple[str, str, str | None, str | None]:
    """A record's address, fingerprint, spec text and description as the planner needs
    them, given the desired ``video`` at its address (None: not in the specs).

    The planner diffs a stored spec only when the fingerprint at the same address
    changed (a move keeps its fingerprint; a record gone from the specs is forgotten),
    so the spec text is kept for those records only. Strings equal to the desired
    video's are replaced by the desired's own objects, so they are held once.
    """
    if video is None:
        return address, fingerprint, None, description
    if description == video.description:
        description = video.description
    if fingerprint == video.fingerprint:
        return video.address, video.fingerprint, None, description
    return video.address, fingerprint, spec_json, description


def _rows(conn: Connection, query: sa.Select[*_Row]) -> Generator[tuple[*_Row], None, None]:
    """The rows of ``query`` as the driver's plain tuples, as they arrive.

    On the driver's own cursor: SQLAlchemy's per-row ``Row`` costs ~6% of a snapshot,
    and psycopg's chunked stream (libpq 17+) lets the server go on sending rows while
    the first ones become records, instead of the client waiting for the whole result
    (at 100k rows the server's half and ours are about equal).
    """
    # Constants only (the timestamp format, '+00:00'), so they can be inlined.
    sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    driver = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        import psycopg

        with cast("psycopg.Connection[tuple[*_Row]]", driver).cursor() as cursor:
            if psycopg.capabilities.has_stream_chunked():
                yield from cursor.stream(sql, size=_STREAM_CHUNK)
            else:
                yield from cursor.execute(sql)
        return
    lite = cast(sqlite3.Connection, driver).execute(sql)
    try:
        yield from lite
    finally:
        lite.close()


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
        except (OperationalError, conn.dialect.loaded_dbapi.OperationalError) as exc:
            # The driver's own error comes unwrapped from a streamed cursor (_rows).
            reason = getattr(exc, "orig", None) or exc
            raise StateUnavailable(
                f"reading the state database {self.url!r} failed: {reason}",
                hint="check that the database is reachable and retry",
            ) from exc
        finally:
            conn.close()

    def snapshot(self) -> Snapshot:
        """Every record as the state holds it."""
        with self._read() as conn:
            return _snapshot(conn)

    def plan_snapshot(
        self, desired: Desired, missing_files: Callable[[Iterable[str]], Set[str]]
    ) -> tuple[Snapshot, frozenset[str]]:
        """What ``build_plan(desired, ...)`` needs of the state, in a fifth of the memory:
        the snapshot, and the completed videos whose file is not downloaded, for
        ``PlanOptions.not_downloaded`` (``missing_files`` says which of the recorded
        files of completed videos are not there; see ``stateview.not_downloaded``).

        A plan holds the loaded specs and the state's records at once: at 100,000
        videos the full ``snapshot`` is ~125 MiB, this one ~25 MiB. It leaves out what
        the planner never reads (None in the records): ``updated_at``, ``file_sha256``,
        ``file_path`` (the files are checked here), the result URL and its expiry except
        where the file is not downloaded, and the stored spec text (a third of a record)
        except where the planner diffs it, for a record whose fingerprint differs from
        that of the desired video at its address. Addresses, fingerprints and
        descriptions equal to the desired's are the desired's own string objects, held
        once. Use it to plan against ``desired`` only; commands that show or write
        records read ``snapshot``.
        """
        with self._read() as conn:  # one transaction: the files checked are the snapshot's
            # The files are checked before the records are built, and apart, so that
            # what lists them (~11 MiB for 100k files) is gone by then.
            with closing(_rows(conn, _recorded_files())) as rows:
                gone = missing_files(path for (path,) in rows)
            planning = _Planning(desired.video_map(), gone)
            return _snapshot(conn, planning), frozenset(planning.not_downloaded)

    def serial(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(meta.c.serial).where(meta.c.id == 1)).scalar_one())

    def video(self, address: str) -> VideoRecord | None:
        with self._read() as conn:
            query = _video_select(conn.dialect.name).where(videos.c.address == address)
            records = _video_records(conn.execute(query))
        return records[0] if records else None

    def tasks(self, address: str | None = None) -> list[TaskRow]:
        query = sa.select(tasks).order_by(tasks.c.created_at, tasks.c.task_id)
        if address is not None:
            query = query.where(tasks.c.address == address)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [TaskRow.model_construct(**row._asdict()) for row in rows]

    def history(
        self, address: str | None = None, *, limit: int | None = None
    ) -> list[JournalEntry]:
        """Journal entries, oldest first (the newest ``limit`` if given)."""
        query = sa.select(operations).order_by(operations.c.id.desc())
        if address is not None:
            query = query.where(operations.c.address == address)
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [journal_entry(row) for row in reversed(rows)]

    def open_intents(self) -> list[JournalEntry]:
        """Paid calls whose intent was written but whose outcome never was."""
        query = (
            sa.select(operations)
            .where(operations.c.state == OpState.INTENT)
            .order_by(operations.c.id)
        )
        with self._read() as conn:
            return [journal_entry(row) for row in conn.execute(query).mappings().all()]

    def runs(self, *, limit: int = 50) -> list[RunRow]:
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [RunRow.model_construct(**row._asdict()) for row in reversed(rows)]

    def apply_ran_since(self, when: datetime, *, other_than: int | None = None) -> bool:
        """Whether an apply (other than run ``other_than``) may have spent since ``when``.

        True when the latest such apply finished at or after ``when``, or never finished
        (still running, or died: it may have spent until then). An apply that finished
        before ``when`` spent nothing after it.
        """
        query = sa.select(runs.c.finished_at).where(runs.c.command == "apply")
        if other_than is not None:
            query = query.where(runs.c.id != other_than)
        query = query.order_by(runs.c.id.desc()).limit(1)
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return False
        finished: datetime | None = row.finished_at
        return finished is None or finished >= when

    def lock_holder(self) -> LockInfo | None:
        """The lock row as written; its holder may be dead (see ``StateStore.lock``)."""
        with self._read() as conn:
            row = conn.execute(sa.select(lock).where(lock.c.id == 1)).mappings().first()
        return None if row is None else lock_info(row)
