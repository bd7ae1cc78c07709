"""The pure planner: every action of the first slice, targeting, cost and determinism."""

from __future__ import annotations

from datetime import timedelta

import pytest

from reconciler.errors import BudgetExceeded
from reconciler.model import BillingMode, Desired, DesiredVideo, Price
from reconciler.plan import Action, Reason
from reconciler.planner import PlanOptions, build_plan, check_budget
from reconciler.stateview import Snapshot, VideoRecord, VideoStatus
from tests.builders import NOW, record, video


def plan_of(
    videos: list[DesiredVideo], records: list[VideoRecord], **options: object
) -> list[tuple[str, Action, Reason]]:
    desired = Desired(videos=tuple(videos), specs_digest="d")
    snapshot = Snapshot(lineage="L", serial=3, videos=tuple(records))
    opts = PlanOptions(now=NOW, **options)  # type: ignore[arg-type]
    plan = build_plan(desired, snapshot, opts)
    return [(c.address, c.action, c.reason) for c in plan.changes]


def test_create_noop_replace_forget() -> None:
    a, b, c = video("a"), video("b"), video("c", prompt="a car")
    b2 = video("b", prompt="a ship")
    changes = plan_of([a, b2], [record(b), record(c)])
    assert changes == [
        ("video.a", Action.CREATE, Reason.NEW),
        ("video.b", Action.REPLACE, Reason.FINGERPRINT_CHANGED),
        ("video.c", Action.FORGET, Reason.REMOVED),
    ]
    assert plan_of([a], [record(a)]) == []


def test_replace_shows_field_diffs() -> None:
    before, after = video("b"), video("b", prompt="a ship", duration=8)
    plan = build_plan(
        Desired(videos=(after,), specs_digest="d"),
        Snapshot(lineage="L", serial=1, videos=(record(before),)),
        PlanOptions(now=NOW),
    )
    (change,) = plan.changes
    assert [(d.field, d.before, d.after) for d in change.diffs] == [
        ("duration", 5, 8),
        ("prompt", "a boat", "a ship"),
    ]


def test_intent_without_answer_is_uncertain_even_when_removed() -> None:
    a, b = video("a"), video("b")
    changes = plan_of([a], [record(a, VideoStatus.CREATING), record(b, VideoStatus.UNCERTAIN)])
    assert changes == [
        ("video.a", Action.UNCERTAIN, Reason.OUTCOME_UNKNOWN),
        ("video.b", Action.UNCERTAIN, Reason.OUTCOME_UNKNOWN),
    ]


def test_retry_uncertain_on_request() -> None:
    a = video("a")
    changes = plan_of([a], [record(a, VideoStatus.UNCERTAIN)], retry_uncertain=("video.a",))
    assert changes == [("video.a", Action.RETRY, Reason.RETRY_UNCERTAIN)]


def test_rename_is_a_move() -> None:
    old, new = video("old"), video("new")
    assert plan_of([new], [record(old)]) == [("video.new", Action.MOVE, Reason.RENAMED)]


def test_failed_retries_then_blocks() -> None:
    a = video("a")
    failed = record(a, VideoStatus.FAILED, attempts=1, error_message="MODERATION")
    assert plan_of([a], [failed]) == [("video.a", Action.RETRY, Reason.TASK_FAILED)]
    exhausted = record(a, VideoStatus.FAILED, attempts=3, error_message="MODERATION")
    assert plan_of([a], [exhausted]) == [("video.a", Action.BLOCKED, Reason.ATTEMPTS_EXHAUSTED)]


def test_wait_download_and_expired() -> None:
    a = video("a")
    desired = Desired(videos=(a,), specs_digest="d")

    def one(rec: VideoRecord) -> Action:
        snapshot = Snapshot(lineage="L", serial=1, videos=(rec,))
        options = PlanOptions(now=NOW, not_downloaded=frozenset({rec.address}))
        (change,) = build_plan(desired, snapshot, options).changes
        return change.action

    assert one(record(a, VideoStatus.PROCESSING)) is Action.WAIT
    assert one(record(a)) is Action.DOWNLOAD
    assert one(record(a, result_expires_at=NOW - timedelta(seconds=1))) is Action.BLOCKED


def test_metadata_only_is_update() -> None:
    a = video("a")
    changed = video("a", description="new words")
    assert plan_of([changed], [record(a)]) == [("video.a", Action.UPDATE, Reason.METADATA_CHANGED)]


def test_target_and_exclude_select_instances() -> None:
    videos = [video("a"), video("b")]
    assert [c[0] for c in plan_of(videos, [], targets=("video.a",))] == ["video.a"]
    assert [c[0] for c in plan_of(videos, [], excludes=("video.a",))] == ["video.b"]


def test_cost_and_budget() -> None:
    desired = Desired(videos=(video("a"), video("b", duration=10)), specs_digest="d")
    pricing = {"sd2_mx_720p": Price(mode=BillingMode.PER_SECOND, unit_price=0.1)}
    plan = build_plan(desired, Snapshot.empty("L"), PlanOptions(now=NOW, pricing=pricing))
    assert plan.cost.total == pytest.approx(1.5)
    assert plan.cost.units == {"per_second": 15.0}
    check_budget(plan, 2.0)
    with pytest.raises(BudgetExceeded, match="over the budget of 1"):
        check_budget(plan, 1.0)
    unpriced = build_plan(desired, Snapshot.empty("L"), PlanOptions(now=NOW))
    assert unpriced.cost.total is None
    with pytest.raises(BudgetExceeded, match="no price for sd2_mx_720p"):
        check_budget(unpriced, 100.0)


def test_same_inputs_same_bytes() -> None:
    desired = Desired(videos=(video("b"), video("a")), specs_digest="d")
    one = build_plan(desired, Snapshot.empty("L"), PlanOptions(now=NOW)).to_json()
    two = build_plan(desired, Snapshot.empty("L"), PlanOptions(now=NOW)).to_json()
    assert one == two
    assert one.index('"video.a"') < one.index('"video.b"')
