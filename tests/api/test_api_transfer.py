"""File upload (streamed from disk) and result download (streamed to disk, hashed)."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from reconciler.api import ApiKey, SeedanceClient
from reconciler.errors import ApiNotCreated, ApiOutcomeUnknown, ApiRetryable, ConfigError
from tests.api.apifakes import BASE, SECRET, Recorder, envelope, make_client, run

UPLOADED = {
    "url": "https://cdn.test/openapi/upload/abc.png",
    "filename": "ref.png",
    "size": 3,
    "mime_type": "image/png",
}


def test_upload_sends_multipart_file_field(tmp_path: Path) -> None:
    src = tmp_path / "ref.png"
    src.write_bytes(b"PNG")
    rec = Recorder(envelope(UPLOADED, code=20000))

    async def go() -> None:
        async with make_client(rec) as api:
            up = await api.upload_file(src)
        assert up.url == UPLOADED["url"]
        assert up.size == 3 and up.mime_type == "image/png"

    run(go())
    req = rec.last
    assert req.url.path == "/api/open-api/v1/files/upload"
    assert req.headers["Authorization"] == f"Bearer {SECRET}"
    assert req.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(req.headers["Content-Length"]) == len(req.content)
    assert b'name="file"; filename="ref.png"' in req.content
    assert b"Content-Type: image/png" in req.content
    assert b"\r\n\r\nPNG\r\n" in req.content


def test_upload_missing_file_sends_nothing(tmp_path: Path) -> None:
    rec = Recorder(envelope(UPLOADED))

    async def go() -> None:
        async with make_client(rec) as api:
            with pytest.raises(ApiNotCreated) as info:
                await api.upload_file(tmp_path / "nope.png")
        assert "nope.png" in info.value.message

    run(go())
    assert rec.requests == []


class DrainingTransport(httpx.AsyncBaseTransport):
    """Reads the request body chunk by chunk, as a server would, keeping only a hash."""

    def __init__(self) -> None:
        self.received = 0
        self.largest_chunk = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        async for chunk in request.stream:
            self.received += len(chunk)
            self.largest_chunk = max(self.largest_chunk, len(chunk))
        return httpx.Response(
            200, json={"code": 20000, "msg": "ok", "data": {**UPLOADED, "size": self.received}}
        )


def test_upload_is_streamed_not_held_in_memory(tmp_path: Path) -> None:
    size = 20 * 1024 * 1024
    src = tmp_path / "big.mp4"
    with src.open("wb") as out:
        block = os.urandom(1024 * 1024)
        for _ in range(size // len(block)):
            out.write(block)
    transport = DrainingTransport()

    async def go() -> None:
        async with SeedanceClient(BASE, ApiKey(SECRET), transport=transport) as api:
            await api.upload_file(src)

    tracemalloc.start()
    try:
        run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert transport.received > size  # the file plus the multipart framing
    assert transport.largest_chunk <= 1024 * 1024
    assert peak < size // 8, f"peak {peak} bytes while uploading {size}"


def _dl_client(handler: Recorder, key: str | None = SECRET) -> SeedanceClient:
    return SeedanceClient(
        BASE, ApiKey(key) if key else None, transport=httpx.MockTransport(handler)
    )


def test_download_hashes_and_writes(tmp_path: Path) -> None:
    payload = os.urandom(300_000)

    async def chunks() -> AsyncIterator[bytes]:
        for i in range(0, len(payload), 65536):
            yield payload[i : i + 65536]

    rec = Recorder(lambda request: httpx.Response(200, content=chunks()))
    dest = tmp_path / "out" / "video.mp4"

    async def go() -> tuple[str, int]:
        async with _dl_client(rec) as api:
            return await api.download("https://cdn.test/r/v.mp4?X-Sig=s3cr3t", dest)

    digest, size = run(go())
    assert digest == hashlib.sha256(payload).hexdigest()
    assert size == len(payload)
    assert dest.read_bytes() == payload
    assert sorted(p.name for p in dest.parent.iterdir()) == ["video.mp4"]
    # A result URL on another host never receives the API key.
    assert "Authorization" not in rec.last.headers


def test_download_same_origin_sends_key(tmp_path: Path) -> None:
    rec = Recorder(httpx.Response(200, content=b"abc"))

    async def go() -> None:
        async with _dl_client(rec) as api:
            await api.download(f"{BASE}/files/v.mp4", tmp_path / "v.mp4")

    run(go())
    assert rec.last.headers["Authorization"] == f"Bearer {SECRET}"


def test_download_follows_redirects_without_the_key(tmp_path: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "api.test":
            return httpx.Response(302, headers={"Location": "https://cdn.test/v.mp4?sig=1"})
        return httpx.Response(200, content=b"video")

    rec = Recorder(handler)

    async def go() -> tuple[str, int]:
        async with _dl_client(rec) as api:
            return await api.download(f"{BASE}/r/v.mp4", tmp_path / "v.mp4")

    _, size = run(go())
    assert size == 5
    assert [r.url.host for r in rec.requests] == ["api.test", "cdn.test"]
    assert "Authorization" not in rec.requests[1].headers


@pytest.mark.parametrize("status", [403, 404, 410])
def test_download_gone(status: int, tmp_path: Path) -> None:
    rec = Recorder(httpx.Response(status, text="AccessDenied: Request has expired"))
    dest = tmp_path / "v.mp4"

    async def go() -> None:
        async with _dl_client(rec) as api:
            with pytest.raises(ApiNotCreated) as info:
                await api.download("https://cdn.test/r/v.mp4?X-Amz-Signature=deadbeef", dest)
        error = info.value
        assert "expired or is gone" in error.message
        assert error.http_status == status
        assert "deadbeef" not in error.message and "X-Amz" not in error.message
        assert "https://cdn.test/r/v.mp4" in error.message
        assert error.hint is not None and "3 days" in error.hint

    run(go())
    assert list(tmp_path.iterdir()) == []


def test_download_server_error_is_retryable(tmp_path: Path) -> None:
    rec = Recorder(httpx.Response(503, text="busy"))

    async def go() -> None:
        async with _dl_client(rec) as api:
            with pytest.raises(ApiRetryable) as info:
                await api.download("https://cdn.test/v.mp4?sig=zzz", tmp_path / "v.mp4")
        assert "zzz" not in info.value.message

    run(go())


def test_download_cut_midway_leaves_no_file(tmp_path: Path) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 1000
        raise httpx.ReadError("connection reset")

    rec = Recorder(lambda request: httpx.Response(200, content=chunks()))

    async def go() -> None:
        async with _dl_client(rec) as api:
            with pytest.raises(ApiOutcomeUnknown) as info:
                await api.download("https://cdn.test/v.mp4?sig=zzz", tmp_path / "v.mp4")
        assert "zzz" not in info.value.message

    run(go())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("url", ["seedance/mini-sp/video/x.mp4", "ftp://x/y.mp4", ""])
def test_download_rejects_non_http_urls(url: str, tmp_path: Path) -> None:
    rec = Recorder(httpx.Response(200))

    async def go() -> None:
        async with _dl_client(rec) as api:
            with pytest.raises(ApiNotCreated):
                await api.download(url, tmp_path / "v.mp4")

    run(go())
    assert rec.requests == []


def test_download_unwritable_destination(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    rec = Recorder(httpx.Response(200, content=b"abc"))

    async def go() -> None:
        async with _dl_client(rec) as api:
            with pytest.raises(ConfigError):
                await api.download("https://cdn.test/v.mp4", blocker / "v.mp4")

    run(go())


def test_upload_over_the_limit_sends_nothing(tmp_path: Path) -> None:
    src = tmp_path / "huge.mp4"
    with src.open("wb") as out:
        out.truncate(100 * 1024 * 1024 + 1)  # sparse: no disk space used
    rec = Recorder(envelope(UPLOADED))

    async def go() -> None:
        async with make_client(rec) as api:
            with pytest.raises(ApiNotCreated) as info:
                await api.upload_file(src)
        assert "100 MB" in info.value.message

    run(go())
    assert rec.requests == []
