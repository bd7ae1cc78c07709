"""Downloading a finished video: streamed to disk, hashed on the way, renamed into place.

Result URLs are signed and expire after 3 days (API-FACTS §3.2), so 403/404/410 mean
"gone", not "forbidden". The URL's query string (the signature) never appears in a
message or a log line. The API key is sent only when the URL is on the API's own origin;
httpx drops it again if a redirect leaves that origin.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from pathlib import Path

import httpx

from reconciler.api.failures import check_response, from_transport_error, safe_url
from reconciler.api.keys import ApiKey
from reconciler.errors import ApiNotCreated, ConfigError

log = logging.getLogger("reconciler.api")

GONE_STATUSES = frozenset({403, 404, 410})
HINT_GONE = (
    "result URLs are valid for 3 days: query the task again (`reconciler refresh`) for a "
    "fresh URL, or regenerate the video if the vendor no longer has it"
)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


async def stream_to_file(
    http: httpx.AsyncClient, url: str, dest: Path, base: httpx.URL, key: ApiKey | None
) -> tuple[str, int]:
    """Stream ``url`` into ``dest`` via a temporary file; return (sha256 hex, size)."""
    try:
        target = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        target = None
    if target is None or target.scheme not in ("http", "https") or not target.host:
        raise ApiNotCreated(
            f"GET {safe_url(url)}: the result URL is not an absolute http(s) URL",
            "query the task again for its result URL",
        )
    endpoint = f"GET {safe_url(target)}"
    headers: dict[str, str] = {}
    if key is not None and _origin(target) == _origin(base):
        headers["Authorization"] = f"Bearer {key.reveal()}"
    part = dest.with_name(f".{dest.name}.part")
    digest = hashlib.sha256()
    size = 0
    start = time.perf_counter()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        async with http.stream("GET", target, headers=headers, follow_redirects=True) as resp:
            log.debug("%s -> %d in %.3fs", endpoint, resp.status_code, time.perf_counter() - start)
            if resp.status_code in GONE_STATUSES:
                raise ApiNotCreated(
                    f"{endpoint}: the result URL expired or is gone (HTTP {resp.status_code})",
                    HINT_GONE,
                    http_status=resp.status_code,
                )
            if not 200 <= resp.status_code < 300:
                await resp.aread()
                check_response(resp, endpoint, key, creates=False, now=time.time)
            with part.open("wb") as out:
                async for chunk in resp.aiter_bytes():
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
        part.replace(dest)
    except httpx.RequestError as exc:
        raise from_transport_error(exc, endpoint, key, creates=False) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot write {dest}: {exc.strerror or exc}",
            hint="check that the output directory exists, is writable and has space",
        ) from None
    finally:
        with contextlib.suppress(OSError):
            part.unlink(missing_ok=True)
    return digest.hexdigest(), size
