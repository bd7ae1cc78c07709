"""reconciler.api: the Seedance HTTP API client, its result models and a retry helper.

``SeedanceClient`` (and with it httpx) is imported on first use, so commands that only
need ``ApiKey`` or the models start fast.
"""

from typing import TYPE_CHECKING

from reconciler.api.keys import ApiKey, redact
from reconciler.api.models import (
    AuditItem,
    AuditState,
    AuditSubmitResult,
    CatalogEntry,
    CreatedTask,
    FailedAuditItem,
    KeyBalance,
    TaskInfo,
    TaskStatus,
    TokenUsage,
    UploadedFile,
    UserBalance,
)

if TYPE_CHECKING:
    from reconciler.api.client import SeedanceClient

__all__ = [
    "ApiKey",
    "AuditItem",
    "AuditState",
    "AuditSubmitResult",
    "CatalogEntry",
    "CreatedTask",
    "FailedAuditItem",
    "KeyBalance",
    "SeedanceClient",
    "TaskInfo",
    "TaskStatus",
    "TokenUsage",
    "UploadedFile",
    "UserBalance",
    "redact",
]


def __getattr__(name: str) -> object:
    if name == "SeedanceClient":
        from reconciler.api.client import SeedanceClient

        return SeedanceClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
