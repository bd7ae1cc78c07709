"""Property: plan, apply the plan (a fully successful apply, simulated), plan again: no change.

The simulator below is a pure, in-memory model of what a successful apply does to the
state: creates, replaces and retries become completed and downloaded tasks with the
change's spec and metadata, forgets drop the record, moves rename it (keeping its file),
updates copy the description and labels, waits finish and download, downloads download.
``uncertain`` and ``blocked`` are left alone: they wait for a person, so they may stay.
"""

from __future__ import annotations

import json
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler.model import Desired
from reconciler.plan import Action, Plan
from reconciler.planner import PlanOptions, build_plan
from reconciler.stateview import Snapshot, VideoRecord, VideoStatus
from tests.planner.casedata import NOW, record, video

NAMES = ("a", "b", "c", "d", "e")
PROMPTS = ("p1", "p2", "p3")
METADATA = st.sampled_from([None, "described"])
LABELS = st.sampled_from([{}, {"team": "x"}])

desired_rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(NAMES),
            "prompt": st.sampled_from(PROMPTS),
            "description": METADATA,
            "labels": LABELS,
        }
    ),
    max_size=5,
    unique_by=lambda row: row["name"],
)
state_rows = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from((*NAMES, "old-1", "old-2")),
            "prompt": st.sampled_from(PROMPTS),
            "description": METADATA,
            "labels": LABELS,
            "status": st.sampled_from(list(VideoStatus)),
            "attempts": st.integers(min_value=1, max_value=4),
            "expires_in_h": st.sampled_from([None, -1, 24]),
            "result_url": st.sampled_from([None, "https://cdn.example/r.mp4?sig=x"]),
            "downloaded": st.booleans(),
        }
    ),
    max_size=6,
    unique_by=lambda row: row["name"],
)


def simulate(
    plan: Plan, snapshot: Snapshot, downloaded: frozenset[str]
) -> tuple[Snapshot, frozenset[str]]:
    """The state and the downloaded files after a fully successful apply of ``plan``."""
    records = {r.address: r for r in snapshot.videos}
    files = set(downloaded)
    fresh_until = NOW + timedelta(days=1)
    for change in plan.changes:  # the free bookkeeping first, as the executor does
        address = change.address
        if change.action is Action.FORGET:
            del records[address]
            files.discard(address)
        elif change.action is Action.MOVE:
            assert change.prior_address is not None
            moved = records.pop(change.prior_address)
            records[address] = moved._replace(address=address)
            if change.prior_address in files:
                files.discard(change.prior_address)
                files.add(address)
        elif change.action is Action.UPDATE:
            records[address] = records[address]._replace(
                description=change.description, labels=change.labels
            )
    for change in plan.changes:
        address = change.address
        if change.action.paid:
            before = records.get(address)
            same = before is not None and before.fingerprint == change.fingerprint
            records[address] = VideoRecord(
                address=address,
                fingerprint=change.fingerprint or "",
                spec_json=json.dumps(change.spec or {}),
                description=change.description,
                labels=change.labels,
                status=VideoStatus.COMPLETED,
                task_id=f"task-{address}-new",
                attempts=before.attempts + 1 if before is not None and same else 1,
                result_url="https://cdn.example/new.mp4?sig=y",
                result_expires_at=fresh_until,
                updated_at=NOW,
            )
            files.add(address)
        elif change.action is Action.WAIT:
            records[address] = records[address]._replace(
                status=VideoStatus.COMPLETED,
                result_url="https://cdn.example/new.mp4?sig=y",
                result_expires_at=fresh_until,
            )
            files.add(address)
        elif change.action is Action.DOWNLOAD:
            files.add(address)
    videos = tuple(sorted(records.values(), key=lambda r: r.address))
    after = Snapshot(lineage=snapshot.lineage, serial=snapshot.serial + 1, videos=videos)
    return after, frozenset(files)


def not_downloaded(snapshot: Snapshot, files: frozenset[str]) -> frozenset[str]:
    """``PlanOptions.not_downloaded``: the completed videos without a file in ``files``."""
    return frozenset(
        r.address
        for r in snapshot.videos
        if r.status is VideoStatus.COMPLETED and r.address not in files
    )


@settings(max_examples=300, deadline=None)
@given(
    wanted=desired_rows,
    rows=state_rows,
    replace=st.lists(st.sampled_from(NAMES), max_size=2),
    retry=st.lists(st.sampled_from(NAMES), max_size=2),
)
def test_apply_then_plan_gives_no_changes(
    wanted: list[dict[str, object]],
    rows: list[dict[str, object]],
    replace: list[str],
    retry: list[str],
) -> None:
    desired = Desired(
        videos=tuple(sorted((video(row) for row in wanted), key=lambda v: v.address)),
        specs_digest="d",
    )
    records = sorted((record(row) for row in rows), key=lambda r: r.address)
    snapshot = Snapshot(lineage="L", serial=1, videos=tuple(records))
    downloaded = frozenset(f"video.{row['name']}" for row in rows if row["downloaded"])
    names = {row["name"] for row in wanted}  # --replace and --retry-uncertain need a spec
    first = build_plan(
        desired,
        snapshot,
        PlanOptions(
            now=NOW,
            not_downloaded=not_downloaded(snapshot, downloaded),
            replace=tuple(f"video.{n}" for n in replace if n in names),
            retry_uncertain=tuple(f"video.{n}" for n in retry if n in names),
        ),
    )
    stuck = {c.address for c in first.changes if c.action in (Action.UNCERTAIN, Action.BLOCKED)}
    after, files = simulate(first, snapshot, downloaded)
    second = build_plan(
        desired, after, PlanOptions(now=NOW, not_downloaded=not_downloaded(after, files))
    )
    leftover = [
        (c.address, c.action.value, c.reason.value)
        for c in second.changes
        if c.address not in stuck
    ]
    assert leftover == []
    # What stays is what waited for a person, and it stays the same.
    assert {c.action for c in second.changes} <= {Action.UNCERTAIN, Action.BLOCKED}
    assert not second.has_changes or any(c.action is Action.UNCERTAIN for c in second.changes)


@settings(max_examples=200, deadline=None)
@given(
    wanted=desired_rows,
    rows=state_rows,
    targets=st.lists(st.sampled_from((*NAMES, "old-1", "old-2")), max_size=3),
    excludes=st.lists(st.sampled_from((*NAMES, "old-1", "old-2")), max_size=2),
)
def test_a_targeted_apply_converges_for_its_targets(
    wanted: list[dict[str, object]],
    rows: list[dict[str, object]],
    targets: list[str],
    excludes: list[str],
) -> None:
    desired = Desired(
        videos=tuple(sorted((video(row) for row in wanted), key=lambda v: v.address)),
        specs_digest="d",
    )
    records = sorted((record(row) for row in rows), key=lambda r: r.address)
    snapshot = Snapshot(lineage="L", serial=1, videos=tuple(records))
    downloaded = frozenset(f"video.{row['name']}" for row in rows if row["downloaded"])
    known = {v.address for v in desired.videos} | {r.address for r in records}
    chosen = tuple(f"video.{n}" for n in targets if f"video.{n}" in known)
    left_out = tuple(f"video.{n}" for n in excludes if f"video.{n}" in known)
    first = build_plan(
        desired,
        snapshot,
        PlanOptions(
            now=NOW,
            not_downloaded=not_downloaded(snapshot, downloaded),
            targets=chosen,
            excludes=left_out,
        ),
    )
    moved = {c.address: c.prior_address for c in first.changes if c.action is Action.MOVE}
    for change in first.changes:  # a move's follow-ups answer to its old address too
        addresses = {change.address, moved.get(change.address)} - {None}
        assert not chosen or addresses & set(chosen)
        assert not addresses & set(left_out)
    stuck = {c.address for c in first.changes if c.action in (Action.UNCERTAIN, Action.BLOCKED)}
    after, files = simulate(first, snapshot, downloaded)
    known_after = {v.address for v in desired.videos} | {r.address for r in after.videos}
    second = build_plan(
        desired,
        after,
        PlanOptions(
            now=NOW,
            not_downloaded=not_downloaded(after, files),
            targets=tuple(t for t in chosen if t in known_after),
            excludes=tuple(e for e in left_out if e in known_after),
        ),
    )
    if chosen and not any(t in known_after for t in chosen):
        return  # every target was forgotten: nothing left to plan for them
    leftover = [c for c in second.changes if c.address not in stuck]
    assert [(c.address, c.action.value) for c in leftover] == []
