"""BalancePrefetch: one blocking GET on its own thread; any failure leaves it empty."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import httpx
import pytest

from reconciler.api import ApiKey, UserBalance
from reconciler.api.prefetch import BalancePrefetch

KEY = "sk-prefetch-secret-0123456789"


def envelope(data: object, code: object = 20000, msg: str = "success") -> dict[str, object]:
    return {"code": code, "msg": msg, "data": data}


def prefetch(handler: httpx.MockTransport) -> UserBalance | None:
    started = BalancePrefetch.start("https://api.example.test/", ApiKey(KEY), transport=handler)
    return asyncio.run(started.result())


def test_the_balance_is_read_once_with_the_key_in_the_header_only() -> None:
    seen: list[httpx.Request] = []
    before = datetime.now(UTC)

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=envelope({"balance": 10, "used_coin": 2, "available": 8}))

    started = BalancePrefetch.start(
        "https://api.example.test/", ApiKey(KEY), transport=httpx.MockTransport(answer)
    )
    assert before <= started.started_at <= datetime.now(UTC)
    assert asyncio.run(started.result()) == UserBalance(balance=10, used_coin=2, available=8)
    assert len(seen) == 1
    request = seen[0]
    assert (request.method, request.url.path) == ("GET", "/api/open-api/v1/user/balance")
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in str(request.url)


@pytest.mark.parametrize(
    "reply",
    [
        httpx.Response(401, json=envelope(None, code=401, msg=f"bad key {KEY}")),
        httpx.Response(200, json=envelope(None, code=-1, msg="server error, please retry later")),
        httpx.Response(200, json=envelope({"balance": 1})),  # no available balance
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(503, text="unavailable"),
    ],
    ids=["401", "code -1", "malformed data", "not json", "503"],
)
def test_a_failed_read_leaves_it_empty_and_logs_no_key(
    reply: httpx.Response, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    assert prefetch(httpx.MockTransport(lambda request: reply)) is None
    assert "balance prefetch failed" in caplog.text
    assert KEY not in caplog.text


def test_an_unreachable_api_leaves_it_empty(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    assert prefetch(httpx.MockTransport(refuse)) is None
    assert "ConnectError" in caplog.text
    assert KEY not in caplog.text
