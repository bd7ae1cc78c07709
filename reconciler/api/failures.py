"""Turning transport errors and responses into the API error classes.

The class decides what the executor may do with money (``FailureClass``):

* ``ApiUnreachable``: the connection failed before a byte of the request left, so
  nothing can exist remotely (connect error, DNS, refused, connect/pool timeout).
* ``ApiNotCreated``: the API answered and refused (HTTP 4xx except 429, envelope codes
  20001, 20002, or any other non-success code except -1).
* ``ApiRetryable``: a transient refusal (HTTP 429 with ``Retry-After``, HTTP 5xx, code -1).
* ``ApiOutcomeUnknown``: the request was (maybe partly) sent and the answer was lost or
  unreadable; a create may have happened.

Every message names the endpoint, carries the vendor's code and message when there is
one, is redacted of the API key, and never contains a URL's query string (result URLs
are signed).
"""

from __future__ import annotations

import email.utils
import json
import re
from collections.abc import Callable

import httpx
from pydantic import JsonValue

from reconciler.api.keys import ApiKey, redact
from reconciler.api.wire import CODE_AUTH, CODE_BUSY, CODE_INVALID, WireError, decode_envelope
from reconciler.errors import (
    ApiError,
    ApiNotCreated,
    ApiOutcomeUnknown,
    ApiRetryable,
    ApiUnreachable,
)

# Nothing of the request reached the server when one of these is raised.
BEFORE_SENDING: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.ProxyError,
)

HINT_KEY = "check SEEDANCE_API_KEY: it must be a valid key for this API URL"
HINT_UNREACHABLE = (
    "check the API URL (SEEDANCE_API_URL or --api-url) and the network; "
    "nothing was sent, so running again is safe"
)
HINT_RETRY = "nothing was created; wait a little and run again (or lower --parallelism)"
HINT_UNKNOWN_CREATE = (
    "the task may exist and be billed: do not just run again; resolve it with "
    "`reconciler state adopt ADDR TASK_ID` or `reconciler apply --retry-uncertain ADDR`"
)
HINT_UNKNOWN_READ = "the request is safe to repeat; run again"
HINT_BAD_URL = "check the API URL (SEEDANCE_API_URL or --api-url)"


def safe_url(url: httpx.URL | str) -> str:
    """``scheme://host[:port]/path``: no credentials, query string or fragment."""
    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<invalid URL>"
    port = f":{u.port}" if u.port is not None else ""
    return f"{u.scheme}://{u.host}{port}{u.path}" if u.host else u.path


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


# A URL's query string may be a signature (result URLs) or a token: cut it wherever a URL
# shows up in text we did not write (vendor messages, exception texts).
_URL_QUERY = re.compile(r"(https?://[^\s?#'\"<>]+)[?#][^\s'\"<>]*")


def _scrub(text: str, key: ApiKey | None) -> str:
    return _URL_QUERY.sub(r"\1", redact(" ".join(text.split()), key))


def from_transport_error(
    exc: httpx.RequestError, endpoint: str, key: ApiKey | None, *, creates: bool
) -> ApiError:
    """The error class for a failure below HTTP (connection, timeout, protocol, decoding)."""
    detail = _scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, key)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ApiUnreachable(f"{endpoint}: unsupported URL ({detail})", HINT_BAD_URL)
    if isinstance(exc, BEFORE_SENDING):
        return ApiUnreachable(f"{endpoint}: cannot connect ({detail})", HINT_UNREACHABLE)
    if isinstance(exc, httpx.TooManyRedirects):
        return ApiNotCreated(f"{endpoint}: too many redirects ({detail})", HINT_BAD_URL)
    # DecodingError: an answer arrived but its content-encoding is broken, so we cannot
    # tell what it said; the same as a lost answer.
    # Read/write timeouts, resets and protocol errors happen once bytes may have left:
    # the server may have acted on the request.
    return ApiOutcomeUnknown(
        f"{endpoint}: the request was sent but no answer arrived ({detail})",
        HINT_UNKNOWN_CREATE if creates else HINT_UNKNOWN_READ,
    )


def _vendor(body: bytes) -> tuple[str | None, str]:
    """(code, msg) from an error body if it is an envelope, else (None, short text)."""
    try:
        env = decode_envelope(json.loads(body))
    except (ValueError, UnicodeDecodeError):
        return None, body[:160].decode("utf-8", "replace")
    return env.code, env.msg


def check_response(
    response: httpx.Response,
    endpoint: str,
    key: ApiKey | None,
    *,
    creates: bool,
    now: Callable[[], float],
) -> JsonValue:
    """The envelope's ``data`` of a successful response; otherwise the right error."""
    status = response.status_code
    body = response.content
    if not 200 <= status < 300:
        code, msg = _vendor(body)
        text = _scrub(msg, key)
        vendor = f" (code {code}: {text})" if code else f": {text}" if text else ""
        if status == 429:
            after = parse_retry_after(response.headers.get("Retry-After"), now())
            raise ApiRetryable(
                f"{endpoint}: rate limited (HTTP 429){vendor}",
                HINT_RETRY,
                http_status=status,
                code=code,
                retry_after=after,
            )
        if status == 504 and creates:
            # A gateway timed out waiting for the origin, which may have created the task:
            # that is a read timeout one hop away, so the outcome is unknown (DESIGN §6).
            raise ApiOutcomeUnknown(
                f"{endpoint}: gateway timeout (HTTP 504){vendor}; the task may exist",
                HINT_UNKNOWN_CREATE,
                http_status=status,
                code=code,
            )
        if status >= 500:
            raise ApiRetryable(
                f"{endpoint}: server error (HTTP {status}){vendor}",
                HINT_RETRY,
                http_status=status,
                code=code,
                retry_after=parse_retry_after(response.headers.get("Retry-After"), now()),
            )
        hint = HINT_KEY if status in (401, 403) else HINT_BAD_URL if status < 400 else None
        raise ApiNotCreated(
            f"{endpoint}: refused (HTTP {status}){vendor}", hint, http_status=status, code=code
        )
    try:
        env = decode_envelope(json.loads(body))
    except (ValueError, UnicodeDecodeError) as exc:
        what = str(exc) if isinstance(exc, WireError) else "a body that is not JSON"
        raise ApiOutcomeUnknown(
            f"{endpoint}: HTTP {status} with {what}",
            HINT_UNKNOWN_CREATE if creates else HINT_UNKNOWN_READ,
            http_status=status,
        ) from None
    if env.ok:
        return env.data
    msg = _scrub(env.msg, key) or "no message"
    if env.code == CODE_BUSY:
        raise ApiRetryable(
            f"{endpoint}: the API is busy (code -1: {msg})",
            HINT_RETRY,
            http_status=status,
            code=env.code,
            retry_after=parse_retry_after(response.headers.get("Retry-After"), now()),
        )
    if env.code == CODE_AUTH:
        raise ApiNotCreated(
            f"{endpoint}: authentication failed (code 20001: {msg})",
            HINT_KEY,
            http_status=status,
            code=env.code,
        )
    if env.code == CODE_INVALID:
        raise ApiNotCreated(
            f"{endpoint}: invalid request: {msg} (code 20002)",
            "fix the request as the message says; nothing was created",
            http_status=status,
            code=env.code,
        )
    raise ApiNotCreated(
        f"{endpoint}: refused (code {env.code}: {msg})",
        "nothing was created; the message above is the vendor's",
        http_status=status,
        code=env.code,
    )


def malformed(exc: WireError, endpoint: str, *, creates: bool) -> ApiOutcomeUnknown:
    """A success envelope whose ``data`` we cannot read."""
    return ApiOutcomeUnknown(
        f"{endpoint}: unexpected response: {exc}",
        HINT_UNKNOWN_CREATE if creates else HINT_UNKNOWN_READ,
    )
