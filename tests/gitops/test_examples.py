"""The CI examples stay true: real commands and flags, exit codes handled, secrets, pins."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from tests.gitops.commands import Invocation, invocations, problems

ROOT = Path(__file__).resolve().parents[2]
GITHUB_PLAN = ROOT / "examples/github/plan.yml"
GITHUB_APPLY = ROOT / "examples/github/apply.yml"
GITLAB = ROOT / "examples/gitlab/.gitlab-ci.yml"
MARKER = "<!-- reconciler-plan -->"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, object]:
    data = YAML(typ="safe").load(path.read_text())
    assert isinstance(data, dict), path
    return data


def at(node: object, *keys: str | int) -> object:
    """``node[k1][k2]...`` through parsed YAML, failing clearly where the shape is wrong."""
    for key in keys:
        if isinstance(key, int):
            assert isinstance(node, list), f"expected a list before [{key}]"
            node = node[key]
        else:
            assert isinstance(node, dict) and key in node, f"missing key {key!r}"
            node = node[key]
    return node


def github_steps(path: Path) -> list[dict[str, object]]:
    jobs = load(path)["jobs"]
    assert isinstance(jobs, dict)
    return [step for job in jobs.values() for step in job["steps"]]


def github_scripts(path: Path) -> list[str]:
    return [str(step["run"]) for step in github_steps(path) if "run" in step]


def gitlab_scripts() -> list[str]:
    scripts: list[str] = []
    for name, job in load(GITLAB).items():
        if name.startswith(".") or not isinstance(job, dict):
            continue
        for key in ("before_script", "script"):
            value = job.get(key, [])
            scripts.extend(str(line) for line in (value if isinstance(value, list) else [value]))
    return scripts


def commands_of(scripts: list[str]) -> list[Invocation]:
    return [found for script in scripts for found in invocations(script)]


def named(found: list[Invocation], *path: str) -> list[Invocation]:
    return [invocation for invocation in found if invocation.path == path]


ALL = {
    "github/plan.yml": lambda: github_scripts(GITHUB_PLAN),
    "github/apply.yml": lambda: github_scripts(GITHUB_APPLY),
    "gitlab/.gitlab-ci.yml": gitlab_scripts,
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_command_and_flag_exists(name: str) -> None:
    found = commands_of(ALL[name]())
    assert found, f"{name} runs no reconciler command"
    errors = [message for invocation in found for message in problems(invocation)]
    assert errors == []


def test_the_command_extractor_notices_a_bad_flag() -> None:
    (bad,) = invocations("x=1; reconciler plan --detailed-exitcod >out.md \\\n  2>err")
    assert bad.path == ("plan",)
    assert problems(bad) == [
        "`reconciler plan` has no --detailed-exitcod (line: x=1; reconciler plan "
        "--detailed-exitcod >out.md    2>err)"
    ]
    (unknown,) = invocations("reconciler planz")
    assert problems(unknown)[0].startswith("no known reconciler command")


@pytest.mark.parametrize("name", sorted(ALL))
def test_plan_exit_codes_are_handled(name: str) -> None:
    scripts = ALL[name]()
    plans = named(commands_of(scripts), "plan")
    assert plans and all("--detailed-exitcode" in p.flags for p in plans)
    assert all("--max-cost" in p.flags for p in plans), "the budget must be able to fail CI"
    text = "\n".join(scripts)
    # The exit code is captured (not killed by `set -e`) and 0 / 2 are both accepted.
    assert "set +e" in text and "code=$?" in text
    assert re.search(r'"\$code" != 0 \]? ?&& \[? ?"\$code" != 2', text) or "2) " in text


def test_github_plan_comments_once_and_fails_on_error() -> None:
    steps = github_steps(GITHUB_PLAN)
    (plan,) = named(commands_of(github_scripts(GITHUB_PLAN)), "plan")
    assert {"--format", "--detailed-exitcode", "--out"} <= set(plan.flags)
    assert "--format markdown" in plan.line
    (comment,) = [s for s in steps if "github-script" in str(s.get("uses", ""))]
    script = str(at(comment, "with", "script"))
    assert MARKER in script and "updateComment" in script and "createComment" in script
    failing = [s for s in steps if s.get("run") == "exit 1"]
    assert (
        failing and "!= '0'" in str(at(failing[0], "if")) and "!= '2'" in str(at(failing[0], "if"))
    )
    assert "validate" in {i.path[0] for i in commands_of(github_scripts(GITHUB_PLAN))}
    assert any(
        i.path == ("fmt",) and "--check" in i.flags
        for i in commands_of(github_scripts(GITHUB_PLAN))
    )
    # Pull-request code never gets the key that spends money.
    assert "SEEDANCE_API_KEY" not in GITHUB_PLAN.read_text().split("jobs:", 1)[1]
    assert load(GITHUB_PLAN)["permissions"] == {"contents": "read", "pull-requests": "write"}


def test_github_apply_is_serialised_bounded_and_keeps_the_videos() -> None:
    workflow = load(GITHUB_APPLY)
    assert at(workflow, "concurrency", "cancel-in-progress") is False
    assert at(workflow, "on", "push", "branches") == ["main"]
    assert at(workflow, "jobs", "apply", "env") == {
        "SEEDANCE_API_KEY": "${{ secrets.SEEDANCE_API_KEY }}",
        "RECONCILER_STATE_URL": "${{ secrets.RECONCILER_STATE_URL }}",
    }
    found = commands_of(github_scripts(GITHUB_APPLY))
    (apply,) = named(found, "apply")
    assert {"--auto-approve", "--no-wait"} <= set(apply.flags)
    (refresh,) = named(found, "refresh")
    assert "--no-wait" in refresh.flags
    refresh_step = next(s for s in github_steps(GITHUB_APPLY) if "refresh" in str(s.get("run")))
    assert re.search(r"for attempt in \$\(seq 1 ", str(refresh_step["run"])), "bounded loop"
    assert named(found, "db", "upgrade")
    uploads = [s for s in github_steps(GITHUB_APPLY) if "upload-artifact" in str(s.get("uses"))]
    assert uploads and at(uploads[0], "with", "path") == "out/"


@pytest.mark.parametrize("path", [GITHUB_PLAN, GITHUB_APPLY])
def test_github_actions_are_pinned_to_a_commit(path: Path) -> None:
    uses = [str(step["uses"]) for step in github_steps(path) if "uses" in step]
    assert uses and [u for u in uses if not PINNED.match(u)] == []


def test_gitlab_pipeline_essentials() -> None:
    pipeline = load(GITLAB)
    assert at(pipeline, "apply", "resource_group")
    assert at(pipeline, "apply", "interruptible") is False
    assert "out/" in str(at(pipeline, "apply", "artifacts", "paths"))
    assert MARKER in str(at(pipeline, "plan", "script"))
    found = commands_of(gitlab_scripts())
    assert named(found, "validate") and named(found, "fmt")
    assert {"--no-wait", "--auto-approve"} <= set(named(found, "apply")[0].flags)
    assert re.search(r"for attempt in \$\(seq 1 ", str(at(pipeline, "apply", "script")))
    assert at(pipeline, "plan", "variables", "SEEDANCE_API_KEY") == ""
