"""StateReader.apply_ran_since: whether another apply may have spent since a moment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from reconciler.store import StateStore

SECOND = timedelta(seconds=1)


def _finished_at(store: StateStore, run_id: int) -> datetime:
    (run,) = [run for run in store.runs() if run.id == run_id]
    assert run.finished_at is not None
    return run.finished_at


def test_an_apply_counts_until_it_has_finished(store: StateStore) -> None:
    assert not store.apply_ran_since(datetime.now(UTC) - timedelta(days=1))  # no runs at all
    first = store.begin_run("apply", git_commit=None)
    # Running (or died without finishing): it may be spending still.
    assert store.apply_ran_since(datetime.now(UTC) + timedelta(days=1))
    store.finish_run(first, "ok")
    finished = _finished_at(store, first)
    assert store.apply_ran_since(finished - SECOND)
    assert store.apply_ran_since(finished)
    assert not store.apply_ran_since(finished + SECOND)


def test_other_commands_and_the_asking_run_are_left_out(store: StateStore) -> None:
    applied = store.begin_run("apply", git_commit=None)
    store.finish_run(applied, "ok")
    after = _finished_at(store, applied) + SECOND
    store.begin_run("refresh", git_commit=None)  # never finished: it creates nothing
    store.begin_run("state adopt", git_commit=None)
    assert not store.apply_ran_since(after)
    mine = store.begin_run("apply", git_commit=None)
    assert store.apply_ran_since(after)  # an unfinished apply, unless it is the one asking
    assert not store.apply_ran_since(after, other_than=mine)


def test_the_latest_apply_decides(store: StateStore) -> None:
    store.begin_run("apply", git_commit=None)  # died without finishing
    later = store.begin_run("apply", git_commit=None)
    store.finish_run(later, "ok")
    # The later apply held the lock after the dead one: the dead one spent before then.
    assert not store.apply_ran_since(_finished_at(store, later) + SECOND)
