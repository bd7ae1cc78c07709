"""A read-only snapshot of the state database, as the planner sees it.

The store (``reconciler.store``) reads one ``Snapshot`` with one query per table; the
planner never talks to the database. Only the executor writes, through the store.
"""

from __future__ import annotations

import enum
from datetime import datetime

from pydantic import JsonValue

from reconciler.model import Frozen


class VideoStatus(enum.StrEnum):
    """Where a video address stands.

    ``creating`` means an intent row was committed and no task id came back yet: while
    an apply runs that is normal; seen by anyone else it means the process died between
    the intent and the answer, so the planner shows it as ``uncertain``.
    """

    CREATING = "creating"
    UNCERTAIN = "uncertain"
    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"  # the task ran and failed remotely
    REJECTED = "rejected"  # the create was refused; nothing was created

    @property
    def in_flight(self) -> bool:
        return self in (VideoStatus.QUEUED, VideoStatus.PROCESSING)


class VideoRecord(Frozen):
    """The state of one video address."""

    address: str
    fingerprint: str
    spec: dict[str, JsonValue]  # ``DesiredVideo.spec_view()`` as last submitted
    description: str | None = None
    labels: dict[str, str] = {}
    status: VideoStatus
    task_id: str | None = None
    progress: int = 0
    attempts: int = 0
    error_message: str | None = None
    result_url: str | None = None
    result_expires_at: datetime | None = None
    file_path: str | None = None
    file_sha256: str | None = None
    updated_at: datetime


class AssetRecord(Frozen):
    """An asset known to the state, by content hash."""

    content_hash: str
    type: str
    uploaded_url: str | None = None
    audit_asset_id: str | None = None
    audit_status: str | None = None
    updated_at: datetime


class Snapshot(Frozen):
    """Everything the planner needs from the state. Sorted by address / content hash."""

    lineage: str
    serial: int
    videos: tuple[VideoRecord, ...] = ()
    assets: tuple[AssetRecord, ...] = ()

    @classmethod
    def empty(cls, lineage: str = "") -> Snapshot:
        return cls(lineage=lineage, serial=0)
