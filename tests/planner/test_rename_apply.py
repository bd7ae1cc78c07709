"""A rename with new labels, and a relabel while running, converge in one real apply."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import Emulator, new_project

SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  boat:
    prompt: A paper boat drifts down a neon canal at night.
"""
RENAMED = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  paper-boat:
    prompt: A paper boat drifts down a neon canal at night.
    description: renamed and described
    labels: {campaign: launch}
"""


def test_rename_and_relabel_converge_in_one_apply(tmp_path: Path, emulator: Emulator) -> None:
    project = new_project(tmp_path)
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("reconciler.yaml", "poll_interval: 0.2\n")
    project.write("specs/videos.yaml", SPECS)
    assert project.run("apply", "--auto-approve", "--wait").code == 0

    project.write("specs/videos.yaml", RENAMED)
    planned = project.run("plan", "--format", "json", "--detailed-exitcode")
    assert planned.code == 2, planned.stderr
    changes = [(c["address"], c["action"]) for c in json.loads(planned.stdout)["changes"]]
    assert changes == [("video.paper-boat", "move"), ("video.paper-boat", "update")]

    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.code == 0, applied.stderr + applied.stdout
    again = project.run("plan", "--detailed-exitcode")
    assert again.code == 0, again.stdout + again.stderr
    shown = project.run("state", "show", "video.paper-boat")
    assert "renamed and described" in shown.stdout
    assert emulator.stats()["total_creates"] == 1
