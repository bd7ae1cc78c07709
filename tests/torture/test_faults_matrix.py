"""Faults matrix: each emulator fault alone, then a database that goes away mid-apply.

Every case is checked for "finishes, or stops cleanly with nothing lost": the apply
exits 0 or 1 (never a traceback, never the key), every task the emulator made is in the
state or behind an uncertain intent, no fingerprint is created twice; then, with the
fault gone, the recovery of tests/torture/crash.py (adopt or retry the uncertain ones,
apply) ends with every video downloaded whole and nothing left to do.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.e2e.harness import Emulator, running_emulator
from tests.e2e.test_interrupts import wait_for_line
from tests.torture.crash import (
    EMULATOR_FLAGS,
    TrialOutcome,
    TrialPlan,
    make_project,
    recover,
    start_killable_apply,
)
from tests.torture.pg import schema_of, terminate_backends

VIDEOS = 6
MEDIA = "/_emulator/media"
OFF: dict[str, object] = {
    "latency_ms": 0,
    "jitter_ms": 0,
    "error_5xx_rate": 0,
    "burst_429": 0,
    "code_minus1_rate": 0,
    "malformed_json_rate": 0,
    "truncate_rate": 0,
    "wrong_content_type_rate": 0,
    "reset_rate": 0,
    "slow_response": 0,
    "fault_path_prefix": None,
}
FAULTS: dict[str, dict[str, object]] = {
    "latency_spikes": {"latency_ms": 20, "jitter_ms": 600},
    "5xx": {"error_5xx_rate": 0.3},
    "429_storm": {"burst_429": 12, "retry_after": 1},
    "code_minus1": {"code_minus1_rate": 0.3},
    "malformed_json": {"malformed_json_rate": 0.3},
    "truncated_bodies": {"truncate_rate": 0.3},
    "wrong_content_type": {"wrong_content_type_rate": 0.3},
    "connection_resets": {"reset_rate": 0.3},
    "slow_download": {"slow_response": 300, "fault_path_prefix": MEDIA},
    "interrupted_download": {"truncate_rate": 0.4, "reset_rate": 0.3, "fault_path_prefix": MEDIA},
}


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "emulator.db", *EMULATOR_FLAGS, "--seed", "11") as running:
        yield running


def _outcome(name: str, backend: str, videos: int = VIDEOS) -> TrialOutcome:
    return TrialOutcome(TrialPlan(backend, f"fault:{name}", 0, 0.0, videos))


@pytest.mark.slow  # the client's real backoff between retries
@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_alone_finishes_or_stops_cleanly(
    tmp_path: Path, emulator: Emulator, fault: str
) -> None:
    state_url = f"sqlite:///{tmp_path / 'state' / 'state.db'}"
    project = make_project(tmp_path, emulator, state_url, VIDEOS)
    emulator.admin(**FAULTS[fault])
    started = time.monotonic()
    applied = project.run("--debug", "apply", "--auto-approve", "--wait", timeout=240)
    elapsed = time.monotonic() - started
    outcome = _outcome(fault, "sqlite")
    assert applied.code in (0, 1), applied.stdout + applied.stderr
    assert "Traceback" not in applied.stdout + applied.stderr
    assert project.env["SEEDANCE_API_KEY"] not in applied.stdout + applied.stderr
    injected = emulator.stats()["faults_injected"]
    assert isinstance(injected, dict)
    if fault == "slow_download":  # a throttle, not a counted fault: ~2 s per video file
        assert elapsed > 1.5, elapsed
    elif fault != "latency_spikes":
        assert sum(int(str(n)) for n in injected.values()) > 0, f"no {fault} injected"
    emulator.admin(**OFF)
    recover(tmp_path, project, emulator, state_url, None, outcome)
    assert outcome.ok, outcome.problems


def _database_goes_away(tmp_path: Path, emulator: Emulator, state_url: str) -> TrialOutcome:
    project = make_project(tmp_path, emulator, state_url, 16)
    emulator.admin(latency_ms=400)
    log = tmp_path / "apply.log"
    process = start_killable_apply(project, log, None)
    moved: Path | None = None
    try:
        wait_for_line(log, " created: ", timeout=60)
        if state_url.startswith("sqlite:///"):
            folder = Path(state_url.removeprefix("sqlite:///")).parent
            moved = folder.with_name(folder.name + "-away")
            folder.rename(moved)
        else:
            deadline = time.monotonic() + 10
            while not terminate_backends(state_url, schema_of(state_url)):
                assert time.monotonic() < deadline, "no state connection to terminate"
                time.sleep(0.05)
        code = process.wait(timeout=180)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    output = log.read_text(errors="replace")
    assert code in (0, 1), output
    assert "Traceback" not in output
    if code == 1:
        assert "Error:" in output, output
    if moved is not None:
        folder = moved.with_name(moved.name.removesuffix("-away"))
        if folder.exists():  # the apply made a fresh one: a second state is a loss
            shutil.rmtree(folder)
        moved.rename(folder)
    emulator.admin(latency_ms=0)
    outcome = _outcome("database_away", "sqlite" if moved else "postgresql", 16)
    pg_base = None if moved else state_url
    recover(tmp_path, project, emulator, state_url, pg_base, outcome)
    return outcome


def test_sqlite_directory_moved_away_mid_apply(tmp_path: Path, emulator: Emulator) -> None:
    outcome = _database_goes_away(tmp_path, emulator, f"sqlite:///{tmp_path / 'db' / 'state.db'}")
    assert outcome.ok, outcome.problems


@pytest.mark.postgres
def test_postgresql_sessions_terminated_mid_apply(
    tmp_path: Path, emulator: Emulator, pg_url: str
) -> None:
    # The application name marks this test's sessions, so only they are terminated.
    named = make_url(pg_url).update_query_dict({"application_name": schema_of(pg_url)})
    outcome = _database_goes_away(tmp_path, emulator, named.render_as_string(False))
    assert outcome.ok, outcome.problems
