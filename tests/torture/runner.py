"""``scripts/torture``: run the crash trials and concurrency rounds, print the figures.

``--quick`` (CI-sized): 3 trials per kill point per backend, 40 videos each, one
concurrency round per backend. ``--full``: 5 trials per kill point (30 per backend),
200 videos each, three concurrency rounds per backend. PostgreSQL comes from
``--pg-url`` or ``RECONCILER_TEST_PG_URL``; without it the PostgreSQL half is skipped
with the reason, except under CI=true, where that is a failure. Exit 1 when any
invariant broke, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import TypeVar

from tests.e2e.harness import Emulator, start_emulator, stop_emulator
from tests.torture.concurrency import ConcurrencyOutcome, run_round
from tests.torture.crash import (
    EMULATOR_FLAGS,
    POINTS,
    TrialOutcome,
    TrialPlan,
    plan_trials,
    run_trial,
)
from tests.torture.figures import Figures
from tests.torture.pg import fresh_schema, reachable

T = TypeVar("T")
SIZES = {"quick": (3, 40, 1), "full": (5, 200, 3)}  # per point, videos, concurrency rounds


@contextlib.contextmanager
def emulator_in(folder: Path) -> Iterator[Emulator]:
    running = start_emulator(folder / "emulator.db", *EMULATOR_FLAGS)
    try:
        yield running
    finally:
        stop_emulator(running)


@contextlib.contextmanager
def state_for(backend: str, folder: Path, pg_base: str | None) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'state' / 'state.db'}"
        return
    assert pg_base is not None
    with fresh_schema(pg_base) as url:
        yield url


def one_trial(root: Path, index: int, plan: TrialPlan, pg_base: str | None) -> TrialOutcome:
    folder = root / f"trial-{index:03d}-{plan.backend}-{plan.point}"
    folder.mkdir()
    with emulator_in(folder) as emulator, state_for(plan.backend, folder, pg_base) as url:
        return run_trial(folder, emulator, url, plan, pg_base)


def one_round(root: Path, index: int, backend: str, pg_base: str | None) -> ConcurrencyOutcome:
    folder = root / f"concurrency-{index:02d}-{backend}"
    folder.mkdir()
    with emulator_in(folder) as emulator, state_for(backend, folder, pg_base) as url:
        return run_round(folder, emulator, url)


def backends(names: list[str], pg_base: str | None, figures: Figures) -> list[str]:
    chosen = []
    for name in names:
        if name == "postgresql":
            reason = "RECONCILER_TEST_PG_URL is not set" if not pg_base else reachable(pg_base)
            if reason:
                if os.environ.get("CI") == "true":
                    raise SystemExit(f"PostgreSQL is required under CI=true: {reason}")
                figures.skipped.append(f"postgresql: {reason}")
                continue
        chosen.append(name)
    return chosen


def run_all(
    root: Path,
    *,
    names: list[str],
    per_point: int,
    videos: int,
    rounds: int,
    seed: int,
    jobs: int,
    pg_base: str | None,
    report: Callable[[str], None],
    points: list[str] | None = None,
) -> Figures:
    figures = Figures()
    rng = random.Random(seed)
    chosen = backends(names, pg_base, figures)
    plans = [p for b in chosen for p in plan_trials(b, per_point, videos, rng)]
    plans = [p for p in plans if not points or p.point in points]

    def trial(item: tuple[int, TrialPlan]) -> TrialOutcome:
        index, plan = item
        outcome = one_trial(root, index, plan, pg_base)
        verdict = "ok" if outcome.ok else "PROBLEM: " + "; ".join(outcome.problems)
        report(
            f"trial {index + 1}/{len(plans)} {plan.backend} {plan.point} hit={plan.hit} "
            f"delay={plan.delay} killed={outcome.killed} {outcome.seconds}s {verdict}"
        )
        return outcome

    figures.trials = _pool(jobs, trial, list(enumerate(plans)))
    for backend in chosen:
        for index in range(rounds):
            outcome = one_round(root, index, backend, pg_base)
            verdict = "ok" if not outcome.problems else "PROBLEM: " + "; ".join(outcome.problems)
            report(f"concurrency {backend} round {index + 1}/{rounds} {verdict}")
            figures.rounds.append(outcome)
    return figures


def _pool(
    jobs: int, fn: Callable[[tuple[int, TrialPlan]], T], items: list[tuple[int, TrialPlan]]
) -> list[T]:
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(fn, items))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/torture", description=__doc__.split("\n")[0])
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_const", const="quick", dest="size")
    size.add_argument("--full", action="store_const", const="full", dest="size")
    parser.add_argument("--per-point", type=int, help="trials per kill point per backend")
    parser.add_argument("--videos", type=int, help="videos per crash trial")
    parser.add_argument("--rounds", type=int, help="concurrency rounds per backend")
    parser.add_argument("--backend", action="append", choices=["sqlite", "postgresql"])
    parser.add_argument("--point", action="append", choices=POINTS, help="only these kill points")
    parser.add_argument("--seed", type=int, default=8, help="draws the kill points")
    parser.add_argument("--jobs", type=int, default=2, help="trials at once")
    parser.add_argument("--pg-url", default=os.environ.get("RECONCILER_TEST_PG_URL"))
    parser.add_argument("--keep", type=Path, help="keep every trial's folder here")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args(argv)
    per_point, videos, rounds = SIZES[args.size or "quick"]
    began = time.monotonic()
    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            root = args.keep
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="torture-")))
        figures = run_all(
            root,
            names=args.backend or ["sqlite", "postgresql"],
            per_point=per_point if args.per_point is None else args.per_point,
            videos=videos if args.videos is None else args.videos,
            rounds=rounds if args.rounds is None else args.rounds,
            seed=args.seed,
            jobs=args.jobs,
            pg_base=args.pg_url,
            report=lambda line: print(line, file=sys.stderr, flush=True),
            points=args.point,
        )
    print(figures.table())
    print(f"took {time.monotonic() - began:.0f} s; seed {args.seed}")
    if args.json:
        data = {"trials": [asdict(t) for t in figures.trials]}
        data["rounds"] = [asdict(r) for r in figures.rounds]
        args.json.write_text(json.dumps(data, indent=2, default=str))
    failures = figures.failures
    for failure in failures:
        print(f"FAILED: {failure}")
    print("all invariants held" if not failures else f"{len(failures)} invariant failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
