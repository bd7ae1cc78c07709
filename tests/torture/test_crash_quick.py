"""The quick crash run in the test suite: every kill point once per backend, then recovery.

The same trials as ``scripts/torture --quick``, fewer of them (one per kill point, 20
videos), so the suite stays within a couple of minutes. PostgreSQL runs when
RECONCILER_TEST_PG_URL is set and reachable; otherwise it is skipped with the reason,
except under CI=true, where that fails.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.harness import start_emulator, stop_emulator
from tests.torture.crash import (
    EMULATOR_FLAGS,
    POINTS,
    TrialOutcome,
    TrialPlan,
    make_project,
    recover,
    run_trial,
    start_killable_apply,
)
from tests.torture.pg import reachable
from tests.torture.runner import run_all


def _pg_base() -> str:
    base = os.environ.get("RECONCILER_TEST_PG_URL")
    reason = "RECONCILER_TEST_PG_URL is not set" if not base else reachable(base)
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {reason}")
        pytest.skip(reason)
    assert base is not None
    return base


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_every_kill_point_recovers_with_nothing_lost_or_paid_twice(
    tmp_path: Path, backend: str
) -> None:
    pg_base = _pg_base() if backend == "postgresql" else None
    lines: list[str] = []
    figures = run_all(
        tmp_path,
        names=[backend],
        per_point=1,
        videos=20,
        rounds=0,
        seed=8,
        jobs=2,
        pg_base=pg_base,
        report=lines.append,
    )
    assert len(figures.trials) == len(POINTS)
    assert not figures.failures, "\n".join(figures.failures)
    assert all(t.killed for t in figures.trials), "\n".join(lines)
    table = figures.table()
    for name in ("duplicates", "lost ids", "integrity failures", "half written", "leaks"):
        line = next(row for row in table.splitlines() if row.startswith(name))
        assert line.split()[-1] == "0", table


def test_a_kill_during_a_download_leaves_no_part_file_after_recovery(tmp_path: Path) -> None:
    emulator = start_emulator(tmp_path / "emulator.db", *EMULATOR_FLAGS)
    try:
        plan = TrialPlan("sqlite", "download", 2, 0.0, 4)
        state_url = f"sqlite:///{tmp_path / 'state' / 'state.db'}"
        outcome = run_trial(tmp_path, emulator, state_url, plan, None)
    finally:
        stop_emulator(emulator)
    assert outcome.ok and outcome.killed, outcome.problems
    assert outcome.part_files_left == 0


def test_a_kill_mid_stream_leaves_no_part_file_after_recovery(tmp_path: Path) -> None:
    """SIGKILL while the bytes of a result are still arriving (300 B/s), not between steps."""
    emulator = start_emulator(tmp_path / "emulator.db", *EMULATOR_FLAGS)
    try:
        state_url = f"sqlite:///{tmp_path / 'state' / 'state.db'}"
        project = make_project(tmp_path, emulator, state_url, 3)
        emulator.admin(slow_response=300, fault_path_prefix="/_emulator/media/")
        process = start_killable_apply(project, tmp_path / "apply.log", None)
        out = project.root / "out"
        deadline = time.monotonic() + 60
        try:
            # The stream's temporary file exists from the first byte to the last (its
            # bytes sit in the write buffer: only 924 of them), so its existence is the cue.
            while not list(out.glob(".*.part")):
                assert time.monotonic() < deadline, (tmp_path / "apply.log").read_text()
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
        emulator.admin(slow_response=0, fault_path_prefix=None)
        outcome = TrialOutcome(TrialPlan("sqlite", "mid-stream", 1, 0.0, 3), killed=True)
        recover(tmp_path, project, emulator, state_url, None, outcome)
    finally:
        stop_emulator(emulator)
    assert outcome.ok, outcome.problems
    assert outcome.part_files_left == 0, sorted(p.name for p in out.iterdir())
