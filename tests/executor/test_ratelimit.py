"""The client-side create cap: a token bucket driven by an injected clock."""

from __future__ import annotations

import asyncio

import pytest

from reconciler.executor.ratelimit import NoLimit, TokenBucket, rate_cap


class FakeClock:
    """Time that only moves when the bucket sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_full_bucket_lets_the_burst_through_then_spaces_the_rest() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2.0, burst=3, clock=clock, sleep=clock.sleep)

    async def take(count: int) -> list[float]:
        return [await bucket.acquire() for _ in range(count)]

    waits = asyncio.run(take(7))
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3:] == pytest.approx([0.5, 0.5, 0.5, 0.5])
    assert clock.now == pytest.approx(2.0)  # 4 tokens beyond the burst at 2 per second


def test_idle_time_refills_up_to_the_burst_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1.0, burst=2, clock=clock, sleep=clock.sleep)

    async def scenario() -> list[float]:
        waits = [await bucket.acquire(), await bucket.acquire()]
        clock.now += 100.0  # a long idle period: still only 2 tokens
        waits += [await bucket.acquire() for _ in range(3)]
        return waits

    assert asyncio.run(scenario()) == pytest.approx([0, 0, 0, 0, 1.0])


def test_concurrent_waiters_share_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(4.0, clock=clock, sleep=clock.sleep)

    async def scenario() -> None:
        await asyncio.gather(*(bucket.acquire() for _ in range(9)))

    asyncio.run(scenario())
    # 9 creates at 4 per second with a burst of 1: the last one goes out at 2 s.
    assert clock.now == pytest.approx(2.0)
    assert sum(clock.sleeps) == pytest.approx(2.0)


def test_a_clock_that_never_moves_is_an_error_not_a_hang() -> None:
    async def no_sleep(_seconds: float) -> None:
        return None

    bucket = TokenBucket(1.0, clock=lambda: 0.0, sleep=no_sleep)

    async def scenario() -> None:
        await bucket.acquire()
        await bucket.acquire()

    with pytest.raises(RuntimeError, match="does not advance"):
        asyncio.run(scenario())


def test_rate_cap_is_no_cap_without_a_rate() -> None:
    assert isinstance(rate_cap(None), NoLimit)
    assert asyncio.run(rate_cap(None).acquire()) == 0.0
    assert isinstance(rate_cap(3.0), TokenBucket)
    with pytest.raises(ValueError, match="positive"):
        TokenBucket(0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(1.0, burst=0)
