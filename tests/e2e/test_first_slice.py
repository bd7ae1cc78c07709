"""The first slice end to end: validate, plan, apply, plan again, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.harness import Emulator, Project

SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
  ratio: "16:9"
videos:
  boat:
    prompt: A paper boat drifts down a neon canal at night, slow dolly-in.
  spin:
    prompt: A sneaker rotating on a turntable, studio light.
    ratio: "1:1"
  sunrise:
    prompt: Time-lapse of sunrise over a foggy valley.
    duration: 8
"""

CONFIG = """\
poll_interval: 0.2
pricing:
  seedance2.0-mini-720p: {mode: per_second, unit_price: 0.05}
"""


def setup_project(project: Project, emulator: Emulator) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", SPECS)
    project.write("reconciler.yaml", CONFIG)


def test_plan_apply_plan(project: Project, emulator: Emulator) -> None:
    setup_project(project, emulator)
    assert project.run("validate").code == 0

    before = project.run("plan", "--detailed-exitcode")
    assert before.code == 2, before.stderr
    assert "Plan: 3 to create" in before.stdout
    assert "Estimated cost: 0.9 JimiCoin (18 s)" in before.stdout

    applied = project.run("apply", "--auto-approve", "--wait")
    assert applied.code == 0, applied.stderr + applied.stdout
    assert "3 created, 3 completed, 3 downloaded" in applied.stdout
    videos = sorted(p.name for p in (project.root / "out").iterdir())
    assert videos == ["boat.mp4", "spin.mp4", "sunrise.mp4"]
    assert all((project.root / "out" / name).read_bytes()[4:8] == b"ftyp" for name in videos)

    after = project.run("plan", "--detailed-exitcode")
    assert after.code == 0, after.stderr
    assert "No changes." in after.stdout

    stats = emulator.stats()
    assert stats["total_creates"] == 3
    by_fingerprint = stats["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert sorted(by_fingerprint.values()) == [1, 1, 1]


def test_edit_and_remove_give_replace_and_forget(project: Project, emulator: Emulator) -> None:
    setup_project(project, emulator)
    assert project.run("apply", "--auto-approve", "--wait").code == 0
    edited = SPECS.replace("studio light", "soft daylight").replace(
        "  sunrise:\n    prompt: Time-lapse of sunrise over a foggy valley.\n    duration: 8\n", ""
    )
    project.write("specs/videos.yaml", edited)
    plan = project.run("plan", "--format", "json", "--detailed-exitcode")
    assert plan.code == 2, plan.stderr
    document = json.loads(plan.stdout)
    assert [(c["address"], c["action"], c["reason"]) for c in document["changes"]] == [
        ("video.spin", "replace", "fingerprint_changed"),
        ("video.sunrise", "forget", "removed_from_specs"),
    ]
    text = project.run("plan").stdout
    assert "[-studio light.-]" in text
    assert "{+soft daylight.+}" in text


def test_saved_plan_applies_and_goes_stale(project: Project, emulator: Emulator) -> None:
    setup_project(project, emulator)
    planfile = project.root / "tfplan.json"
    assert project.run("plan", "--out", str(planfile)).code == 0
    shown = project.run("show", str(planfile))
    assert "Plan: 3 to create" in shown.stdout
    assert project.run("apply", str(planfile), "--no-wait").code == 0
    again = project.run("apply", str(planfile), "--no-wait")
    assert again.code == 1
    assert "the plan is stale: the state moved" in again.stderr
    assert emulator.stats()["total_creates"] == 3


def test_bad_input_is_an_error_not_a_traceback(project: Project, tmp_path: Path) -> None:
    project.write("specs/broken.yaml", "videos:\n  a: [unclosed\n")
    result = project.run("validate")
    assert result.code == 1
    assert "specs/broken.yaml:" in result.stderr
    assert "Error:" in result.stderr
    assert "Traceback" not in result.stderr

    project.write("specs/broken.yaml", "videos:\n  a:\n    model: seedance2.0-mini\n    promt: x\n")
    result = project.run("plan")
    assert result.code == 1
    assert "promt" in result.stderr
    assert "Traceback" not in result.stderr


def test_emulator_not_running(project: Project) -> None:
    project.write("specs/videos.yaml", SPECS)
    result = project.run("apply", "--auto-approve", "--no-wait")
    assert result.code == 1
    assert result.stderr.startswith("Error:") or "\nError:" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert "sk-emulator-key" not in result.stderr + result.stdout
    listed = project.run("plan", "--detailed-exitcode")
    assert listed.code == 2
    assert "3 to create" in listed.stdout, "nothing may be recorded when nothing was sent"


def test_bad_plan_file(project: Project) -> None:
    project.write("specs/videos.yaml", SPECS)
    bad = project.write("plan.json", '{"format_version": 1, "changes": "nope"}')
    result = project.run("apply", str(bad))
    assert result.code == 1
    assert "is not a valid plan file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_narrowed_saved_plan_within_budget_applies(project: Project, emulator: Emulator) -> None:
    """The budget applies to the saved plan, not to the whole project's plan."""
    setup_project(project, emulator)
    project.write("reconciler.yaml", CONFIG + "budget: 0.5\n")
    assert project.run("plan").code == 1, "the whole plan (0.9) is over the budget"
    planfile = project.root / "boat.json"
    narrowed = project.run("plan", "--target", "video.boat", "--out", str(planfile))
    assert narrowed.code == 0, narrowed.stderr
    applied = project.run("apply", str(planfile), "--no-wait")
    assert applied.code == 0, applied.stdout + applied.stderr
    assert emulator.stats()["total_creates"] == 1
