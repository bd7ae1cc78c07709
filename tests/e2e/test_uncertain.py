"""Accept-then-drop: the create is made, the answer is lost. Never resent silently."""

from __future__ import annotations

import json

from tests.e2e.harness import Emulator, Project

SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  alpha:
    prompt: A glass of water on a table, morning light.
  beta:
    prompt: A red umbrella in the rain, slow motion.
"""


def actions(project: Project) -> dict[str, str]:
    plan = project.run("plan", "--format", "json")
    assert plan.code == 0, plan.stderr
    return {c["address"]: c["action"] for c in json.loads(plan.stdout)["changes"]}


def test_dropped_creates_are_uncertain_then_adopted_or_retried(
    project: Project, emulator: Emulator
) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", SPECS)
    project.write("reconciler.yaml", "poll_interval: 0.2\n")
    emulator.admin(drop_after_create_rate=1.0)

    first = project.run("apply", "--auto-approve", "--no-wait")
    assert first.code == 1, first.stdout + first.stderr
    assert "2 uncertain" in first.stdout
    assert actions(project) == {"video.alpha": "uncertain", "video.beta": "uncertain"}
    assert emulator.stats()["total_creates"] == 2

    emulator.admin(drop_after_create_rate=0.0)
    again = project.run("apply", "--auto-approve", "--no-wait")
    assert again.code == 1
    assert emulator.stats()["total_creates"] == 2, "an uncertain create is never resent silently"

    listed = json.loads(project.run("state", "list", "--format", "json").stdout)["videos"]
    fingerprints = {row["address"]: row["fingerprint"] for row in listed}
    task_ids = emulator.stats()["task_ids_by_fingerprint"]
    assert isinstance(task_ids, dict)
    (alpha_task,) = task_ids[fingerprints["video.alpha"]]

    adopted = project.run("state", "adopt", "video.alpha", alpha_task)
    assert adopted.code == 0, adopted.stderr
    assert alpha_task in adopted.stdout
    wrong = project.run("state", "adopt", "video.beta", "no-such-task")
    assert wrong.code == 1
    assert "Traceback" not in wrong.stderr

    retried = project.run("apply", "--auto-approve", "--wait", "--retry-uncertain", "video.beta")
    assert retried.code == 0, retried.stdout + retried.stderr
    assert actions(project) == {}
    by_fingerprint = emulator.stats()["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert by_fingerprint[fingerprints["video.alpha"]] == 1
    assert by_fingerprint[fingerprints["video.beta"]] == 2, "retried once, explicitly"
    assert sorted(p.name for p in (project.root / "out").iterdir()) == ["alpha.mp4", "beta.mp4"]
