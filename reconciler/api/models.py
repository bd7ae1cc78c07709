"""Typed results of the Seedance API client.

Each model is what one endpoint returns, after the tolerant parsing in
``reconciler.api.wire``: the vendor's spellings are normalised here (status synonyms,
``code`` forms), so callers compare enums, not strings. Raw vendor values are kept next
to the normalised ones where a human may need to see them (``raw_status``).
"""

from __future__ import annotations

import enum

from pydantic import BaseModel, ConfigDict, JsonValue


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskStatus(enum.StrEnum):
    """A video task's state (API-FACTS §3.2), with the vendor's synonyms folded in."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (TaskStatus.COMPLETED, TaskStatus.FAILED)


class AuditState(enum.StrEnum):
    """An audited asset's state (API-FACTS §3.4): Pending, Active, or Failed/Rejected."""

    PENDING = "pending"
    ACTIVE = "active"
    REJECTED = "rejected"


class TokenUsage(_Frozen):
    """Token counts, returned only for token-billed routes once completed."""

    completion_tokens: int | None = None
    total_tokens: int | None = None


class CreatedTask(_Frozen):
    """The answer to a create: the task exists remotely and will be billed."""

    task_id: str
    status: TaskStatus = TaskStatus.QUEUED
    raw_status: str | None = None
    model: str | None = None
    created_at: int | None = None  # Unix seconds
    cost: float | None = None  # JimiCoin; Era B only


class TaskInfo(_Frozen):
    """One observation of a task (``GET /api/open-api/v1/videos/{taskId}``)."""

    task_id: str
    status: TaskStatus
    raw_status: str
    progress: int | None = None  # 0..100
    model: str | None = None
    result_video_url: str | None = None  # signed, valid 3 days; never log its query
    error_message: str | None = None
    cost: float | None = None
    usage: TokenUsage | None = None
    created_at: int | None = None
    completed_at: int | None = None


class AuditItem(_Frozen):
    """One asset submitted for (or queried about) Full-route moderation."""

    asset_id: str
    state: AuditState
    raw_status: str
    asset_type: str | None = None
    original_url: str | None = None


class FailedAuditItem(_Frozen):
    """A URL the audit endpoint refused at submission. The vendor's shape is undocumented,
    so the recognisable fields are lifted out and the rest is kept as ``raw``."""

    url: str | None = None
    reason: str | None = None
    raw: dict[str, JsonValue] = {}


class AuditSubmitResult(_Frozen):
    items: tuple[AuditItem, ...] = ()
    failed_items: tuple[FailedAuditItem, ...] = ()


class UploadedFile(_Frozen):
    """A file stored by the vendor (``POST /api/open-api/v1/files/upload``)."""

    url: str
    filename: str | None = None
    size: int | None = None
    mime_type: str | None = None


class UserBalance(_Frozen):
    """Account balance in JimiCoin; ``available`` is what new tasks can spend."""

    balance: float | None = None
    used_coin: float | None = None
    available: float


class KeyBalance(_Frozen):
    """Per-key quota; ``total_quota == 0`` or ``unlimited`` means no cap."""

    name: str | None = None
    total_quota: float | None = None
    used_quota: float | None = None
    available_quota: float | None = None
    unlimited: bool = False


class CatalogEntry(_Frozen):
    """One row of the public price list (default prices, not per-user prices)."""

    model_name: str
    display_name: str | None = None
    model_type: str | None = None
    price_mode: str | None = None
    unit_price: float | None = None
    official_price: float | None = None
    remark: str | None = None
    group: str | None = None
