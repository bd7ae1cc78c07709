"""The state store: SQLite or PostgreSQL through SQLAlchemy, Alembic migrations, the
write lock and the operations journal (DESIGN §4, §6).

The planner reads a ``Snapshot`` (``StateStore.plan_snapshot``: only what it needs;
``StateStore.snapshot``: every record whole); only the executor and the state commands
write, each write one committed, journaled transaction.
"""

from reconciler.store.engine import DEFAULT_STATE_URL, redact
from reconciler.store.records import JournalEntry, LockInfo, OpKind, OpState, RunRow, TaskRow
from reconciler.store.store import StateStore, database_revision, upgrade_database
from reconciler.store.updates import KEEP, Keep

__all__ = [
    "DEFAULT_STATE_URL",
    "KEEP",
    "JournalEntry",
    "Keep",
    "LockInfo",
    "OpKind",
    "OpState",
    "RunRow",
    "StateStore",
    "TaskRow",
    "database_revision",
    "redact",
    "upgrade_database",
]
