"""The optional client-side rate cap on creates: a token bucket.

The vendor answers a burst of creates with 429s; honouring ``Retry-After`` recovers from
that, but a cap (``rate_limit`` in reconciler.yaml or ``apply --rate-limit N``) avoids the
storm in the first place. Only creates take tokens: polls and downloads are not capped.
The clock and the sleep are injected so tests run without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol


class TokenBucket:
    """At most ``rate`` acquisitions per second on average, bursts of up to ``burst``.

    The bucket starts full. Waiters are served in arrival order (one lock), so a create
    that started waiting first is sent first.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    async def acquire(self) -> float:
        """Take one token, sleeping until one is there. Returns the seconds waited."""
        waited = 0.0
        async with self._lock:
            self._refill()
            # Bounded: each round sleeps exactly the deficit, so one or two rounds suffice;
            # the cap guards against a clock that does not move.
            for _ in range(1000):
                if self._tokens >= 1.0:
                    break
                delay = (1.0 - self._tokens) / self.rate
                await self._sleep(delay)
                waited += delay
                self._refill()
            else:
                raise RuntimeError("the rate limiter's clock does not advance")
            self._tokens -= 1.0
        return waited


class RateCap(Protocol):
    async def acquire(self) -> float: ...


class NoLimit:
    """The cap when none is configured: never waits."""

    async def acquire(self) -> float:
        return 0.0


def rate_cap(rate: float | None) -> RateCap:
    """A bucket for ``rate`` creates per second, or no cap at all for None."""
    return NoLimit() if rate is None else TokenBucket(rate)
