"""Target 3: `plan` at 1k, 10k and 100k videos (100 videos per file): the plan
completes, time grows linearly (the curve is printed), peak memory <= 256 MiB.

Cold runs (no spec cache), state with every video applied and 1% of prompts changed.
Peak memory is the child's maximum RSS (wait4). On Linux that figure is at least the
parent's own peak RSS (the child is started by vfork + exec, and exec keeps the old high
water mark), so the projects are prepared in a separate process and this one stays
small (~60 MiB, the floor of every figure). Set BENCH_SCALE_MAX=10000 to stop early.
Each size also runs the spec load alone (``load_desired``, cold, cache written, as in the
plan) in a child, so the loader's share of the plan's time and memory shows.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
from pathlib import Path

from benchmarks.common import PYTHON, clean_env, note, timed_child
from benchmarks.plan import prepare

SIZES = (1_000, 10_000, 100_000)
LIMIT_MIB = 256
LOAD_CODE = """
import sys
from pathlib import Path
from reconciler.spec import load_config, load_desired
root = Path(sys.argv[1])
load_desired(root, root / "specs", load_config(root))
"""


def run(work: Path, runs: int) -> None:
    env = clean_env()
    top = int(os.environ.get("BENCH_SCALE_MAX", SIZES[-1]))
    base: float | None = None
    for videos in (size for size in SIZES if size <= top):
        root = work / f"p{videos}"
        _prepare_elsewhere(root, videos)
        argv = [PYTHON, "-m", "reconciler", "--project-dir", str(root), "plan"]
        walls, cpus, peaks = [], [], []
        for _ in range(runs if videos < 100_000 else max(1, runs // 2)):
            shutil.rmtree(root / ".reconciler" / "cache", ignore_errors=True)
            wall, cpu, peak = timed_child(argv, env)
            walls.append(wall)
            cpus.append(cpu)
            peaks.append(peak)
        wall = statistics.median(walls)
        cpu = statistics.median(cpus)
        per = cpu / videos * 1000  # CPU: the machine is shared, wall time swings
        base = base if base is not None else per
        peak = max(peaks)
        memory = "ok" if peak <= LIMIT_MIB else f"OVER {LIMIT_MIB} MiB"
        print(
            f"{videos:>7} videos: median {wall:7.2f} s (min {min(walls):.2f}, max "
            f"{max(walls):.2f}), cpu {cpu:.2f} s = {per:.3f} ms/video "
            f"({per / base:.2f}x the 1k rate), "
            f"peak RSS {peak:.0f} MiB [{memory}]",
            flush=True,
        )
        shutil.rmtree(root / ".reconciler" / "cache", ignore_errors=True)
        _, load_cpu, load_peak = timed_child([PYTHON, "-c", LOAD_CODE, str(root)], env)
        print(
            f"{'':>7}  spec load alone: cpu {load_cpu:.2f} s = "
            f"{load_cpu / videos * 1000:.3f} ms/video, peak RSS {load_peak:.0f} MiB",
            flush=True,
        )
        if videos >= 100_000:
            shutil.rmtree(root, ignore_errors=True)
    note("linear growth: CPU ms/video stays flat across sizes (start-up weighs on 1k)")


def _prepare_elsewhere(root: Path, videos: int) -> None:
    """``prepare`` in a child process: loading 100k videos here would raise this
    process's peak RSS, which every later child's figure would then include."""
    context = multiprocessing.get_context("spawn")
    child = context.Process(
        target=prepare, args=(root, videos, videos // 100, max(1, videos // 100))
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"preparing {videos} videos failed ({child.exitcode})")
