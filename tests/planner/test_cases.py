"""Runs every planner case in ``tests/planner/cases``: specs and state in, changes out.

Each case's ``expect:`` holds ``changes`` (``"<address> <action> <reason>"``, in plan
order), optionally ``assets`` (``"<address> <action> <used_by...>"``), ``details``
(``"<address> <action>"`` -> a substring of that change's detail) and ``cost_total``.
Cases named ``error_*`` expect an ``error`` (and a ``hint``) instead: a ``PlanError``.
See ``casedata.py`` for the input keys. Every case is also rendered by the three
renderers, which must not show the state's signed URLs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML

from reconciler.errors import PlanError
from reconciler.plan import Action, Plan
from reconciler.planner import build_plan
from reconciler.render import render_json, render_markdown, render_text
from reconciler.stateview import Snapshot, VideoRecord, VideoStatus
from reconciler.store import StateStore, schema
from tests.planner.casedata import NOW, build_inputs

CASES = Path(__file__).parent / "cases"
NAMES = sorted(path.stem for path in CASES.glob("*.yaml"))
ERRORS = [name for name in NAMES if name.startswith("error_")]
PLANNED = [name for name in NAMES if name not in ERRORS]


def load(name: str) -> Mapping[str, object]:
    document = YAML(typ="safe", pure=True).load((CASES / f"{name}.yaml").read_text("utf-8"))
    assert isinstance(document, Mapping), f"{name}.yaml is not a mapping"
    assert set(document) <= {"desired", "state", "options", "expect"}, set(document)
    return document


def plan_case(name: str) -> tuple[Plan, Mapping[str, object]]:
    case = load(name)
    plan = build_plan(*build_inputs(case))
    expect = case.get("expect") or {}
    assert isinstance(expect, Mapping)
    return plan, expect


def _strings(expect: Mapping[str, object], key: str) -> list[str]:
    value = expect.get(key) or []
    assert isinstance(value, list), f"expect.{key} must be a list"
    return [str(item) for item in value]


@pytest.mark.parametrize("name", NAMES)
def test_case(name: str) -> None:
    case = load(name)
    expect = case.get("expect") or {}
    assert isinstance(expect, Mapping)
    if "error" in expect:
        with pytest.raises(PlanError) as caught:
            build_plan(*build_inputs(case))
        assert str(expect["error"]) in caught.value.message
        assert str(expect.get("hint", "")) in (caught.value.hint or "")
        return
    plan = build_plan(*build_inputs(case))
    got = [f"{c.address} {c.action.value} {c.reason.value}" for c in plan.changes]
    assert got == _strings(expect, "changes")
    assets = [f"{a.address} {a.action.value} {' '.join(a.used_by)}" for a in plan.assets]
    assert assets == _strings(expect, "assets")
    details = expect.get("details") or {}
    assert isinstance(details, Mapping)
    by_key = {f"{c.address} {c.action.value}": c.detail for c in plan.changes}
    for key, fragment in details.items():
        assert str(fragment) in by_key[str(key)], by_key[str(key)]
    if "cost_total" in expect:
        assert plan.cost.total == pytest.approx(expect["cost_total"])
    assert plan.summary == {
        action.value: sum(c.action is action for c in plan.changes) for action in Action
    }


@pytest.mark.parametrize("name", PLANNED)
def test_case_renders_without_signed_urls(name: str) -> None:
    plan, _ = plan_case(name)
    for rendered in (render_text(plan), render_text(plan, color=True), render_markdown(plan)):
        assert "sig=" not in rendered
    assert "sig=" not in render_json(plan)
    assert Plan.model_validate_json(render_json(plan)) == plan


@pytest.mark.parametrize("name", PLANNED)
def test_case_planned_from_a_stored_state(name: str, tmp_path: Path) -> None:
    """The state written to a store and read back for planning (``plan_snapshot``, which
    leaves out what the planner does not read and checks the files) gives the very
    same changes: diffs of the stored specs and downloads of missing files included."""
    desired, snapshot, options = build_inputs(load(name))
    on_disk = {r.file_path for r in snapshot.videos if r.address not in options.not_downloaded}
    with StateStore.open(f"sqlite:///{tmp_path}/state.db") as store:
        _write(store, snapshot)
        stored, missing = store.plan_snapshot(desired, lambda paths: set(paths) - on_disk)
    completed = {r.address for r in snapshot.videos if r.status is VideoStatus.COMPLETED}
    assert missing == options.not_downloaded & completed
    plan = build_plan(desired, snapshot, options)
    again = build_plan(desired, stored, dataclasses.replace(options, not_downloaded=missing))
    assert again.model_copy(update={"lineage": plan.lineage, "serial": plan.serial}) == plan


def _write(store: StateStore, snapshot: Snapshot) -> None:
    videos = [_video_row(record) for record in snapshot.videos]
    assets = [dataclasses.asdict(record) for record in snapshot.assets]
    with store.engine.begin() as conn:
        for table, rows in ((schema.videos, videos), (schema.assets, assets)):
            if rows:
                conn.execute(sa.insert(table), rows)


def _video_row(record: VideoRecord) -> dict[str, object]:
    row: dict[str, object] = record._asdict()
    del row["spec_json"]
    return {**row, "spec": record.spec, "labels": dict(record.labels), "created_at": NOW}


def test_every_action_and_asset_action_is_covered() -> None:
    from reconciler.plan import AssetAction, Reason

    actions: set[str] = set()
    reasons: set[str] = set()
    asset_actions: set[str] = set()
    for name in PLANNED:
        plan, _ = plan_case(name)
        actions |= {c.action.value for c in plan.changes}
        reasons |= {c.reason.value for c in plan.changes}
        asset_actions |= {a.action.value for a in plan.assets}
    assert actions == {a.value for a in Action}
    assert reasons == {r.value for r in Reason}
    assert asset_actions == {a.value for a in AssetAction}
