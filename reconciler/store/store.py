"""``StateStore``: the one object the executor, the app and the CLI use for state.

Owns opening a state URL (engine, schema version check, first-use creation with a new
lineage), closing it, and the write lock. Reads, writes, updates and hand edits live
in ``reads``, ``writes``, ``updates`` and ``edits``; locking details in ``locking``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from reconciler.errors import StateUnavailable
from reconciler.store import locking, migrate
from reconciler.store.edits import StateEditor
from reconciler.store.engine import WRITE, create_state_engine, redact
from reconciler.store.records import LockInfo
from reconciler.store.schema import meta
from reconciler.store.writes import utcnow

log = logging.getLogger(__name__)


class StateStore(StateEditor):
    """The state database. Open with ``StateStore.open(url)``; use as a context manager."""

    # SQLite lock timing (seconds): how often a holder proves it is alive, and how old
    # its last proof may be before another process treats the lock as abandoned.
    lock_heartbeat: float = locking.HEARTBEAT_EVERY
    lock_stale_after: float = locking.STALE_AFTER

    @classmethod
    def open(
        cls,
        url: str,
        *,
        upgrade: bool = False,
        lock_heartbeat: float = locking.HEARTBEAT_EVERY,
        lock_stale_after: float = locking.STALE_AFTER,
    ) -> StateStore:
        """Open ``url``: a new database is created at the head revision.

        A database behind the code is refused with ``StateVersionError`` (its hint is the
        command to run) unless ``upgrade`` is true; one ahead of the code is refused.
        """
        engine = create_state_engine(url)
        try:
            if not _ready(engine):
                migrate.ensure_schema(engine, url, upgrade_allowed=upgrade)
                _ensure_meta(engine)
        except OperationalError as exc:
            engine.dispose()
            raise StateUnavailable(
                f"preparing the state database {redact(url)!r} failed: {exc.orig or exc}",
                hint="check that the database is reachable and writable, then retry",
            ) from exc
        except BaseException:
            engine.dispose()
            raise
        store = cls(engine, url)
        store.lock_heartbeat = lock_heartbeat
        store.lock_stale_after = lock_stale_after
        return store

    def _lock_backend(self) -> locking.LockBackend:
        return locking.backend_for(
            self._engine,
            self.lineage(),
            heartbeat=self.lock_heartbeat,
            stale_after=self.lock_stale_after,
        )

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"StateStore({self.url!r})"

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    def current_revision(self) -> str | None:
        return migrate.current_revision(self._engine)

    @staticmethod
    def head_revision() -> str:
        return migrate.head_revision()

    def lineage(self) -> str:
        with self._read() as conn:
            return str(conn.execute(sa.select(meta.c.lineage).where(meta.c.id == 1)).scalar_one())

    # -- the write lock -----------------------------------------------------------------

    @contextmanager
    def lock(
        self, holder: str, *, timeout: float = 0.0, command: str = "", run_id: int | None = None
    ) -> Iterator[LockInfo]:
        """Hold the state's write lock for the ``with`` block.

        Raises ``StateLocked`` (naming the holder and the ``force-unlock`` command) if
        another live process holds it after ``timeout`` seconds of bounded polling.
        """
        backend = self._lock_backend()
        info = backend.acquire(holder, command=command, run_id=run_id, timeout=timeout)
        try:
            yield info
        finally:
            backend.release(info)

    def force_unlock(self, lock_id: str) -> LockInfo:
        """Remove a dead holder's lock; refused while its holder is alive."""
        return self._lock_backend().force_unlock(lock_id)


_LINEAGE_ROW = sa.select(meta.c.id).where(meta.c.id == 1)


def _ready(engine: Engine) -> bool:
    """Whether the schema is at head and the lineage row exists: true for every open after
    the first, checked with two plain reads on one connection (no write lock, no Alembic)."""
    with engine.connect() as conn:
        if migrate.read_revision(conn) != migrate.HEAD_REVISION:
            return False
        return conn.execute(_LINEAGE_ROW).first() is not None


def _ensure_meta(engine: Engine) -> None:
    with engine.connect().execution_options(**{WRITE: True}) as conn:
        try:
            with conn.begin():
                if conn.execute(_LINEAGE_ROW).first() is None:
                    lineage = uuid.uuid4().hex
                    conn.execute(
                        sa.insert(meta).values(id=1, lineage=lineage, serial=0, created_at=utcnow())
                    )
                    log.info("new state, lineage %s", lineage)
        except IntegrityError:
            # Another process created the row between our read and our insert.
            pass


def database_revision(url: str) -> tuple[str | None, str]:
    """``(current, head)`` revisions of ``url``, without creating or upgrading anything."""
    engine = create_state_engine(url)
    try:
        return migrate.current_revision(engine), migrate.head_revision()
    finally:
        engine.dispose()


def upgrade_database(url: str) -> tuple[str | None, str]:
    """Upgrade ``url`` to head (creating it if new); returns ``(before, after)``."""
    engine = create_state_engine(url)
    try:
        before = migrate.current_revision(engine)
        migrate.ensure_schema(engine, url, upgrade_allowed=True)
        _ensure_meta(engine)
        return before, migrate.head_revision()
    finally:
        engine.dispose()
