"""The write side of the state store: transaction and journal helpers, runs, and the
paid create (intent, then its outcome). Later updates live in ``updates``, hand edits in
``edits``.

Each public method here and there is ONE small explicit transaction, committed before
it returns; each bumps ``meta.serial`` (what a saved plan is checked against) and writes
an operations row. Paid calls are split in two: ``record_intent`` is committed *before* the create
request, and exactly one of ``record_created`` / ``record_rejected`` /
``record_uncertain`` closes it. An intent left open (the process died) stays visible to
``open_intents`` and, through the video's ``creating`` status, to the planner.

Runs and the lock are bookkeeping, not state a plan depends on: they do not bump serial.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from pydantic import JsonValue
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from reconciler.errors import StateConflict, StateUnavailable
from reconciler.stateview import VideoStatus
from reconciler.store.engine import WRITE
from reconciler.store.reads import StateReader
from reconciler.store.records import OpKind, OpState
from reconciler.store.schema import Meta, Operation, Run, Task, Video

log = logging.getLogger(__name__)


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

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with (
                self._engine.connect().execution_options(**{WRITE: True}) as conn,
                conn.begin(),
            ):
                yield conn
        except OperationalError as exc:
            raise StateUnavailable(
                f"writing to the state database {self.url!r} failed: {exc.orig or exc}",
                hint="check that the database is reachable and not busy, then retry",
            ) from exc

    @staticmethod
    def _bump(conn: Connection) -> int:
        result = conn.execute(
            sa.update(Meta)
            .where(Meta.id == 1)
            .values(serial=Meta.serial + 1)
            .returning(Meta.serial)
        )
        return int(result.scalar_one())

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
            sa.insert(Operation)
            .values(
                run_id=run_id,
                kind=kind.value,
                address=address,
                fingerprint=fingerprint,
                request=dict(request) if request is not None else None,
                state=state.value,
                task_id=task_id,
                message=message,
                created_at=now,
                finished_at=None if state is OpState.INTENT else now,
            )
            .returning(Operation.id)
        )
        return int(result.scalar_one())

    @staticmethod
    def _video_row(conn: Connection, address: str) -> sa.Row[Video] | None:
        return conn.execute(sa.select(Video).where(Video.address == address)).first()

    def _require_video(self, conn: Connection, address: str) -> sa.Row[Video]:
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
                sa.insert(Run)
                .values(
                    command=command,
                    user=_user(),
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    git_commit=git_commit,
                    started_at=utcnow(),
                )
                .returning(Run.id)
            )
            return int(result.scalar_one())

    def finish_run(self, run_id: int, outcome: str) -> None:
        with self._write() as conn:
            conn.execute(
                sa.update(Run).where(Run.id == run_id).values(finished_at=utcnow(), outcome=outcome)
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
            conn.execute(
                sa.update(Operation)
                .where(Operation.address == address, Operation.state == OpState.INTENT)
                .values(
                    state=OpState.UNCERTAIN.value,
                    finished_at=now,
                    message="superseded by a later create for the same address",
                )
            )
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
                    sa.insert(Video).values(address=address, attempts=1, created_at=now, **fields)
                )
            else:
                # Attempts count creates of the current fingerprint (the retry limit).
                attempts = row.attempts + 1 if row.fingerprint == fingerprint else 1
                conn.execute(
                    sa.update(Video)
                    .where(Video.address == address)
                    .values(attempts=attempts, **fields)
                )
            return op_id

    def _open_intent(self, conn: Connection, op_id: int) -> sa.Row[Operation]:
        op = conn.execute(sa.select(Operation).where(Operation.id == op_id)).first()
        if op is None or op.state != OpState.INTENT:
            state = "missing" if op is None else op.state
            raise StateConflict(
                f"journal entry {op_id} is not an open intent (it is {state})",
                hint="this is a bug in the caller: each intent is closed exactly once",
            )
        return op

    def record_created(self, op_id: int, *, task_id: str, status: str, cost: float | None) -> None:
        """The create returned ``task_id``: keep the task forever, point the video at it."""
        video_status = VideoStatus(status)
        now = utcnow()
        with self._write() as conn:
            op = self._open_intent(conn, op_id)
            self._bump(conn)
            video = self._video_row(conn, op.address)
            spec = video.spec if video is not None else {}
            conn.execute(
                sa.insert(Task).values(
                    task_id=task_id,
                    address=op.address,
                    fingerprint=op.fingerprint,
                    spec=spec,
                    status=video_status.value,
                    error_message=None,
                    cost=cost,
                    run_id=op.run_id,
                    operation_id=op_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            conn.execute(
                sa.update(Operation)
                .where(Operation.id == op_id)
                .values(state=OpState.DONE.value, task_id=task_id, finished_at=now)
            )
            conn.execute(
                sa.update(Video)
                .where(Video.address == op.address)
                .values(status=video_status.value, task_id=task_id, updated_at=now)
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
            op = self._open_intent(conn, op_id)
            self._bump(conn)
            conn.execute(
                sa.update(Operation)
                .where(Operation.id == op_id)
                .values(state=state.value, message=message, finished_at=now)
            )
            conn.execute(
                sa.update(Video)
                .where(Video.address == op.address)
                .values(status=status.value, error_message=message, updated_at=now)
            )
