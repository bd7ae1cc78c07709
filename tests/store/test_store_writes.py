"""Writes and the snapshot round trip; serial and journal bookkeeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import JsonValue

from reconciler.errors import StateConflict
from reconciler.stateview import VideoStatus
from reconciler.store import OpKind, OpState, StateStore

SPEC: dict[str, JsonValue] = {"model": "seedance-pro", "prompt": "a cat", "duration": 5}


def _intent(store: StateStore, run_id: int | None, address: str, fingerprint: str = "fp1") -> int:
    return store.record_intent(
        run_id,
        address=address,
        fingerprint=fingerprint,
        spec=SPEC,
        description="cat video",
        labels={"team": "a"},
        request={"model": "seedance-pro", "prompt": "a cat"},
    )


def test_new_state_is_empty_with_lineage(store: StateStore) -> None:
    snapshot = store.snapshot()
    assert snapshot.serial == 0
    assert len(snapshot.lineage) == 32
    assert snapshot.videos == () and snapshot.assets == ()
    assert store.current_revision() == store.head_revision()


def test_create_round_trip(store: StateStore) -> None:
    run_id = store.begin_run("apply", git_commit="abc123")
    op_id = _intent(store, run_id, "video.cat")
    creating = store.snapshot().videos[0]
    assert creating.status is VideoStatus.CREATING
    assert creating.task_id is None and creating.attempts == 1
    assert [entry.id for entry in store.open_intents()] == [op_id]

    store.record_created(op_id, task_id="task-1", status="queued", cost=2.5)
    expires = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert store.record_task(
        "video.cat",
        task_id="task-1",
        status="completed",
        progress=100,
        result_url="https://cdn/x.mp4",
        result_expires_at=expires,
    )
    store.record_download("video.cat", path="out/cat.mp4", sha256="ab" * 32)
    store.finish_run(run_id, "ok")

    (video,) = store.snapshot().videos
    assert video.address == "video.cat"
    assert video.spec == SPEC
    assert video.labels == {"team": "a"} and video.description == "cat video"
    assert video.status is VideoStatus.COMPLETED and video.task_id == "task-1"
    assert video.progress == 100
    assert video.result_expires_at == expires
    assert video.result_expires_at is not None and video.result_expires_at.tzinfo is not None
    assert video.updated_at.tzinfo is not None
    assert (video.file_path, video.file_sha256) == ("out/cat.mp4", "ab" * 32)
    assert store.open_intents() == []
    (task,) = store.tasks("video.cat")
    assert (task.task_id, task.status, task.cost, task.run_id) == ("task-1", "completed", 2.5, 1)
    (run,) = store.runs()
    assert (run.command, run.git_commit, run.outcome) == ("apply", "abc123", "ok")
    assert run.finished_at is not None


def test_every_mutation_bumps_serial_and_journals(store: StateStore) -> None:
    serials = [store.serial()]
    entries = [len(store.history())]

    def step() -> None:
        serials.append(store.serial())
        entries.append(len(store.history()))

    op_id = _intent(store, None, "video.a")
    step()
    store.record_created(op_id, task_id="t-a", status="processing", cost=None)
    step()
    store.record_task("video.a", task_id="t-a", status="processing", progress=40)
    step()
    store.update_meta("video.a", description="new", labels={})
    step()
    store.upsert_asset("sha256:00", type="image", uploaded_url="https://u")
    step()
    store.move("video.a", "video.b")
    step()
    store.forget("video.b")
    step()
    assert serials == sorted(set(serials)), serials
    # The intent and its outcome share one journal row; every other write adds one.
    assert entries == [0, 1, 1, 2, 3, 4, 5, 6]


def test_unchanged_poll_writes_nothing(store: StateStore) -> None:
    op_id = _intent(store, None, "video.a")
    store.record_created(op_id, task_id="t-a", status="queued", cost=None)
    serial = store.serial()
    assert not store.record_task("video.a", task_id="t-a", status="queued", progress=0)
    assert store.serial() == serial


def test_rejected_and_uncertain(store: StateStore) -> None:
    rejected = _intent(store, None, "video.r")
    store.record_rejected(rejected, message="20001 prompt refused")
    uncertain = _intent(store, None, "video.u")
    store.record_uncertain(uncertain, message="read timeout after send")
    videos = {video.address: video for video in store.snapshot().videos}
    assert videos["video.r"].status is VideoStatus.REJECTED
    assert videos["video.r"].error_message == "20001 prompt refused"
    assert videos["video.u"].status is VideoStatus.UNCERTAIN
    states = {entry.address: entry.state for entry in store.history()}
    assert states == {"video.r": OpState.REJECTED, "video.u": OpState.UNCERTAIN}
    with pytest.raises(StateConflict, match="not an open intent"):
        store.record_created(rejected, task_id="t", status="queued", cost=None)


def test_replace_keeps_old_task_and_resets_attempts(store: StateStore) -> None:
    first = _intent(store, None, "video.a", "fp1")
    store.record_created(first, task_id="old", status="queued", cost=1.0)
    store.record_task("video.a", task_id="old", status="failed", error_message="boom")
    retry = _intent(store, None, "video.a", "fp1")
    assert store.video("video.a") is not None
    assert store.video("video.a").attempts == 2  # type: ignore[union-attr]
    store.record_created(retry, task_id="retry", status="queued", cost=1.0)
    replace = _intent(store, None, "video.a", "fp2")
    store.record_created(replace, task_id="new", status="queued", cost=1.0)
    video = store.video("video.a")
    assert video is not None and video.attempts == 1 and video.task_id == "new"
    assert [task.task_id for task in store.tasks("video.a")] == ["old", "retry", "new"]
    # Polling the replaced task updates only its own row.
    store.record_task("video.a", task_id="retry", status="completed", progress=100)
    video = store.video("video.a")
    assert video is not None and video.status is VideoStatus.QUEUED
    assert {t.task_id: t.status for t in store.tasks()}["retry"] == "completed"


def test_later_intent_supersedes_an_open_one(store: StateStore) -> None:
    dead = _intent(store, None, "video.a")  # the process "died" here
    fresh = _intent(store, None, "video.a")
    assert [entry.id for entry in store.open_intents()] == [fresh]
    states = {entry.id: entry.state for entry in store.history("video.a")}
    assert states[dead] is OpState.UNCERTAIN


def test_forget_and_move_keep_tasks(store: StateStore) -> None:
    op_id = _intent(store, None, "video.a")
    store.record_created(op_id, task_id="t-a", status="queued", cost=None)
    _intent(store, None, "video.b")
    with pytest.raises(StateConflict, match="already in the state"):
        store.move("video.a", "video.b")
    store.move("video.a", "video.c")
    assert [task.address for task in store.tasks()] == ["video.c"]
    store.forget("video.c", kind=OpKind.RM)
    assert [video.address for video in store.snapshot().videos] == ["video.b"]
    assert [task.task_id for task in store.tasks("video.c")] == ["t-a"]
    with pytest.raises(StateConflict, match="not in the state"):
        store.forget("video.c")
    kinds = [entry.kind for entry in store.history()]
    assert kinds[-2:] == ["mv", "rm"]


def test_adopt_resolves_uncertain(store: StateStore) -> None:
    op_id = _intent(store, None, "video.a")
    store.record_uncertain(op_id, message="lost")
    _intent(store, None, "video.b")  # left open: a crash
    store.adopt("video.a", "t-a", fingerprint="fp1", spec=SPEC, status="processing", progress=10)
    store.adopt("video.b", "t-b", fingerprint="fp1", spec=SPEC, status="completed", cost=3.0)
    assert store.open_intents() == []
    videos = {video.address: video for video in store.snapshot().videos}
    assert videos["video.a"].task_id == "t-a"
    assert videos["video.a"].status is VideoStatus.PROCESSING
    assert videos["video.b"].status is VideoStatus.COMPLETED
    assert videos["video.b"].labels == {"team": "a"}  # kept from the intent
    with pytest.raises(StateConflict, match=r"already belongs to video\.a"):
        store.adopt("video.c", "t-a", fingerprint="fp1", spec=SPEC, status="queued")


def test_assets_upsert_keeps_unspecified_fields(store: StateStore) -> None:
    store.upsert_asset("sha256:aa", type="image", uploaded_url="https://u/1")
    store.upsert_asset("sha256:aa", type="image", audit_asset_id="asset-1", audit_status="Active")
    store.upsert_asset("sha256:bb", type="audio")
    assets = store.snapshot().assets
    assert [asset.content_hash for asset in assets] == ["sha256:aa", "sha256:bb"]
    first = assets[0]
    assert (first.uploaded_url, first.audit_asset_id, first.audit_status) == (
        "https://u/1",
        "asset-1",
        "Active",
    )


def test_snapshot_is_sorted_and_bulk(store: StateStore) -> None:
    for name in ("video.z", "video.a", "video.m[k=v]", "video.m#2"):
        _intent(store, None, name)
    addresses = [video.address for video in store.snapshot().videos]
    assert addresses == sorted(addresses)


def test_naive_datetimes_are_refused(store: StateStore) -> None:
    op_id = _intent(store, None, "video.a")
    store.record_created(op_id, task_id="t", status="queued", cost=None)
    with pytest.raises(Exception, match="naive datetime"):
        store.record_task(
            "video.a",
            task_id="t",
            status="completed",
            result_expires_at=datetime.now() + timedelta(days=1),
        )


def test_intent_with_a_credential_is_refused(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(StateConflict, match="'authorization'"):
        store.record_intent(
            None,
            address="video.a",
            fingerprint="fp",
            spec=SPEC,
            description=None,
            labels={},
            request={"model": "m", "headers": {"Authorization": "Bearer x"}},
        )
    monkeypatch.setenv("SEEDANCE_API_KEY", "sk-very-secret-value")
    with pytest.raises(StateConflict, match="SEEDANCE_API_KEY") as caught:
        store.record_intent(
            None,
            address="video.a",
            fingerprint="fp",
            spec=SPEC,
            description=None,
            labels={},
            request={"prompt": "sk-very-secret-value"},
        )
    assert "sk-very-secret-value" not in caught.value.message
    assert store.snapshot().videos == () and store.history() == []
