"""The executor against the in-process emulator over a loopback socket, with fast retries.

The plan comes from the real loader and planner; the state is a real SQLite file. The
retry policy and the create cap are injected, so faults cost milliseconds, not seconds.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from reconciler.api import ApiKey, SeedanceClient
from reconciler.api.retry import RetryPolicy
from reconciler.app import Reconciler
from reconciler.app.facade import PlanRequest
from reconciler.app.settings import Flags, resolve
from reconciler.emulator.server import RunningEmulator
from reconciler.executor import ApplyOptions, ApplyResult, Event, EventKind, Executor
from reconciler.executor.ratelimit import RateCap, TokenBucket
from reconciler.plan import Plan
from reconciler.store import StateStore
from tests.executor.emulated import KEY, emulator_stats, knobs, write_specs

FAST = RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05, max_total=10.0)


def make_plan(root: Path, count: int, text: str | None = None) -> Plan:
    write_specs(root, count, text)
    settings = resolve(Flags(project_dir=str(root)), environ={})
    return Reconciler(settings).plan(PlanRequest())


class CountingCap:
    """A create cap that lets everything through and counts the tokens taken."""

    def __init__(self) -> None:
        self.taken = 0

    async def acquire(self) -> float:
        self.taken += 1
        return 0.0


class Stopped:
    def is_set(self) -> bool:
        return True


def run_apply(
    root: Path,
    emu: RunningEmulator,
    plan: Plan,
    *,
    cap: RateCap | None = None,
    stopped: bool = False,
    stop_after_first_create: bool = False,
    broken: bool = False,
) -> tuple[ApplyResult, list[Event]]:
    events: list[Event] = []
    stop = asyncio.Event() if stop_after_first_create else None

    def observe(event: Event) -> None:
        events.append(event)
        if stop is not None and event.kind is EventKind.CREATED:
            stop.set()
        if broken:
            raise RuntimeError("the terminal went away")

    options = ApplyOptions(
        parallelism=4,
        wait=True,
        output_dir=root / "out",
        project_root=root,
        poll_interval=0.05,
        wait_timeout=30,
        retry=FAST,
    )
    store = StateStore.open(f"sqlite:///{root / 'state.db'}")
    try:
        run_id = store.begin_run("apply", git_commit=None)

        async def go() -> ApplyResult:
            async with SeedanceClient(emu.url, ApiKey(KEY)) as client:
                executor = Executor(
                    store,
                    client,
                    options,
                    run_id=run_id,
                    observer=observe,
                    stop=Stopped() if stopped else stop,
                    cap=cap,
                )
                return await executor.apply(plan)

        return asyncio.run(go()), events
    finally:
        store.close()


def test_fast_retries_through_5xx_and_code_minus_1_create_each_video_once(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    plan = make_plan(tmp_path, 6)
    knobs(emu, error_5xx_rate=0.3, code_minus1_rate=0.2)
    result, events = run_apply(tmp_path, emu, plan)
    assert result.exit_code == 0, (result.rejected, result.failed)
    assert sorted(result.downloaded) == [f"video.v{n}" for n in range(6)]
    assert any(e.kind is EventKind.RETRYING for e in events)
    by_fingerprint = emulator_stats(emu)["creates_by_fingerprint"]
    assert isinstance(by_fingerprint, dict)
    assert sorted(by_fingerprint.values()) == [1] * 6


def test_every_create_attempt_takes_a_token_from_the_cap(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    plan = make_plan(tmp_path, 3)
    knobs(emu, burst_429=2, retry_after=0, fault_path_prefix="/api/open-api/v1/seedance/videos")
    cap = CountingCap()
    result, events = run_apply(tmp_path, emu, plan, cap=cap)
    assert result.exit_code == 0
    retries = sum(1 for e in events if e.kind is EventKind.RETRYING)
    assert retries == 2
    assert cap.taken == 3 + retries
    assert emulator_stats(emu)["total_creates"] == 3


def test_a_stop_before_the_creates_sends_nothing(tmp_path: Path, emu: RunningEmulator) -> None:
    plan = make_plan(tmp_path, 3)
    cap = CountingCap()
    result, _ = run_apply(tmp_path, emu, plan, cap=cap, stopped=True)
    assert sorted(result.skipped) == ["video.v0", "video.v1", "video.v2"]
    assert result.interrupted and result.exit_code == 130
    assert cap.taken == 0
    assert emulator_stats(emu)["total_creates"] == 0


def test_a_failing_observer_never_breaks_the_journal(
    tmp_path: Path, emu: RunningEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    plan = make_plan(tmp_path, 2)
    result, events = run_apply(tmp_path, emu, plan, broken=True)
    assert result.exit_code == 0
    assert sorted(result.downloaded) == ["video.v0", "video.v1"]
    assert events, "the observer was called"
    assert "the progress observer failed" in caplog.text


def test_a_stop_does_not_wait_for_the_rate_cap(tmp_path: Path, emu: RunningEmulator) -> None:
    plan = make_plan(tmp_path, 3)
    slow = TokenBucket(0.001)  # one create per 1000 s: only the first goes out at once
    started = time.monotonic()
    result, _ = run_apply(tmp_path, emu, plan, cap=slow, stop_after_first_create=True)
    assert time.monotonic() - started < 10
    assert len(result.created) == 1
    assert len(result.skipped) == 2
    assert result.exit_code == 130
    assert emulator_stats(emu)["total_creates"] == 1


ASSET_SPECS = """\
assets:
  hero:
    file: ../media/hero.png
videos:
  full-hero:
    model: sd2_mx_720p
    prompt: The hero shot comes alive, slow push-in.
    duration: 5
    images: [hero]
  mini-hero:
    model: seedance2.0-mini
    prompt: The hero shot, gentle parallax.
    duration: 5
    images: [hero]
"""


def test_upload_and_audit_calls_are_retried_through_server_errors(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "hero.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 2048)
    plan = make_plan(tmp_path, 0, ASSET_SPECS)
    assert {a.address for a in plan.assets} == {"asset.hero"}
    knobs(emu, error_5xx_rate=0.4, audit_seconds=0.2)
    result, _ = run_apply(tmp_path, emu, plan)
    assert result.exit_code == 0, (result.rejected, result.failed)
    assert sorted(result.downloaded) == ["video.full-hero", "video.mini-hero"]
    stats = emulator_stats(emu)
    assert stats["uploads"] == 1
    assert stats["total_creates"] == 2
    injected = stats["faults_injected"]
    assert isinstance(injected, dict) and injected.get("5xx", 0) > 0


def test_polling_starts_while_creates_are_still_being_sent(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    plan = make_plan(tmp_path, 3)
    # 4 creates per second: the third goes out 0.5 s after the first, by which time the
    # first (done at once in the emulator) has been polled and downloaded.
    result, events = run_apply(tmp_path, emu, plan, cap=TokenBucket(4.0))
    assert result.exit_code == 0
    order = [(e.kind, e.address) for e in events]
    first_done = min(order.index((EventKind.DOWNLOADED, f"video.v{n}")) for n in range(3))
    last_created = max(order.index((EventKind.CREATED, f"video.v{n}")) for n in range(3))
    assert first_done < last_created, order
    assert sorted(result.downloaded) == ["video.v0", "video.v1", "video.v2"]
