"""Timing, reporting and subprocess helpers shared by the benchmarks."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
PG_URL_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True, slots=True)
class Stats:
    samples: tuple[float, ...]
    cpu: tuple[float, ...] = ()  # CPU seconds (this process + finished children) per run

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)


def measure(func: Callable[[], object], runs: int) -> Stats:
    """Wall time of ``runs`` calls (bounded: ``runs`` is small and fixed)."""
    samples, cpu = [], []
    for _ in range(runs):
        before = _cpu()
        start = time.perf_counter()
        func()
        samples.append(time.perf_counter() - start)
        cpu.append(_cpu() - before)
    return Stats(tuple(samples), tuple(cpu))


def _cpu() -> float:
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def cpu_median(stats: Stats) -> float | None:
    return statistics.median(stats.cpu) if stats.cpu else None


def report(
    name: str,
    stats: Stats,
    floor: float | None = None,
    floor_name: str = "",
    cpu_floor: float | None = None,
) -> None:
    line = (
        f"{name:<44} median {stats.median:8.3f} s  min {stats.low:8.3f} s  "
        f"max {stats.high:8.3f} s  (n={len(stats.samples)})"
    )
    if floor is not None and floor > 0:
        line += f"  floor {floor:.3f} s [{floor_name}]  ratio {stats.median / floor:5.2f}x"
    print(line, flush=True)
    if stats.cpu:
        # The machine is shared: CPU time is steadier than wall time under load.
        cpu = statistics.median(stats.cpu)
        line = f"  cpu median {cpu:.3f} s"
        if cpu_floor:
            line += f"  (floor's cpu {cpu_floor:.3f} s, cpu ratio {cpu / cpu_floor:5.2f}x)"
        print(line, flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SEEDANCE_", "RECONCILER_"))
    }
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str], env: dict[str, str], *, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess (the cost a user pays, start-up included)."""
    done = subprocess.run(
        [PYTHON, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if check and done.returncode not in (0, 2):
        raise RuntimeError(f"reconciler {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def run_python(code: str, *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    done = subprocess.run(
        [PYTHON, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"python -c failed:\n{done.stderr}")
    return done.stdout


def child_peak_rss_mib() -> float:
    """Peak RSS of the largest finished child process so far (Linux: KiB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def timed_child(
    argv: Sequence[str], env: dict[str, str], timeout: float = 900
) -> tuple[float, float, float]:
    """Wall time, CPU time and peak RSS (MiB) of one child, from wait4."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise RuntimeError(f"{argv} timed out")
        time.sleep(0.005)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 2):
        raise RuntimeError(f"{argv} exited {proc.returncode}:\n{err}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def scratch(base: Path, name: str) -> Path:
    path = base / name
    path.mkdir(parents=True, exist_ok=True)
    return path
