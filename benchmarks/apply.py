"""Target 4: 1,000 creates against the emulator (100 ms per call), --parallelism 32.

Floor: 1000 x 0.1 s / 32 = 3.125 s plus start-up (the wall of `plan` on the same
project: what apply does before its first create). Target: wall <= 1.15x the floor,
with the durable writes per create kept (intent before, task id after). Also reports the
CPU time per create (the CLI process only; the emulator runs in its own process).

Measured twice: with the state and the spec cache as a `plan` leaves them (the GitOps
flow: plan on the pull request, apply on merge; the floor's start-up is that same
`plan`), and from nothing (no state database, no spec cache: a first apply also creates
the database, with Alembic, and parses every spec).
"""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

from benchmarks.common import Stats, clean_env, measure, note, report, run_cli
from benchmarks.corpus import write_project
from tests.e2e.harness import API_KEY, Emulator, start_emulator, stop_emulator

CREATES = 1000
PARALLELISM = 32
LATENCY_MS = 100


def emulator(work: Path, *flags: str) -> Emulator:
    work.mkdir(parents=True, exist_ok=True)
    data = work / "emulator.db"
    data.unlink(missing_ok=True)
    return start_emulator(data, "--balance", "1000000000", *flags)


def project(work: Path, videos: int, url: str) -> tuple[Path, dict[str, str]]:
    root = work / "project"
    shutil.rmtree(root, ignore_errors=True)
    write_project(root, videos, max(1, videos // 100))
    env = clean_env(SEEDANCE_API_KEY=API_KEY, SEEDANCE_API_URL=url)
    return root, env


def fresh_state(root: Path) -> None:
    shutil.rmtree(root / ".reconciler", ignore_errors=True)


def planned_state(root: Path, env: dict[str, str]) -> Path:
    """Run `plan` once on a fresh project; keep a copy of the empty state it created."""
    fresh_state(root)
    run_cli(["--project-dir", str(root), "plan"], env)
    template = root.parent / "planned-state.db"
    shutil.copyfile(root / ".reconciler" / "state.db", template)
    return template


def as_planned(root: Path, template: Path) -> None:
    """The state back to what `plan` left (empty), the spec cache kept."""
    state = root / ".reconciler" / "state.db"
    for leftover in state.parent.glob("state.db-*"):  # WAL and shared-memory files
        leftover.unlink()
    shutil.copyfile(template, state)


def apply_once(root: Path, env: dict[str, str], *extra: str, template: Path | None = None) -> None:
    if template is None:
        fresh_state(root)
    else:
        as_planned(root, template)
    args = ["--project-dir", str(root), "apply", "--auto-approve"]
    args += ["--parallelism", str(PARALLELISM), *extra]
    done = run_cli(args, env)
    if f"{CREATES} created" not in done.stdout and "created" in done.stdout:
        note(f"unexpected: {done.stdout.strip().splitlines()[-1]}")


def run(work: Path, runs: int) -> None:
    server = emulator(work, "--latency-ms", str(LATENCY_MS))
    try:
        root, env = project(work, CREATES, server.url)
        startup = measure(partial(run_cli, ["--project-dir", str(root), "plan"], env), runs)
        report("start-up: plan of the same project", startup)
        floor = CREATES * LATENCY_MS / 1000 / PARALLELISM + startup.median
        template = planned_state(root, env)
        stats = measure(partial(apply_once, root, env, "--no-wait", template=template), runs)
        report(
            f"apply --no-wait: {CREATES} creates, state as `plan` left it",
            stats,
            floor,
            "calls/parallelism+start",
        )
        note(f"target <= 1.15x floor: {'met' if stats.median <= 1.15 * floor else 'NOT met'}")
        _cpu_per_create(stats)
        first = measure(partial(apply_once, root, env, "--no-wait"), runs)
        report(
            f"apply --no-wait: {CREATES} creates, from nothing (first apply)",
            first,
            floor,
            "calls/parallelism+start",
        )
        _cpu_per_create(first)
        writes = measure(partial(store_writes, work / "writes.db", CREATES), runs)
        report(f"store only: {CREATES} x (intent + created) commits", writes)
        note(f"{writes.median / CREATES * 1000:.2f} ms of serial commits per create")
    finally:
        stop_emulator(server)


def store_writes(db: Path, count: int) -> None:
    """The executor's durable writes for ``count`` creates, one after another, alone."""
    from reconciler.store import StateStore

    db.unlink(missing_ok=True)
    with StateStore.open(f"sqlite:///{db}") as store:
        run_id = store.begin_run("bench", git_commit=None)
        for i in range(count):
            op = store.record_intent(
                run_id,
                address=f"video.clip-{i}",
                fingerprint=f"{i:064x}",
                spec={"model": "seedance2.0-std", "prompt": "x" * 300},
                description=None,
                labels={},
                request={"model": "seedance2.0-std", "prompt": "x" * 300},
            )
            store.record_created(op, task_id=f"task-{i}", status="queued", cost=None)


def _cpu_per_create(stats: Stats) -> None:
    if stats.cpu:
        per = sorted(stats.cpu)[len(stats.cpu) // 2] / CREATES
        note(f"CPU per create (CLI process, start-up included): {per * 1000:.2f} ms")
