"""One crash trial: apply N videos, SIGKILL the apply at a chosen point, recover, check.

A trial kills the real CLI either at an exact crash point (``RECONCILER_CRASHPOINT``, see
``reconciler/executor/crashpoints.py``) or after a random delay, then recovers the way a
user would: ``state list`` and ``plan`` show the uncertain intents; each is adopted when
the emulator did make its task, else sent again with ``--retry-uncertain``; then
``apply --wait``. The checks, each counted rather than asserted so a run reports figures:

- duplicates: creates beyond one per fingerprint (beyond two for an explicit retry);
- lost ids: a task the emulator made that is neither in the state nor behind an
  uncertain intent (right after the kill), or not in the state (after recovery);
- integrity failures: SQLite ``PRAGMA integrity_check`` not ``ok`` (after kill, at end);
- half-written files: a file under its final name whose bytes are not the full video;
- tracebacks and leaks of the API key in any output, state file, table or plan file.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
from psycopg import sql

from reconciler.emulator.media import build_mp4
from tests.e2e.harness import Emulator, Project, new_project
from tests.e2e.test_interrupts import many_videos
from tests.torture.pg import admin_dsn, schema_of

POINTS = (
    "before_intent",
    "after_intent",
    "after_post",
    "polling",
    "download",
    "mid_stream",
    "random",
)
# Crash points of reconciler/executor/crashpoints.py; the others are kills from outside.
HOOKED = frozenset(POINTS[:5])
MEDIA = "/_emulator/media/"
DURATION = 5  # seconds of video, as in many_videos()
# A key no other test uses, so a hit in a scan can only come from this run.
KEY = "sk-torture-7f3c9a1e5b2d4f60"
EMULATOR_FLAGS = ("--api-key", KEY, "--run-seconds", "1", "--latency-ms", "5")


@dataclass(frozen=True)
class TrialPlan:
    backend: str  # "sqlite" or "postgresql"
    point: str  # one of POINTS
    hit: int  # the Nth time the point is reached (crash points)
    delay: float  # seconds before the kill (random)
    videos: int


def plan_trials(backend: str, per_point: int, videos: int, rng: random.Random) -> list[TrialPlan]:
    """``per_point`` trials of every kill point, the hit drawn over the whole apply."""
    # Random kills land within the apply's likely length (about 25 ms per video here).
    longest = min(5.0, 0.3 + 0.025 * videos)
    return [
        TrialPlan(
            backend, point, rng.randint(1, videos), round(rng.uniform(0.3, longest), 2), videos
        )
        for point in POINTS
        for _ in range(per_point)
    ]


@dataclass
class TrialOutcome:
    plan: TrialPlan
    killed: bool = False
    seconds: float = 0.0
    created_before_kill: int = 0
    uncertain: int = 0
    adopted: int = 0
    retried: int = 0
    duplicates: int = 0
    lost_ids: int = 0
    integrity_failures: int = 0
    half_written: int = 0
    part_files_left: int = 0
    tracebacks: int = 0
    leaks: int = 0
    scanned: int = 0  # outputs, files and tables searched for the key
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def reset(emulator: Emulator) -> None:
    httpx.post(f"{emulator.url}/_emulator/reset", timeout=10).raise_for_status()


def _rows(project: Project, outcome: TrialOutcome) -> list[dict[str, str]]:
    listed = project.run("state", "list", "--format", "json")
    _scan(outcome, "state list", listed.stdout + listed.stderr, project)
    if listed.code != 0:
        outcome.problems.append(f"state list failed: {listed.stderr.strip()[-300:]}")
        return []
    rows: list[dict[str, str]] = json.loads(listed.stdout)["videos"]
    return rows


def _scan(outcome: TrialOutcome, where: str, text: str, project: Project) -> None:
    key = project.env["SEEDANCE_API_KEY"]
    outcome.scanned += 1
    if "Traceback" in text:
        outcome.tracebacks += 1
        outcome.problems.append(f"traceback in {where}")
    if key in text:
        outcome.leaks += text.count(key)
        outcome.problems.append(f"API key in {where}")


def _integrity(state_url: str, outcome: TrialOutcome, when: str) -> None:
    if not state_url.startswith("sqlite:///"):
        return
    path = Path(state_url.removeprefix("sqlite:///"))
    if not path.exists():  # killed before the state was made: nothing to check
        return
    with sqlite3.connect(path, timeout=30) as db:
        verdict = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    if verdict != "ok":
        outcome.integrity_failures += 1
        outcome.problems.append(f"SQLite integrity check {when}: {verdict}")


def _files(project: Project, rows: list[dict[str, str]], outcome: TrialOutcome) -> None:
    """Every final-named file holds the whole video of its address's task."""
    out = project.root / "out"
    if not out.is_dir():
        return
    task_of = {row["address"].removeprefix("video.") + ".mp4": row["task_id"] for row in rows}
    for path in sorted(out.iterdir()):
        if path.name.startswith("."):
            continue
        task_id = task_of.get(path.name)
        if not task_id or path.read_bytes() != build_mp4(task_id, DURATION):
            outcome.half_written += 1
            outcome.problems.append(f"{path.name} is not the whole video of {task_id}")


def scan_state(project: Project, state_url: str, pg_base: str | None) -> int:
    """How many times the key appears in the state: every file, or every table row."""
    key = project.env["SEEDANCE_API_KEY"]
    if state_url.startswith("sqlite:///"):
        folder = Path(state_url.removeprefix("sqlite:///")).parent
        found = sum(p.read_bytes().count(key.encode()) for p in folder.rglob("*") if p.is_file())
        return found + sum(
            p.read_bytes().count(key.encode())
            for p in (project.root / ".reconciler").rglob("*")
            if p.is_file()
        )
    assert pg_base is not None
    schema = schema_of(state_url)
    found = 0
    with psycopg.connect(admin_dsn(pg_base), autocommit=True, connect_timeout=5) as db:
        tables = db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema,)
        ).fetchall()
        for (table,) in tables:
            query = sql.SQL("SELECT t::text FROM {}.{} t").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            found += sum(row[0].count(key) for row in db.execute(query))
    return found


def start_killable_apply(
    project: Project, log: Path, crashpoint: str | None
) -> subprocess.Popen[bytes]:
    env = dict(project.env)
    if crashpoint:
        env["RECONCILER_CRASHPOINT"] = crashpoint
    command = [sys.executable, "-m", "reconciler", "--debug", "--project-dir", str(project.root)]
    command += ["apply", "--auto-approve", "--wait", "--parallelism", "4"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)


def run_trial(
    workdir: Path, emulator: Emulator, state_url: str, plan: TrialPlan, pg_base: str | None
) -> TrialOutcome:
    outcome = TrialOutcome(plan)
    began = time.monotonic()
    reset(emulator)
    project = make_project(workdir, emulator, state_url, plan.videos)

    log = workdir / "killed-apply.log"
    point = f"{plan.point}:{plan.hit}" if plan.point in HOOKED else None
    if plan.point == "mid_stream":  # results trickle at 300 B/s: ~3 s per video file
        emulator.admin(slow_response=300, fault_path_prefix=MEDIA)
    process = start_killable_apply(project, log, point)
    try:
        if plan.point == "random":
            try:
                process.wait(timeout=plan.delay)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
        elif plan.point == "mid_stream":
            _kill_mid_stream(process, project.root / "out")
        code = process.wait(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    outcome.killed = code == -signal.SIGKILL
    _scan(outcome, "the killed apply", log.read_text(errors="replace"), project)
    emulator.admin(slow_response=0, fault_path_prefix=None)
    recover(workdir, project, emulator, state_url, pg_base, outcome)
    outcome.seconds = round(time.monotonic() - began, 1)
    return outcome


def _kill_mid_stream(process: subprocess.Popen[bytes], out: Path) -> None:
    """SIGKILL once a result is being streamed: its temporary file exists (the bytes sit
    in the write buffer, so the size is no cue), or when the apply ends first."""
    deadline = time.monotonic() + 240
    while process.poll() is None and time.monotonic() < deadline:
        if out.is_dir() and any(out.glob(".*.part")):
            process.send_signal(signal.SIGKILL)
            return
        time.sleep(0.02)


def make_project(workdir: Path, emulator: Emulator, state_url: str, videos: int) -> Project:
    project = new_project(workdir)
    project.env["SEEDANCE_API_KEY"] = KEY
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.env["RECONCILER_STATE_URL"] = state_url
    project.write("specs/many.yaml", many_videos(videos))
    project.write("reconciler.yaml", "poll_interval: 0.2\n")
    return project


def recover(
    workdir: Path,
    project: Project,
    emulator: Emulator,
    state_url: str,
    pg_base: str | None,
    outcome: TrialOutcome,
) -> None:
    """After a kill or a fault: check, resolve the uncertain intents, apply, check again."""
    _integrity(state_url, outcome, "after the kill")

    rows = _rows(project, outcome)
    _files(project, rows, outcome)
    state = {row["address"]: row for row in rows}
    creating = {a for a, row in state.items() if row["status"] in ("creating", "uncertain")}
    stats = emulator.stats()
    task_ids = stats["task_ids_by_fingerprint"]
    assert isinstance(task_ids, dict)
    outcome.created_before_kill = int(str(stats["total_creates"]))
    outcome.uncertain = len(creating)
    made = {task for tasks in task_ids.values() for task in tasks}
    known = {row["task_id"] for row in rows if row["task_id"]}
    behind_intents = {t for a in creating for t in task_ids.get(state[a]["fingerprint"], [])}
    lost = made - known - behind_intents
    if lost:
        outcome.lost_ids += len(lost)
        outcome.problems.append(f"after the kill, tasks in no state record: {sorted(lost)}")

    retried: list[str] = []
    for address in sorted(creating):
        tasks = task_ids.get(state[address]["fingerprint"], [])
        if tasks:
            adopted = project.run("state", "adopt", address, tasks[0])
            _scan(outcome, "state adopt", adopted.stdout + adopted.stderr, project)
            if adopted.code != 0:
                outcome.problems.append(f"adopt {address} failed: {adopted.stderr[-300:]}")
            outcome.adopted += 1
        else:
            retried.append(address)
    outcome.retried = len(retried)
    flags = [flag for address in retried for flag in ("--retry-uncertain", address)]
    recovered = project.run("--debug", "apply", "--auto-approve", "--wait", *flags, timeout=600)
    _scan(outcome, "the recovery apply", recovered.stdout + recovered.stderr, project)
    if recovered.code != 0:
        outcome.problems.append(f"recovery apply exit {recovered.code}: {recovered.stdout[-400:]}")

    planfile = workdir / "after.plan.json"
    final_plan = project.run("--debug", "plan", "--out", str(planfile), "--format", "json")
    _scan(outcome, "the final plan", final_plan.stdout + final_plan.stderr, project)
    if final_plan.code != 0 or json.loads(final_plan.stdout or "{}").get("changes"):
        outcome.problems.append(f"changes left after recovery: {final_plan.stdout[-400:]}")
    outcome.scanned += 1
    if planfile.exists() and planfile.read_bytes().count(KEY.encode()):
        outcome.leaks += 1
        outcome.problems.append("API key in the plan file")

    _finish(project, emulator, state_url, pg_base, retried, state, outcome)


def _finish(
    project: Project,
    emulator: Emulator,
    state_url: str,
    pg_base: str | None,
    retried: list[str],
    before: dict[str, dict[str, str]],
    outcome: TrialOutcome,
) -> None:
    _integrity(state_url, outcome, "at the end")
    rows = _rows(project, outcome)
    _files(project, rows, outcome)
    outcome.part_files_left = sum(1 for p in (project.root / "out").glob(".*.part"))
    stats = emulator.stats()
    by_fingerprint = stats["creates_by_fingerprint"]
    task_ids = stats["task_ids_by_fingerprint"]
    assert isinstance(by_fingerprint, dict) and isinstance(task_ids, dict)
    allowed = {before[a]["fingerprint"] for a in retried}
    for fingerprint, count in by_fingerprint.items():
        extra = int(count) - (2 if fingerprint in allowed else 1)
        if extra > 0:
            outcome.duplicates += extra
            outcome.problems.append(f"fingerprint {fingerprint[:16]} created {count} times")
    if len(by_fingerprint) != outcome.plan.videos:
        outcome.problems.append(f"{len(by_fingerprint)} fingerprints created, not all videos")
    made = {task for tasks in task_ids.values() for task in tasks}
    if int(str(stats["tasks"])) != len(made):
        outcome.problems.append("the emulator holds tasks with no fingerprint record")
    known = {row["task_id"] for row in rows if row["task_id"]}
    if made - known:
        outcome.lost_ids += len(made - known)
        outcome.problems.append(f"after recovery, tasks not in the state: {sorted(made - known)}")
    outcome.scanned += 1
    leaked = scan_state(project, state_url, pg_base)
    if leaked:
        outcome.leaks += leaked
        outcome.problems.append(f"API key {leaked} times in the state")
