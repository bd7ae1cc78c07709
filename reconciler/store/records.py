"""Plain rows the store hands out besides the ``Snapshot``: journal, tasks, runs, the lock.

The store builds them from trusted database rows; callers get frozen data only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import JsonValue

from reconciler.model import Frozen


class OpState(enum.StrEnum):
    """Where a journal entry stands. Only paid calls ever sit in ``intent``."""

    INTENT = "intent"
    DONE = "done"
    REJECTED = "rejected"
    UNCERTAIN = "uncertain"


class OpKind(enum.StrEnum):
    CREATE = "create"
    ADOPT = "adopt"
    RM = "rm"
    MV = "mv"
    FORGET = "forget"
    UPDATE = "update"
    REFRESH = "refresh"
    DOWNLOAD = "download"
    ASSET = "asset"
    LOCK = "lock"


class JournalEntry(Frozen):
    """One row of the operations journal."""

    id: int
    run_id: int | None
    kind: str
    address: str | None
    fingerprint: str | None
    request: dict[str, JsonValue] | None
    state: OpState
    task_id: str | None
    message: str | None
    created_at: datetime
    finished_at: datetime | None


class TaskRow(Frozen):
    """A task that was created (and paid for) for an address."""

    task_id: str
    address: str
    fingerprint: str
    spec: dict[str, JsonValue]
    status: str
    error_message: str | None
    cost: float | None
    result_url: str | None = None
    result_expires_at: datetime | None = None
    run_id: int | None
    operation_id: int | None
    created_at: datetime
    updated_at: datetime


class RunRow(Frozen):
    id: int
    command: str
    user: str
    host: str
    pid: int
    git_commit: str | None
    started_at: datetime
    finished_at: datetime | None
    outcome: str | None


class LockInfo(Frozen):
    """Who holds (or held) the state's write lock."""

    lock_id: str
    holder: str
    command: str
    pid: int
    host: str
    run_id: int | None
    acquired_at: datetime
    heartbeat_at: datetime
    # Set when this acquisition replaced a dead holder's lock: why it was judged dead.
    took_over: str | None = None

    def describe(self) -> str:
        return (
            f"{self.holder} (pid {self.pid} on {self.host}, command {self.command!r}) "
            f"since {self.acquired_at.isoformat(timespec='seconds')}"
        )
