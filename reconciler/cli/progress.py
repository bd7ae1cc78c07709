"""Progress bars for a terminal: one bar per video in flight and one overall bar with an ETA.

Used by apply and refresh when stderr is a terminal; pipes and CI get the line printer of
``reconciler.cli.output`` instead. ``rich`` is imported here only, and this module is only
imported when bars are drawn, so library code and CI runs never load it.

Events that matter after the run (failures, uncertain creates, retries, state changes) are
also printed as lines above the bars, so nothing is lost when the bars disappear.
"""

from __future__ import annotations

import logging
import sys
from types import TracebackType
from typing import Self, TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from reconciler.executor import Event, EventKind

# A video is finished for the overall bar when one of these arrives for it.
_FINAL = {
    EventKind.DOWNLOADED,
    EventKind.DOWNLOAD_FAILED,
    EventKind.FAILED,
    EventKind.CREATE_FAILED,
    EventKind.UNCERTAIN,
    EventKind.SKIPPED,
}
# Worth a line of its own above the bars.
_LOGGED = {
    EventKind.DOWNLOAD_FAILED,
    EventKind.FAILED,
    EventKind.CREATE_FAILED,
    EventKind.UNCERTAIN,
    EventKind.RETRYING,
    EventKind.STATE,
    EventKind.SKIPPED,
}
_STYLE = {
    EventKind.FAILED: "red",
    EventKind.CREATE_FAILED: "red",
    EventKind.DOWNLOAD_FAILED: "red",
    EventKind.UNCERTAIN: "yellow",
    EventKind.RETRYING: "yellow",
    EventKind.SKIPPED: "yellow",
}


class ProgressBars:
    """An executor observer that draws bars; use it as a context manager around the run.

    ``wait`` False (``--no-wait``) finishes a video when its task is created.
    ``total`` is the number of videos the run will follow, when known; addresses that
    show up beyond it grow the total (refresh does not know its total up front). Only
    the video (``video.*``) addresses get bars; asset and state events are only logged.
    """

    def __init__(
        self, console: Console | None = None, *, total: int | None = None, wait: bool = True
    ) -> None:
        self.console = console if console is not None else Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[count]}", markup=False),  # overall only: done/total
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=False,
        )
        self._expected = total or 0
        # Without --wait a video is as far as this run takes it once its task exists.
        self._final = _FINAL if wait else _FINAL | {EventKind.CREATED}
        self.overall: TaskID = self.progress.add_task(
            "overall", total=total or None, count=f"0/{total or 0}"
        )
        self.bars: dict[str, TaskID] = {}
        self.finished: set[str] = set()
        self.seen: set[str] = set()
        self._moved: list[tuple[logging.StreamHandler[TextIO], TextIO]] = []

    def __enter__(self) -> Self:
        before = sys.stderr
        self.progress.start()
        # Log records (e.g. the Ctrl-C notice) must go through the live display's proxy
        # of stderr, or the next redraw overwrites them.
        if sys.stderr is not before:
            for handler in logging.getLogger().handlers:
                if isinstance(handler, logging.StreamHandler) and handler.stream is before:
                    handler.setStream(sys.stderr)
                    self._moved.append((handler, before))
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.progress.stop()
        for handler, stream in self._moved:
            handler.setStream(stream)
        self._moved.clear()

    def __call__(self, event: Event) -> None:
        if event.kind in _LOGGED:
            self._log(event)
        if not event.address.startswith("video."):
            return
        self._track(event.address)
        if event.kind is EventKind.PROGRESS:
            self._bar(event.address, event.progress, event.message or "running")
        elif event.kind in (EventKind.CREATED, EventKind.CREATE_SENT):
            self._bar(event.address, None, "created" if event.kind is EventKind.CREATED else "sent")
        elif event.kind is EventKind.COMPLETED:
            self._bar(event.address, 100, "downloading")
        if event.kind in self._final and event.address not in self.finished:
            self.finished.add(event.address)
            self._count()
            bar = self.bars.pop(event.address, None)
            if bar is not None:
                self.progress.remove_task(bar)

    def _track(self, address: str) -> None:
        if address in self.seen:
            return
        self.seen.add(address)
        if len(self.seen) > self._expected:
            self._expected = len(self.seen)
            self.progress.update(self.overall, total=self._expected)
            self._count()

    def _count(self) -> None:
        self.progress.update(
            self.overall,
            completed=len(self.finished),
            count=f"{len(self.finished)}/{self._expected}",
        )

    def _bar(self, address: str, percent: int | None, status: str) -> None:
        if address in self.finished:
            return
        label = f"{address.removeprefix('video.')} {status}"
        bar = self.bars.get(address)
        if bar is None:
            self.bars[address] = self.progress.add_task(
                label, total=100, completed=percent or 0, count=""
            )
            return
        if percent is None:
            self.progress.update(bar, description=label)
        else:
            self.progress.update(bar, description=label, completed=percent)

    def _log(self, event: Event) -> None:
        detail = f": {event.message}" if event.message else ""
        line = escape(f"{event.address} {event.kind.value}{detail}")
        style = _STYLE.get(event.kind)
        self.progress.console.print(f"[{style}]{line}[/{style}]" if style else line)
