"""Builders of desired videos and state records for planner and renderer tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from reconciler.model import Billing, BillingMode, DesiredVideo, SourcePos
from reconciler.stateview import VideoRecord, VideoStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def video(name: str, prompt: str = "a boat", duration: int = 5, **extra: object) -> DesiredVideo:
    params = {"prompt": prompt, "duration": duration, "ratio": "16:9"}
    return DesiredVideo(
        address=f"video.{name}",
        name=name,
        model="sd2_mx_720p",
        params=params,
        fingerprint=f"fp-{prompt}-{duration}",
        billing=Billing(mode=BillingMode.PER_SECOND, units=duration, price_key="sd2_mx_720p"),
        source=SourcePos(path="specs/a.yaml", line=1, col=1),
        **extra,  # type: ignore[arg-type]
    )


def record(
    v: DesiredVideo, status: VideoStatus = VideoStatus.COMPLETED, **extra: object
) -> VideoRecord:
    fields: dict[str, object] = {
        "address": v.address,
        "fingerprint": v.fingerprint,
        "spec_json": json.dumps(v.spec_view()),
        "description": v.description,
        "labels": v.labels,
        "status": status,
        "task_id": f"task-{v.address}",
        "attempts": 1,
        "result_url": "http://127.0.0.1/x.mp4",
        "result_expires_at": NOW + timedelta(days=1),
        "updated_at": NOW,
    }
    fields.update(extra)
    return VideoRecord(**fields)  # type: ignore[arg-type]
