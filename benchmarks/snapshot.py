"""Target 7: a snapshot of 100,000 rows in <= 0.5 s, on SQLite and on PostgreSQL.

Floor: the same SELECT through the bare DB-API driver (sqlite3 / psycopg ``fetchall``),
no type processing and no records. PostgreSQL runs in a scratch database that is dropped.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchmarks.common import PG_URL_DEFAULT, cpu_median, measure, note, report
from benchmarks.state import seed, synthetic_videos
from reconciler.store import StateStore

ROWS = 100_000
SELECT = (
    "SELECT address, fingerprint, spec, description, labels, status, task_id, progress, "
    "attempts, error_message, result_url, result_expires_at, file_path, file_sha256, "
    "updated_at FROM videos ORDER BY address"
)


@contextmanager
def scratch_pg() -> Iterator[tuple[str, str] | None]:
    """A fresh database on the test server; yields (sqlalchemy url, libpq url) or None."""
    try:
        import psycopg
    except ImportError:
        yield None
        return
    base = os.environ.get("RECONCILER_TEST_PG_URL", PG_URL_DEFAULT)
    name = f"reconciler_bench_{uuid.uuid4().hex[:8]}"
    try:
        admin = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        note(f"PostgreSQL not reachable at {base}: {exc}")
        yield None
        return
    try:
        admin.execute(f'CREATE DATABASE "{name}"')
        url = base.rsplit("/", 1)[0] + "/" + name
        yield url, url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _bench(label: str, url: str, raw: object, runs: int) -> None:
    seed(url, synthetic_videos(ROWS))
    with StateStore.open(url) as store:
        stats = measure(store.snapshot, runs)
        count = len(store.snapshot().videos)
    floor = measure(raw, runs)  # type: ignore[arg-type]
    report(f"{label}: raw SELECT (the floor)", floor)
    report(
        f"{label}: StateStore.snapshot() {count} rows",
        stats,
        floor.median,
        "raw SELECT",
        cpu_median(floor),
    )
    note(f"target <= 0.5 s: {'met' if stats.median <= 0.5 else 'NOT met'}")


def run(work: Path, runs: int) -> None:
    db = work / "snapshot.db"
    db.unlink(missing_ok=True)

    def raw_sqlite() -> None:
        with sqlite3.connect(db) as conn:
            conn.execute(SELECT).fetchall()

    _bench("SQLite", f"sqlite:///{db}", raw_sqlite, runs)
    with scratch_pg() as pg:
        if pg is None:
            note("PostgreSQL: skipped (not reachable)")
            return
        import psycopg

        def raw_pg() -> None:
            with psycopg.connect(pg[1]) as conn:
                conn.execute(SELECT).fetchall()

        _bench("PostgreSQL", pg[0], raw_pg, runs)
