"""``SeedanceClient``: one pooled httpx client speaking the vendor contract (API-FACTS §2-§3).

Each method makes exactly ONE attempt: retrying is the caller's decision (see
``reconciler.api.retry``), because whether a retry is safe depends on what the call does
with money. Failures are raised as the classes in ``reconciler.errors`` (see
``reconciler.api.failures``). The API key goes only into the ``Authorization`` header of
requests to the API's own origin; it never reaches a log line or a message.

The transport is injectable so tests can use ``httpx.MockTransport``. The default is a
``ShardedTransport`` (pools of ``CONNECTIONS_PER_SHARD``): one httpcore pool is CPU-bound
at high concurrency (benchmarks/http.py, docs/PERFORMANCE.md).
"""

from __future__ import annotations

import logging
import mimetypes
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import quote

import httpx
from pydantic import JsonValue

from reconciler.api import wire
from reconciler.api.download import stream_to_file
from reconciler.api.failures import check_response, from_transport_error, malformed
from reconciler.api.keys import ApiKey
from reconciler.api.models import (
    AuditItem,
    AuditSubmitResult,
    CatalogEntry,
    CreatedTask,
    KeyBalance,
    TaskInfo,
    UploadedFile,
    UserBalance,
)
from reconciler.errors import ApiNotCreated, ConfigError

log = logging.getLogger("reconciler.api")

PREFIX = "/api/open-api/v1"
USER_BALANCE_PATH = f"{PREFIX}/user/balance"
CATALOG_PATH = "/api/openapi/model/catalog"
FINGERPRINT_HEADER = "X-Reconciler-Fingerprint"
MAX_UPLOAD_BYTES = 100 * 1024 * 1024  # API-FACTS §3.12: files/upload takes up to 100 MB
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, write=60.0, pool=60.0)
# Measured at concurrency 64 (benchmarks/http.py): 8x8, 16x4 and 32x2 pools all run
# 7-9x faster than one pool of 64; 4 per shard keeps the shard count modest.
CONNECTIONS_PER_SHARD = 4

_tls_lock = threading.Lock()
_tls: ssl.SSLContext | None = None


def tls_context() -> ssl.SSLContext:
    """The process's one TLS context (certifi's roots, as httpx verifies by default).

    Built on first use and shared by every client: loading the roots takes ~17 ms, and
    runs without the interpreter lock, so the balance prefetch's thread builds it while
    the main thread plans, and the apply's client finds it ready.
    """
    global _tls
    with _tls_lock:
        if _tls is None:
            _tls = httpx.create_ssl_context()
        return _tls


def bearer(key: ApiKey) -> dict[str, str]:
    """The header that carries the API key: only ever sent to the API's own origin."""
    return {"Authorization": f"Bearer {key.reveal()}"}


class SeedanceClient:
    """Async client of the Seedance API. Use as ``async with SeedanceClient(...) as api:``."""

    def __init__(
        self,
        base_url: str,
        api_key: ApiKey | None,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 32,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        try:
            url = httpx.URL(base_url.rstrip("/"))
        except httpx.InvalidURL as exc:
            raise ConfigError(f"invalid API URL: {exc}", hint="check SEEDANCE_API_URL") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError(
                f"invalid API URL {base_url!r}: it must start with http:// or https://",
                hint="check SEEDANCE_API_URL or --api-url",
            )
        self._base = url
        self._key = api_key
        self._clock = clock
        if transport is None:
            shards = -(-max_connections // CONNECTIONS_PER_SHARD)
            transport = ShardedTransport(shards, max_connections)
        self._http = httpx.AsyncClient(
            base_url=url,
            timeout=timeout,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    def __repr__(self) -> str:
        return f"SeedanceClient({str(self._base)!r}, api_key={self._key!r})"

    @property
    def base_url(self) -> str:
        return str(self._base)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # -- plumbing ---------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if self._key is None:
            raise ConfigError(
                "SEEDANCE_API_KEY is not set",
                hint="export SEEDANCE_API_KEY=<your key from the API console>",
            )
        return bearer(self._key)

    async def _send(
        self,
        endpoint: str,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        creates: bool = False,
    ) -> JsonValue:
        start = time.perf_counter()
        try:
            response = await send()
        except httpx.RequestError as exc:
            log.debug(
                "%s failed after %.3fs: %s",
                endpoint,
                time.perf_counter() - start,
                type(exc).__name__,
            )
            raise from_transport_error(exc, endpoint, self._key, creates=creates) from None
        log.debug("%s -> %d in %.3fs", endpoint, response.status_code, time.perf_counter() - start)
        return check_response(response, endpoint, self._key, creates=creates, now=self._clock)

    async def _json(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, JsonValue] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        creates: bool = False,
    ) -> JsonValue:
        all_headers = {**(self._auth() if auth else {}), **(headers or {})}
        return await self._send(
            f"{method} {path}",
            lambda: self._http.request(method, path, json=body, params=params, headers=all_headers),
            creates=creates,
        )

    # -- tasks ------------------------------------------------------------------------

    async def create_video(
        self, body: Mapping[str, JsonValue], *, fingerprint: str | None = None
    ) -> CreatedTask:
        """Create a Seedance 2.0 task. Billed when it succeeds; see the module docstring."""
        path = f"{PREFIX}/seedance/videos"
        headers = {FINGERPRINT_HEADER: fingerprint} if fingerprint else None
        data = await self._json("POST", path, body=body, headers=headers, creates=True)
        try:
            return wire.parse_created(data)
        except wire.WireError as exc:
            raise malformed(exc, f"POST {path}", creates=True) from None

    async def get_task(self, task_id: str) -> TaskInfo:
        if not task_id.strip():
            raise ApiNotCreated("GET task: empty task id", "pass the task id the create returned")
        path = f"{PREFIX}/videos/{quote(task_id, safe='')}"
        data = await self._json("GET", path)
        try:
            return wire.parse_task(data, task_id)
        except wire.WireError as exc:
            raise malformed(exc, f"GET {path}", creates=False) from None

    # -- Full-route asset audit ---------------------------------------------------------

    async def submit_audit(
        self,
        image_urls: Sequence[str] = (),
        video_urls: Sequence[str] = (),
        audio_urls: Sequence[str] = (),
    ) -> AuditSubmitResult:
        path = f"{PREFIX}/seedance/assets/audit"
        body: dict[str, JsonValue] = {
            "image_urls": list(image_urls),
            "video_urls": list(video_urls),
            "audio_urls": list(audio_urls),
        }
        data = await self._json("POST", path, body=body)
        try:
            return wire.parse_audit_submit(data)
        except wire.WireError as exc:
            raise malformed(exc, f"POST {path}", creates=False) from None

    async def audit_status(self, asset_ids: Sequence[str]) -> list[AuditItem]:
        path = f"{PREFIX}/seedance/assets/status"
        data = await self._json("POST", path, body={"asset_ids": list(asset_ids)})
        try:
            return wire.parse_audit_status(data)
        except wire.WireError as exc:
            raise malformed(exc, f"POST {path}", creates=False) from None

    # -- files ------------------------------------------------------------------------

    async def upload_file(self, path: Path) -> UploadedFile:
        """Upload a local file as multipart field ``file``, streamed from disk in chunks."""
        url_path = f"{PREFIX}/files/upload"
        endpoint = f"POST {url_path}"
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = self._auth()
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise ApiNotCreated(
                f"{endpoint}: cannot read {path}: {exc.strerror or exc}",
                "check that the file exists and is readable; nothing was sent",
            ) from None
        with handle:
            size = os.fstat(handle.fileno()).st_size
            if size > MAX_UPLOAD_BYTES:
                raise ApiNotCreated(
                    f"{endpoint}: {path.name} is {size} bytes; the upload limit is 100 MB",
                    "make the file smaller, or host it and reference it by https:// URL",
                )
            # httpx's multipart encoder reads file objects in 64 KiB chunks and takes the
            # Content-Length from fstat, so the file is never held in memory.
            data = await self._send(
                endpoint,
                lambda: self._http.post(
                    url_path, files={"file": (path.name, handle, mime)}, headers=headers
                ),
            )
        try:
            return wire.parse_uploaded(data)
        except wire.WireError as exc:
            raise malformed(exc, endpoint, creates=False) from None

    async def download(self, url: str, dest: Path) -> tuple[str, int]:
        """Stream ``url`` to ``dest`` (atomically); return (sha256 hex, size in bytes)."""
        return await stream_to_file(self._http, url, dest, self._base, self._key)

    # -- account and catalog ------------------------------------------------------------

    async def user_balance(self) -> UserBalance:
        path = USER_BALANCE_PATH
        data = await self._json("GET", path)
        try:
            return wire.parse_user_balance(data)
        except wire.WireError as exc:
            raise malformed(exc, f"GET {path}", creates=False) from None

    async def key_balance(self) -> KeyBalance:
        path = f"{PREFIX}/key/balance"
        data = await self._json("GET", path)
        try:
            return wire.parse_key_balance(data)
        except wire.WireError as exc:
            raise malformed(exc, f"GET {path}", creates=False) from None

    async def model_catalog(self, search: str | None = None) -> list[CatalogEntry]:
        """The public price list. Sent without the API key: the endpoint needs none."""
        params = {"search": search} if search else None
        data = await self._json("GET", CATALOG_PATH, params=params, auth=False)
        try:
            return wire.parse_catalog(data)
        except wire.WireError as exc:
            raise malformed(exc, f"GET {CATALOG_PATH}", creates=False) from None


class ShardedTransport(httpx.AsyncBaseTransport):
    """Several connection pools behind one transport; requests go round-robin.

    httpcore's pool does work proportional to its connection count for every request,
    under one lock: with one pool of 64 connections a client at concurrency 64 is
    CPU-bound (benchmarks/http.py). ``shards`` pools of ``connections / shards`` each
    keep that cost small; httpx's API is unchanged. One TLS context (``tls_context``)
    serves every shard.
    """

    def __init__(self, shards: int, connections: int) -> None:
        if shards < 1 or connections < 1:
            raise ValueError("shards and connections must be at least 1")
        shards = min(shards, connections)
        per_shard = -(-connections // shards)  # ceiling: never fewer in total than asked
        limits = httpx.Limits(max_connections=per_shard, max_keepalive_connections=per_shard)
        context = tls_context()
        self._pools = [
            httpx.AsyncHTTPTransport(verify=context, limits=limits) for _ in range(shards)
        ]
        self._turn = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        pool = self._pools[self._turn % len(self._pools)]
        self._turn += 1
        return await pool.handle_async_request(request)

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()
