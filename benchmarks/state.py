"""Seed a state database as if every desired video had been applied and downloaded.

Bulk inserts through the store's own schema (the executor's per-create path would take
minutes at 100k rows and is measured separately by ``apply``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from reconciler.model import DesiredVideo
from reconciler.store import StateStore, schema

BATCH = 5000


def _rows(videos: Iterable[DesiredVideo], outputs: Path | None) -> Iterable[dict[str, object]]:
    now = datetime.now(UTC)
    for video in videos:
        file_path = None
        if outputs is not None:
            file_path = f"outputs/{video.address}.mp4"
        yield {
            "address": video.address,
            "fingerprint": video.fingerprint,
            "spec": video.spec_view(),
            "description": video.description,
            "labels": video.labels,
            "status": "completed",
            "task_id": f"task-{uuid.uuid4().hex[:16]}",
            "progress": 100,
            "attempts": 1,
            "error_message": None,
            "result_url": "https://results.example.com/x.mp4",
            "result_expires_at": now,
            "file_path": file_path,
            "file_sha256": "0" * 64,
            "created_at": now,
            "updated_at": now,
        }


def seed(url: str, videos: Iterable[DesiredVideo], root: Path | None = None) -> int:
    """Insert one completed row per video; with ``root``, create its (empty) output file."""
    outputs = None
    if root is not None:
        outputs = root / "outputs"
        outputs.mkdir(parents=True, exist_ok=True)
    count = 0
    with StateStore.open(url) as store:
        batch: list[dict[str, object]] = []
        with store.engine.begin() as conn:
            conn.execute(sa.delete(schema.videos))
            for row in _rows(videos, outputs):
                if outputs is not None:
                    (outputs / f"{row['address']}.mp4").touch()
                batch.append(row)
                if len(batch) >= BATCH:
                    conn.execute(sa.insert(schema.videos), batch)
                    count += len(batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(schema.videos), batch)
                count += len(batch)
    return count


def synthetic_videos(count: int) -> Iterable[DesiredVideo]:
    """Desired videos without a spec tree, for state-only benchmarks (snapshot)."""
    from reconciler.model import Billing, BillingMode, SourcePos

    billing = Billing(mode=BillingMode.PER_TASK, units=1.0, price_key="std")
    source = SourcePos(path="specs/x.yaml", line=1, col=1)
    for index in range(count):
        yield DesiredVideo(
            address=f"video.clip-{index:06d}",
            name=f"clip-{index:06d}",
            model="seedance2.0-std",
            params={"prompt": "x" * 300, "duration": 5, "ratio": "16:9"},
            fingerprint=f"{index:064x}",
            billing=billing,
            description="Benchmark clip",
            labels={"campaign": "bench", "channel": "web"},
            source=source,
        )
