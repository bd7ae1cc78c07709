"""Fixtures shared by every test folder: a state URL on SQLite and on PostgreSQL.

PostgreSQL comes from ``RECONCILER_TEST_PG_URL``; every test gets a fresh schema (CREATE
SCHEMA with a random name, made the search path, dropped afterwards). Without the
variable, or when the server is unreachable, PostgreSQL cases skip with the reason,
except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.e2e.harness import Emulator, running_emulator

PG_ENV = "RECONCILER_TEST_PG_URL"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
    pytest.skip(reason)


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL whose tables all land in a fresh, empty schema, dropped after the test.

    A schema per test (``search_path`` set through the connection options) is much
    cheaper than a database per test, and just as isolated for the store.
    """
    base = os.environ.get(PG_ENV)
    if not base:
        _unavailable(f"{PG_ENV} is not set")
        raise AssertionError("unreachable")
    name = f"reconciler_test_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(_admin_dsn(base), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    except psycopg.OperationalError as exc:
        _unavailable(f"PostgreSQL at {make_url(base)!r} is unreachable: {exc}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(_admin_dsn(base), autocommit=True, connect_timeout=5) as admin:
            admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    """A running emulator process with default knobs, stopped after the test."""
    with running_emulator(tmp_path / "emulator.db") as running:
        yield running
