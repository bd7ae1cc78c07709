"""The library facade: one method per command, so the CLI only parses and renders.

I/O happens here (files, state, clock, git), then the pure planner is called, then the
executor. Nothing in here writes to a terminal.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import socket
import subprocess
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from reconciler.app.requests import ApplyRequest, PlanRequest
from reconciler.app.settings import Settings
from reconciler.errors import Interrupted, PlanError, ReconcilerError, SpecError, StalePlan
from reconciler.model import Desired
from reconciler.plan import Plan, pricing_digest
from reconciler.planner import PlanOptions, build_plan, check_budget
from reconciler.spec import load_desired
from reconciler.stateview import Snapshot, VideoStatus, not_downloaded
from reconciler.store import StateStore

# The executor and the HTTP client (httpx) are imported by the methods that talk to the
# API, not here: `plan` needs neither, and importing them is a large part of its start-up.
if TYPE_CHECKING:
    from reconciler.api import SeedanceClient
    from reconciler.api.prefetch import BalancePrefetch
    from reconciler.api.retry import RetryPolicy
    from reconciler.executor import ApplyOptions, ApplyResult, Observer
    from reconciler.executor.waiting import TaskWatch

log = logging.getLogger(__name__)


# Shows a plan and returns where progress goes, or None to stop (see ``Reconciler.apply``).
Review: TypeAlias = "Callable[[Plan], AbstractContextManager[Observer] | None]"


class Reconciler:
    """Everything the commands do, over one project's settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    # -- reading ---------------------------------------------------------------------

    def validate(self) -> Desired:
        specs = self.settings.specs_dir
        if not specs.is_dir():
            raise ReconcilerError(
                f"specs directory {specs} does not exist",
                hint="create it, or point --specs (or `specs_dir:` in reconciler.yaml) at it",
            )
        return load_desired(self.settings.project_root, specs, self.settings.config)

    @contextmanager
    def open_store(self, *, upgrade: bool = False) -> Iterator[StateStore]:
        store = StateStore.open(self.settings.state_url, upgrade=upgrade)
        try:
            yield store
        finally:
            store.close()

    def plan(self, request: PlanRequest) -> Plan:
        desired = self.validate()
        with self.open_store() as store:
            snapshot, missing = store.plan_snapshot(desired, self._missing_files)
        return self._build(desired, snapshot, request, missing)

    def _build(
        self,
        desired: Desired,
        snapshot: Snapshot,
        request: PlanRequest,
        missing: frozenset[str] | None = None,
        *,
        budget: bool = True,
    ) -> Plan:
        """The plan; with ``budget``, refused (PlanError) when it costs more than allowed.

        ``missing``: the files not downloaded, as ``_not_downloaded`` says (None: not
        checked yet, as ``plan_snapshot`` does while it reads the snapshot).
        """
        if missing is None:
            missing = self._not_downloaded(snapshot)
        config = self.settings.config
        plan = build_plan(
            desired,
            snapshot,
            PlanOptions(
                now=datetime.now(UTC),
                targets=request.targets,
                excludes=request.excludes,
                replace=request.replace,
                retry_uncertain=request.retry_uncertain,
                max_attempts=self.settings.max_attempts,
                pricing=config.pricing,
                currency=config.currency,
                not_downloaded=missing,
            ),
        )
        if budget:
            limit = request.max_cost if request.max_cost is not None else self.settings.budget
            check_budget(plan, limit)
        return plan

    def _missing_files(self, paths: Iterable[str]) -> frozenset[str]:
        """Which of ``paths`` (recorded files, relative to the project) are not there."""
        exists = _FileLister(self.settings.project_root)
        return frozenset(path for path in paths if not exists(path))

    def _not_downloaded(self, snapshot: Snapshot) -> frozenset[str]:
        """The completed videos whose file is not there (``stateview.not_downloaded``)."""
        exists = _FileLister(self.settings.project_root)
        return frozenset(
            record.address
            for record in snapshot.videos
            if not_downloaded(record.status, record.file_path, exists)
        )

    # -- applying --------------------------------------------------------------------

    def apply(
        self,
        request: ApplyRequest,
        review: Review,
        *,
        saved: Plan | None = None,
        plan_request: PlanRequest | None = None,
        balance: BalancePrefetch | None = None,
    ) -> ApplyResult | None:
        """Plan (or check a saved plan) under the lock, let ``review`` approve, then apply.

        Planning under the lock means a second apply that waited with --lock-timeout plans
        against what the first one left, and never shows its in-flight creates as uncertain.
        ``review`` shows the plan and returns the observer to report progress to, or None
        to stop there (nothing to do, or not approved). ``balance``, a prefetch started
        before the lock was taken, answers the balance check unless it is over a minute old
        or another apply of this state ran since it started (``_fresh``); then the balance
        is asked for again.
        """
        self.settings.require_api_key()
        with (
            self.open_store() as store,
            store.lock(_holder(), timeout=request.lock_timeout, command="apply"),
        ):
            snapshot = store.snapshot()
            if saved is not None:
                self._check_fresh(saved, snapshot)
                plan = saved
            else:
                plan = self._build(self.validate(), snapshot, plan_request or PlanRequest())
            observing = review(plan)
            if observing is None:
                return None
            run_id = store.begin_run("apply", git_commit=_git_commit(self.settings.project_root))
            outcome = "error"
            try:
                with observing as observer:
                    prefetched = _fresh(balance, store, run_id)
                    result = _run(self._apply(store, plan, request, observer, run_id, prefetched))
                outcome = "interrupted" if result.interrupted else _outcome(result)
                return result
            except Interrupted:
                outcome = "interrupted"
                raise
            finally:
                store.finish_run(run_id, outcome)

    async def _apply(
        self,
        store: StateStore,
        plan: Plan,
        request: ApplyRequest,
        observer: Observer,
        run_id: int,
        balance: BalancePrefetch | None,
    ) -> ApplyResult:
        from reconciler.executor import Executor

        stop = asyncio.Event()
        options = self._options(request)
        with _first_interrupt_stops(stop):
            async with self._client(options.parallelism) as client:
                if request.balance_check and any(c.action.paid for c in plan.changes):
                    await _check_balance(client, plan, options.retry, balance)
                executor = Executor(
                    store,
                    client,
                    options,
                    run_id=run_id,
                    observer=observer,
                    stop=stop,
                )
                return await executor.apply(plan)

    def refresh(
        self, *, observer: Observer, lock_timeout: float = 0.0, wait: bool = True
    ) -> ApplyResult:
        """Poll the tasks left running and download what finished.

        ``wait`` polls until every task is finished; without it, one look at each task.
        """
        from reconciler.executor.waiting import TaskWatch

        self.settings.require_api_key()
        with (
            self.open_store() as store,
            store.lock(_holder(), timeout=lock_timeout, command="refresh"),
        ):
            snapshot = store.snapshot()
            missing = self._not_downloaded(snapshot)  # completed, file not there
            watches = [
                TaskWatch(r.address, r.task_id, downloading=r.status is VideoStatus.COMPLETED)
                for r in snapshot.videos
                if r.task_id and (r.status.in_flight or r.address in missing)
            ]
            run_id = store.begin_run("refresh", git_commit=_git_commit(self.settings.project_root))
            outcome = "error"
            try:
                result = _run(self._refresh(store, watches, observer, run_id, wait))
                outcome = "interrupted" if result.interrupted else _outcome(result)
                return result
            except Interrupted:
                outcome = "interrupted"
                raise
            finally:
                store.finish_run(run_id, outcome)

    async def _refresh(
        self,
        store: StateStore,
        watches: list[TaskWatch],
        observer: Observer,
        run_id: int,
        wait: bool,
    ) -> ApplyResult:
        from reconciler.executor import Executor

        stop = asyncio.Event()
        options = self._options(ApplyRequest())
        if not wait:  # one round of polls: the waiter stops at its deadline
            options = replace(options, wait_timeout=0.0)
        with _first_interrupt_stops(stop):
            async with self._client() as client:
                executor = Executor(
                    store, client, options, run_id=run_id, observer=observer, stop=stop
                )
                return await executor.refresh(watches)

    def adopt(self, address: str, task_id: str, *, lock_timeout: float = 0.0) -> str:
        """Record an existing task for ``address`` after checking it exists at the API."""
        from reconciler.app.adopt import adopt_task, fetch_task

        info = asyncio.run(fetch_task(self._client(), task_id))
        try:
            desired: Desired | SpecError = self.validate()
        except SpecError as error:
            desired = error
        with (
            self.open_store() as store,
            store.lock(_holder(), timeout=lock_timeout, command="state adopt"),
        ):
            return adopt_task(store, desired, address, info)

    def _client(self, parallelism: int | None = None) -> SeedanceClient:
        from reconciler.api.client import SeedanceClient

        # Two connections per create in flight: polls and downloads share the pool.
        in_flight = parallelism or self.settings.parallelism
        return SeedanceClient(
            self.settings.api_url,
            self.settings.require_api_key(),
            max_connections=max(8, in_flight * 2),
        )

    def _options(self, request: ApplyRequest) -> ApplyOptions:
        from reconciler.api.retry import RetryPolicy
        from reconciler.executor import ApplyOptions

        return ApplyOptions(
            parallelism=request.parallelism or self.settings.parallelism,
            wait=request.wait,
            output_dir=self.settings.output_dir,
            project_root=self.settings.project_root,
            poll_interval=self.settings.poll_interval,
            retry=request.retry or RetryPolicy(),
            rate_limit=(
                request.rate_limit
                if request.rate_limit is not None
                else self.settings.config.rate_limit
            ),
        )

    def _check_fresh(self, plan: Plan, snapshot: Snapshot) -> None:
        moved: list[str] = []
        if (plan.lineage, plan.serial) != (snapshot.lineage, snapshot.serial):
            moved.append(
                f"the state moved (lineage {plan.lineage[:8]} serial {plan.serial} -> "
                f"lineage {snapshot.lineage[:8]} serial {snapshot.serial})"
            )
        desired = self.validate()
        if desired.specs_digest != plan.specs_digest:
            moved.append("the specs changed")
        config = self.settings.config
        if pricing_digest(config.pricing, config.currency) != plan.pricing_digest:
            moved.append("the pricing changed")
        if not moved:
            # Same state, specs and prices: the planner must make the very same plan. If
            # it does not, the file was edited (or a result URL expired meanwhile).
            chosen = plan.selection
            again = self._build(
                desired,
                snapshot,
                PlanRequest(
                    targets=chosen.targets,
                    excludes=chosen.excludes,
                    replace=chosen.replace,
                    retry_uncertain=chosen.retry_uncertain,
                ),
                budget=False,
            )
            if (again.changes, again.assets) != (plan.changes, plan.assets):
                raise StalePlan(
                    "the plan's changes are not what the planner makes from the same state, "
                    "specs and prices: the file was edited, or something expired since",
                    hint="plan files must not be edited; run `reconciler plan --out FILE` again",
                )
        if moved:
            raise StalePlan(
                "the plan is stale: " + "; ".join(moved),
                hint="run `reconciler plan` again and review the new plan",
            )


async def _check_balance(
    client: SeedanceClient,
    plan: Plan,
    policy: RetryPolicy,
    prefetched: BalancePrefetch | None = None,
) -> None:
    from reconciler.api.retry import retry_call

    balance = await prefetched.result() if prefetched is not None else None
    if balance is None:  # not prefetched, or the prefetch failed: ask now, with retries
        balance = await retry_call(client.user_balance, policy=policy, retry_unknown=True)
    total = plan.cost.total
    if total is not None and balance.available < total:
        raise PlanError(
            f"the account balance ({balance.available:g}) does not cover the plan's "
            f"estimated cost ({total:g} {plan.cost.currency})",
            hint="top up the account, narrow the plan with --target, or pass "
            "--no-balance-check if the estimate is wrong",
        )


# How far apart the clocks of two machines sharing a state may be: runs.finished_at is
# written by the clock of the machine that ran the apply.
CLOCK_SKEW = timedelta(minutes=1)
# A prefetch saves a round trip at start-up; one older than this (a long wait for the
# lock, a very large plan) is read again rather than trusted.
PREFETCH_MAX_AGE = timedelta(minutes=1)


def _fresh(
    prefetch: BalancePrefetch | None, store: StateStore, run_id: int
) -> BalancePrefetch | None:
    """``prefetch``, unless it is old or another apply of this state may have spent since.

    The prefetch starts before the lock is taken: an apply that held the lock then may
    have created tasks after the balance was read. This run holds the lock now, so every
    other apply has finished (or died) by the time this is asked.
    """
    if prefetch is None or datetime.now(UTC) - prefetch.started_at > PREFETCH_MAX_AGE:
        return None
    if store.apply_ran_since(prefetch.started_at - CLOCK_SKEW, other_than=run_id):
        return None
    return prefetch


def _run(work: Coroutine[object, object, ApplyResult]) -> ApplyResult:
    """``asyncio.run(work)``; the second Ctrl-C (which cancels it) becomes ``Interrupted``."""
    try:
        return asyncio.run(work)
    except asyncio.CancelledError:
        raise Interrupted(
            "stopped at once by a second interrupt; calls in flight were abandoned",
            hint="run `reconciler plan`: creates whose answer was lost show as uncertain; "
            "resolve them with `reconciler state adopt ADDR TASK_ID` or "
            "`reconciler apply --retry-uncertain ADDR`",
        ) from None


def _outcome(result: ApplyResult) -> str:
    return "ok" if result.exit_code == 0 else "failed"


@contextmanager
def _first_interrupt_stops(stop: asyncio.Event) -> Iterator[None]:
    """First Ctrl-C: stop starting work, let in-flight calls finish. Second: stop now."""
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()

    def on_interrupt() -> None:
        if stop.is_set():
            loop.remove_signal_handler(signal.SIGINT)
            if main is not None:
                main.cancel()
            return
        stop.set()
        log.warning("interrupted: finishing the calls in flight; press Ctrl-C again to stop now")

    try:
        loop.add_signal_handler(signal.SIGINT, on_interrupt)
        loop.add_signal_handler(signal.SIGTERM, on_interrupt)
    except (NotImplementedError, RuntimeError):  # not the main thread
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)
        loop.remove_signal_handler(signal.SIGTERM)


class _FileLister:
    """Whether a file exists under ``root``, by listing each directory once.

    Downloads all go to the output directory: one ``os.scandir`` of it answers for every
    video instead of one ``stat`` each (10,000 stats cost a warm plan ~50 ms). Like
    ``Path.is_file``, a symlink counts if it points to a regular file.
    """

    def __init__(self, root: Path) -> None:
        self._root = str(root)
        self._files: dict[str, frozenset[str] | None] = {}

    def __call__(self, path: str) -> bool:
        # os.path on strings, and the root joined once per directory: a Path per video
        # would cost more than the listing.
        directory, name = os.path.split(path)
        if directory not in self._files:
            self._files[directory] = _file_names(os.path.join(self._root, directory))  # noqa: PTH118
        files = self._files[directory]
        if files is None:
            return os.path.isfile(os.path.join(self._root, path))  # noqa: PTH113, PTH118
        return name in files


def _file_names(directory: str) -> frozenset[str] | None:
    """The regular files in ``directory``; None if it exists but cannot be listed."""
    try:
        with os.scandir(directory) as entries:
            return frozenset(entry.name for entry in entries if _is_file(entry))
    except (FileNotFoundError, NotADirectoryError):
        return frozenset()
    except OSError:  # e.g. no read permission: its files may still be there, stat them
        return None


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:  # e.g. a symlink loop
        return False


def _holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


def _git_commit(root: Path) -> str | None:
    for variable in ("GITHUB_SHA", "CI_COMMIT_SHA"):
        if os.environ.get(variable):
            return os.environ[variable]
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None
