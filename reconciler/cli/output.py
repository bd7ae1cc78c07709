"""Drawing progress and results. Progress goes to stderr; the result summary to stdout."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import click

from reconciler.executor import ApplyResult, Event, EventKind, Observer

_QUIET = {EventKind.CREATE_SENT}


class ProgressPrinter:
    """An executor observer that prints one line per meaningful event on stderr.

    Progress lines of a running task are printed when its status or its progress
    decile changes, so a long wait does not flood a CI log. Lines are written in batches,
    at most ``FLUSH_EVERY`` seconds late: one write per line costs a system call each
    and, at hundreds of creates a second, slowed the apply itself.
    """

    FLUSH_EVERY = 0.25

    def __init__(self) -> None:
        self._last: dict[str, tuple[str, int]] = {}
        self._started = time.monotonic()
        self._lines: list[str] = []
        self._flush_due: asyncio.TimerHandle | None = None
        self._flush_loop: asyncio.AbstractEventLoop | None = None

    def __call__(self, event: Event) -> None:
        if event.kind in _QUIET:
            return
        if event.kind is EventKind.PROGRESS:
            key = (event.message, (event.progress or 0) // 10)
            if self._last.get(event.address) == key:
                return
            self._last[event.address] = key
        elapsed = time.monotonic() - self._started
        progress = f" {event.progress}%" if event.progress is not None else ""
        detail = f": {event.message}" if event.message else ""
        line = f"[{elapsed:6.1f}s] {event.address} {event.kind.value}{progress}{detail}"
        self._lines.append(line)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not inside the executor's loop: no batching
            self.flush()
            return
        if self._flush_due is not None and self._flush_loop is not loop:  # an ended loop
            self.flush()
        if self._flush_due is None:
            self._flush_due = loop.call_later(self.FLUSH_EVERY, self.flush)
            self._flush_loop = loop

    def flush(self) -> None:
        if self._flush_due is not None:
            self._flush_due.cancel()
            self._flush_due = None
            self._flush_loop = None
        if self._lines:
            click.echo("\n".join(self._lines), err=True)
            self._lines.clear()


@contextmanager
def observing(*, total: int | None, wait: bool) -> Iterator[Observer]:
    """Bars on a terminal (rich, imported only then); one line per event otherwise."""
    ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    if ci or not sys.stderr.isatty() or os.environ.get("TERM") == "dumb":
        printer = ProgressPrinter()
        try:
            yield printer
        finally:
            printer.flush()
        return
    # Imported here so rich is loaded only when bars are drawn.
    from reconciler.cli.progress import ProgressBars

    with ProgressBars(total=total, wait=wait) as bars:
        yield bars


def print_result(result: ApplyResult) -> None:
    lines = [
        f"Apply finished: {len(result.created)} created, {len(result.completed)} completed, "
        f"{len(result.downloaded)} downloaded, {len(result.bookkeeping)} state changes, "
        f"{len(result.pending)} still running, {len(result.rejected) + len(result.failed)} failed, "
        f"{len(result.uncertain)} uncertain."
    ]
    for address, message in sorted({**result.rejected, **result.failed}.items()):
        lines.append(f"  failed    {address}: {message}")
    for address, message in sorted(result.uncertain.items()):
        lines.append(
            f"  uncertain {address}: {message} (resolve with `reconciler state adopt "
            f"{address} TASK_ID` or `reconciler apply --retry-uncertain {address}`)"
        )
    for address in result.blocked:
        lines.append(f"  blocked   {address}: see the plan")
    for address in result.skipped:
        lines.append(f"  skipped   {address}: interrupted before it was sent")
    if result.expired:
        lines.append(
            "  The result URL expired before the download; generate again (paid) with "
            + " ".join(f"--replace {address}" for address in sorted(result.expired))
            + " on `reconciler apply`."
        )
    if result.pending:
        lines.append("  Run `reconciler refresh` later to download the videos still running.")
    click.echo("\n".join(lines))
    sys.stdout.flush()
