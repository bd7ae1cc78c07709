"""What a command asks the facade for: plain values, cheap to import.

The CLI builds these before the facade (and with it SQLAlchemy) is imported, so that
``apply`` can start what runs beside its start-up (the balance prefetch) first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.api.retry import RetryPolicy


@dataclass(frozen=True)
class PlanRequest:
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    retry_uncertain: tuple[str, ...] = ()
    max_cost: float | None = None


@dataclass(frozen=True)
class ApplyRequest:
    parallelism: int | None = None
    wait: bool = True
    lock_timeout: float = 0.0
    balance_check: bool = True
    rate_limit: float | None = None  # creates per second; None: reconciler.yaml's, if any
    retry: RetryPolicy | None = None  # None: the client's defaults, sane for the real API
