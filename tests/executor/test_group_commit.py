"""Group commit on the state writer thread (``StoreWriter`` + ``StateStore.group``).

Grouping must only save commits: no caller hears "done" before its write is committed
(seen from another connection), a failing write is undone alone, a failing commit fails
its whole group, and a snapshot queued after writes sees them. Both backends.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from reconciler.errors import StateConflict, StateUnavailable
from reconciler.executor.run import StoreWriter
from reconciler.stateview import VideoStatus
from reconciler.store import StateStore


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    with StateStore.open(state_url) as opened:
        yield opened


def intent(store: StateStore, run_id: int, n: int) -> int:
    return store.record_intent(
        run_id,
        address=f"video.v{n}",
        fingerprint=f"{n:064x}",
        spec={"model": "seedance2.0-mini", "prompt": f"take {n}"},
        description=None,
        labels={"n": str(n)},
        request={"model": "seedance2.0-mini", "prompt": f"take {n}"},
    )


def count_commits(store: StateStore) -> list[int]:
    commits = [0]

    def on_commit(_: object) -> None:
        commits[0] += 1

    event.listen(store.engine, "commit", on_commit)
    return commits


def test_each_caller_is_answered_only_after_its_write_is_committed(
    store: StateStore, state_url: str
) -> None:
    run_id = store.begin_run("test", git_commit=None)
    commits = count_commits(store)
    seen_by_others: list[bool] = []

    with StateStore.open(state_url) as other:

        async def one(writer: StoreWriter, n: int) -> None:
            op_id = await writer(intent, store, run_id, n)
            # What the caller is told is done must already be visible to anyone else:
            # this is what lets the executor send the paid request right after.
            entries = {entry.id: entry for entry in other.open_intents()}
            seen_by_others.append(op_id in entries)
            await writer(
                store.record_created, op_id, task_id=f"task-{n}", status="queued", cost=None
            )
            seen_by_others.append(other.video(f"video.v{n}") is not None)
            record = other.video(f"video.v{n}")
            seen_by_others.append(record is not None and record.task_id == f"task-{n}")

        async def main() -> None:
            writer = StoreWriter(store)
            try:
                await asyncio.gather(*(one(writer, n) for n in range(64)))
            finally:
                writer.close()

        asyncio.run(main())

    assert seen_by_others == [True] * (64 * 3)
    assert len(store.tasks()) == 64
    assert store.open_intents() == []
    # 128 writes; grouped, far fewer transactions were committed.
    assert commits[0] < 100, commits[0]


def test_a_failing_write_is_undone_alone(store: StateStore) -> None:
    run_id = store.begin_run("test", git_commit=None)
    serial_before = store.serial()

    async def main() -> list[object]:
        writer = StoreWriter(store)
        try:
            calls = [writer(intent, store, run_id, n) for n in range(3)]
            # Not an open intent: refused, inside the same group as the intents around it.
            calls.insert(1, writer(store.record_rejected, 999_999, message="no such intent"))
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            writer.close()

    outcomes = asyncio.run(main())
    assert isinstance(outcomes[1], StateConflict)
    assert all(isinstance(outcome, int) for index, outcome in enumerate(outcomes) if index != 1)
    assert {video.address for video in store.snapshot().videos} == {
        "video.v0",
        "video.v1",
        "video.v2",
    }
    assert store.serial() == serial_before + 3


def test_a_failing_commit_fails_every_write_of_its_group(store: StateStore) -> None:
    run_id = store.begin_run("test", git_commit=None)

    def broken_commit(_: object) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("disk I/O error"))

    async def main() -> list[object]:
        writer = StoreWriter(store)
        try:
            event.listen(store.engine, "commit", broken_commit)
            calls = [writer(intent, store, run_id, n) for n in range(5)]
            return await asyncio.gather(*calls, return_exceptions=True)
        finally:
            writer.close()
            event.remove(store.engine, "commit", broken_commit)

    outcomes = asyncio.run(main())
    assert all(isinstance(outcome, StateUnavailable) for outcome in outcomes), outcomes
    assert store.snapshot().videos == ()
    assert store.open_intents() == []


def test_a_snapshot_queued_after_writes_sees_them(store: StateStore) -> None:
    run_id = store.begin_run("test", git_commit=None)

    async def main() -> list[str]:
        writer = StoreWriter(store)
        try:
            writes = [writer(intent, store, run_id, n) for n in range(10)]
            seen = writer(store.snapshot)
            results = await asyncio.gather(*writes, seen)
            snapshot = results[-1]
            assert not isinstance(snapshot, int)
            return [video.address for video in snapshot.videos]
        finally:
            writer.close()

    addresses = asyncio.run(main())
    assert len(addresses) == 10
    assert {video.status for video in store.snapshot().videos} == {VideoStatus.CREATING}


def test_groups_do_not_nest(store: StateStore) -> None:
    with store.group(), pytest.raises(RuntimeError, match="do not nest"), store.group():
        pass


def test_a_write_raising_a_base_exception_leaves_nobody_waiting(store: StateStore) -> None:
    class Boom(BaseException):
        pass

    def boom() -> None:
        raise Boom

    async def main() -> int:
        writer = StoreWriter(store)
        try:
            with pytest.raises(Boom):
                await asyncio.wait_for(writer(boom), 10)
            # The writer thread is still serving.
            return await asyncio.wait_for(writer(store.serial), 10)
        finally:
            writer.close()

    assert asyncio.run(main()) >= 0


def test_writes_given_ahead_are_committed_before_the_ordinary_ones_queued_with_them(
    store: StateStore, state_url: str
) -> None:
    run_id = store.begin_run("test", git_commit=None)
    busy = threading.Event()
    release = threading.Event()
    ran: list[str] = []

    def hold() -> None:  # keeps the writer busy while the next writes queue up
        busy.set()
        release.wait(10)

    def ordinary(n: int) -> None:
        ran.append(f"ordinary {n}")
        intent(store, run_id, n)

    def first(n: int) -> bool:
        ran.append(f"ahead {n}")
        intent(store, run_id, n)
        # Ordinary writes queued before this one are not committed yet (not even run).
        with StateStore.open(state_url) as other:
            return all(other.video(f"video.v{m}") is None for m in range(3))

    async def main() -> list[object]:
        writer = StoreWriter(store)
        try:
            held = asyncio.ensure_future(writer(hold))
            while not busy.is_set():
                await asyncio.sleep(0.01)
            calls = [asyncio.ensure_future(writer(ordinary, n)) for n in range(3)]
            calls += [asyncio.ensure_future(writer.ahead(first, n)) for n in range(3, 5)]
            await asyncio.sleep(0.05)  # every write is queued behind `hold`
            release.set()
            return await asyncio.gather(held, *calls)
        finally:
            writer.close()

    outcomes = asyncio.run(main())
    assert ran == ["ahead 3", "ahead 4", "ordinary 0", "ordinary 1", "ordinary 2"]
    assert outcomes[-2:] == [True, True]
    assert {video.address for video in store.snapshot().videos} == {f"video.v{n}" for n in range(5)}


def test_a_write_whose_caller_is_cancelled_is_still_committed(store: StateStore) -> None:
    run_id = store.begin_run("test", git_commit=None)
    busy = threading.Event()
    release = threading.Event()

    def hold() -> None:
        busy.set()
        release.wait(10)

    async def main() -> None:
        writer = StoreWriter(store)
        try:
            held = asyncio.ensure_future(writer(hold))
            while not busy.is_set():
                await asyncio.sleep(0.01)
            queued = asyncio.ensure_future(writer.ahead(intent, store, run_id, 1))
            await asyncio.sleep(0.01)  # queued behind `hold`
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            release.set()
            await held
        finally:
            writer.close()  # runs what is still queued

    asyncio.run(main())
    assert [video.address for video in store.snapshot().videos] == ["video.v1"]
    assert [entry.address for entry in store.open_intents()] == ["video.v1"]
