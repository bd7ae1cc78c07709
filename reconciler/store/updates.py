"""Writes after a create: polling results, downloads, metadata and asset updates.

Same rules as ``writes``: one committed transaction per call, serial bumped, journaled.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa

from reconciler.errors import StateConflict
from reconciler.stateview import VideoStatus
from reconciler.store.records import OpKind
from reconciler.store.schema import assets, videos
from reconciler.store.writes import (
    SELECT_TASK,
    UPDATE_TASK,
    UPDATE_VIDEO,
    StateWriter,
    utcnow,
)


class Keep(enum.Enum):
    """Default of optional ``upsert_asset`` fields: leave the stored value as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


class StateUpdater(StateWriter):
    """``record_task``, ``record_download``, ``update_meta`` and ``upsert_asset``."""

    def record_task(
        self,
        address: str,
        *,
        task_id: str,
        status: str,
        progress: int = 0,
        result_url: str | None = None,
        result_expires_at: datetime | None = None,
        error_message: str | None = None,
    ) -> bool:
        """What polling learnt about a task. Returns False (and writes nothing) if no change.

        The video row follows only if ``task_id`` is still its current task; an older
        (replaced) task only updates its own row.
        """
        video_status = VideoStatus(status)
        now = utcnow()
        with self._write() as conn:
            task = conn.execute(SELECT_TASK, {"b_task_id": task_id}).first()
            video = self._video_row(conn, address)
            current = video is not None and video.task_id == task_id
            video_new = {
                "status": video_status.value,
                "progress": progress,
                "result_url": result_url,
                "result_expires_at": result_expires_at,
                "error_message": error_message,
            }
            video_changed = (
                current
                and video is not None
                and any(getattr(video, key) != value for key, value in video_new.items())
            )
            task_new = {
                "status": video_status.value,
                "error_message": error_message,
                "result_url": result_url,
                "result_expires_at": result_expires_at,
            }
            task_changed = task is not None and any(
                getattr(task, key) != value for key, value in task_new.items()
            )
            if task is None and not current:
                raise StateConflict(
                    f"task {task_id} of {address} is not in the state",
                    hint=f"run `reconciler state adopt {address} {task_id}` to record it",
                )
            if not (video_changed or task_changed):
                return False
            self._bump(conn)
            if task_changed:
                conn.execute(UPDATE_TASK, {"b_task_id": task_id, "updated_at": now, **task_new})
            if video_changed:
                conn.execute(UPDATE_VIDEO, {"b_address": address, "updated_at": now, **video_new})
            old = video.status if current and video is not None else (task.status if task else "")
            self._journal(
                conn,
                kind=OpKind.REFRESH,
                address=address,
                task_id=task_id,
                message=f"{old} -> {video_status.value} ({progress}%)"
                + (f": {error_message}" if error_message else ""),
            )
            return True

    def record_download(self, address: str, *, path: str, sha256: str) -> None:
        with self._write() as conn:
            video = self._require_video(conn, address)
            self._bump(conn)
            conn.execute(
                UPDATE_VIDEO,
                {
                    "b_address": address,
                    "file_path": path,
                    "file_sha256": sha256,
                    "updated_at": utcnow(),
                },
            )
            self._journal(
                conn,
                kind=OpKind.DOWNLOAD,
                address=address,
                task_id=video.task_id,
                message=f"{path} sha256:{sha256}",
            )

    def update_meta(
        self, address: str, *, description: str | None, labels: Mapping[str, str]
    ) -> None:
        """A non-generative change: nothing remote happens, nothing is paid."""
        with self._write() as conn:
            video = self._require_video(conn, address)
            self._bump(conn)
            conn.execute(
                sa.update(videos)
                .where(videos.c.address == address)
                .values(description=description, labels=dict(labels), updated_at=utcnow())
            )
            self._journal(
                conn,
                kind=OpKind.UPDATE,
                address=address,
                fingerprint=video.fingerprint,
                message="description and labels updated",
            )

    def upsert_asset(
        self,
        content_hash: str,
        *,
        type: str,
        uploaded_url: str | Keep | None = KEEP,
        upload_expires_at: datetime | Keep | None = KEEP,
        audit_asset_id: str | Keep | None = KEEP,
        audit_status: str | Keep | None = KEEP,
        audit_reason: str | Keep | None = KEEP,
    ) -> None:
        """Create or update an asset; fields left at ``KEEP`` keep their stored value."""
        given = {
            "uploaded_url": uploaded_url,
            "upload_expires_at": upload_expires_at,
            "audit_asset_id": audit_asset_id,
            "audit_status": audit_status,
            "audit_reason": audit_reason,
        }
        changes: dict[str, object] = {
            key: value for key, value in given.items() if not isinstance(value, Keep)
        }
        now = utcnow()
        with self._write() as conn:
            exists = conn.execute(
                sa.select(assets.c.content_hash).where(assets.c.content_hash == content_hash)
            ).first()
            self._bump(conn)
            if exists is None:
                conn.execute(
                    sa.insert(assets).values(
                        content_hash=content_hash, type=type, updated_at=now, **changes
                    )
                )
            else:
                conn.execute(
                    sa.update(assets)
                    .where(assets.c.content_hash == content_hash)
                    .values(type=type, updated_at=now, **changes)
                )
            self._journal(
                conn,
                kind=OpKind.ASSET,
                address=None,
                message=f"{content_hash}: " + ", ".join(sorted(changes) or ["registered"]),
            )
