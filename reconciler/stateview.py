"""A read-only snapshot of the state database, as the planner sees it.

The store (``reconciler.store``) reads one ``Snapshot`` with one query per table; the
planner never talks to the database. Only the executor writes, through the store.

These are plain immutable records, not pydantic models: the store builds them from its
own schema's rows, so there is nothing to validate, and a snapshot builds one
``VideoRecord`` per video (100,000 of them must take well under a second).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from pydantic import JsonValue


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


class VideoRecord(NamedTuple):
    """The state of one video address.

    A named tuple because it is immutable and the cheapest record Python builds: a
    frozen dataclass costs six times as much per instance, which is most of a 100k-row
    snapshot. Copy with a change: ``record._replace(address=...)``.

    The spec is kept as the JSON text the state holds (``spec_json``) and decoded by
    ``spec`` on each access: a plan reads the spec only of the records whose
    fingerprint changed (for the diff), so it costs what changed, not the state's size.

    A snapshot read for planning (``StateStore.plan_snapshot``) leaves out what the
    planner never reads (at 100k videos: 125 -> 25 MiB): ``updated_at``,
    ``file_sha256`` and ``file_path`` are None, and so are ``result_url`` and
    ``result_expires_at`` unless the file is not downloaded, and ``spec_json`` unless
    the fingerprint changed.
    """

    address: str
    fingerprint: str
    spec_json: str | None  # JSON of ``DesiredVideo.spec_view()`` as last submitted
    labels: Mapping[str, str]  # read-only: records with equal labels share one mapping
    status: VideoStatus
    updated_at: datetime | None  # None only in a snapshot read for planning
    description: str | None = None
    task_id: str | None = None
    progress: int = 0
    attempts: int = 0
    error_message: str | None = None
    result_url: str | None = None
    result_expires_at: datetime | None = None
    file_path: str | None = None
    file_sha256: str | None = None

    @property
    def spec(self) -> dict[str, JsonValue]:
        """The spec as last submitted, decoded from ``spec_json`` (a new dict each call)."""
        if self.spec_json is None:
            # A bug, not a user error: only the planner gets such records, and it reads
            # the spec only where ``plan_snapshot`` kept it.
            raise ValueError(f"the record of {self.address} was read without its spec")
        spec: dict[str, JsonValue] = json.loads(self.spec_json)
        return spec

    def to_json(self) -> dict[str, JsonValue]:
        """The record as JSON data (``state show --format json``): timestamps in ISO 8601
        with ``Z``, the spec decoded."""
        return {
            "address": self.address,
            "fingerprint": self.fingerprint,
            "spec": self.spec,
            "description": self.description,
            "labels": dict(self.labels),
            "status": self.status.value,
            "task_id": self.task_id,
            "progress": self.progress,
            "attempts": self.attempts,
            "error_message": self.error_message,
            "result_url": self.result_url,
            "result_expires_at": _iso(self.result_expires_at),
            "file_path": self.file_path,
            "file_sha256": self.file_sha256,
            "updated_at": _iso(self.updated_at),
        }


def not_downloaded(
    status: VideoStatus, file_path: str | None, file_exists: Callable[[str], bool]
) -> bool:
    """Whether a video completed and its file is not on disk: none was recorded, or the
    recorded one (``file_path``, relative to the project) is gone. The planner downloads
    these again, or says that the result URL expired."""
    return status is VideoStatus.COMPLETED and not (file_path and file_exists(file_path))


def _iso(when: datetime | None) -> str | None:
    # The state's timestamps are UTC; written as pydantic did, "...T12:00:00Z".
    return None if when is None else when.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetRecord:
    """An asset known to the state, by content hash."""

    content_hash: str
    type: str
    uploaded_url: str | None = None
    audit_asset_id: str | None = None
    audit_status: str | None = None
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything the planner needs from the state. Sorted by address / content hash."""

    lineage: str
    serial: int
    videos: tuple[VideoRecord, ...] = ()
    assets: tuple[AssetRecord, ...] = ()

    @classmethod
    def empty(cls, lineage: str = "") -> Snapshot:
        return cls(lineage=lineage, serial=0)
