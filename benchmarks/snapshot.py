"""Target 7: a snapshot of 100,000 rows in <= 0.5 s, on SQLite and on PostgreSQL.

Floors, through the bare DB-API driver (sqlite3 / psycopg ``fetchall``), no records:
the store's own SELECT (JSON and timestamps as text: what reading alone costs), and the
plain SELECT of the columns, as the earlier figures used (on PostgreSQL psycopg then
decodes every JSON value). Also a 10,000-row snapshot, the size the warm plan reads.
PostgreSQL runs in a scratch database that is dropped.
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import PG_URL_DEFAULT, cpu_median, measure, note, report
from benchmarks.state import seed, synthetic_videos
from reconciler.store import StateStore

ROWS = 100_000
SMALL = 10_000
SELECT = (
    "SELECT address, fingerprint, spec, description, labels, status, task_id, progress, "
    "attempts, error_message, result_url, result_expires_at, file_path, file_sha256, "
    "updated_at FROM videos ORDER BY address"
)


@contextmanager
def scratch_pg() -> Iterator[str | None]:
    """A fresh database on the test server; yields its URL, or None if unreachable."""
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
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def store_select(store: StateStore) -> str:
    """The SQL of the store's snapshot SELECT, with its constants inlined.

    A tree from before this SELECT existed (a "before" run) gets the plain SELECT.
    """
    from reconciler.store import reads

    select = getattr(reads, "_video_select", None)
    if select is None:
        return SELECT
    dialect = store.engine.dialect
    query: sa.Select[*tuple[object, ...]] = select(dialect.name)
    return str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def _bench(label: str, url: str, fetch: Callable[[str], object], runs: int) -> None:
    for rows in (ROWS, SMALL):
        seed(url, synthetic_videos(rows))
        with StateStore.open(url) as store:
            stats = measure(store.snapshot, runs)
            count = len(store.snapshot().videos)
            own = store_select(store)
        floor = measure(lambda sql=own: fetch(sql), runs)
        report(f"{label}: raw store SELECT (the floor)", floor)
        if rows == ROWS:
            report(f"{label}: raw plain SELECT", measure(lambda: fetch(SELECT), runs))
        report(
            f"{label}: StateStore.snapshot() {count} rows",
            stats,
            floor.median,
            "raw store SELECT",
            cpu_median(floor),
        )
        if rows == ROWS:
            note(f"target <= 0.5 s: {'met' if stats.median <= 0.5 else 'NOT met'}")


def run(work: Path, runs: int) -> None:
    db = work / "snapshot.db"
    db.unlink(missing_ok=True)

    def fetch_sqlite(sql: str) -> None:
        with sqlite3.connect(db) as conn:
            conn.execute(sql).fetchall()

    _bench("SQLite", f"sqlite:///{db}", fetch_sqlite, runs)
    with scratch_pg() as pg:
        if pg is None:
            note("PostgreSQL: skipped (not reachable)")
            return
        import psycopg

        def fetch_pg(sql: str) -> None:
            with psycopg.connect(pg) as conn:
                conn.execute(sql).fetchall()

        _bench("PostgreSQL", pg, fetch_pg, runs)
