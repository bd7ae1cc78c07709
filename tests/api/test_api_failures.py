"""Failure classification: every class, from HTTP statuses, envelope codes and transport errors."""

from __future__ import annotations

import email.utils

import httpx
import pytest
from pydantic import JsonValue

from reconciler.api.failures import parse_retry_after, safe_url
from reconciler.errors import (
    ApiError,
    ApiNotCreated,
    ApiOutcomeUnknown,
    ApiRetryable,
    ApiUnreachable,
    FailureClass,
)
from tests.api.apifakes import Recorder, envelope, make_client, run

BODY: dict[str, JsonValue] = {"model": "sd2_mx_720p", "prompt": "p", "duration": 5}


def create_error(*answers: httpx.Response | Exception) -> ApiError:
    rec = Recorder(*answers)

    async def go() -> ApiError:
        async with make_client(rec) as api:
            try:
                await api.create_video(BODY)
            except ApiError as error:
                return error
        raise AssertionError("no error raised")

    error = run(go())
    assert len(rec.requests) == 1, "exactly one attempt per call"
    return error


def test_code_20001_is_not_created_with_key_hint() -> None:
    error = create_error(envelope(None, code=20001, msg="invalid api key"))
    assert type(error) is ApiNotCreated
    assert error.code == "20001"
    assert "20001" in error.message and "invalid api key" in error.message
    assert "POST /api/open-api/v1/seedance/videos" in error.message
    assert error.hint is not None and "SEEDANCE_API_KEY" in error.hint


def test_code_20002_carries_vendor_message() -> None:
    error = create_error(envelope(None, code="20002", msg="duration must be 4-12"))
    assert type(error) is ApiNotCreated
    assert error.failure_class is FailureClass.NOT_CREATED
    assert "duration must be 4-12" in error.message
    assert error.code == "20002"


def test_other_code_is_not_created() -> None:
    error = create_error(envelope(None, code=40001, msg="insufficient balance"))
    assert type(error) is ApiNotCreated
    assert "40001" in error.message and "insufficient balance" in error.message


def test_code_minus_one_is_retryable() -> None:
    error = create_error(envelope(None, code=-1, msg="busy"))
    assert isinstance(error, ApiRetryable)
    assert error.failure_class is FailureClass.RETRYABLE
    assert error.code == "-1"


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_http_4xx_is_not_created(status: int) -> None:
    error = create_error(httpx.Response(status, json={"code": 20002, "msg": "nope"}))
    assert type(error) is ApiNotCreated
    assert error.http_status == status
    assert f"HTTP {status}" in error.message and "nope" in error.message


def test_http_401_hints_at_the_key() -> None:
    error = create_error(httpx.Response(401, text="Unauthorized"))
    assert error.hint is not None and "SEEDANCE_API_KEY" in error.hint


def test_http_429_with_seconds() -> None:
    error = create_error(httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"))
    assert isinstance(error, ApiRetryable)
    assert error.retry_after == 7.0
    assert error.http_status == 429


def test_http_429_with_http_date() -> None:
    rec = Recorder(httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}))
    when = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()

    async def go() -> ApiError:
        from reconciler.api import ApiKey, SeedanceClient

        async with SeedanceClient(
            "https://api.test",
            ApiKey("k"),
            transport=httpx.MockTransport(rec),
            clock=lambda: when - 12.5,
        ) as api:
            with pytest.raises(ApiRetryable) as info:
                await api.user_balance()
            return info.value

    error = run(go())
    assert isinstance(error, ApiRetryable)
    assert error.retry_after == pytest.approx(12.5)


def test_parse_retry_after_edge_cases() -> None:
    assert parse_retry_after(None, 0) is None
    assert parse_retry_after("garbage", 0) is None
    assert parse_retry_after("-3", 0) == 0.0
    assert parse_retry_after("1.5", 0) == 1.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 2e9) == 0.0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx_is_retryable(status: int) -> None:
    error = create_error(httpx.Response(status, text="<html>bad gateway</html>"))
    assert isinstance(error, ApiRetryable)
    assert error.http_status == status
    assert error.retry_after is None


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("no connection"),
    ],
)
def test_before_sending_is_unreachable(exc: Exception) -> None:
    error = create_error(exc)
    assert isinstance(error, ApiUnreachable)
    assert isinstance(error, ApiNotCreated)
    assert error.failure_class is FailureClass.NOT_CREATED
    assert error.hint is not None and "nothing was sent" in error.hint


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.ReadError("connection reset by peer"),
        httpx.WriteError("broken pipe"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_after_sending_is_outcome_unknown(exc: Exception) -> None:
    error = create_error(exc)
    assert type(error) is ApiOutcomeUnknown
    assert error.failure_class is FailureClass.OUTCOME_UNKNOWN
    assert type(exc).__name__ in error.message
    assert error.hint is not None and "adopt" in error.hint


def test_read_side_unknown_has_read_hint() -> None:
    rec = Recorder(httpx.ReadTimeout("slow"))

    async def go() -> None:
        async with make_client(rec) as api:
            with pytest.raises(ApiOutcomeUnknown) as info:
                await api.get_task("t1")
        assert info.value.hint is not None and "safe to repeat" in info.value.hint

    run(go())


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>ok</html>"),
        httpx.Response(200, json=["not", "an", "envelope"]),
        httpx.Response(200, json={"msg": "ok", "data": {"task_id": "t"}}),
        httpx.Response(200, json={"code": "20000", "msg": "ok", "data": None}),
        httpx.Response(200, json={"code": "20000", "msg": "ok", "data": {"status": "queued"}}),
        httpx.Response(200, json={"code": {"x": 1}, "msg": "ok"}),
    ],
)
def test_unreadable_success_is_outcome_unknown(response: httpx.Response) -> None:
    error = create_error(response)
    assert type(error) is ApiOutcomeUnknown
    assert error.hint is not None and "may exist" in error.hint


def test_redirect_is_not_created() -> None:
    error = create_error(httpx.Response(301, headers={"Location": "https://elsewhere.test/"}))
    assert type(error) is ApiNotCreated
    assert error.http_status == 301


def test_safe_url_drops_query_and_credentials() -> None:
    assert safe_url("https://u:p@cdn.test:8443/a/b.mp4?X-Sig=secret#f") == (
        "https://cdn.test:8443/a/b.mp4"
    )
    assert "secret" not in safe_url("https://cdn.test/v.mp4?token=secret")


def test_urls_in_vendor_text_lose_their_query() -> None:
    error = create_error(
        envelope(None, code=20002, msg="cannot fetch https://cdn.test/a.png?token=abc123, retry?")
    )
    assert "abc123" not in error.message
    assert "https://cdn.test/a.png" in error.message
    assert "retry?" in error.message


def test_broken_content_encoding_is_outcome_unknown() -> None:
    error = create_error(
        httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )
    )
    assert type(error) is ApiOutcomeUnknown
    assert "DecodingError" in error.message


def test_gateway_timeout_on_create_is_outcome_unknown_but_retryable_on_reads() -> None:
    """A 504 means a proxy gave up waiting: the origin may have created the task."""
    import asyncio

    import httpx

    from reconciler.api import ApiKey, SeedanceClient
    from reconciler.errors import ApiOutcomeUnknown, ApiRetryable

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(504, text="upstream timed out")

    async def run() -> tuple[BaseException, BaseException]:
        client = SeedanceClient(
            "http://api.test", ApiKey("sk-test-key"), transport=httpx.MockTransport(handler)
        )
        async with client:
            try:
                await client.create_video({"model": "m", "prompt": "p", "duration": 5})
            except BaseException as error:
                created = error
            try:
                await client.get_task("t1")
            except BaseException as error:
                read = error
        return created, read

    created, read = asyncio.run(run())
    assert isinstance(created, ApiOutcomeUnknown)
    assert isinstance(read, ApiRetryable)
