"""Fresh PostgreSQL schemas for torture trials, outside pytest as well as inside.

The same trick as the ``pg_url`` fixture of ``tests/conftest.py`` (a schema per trial,
made the search path through the connection options), usable from ``scripts/torture``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url


def admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def reachable(base: str) -> str | None:
    """None when the server answers, else the reason it does not."""
    try:
        with psycopg.connect(admin_dsn(base), autocommit=True, connect_timeout=5):
            return None
    except psycopg.Error as exc:
        return f"PostgreSQL at {make_url(base)!r} is unreachable: {exc}"


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A state URL whose tables land in a new schema, dropped on exit."""
    name = f"torture_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_dsn(base), autocommit=True, connect_timeout=5) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    # The application name lets a fault test find this trial's connections, and only them.
    query = {"options": f"-csearch_path={name}", "application_name": name}
    url = make_url(base).update_query_dict(query)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn(base), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


def schema_of(url: str) -> str:
    options = make_url(url).query.get("options", "")
    text = options if isinstance(options, str) else options[0]
    return text.removeprefix("-csearch_path=")


def terminate_backends(base: str, schema: str) -> int:
    """Kill every connection of the trial on ``schema``; how many were killed."""
    with psycopg.connect(admin_dsn(base), autocommit=True, connect_timeout=5) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE pid <> pg_backend_pid() AND application_name = %s",
            (schema,),
        ).fetchall()
    return len(rows)
