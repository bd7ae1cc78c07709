"""The terminal progress bars, fed executor events directly (no terminal, no timing)."""

from __future__ import annotations

import asyncio
import io
import logging
import sys

import pytest
from rich.console import Console

from reconciler.cli.output import ProgressPrinter, observing
from reconciler.cli.progress import ProgressBars
from reconciler.executor import Event, EventKind


def bars(*, total: int | None, wait: bool = True) -> tuple[ProgressBars, io.StringIO]:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=False, width=120, color_system=None)
    return ProgressBars(console, total=total, wait=wait), sink


def overall(view: ProgressBars) -> tuple[float, float | None]:
    task = view.progress.tasks[view.overall]
    assert task.fields["count"] == f"{task.completed:.0f}/{task.total or 0:.0f}"
    return task.completed, task.total


def percent(view: ProgressBars, address: str) -> float:
    return view.progress.tasks[view.bars[address]].completed


def test_a_bar_per_video_follows_its_progress_and_goes_when_done() -> None:
    view, _ = bars(total=2)
    view(Event(EventKind.CREATED, "video.a", "task-1"))
    view(Event(EventKind.CREATED, "video.b", "task-2"))
    assert set(view.bars) == {"video.a", "video.b"}
    view(Event(EventKind.PROGRESS, "video.a", "processing", 40))
    assert percent(view, "video.a") == 40
    assert percent(view, "video.b") == 0
    view(Event(EventKind.COMPLETED, "video.a", progress=100))
    assert percent(view, "video.a") == 100
    assert overall(view) == (0, 2)
    view(Event(EventKind.DOWNLOADED, "video.a", "out/a.mp4"))
    assert set(view.bars) == {"video.b"}
    assert overall(view) == (1, 2)
    view(Event(EventKind.FAILED, "video.b", "content policy"))
    assert view.bars == {}
    assert overall(view) == (2, 2)


def test_failures_and_retries_are_printed_above_the_bars() -> None:
    view, sink = bars(total=3)
    with view:
        view(Event(EventKind.RETRYING, "video.a", "HTTP 503; in 1.0s"))
        view(Event(EventKind.CREATE_FAILED, "video.b", "[bad] the prompt is empty"))
        view(Event(EventKind.UNCERTAIN, "video.c", "the connection dropped"))
        view(Event(EventKind.STATE, "asset.logo", "uploaded"))
        view(Event(EventKind.PROGRESS, "video.a", "queued", 0))
    text = sink.getvalue()
    assert "video.a retrying: HTTP 503; in 1.0s" in text
    assert "video.b create_failed: [bad] the prompt is empty" in text  # not eaten as markup
    assert "video.c uncertain: the connection dropped" in text
    assert "asset.logo state: uploaded" in text
    assert overall(view) == (2, 3)
    assert "asset.logo" not in view.bars


def test_a_final_event_counts_once_and_late_progress_draws_no_bar() -> None:
    view, _ = bars(total=1)
    view(Event(EventKind.FAILED, "video.a", "boom"))
    view(Event(EventKind.DOWNLOAD_FAILED, "video.a", "expired"))
    view(Event(EventKind.PROGRESS, "video.a", "processing", 50))
    assert overall(view) == (1, 1)
    assert view.bars == {}


def test_an_unknown_total_grows_with_the_addresses_seen() -> None:
    view, _ = bars(total=None)
    for name in ("a", "b", "c"):
        view(Event(EventKind.PROGRESS, f"video.{name}", "queued", 0))
    assert overall(view) == (0, 3)
    view(Event(EventKind.DOWNLOADED, "video.a", "out/a.mp4"))
    assert overall(view) == (1, 3)


def test_without_wait_a_created_task_is_as_far_as_the_run_goes() -> None:
    view, _ = bars(total=2, wait=False)
    view(Event(EventKind.CREATE_SENT, "video.a"))
    view(Event(EventKind.CREATED, "video.a", "task-1"))
    view(Event(EventKind.SKIPPED, "video.b", "interrupted"))
    assert overall(view) == (2, 2)
    assert view.bars == {}


def test_log_records_go_through_the_live_display_while_the_bars_are_drawn() -> None:
    sink = io.StringIO()
    console = Console(file=sink, force_terminal=True, width=100, color_system=None)
    handler = logging.StreamHandler(sys.stderr)
    root = logging.getLogger()
    root.addHandler(handler)
    before = handler.stream
    try:
        with ProgressBars(console, total=1) as view:
            assert handler.stream is not before
            logging.getLogger("reconciler.test").warning("interrupted: finishing the calls")
            view(Event(EventKind.DOWNLOADED, "video.a", "out/a.mp4"))
        assert "interrupted: finishing the calls" in sink.getvalue()
        assert handler.stream is before
    finally:
        root.removeHandler(handler)


def test_the_line_printer_batches_lines_and_loses_none(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Lines of a burst are written together within FLUSH_EVERY; none is lost at the end."""

    async def burst(printer: ProgressPrinter) -> tuple[str, str]:
        for n in range(50):
            printer(Event(EventKind.CREATED, f"video.v{n}", f"task-{n}"))
        printer(Event(EventKind.CREATE_SENT, "video.quiet"))  # never printed
        before = capsys.readouterr().err  # nothing yet: the burst is one write, later
        await asyncio.sleep(ProgressPrinter.FLUSH_EVERY * 3)
        after = capsys.readouterr().err
        printer(Event(EventKind.CREATED, "video.last", "task-last"))
        return before, after

    with observing(total=None, wait=False) as printer:  # stderr is not a terminal here
        assert isinstance(printer, ProgressPrinter)
        before, after = asyncio.run(burst(printer))
    last = capsys.readouterr().err  # flushed when the observing block ends

    assert before == ""
    assert [line.split("] ", 1)[1] for line in after.splitlines()] == [
        f"video.v{n} created: task-{n}" for n in range(50)
    ]
    assert last.strip().endswith("video.last created: task-last")


def test_the_line_printer_writes_at_once_outside_an_event_loop(
    capsys: pytest.CaptureFixture[str],
) -> None:
    printer = ProgressPrinter()
    printer(Event(EventKind.CREATED, "video.a", "task-1"))
    assert capsys.readouterr().err.strip().endswith("video.a created: task-1")
