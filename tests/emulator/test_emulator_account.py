"""Balance, key quota, audit lifecycle, stats counters, reset, upload and catalog."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import start_background

from .conftest import API_KEY

V1 = "/api/open-api/v1"
CREATE = f"{V1}/seedance/videos"
MINI = {"model": "seedance2.0-mini", "prompt": "kites over dunes", "duration": 8}


def _available(client: httpx.Client) -> float:
    value = client.get(f"{V1}/user/balance").json()["data"]["available"]
    assert isinstance(value, float)
    return value


def test_balance_decreases_by_cost(client: httpx.Client) -> None:
    before = _available(client)
    cost = client.post(CREATE, json=MINI).json()["data"]["cost"]
    assert cost == 0.4  # 8 s x 0.05 per second at 720p
    assert _available(client) == before - cost
    md = client.post(CREATE, json={"model": "seedance2.0-md", "prompt": "x", "duration": 15})
    assert md.json()["data"]["cost"] == 1.0  # per task: duration does not matter


def test_insufficient_balance(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"balance": 0.1})
    reply = client.post(CREATE, json=MINI).json()
    assert reply["code"] == 20002
    assert reply["msg"] == "insufficient balance"
    assert admin.get("/_emulator/stats").json()["total_creates"] == 0


def test_key_quota(tmp_path: Path) -> None:
    config = EmulatorConfig(data_path=tmp_path / "q.db", api_key=API_KEY, key_total_quota=0.5)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        start_background(config) as running,
        httpx.Client(base_url=running.url, headers=headers, timeout=5) as http,
    ):
        assert http.post(CREATE, json=MINI).json()["code"] == "20000"
        assert "quota" in http.post(CREATE, json=MINI).json()["msg"]
        key = http.get(f"{V1}/key/balance").json()["data"]
    assert key["unlimited"] is False
    assert key["used_quota"] == 0.4


def test_audit_pending_then_active_or_rejected(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"audit_seconds": 0.3, "reject_audit_pattern": "nsfw"})
    body = {"image_urls": ["https://example.com/ok.png"], "audio_urls": ["https://x/nsfw.mp3"]}
    items = client.post(f"{V1}/seedance/assets/audit", json=body).json()["data"]["items"]
    assert [i["status"] for i in items] == ["Pending", "Pending"]
    assert [i["asset_type"] for i in items] == ["image", "audio"]
    ids = [i["asset_id"] for i in items]
    time.sleep(0.35)
    status = client.post(f"{V1}/seedance/assets/status", json={"asset_ids": ids}).json()
    assert [i["status"] for i in status["data"]["items"]] == ["Active", "Rejected"]


def test_audit_needs_urls(client: httpx.Client) -> None:
    assert client.post(f"{V1}/seedance/assets/audit", json={}).json()["code"] == 20002
    assert client.post(f"{V1}/seedance/assets/status", json={}).json()["code"] == 20002


def test_stats_count_every_create_without_dedupe(client: httpx.Client, admin: httpx.Client) -> None:
    headers = {"X-Reconciler-Fingerprint": "fp-same"}
    first = client.post(CREATE, json=MINI, headers=headers).json()["data"]["task_id"]
    second = client.post(CREATE, json=MINI, headers=headers).json()["data"]["task_id"]
    client.post(CREATE, json={**MINI, "duration": 5})
    assert first != second
    stats = admin.get("/_emulator/stats").json()
    assert stats["total_creates"] == 3
    assert stats["tasks"] == 3
    assert stats["creates_by_fingerprint"] == {"fp-same": 2}
    assert sorted(stats["creates_by_body"].values()) == [1, 2]


def test_reset_forgets_everything(client: httpx.Client, admin: httpx.Client) -> None:
    client.post(CREATE, json=MINI)
    admin.post("/_emulator/admin", json={"fail_rate": 1.0})
    assert admin.post("/_emulator/reset").json() == {"ok": True}
    stats = admin.get("/_emulator/stats").json()
    assert stats["tasks"] == 0
    assert admin.get("/_emulator/admin").json()["fail_rate"] == 0.0
    assert _available(client) == 1000.0


def test_fail_rate_and_synonyms(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"fail_rate": 1.0})
    task_id = client.post(CREATE, json=MINI).json()["data"]["task_id"]
    failed = client.get(f"{V1}/videos/{task_id}").json()["data"]
    assert failed["status"] == "failed"
    assert failed["progress"] == 0
    assert failed["error_message"]
    admin.post("/_emulator/admin", json={"queue_seconds": 60, "status_synonym_rate": 1.0})
    task_id = client.post(CREATE, json=MINI).json()["data"]["task_id"]
    queued = client.get(f"{V1}/videos/{task_id}").json()["data"]
    assert queued["status"] in ("pending", "submitted")


def test_upload_streams_to_disk(client: httpx.Client, data_path: Path) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB, includes CR/LF and dashes
    files = {"file": ("my photo.png", payload, "image/png")}
    reply = client.post(f"{V1}/files/upload", files=files, data={"note": "x"}).json()
    assert reply["code"] == 20000
    data = reply["data"]
    digest = hashlib.sha256(payload).hexdigest()
    assert data == {
        "url": f"https://files.emulator.invalid/openapi/upload/{digest}/my_photo.png",
        "filename": "my_photo.png",
        "size": len(payload),
        "mime_type": "image/png",
    }
    stored = data_path.parent / "uploads" / f"{digest}-my_photo.png"
    assert stored.read_bytes() == payload
    body = {"model": "seedance2.0-md", "prompt": "x", "images": [data["url"]]}
    assert client.post(CREATE, json=body).json()["code"] == "20000"


def test_upload_rejects_bad_extension_and_missing_field(client: httpx.Client) -> None:
    bad = client.post(f"{V1}/files/upload", files={"file": ("run.exe", b"MZ", "x/y")}).json()
    assert bad["code"] == 20002
    assert ".exe" in bad["msg"]
    other = client.post(f"{V1}/files/upload", files={"other": ("a.png", b"x", "image/png")})
    assert other.json()["code"] == 20002
    not_multipart = client.post(f"{V1}/files/upload", json={"file": "x"}).json()
    assert not_multipart["code"] == 20002


def test_catalog_needs_no_auth(emulator_url: str) -> None:
    reply = httpx.get(f"{emulator_url}/api/openapi/model/catalog", timeout=5).json()
    rows = reply["data"]["list"]
    modes = {row["price_mode"] for row in rows}
    assert modes == {"per_second", "per_task", "per_million_tokens"}
    assert any(row["model_name"] == "sd2-933-720p" and row["unit_price"] == 0.0479 for row in rows)


def test_upload_over_limit_is_refused_before_reading(emulator_url: str) -> None:
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(emulator_url)
    request = (
        f"POST {V1}/files/upload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {API_KEY}\r\n"
        "Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 200000000\r\n\r\n"
        "--zz\r\n"
    ).encode()
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        for _ in range(100):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    assert b"200 OK" in received.split(b"\r\n", 1)[0]
    assert b"larger than 100 MB" in received
