"""reconciler.api: the Seedance HTTP API client, its result models and a retry helper."""

from reconciler.api.client import SeedanceClient
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
