"""Saved plans through the real CLI: stale for each cause, and the same bytes in any process.

``tests/e2e/test_first_slice.py`` covers a plan made stale by the state moving; here the
specs digest and the pricing digest, alone and together, and that the refusals are
precise: once both are put back, the very same file applies.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, new_project

REPO = Path(__file__).resolve().parents[2]

SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  boat:
    prompt: A paper boat drifts down a neon canal at night.
"""
CONFIG = """\
poll_interval: 0.2
pricing:
  seedance2.0-mini-720p: {mode: per_second, unit_price: 0.05}
"""


def test_saved_plan_refused_when_specs_or_pricing_moved(tmp_path: Path, emulator: Emulator) -> None:
    project = new_project(tmp_path)
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", SPECS)
    project.write("reconciler.yaml", CONFIG)
    planfile = project.root / "tfplan.json"
    assert project.run("plan", "--out", str(planfile)).code == 0
    saved = planfile.read_bytes()

    project.write("specs/videos.yaml", SPECS.replace("at night", "at dawn"))
    specs = project.run("apply", str(planfile), "--no-wait")
    assert specs.code == 1
    assert "the plan is stale: the specs changed" in specs.stderr
    assert "pricing" not in specs.stderr and "state moved" not in specs.stderr

    project.write("reconciler.yaml", CONFIG.replace("0.05", "0.07"))
    both = project.run("apply", str(planfile), "--no-wait")
    assert both.code == 1
    assert "the plan is stale: the specs changed; the pricing changed" in both.stderr

    project.write("specs/videos.yaml", SPECS)
    pricing = project.run("apply", str(planfile), "--no-wait")
    assert pricing.code == 1
    assert "the plan is stale: the pricing changed" in pricing.stderr
    assert "hint: run `reconciler plan` again" in pricing.stderr
    assert emulator.stats()["total_creates"] == 0  # nothing was spent on a stale plan

    project.write("reconciler.yaml", CONFIG)
    applied = project.run("apply", str(planfile), "--no-wait")
    assert applied.code == 0, applied.stderr
    assert emulator.stats()["total_creates"] == 1
    assert planfile.read_bytes() == saved  # apply never rewrites the plan


@pytest.mark.parametrize(
    ("source", "into"),
    [(REPO / "specs", "specs"), (REPO / "examples" / "specs-media", ".")],
    ids=["specs", "specs-media"],
)
def test_plan_json_is_byte_identical_across_processes(
    tmp_path: Path, source: Path, into: str
) -> None:
    """Different hash seeds change set and dict iteration order; the plan must not care."""
    project = new_project(tmp_path)
    shutil.copytree(source, project.root / into, dirs_exist_ok=True)
    outputs = []
    for seed in ("1", "4242"):
        project.env["PYTHONHASHSEED"] = seed
        done = project.run("plan", "--format", "json")
        assert done.code == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    document = json.loads(outputs[0])
    assert len(document["changes"]) > 1
