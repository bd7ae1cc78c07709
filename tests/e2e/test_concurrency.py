"""Two applies at once on one state, on SQLite and on PostgreSQL, through the real CLI.

Exactly one proceeds; the other fails fast naming the holder and the force-unlock
command, or waits with --lock-timeout and then finds nothing left to create. `plan`
works while an apply holds the lock. Nothing is created twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Project
from tests.e2e.test_interrupts import many_videos, start_apply, wait_for_line

# Enough rounds (VIDEOS / parallelism 4, 1.5 s each) that the first apply still runs while
# the second starts, even on a loaded machine.
VIDEOS = 24


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def shared_state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared' / 'state.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_one_writer_at_a_time(
    project: Project, emulator: Emulator, tmp_path: Path, shared_state: str
) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.env["RECONCILER_STATE_URL"] = shared_state
    project.write("specs/many.yaml", many_videos(VIDEOS))
    emulator.admin(latency_ms=1500)
    log = tmp_path / "first.log"
    first = start_apply(project, log)
    try:
        wait_for_line(log, " created: ")

        refused = project.run("apply", "--auto-approve", "--no-wait")
        assert refused.code == 1, refused.stdout + refused.stderr
        assert "force-unlock" in refused.stderr
        assert "Traceback" not in refused.stderr

        during = project.run("plan", "--format", "json")
        assert during.code == 0, during.stderr

        waited = project.run("apply", "--auto-approve", "--no-wait", "--lock-timeout", "120")
        assert waited.code == 0, waited.stdout + waited.stderr
    finally:
        assert first.wait(timeout=120) == 0, log.read_text()

    stats = emulator.stats()
    assert stats["total_creates"] == VIDEOS
    by_fingerprint = stats["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert set(by_fingerprint.values()) == {1}
    changes = json.loads(project.run("plan", "--format", "json").stdout)["changes"]
    assert {c["action"] for c in changes} <= {"wait", "download"}
