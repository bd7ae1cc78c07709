"""`apply --no-wait` then `refresh`: the later run downloads what the first one started."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Project, start_emulator, stop_emulator

SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  dawn:
    prompt: Dawn over a harbour, gulls circling.
  dusk:
    prompt: Dusk over the same harbour, lights coming on.
  night:
    prompt: Night, the harbour lit by a single lighthouse.
"""


@pytest.fixture
def slow_tasks(tmp_path: Path) -> Iterator[Emulator]:
    running = start_emulator(tmp_path / "slow.db", "--run-seconds", "4")
    try:
        yield running
    finally:
        stop_emulator(running)


def statuses(project: Project) -> dict[str, str]:
    listed = project.run("state", "list", "--format", "json")
    assert listed.code == 0, listed.stderr
    return {row["address"]: row["status"] for row in json.loads(listed.stdout)["videos"]}


def counts(summary: str) -> tuple[int, int]:
    """(downloaded, still running) from the summary line."""
    found = re.search(r"(\d+) downloaded, .* (\d+) still running", summary)
    assert found is not None, summary
    return int(found[1]), int(found[2])


def test_refresh_downloads_what_apply_left_running_and_then_does_nothing(
    project: Project, slow_tasks: Emulator
) -> None:
    project.env["SEEDANCE_API_URL"] = slow_tasks.url
    project.write("specs/videos.yaml", SPECS)
    project.write("reconciler.yaml", "poll_interval: 0.2\n")

    started = project.run("apply", "--auto-approve", "--no-wait")
    assert started.code == 0, started.stdout + started.stderr
    assert "3 created, 0 completed, 0 downloaded" in started.stdout
    assert "reconciler refresh" in started.stdout
    assert set(statuses(project).values()) <= {"queued", "processing"}
    assert not (project.root / "out").exists()

    # One look at each task. Normally all three still run (4 s); on a loaded machine some
    # may have finished, and those are downloaded now: either way nothing waits.
    glance = project.run("refresh", "--no-wait")
    assert glance.code == 0, glance.stdout + glance.stderr
    early, running = counts(glance.stdout)
    assert early + running == 3, glance.stdout
    if running:
        assert "reconciler refresh" in glance.stdout

    refreshed = project.run("refresh")
    assert refreshed.code == 0, refreshed.stdout + refreshed.stderr
    assert counts(refreshed.stdout) == (3 - early, 0), refreshed.stdout
    assert sorted(p.name for p in (project.root / "out").iterdir()) == [
        "dawn.mp4",
        "dusk.mp4",
        "night.mp4",
    ]
    assert set(statuses(project).values()) == {"completed"}

    again = project.run("refresh")
    assert again.code == 0, again.stdout + again.stderr
    assert "0 completed, 0 downloaded" in again.stdout
    assert "downloaded:" not in again.stderr

    plan = project.run("plan", "--detailed-exitcode")
    assert plan.code == 0, plan.stdout + plan.stderr
    assert slow_tasks.stats()["total_creates"] == 3
