"""Corrupted and hand-edited plan files: exit 1, the file named, no traceback, nothing paid.

A real plan is saved against an emulator, then damaged one way per case and given to
``apply`` and ``show``. Every case must be refused before anything is created.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Project, new_project, running_emulator
from tests.torture.crash import EMULATOR_FLAGS, KEY

SPECS = """\
videos:
  alpha:
    model: seedance2.0-mini
    prompt: A kite over a beach at noon.
    duration: 5
"""
Edit = Callable[[bytes], bytes]


def _json_edit(change: Callable[[dict[str, object]], None]) -> Edit:
    def edit(raw: bytes) -> bytes:
        data = json.loads(raw)
        change(data)
        return json.dumps(data, indent=2).encode()

    return edit


def _first_change(data: dict[str, object]) -> dict[str, object]:
    changes = data["changes"]
    assert isinstance(changes, list)
    first = changes[0]
    assert isinstance(first, dict)
    return first


def _set_version(d: dict[str, object]) -> None:
    d["format_version"] = 99


def _set_action(d: dict[str, object]) -> None:
    _first_change(d)["action"] = "explode"


def _changes_text(d: dict[str, object]) -> None:
    d["changes"] = "everything"


def _extra_key(d: dict[str, object]) -> None:
    d["approved_by"] = "me"


def _drop_key(d: dict[str, object]) -> None:
    del d["lineage"]


def _serial(d: dict[str, object]) -> None:
    d["serial"] = 7


def _lineage(d: dict[str, object]) -> None:
    d["lineage"] = "0" * 32


def _specs_digest(d: dict[str, object]) -> None:
    d["specs_digest"] = "0" * 64


# name -> (edit, text the message must contain)
REFUSED: dict[str, tuple[Edit, str]] = {
    "truncated": (lambda raw: raw[: len(raw) // 2], "is not a valid plan file"),
    "empty": (lambda raw: b"", "is not a valid plan file"),
    "binary_garbage": (lambda raw: bytes(range(256)) * 8, "cannot read the plan file"),
    "utf16": (lambda raw: raw.decode().encode("utf-16"), "cannot read the plan file"),
    "top_level_list": (lambda raw: b"[1, 2, 3]", "is not a valid plan file"),
    "wrong_version": (_json_edit(_set_version), "plan format 99 is not supported"),
    "unknown_action": (_json_edit(_set_action), "changes.0.action"),
    "changes_not_a_list": (_json_edit(_changes_text), "changes"),
    "extra_key": (_json_edit(_extra_key), "approved_by"),
    "missing_key": (_json_edit(_drop_key), "lineage"),
}
STALE: dict[str, Edit] = {
    "edited_serial": _json_edit(_serial),
    "edited_lineage": _json_edit(_lineage),
    "edited_specs_digest": _json_edit(_specs_digest),
}


def _prompt(d: dict[str, object]) -> None:
    spec = _first_change(d)["spec"]
    assert isinstance(spec, dict)
    spec["prompt"] = "Something else entirely, at four times the price."


def _fingerprint(d: dict[str, object]) -> None:
    _first_change(d)["fingerprint"] = "f" * 64


def _added(d: dict[str, object]) -> None:
    changes = d["changes"]
    assert isinstance(changes, list)
    changes.append({**_first_change(d), "address": "video.extra"})


def _task(d: dict[str, object]) -> None:
    _first_change(d).update(action="wait", reason="task_running", task_id="video_forged")


EDITED_CHANGES: dict[str, Edit] = {
    "edited_prompt": _json_edit(_prompt),
    "edited_fingerprint": _json_edit(_fingerprint),
    "added_change": _json_edit(_added),
    "forged_task_id": _json_edit(_task),
}


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    with running_emulator(
        tmp_path_factory.mktemp("emu") / "emulator.db", *EMULATOR_FLAGS
    ) as running:
        yield running


def _saved_plan(tmp_path: Path, emulator: Emulator) -> tuple[Project, Path]:
    project = new_project(tmp_path)
    project.env.update(SEEDANCE_API_KEY=KEY, SEEDANCE_API_URL=emulator.url)
    project.write("specs/videos.yaml", SPECS)
    planfile = project.root / "plan.json"
    saved = project.run("plan", "--out", str(planfile))
    assert saved.code == 0, saved.stderr
    return project, planfile


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, emulator: Emulator) -> tuple[Project, Path]:
    """One project and saved plan for every refused case: a refused plan changes nothing."""
    return _saved_plan(tmp_path_factory.mktemp("shared"), emulator)


def _damaged(shared: tuple[Project, Path], case: str, edit: Edit) -> tuple[Project, Path]:
    project, planfile = shared
    damaged = planfile.with_name(f"{case}.plan.json")
    damaged.write_bytes(edit(planfile.read_bytes()))
    return project, damaged


def _creates(emulator: Emulator) -> int:
    return int(str(emulator.stats()["total_creates"]))


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_corrupted_plan_is_refused_naming_the_file(
    shared: tuple[Project, Path], emulator: Emulator, case: str
) -> None:
    edit, needle = REFUSED[case]
    project, planfile = _damaged(shared, case, edit)
    before = _creates(emulator)
    for args in (("apply", "--auto-approve", "--no-wait", str(planfile)), ("show", str(planfile))):
        result = project.run(*args)
        assert result.code == 1, (args, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert str(planfile) in result.stderr, result.stderr
        assert needle in result.stderr, result.stderr
        assert "hint:" in result.stderr
    assert _creates(emulator) == before


@pytest.mark.parametrize("case", sorted(STALE))
def test_an_edited_header_makes_the_plan_stale(
    shared: tuple[Project, Path], emulator: Emulator, case: str
) -> None:
    project, planfile = _damaged(shared, case, STALE[case])
    before = _creates(emulator)
    result = project.run("apply", "--auto-approve", "--no-wait", str(planfile))
    assert result.code == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "the plan is stale" in result.stderr and "reconciler plan" in result.stderr
    assert str(planfile) in result.stderr, result.stderr
    assert _creates(emulator) == before


def test_a_missing_plan_file_is_named(shared: tuple[Project, Path]) -> None:
    project, planfile = shared
    gone = planfile.with_name("nope.json")
    result = project.run("apply", "--auto-approve", "--no-wait", str(gone))
    assert result.code in (1, 2), result.stderr  # click's own usage error is exit 2
    assert "nope.json" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("case", sorted(EDITED_CHANGES))
def test_hand_edited_changes_are_refused(tmp_path: Path, emulator: Emulator, case: str) -> None:
    project, planfile = _saved_plan(tmp_path, emulator)
    planfile.write_bytes(EDITED_CHANGES[case](planfile.read_bytes()))
    before = _creates(emulator)
    result = project.run("apply", "--auto-approve", "--no-wait", str(planfile))
    assert "Traceback" not in result.stderr
    assert _creates(emulator) == before, "an edited plan must not spend"
    assert result.code == 1 and str(planfile) in result.stderr, result.stdout + result.stderr
