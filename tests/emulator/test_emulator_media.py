"""Result videos: a real, per-task MP4 behind a signed, expiring URL."""

from __future__ import annotations

import struct
import time
from urllib.parse import parse_qs, urlsplit

import httpx

CREATE = "/api/open-api/v1/seedance/videos"
MINI = {"model": "seedance2.0-mini", "prompt": "paper boats", "duration": 5}


def _boxes(data: bytes, start: int = 0, end: int | None = None) -> dict[str, tuple[int, int]]:
    """Top-level ISO-BMFF boxes in data[start:end] -> {type: (payload_start, box_end)}."""
    end = len(data) if end is None else end
    found: dict[str, tuple[int, int]] = {}
    offset = start
    for _ in range(64):
        if offset >= end:
            break
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        assert size >= 8 and offset + size <= end, "box overruns its parent"
        found[kind.decode()] = (offset + 8, offset + size)
        offset += size
    assert offset == end, "boxes do not tile their parent exactly"
    return found


def _video_url(client: httpx.Client) -> str:
    task_id = client.post(CREATE, json=MINI).json()["data"]["task_id"]
    data = client.get(f"/api/open-api/v1/videos/{task_id}").json()["data"]
    url = data["result"]["video_url"]
    assert isinstance(url, str)
    return url


def test_mp4_is_valid_iso_bmff(client: httpx.Client) -> None:
    reply = httpx.get(_video_url(client), timeout=5)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "video/mp4"
    assert int(reply.headers["Content-Length"]) == len(reply.content)
    data = reply.content
    top = _boxes(data)
    assert list(top) == ["ftyp", "moov", "mdat"]
    moov = _boxes(data, *top["moov"])
    assert {"mvhd", "trak"} <= set(moov)
    trak = _boxes(data, *moov["trak"])
    mdia = _boxes(data, *trak["mdia"])
    minf = _boxes(data, *mdia["minf"])
    stbl = _boxes(data, *minf["stbl"])
    assert {"stsd", "stts", "stsc", "stsz", "stco"} <= set(stbl)
    chunk_offset = struct.unpack(">I", data[stbl["stco"][0] + 8 : stbl["stco"][0] + 12])[0]
    assert chunk_offset == top["mdat"][0]


def test_each_task_gets_its_own_file(client: httpx.Client) -> None:
    first = httpx.get(_video_url(client), timeout=5).content
    second = httpx.get(_video_url(client), timeout=5).content
    assert first != second


def test_tampered_signature_is_403(client: httpx.Client) -> None:
    url = _video_url(client)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    later = int(query["expires"][0]) + 100
    forged = f"{parts.scheme}://{parts.netloc}{parts.path}?expires={later}&sig={query['sig'][0]}"
    reply = httpx.get(forged, timeout=5)
    assert reply.status_code == 403
    assert b"AccessDenied" in reply.content
    assert httpx.get(url.split("?")[0], timeout=5).status_code == 403


def test_expired_url_is_403(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"result_ttl": 0.001})
    url = _video_url(client)
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    time.sleep(max(0.0, expires + 1.01 - time.time()))
    reply = httpx.get(url, timeout=5)
    assert reply.status_code == 403
    assert b"<Error>" in reply.content


def test_default_ttl_is_three_days(client: httpx.Client) -> None:
    expires = int(parse_qs(urlsplit(_video_url(client)).query)["expires"][0])
    assert abs(expires - (time.time() + 3 * 24 * 3600)) < 5


def test_head_gives_length_without_body(client: httpx.Client) -> None:
    url = _video_url(client)
    head = httpx.head(url, timeout=5)
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["Content-Length"]) == len(httpx.get(url, timeout=5).content)
