"""Waiting for tasks and downloading their videos.

Polls every unfinished task with bounded concurrency and a backing-off interval (no busy
loop: the process sleeps between rounds), records each change of status, and downloads
each finished video to the output dir: streamed to a hidden part file, fsynced, renamed
into place atomically, sha256 recorded. Files are named by address.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from reconciler.api import SeedanceClient, TaskInfo
from reconciler.api.retry import RetryPolicy, retry_call
from reconciler.errors import ApiError, ReconcilerError
from reconciler.executor.crashpoints import crashpoint
from reconciler.executor.events import Event, EventKind, Observer, StopSignal
from reconciler.store import StateStore

P = ParamSpec("P")
T = TypeVar("T")

# The vendor keeps result URLs for 3 days (API-FACTS §3.2).
RESULT_URL_LIFETIME = timedelta(days=3)
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,#\[\]-]")


class Writer(Protocol):
    def __call__(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]: ...


@dataclass
class TaskWatch:
    address: str
    task_id: str
    downloading: bool = False  # completed already; only the file is missing


@dataclass
class WaitOutcome:
    completed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    downloaded: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    expired: list[str] = field(default_factory=list)  # result URL gone before the download


def file_name(address: str) -> str:
    """The output file of an address: ``video.a[ratio=9:16]#2`` -> ``a[ratio=9_16]#2.mp4``."""
    name = address.removeprefix("video.")
    return _UNSAFE.sub("_", name) + ".mp4"


class Waiter:
    def __init__(
        self,
        client: SeedanceClient,
        store: StateStore,
        writer: Writer,
        *,
        output_dir: Path,
        project_root: Path,
        poll_interval: float,
        timeout: float,
        retry: RetryPolicy,
        observer: Observer,
        stop: StopSignal,
        concurrency: int = 16,
    ) -> None:
        self.client = client
        self.store = store
        self.writer = writer
        self.output_dir = output_dir
        self.project_root = project_root
        self.poll_interval = max(0.05, poll_interval)
        self.timeout = timeout
        self.retry = retry
        self.observer = observer
        self.stop = stop
        self.gate = asyncio.Semaphore(concurrency)
        self._incoming: list[TaskWatch] = []
        self._arrived = asyncio.Event()
        self._closed = False

    def add(self, watch: TaskWatch) -> None:
        """Follow one more task; for a ``run(..., more=True)`` that is under way."""
        self._incoming.append(watch)
        self._arrived.set()

    def close(self) -> None:
        """No more ``add``: the run ends once what it follows is done."""
        self._closed = True
        self._arrived.set()

    async def run(self, watches: list[TaskWatch], *, more: bool = False) -> WaitOutcome:
        """Follow ``watches`` until each is done, or the stop, or the timeout.

        With ``more``, also what ``add`` brings until ``close``: polling starts while the
        creates are still being sent.
        """
        outcome = WaitOutcome()
        pending = {w.address: w for w in watches}
        deadline = time.monotonic() + self.timeout
        delay = min(0.5, self.poll_interval)
        while not self.stop.is_set():
            pending.update((w.address, w) for w in self._incoming)
            self._incoming.clear()
            if not pending:
                if not more or self._closed or time.monotonic() >= deadline:
                    break
                await self._wait_for_more(deadline)
                continue
            rounds = await asyncio.gather(*(self._poll(w, outcome) for w in pending.values()))
            for watch, done in zip(list(pending.values()), rounds, strict=True):
                if done:
                    del pending[watch.address]
            if not pending:
                continue
            if time.monotonic() + delay > deadline:
                break
            await self._sleep(delay)
            delay = min(delay * 1.5, self.poll_interval)
        pending.update((w.address, w) for w in self._incoming)
        self._incoming.clear()
        outcome.pending.extend(sorted(pending))
        return outcome

    async def _wait_for_more(self, deadline: float) -> None:
        self._arrived.clear()
        while not (self._arrived.is_set() or self.stop.is_set()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def _sleep(self, delay: float) -> None:
        end = time.monotonic() + delay
        while not self.stop.is_set() and time.monotonic() < end:
            await asyncio.sleep(min(0.1, end - time.monotonic()))

    async def _poll(self, watch: TaskWatch, outcome: WaitOutcome) -> bool:
        """One look at one task. True when nothing is left to do for it."""
        async with self.gate:
            try:
                info = await retry_call(
                    lambda: self.client.get_task(watch.task_id),
                    policy=self.retry,
                    retry_unknown=True,
                )
            except ApiError as error:
                self.observer(Event(EventKind.PROGRESS, watch.address, f"poll failed: {error}"))
                return False
            crashpoint("polling")
            if info.status == "completed" and info.result_video_url:
                if not watch.downloading:
                    await self._record(watch, info)
                    outcome.completed.append(watch.address)
                    self.observer(Event(EventKind.COMPLETED, watch.address, progress=100))
                return await self._download(watch, info, outcome)
            if info.status == "failed":
                await self._record(watch, info)
                message = info.error_message or "the task failed without a message"
                outcome.failed[watch.address] = message
                self.observer(Event(EventKind.FAILED, watch.address, message))
                return True
            await self._record(watch, info)
            self.observer(Event(EventKind.PROGRESS, watch.address, info.status, info.progress))
            return False

    async def _record(self, watch: TaskWatch, info: TaskInfo) -> None:
        expires = None
        if info.result_video_url:
            finished = (
                datetime.fromtimestamp(info.completed_at, UTC)
                if info.completed_at
                else datetime.now(UTC)
            )
            expires = finished + RESULT_URL_LIFETIME
        await self.writer(
            self.store.record_task,
            watch.address,
            task_id=watch.task_id,
            status=info.status,
            progress=info.progress or 0,
            result_url=info.result_video_url,
            result_expires_at=expires,
            error_message=info.error_message,
        )

    async def _download(self, watch: TaskWatch, info: TaskInfo, outcome: WaitOutcome) -> bool:
        assert info.result_video_url is not None
        self.output_dir.mkdir(parents=True, exist_ok=True)
        final = self.output_dir / file_name(watch.address)
        part = final.with_name(f".{final.name}.{os.getpid()}.part")
        # A process killed mid-download left its part file behind; we hold the lock, so
        # no other download of this address is running: those leftovers can go.
        await asyncio.to_thread(_remove_leftovers, final)
        try:
            url = info.result_video_url
            # A GET of a file: safe to repeat. An expired URL (403/404/410) is not retried.
            sha256, _size = await retry_call(
                lambda: self.client.download(url, part), policy=self.retry, retry_unknown=True
            )
            crashpoint("download")
            await asyncio.to_thread(_fsync_and_rename, part, final)
        except (ReconcilerError, OSError) as error:
            if not isinstance(error, ReconcilerError):
                error = ReconcilerError(f"cannot write {final}: {error}")
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
            outcome.failed[watch.address] = f"download failed: {error.message}"
            self.observer(Event(EventKind.DOWNLOAD_FAILED, watch.address, error.message))
            if isinstance(error, ApiError) and error.http_status in (403, 404, 410):
                outcome.expired.append(watch.address)
                await self.writer(
                    self.store.record_task,
                    watch.address,
                    task_id=watch.task_id,
                    status="completed",
                    progress=100,
                    result_url=info.result_video_url,
                    result_expires_at=datetime.now(UTC),
                    error_message=error.message,
                )
            return True
        recorded = _relative(final, self.project_root)
        await self.writer(self.store.record_download, watch.address, path=recorded, sha256=sha256)
        outcome.downloaded[watch.address] = recorded
        self.observer(Event(EventKind.DOWNLOADED, watch.address, recorded))
        return True


def _remove_leftovers(final: Path) -> None:
    name = glob.escape(final.name)
    # Ours (.NAME.PID.part) and the client's stream file inside it (..NAME.PID.part.part),
    # which is what a kill in the middle of the stream leaves.
    for pattern in (f".{name}.*.part", f"..{name}.*.part.part"):
        for leftover in final.parent.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()


def _fsync_and_rename(part: Path, final: Path) -> None:
    with part.open("rb") as handle:
        os.fsync(handle.fileno())
    part.replace(final)
    directory = os.open(final.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())
