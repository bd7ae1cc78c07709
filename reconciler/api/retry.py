"""An explicit, bounded retry helper for callers of ``SeedanceClient``.

The client makes one attempt per call; callers decide what may be repeated:

* ``ApiRetryable`` (429, 5xx, code -1) is always retried: nothing was created.
* ``ApiUnreachable`` (nothing was sent) only with ``retry_unreachable=True``: safe even
  for a create, but the caller has to want it.
* ``ApiOutcomeUnknown`` only with ``retry_unknown=True``, which is meant for idempotent
  reads (query, status, balance, download) and also retries ``ApiUnreachable``. It must
  never be used around a create: a lost answer may be a created, billed task.

Delays honour the server's ``Retry-After``; otherwise they grow exponentially, capped,
with jitter from an injected ``random.Random`` (so tests are deterministic). Both the
number of attempts and the total time are bounded.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from reconciler.errors import ApiError, ApiOutcomeUnknown, ApiRetryable, ApiUnreachable

log = logging.getLogger("reconciler.api")

T = TypeVar("T")


class RetryPolicy(BaseModel):
    """How hard to try. Defaults suit an unattended apply against a busy API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_attempts: int = Field(default=5, ge=1, le=100)
    base_delay: float = Field(default=1.0, ge=0)  # seconds before the 2nd attempt
    max_delay: float = Field(default=30.0, ge=0)  # cap of one computed backoff
    max_retry_after: float = Field(default=120.0, ge=0)  # a longer Retry-After gives up
    max_total: float = Field(default=300.0, ge=0)  # whole call, sleeps included
    jitter: float = Field(default=0.5, ge=0, le=1)  # fraction of the delay randomised

    @model_validator(mode="after")
    def _caps(self) -> RetryPolicy:
        if self.max_delay < self.base_delay:
            raise ValueError("max_delay must be at least base_delay")
        return self

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """The delay before retry ``retry_number`` (1-based) without a ``Retry-After``."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** (retry_number - 1))
        return delay * (1.0 - self.jitter * rng.random())


def _should_retry(error: ApiError, retry_unknown: bool, retry_unreachable: bool) -> bool:
    if isinstance(error, ApiRetryable):
        return True
    if isinstance(error, ApiUnreachable):
        return retry_unreachable or retry_unknown
    if isinstance(error, ApiOutcomeUnknown):
        return retry_unknown
    return False


# The jitter of every call that is not given its own generator: one instance, seeded once
# (a new ``random.Random()`` per call read the OS's entropy on every create of an apply).
_JITTER = random.Random()


async def retry_call(
    fn: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    on_retry: Callable[[ApiError, float], object] | None = None,
    retry_unknown: bool = False,
    retry_unreachable: bool = False,
    rng: random.Random | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``await fn()``, retrying as the module docstring says; re-raise the last error.

    ``on_retry(error, delay)`` is called before each sleep (for progress output).
    """
    rng = rng if rng is not None else _JITTER
    start = clock()
    slept = 0.0
    attempt = 1
    while True:
        try:
            return await fn()
        except ApiError as error:
            if attempt >= policy.max_attempts or not _should_retry(
                error, retry_unknown, retry_unreachable
            ):
                raise
            retry_after = error.retry_after if isinstance(error, ApiRetryable) else None
            if retry_after is not None:
                if retry_after > policy.max_retry_after:
                    raise
                delay = retry_after
            else:
                delay = policy.backoff(attempt, rng)
            # Elapsed time is the clock's or the sum of our sleeps, whichever is larger, so a
            # fake sleep in tests still counts against the budget.
            elapsed = max(clock() - start, slept)
            if elapsed + delay > policy.max_total:
                raise
            log.debug(
                "attempt %d failed (%s); retrying in %.2fs", attempt, type(error).__name__, delay
            )
            if on_retry is not None:
                on_retry(error, delay)
            await sleep(delay)
            slept += delay
            attempt += 1
