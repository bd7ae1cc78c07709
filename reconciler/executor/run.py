"""Apply a plan: the journal protocol for paid calls, then waiting and downloading.

For every paid change (DESIGN §6): commit an intent row, POST the create, commit the task
id at once. The client's failure class decides what is recorded: *not created* ->
rejected, *retryable* -> retried with a bound, then rejected, *outcome unknown* ->
uncertain, never resent here. State writes run on one writer thread so the event loop
never blocks on a commit; writes that queue up meanwhile are committed together (group
commit, see ``StoreWriter``); a write that was queued finishes even when the coroutine
that asked for it is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar, cast

from reconciler.api import CreatedTask, SeedanceClient
from reconciler.api.retry import RetryPolicy, retry_call
from reconciler.errors import ApiError, ApiOutcomeUnknown, StateUnavailable
from reconciler.executor.assets import AssetFailure, AssetPipeline, Resolved, resolve_body
from reconciler.executor.crashpoints import crashpoint
from reconciler.executor.events import Event, EventKind, Observer, StopSignal, ignore
from reconciler.executor.ratelimit import NoLimit, RateCap, rate_cap
from reconciler.executor.waiting import TaskWatch, Waiter, WaitOutcome
from reconciler.plan import Action, Change, Plan
from reconciler.store import StateStore

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class ApplyOptions:
    parallelism: int = 4
    wait: bool = True
    output_dir: Path = Path("out")
    project_root: Path = Path()
    poll_interval: float = 10.0
    wait_timeout: float = 3600.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Creates per second at most (client-side cap); None: no cap.
    rate_limit: float | None = None


@dataclass
class ApplyResult:
    created: list[str] = field(default_factory=list)
    rejected: dict[str, str] = field(default_factory=dict)
    uncertain: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    completed: list[str] = field(default_factory=list)
    downloaded: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    bookkeeping: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # also in failed: the result URL was gone
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130
        bad = self.rejected or self.uncertain or self.failed or self.blocked or self.skipped
        return 1 if bad else 0


class StoreWriter:
    """Runs state writes on one dedicated thread, committing them in groups.

    The writer thread takes every write that queued up while it was busy and runs them
    in one transaction (``StateStore.group``: one commit, one fsync for all), then
    answers each caller. No caller hears "done" before its write was committed, so each
    intent is still durable before its POST and each task id before anything else
    happens to it; what grouping saves is the commits: at 32 creates in flight there are
    a few per second instead of dozens. If a write of a group fails, the group is rolled
    back and its writes run again one by one, so only that write fails: the functions
    given must only change the state through the store. If the database fails (or the
    commit does), every write of the group fails.

    Writes given with ``ahead`` (the intents: a paid create waits for its intent before
    it is sent) are committed in a group of their own before the other writes that were
    queued with them (answers, statuses), which nothing waits for. An ``ahead`` write
    must not depend on a write queued before it: each intent is for an address that no
    other queued write of the run touches.
    """

    # Writes per transaction at most, so one group never holds the database for long.
    MAX_GROUP = 64

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="state-writer", daemon=True)
        self._thread.start()

    async def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await self._submit(False, lambda: fn(*args, **kwargs))

    async def ahead(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Like calling the writer, but committed before the ordinary writes queued with it."""
        return await self._submit(True, lambda: fn(*args, **kwargs))

    async def _submit(self, ahead: bool, call: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[object] = loop.create_future()
        self._jobs.put(_Job(call, loop, future, ahead))
        # If we are cancelled, so is the future, but not the write: a queued write runs and
        # commits all the same (the thread finds the future done and drops the answer).
        # Awaited directly, not through asyncio.shield: one hop of the loop less per write.
        return cast(T, await future)  # what call returned

    def close(self) -> None:
        """Finish every queued write, then stop the thread."""
        self._jobs.put(None)
        self._thread.join()

    def _serve(self) -> None:
        while True:
            first = self._jobs.get()
            if first is None:
                return
            group = [first]
            closing = False
            while len(group) < self.MAX_GROUP:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    closing = True
                    break
                group.append(job)
            first_group = [job for job in group if job.ahead]
            if first_group and len(first_group) < len(group):
                self._run_group(first_group)
                self._run_group([job for job in group if not job.ahead])
            else:
                self._run_group(group)
            if closing:
                return

    def _run_group(self, group: list[_Job]) -> None:
        try:
            with self._store.group():
                values: list[object] = [job.fn() for job in group]
        except BaseException as error:
            # A write's own failure (not the database's): the group was rolled back; run
            # each write again alone, so only the failing one fails (the writes are plain
            # state changes). Anything else fails every write of the group.
            own = isinstance(error, Exception) and not isinstance(error, StateUnavailable)
            if own and len(group) > 1:
                for job in group:
                    self._run_group([job])
                return
            _answer(group, [None] * len(group), error)
            return
        _answer(group, values, None)


@dataclass
class _Job:
    fn: Callable[[], object]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[object]
    ahead: bool = False


def _answer(group: list[_Job], values: list[object], error: BaseException | None) -> None:
    """Tell the callers of a committed (or failed) group, in one trip to each event loop.

    One ``call_soon_threadsafe`` per loop and group, not per write: each one wakes the loop
    through its self-pipe, and the loop is busy with the creates in flight.
    """
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Job, object]]] = {}
    for job, value in zip(group, values, strict=True):
        by_loop.setdefault(job.loop, []).append((job, value))
    for loop, answers in by_loop.items():

        def settle(answers: list[tuple[_Job, object]] = answers) -> None:
            for job, value in answers:
                if job.future.done():  # the caller was cancelled: nobody listens
                    continue
                if error is not None:
                    job.future.set_exception(error)
                else:
                    job.future.set_result(value)

        try:
            loop.call_soon_threadsafe(settle)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            log.debug("state write answered after its event loop closed")


class Executor:
    """Carries out one plan. Collaborators come in; nothing is global."""

    def __init__(
        self,
        store: StateStore,
        client: SeedanceClient,
        options: ApplyOptions,
        *,
        run_id: int,
        observer: Observer = ignore,
        stop: StopSignal | None = None,
        cap: RateCap | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.options = options
        self.run_id = run_id
        self.observer = _guarded(observer)
        self.stop = stop or asyncio.Event()
        self.writer = StoreWriter(store)
        self.cap = cap if cap is not None else rate_cap(options.rate_limit)

    async def apply(self, plan: Plan) -> ApplyResult:
        result = ApplyResult()
        try:
            await self._bookkeeping(plan, result)
            resolved = await self._assets(plan)
            existing = [
                TaskWatch(c.address, c.task_id, downloading=c.action is Action.DOWNLOAD)
                for c in plan.changes
                if c.action in (Action.WAIT, Action.DOWNLOAD) and c.task_id
            ]
            result.blocked = [
                c.address for c in plan.changes if c.action in (Action.BLOCKED, Action.UNCERTAIN)
            ]
            if self.options.wait:
                await self._create_and_follow(plan, result, resolved, existing)
            else:
                watches = await self._creates(plan, result, resolved)
                await self._follow(watches + existing, result)
        finally:
            self.writer.close()
        result.interrupted = self.stop.is_set()
        return result

    async def refresh(self, watches: list[TaskWatch]) -> ApplyResult:
        result = ApplyResult()
        try:
            await self._follow(watches, result, force_wait=True)
        finally:
            self.writer.close()
        result.interrupted = self.stop.is_set()
        return result

    async def _bookkeeping(self, plan: Plan, result: ApplyResult) -> None:
        """The free changes: they only touch the state."""
        for change in plan.changes:
            if change.action is Action.FORGET:
                await self.writer(self.store.forget, change.address)
            elif change.action is Action.MOVE and change.prior_address:
                await self.writer(self.store.move, change.prior_address, change.address)
            elif change.action is Action.UPDATE:
                await self.writer(
                    self.store.update_meta,
                    change.address,
                    description=change.description,
                    labels=change.labels,
                )
            else:
                continue
            result.bookkeeping.append(change.address)
            self.observer(Event(EventKind.STATE, change.address, change.action.value))

    async def _assets(self, plan: Plan) -> dict[str, Resolved]:
        if not plan.assets:
            return {}
        snapshot = await self.writer(self.store.snapshot)
        pipeline = AssetPipeline(
            self.client,
            self.store,
            self.writer,
            project_root=self.options.project_root,
            observer=self.observer,
            stop=self.stop,
            poll_interval=self.options.poll_interval,
            retry=self.options.retry,
        )
        return await pipeline.run(plan.assets, {a.content_hash: a for a in snapshot.assets})

    async def _create_and_follow(
        self,
        plan: Plan,
        result: ApplyResult,
        resolved: dict[str, Resolved],
        existing: list[TaskWatch],
    ) -> None:
        """Creates and polling at once: each task is followed from the moment it exists."""
        waiter = self._waiter()
        following = asyncio.create_task(waiter.run(existing, more=True))
        try:
            await self._creates(plan, result, resolved, on_created=waiter.add)
        except BaseException:
            following.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await following
            raise
        finally:
            waiter.close()
        self._collect(await following, result)

    async def _creates(
        self,
        plan: Plan,
        result: ApplyResult,
        resolved: dict[str, Resolved],
        on_created: Callable[[TaskWatch], None] | None = None,
    ) -> list[TaskWatch]:
        paid = [change for change in plan.changes if change.action.paid]
        gate = asyncio.Semaphore(max(1, self.options.parallelism))
        watches: list[TaskWatch] = []

        async def one(change: Change) -> None:
            async with gate:
                if not self.stop.is_set():
                    await self._take_token()
                if self.stop.is_set():
                    result.skipped.append(change.address)
                    self.observer(Event(EventKind.SKIPPED, change.address, "interrupted"))
                    return
                sent = await self._send(change, resolved)
            # The answer is committed outside the gate: the next create need not wait for
            # this commit, only for its own intent's.
            task_id = await self._record(change, sent, result)
            if task_id is not None:
                watches.append(TaskWatch(change.address, task_id))
                if on_created is not None:
                    on_created(watches[-1])

        await asyncio.gather(*(one(change) for change in paid))
        return watches

    async def _take_token(self) -> None:
        """Wait for the rate cap, but give up at once when a stop comes meanwhile."""
        if isinstance(self.cap, NoLimit):  # no cap: no task, no round trip through the loop
            return
        take = asyncio.ensure_future(self.cap.acquire())
        # Bounded by the cap's own wait; the stop is looked at ten times a second.
        while not take.done():
            if self.stop.is_set():
                take.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await take
                return
            await asyncio.wait({take}, timeout=0.1)
        take.result()

    async def _send(self, change: Change, resolved: dict[str, Resolved]) -> _Sent:
        """Commit the intent, then send the create (with bounded retries): the paid part."""
        fingerprint = change.fingerprint or ""
        refused: str | None = None
        try:
            body = resolve_body(change, resolved)
        except AssetFailure as failure:
            body, refused = dict(change.spec or {}), failure.message
        crashpoint("before_intent")
        op_id = await self.writer.ahead(
            self.store.record_intent,
            self.run_id,
            address=change.address,
            fingerprint=fingerprint,
            spec=change.spec or {},
            description=change.description,
            labels=change.labels,
            request=body,
        )
        if refused is not None:  # never sent: nothing was created
            return _Sent(op_id, refused=refused)
        crashpoint("after_intent")
        self.observer(Event(EventKind.CREATE_SENT, change.address))

        def on_retry(error: ApiError, delay: float) -> None:
            self.observer(Event(EventKind.RETRYING, change.address, f"{error}; in {delay:.1f}s"))

        attempts = 0

        async def attempt() -> CreatedTask:
            nonlocal attempts
            attempts += 1
            if attempts > 1:  # the first attempt took its token before the intent
                await self.cap.acquire()
            return await self.client.create_video(body, fingerprint=fingerprint)

        try:
            created = await retry_call(
                attempt,
                policy=self.options.retry,
                on_retry=on_retry,
                # A connection that failed before the request went out created nothing.
                retry_unreachable=True,
            )
        except ApiOutcomeUnknown as error:
            return _Sent(op_id, uncertain=error.message)
        except ApiError as error:
            return _Sent(op_id, refused=error.message)
        crashpoint("after_post")
        return _Sent(op_id, created=created)

    async def _record(self, change: Change, sent: _Sent, result: ApplyResult) -> str | None:
        """Commit the create's outcome; returns the new task id, if a task was created."""
        address = change.address
        if sent.created is not None:
            created = sent.created
            await self.writer(
                self.store.record_created,
                sent.op_id,
                task_id=created.task_id,
                status=created.status,
                cost=created.cost,
            )
            result.created.append(address)
            self.observer(Event(EventKind.CREATED, address, created.task_id))
            return created.task_id
        if sent.uncertain is not None:
            await self.writer(self.store.record_uncertain, sent.op_id, message=sent.uncertain)
            result.uncertain[address] = sent.uncertain
            self.observer(Event(EventKind.UNCERTAIN, address, sent.uncertain))
            return None
        refused = sent.refused or "refused"
        await self.writer(self.store.record_rejected, sent.op_id, message=refused)
        result.rejected[address] = refused
        self.observer(Event(EventKind.CREATE_FAILED, address, refused))
        return None

    async def _follow(
        self, watches: list[TaskWatch], result: ApplyResult, *, force_wait: bool = False
    ) -> None:
        if not watches:
            return
        if not (self.options.wait or force_wait):
            result.pending.extend(w.address for w in watches if not w.downloading)
            downloads = [w for w in watches if w.downloading]
            if not downloads:
                return
            watches = downloads
        self._collect(await self._waiter().run(watches), result)

    def _waiter(self) -> Waiter:
        return Waiter(
            self.client,
            self.store,
            self.writer,
            output_dir=self.options.output_dir,
            project_root=self.options.project_root,
            poll_interval=self.options.poll_interval,
            timeout=self.options.wait_timeout,
            retry=self.options.retry,
            observer=self.observer,
            stop=self.stop,
        )

    @staticmethod
    def _collect(outcome: WaitOutcome, result: ApplyResult) -> None:
        result.completed.extend(outcome.completed)
        result.failed.update(outcome.failed)
        result.downloaded.update(outcome.downloaded)
        result.pending.extend(outcome.pending)
        result.expired.extend(outcome.expired)


@dataclass(frozen=True)
class _Sent:
    """What became of one paid create: exactly one of the three outcomes is set."""

    op_id: int
    created: CreatedTask | None = None
    uncertain: str | None = None  # the create may have taken effect
    refused: str | None = None  # nothing was created


def _guarded(observer: Observer) -> Observer:
    """``observer``, but a drawing error is logged, never raised into the journal protocol."""

    def observe(event: Event) -> None:
        try:
            observer(event)
        except Exception:  # a broken progress display must not cost a paid create its record
            log.exception("the progress observer failed on %s %s", event.kind, event.address)

    return observe
