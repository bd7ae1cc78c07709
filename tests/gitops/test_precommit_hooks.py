"""The pre-commit hooks run real commands and give the right answer on real specs."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.gitops.commands import invocations, problems

ROOT = Path(__file__).resolve().parents[2]
GOOD = "videos:\n  boat:\n    prompt: A boat.\n    model: seedance2.0-mini\n"
UNFORMATTED = "videos:\n  boat:\n      prompt:   A boat.\n      model: seedance2.0-mini\n"
INVALID = "videos:\n  Bad:\n    prompt: x\n"


def hooks() -> dict[str, dict[str, object]]:
    data = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert isinstance(data, list)
    return {hook["id"]: hook for hook in data}


def run_hook(hook: dict[str, object], project: Path, files: list[str]) -> int:
    """Run the hook the way pre-commit does: entry, then the staged files if it takes them."""
    entry = shlex.split(str(hook["entry"]))
    assert entry[0] == "reconciler"
    matching = [f for f in files if re.search(str(hook["files"]), f)]
    passed = matching if hook.get("pass_filenames", True) else []
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *entry[1:], *passed],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode


def test_the_two_hooks_exist_and_use_real_commands() -> None:
    found = hooks()
    assert sorted(found) == ["reconciler-fmt", "reconciler-validate"]
    assert found["reconciler-validate"]["entry"] == "reconciler validate"
    assert found["reconciler-fmt"]["entry"] == "reconciler fmt --check"
    for hook in found.values():
        assert hook["language"] == "python"  # installed from this repository's pyproject
        (invocation,) = invocations(str(hook["entry"]))
        assert problems(invocation) == []


def test_files_patterns_select_specs_only() -> None:
    found = hooks()
    validate = str(found["reconciler-validate"]["files"])
    fmt = str(found["reconciler-fmt"]["files"])
    for path in ("specs/a.yaml", "specs/social/b.yml"):
        assert re.search(validate, path) and re.search(fmt, path)
    assert re.search(validate, "reconciler.yaml") and not re.search(fmt, "reconciler.yaml")
    assert not re.search(validate, ".github/workflows/x.yml")


@pytest.mark.parametrize(
    ("hook_id", "text", "expected"),
    [
        ("reconciler-validate", GOOD, 0),
        ("reconciler-validate", INVALID, 1),
        ("reconciler-fmt", GOOD, 0),
        ("reconciler-fmt", UNFORMATTED, 1),
    ],
)
def test_hooks_pass_good_specs_and_fail_bad_ones(
    tmp_path: Path, hook_id: str, text: str, expected: int
) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(text)
    assert run_hook(hooks()[hook_id], tmp_path, ["specs/a.yaml", "README.md"]) == expected
    assert (tmp_path / "specs" / "a.yaml").read_text() == text  # --check never rewrites
