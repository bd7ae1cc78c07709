"""Faults of the API through the real CLI: 5xx, 429 storms, code -1, an expired result URL.

Each fault is injected by the emulator with a fixed ``--seed``, so a run is reproducible.
The invariant checked everywhere: a create the API refused for sure is retried, and no
fingerprint is ever created twice.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Project, start_emulator, stop_emulator

CONFIG = "poll_interval: 0.2\n"


def specs(count: int) -> str:
    lines = ["defaults:", "  model: seedance2.0-mini", "  duration: 5", "videos:"]
    for n in range(count):
        lines += [f"  shot-{n}:", f"    prompt: Shot {n} of a lighthouse in a storm, wide angle."]
    return "\n".join(lines) + "\n"


@pytest.fixture
def faulty(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Emulator]:
    flags: tuple[str, ...] = request.param
    running = start_emulator(tmp_path / "faulty.db", "--seed", "7", *flags)
    try:
        yield running
    finally:
        stop_emulator(running)


def setup(project: Project, emulator: Emulator, count: int) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", specs(count))
    project.write("reconciler.yaml", CONFIG)


def assert_each_created_once(emulator: Emulator, count: int) -> dict[str, object]:
    stats = emulator.stats()
    by_fingerprint = stats["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert len(by_fingerprint) == count
    assert set(by_fingerprint.values()) == {1}, by_fingerprint
    return stats


def assert_all_downloaded(project: Project, count: int) -> None:
    names = sorted(p.name for p in (project.root / "out").iterdir())
    assert names == sorted(f"shot-{n}.mp4" for n in range(count))
    again = project.run("plan", "--detailed-exitcode")
    assert again.code == 0, again.stdout + again.stderr


@pytest.mark.slow  # the client's real backoff (1 s base) between retries
@pytest.mark.parametrize("faulty", [("--error-5xx-rate", "0.2")], indirect=True)
def test_a_20_percent_5xx_rate_ends_with_every_video_done_and_created_once(
    project: Project, faulty: Emulator
) -> None:
    setup(project, faulty, 8)
    applied = project.run("apply", "--auto-approve", "--wait", timeout=120)
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "8 created, 8 completed, 8 downloaded" in applied.stdout
    assert "retrying" in applied.stderr
    stats = assert_each_created_once(faulty, 8)
    injected = stats["faults_injected"]
    assert isinstance(injected, dict) and injected.get("5xx", 0) > 0
    assert_all_downloaded(project, 8)


@pytest.mark.slow  # the client's real backoff (1 s base) between retries
@pytest.mark.parametrize("faulty", [("--code-minus1-rate", "0.2")], indirect=True)
def test_code_minus_1_is_retried_and_never_creates_twice(
    project: Project, faulty: Emulator
) -> None:
    setup(project, faulty, 6)
    applied = project.run("apply", "--auto-approve", "--wait", timeout=120)
    assert applied.code == 0, applied.stdout + applied.stderr
    stats = assert_each_created_once(faulty, 6)
    injected = stats["faults_injected"]
    assert isinstance(injected, dict) and injected.get("code_minus1", 0) > 0
    assert_all_downloaded(project, 6)


@pytest.mark.parametrize(
    "faulty",
    [
        (
            "--burst-429",
            "4",
            "--retry-after",
            "2",
            "--fault-path-prefix",
            "/api/open-api/v1/seedance/videos",
        )
    ],
    indirect=True,
)
def test_a_429_storm_waits_for_retry_after_then_succeeds(
    project: Project, faulty: Emulator
) -> None:
    setup(project, faulty, 4)
    started = time.monotonic()
    applied = project.run("apply", "--auto-approve", "--no-wait", "--parallelism", "4")
    elapsed = time.monotonic() - started
    assert applied.code == 0, applied.stdout + applied.stderr
    assert "4 created" in applied.stdout
    # Every first create hit the storm and was told to come back in 2 s.
    assert applied.stderr.count("retrying") >= 4, applied.stderr
    assert "in 2.0s" in applied.stderr
    assert elapsed >= 2.0, "the retry waited at least Retry-After"
    stamps = created_times(applied.stderr)
    assert len(stamps) == 4
    assert min(stamps) >= 2.0, "no create went through before its Retry-After"
    stats = assert_each_created_once(faulty, 4)
    injected = stats["faults_injected"]
    assert isinstance(injected, dict) and injected.get("429") == 4


@pytest.mark.parametrize("faulty", [("--result-ttl", "0.5")], indirect=True)
def test_an_expired_result_url_is_reported_and_planned_as_blocked(
    project: Project, faulty: Emulator
) -> None:
    setup(project, faulty, 2)
    applied = project.run("apply", "--auto-approve", "--no-wait")
    assert applied.code == 0, applied.stdout + applied.stderr
    time.sleep(1.0)  # the result URLs outlive their 0.5 s

    refreshed = project.run("refresh")
    assert refreshed.code == 1, refreshed.stdout + refreshed.stderr
    assert "Traceback" not in refreshed.stderr
    assert "the result URL expired" in refreshed.stdout
    assert "the result URL expired" in refreshed.stderr
    assert "--replace video.shot-0 --replace video.shot-1" in refreshed.stdout

    plan = project.run("plan", "--format", "json")
    assert plan.code == 0, plan.stderr
    changes = {c["address"]: c for c in json.loads(plan.stdout)["changes"]}
    assert set(changes) == {"video.shot-0", "video.shot-1"}
    for change in changes.values():
        assert (change["action"], change["reason"]) == ("blocked", "result_expired")
    text = project.run("plan").stdout
    assert "--replace" in text
    assert faulty.stats()["total_creates"] == 2


@pytest.mark.parametrize("faulty", [("--balance", "100")], indirect=True)
def test_a_balance_below_the_estimate_refuses_before_any_create(
    project: Project, faulty: Emulator
) -> None:
    setup(project, faulty, 2)
    # Our price table says 2 x 5 s x 50 = 500, more than the account's 100.
    project.write(
        "reconciler.yaml",
        CONFIG + "pricing:\n  seedance2.0-mini-720p: {mode: per_second, unit_price: 50}\n",
    )
    refused = project.run("apply", "--auto-approve", "--no-wait")
    assert refused.code == 1, refused.stdout + refused.stderr
    assert "does not cover the plan's estimated cost (500 JimiCoin)" in refused.stderr
    assert "--no-balance-check" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert faulty.stats()["total_creates"] == 0

    forced = project.run("apply", "--auto-approve", "--no-wait", "--no-balance-check")
    assert forced.code == 0, forced.stdout + forced.stderr
    assert "2 created" in forced.stdout
    assert_each_created_once(faulty, 2)


def created_times(stderr: str) -> list[float]:
    """The elapsed-seconds stamps of the `created` lines of the line printer."""
    stamps = []
    for line in stderr.splitlines():
        if " created: " in line and line.startswith("["):
            stamps.append(float(line[1:].split("s]", 1)[0]))
    return stamps


def test_the_rate_cap_spaces_the_creates(project: Project, emulator: Emulator) -> None:
    setup(project, emulator, 5)
    project.write("reconciler.yaml", CONFIG + "rate_limit: 100\n")
    capped = project.run("apply", "--auto-approve", "--no-wait", "--rate-limit", "2")
    assert capped.code == 0, capped.stdout + capped.stderr
    stamps = created_times(capped.stderr)
    assert len(stamps) == 5
    # 5 creates at 2 per second, a burst of 1: 4 x 0.5 s from the first to the last send;
    # the margin absorbs the difference of two response times.
    assert max(stamps) - min(stamps) >= 1.5, capped.stderr

    project.write("reconciler.yaml", CONFIG + "rate_limit: 0\n")
    bad = project.run("plan")
    assert bad.code == 1
    assert "`rate_limit` must be positive" in bad.stderr


def test_a_second_interrupt_stops_at_once_and_leaves_the_in_flight_creates_uncertain(
    project: Project, emulator: Emulator, tmp_path: Path
) -> None:
    setup(project, emulator, 6)
    emulator.admin(latency_ms=1500, fault_path_prefix="/api/open-api/v1/seedance/videos")
    log = tmp_path / "apply.log"
    command = [sys.executable, "-m", "reconciler", "--project-dir", str(project.root)]
    command += ["apply", "--auto-approve", "--wait", "--parallelism", "3"]
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=project.env, stdout=sink, stderr=sink)
    deadline = time.monotonic() + 60
    while " created: " not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # the second batch of creates is in flight (1.5 s each)
    process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 130, log.read_text()
    output = log.read_text()
    assert "Traceback" not in output
    assert "stopped at once by a second interrupt" in output

    plan = project.run("plan", "--format", "json")
    actions = [c["action"] for c in json.loads(plan.stdout)["changes"]]
    created, uncertain = output.count(" created: "), actions.count("uncertain")
    assert uncertain >= 1, actions
    assert actions.count("create") + uncertain + created == 6, (actions, output)
    time.sleep(1.6)  # let the emulator finish the abandoned requests before counting
    stats = assert_each_created_once_or_less(emulator)
    total = stats["total_creates"]
    assert isinstance(total, int) and total <= created + uncertain


def assert_each_created_once_or_less(emulator: Emulator) -> dict[str, object]:
    stats = emulator.stats()
    by_fingerprint = stats["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert set(by_fingerprint.values()) <= {1}, by_fingerprint
    return stats
