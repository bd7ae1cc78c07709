"""Four applies at once on one state; plan and force-unlock against the live holder.

One round: reset the emulator, start four ``apply --no-wait`` processes at the same
moment against one state (SQLite file or PostgreSQL schema), run ``plan`` while they
run, and try ``force-unlock`` on the lock a loser names. Expected: one writer (only one
process reports creates), every loser exits 1 naming the holder and the force-unlock
command, plan works, force-unlock is refused while the holder lives, and the emulator
saw each fingerprint created once. A second wave of four with ``--lock-timeout`` must
all succeed one after the other and create nothing more.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.harness import Emulator, Project, new_project
from tests.e2e.test_interrupts import many_videos
from tests.torture.crash import KEY, reset

APPLIES = 4
_CREATED = re.compile(r"Apply finished: (\d+) created")
_LOCK_ID = re.compile(r"force-unlock ([0-9a-f]{8,})")


@dataclass
class ConcurrencyOutcome:
    backend: str
    applies: int = 0
    writers: int = 0
    losers_clear: int = 0
    losers_unclear: int = 0
    late_noops: int = 0
    duplicates: int = 0
    tracebacks: int = 0
    plan_during_apply_ok: bool = False
    force_unlock_refused: bool = False
    waited_ok: int = 0
    problems: list[str] = field(default_factory=list)


def run_round(
    workdir: Path, emulator: Emulator, state_url: str, videos: int = 12
) -> ConcurrencyOutcome:
    backend = "sqlite" if state_url.startswith("sqlite") else "postgresql"
    outcome = ConcurrencyOutcome(backend)
    reset(emulator)
    project = new_project(workdir)
    project.env.update(
        SEEDANCE_API_KEY=KEY, SEEDANCE_API_URL=emulator.url, RECONCILER_STATE_URL=state_url
    )
    project.write("specs/many.yaml", many_videos(videos))
    # Slow creates keep the winner holding the lock while the others arrive.
    emulator.admin(latency_ms=700)
    base = [sys.executable, "-m", "reconciler", "--project-dir", str(project.root), "apply"]
    base += ["--auto-approve", "--no-wait", "--parallelism", "2"]
    logs = [workdir / f"apply-{n}.log" for n in range(APPLIES)]
    processes = []
    for log in logs:
        with log.open("wb") as sink:
            processes.append(
                subprocess.Popen(base, env=project.env, stdout=sink, stderr=subprocess.STDOUT)
            )
    try:
        _during(project, logs, outcome)
        codes = [p.wait(timeout=180) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)
    outcome.applies = APPLIES
    for code, log in zip(codes, logs, strict=True):
        _judge(code, log.read_text(errors="replace"), outcome)
    emulator.admin(latency_ms=0)
    _second_wave(project, base, workdir, outcome)
    by_fingerprint = emulator.stats()["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    outcome.duplicates = sum(max(0, int(n) - 1) for n in by_fingerprint.values())
    if outcome.duplicates or len(by_fingerprint) != videos:
        outcome.problems.append(f"creates by fingerprint: {sorted(by_fingerprint.values())}")
    if outcome.writers != 1:
        outcome.problems.append(f"{outcome.writers} processes created tasks, not 1")
    if outcome.losers_unclear:
        outcome.problems.append(f"{outcome.losers_unclear} losers without a clear message")
    return outcome


def _during(project: Project, logs: list[Path], outcome: ConcurrencyOutcome) -> None:
    """While the winner runs: plan must work, force-unlock of its lock must be refused."""
    deadline = time.monotonic() + 60
    lock_id = None
    while time.monotonic() < deadline and lock_id is None:
        for log in logs:
            found = _LOCK_ID.search(log.read_text(errors="replace"))
            if found:
                lock_id = found.group(1)
        time.sleep(0.05)
    if lock_id is None:
        outcome.problems.append("no loser named the lock to force-unlock")
    else:
        unlock = project.run("force-unlock", lock_id)
        outcome.force_unlock_refused = unlock.code == 1 and "live" in unlock.stderr
        outcome.tracebacks += unlock.stderr.count("Traceback")
        if not outcome.force_unlock_refused:
            problem = f"force-unlock, live holder: {unlock.code} {unlock.stderr[-300:]}"
            outcome.problems.append(problem)
    planned = project.run("plan", "--format", "json")
    outcome.plan_during_apply_ok = planned.code == 0 and "Traceback" not in planned.stderr
    if not outcome.plan_during_apply_ok:
        outcome.problems.append(f"plan during apply: exit {planned.code}: {planned.stderr[-300:]}")


def _judge(code: int, output: str, outcome: ConcurrencyOutcome) -> None:
    outcome.tracebacks += output.count("Traceback")
    created = _CREATED.search(output)
    if code == 0 and created and int(created.group(1)) > 0:
        outcome.writers += 1
    elif code == 0:
        outcome.late_noops += 1  # started after the winner finished: nothing left to create
    elif code == 1 and "force-unlock" in output and "lock" in output and "pid" in output:
        outcome.losers_clear += 1
    else:
        outcome.losers_unclear += 1
        outcome.problems.append(f"apply exit {code}: {output[-300:]}")


def _second_wave(
    project: Project, base: list[str], workdir: Path, outcome: ConcurrencyOutcome
) -> None:
    """Four more with --lock-timeout: each waits its turn, finds nothing, exits 0."""
    logs = [workdir / f"waiting-{n}.log" for n in range(APPLIES)]
    processes = []
    for log in logs:
        with log.open("wb") as sink:
            command = [*base, "--lock-timeout", "120"]
            processes.append(
                subprocess.Popen(command, env=project.env, stdout=sink, stderr=subprocess.STDOUT)
            )
    for process, log in zip(processes, logs, strict=True):
        code = process.wait(timeout=180)
        text = log.read_text(errors="replace")
        outcome.tracebacks += text.count("Traceback")
        if code == 0:
            outcome.waited_ok += 1
        else:
            outcome.problems.append(f"waiting apply exit {code}: {text[-300:]}")
