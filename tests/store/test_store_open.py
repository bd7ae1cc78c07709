"""Opening a state at head: one SELECT of the revision, no Alembic, no write lock."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from reconciler.errors import StateVersionError
from reconciler.store import StateStore, migrate
from reconciler.store.engine import create_state_engine
from tests.store.raw import edit_new_state


def test_head_revision_names_the_newest_migration() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert heads == [migrate.HEAD_REVISION], (
        "a migration was added: set HEAD_REVISION in reconciler/store/migrate.py to "
        f"{heads}, the migrations' head"
    )


def test_current_revision_of_a_new_database_is_none(state_url: str) -> None:
    engine = create_state_engine(state_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        assert migrate.current_revision(engine) == migrate.HEAD_REVISION
    finally:
        engine.dispose()


def test_two_recorded_revisions_are_refused(state_url: str) -> None:
    edit_new_state(state_url, "INSERT INTO alembic_version (version_num) VALUES ('0001')")
    with pytest.raises(StateVersionError, match="2 schema revisions"):
        StateStore.open(state_url)


def test_opening_at_head_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    StateStore.open(url).close()  # created (and migrated) here
    code = (
        "import sys\n"
        "from reconciler.store import StateStore\n"
        "with StateStore.open(sys.argv[1]) as store:\n"
        "    store.snapshot()\n"
        "print(any(m == 'alembic' or m.startswith('alembic.') for m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, url], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False", done.stderr


def test_opening_an_existing_state_takes_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    url = f"sqlite:///{path}"
    with StateStore.open(url) as store:
        lineage = store.lineage()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        with StateStore.open(url) as store:
            assert store.snapshot().lineage == lineage
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_a_state_at_head_without_its_lineage_row_gets_one(state_url: str) -> None:
    # What a process killed between creating the schema and the lineage row leaves.
    edit_new_state(state_url, "DELETE FROM meta")
    with StateStore.open(state_url) as store:
        assert len(store.lineage()) == 32
