"""The write side of the state store: transaction and journal helpers, runs, and the
paid create (intent, then its outcome). Later updates live in ``updates``, hand edits in
``edits``.

Each public method here and there is ONE small explicit transaction, committed before
it returns (inside ``group()``: part of the group's one transaction, committed when the
group ends); each bumps ``meta.serial`` (what a saved plan is checked against; a group
bumps it once) and writes an operations row. Paid calls are split in two:
``record_intent`` is committed *before* the create request, and exactly one of
``record_created`` / ``record_rejected`` / ``record_uncertain`` closes it. An intent
left open (the process died) stays visible to ``open_intents`` and, through the video's
``creating`` status, to the planner.

Runs and the lock are bookkeeping, not state a plan depends on: they do not bump serial.

The statements of the frequent writes (a create, a poll, a download) are built once, at
import, over the Core tables, and executed with parameter dicts: SQLAlchemy then reuses
their compiled form instead of building and cache-keying a new statement per call, which
was most of the CPU of an apply (benchmarks/apply.py, "store only").
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import cast

import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from reconciler.errors import StateConflict, StateUnavailable
from reconciler.stateview import VideoStatus
from reconciler.store.engine import WRITE
from reconciler.store.reads import StateReader
from reconciler.store.records import OpKind, OpState
from reconciler.store.schema import meta, operations, runs, tasks, videos

log = logging.getLogger(__name__)

Row = sa.Row[*tuple[object, ...]]  # a row of any shape; columns read by name

# Prebuilt statements (see the module docstring). Bound parameters of WHERE clauses are
# named ``b_*`` so they never clash with the column names an UPDATE's SET takes from the
# parameter dict.
BUMP_SERIAL = (
    sa.update(meta).where(meta.c.id == 1).values(serial=meta.c.serial + 1).returning(meta.c.serial)
)
INSERT_OPERATION = sa.insert(operations).returning(operations.c.id)
SELECT_OPERATION_STATE = sa.select(operations.c.state).where(
    operations.c.id == sa.bindparam("b_id")
)
# Closes an open intent and returns what the caller needs of it, in one round trip.
CLOSE_INTENT = (
    sa.update(operations)
    .where(operations.c.id == sa.bindparam("b_id"), operations.c.state == OpState.INTENT.value)
    .returning(operations.c.address, operations.c.fingerprint, operations.c.run_id)
)
SUPERSEDE_INTENTS = (
    sa.update(operations)
    .where(
        operations.c.address == sa.bindparam("b_address"),
        operations.c.state == OpState.INTENT.value,
    )
    .values(
        state=OpState.UNCERTAIN.value,
        finished_at=sa.bindparam("b_now"),
        message="superseded by a later create for the same address",
    )
)
SELECT_VIDEO = sa.select(videos).where(videos.c.address == sa.bindparam("b_address"))
SELECT_VIDEO_SPEC = sa.select(videos.c.spec).where(videos.c.address == sa.bindparam("b_address"))
INSERT_VIDEO = sa.insert(videos)
UPDATE_VIDEO = sa.update(videos).where(videos.c.address == sa.bindparam("b_address"))
SELECT_TASK = sa.select(tasks).where(tasks.c.task_id == sa.bindparam("b_task_id"))
INSERT_TASK = sa.insert(tasks)
UPDATE_TASK = sa.update(tasks).where(tasks.c.task_id == sa.bindparam("b_task_id"))


def utcnow() -> datetime:
    return datetime.now(UTC)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid-{os.getuid()}"


_SECRET_KEYS = frozenset({"authorization", "api_key", "apikey", "x-api-key", "password"})
_ENV_API_KEY = "SEEDANCE_API_KEY"


def _refuse_secrets(request: Mapping[str, JsonValue]) -> None:
    """The journal keeps request bodies forever: make sure no credential is among them."""
    text = json.dumps(request, sort_keys=True)
    secret = os.environ.get(_ENV_API_KEY, "").strip()
    named = _SECRET_KEYS.intersection(key.lower() for key in _keys(dict(request)))
    if named or (len(secret) >= 8 and secret in text):
        # Never echo the value: name only what was wrong.
        what = f"field {sorted(named)[0]!r}" if named else f"the value of {_ENV_API_KEY}"
        raise StateConflict(
            f"refusing to journal a request that contains {what}",
            hint="this is a bug in the caller: pass the create body without credentials",
        )


def _keys(value: JsonValue) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _keys(item)
    elif isinstance(value, list):
        for item in value:
            yield from _keys(item)


class StateWriter(StateReader):
    """Every mutation of the state. Callers hold the lock (``StateStore.lock``)."""

    def __init__(self, engine: Engine, url: str) -> None:
        super().__init__(engine, url)
        # The connection of the group this thread is running, if any (see ``group``).
        self._grouped = threading.local()

    def _group_connection(self) -> Connection | None:
        return cast(Connection | None, getattr(self._grouped, "conn", None))

    @contextmanager
    def group(self) -> Iterator[None]:
        """Run this thread's writes inside the block in ONE transaction, committed at its end.

        Reads inside the block see the group's writes; ``meta.serial`` is bumped once for
        the group. Nothing in the group is durable before the block has ended without an
        error: a caller must not report a write as done, or act on it (send the paid
        request an intent announces), before then. If anything in the block raises,
        every write of the group is rolled back (run them again one by one to find the
        one at fault: the writes are plain state changes, safe to run again). The
        executor's writer thread uses this to commit all the writes that queued up while
        it was busy with one fsync (group commit).
        """
        if self._group_connection() is not None:
            raise RuntimeError("state write groups do not nest")
        try:
            with (
                self._engine.connect().execution_options(**{WRITE: True}) as conn,
                conn.begin(),
            ):
                self._grouped.conn = conn
                self._grouped.changed = False
                try:
                    yield
                    if self._grouped.changed:
                        conn.execute(BUMP_SERIAL)
                finally:
                    self._grouped.conn = None
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        grouped = self._group_connection()
        try:
            if grouped is not None:
                yield grouped
                return
            with (
                self._engine.connect().execution_options(**{WRITE: True}) as conn,
                conn.begin(),
            ):
                yield conn
        except OperationalError as exc:
            raise self._unavailable(exc) from exc

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        grouped = self._group_connection()
        if grouped is not None:  # see the group's own writes, committed or not yet
            yield grouped
            return
        with super()._read() as conn:
            yield conn

    def _unavailable(self, exc: OperationalError) -> StateUnavailable:
        return StateUnavailable(
            f"writing to the state database {self.url!r} failed: {exc.orig or exc}",
            hint="check that the database is reachable and not busy, then retry",
        )

    def _bump(self, conn: Connection) -> None:
        """Count a mutation in ``meta.serial``; a group counts once, when it ends."""
        if conn is self._group_connection():
            self._grouped.changed = True
        else:
            conn.execute(BUMP_SERIAL)

    @staticmethod
    def _journal(
        conn: Connection,
        *,
        kind: OpKind,
        address: str | None,
        state: OpState = OpState.DONE,
        run_id: int | None = None,
        fingerprint: str | None = None,
        request: Mapping[str, JsonValue] | None = None,
        task_id: str | None = None,
        message: str | None = None,
    ) -> int:
        now = utcnow()
        result = conn.execute(
            INSERT_OPERATION,
            {
                "run_id": run_id,
                "kind": kind.value,
                "address": address,
                "fingerprint": fingerprint,
                "request": dict(request) if request is not None else None,
                "state": state.value,
                "task_id": task_id,
                "message": message,
                "created_at": now,
                "finished_at": None if state is OpState.INTENT else now,
            },
        )
        return int(result.scalar_one())

    @staticmethod
    def _video_row(conn: Connection, address: str) -> Row | None:
        return conn.execute(SELECT_VIDEO, {"b_address": address}).first()

    def _require_video(self, conn: Connection, address: str) -> Row:
        row = self._video_row(conn, address)
        if row is None:
            raise StateConflict(
                f"{address} is not in the state",
                hint="run `reconciler state list` to see the addresses the state knows",
            )
        return row

    # -- runs ---------------------------------------------------------------------------

    def begin_run(self, command: str, *, git_commit: str | None) -> int:
        with self._write() as conn:
            result = conn.execute(
                sa.insert(runs)
                .values(
                    command=command,
                    user=_user(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    git_commit=git_commit,
                    started_at=utcnow(),
                )
                .returning(runs.c.id)
            )
            return int(result.scalar_one())

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id)
                .values(finished_at=utcnow(), outcome=outcome)
            )

    # -- paid creates -------------------------------------------------------------------

    def record_intent(
        self,
        run_id: int | None,
        *,
        address: str,
        fingerprint: str,
        spec: Mapping[str, JsonValue],
        description: str | None,
        labels: Mapping[str, str],
        request: Mapping[str, JsonValue],
        kind: OpKind = OpKind.CREATE,
    ) -> int:
        """Commit the intent to create a task for ``address``; returns the journal id."""
        _refuse_secrets(request)
        now = utcnow()
        with self._write() as conn:
            self._bump(conn)
            # An older intent for the address that never got an answer is superseded:
            # it stays in the journal as uncertain, never silently "open" again.
            conn.execute(SUPERSEDE_INTENTS, {"b_address": address, "b_now": now})
            op_id = self._journal(
                conn,
                kind=kind,
                address=address,
                state=OpState.INTENT,
                run_id=run_id,
                fingerprint=fingerprint,
                request=request,
            )
            fields = {
                "fingerprint": fingerprint,
                "spec": dict(spec),
                "description": description,
                "labels": dict(labels),
                "status": VideoStatus.CREATING.value,
                "task_id": None,
                "progress": 0,
                "error_message": None,
                "result_url": None,
                "result_expires_at": None,
                "file_path": None,
                "file_sha256": None,
                "updated_at": now,
            }
            row = self._video_row(conn, address)
            if row is None:
                conn.execute(
                    INSERT_VIDEO, {"address": address, "attempts": 1, "created_at": now, **fields}
                )
            else:
                # Attempts count creates of the current fingerprint (the retry limit).
                attempts = row.attempts + 1 if row.fingerprint == fingerprint else 1
                conn.execute(UPDATE_VIDEO, {"b_address": address, "attempts": attempts, **fields})
            return op_id

    def _close_intent_row(self, conn: Connection, op_id: int, **values: object) -> Row:
        """Set ``values`` on the open intent ``op_id``; its address, fingerprint, run."""
        op = conn.execute(CLOSE_INTENT, {"b_id": op_id, **values}).first()
        if op is None:
            state = conn.execute(SELECT_OPERATION_STATE, {"b_id": op_id}).scalar()
            raise StateConflict(
                f"journal entry {op_id} is not an open intent (it is {state or 'missing'})",
                hint="this is a bug in the caller: each intent is closed exactly once",
            )
        return op

    def record_created(self, op_id: int, *, task_id: str, status: str, cost: float | None) -> None:
        """The create returned ``task_id``: keep the task forever, point the video at it."""
        video_status = VideoStatus(status)
        now = utcnow()
        with self._write() as conn:
            op = self._close_intent_row(
                conn, op_id, state=OpState.DONE.value, task_id=task_id, finished_at=now
            )
            self._bump(conn)
            spec = conn.execute(SELECT_VIDEO_SPEC, {"b_address": op.address}).scalar()
            conn.execute(
                INSERT_TASK,
                {
                    "task_id": task_id,
                    "address": op.address,
                    "fingerprint": op.fingerprint,
                    "spec": spec if spec is not None else {},
                    "status": video_status.value,
                    "error_message": None,
                    "cost": cost,
                    "run_id": op.run_id,
                    "operation_id": op_id,
                    "created_at": now,
                    "updated_at": now,
                },
            )
            conn.execute(
                UPDATE_VIDEO,
                {
                    "b_address": op.address,
                    "status": video_status.value,
                    "task_id": task_id,
                    "updated_at": now,
                },
            )

    def record_rejected(self, op_id: int, *, message: str) -> None:
        """The create was refused: nothing was created, nothing was paid."""
        self._close_intent(op_id, OpState.REJECTED, VideoStatus.REJECTED, message)

    def record_uncertain(self, op_id: int, *, message: str) -> None:
        """The create may have taken effect: the user must adopt or retry explicitly."""
        self._close_intent(op_id, OpState.UNCERTAIN, VideoStatus.UNCERTAIN, message)

    def _close_intent(self, op_id: int, state: OpState, status: VideoStatus, message: str) -> None:
        now = utcnow()
        with self._write() as conn:
            op = self._close_intent_row(
                conn, op_id, state=state.value, message=message, finished_at=now
            )
            self._bump(conn)
            conn.execute(
                UPDATE_VIDEO,
                {
                    "b_address": op.address,
                    "status": status.value,
                    "error_message": message,
                    "updated_at": now,
                },
            )
