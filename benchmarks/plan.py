"""Targets 1 and 2: cold and warm `plan` of 10,000 videos in 100 files.

The state has every video applied and downloaded; 100 prompts are then edited, so the
plan shows 100 changes. Cold: no spec cache (deleted before each run); target wall
<= 1.5x the floor. Floor: one process that starts the interpreter, composes the same
bytes with ruamel's C parser (GC paused) and SELECTs the state's video rows with sqlite3.
Warm: no spec file changed since the last plan; target <= 0.6 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from functools import partial
from pathlib import Path

from benchmarks.common import PYTHON, clean_env, cpu_median, measure, note, report, run_cli
from benchmarks.corpus import change_prompts, write_project
from benchmarks.startup import heavy_imports
from benchmarks.state import seed

VIDEOS = 10_000
FILES = 100
CHANGED = 100

FLOOR_CODE = """
import gc, sqlite3, sys
from pathlib import Path
from ruamel.yaml.cyaml import CBaseLoader
gc.disable()
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    loader = CBaseLoader(path.read_text())
    loader.get_single_node()
    loader.dispose()
with sqlite3.connect(sys.argv[2]) as conn:
    conn.execute("SELECT * FROM videos").fetchall()
"""


def prepare(root: Path, videos: int, files: int, changed: int) -> str:
    """A project whose state has every video applied; then ``changed`` prompts edited.

    ``BENCH_CORPUS=reference`` writes the larger corpus of the issue's reference figures
    (~8.2 MB instead of ~4.9 MB; see ``benchmarks.corpus``).
    """
    from reconciler.spec import load_config, load_desired

    reference = os.environ.get("BENCH_CORPUS") == "reference"
    specs = write_project(root, videos, files, reference=reference)
    db = root / ".reconciler" / "state.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    desired = load_desired(root, specs, load_config(root))
    seed(f"sqlite:///{db}", desired.videos, root)
    change_prompts(specs, changed)
    shutil.rmtree(root / ".reconciler" / "cache", ignore_errors=True)
    return str(db)


def floor_run(root: Path, db: str) -> None:
    argv = [PYTHON, "-c", FLOOR_CODE, str(root / "specs"), db]
    subprocess.run(argv, check=True, timeout=300)


def cold_plan(root: Path, env: dict[str, str]) -> None:
    shutil.rmtree(root / ".reconciler" / "cache", ignore_errors=True)
    run_cli(["--project-dir", str(root), "plan"], env)


def warm_plan(root: Path, env: dict[str, str]) -> None:
    run_cli(["--project-dir", str(root), "plan"], env)


def run(work: Path, runs: int) -> None:
    root = work / "project"
    db = prepare(root, VIDEOS, FILES, CHANGED)
    size = sum(p.stat().st_size for p in (root / "specs").glob("*.yaml"))
    note(f"{VIDEOS} videos in {FILES} files, {size / 1e6:.1f} MB; {CHANGED} prompts changed")
    env = clean_env()
    summary = run_cli(["--project-dir", str(root), "plan"], env).stdout.strip().splitlines()
    note(f"plan says: {summary[-1] if summary else '?'}")
    floor = measure(partial(floor_run, root, db), runs)
    report("floor: start + C compose (GC paused) + SELECT", floor)
    cold = measure(partial(cold_plan, root, env), runs)
    report(
        "cold plan (no spec cache)", cold, floor.median, "start+compose+select", cpu_median(floor)
    )
    note(f"target <= 1.5x floor: {'met' if cold.median <= 1.5 * floor.median else 'NOT met'}")
    warm_plan(root, env)  # fills the cache
    warm = measure(partial(warm_plan, root, env), runs)
    report(
        "warm plan (no spec file changed)",
        warm,
        floor.median,
        "start+compose+select",
        cpu_median(floor),
    )
    note(f"target <= 0.6 s: {'met' if warm.median <= 0.6 else 'NOT met'}")
    loaded = heavy_imports(["--project-dir", str(root), "plan"], env)
    note(f"warm plan imports: {', '.join(loaded)} (never httpx, alembic, the executor, rich)")
