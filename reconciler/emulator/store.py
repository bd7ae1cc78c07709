"""The emulator's persistent state: one SQLite file (WAL) holding tasks, audit assets, uploads,
the account balance and the create counters.

Every write is one short transaction under a process-wide lock on a single connection: SQLite
serialises writers anyway, and one connection keeps WAL checkpoints simple. A create is a single
transaction (balance check, charge, task row, counters), so a client that loses the response can
never observe a half-made task. Separate server runs on the same file see the same state.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY, model TEXT NOT NULL, route TEXT NOT NULL, billing TEXT NOT NULL,
    prompt TEXT NOT NULL, duration INTEGER NOT NULL, resolution TEXT NOT NULL,
    created_at REAL NOT NULL, queue_s REAL NOT NULL, run_s REAL NOT NULL, cost REAL NOT NULL,
    tokens INTEGER, error_message TEXT
);
CREATE TABLE IF NOT EXISTS assets (
    asset_id TEXT PRIMARY KEY, url TEXT NOT NULL, asset_type TEXT NOT NULL,
    created_at REAL NOT NULL, ready_at REAL NOT NULL, outcome TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT NOT NULL, filename TEXT NOT NULL, size INTEGER NOT NULL, mime_type TEXT NOT NULL,
    PRIMARY KEY (sha256, filename)
);
CREATE TABLE IF NOT EXISTS task_fingerprints (
    task_id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    kind TEXT NOT NULL, key TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (kind, key)
);
"""


@dataclass(frozen=True, slots=True)
class TaskRow:
    task_id: str
    model: str
    route: str
    billing: str
    prompt: str
    duration: int
    resolution: str
    created_at: float
    queue_s: float
    run_s: float
    cost: float
    tokens: int | None
    error_message: str | None


@dataclass(frozen=True, slots=True)
class AssetRow:
    asset_id: str
    url: str
    asset_type: str
    created_at: float
    ready_at: float
    outcome: str


@dataclass(frozen=True, slots=True)
class Balance:
    balance: float
    used_coin: float

    @property
    def available(self) -> float:
        return round(self.balance - self.used_coin, 6)


class InsufficientBalance(Exception):
    """The account cannot pay for the task."""


class Store:
    """All reads and writes of the state file."""

    def __init__(self, path: Path, initial_balance: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._initial_balance = initial_balance
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), check_same_thread=False, isolation_level=None, timeout=30
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('balance', ?), ('used_coin', '0'),"
                " ('secret', ?)",
                (repr(initial_balance), secrets.token_hex(32)),
            )

    @property
    def path(self) -> Path:
        return self._path

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _meta(self, db: sqlite3.Connection, key: str) -> str:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])

    def secret(self) -> bytes:
        with self._tx() as db:
            return bytes.fromhex(self._meta(db, "secret"))

    def balance(self) -> Balance:
        with self._tx() as db:
            return Balance(float(self._meta(db, "balance")), float(self._meta(db, "used_coin")))

    def set_balance(self, balance: float) -> None:
        """Admin: make `balance` available (used_coin is kept as history)."""
        with self._tx() as db:
            used = float(self._meta(db, "used_coin"))
            db.execute("UPDATE meta SET value = ? WHERE key = 'balance'", (repr(balance + used),))

    def create_task(self, task: TaskRow, body_hash: str, fingerprint: str | None) -> None:
        """Charge, store and count one create atomically; raise InsufficientBalance."""
        with self._tx() as db:
            balance = float(self._meta(db, "balance"))
            used = float(self._meta(db, "used_coin"))
            if balance - used < task.cost:
                raise InsufficientBalance
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'used_coin'", (repr(used + task.cost),)
            )
            db.execute(
                "INSERT INTO tasks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    task.task_id, task.model, task.route, task.billing, task.prompt,
                    task.duration, task.resolution, task.created_at, task.queue_s, task.run_s,
                    task.cost, task.tokens, task.error_message,
                ),
            )  # fmt: skip
            self._count(db, "body", body_hash)
            if fingerprint is not None:
                self._count(db, "fingerprint", fingerprint)
                db.execute(
                    "INSERT INTO task_fingerprints VALUES (?, ?)", (task.task_id, fingerprint)
                )

    @staticmethod
    def _count(db: sqlite3.Connection, kind: str, key: str) -> None:
        db.execute(
            "INSERT INTO counters VALUES (?, ?, 1) ON CONFLICT (kind, key) DO UPDATE SET n = n + 1",
            (kind, key),
        )

    def task(self, task_id: str) -> TaskRow | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return None if row is None else TaskRow(*row)

    def add_assets(self, assets: list[AssetRow]) -> None:
        with self._tx() as db:
            db.executemany(
                "INSERT INTO assets VALUES (?,?,?,?,?,?)",
                [
                    (a.asset_id, a.url, a.asset_type, a.created_at, a.ready_at, a.outcome)
                    for a in assets
                ],
            )

    def asset(self, asset_id: str) -> AssetRow | None:
        with self._tx() as db:
            row = db.execute("SELECT * FROM assets WHERE asset_id = ?", (asset_id,)).fetchone()
        return None if row is None else AssetRow(*row)

    def add_upload(self, sha256: str, filename: str, size: int, mime_type: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO uploads VALUES (?,?,?,?)",
                (sha256, filename, size, mime_type),
            )

    def stats(self) -> dict[str, object]:
        with self._tx() as db:
            by_kind: dict[str, dict[str, int]] = {"body": {}, "fingerprint": {}}
            for kind, key, n in db.execute("SELECT kind, key, n FROM counters"):
                by_kind.setdefault(kind, {})[key] = n
            tasks = db.execute("SELECT count(*) FROM tasks").fetchone()[0]
            task_ids: dict[str, list[str]] = {}
            for task_id, fingerprint in db.execute(
                "SELECT task_id, fingerprint FROM task_fingerprints ORDER BY task_id"
            ):
                task_ids.setdefault(fingerprint, []).append(task_id)
            assets = db.execute("SELECT count(*) FROM assets").fetchone()[0]
            uploads = db.execute("SELECT count(*) FROM uploads").fetchone()[0]
        return {
            "total_creates": sum(by_kind["body"].values()),
            "creates_by_body": by_kind["body"],
            "creates_by_fingerprint": by_kind["fingerprint"],
            # Lets a test resolve an uncertain create with the task the server did make.
            "task_ids_by_fingerprint": task_ids,
            "tasks": tasks,
            "assets": assets,
            "uploads": uploads,
        }

    def reset(self) -> None:
        """Forget every task, asset, upload and counter; restore the initial balance."""
        with self._tx() as db:
            for table in ("tasks", "task_fingerprints", "assets", "uploads", "counters"):
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'balance'", (repr(self._initial_balance),)
            )
            db.execute("UPDATE meta SET value = '0' WHERE key = 'used_coin'")
