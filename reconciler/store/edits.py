"""Hand edits of the state (``state rm``, ``state mv``, ``state adopt``), journaled.

None of these calls the remote API or spends money; the tasks table is never pruned,
since every task in it was paid for.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import sqlalchemy as sa
from pydantic import JsonValue

from reconciler.errors import StateConflict
from reconciler.stateview import VideoStatus
from reconciler.store.records import OpKind, OpState
from reconciler.store.schema import operations, tasks, videos
from reconciler.store.updates import StateUpdater
from reconciler.store.writes import utcnow


class StateEditor(StateUpdater):
    """``forget``, ``move`` and ``adopt``."""

    def forget(self, address: str, *, kind: OpKind = OpKind.FORGET) -> None:
        """Drop ``address`` from the state; its tasks and any files are kept."""
        with self._write() as conn:
            video = self._require_video(conn, address)
            self._bump(conn)
            conn.execute(sa.delete(videos).where(videos.c.address == address))
            self._journal(
                conn,
                kind=kind,
                address=address,
                fingerprint=video.fingerprint,
                task_id=video.task_id,
                message=f"forgot {address} (status {video.status}); its tasks are kept",
            )

    def move(self, src: str, dst: str) -> None:
        """Rename an address (and its task history) without creating anything."""
        if src == dst:
            raise StateConflict(f"cannot move {src} onto itself")
        with self._write() as conn:
            video = self._require_video(conn, src)
            if self._video_row(conn, dst) is not None:
                raise StateConflict(
                    f"cannot move {src} to {dst}: {dst} is already in the state",
                    hint=f"run `reconciler state rm {dst}` first if it should be replaced",
                )
            self._bump(conn)
            now = utcnow()
            conn.execute(
                sa.update(videos).where(videos.c.address == src).values(address=dst, updated_at=now)
            )
            conn.execute(sa.update(tasks).where(tasks.c.address == src).values(address=dst))
            self._journal(
                conn,
                kind=OpKind.MV,
                address=dst,
                fingerprint=video.fingerprint,
                task_id=video.task_id,
                message=f"moved {src} -> {dst}",
            )

    def adopt(
        self,
        address: str,
        task_id: str,
        *,
        fingerprint: str,
        spec: Mapping[str, JsonValue],
        status: str,
        description: str | None = None,
        labels: Mapping[str, str] | None = None,
        progress: int = 0,
        result_url: str | None = None,
        result_expires_at: datetime | None = None,
        error_message: str | None = None,
        cost: float | None = None,
        run_id: int | None = None,
    ) -> None:
        """Make an existing remote task (checked by the caller) the task of ``address``.

        Resolves an uncertain create: any open intent for the address is closed as done
        with this task id.
        """
        video_status = VideoStatus(status)
        now = utcnow()
        with self._write() as conn:
            task = conn.execute(sa.select(tasks).where(tasks.c.task_id == task_id)).first()
            if task is not None and task.address != address:
                raise StateConflict(
                    f"task {task_id} already belongs to {task.address}",
                    hint=f"run `reconciler state mv {task.address} {address}` to rename it",
                )
            self._bump(conn)
            if task is None:
                conn.execute(
                    sa.insert(tasks).values(
                        task_id=task_id,
                        address=address,
                        fingerprint=fingerprint,
                        spec=dict(spec),
                        status=video_status.value,
                        error_message=error_message,
                        cost=cost,
                        result_url=result_url,
                        result_expires_at=result_expires_at,
                        run_id=run_id,
                        operation_id=None,
                        created_at=now,
                        updated_at=now,
                    )
                )
            conn.execute(
                sa.update(operations)
                .where(operations.c.address == address, operations.c.state == OpState.INTENT)
                .values(
                    state=OpState.DONE.value,
                    task_id=task_id,
                    finished_at=now,
                    message=f"resolved by adopting task {task_id}",
                )
            )
            fields = {
                "fingerprint": fingerprint,
                "spec": dict(spec),
                "status": video_status.value,
                "task_id": task_id,
                "progress": progress,
                "error_message": error_message,
                "result_url": result_url,
                "result_expires_at": result_expires_at,
                "updated_at": now,
            }
            video = self._video_row(conn, address)
            if video is None:
                conn.execute(
                    sa.insert(videos).values(
                        address=address,
                        description=description,
                        labels=dict(labels or {}),
                        attempts=1,
                        file_path=None,
                        file_sha256=None,
                        created_at=now,
                        **fields,
                    )
                )
            else:
                extra: dict[str, object] = {}
                if description is not None:
                    extra["description"] = description
                if labels is not None:
                    extra["labels"] = dict(labels)
                if video.task_id != task_id:
                    extra.update(file_path=None, file_sha256=None)
                conn.execute(
                    sa.update(videos).where(videos.c.address == address).values(**fields, **extra)
                )
            self._journal(
                conn,
                kind=OpKind.ADOPT,
                address=address,
                run_id=run_id,
                fingerprint=fingerprint,
                task_id=task_id,
                message=f"adopted task {task_id} ({video_status.value})",
            )
