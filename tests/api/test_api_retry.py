"""retry_call: what it retries, how long it waits, and that it stops."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from pydantic import ValidationError

from reconciler.api.retry import RetryPolicy, retry_call
from reconciler.errors import (
    ApiError,
    ApiNotCreated,
    ApiOutcomeUnknown,
    ApiRetryable,
    ApiUnreachable,
)
from tests.api.apifakes import run


class Script:
    """A callable that raises the scripted errors, then returns "ok"."""

    def __init__(self, *errors: ApiError) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


class FakeSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


POLICY = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=8.0, max_total=1000.0, jitter=0.0)


def go(
    fn: Script,
    policy: RetryPolicy = POLICY,
    **kwargs: bool | Callable[[ApiError, float], object] | random.Random,
) -> tuple[str, FakeSleep]:
    sleep = FakeSleep()
    result = run(retry_call(fn, policy=policy, sleep=sleep, **kwargs))  # type: ignore[arg-type]
    return result, sleep


def busy(after: float | None = None) -> ApiRetryable:
    return ApiRetryable("busy", retry_after=after)


def test_retryable_is_retried_with_exponential_backoff() -> None:
    fn = Script(busy(), busy(), busy(), busy())
    result, sleep = go(fn)
    assert result == "ok" and fn.calls == 5
    assert sleep.delays == [1.0, 2.0, 4.0, 8.0]


def test_backoff_is_capped() -> None:
    fn = Script(*(busy() for _ in range(6)))
    policy = POLICY.model_copy(update={"max_attempts": 8})
    _, sleep = go(fn, policy)
    assert sleep.delays == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]


def test_retry_after_is_honoured() -> None:
    fn = Script(busy(after=3.5), busy(after=0.0))
    _, sleep = go(fn)
    assert sleep.delays == [3.5, 0.0]


def test_retry_after_beyond_the_cap_gives_up() -> None:
    fn = Script(busy(after=3600))
    with pytest.raises(ApiRetryable):
        go(fn)
    assert fn.calls == 1


def test_attempts_are_bounded() -> None:
    fn = Script(*(busy() for _ in range(10)))
    with pytest.raises(ApiRetryable):
        go(fn)
    assert fn.calls == POLICY.max_attempts


def test_total_time_is_bounded() -> None:
    fn = Script(*(busy() for _ in range(10)))
    policy = POLICY.model_copy(update={"max_total": 5.0, "max_attempts": 10})
    sleep = FakeSleep()
    with pytest.raises(ApiRetryable):
        run(retry_call(fn, policy=policy, sleep=sleep))
    assert sleep.delays == [1.0, 2.0]  # 1 + 2 + 4 would pass 5 s
    assert sum(sleep.delays) <= 5.0


def test_total_time_uses_the_clock() -> None:
    now = [0.0]
    fn = Script(*(busy() for _ in range(10)))

    async def sleep(delay: float) -> None:
        now[0] += delay + 10.0  # the call itself takes long

    policy = POLICY.model_copy(update={"max_total": 20.0, "max_attempts": 10})
    with pytest.raises(ApiRetryable):
        run(retry_call(fn, policy=policy, sleep=sleep, clock=lambda: now[0]))
    # t=0 fail, sleep to 11; fail, 11+2 <= 20 so sleep to 23; fail, 23 > 20: give up.
    assert fn.calls == 3


def test_jitter_comes_from_the_injected_rng() -> None:
    policy = POLICY.model_copy(update={"jitter": 0.5})
    delays = []
    for _ in range(2):
        fn = Script(busy(), busy(), busy())
        _, sleep = go(fn, policy, rng=random.Random(42))
        delays.append(sleep.delays)
    assert delays[0] == delays[1]
    for d, full in zip(delays[0], [1.0, 2.0, 4.0], strict=True):
        assert full * 0.5 <= d <= full


@pytest.mark.parametrize(
    "error",
    [ApiNotCreated("no"), ApiUnreachable("down"), ApiOutcomeUnknown("lost")],
)
def test_other_classes_are_not_retried_by_default(error: ApiError) -> None:
    fn = Script(error)
    with pytest.raises(type(error)):
        go(fn)
    assert fn.calls == 1


def test_unknown_is_retried_only_on_request() -> None:
    fn = Script(ApiOutcomeUnknown("lost"), ApiUnreachable("down"))
    result, sleep = go(fn, retry_unknown=True)
    assert result == "ok" and len(sleep.delays) == 2


def test_unreachable_flag_does_not_retry_unknown() -> None:
    fn = Script(ApiUnreachable("down"), ApiOutcomeUnknown("lost"))
    with pytest.raises(ApiOutcomeUnknown):
        go(fn, retry_unreachable=True)
    assert fn.calls == 2


def test_not_created_is_never_retried_even_with_flags() -> None:
    fn = Script(ApiNotCreated("invalid"))
    with pytest.raises(ApiNotCreated):
        go(fn, retry_unknown=True, retry_unreachable=True)
    assert fn.calls == 1


def test_on_retry_sees_each_error_and_delay() -> None:
    seen: list[tuple[str, float]] = []
    fn = Script(busy(after=2), ApiRetryable("again"))
    go(fn, on_retry=lambda e, d: seen.append((e.message, d)))
    assert seen == [("busy", 2.0), ("again", 2.0)]


def test_policy_validation() -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValidationError):
        RetryPolicy(base_delay=10, max_delay=1)
    with pytest.raises(ValidationError):
        RetryPolicy(unknown=1)  # type: ignore[call-arg]
