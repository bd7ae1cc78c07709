"""state list|show|rm|mv, history, force-unlock, db upgrade|current through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import main
from reconciler.store import StateStore, migrate
from reconciler.store.engine import create_state_engine


def _run(tmp_path: Path, url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--project-dir", str(tmp_path), "--state", url, *args])


def _seed(store: StateStore) -> None:
    for address, task in (("video.a", "task-a"), ("video.b", "task-b")):
        op_id = store.record_intent(
            None,
            address=address,
            fingerprint=f"sha256:{address}",
            spec={"model": "m", "prompt": address},
            description=None,
            labels={},
            request={"model": "m"},
        )
        store.record_created(op_id, task_id=task, status="queued", cost=1.0)


def test_list_show_history(tmp_path: Path, store: StateStore, state_url: str) -> None:
    empty = _run(tmp_path, state_url, "state", "list")
    assert empty.exit_code == 0 and "no videos" in empty.stderr
    _seed(store)
    listed = _run(tmp_path, state_url, "state", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ADDRESS", "STATUS", "TASK", "FINGERPRINT", "UPDATED"]
    assert lines[1].split()[:3] == ["video.a", "queued", "task-a"]
    data = json.loads(_run(tmp_path, state_url, "state", "list", "--format", "json").stdout)
    assert [video["address"] for video in data["videos"]] == ["video.a", "video.b"]
    assert data["serial"] == store.serial() and data["format_version"] == 1

    shown = _run(tmp_path, state_url, "state", "show", "video.a")
    assert shown.exit_code == 0 and "task-a" in shown.stdout and "queued" in shown.stdout
    detail = json.loads(
        _run(tmp_path, state_url, "state", "show", "video.a", "--format", "json").stdout
    )
    assert detail["video"]["task_id"] == "task-a"
    assert [task["task_id"] for task in detail["tasks"]] == ["task-a"]

    history = _run(tmp_path, state_url, "history", "video.b")
    assert history.exit_code == 0
    assert "create" in history.stdout and "task task-b" in history.stdout
    assert "video.a" not in history.stdout


def test_rm_and_mv(tmp_path: Path, store: StateStore, state_url: str) -> None:
    _seed(store)
    moved = _run(tmp_path, state_url, "state", "mv", "video.a", "video.c")
    assert moved.exit_code == 0, moved.output
    clash = _run(tmp_path, state_url, "state", "mv", "video.b", "video.c")
    assert clash.exit_code == 1
    assert "Error: cannot move video.b to video.c" in clash.stderr and "hint:" in clash.stderr
    removed = _run(tmp_path, state_url, "state", "rm", "video.c")
    assert removed.exit_code == 0 and "tasks are kept" in removed.stdout
    assert [video.address for video in store.snapshot().videos] == ["video.b"]
    gone = _run(tmp_path, state_url, "state", "show", "video.c")
    assert gone.exit_code == 0 and "no longer in the state" in gone.stdout
    missing = _run(tmp_path, state_url, "state", "show", "video.zzz")
    assert missing.exit_code == 1 and "is not in the state" in missing.stderr
    assert "Traceback" not in missing.output


def test_state_edits_respect_the_lock(tmp_path: Path, store: StateStore, state_url: str) -> None:
    _seed(store)
    with store.lock("someone", command="apply") as info:
        refused = _run(tmp_path, state_url, "state", "rm", "video.a")
        assert refused.exit_code == 1
        assert f"reconciler force-unlock {info.lock_id}" in refused.stderr
        live = _run(tmp_path, state_url, "force-unlock", info.lock_id)
        assert live.exit_code == 1 and "live" in live.stderr
    assert store.video("video.a") is not None


def test_db_current_and_upgrade(tmp_path: Path, state_url: str) -> None:
    head = migrate.head_revision()
    fresh = _run(tmp_path, state_url, "db", "current")
    assert fresh.exit_code == 0 and fresh.stdout.startswith("empty")
    engine = create_state_engine(state_url)
    try:
        migrate.upgrade(engine, "0001")
    finally:
        engine.dispose()
    behind = _run(tmp_path, state_url, "state", "list")
    assert behind.exit_code == 1
    assert "behind" in behind.stderr and "db upgrade" in behind.stderr
    assert _run(tmp_path, state_url, "db", "current").stdout.strip() == f"0001 (head is {head})"
    upgraded = _run(tmp_path, state_url, "db", "upgrade")
    assert upgraded.exit_code == 0 and f"from 0001 to {head}" in upgraded.stdout
    again = _run(tmp_path, state_url, "db", "upgrade")
    assert "already at" in again.stdout
    assert _run(tmp_path, state_url, "db", "current").stdout.strip() == f"{head} (head)"


@pytest.mark.parametrize(
    "url", ["postgresql://u:hunter2@127.0.0.1:1/x", "mysql://u:hunter2@h/x", "nonsense"]
)
def test_bad_state_urls_are_errors_not_tracebacks(tmp_path: Path, url: str) -> None:
    result = _run(tmp_path, url, "state", "list")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and "hint: " in result.stderr
    assert "hunter2" not in result.output and "Traceback" not in result.output
