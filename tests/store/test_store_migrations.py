"""Alembic: one head, round trips, no drift, version checks, data kept across upgrades."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reconciler.errors import StateUnavailable, StateVersionError
from reconciler.store import StateStore, database_revision, migrate, upgrade_database
from reconciler.store.engine import create_state_engine
from reconciler.store.schema import metadata
from tests.store.raw import edit_new_state

TABLES = {"meta", "videos", "tasks", "assets", "runs", "operations", "lock"}


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def _revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def test_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    assert migrate.head_revision() == _revisions()[-1]


def test_upgrade_downgrade_upgrade(state_url: str) -> None:
    engine = create_state_engine(state_url)
    try:
        migrate.upgrade(engine)
        assert _tables(engine) == TABLES
        migrate.downgrade(engine, "base")
        assert _tables(engine) == set()
        assert migrate.current_revision(engine) is None
        for revision in _revisions():  # one step at a time, each step reversible
            migrate.upgrade(engine, revision)
            migrate.downgrade(engine, "-1")
            migrate.upgrade(engine, revision)
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert _tables(engine) == TABLES
    finally:
        engine.dispose()


def test_models_and_migrations_do_not_drift(store: StateStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []


def test_old_database_keeps_its_data(state_url: str) -> None:
    engine = create_state_engine(state_url)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    try:
        migrate.upgrade(engine, _revisions()[0])
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO meta (id, lineage, serial, created_at) "
                    "VALUES (1, 'feedfacefeedfacefeedfacefeedface', 7, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO videos (address, fingerprint, spec, labels, status, task_id, "
                    "progress, attempts, result_url, result_expires_at, created_at, updated_at) "
                    "VALUES ('video.a', 'fp', '{\"model\": \"m\"}', '{}', 'completed', 't1', "
                    "100, 1, 'https://cdn/a.mp4', :now, :now, :now)"
                ),
                {"now": now},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO tasks (task_id, address, fingerprint, spec, status, cost, "
                    "created_at, updated_at) VALUES ('t0', 'video.a', 'old', '{}', 'completed', "
                    "1.5, :now, :now), ('t1', 'video.a', 'fp', '{}', 'completed', 2, :now, :now)"
                ),
                {"now": now},
            )
    finally:
        engine.dispose()
    with pytest.raises(StateVersionError):
        StateStore.open(state_url)
    with StateStore.open(state_url, upgrade=True) as store:
        snapshot = store.snapshot()
        assert (snapshot.lineage, snapshot.serial) == ("feedface" * 4, 7)
        (video,) = snapshot.videos
        assert (video.address, video.spec, video.task_id) == ("video.a", {"model": "m"}, "t1")
        tasks = {task.task_id: task for task in store.tasks("video.a")}
        assert set(tasks) == {"t0", "t1"}
        assert tasks["t0"].cost == 1.5 and tasks["t0"].result_url is None
        assert tasks["t1"].result_url == "https://cdn/a.mp4"
        assert tasks["t1"].result_expires_at == now


def test_behind_is_refused_with_the_upgrade_command(state_url: str) -> None:
    if len(_revisions()) < 2:
        pytest.skip("needs two revisions")
    engine = create_state_engine(state_url)
    try:
        migrate.upgrade(engine, _revisions()[-2])
    finally:
        engine.dispose()
    with pytest.raises(StateVersionError) as caught:
        StateStore.open(state_url)
    assert "behind" in caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("reconciler --state '")
    assert caught.value.hint.endswith("' db upgrade")
    assert database_revision(state_url) == (_revisions()[-2], migrate.head_revision())
    assert upgrade_database(state_url) == (_revisions()[-2], migrate.head_revision())
    StateStore.open(state_url).close()


def test_default_url_hint_is_the_bare_command() -> None:
    assert migrate.upgrade_hint("sqlite:///.reconciler/state.db") == "reconciler db upgrade"
    absolute = f"sqlite:///{Path.cwd() / '.reconciler' / 'state.db'}"
    assert migrate.upgrade_hint(absolute) == "reconciler db upgrade"


def test_ahead_is_refused(state_url: str) -> None:
    edit_new_state(state_url, "UPDATE alembic_version SET version_num = 'from_the_future'")
    with pytest.raises(StateVersionError, match="newer than this reconciler") as caught:
        StateStore.open(state_url, upgrade=True)
    assert caught.value.hint is not None and "upgrade reconciler" in caught.value.hint


def test_new_database_is_created_once(state_url: str) -> None:
    with StateStore.open(state_url) as first:
        lineage = first.lineage()
    with StateStore.open(state_url) as again:
        assert again.lineage() == lineage


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("mysql://root@127.0.0.1/x", "unsupported scheme"),
        ("not a url", "not a database URL"),
        ("postgresql://user:s3cret@127.0.0.1:1/db", "cannot open"),
        ("postgresql://user:s3cret@no-such-host.invalid/db", "cannot open"),
        ("sqlite:////proc/forbidden/state.db", "cannot"),
        ("sqlite://", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
    ],
)
def test_unreachable_urls_raise_state_unavailable(url: str, needle: str) -> None:
    with pytest.raises(StateUnavailable, match=needle) as caught:
        StateStore.open(url)
    assert "s3cret" not in caught.value.message
    assert caught.value.hint


def test_sqlite_path_under_a_file(tmp_path: Path) -> None:
    # A file where a directory should be: fails even as root, unlike permissions.
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    with pytest.raises(StateUnavailable, match="cannot create the directory") as caught:
        StateStore.open(f"sqlite:///{blocker / 'sub' / 'state.db'}")
    assert caught.value.hint


def test_migrations_found_in_checkout() -> None:
    assert (migrate.migrations_dir() / "env.py").is_file()


def test_concurrent_first_use_creates_one_schema(state_url: str) -> None:
    code = (
        "import sys\n"
        "from reconciler.store import StateStore\n"
        "with StateStore.open(sys.argv[1]) as store:\n"
        "    print(store.lineage())\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, state_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [proc.communicate(timeout=60) for proc in procs]
    assert [proc.returncode for proc in procs] == [0] * 4, outputs
    assert len({out.strip() for out, _ in outputs}) == 1
