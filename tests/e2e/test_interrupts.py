"""Ctrl-C in the middle of an apply: stop starting creates, record the ones in flight."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.e2e.harness import Emulator, Project

VIDEOS = 50


def many_videos(count: int) -> str:
    lines = ["defaults:", "  model: seedance2.0-mini", "  duration: 5", "videos:"]
    for n in range(count):
        lines += [f"  clip-{n:03d}:", f"    prompt: Shot number {n} of a paper boat on a canal."]
    return "\n".join(lines) + "\n"


def start_apply(project: Project, log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "reconciler", "--project-dir", str(project.root)]
    command += ["apply", "--auto-approve", "--no-wait", "--parallelism", "4"]
    with log.open("wb") as sink:
        return subprocess.Popen(command, env=project.env, stdout=sink, stderr=subprocess.STDOUT)


def wait_for_line(log: Path, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log.read_text(errors="replace"):
            return
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} not seen in {log.read_text()}")


def test_sigint_stops_new_creates_and_records_the_ones_in_flight(
    project: Project, emulator: Emulator, tmp_path: Path
) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/many.yaml", many_videos(VIDEOS))
    emulator.admin(latency_ms=150)
    log = tmp_path / "apply.log"
    process = start_apply(project, log)
    wait_for_line(log, " created: ")
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130, log.read_text()
    output = log.read_text()
    assert "Traceback" not in output
    assert "skipped" in output

    listed = project.run("state", "list", "--format", "json")
    assert listed.code == 0, listed.stderr
    rows = json.loads(listed.stdout)["videos"]
    statuses = {row["address"]: row["status"] for row in rows}
    assert statuses, "some creates finished before the interrupt"
    assert set(statuses.values()) <= {"queued", "processing", "completed"}, statuses
    created = emulator.stats()["total_creates"]
    assert created == len(statuses), "every create the API saw is in the state"
    assert len(statuses) < VIDEOS

    plan = project.run("plan", "--format", "json")
    changes = json.loads(plan.stdout)["changes"]
    assert sum(1 for c in changes if c["action"] == "create") == VIDEOS - len(statuses)
    assert not [c for c in changes if c["action"] == "uncertain"]
