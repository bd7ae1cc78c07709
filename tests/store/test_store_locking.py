"""The write lock, exercised with real processes (not threads) on both backends."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from reconciler.errors import StateConflict, StateLocked
from reconciler.store import StateStore
from reconciler.store.schema import lock
from reconciler.store.writes import utcnow

HOLDER = Path(__file__).with_name("lock_holder.py")
LINE_TIMEOUT = 20.0


def _spawn(
    url: str, hold: float, timeout: float = 0.0, heartbeat: float = 5.0
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HOLDER), url, str(hold), str(timeout), str(heartbeat)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _first_line(proc: subprocess.Popen[str]) -> dict[str, object]:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], LINE_TIMEOUT)
    assert ready, "the lock holder said nothing in time"
    line = proc.stdout.readline()
    assert line, f"the lock holder exited with {proc.wait(5)}"
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


@contextmanager
def _holder(
    url: str, hold: float = 60.0, heartbeat: float = 5.0
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = _spawn(url, hold, heartbeat=heartbeat)
    try:
        data = _first_line(proc)
        assert data["ok"] is True, data
        yield proc, str(data["lock_id"])
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()


def _kill(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)  # reaped: no zombie keeps the pid "alive"


def test_second_writer_fails_fast_naming_the_holder(store: StateStore, state_url: str) -> None:
    with _holder(state_url) as (proc, lock_id):
        started = time.monotonic()
        with pytest.raises(StateLocked) as caught, store.lock("parent"):
            pass
        assert time.monotonic() - started < 3
    error = caught.value
    assert f"pid {proc.pid}" in error.message
    assert socket.gethostname() in error.message and "test-hold" in error.message
    assert error.hint is not None and f"reconciler force-unlock {lock_id}" in error.hint


def test_waiting_writer_gets_the_lock_when_released(store: StateStore, state_url: str) -> None:
    with _holder(state_url, hold=0.7) as (proc, _):
        started = time.monotonic()
        with store.lock("parent", timeout=15) as info:
            waited = time.monotonic() - started
            assert info.pid == os.getpid() and info.took_over is None
        assert proc.wait(10) == 0  # released normally, not taken over
    assert waited < 15


def test_wait_is_bounded_by_the_timeout(store: StateStore, state_url: str) -> None:
    with _holder(state_url):
        started = time.monotonic()
        with pytest.raises(StateLocked, match="waited"), store.lock("parent", timeout=0.6):
            pass
        assert 0.5 < time.monotonic() - started < 5


def test_two_processes_race_and_exactly_one_wins(store: StateStore, state_url: str) -> None:
    procs = [_spawn(state_url, hold=60.0) for _ in range(2)]
    try:
        # The winner holds until its stdin closes, so a slow start cannot let both win.
        results = [_first_line(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.stdin is not None:
                proc.stdin.close()
            proc.wait(20)
            if proc.stdout is not None:
                proc.stdout.close()
    assert sorted(bool(result["ok"]) for result in results) == [False, True]
    assert store.lock_holder() is None  # the winner released it


def test_sigkilled_holder_is_detected(store: StateStore, state_url: str) -> None:
    with _holder(state_url) as (proc, lock_id):
        _kill(proc)
        with store.lock("parent", timeout=5) as info:
            assert info.took_over is not None and lock_id in info.took_over
            if store.dialect == "sqlite":
                assert f"process {proc.pid}" in info.took_over and "gone" in info.took_over
            else:
                assert "session had ended" in info.took_over
    assert any(entry.kind == "lock" for entry in store.history())


def test_force_unlock_refuses_a_live_holder(store: StateStore, state_url: str) -> None:
    with _holder(state_url) as (proc, lock_id):
        with pytest.raises(StateLocked, match="live"):
            store.force_unlock(lock_id)
        with pytest.raises(StateConflict, match="current lock is"):
            store.force_unlock("0" * 32)
        _kill(proc)
        removed = store.force_unlock(lock_id)
        assert removed.pid == proc.pid
    assert store.lock_holder() is None
    with pytest.raises(StateConflict, match="not locked"):
        store.force_unlock(lock_id)
    with store.lock("parent"):
        pass


def _plant_lock(store: StateStore, *, age: timedelta, host: str = "elsewhere") -> None:
    stamp = utcnow() - age
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(lock).values(
                id=1,
                lock_id="f" * 32,
                holder="ci@elsewhere",
                command="apply",
                pid=1,
                host=host,
                run_id=None,
                acquired_at=stamp,
                heartbeat_at=stamp,
            )
        )


def test_sqlite_stale_heartbeat_is_taken_over(tmp_path: Path) -> None:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        _plant_lock(store, age=timedelta(minutes=10))
        with store.lock("parent") as info:
            assert info.took_over is not None and "heartbeat" in info.took_over


def test_sqlite_fresh_heartbeat_elsewhere_is_respected(tmp_path: Path) -> None:
    with StateStore.open(f"sqlite:///{tmp_path / 'state.db'}") as store:
        _plant_lock(store, age=timedelta(seconds=1))
        with pytest.raises(StateLocked, match="ci@elsewhere"), store.lock("parent"):
            pass
        with pytest.raises(StateLocked, match="live"):
            store.force_unlock("f" * 32)


def _freeze_between_beats(proc: subprocess.Popen[str], db: Path) -> None:
    """SIGSTOP ``proc`` while it is not inside a heartbeat's write transaction.

    Frozen inside one, it would keep SQLite's write lock itself, and nothing could take
    over: that is SQLite's own limit, not the state lock's. Stop it, check that a write
    transaction can begin, and if not let it finish its beat and try again.
    """
    for _ in range(50):
        os.kill(proc.pid, signal.SIGSTOP)
        probe = sqlite3.connect(db, timeout=0.05, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return
        except sqlite3.OperationalError:
            os.kill(proc.pid, signal.SIGCONT)
            time.sleep(0.02)
        finally:
            probe.close()
    pytest.fail("could not freeze the holder outside its heartbeat transaction")


def test_sqlite_frozen_holder_goes_stale(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with (
        # Generous against a loaded machine: 30 missed beats before the holder is stale.
        StateStore.open(url, lock_heartbeat=0.1, lock_stale_after=3.0) as store,
        _holder(url, heartbeat=0.1) as (proc, lock_id),
    ):
        first = store.lock_holder()
        assert first is not None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.1)
            later = store.lock_holder()
            if later is not None and later.heartbeat_at > first.heartbeat_at:
                break
        else:
            pytest.fail("the holder's heartbeat never advanced")
        with pytest.raises(StateLocked):  # alive and beating: respected
            store.force_unlock(lock_id)
        _freeze_between_beats(proc, tmp_path / "state.db")  # alive, but its heartbeat stops
        try:
            with store.lock("parent", timeout=15) as info:
                assert info.took_over is not None and "heartbeat" in info.took_over
        finally:
            _kill(proc)
