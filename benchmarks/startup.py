"""Target 6: start-up. `reconciler --help` <= 0.2 s, `validate` on a small project <= 0.3 s.

Floor: the bare interpreter (``python -c pass``). Also lists which heavy libraries each
command imported (none of httpx/SQLAlchemy/the emulator/rich should load for these).
"""

from __future__ import annotations

import subprocess
from functools import partial
from pathlib import Path

from benchmarks.common import PYTHON, clean_env, cpu_median, measure, note, report
from benchmarks.corpus import write_project

HEAVY = (
    "httpx",
    "sqlalchemy",
    "alembic",
    "reconciler.executor",
    "reconciler.emulator",
    "rich",
    "ruamel",
    "pydantic",
)


def _run(argv: list[str], env: dict[str, str]) -> None:
    subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False
    )


def heavy_imports(args: list[str], env: dict[str, str]) -> list[str]:
    """Which of ``HEAVY`` ``reconciler ARGS`` imports."""
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-m", "reconciler", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    loaded = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return sorted(name for name in HEAVY if name in loaded)


def run(work: Path, runs: int) -> None:
    env = clean_env()
    root = work / "startup"
    write_project(root, videos=10, files=2)
    floor = measure(partial(_run, [PYTHON, "-c", "pass"], env), runs)
    report("python -c pass (the floor)", floor)
    cases = {
        "reconciler --help": ["--help"],
        "reconciler validate (10 videos)": ["--project-dir", str(root), "validate"],
    }
    targets = {"reconciler --help": 0.2, "reconciler validate (10 videos)": 0.3}
    for name, args in cases.items():
        stats = measure(partial(_run, [PYTHON, "-m", "reconciler", *args], env), runs)
        report(name, stats, floor.median, "python -c pass", cpu_median(floor))
        met = "met" if stats.median <= targets[name] else "NOT met"
        note(f"target <= {targets[name]} s: {met}")
        note(f"heavy modules imported: {', '.join(heavy_imports(args, env)) or 'none'}")
