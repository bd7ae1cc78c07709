"""The shell steps of the CI examples, run for real: the real CLI, the emulator, exit codes.

Each step's script is taken from the YAML and run with bash the way the CI runner does
(GitHub: `bash --noprofile --norc -eo pipefail`; GitLab: each `script` entry in one shell
with `set -e`), in a project with SQLite state, against the emulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.e2e.harness import API_KEY, Emulator, running_emulator

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # where `reconciler` is installed
SPECS = """\
defaults:
  model: seedance2.0-mini
  duration: 5
videos:
  boat:
    prompt: A paper boat on a neon canal.
  spin:
    prompt: A sneaker on a turntable.
"""
CONFIG = """\
poll_interval: 0.2
pricing:
  seedance2.0-mini-720p: {mode: per_second, unit_price: 0.05}
"""


def github_step(workflow: str, name: str) -> str:
    data = YAML(typ="safe").load((ROOT / "examples/github" / workflow).read_text())
    for job in data["jobs"].values():
        for step in job["steps"]:
            if step.get("name") == name:
                return str(step["run"])
    raise AssertionError(f"no step {name!r} in {workflow}")


def gitlab_script(job: str) -> str:
    data = YAML(typ="safe").load((ROOT / "examples/gitlab/.gitlab-ci.yml").read_text())
    return "set -e\n" + "\n".join(str(line) for line in data[job]["script"])


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(
        tmp_path / "emulator.db", "--queue-seconds", "0.2", "--run-seconds", "0.3"
    ) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "videos.yaml").write_text(SPECS)
    (root / "reconciler.yaml").write_text(CONFIG)
    return root


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SEEDANCE_", "RECONCILER_"))}
    base["PATH"] = f"{BIN}{os.pathsep}{base.get('PATH', '')}"
    base["GITHUB_OUTPUT"] = str(cwd / "github-output")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def outputs(cwd: Path) -> str:
    path = cwd / "github-output"
    return path.read_text() if path.exists() else ""


PLAN = github_step("plan.yml", "Plan")


def test_github_plan_step_passes_changes_and_writes_the_comment(project: Path) -> None:
    done = bash(PLAN, project, MAX_COST="50")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "exitcode=2" in outputs(project)
    assert "Plan: 2 to create" in (project / "plan.md").read_text()
    assert (project / "plan.json").exists()


@pytest.mark.parametrize(
    ("change", "max_cost", "message"),
    [
        ("prompt: A sneaker", "50", "problems in the specs"),  # two errors: invalid
        (None, "0.1", "over the budget"),
    ],
)
def test_github_plan_step_reports_an_invalid_or_over_budget_plan(
    project: Path, change: str | None, max_cost: str, message: str
) -> None:
    if change:
        specs = project / "specs" / "videos.yaml"
        specs.write_text(specs.read_text().replace(change, 'prompt: ""\n    x: A sneaker'))
    done = bash(PLAN, project, MAX_COST=max_cost)
    assert done.returncode == 0, "the step records the code; a later step fails the job"
    assert "exitcode=1" in outputs(project)
    assert "::error::reconciler plan failed (exit 1)" in done.stdout
    assert message in (project / "plan.err").read_text()


@pytest.mark.slow
def test_github_apply_steps_create_then_refresh_until_downloaded(
    project: Path, emulator: Emulator
) -> None:
    env = {"SEEDANCE_API_KEY": API_KEY, "SEEDANCE_API_URL": emulator.url, "MAX_COST": "50"}
    plan = bash(github_step("apply.yml", "Plan"), project, **env)
    assert plan.returncode == 0 and "exitcode=2" in outputs(project), plan.stderr
    applied = bash(github_step("apply.yml", "Apply"), project, **env)
    assert applied.returncode == 0, applied.stderr
    refresh = github_step("apply.yml", "Refresh until the videos are downloaded")
    done = bash(refresh, project, REFRESH_ATTEMPTS="40", REFRESH_SLEEP="0.2", **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every video is downloaded" in done.stdout
    assert sorted(p.name for p in (project / "out").iterdir()) == ["boat.mp4", "spin.mp4"]


@pytest.mark.slow
def test_github_refresh_step_gives_up_after_its_bound(project: Path, emulator: Emulator) -> None:
    emulator.admin(queue_seconds=60)
    env = {"SEEDANCE_API_KEY": API_KEY, "SEEDANCE_API_URL": emulator.url, "MAX_COST": "50"}
    assert bash("reconciler apply --auto-approve --no-wait", project, **env).returncode == 0
    refresh = github_step("apply.yml", "Refresh until the videos are downloaded")
    done = bash(refresh, project, REFRESH_ATTEMPTS="2", REFRESH_SLEEP="0.1", **env)
    assert done.returncode == 1
    assert "::error::videos still running after 2 rounds: video.boat video.spin" in done.stdout


@pytest.mark.slow
def test_gitlab_apply_job_runs_end_to_end_and_twice_changes_nothing(
    project: Path, emulator: Emulator
) -> None:
    env = {
        "SEEDANCE_API_KEY": API_KEY,
        "SEEDANCE_API_URL": emulator.url,
        "MAX_COST": "50",
        "REFRESH_ATTEMPTS": "40",
        "REFRESH_SLEEP": "0.2",
    }
    first = bash(gitlab_script("apply"), project, **env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "every video is downloaded" in first.stdout
    second = bash(gitlab_script("apply"), project, **env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing to create" in second.stdout
    assert emulator.stats()["total_creates"] == 2
