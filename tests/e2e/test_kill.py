"""SIGKILL in the middle of an apply: nothing paid is lost, nothing is paid twice."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.e2e.harness import Emulator, Project
from tests.e2e.test_interrupts import VIDEOS, many_videos, start_apply, wait_for_line


def plan_actions(project: Project) -> dict[str, str]:
    plan = project.run("plan", "--format", "json")
    assert plan.code == 0, plan.stderr
    return {c["address"]: c["action"] for c in json.loads(plan.stdout)["changes"]}


def test_sigkill_then_recover(project: Project, emulator: Emulator, tmp_path: Path) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/many.yaml", many_videos(VIDEOS))
    project.write("reconciler.yaml", "poll_interval: 0.2\n")
    emulator.admin(latency_ms=120)
    log = tmp_path / "apply.log"
    process = start_apply(project, log)
    wait_for_line(log, " created: ")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)

    rows = json.loads(project.run("state", "list", "--format", "json").stdout)["videos"]
    state = {row["address"]: row for row in rows}
    actions = plan_actions(project)
    everything = {f"video.clip-{n:03d}" for n in range(VIDEOS)}
    missing = everything - set(state)
    creating = {a for a, row in state.items() if row["status"] == "creating"}
    assert {a for a, act in actions.items() if act == "create"} == missing
    assert {a for a, act in actions.items() if act == "uncertain"} == creating
    assert missing, "the kill came before the last create"

    stats = emulator.stats()
    task_ids = stats["task_ids_by_fingerprint"]
    assert isinstance(task_ids, dict)
    known = {row["task_id"] for row in rows if row["task_id"]}
    made = {task for tasks in task_ids.values() for task in tasks}
    fingerprint_of = {a: row["fingerprint"] for a, row in state.items()}
    unknown = made - known
    assert unknown <= {t for a in creating for t in task_ids.get(fingerprint_of[a], [])}, (
        "every task the API made is in the state, or behind an intent shown as uncertain"
    )

    retried = []
    for address in sorted(creating):
        tasks = task_ids.get(fingerprint_of[address], [])
        if tasks:
            assert project.run("state", "adopt", address, tasks[0]).code == 0
        else:
            retried.append(address)
    flags = [flag for address in retried for flag in ("--retry-uncertain", address)]
    recovered = project.run("apply", "--auto-approve", "--wait", *flags, timeout=180)
    assert recovered.code == 0, recovered.stdout + recovered.stderr
    assert plan_actions(project) == {}
    final = emulator.stats()["creates_by_fingerprint"]
    assert isinstance(final, dict)
    assert len(final) == VIDEOS
    assert set(final.values()) == {1}, "no fingerprint was created twice"
