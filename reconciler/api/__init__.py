"""reconciler.api: the Seedance HTTP API client, its result models and a retry helper.

Only ``ApiKey``/``redact`` are imported eagerly: ``SeedanceClient`` (and with it httpx)
and the result models are imported on first use, so commands that only read the
settings (``validate``) start fast.
"""

from typing import TYPE_CHECKING

from reconciler.api.keys import ApiKey, redact

if TYPE_CHECKING:
    from reconciler.api.client import SeedanceClient
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


def __getattr__(name: str) -> object:
    if name == "SeedanceClient":
        from reconciler.api import client

        return client.SeedanceClient
    if name in __all__:
        from reconciler.api import models

        return getattr(models, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
