"""Golden files for the three renderers. Update them with ``UPDATE_GOLDEN=1 pytest tests/render``.

One plan holds every action, so a change to any renderer shows up as a diff of these files,
to be reviewed like any other change.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.model import BillingMode, Desired, Price
from reconciler.plan import Action, Plan
from reconciler.planner import PlanOptions, build_plan
from reconciler.render import render_json, render_markdown, render_text
from reconciler.stateview import Snapshot, VideoStatus
from tests.builders import NOW, record, video

GOLDEN = Path(__file__).parent / "golden"


def every_action_plan() -> Plan:
    new = video("new-teaser", prompt="A paper boat drifts down a neon canal at night")
    edited_before = video("hero", prompt="A red kite over green hills at dawn")
    edited = video("hero", prompt="A blue kite over green hills at dusk", duration=8)
    failed = video("failed-once", prompt="A lighthouse in a storm")
    relabelled = video("relabelled", prompt="Waves", description="now described")
    renamed_old = video("old-name", prompt="A cat on a piano")
    renamed_new = video("new-name", prompt="A cat on a piano")
    gone = video("gone", prompt="Something removed")
    running = video("running", prompt="Still rendering")
    ready = video("ready", prompt="Done, not downloaded")
    unsure = video("unsure", prompt="Sent, then the connection dropped")
    stuck = video("stuck", prompt="Failed too often")
    desired = Desired(
        videos=(new, edited, failed, relabelled, renamed_new, running, ready, unsure, stuck),
        specs_digest="sha256:" + "ab" * 32,
    )
    records = (
        record(edited_before),
        record(failed, VideoStatus.FAILED, error_message="PROVIDER_MODERATION_ERROR: TRADEMARK"),
        record(video("relabelled", prompt="Waves")),
        record(renamed_old),
        record(gone),
        record(running, VideoStatus.PROCESSING, progress=40),
        record(ready),
        record(unsure, VideoStatus.UNCERTAIN, task_id=None, error_message="read timeout"),
        record(stuck, VideoStatus.REJECTED, attempts=3, error_message="duration out of range"),
    )
    options = PlanOptions(
        now=NOW,
        not_downloaded=frozenset({"video.ready"}),
        pricing={"sd2_mx_720p": Price(mode=BillingMode.PER_SECOND, unit_price=0.1)},
    )
    return build_plan(desired, Snapshot(lineage="f" * 32, serial=7, videos=records), options)


RENDERERS = {
    "plan.txt": lambda plan: render_text(plan, color=False),
    "plan.color.txt": lambda plan: render_text(plan, color=True),
    "plan.json": render_json,
    "plan.md": render_markdown,
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_golden(name: str) -> None:
    rendered = RENDERERS[name](every_action_plan())
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no golden file {path}; run with UPDATE_GOLDEN=1 to create it"
    assert rendered == path.read_text(encoding="utf-8")


def test_the_plan_holds_every_action() -> None:
    plan = every_action_plan()
    assert {change.action for change in plan.changes} == set(Action)


def test_no_result_url_in_any_rendering() -> None:
    plan = every_action_plan()
    for render in RENDERERS.values():
        assert "127.0.0.1/x.mp4" not in render(plan)


def test_expired_is_not_downloadable() -> None:
    ready = video("ready")
    rec = record(ready, result_expires_at=NOW - timedelta(hours=1))
    plan = build_plan(
        Desired(videos=(ready,), specs_digest="d"),
        Snapshot(lineage="L", serial=1, videos=(rec,)),
        PlanOptions(now=NOW, not_downloaded=frozenset({"video.ready"})),
    )
    assert "result URL expired" in render_text(plan)
