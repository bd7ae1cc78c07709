"""Progress events: the executor reports, the CLI draws. Nothing here touches a terminal."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class EventKind(enum.StrEnum):
    CREATE_SENT = "create_sent"
    CREATED = "created"
    CREATE_FAILED = "create_failed"
    UNCERTAIN = "uncertain"
    RETRYING = "retrying"
    PROGRESS = "progress"
    COMPLETED = "completed"
    FAILED = "failed"
    DOWNLOADED = "downloaded"
    DOWNLOAD_FAILED = "download_failed"
    SKIPPED = "skipped"
    STATE = "state"


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    address: str
    message: str = ""
    progress: int | None = None


class StopSignal(Protocol):
    """Set by the first Ctrl-C: start nothing new, finish what is in flight."""

    def is_set(self) -> bool: ...


class Observer(Protocol):
    def __call__(self, event: Event) -> None: ...


def ignore(event: Event) -> None:
    """An observer that draws nothing."""
