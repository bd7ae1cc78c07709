"""Apply's balance check with a prefetched balance, against the in-process emulator.

The prefetch reads the balance before the lock is taken. It answers the check unless it
is over a minute old or another apply of the same state ran since it started; then the
balance is read again.
The emulator's balance is lowered after the prefetch read it, so which answer the check
used shows in what the apply does: a check with the prefetched (full) balance lets the
creates go (and the emulator refuses them: the account is empty); a check that read the
balance again refuses the plan before any create.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from pathlib import Path

import pytest

from reconciler.api import ApiKey
from reconciler.api.prefetch import BalancePrefetch
from reconciler.app import ApplyRequest, Reconciler
from reconciler.app.settings import Flags, resolve
from reconciler.emulator.server import RunningEmulator
from reconciler.errors import PlanError
from reconciler.executor import Event, Observer
from reconciler.plan import Plan
from tests.e2e.harness import free_port
from tests.executor.emulated import KEY, emulator_stats, knobs, write_specs


def project(root: Path, emu: RunningEmulator) -> Reconciler:
    write_specs(root, 2)
    # A price for the model, so the plan has an estimate to check (2 x 5 s x 1 = 10).
    pricing = "pricing:\n  seedance2.0-mini-720p: {mode: per_second, unit_price: 1}\n"
    (root / "reconciler.yaml").write_text(pricing)
    environ = {"SEEDANCE_API_KEY": KEY, "SEEDANCE_API_URL": emu.url}
    return Reconciler(resolve(Flags(project_dir=str(root)), environ=environ))


def approve(plan: Plan) -> contextlib.AbstractContextManager[Observer]:
    def observe(event: Event) -> None:
        pass

    return contextlib.nullcontext(observe)


def read_balance(url: str) -> BalancePrefetch:
    prefetch = BalancePrefetch.start(url, ApiKey(KEY))
    asyncio.run(prefetch.result())  # done: what the emulator says later is not in it
    return prefetch


def refused_after_reading_again(
    app: Reconciler, emu: RunningEmulator, prefetch: BalancePrefetch
) -> None:
    """The account is emptied after the prefetch read it: only a new read refuses the plan."""
    knobs(emu, balance=0)  # the account is emptied
    with pytest.raises(PlanError, match="does not cover the plan's estimated cost"):
        app.apply(ApplyRequest(wait=False), approve, balance=prefetch)
    assert emulator_stats(emu)["total_creates"] == 0


def test_a_prefetch_with_no_apply_since_answers_the_check(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    app = project(tmp_path, emu)
    prefetch = read_balance(emu.url)
    knobs(emu, balance=0)  # the account is emptied
    result = app.apply(ApplyRequest(wait=False), approve, balance=prefetch)
    assert result is not None
    # The check passed on the prefetched balance; the API then refused both creates.
    assert sorted(result.rejected) == ["video.v0", "video.v1"], result
    assert all("balance" in message for message in result.rejected.values())


def test_a_prefetch_older_than_another_apply_is_read_again(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    app = project(tmp_path, emu)
    prefetch = read_balance(emu.url)
    with app.open_store(upgrade=True) as store:  # another apply ran (and spent) meanwhile
        store.finish_run(store.begin_run("apply", git_commit=None), "ok")
    refused_after_reading_again(app, emu, prefetch)


def test_a_prefetch_over_a_minute_old_is_read_again(tmp_path: Path, emu: RunningEmulator) -> None:
    app = project(tmp_path, emu)
    prefetch = read_balance(emu.url)
    prefetch.started_at -= timedelta(minutes=2)  # a long wait for the lock, say
    refused_after_reading_again(app, emu, prefetch)


def test_a_failed_prefetch_is_read_again(tmp_path: Path, emu: RunningEmulator) -> None:
    app = project(tmp_path, emu)
    prefetch = read_balance(f"http://127.0.0.1:{free_port()}")  # nothing listens there
    refused_after_reading_again(app, emu, prefetch)
