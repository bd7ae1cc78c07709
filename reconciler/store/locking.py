"""The state's single-writer lock, on PostgreSQL and on SQLite.

PostgreSQL: a session advisory lock (keyed by the state's lineage) on a connection held
for the lock's whole life, so a killed holder frees it the moment its connection drops;
the ``lock`` row only describes the holder. SQLite: the ``lock`` row *is* the lock,
kept alive by a heartbeat thread; a row whose heartbeat is older than ``STALE_AFTER``
seconds, or whose pid is dead on this host, belongs to a dead holder and is taken over
(and the takeover is journaled and reported in ``LockInfo.took_over``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from reconciler.errors import StateConflict, StateLocked
from reconciler.store.engine import WRITE
from reconciler.store.reads import lock_info
from reconciler.store.records import LockInfo, OpKind
from reconciler.store.schema import lock
from reconciler.store.writes import StateWriter, utcnow

log = logging.getLogger(__name__)

STALE_AFTER = 30.0  # seconds without a heartbeat after which a SQLite holder is dead
HEARTBEAT_EVERY = 5.0
_POLL = 0.2  # seconds between attempts while waiting for --lock-timeout
_DESCRIBE_GRACE = 2.0  # seconds a loser waits for a new holder to write its lock row


class LockBackend(Protocol):
    def acquire(
        self, holder: str, *, command: str, run_id: int | None, timeout: float
    ) -> LockInfo: ...

    def release(self, info: LockInfo) -> None: ...

    def force_unlock(self, lock_id: str) -> LockInfo: ...


def backend_for(
    engine: Engine,
    lineage: str,
    *,
    heartbeat: float = HEARTBEAT_EVERY,
    stale_after: float = STALE_AFTER,
) -> LockBackend:
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine, lineage)
    return SqliteLock(engine, heartbeat=heartbeat, stale_after=stale_after)


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live (not zombie) process on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # The state letter follows the parenthesised command name; Z is a zombie, X dead.
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def locked_error(info: LockInfo, *, waited: float) -> StateLocked:
    waited_text = f" (waited {waited:g}s)" if waited > 0 else ""
    return StateLocked(
        f"the state is locked by {info.describe()}{waited_text}",
        hint="wait for it to finish or retry with --lock-timeout SECONDS; if that process "
        f"is gone, run `reconciler force-unlock {info.lock_id}`",
    )


def _not_locked(lock_id: str, current: LockInfo | None) -> StateConflict:
    if current is None:
        return StateConflict(
            f"the state is not locked (no lock {lock_id})",
            hint="nothing to unlock; run the command that reported the lock again",
        )
    return StateConflict(
        f"no lock {lock_id}: the current lock is {current.lock_id}, held by {current.describe()}",
        hint=f"check the id; to remove the current lock run "
        f"`reconciler force-unlock {current.lock_id}`",
    )


def _read_lock(conn: Connection) -> LockInfo | None:
    row = conn.execute(sa.select(lock).where(lock.c.id == 1)).mappings().first()
    return None if row is None else lock_info(row)


def _write_lock_row(
    conn: Connection, holder: str, command: str, run_id: int | None, took_over: str | None
) -> LockInfo:
    now = utcnow()
    conn.execute(sa.delete(lock))
    values = {
        "lock_id": uuid.uuid4().hex,
        "holder": holder,
        "command": command,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "run_id": run_id,
        "acquired_at": now,
        "heartbeat_at": now,
    }
    conn.execute(sa.insert(lock).values(id=1, **values))
    if took_over:
        StateWriter._journal(conn, kind=OpKind.LOCK, address=None, message=took_over)
        log.warning("%s", took_over)
    return LockInfo(**values, took_over=took_over)  # type: ignore[arg-type]


class SqliteLock:
    def __init__(
        self,
        engine: Engine,
        *,
        heartbeat: float = HEARTBEAT_EVERY,
        stale_after: float = STALE_AFTER,
    ) -> None:
        if stale_after < 3 * heartbeat:
            raise ValueError("stale_after must allow several missed heartbeats")
        self._engine = engine
        self._heartbeat = heartbeat
        self._stale_after = stale_after
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _dead_reason(self, info: LockInfo, now: datetime) -> str | None:
        if info.host == socket.gethostname() and not pid_alive(info.pid):
            return f"process {info.pid} on {info.host} is gone"
        age = (now - info.heartbeat_at).total_seconds()
        if age > self._stale_after:
            return f"its last heartbeat was {age:.0f}s ago (stale after {self._stale_after:g}s)"
        return None

    def acquire(self, holder: str, *, command: str, run_id: int | None, timeout: float) -> LockInfo:
        started = time.monotonic()
        deadline = started + max(timeout, 0.0)
        while True:
            with (
                self._engine.connect().execution_options(**{WRITE: True}) as conn,
                conn.begin(),
            ):
                current = _read_lock(conn)
                took_over = None
                if current is not None:
                    reason = self._dead_reason(current, utcnow())
                    if reason is not None:
                        took_over = (
                            f"took over stale lock {current.lock_id} of "
                            f"{current.describe()}: {reason}"
                        )
                if current is None or took_over is not None:
                    info = _write_lock_row(conn, holder, command, run_id, took_over)
                    break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise locked_error(current, waited=time.monotonic() - started)
            time.sleep(min(_POLL, remaining))
        self._thread = threading.Thread(
            target=self._beat, args=(info.lock_id,), name="reconciler-lock-heartbeat", daemon=True
        )
        self._thread.start()
        return info

    def _beat(self, lock_id: str) -> None:
        while not self._stop.wait(self._heartbeat):
            try:
                with (
                    self._engine.connect().execution_options(**{WRITE: True}) as conn,
                    conn.begin(),
                ):
                    result = conn.execute(
                        sa.update(lock)
                        .where(lock.c.lock_id == lock_id)
                        .values(heartbeat_at=utcnow())
                    )
                if result.rowcount == 0:
                    log.error("the state lock %s was removed while held", lock_id)
                    return
            except sa.exc.SQLAlchemyError as exc:
                log.warning("lock heartbeat failed (will retry): %s", exc)

    def release(self, info: LockInfo) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._heartbeat + 10)
        with (
            self._engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
            conn.execute(sa.delete(lock).where(lock.c.lock_id == info.lock_id))

    def force_unlock(self, lock_id: str) -> LockInfo:
        with (
            self._engine.connect().execution_options(**{WRITE: True}) as conn,
            conn.begin(),
        ):
            current = _read_lock(conn)
            if current is None or current.lock_id != lock_id:
                raise _not_locked(lock_id, current)
            reason = self._dead_reason(current, utcnow())
            if reason is None:
                raise StateLocked(
                    f"lock {lock_id} is held by a live process: {current.describe()}, "
                    f"heartbeat {current.heartbeat_at.isoformat(timespec='seconds')}",
                    hint=f"let it finish or stop process {current.pid} on {current.host}; "
                    "force-unlock only removes locks of dead processes",
                )
            conn.execute(sa.delete(lock).where(lock.c.lock_id == lock_id))
            StateWriter._journal(
                conn,
                kind=OpKind.LOCK,
                address=None,
                message=f"force-unlocked {lock_id} of {current.describe()}: {reason}",
            )
            return current


class PostgresLock:
    def __init__(self, engine: Engine, lineage: str) -> None:
        self._engine = engine
        digest = hashlib.sha256(f"reconciler:{lineage}".encode()).digest()
        self._key = int.from_bytes(digest[:8], "big", signed=True)
        self._conn: Connection | None = None

    def _session(self) -> Connection:
        return self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def _try(self, conn: Connection) -> bool:
        got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(self._key))).scalar_one()
        return bool(got)

    def acquire(self, holder: str, *, command: str, run_id: int | None, timeout: float) -> LockInfo:
        started = time.monotonic()
        deadline = started + max(timeout, 0.0)
        session = self._session()
        try:
            while not self._try(session):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    current = self._wait_for_row()
                    if current is None:
                        raise StateLocked(
                            "the state is locked by another process that has not yet "
                            "described itself",
                            hint="retry in a moment or with --lock-timeout SECONDS",
                        )
                    raise locked_error(current, waited=time.monotonic() - started)
                time.sleep(min(_POLL, remaining))
            with self._engine.connect() as conn, conn.begin():
                previous = _read_lock(conn)
                # The advisory lock was free, so a leftover row's holder is gone.
                took_over = (
                    None
                    if previous is None
                    else f"replaced lock {previous.lock_id} of {previous.describe()}: "
                    "its database session had ended"
                )
                info = _write_lock_row(conn, holder, command, run_id, took_over)
        except BaseException:
            session.close()
            raise
        self._conn = session
        return info

    def _wait_for_row(self) -> LockInfo | None:
        """The holder's lock row: it writes it just after taking the advisory lock, so a
        loser that lost the race by milliseconds waits a moment to name the holder."""
        deadline = time.monotonic() + _DESCRIBE_GRACE
        while True:
            with self._engine.connect() as conn:
                current = _read_lock(conn)
            if current is not None or time.monotonic() >= deadline:
                return current
            time.sleep(_POLL)

    def release(self, info: LockInfo) -> None:
        # A release must never mask the error that ended the command: when the server is
        # gone, its ended session has freed the advisory lock, and the next acquire
        # replaces the leftover row, so a failure here is only logged.
        session = self._conn
        self._conn = None
        try:
            with self._engine.connect() as conn, conn.begin():
                conn.execute(sa.delete(lock).where(lock.c.lock_id == info.lock_id))
        except sa.exc.SQLAlchemyError as exc:
            log.warning(
                "could not remove lock %s (the next command replaces it): %s",
                info.lock_id,
                type(exc).__name__,
            )
        finally:
            if session is not None:
                try:
                    session.execute(sa.select(sa.func.pg_advisory_unlock(self._key)))
                except sa.exc.SQLAlchemyError as exc:
                    log.debug("advisory unlock on an ended session: %s", type(exc).__name__)
                finally:
                    session.close()

    def force_unlock(self, lock_id: str) -> LockInfo:
        with self._engine.connect() as conn:
            current = _read_lock(conn)
        if current is None or current.lock_id != lock_id:
            raise _not_locked(lock_id, current)
        with self._session() as session:
            if not self._try(session):
                raise StateLocked(
                    f"lock {lock_id} is held by a live database session: {current.describe()}",
                    hint=f"let it finish or stop process {current.pid} on {current.host}; "
                    "PostgreSQL frees the lock the moment that process exits",
                )
            try:
                with self._engine.connect() as conn, conn.begin():
                    conn.execute(sa.delete(lock).where(lock.c.lock_id == lock_id))
                    StateWriter._journal(
                        conn,
                        kind=OpKind.LOCK,
                        address=None,
                        message=f"force-unlocked {lock_id} of {current.describe()}",
                    )
            finally:
                session.execute(sa.select(sa.func.pg_advisory_unlock(self._key)))
        return current
