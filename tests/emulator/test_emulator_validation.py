"""Per-route create validation, table-driven (API-FACTS §4, §5)."""

from __future__ import annotations

import time

import httpx
import pytest

CREATE = "/api/open-api/v1/seedance/videos"
AUDIT = "/api/open-api/v1/seedance/assets/audit"
IMG = "https://example.com/a.png"
VID = "https://example.com/v.mp4"
AUD = "https://example.com/a.mp3"
UPLOADED = "https://files.emulator.invalid/openapi/upload/abc/photo.jpg"

ACCEPTED: list[tuple[str, dict[str, object]]] = [
    ("seedance2.0-mini", {}),
    ("seedance2.0-mini-720p", {"first_image": IMG}),
    ("seedance2.0-mini-1080p-video", {"reference_videos": [VID], "reference_audios": [AUD]}),
    ("sd2_mx_720p", {"ratio": "Adaptive", "duration": 15}),
    ("sd2-manxue-1080p", {}),
    ("seedance2.0-sp", {"images": [IMG], "resolution": "1080p"}),
    ("seedance2.0-of-sp", {"resolution": "480p", "images": ["asset://lib-asset-1"]}),
    ("seedance2.0-mini-sp", {"resolution": "480p", "reference_audios": [AUD], "images": [IMG]}),
    ("seedance2.0-md", {"first_image": IMG, "last_image": IMG, "duration": 4}),
    ("seedance2.0-md", {"images": [UPLOADED], "reference_videos": [VID] * 3}),
    ("seedance2.0-fast-md", {"duration": 10}),
    ("seedance2.0-pro", {"duration": 15, "images": [IMG] * 9, "reference_audios": [AUD] * 3}),
    ("seedance2.0-fast-i2v", {"images": [IMG] * 9, "duration": 1}),
    ("seedance2.0-std", {"reference_videos": [VID], "reference_audios": [AUD] * 3}),
    ("seedance2.0-std", {"last_image": IMG}),
    ("seedance2.0-gz", {"aspect_ratio": "adaptive", "reference_images": [IMG] * 9}),
    ("seedance2.0-gz720p", {"images": ["assetId://abc"]}),
    ("seedance2.0-gz-video-720p", {"videos": [VID], "audios": [AUD]}),
    ("seedance2.0-gz-mini-480p", {"first_image": IMG, "last_image": IMG}),
    ("seedance2.0-933", {"reference_mode": "frame"}),
    ("seedance2.0-933-1080p", {"aspect_ratio": "21:9", "ratio": "bogus"}),
    ("sd2-adb-720p", {"reference_mode": "image", "images": [IMG], "audios": [AUD]}),
    ("seedance-2.0-720p", {"duration": 30, "ratio": "adaptive", "images": [IMG]}),
    ("seedance2.0-4k", {}),
]

REJECTED: list[tuple[str | None, dict[str, object], str]] = [
    ("seedance3", {}, "unknown model"),
    (None, {}, "model is required"),
    ("seedance-2.5", {}, "seedance25/videos"),
    ("seedance2.0-mini-sp-720p", {}, "unknown model"),
    ("seedance2.0-mini", {"duration": 3}, "out of range"),
    ("seedance2.0-mini", {"duration": 16}, "out of range"),
    ("seedance-2.0-480p", {"duration": 31}, "out of range"),
    ("seedance2.0-fast-md", {"duration": 5}, "use 10 or 15"),
    ("seedance2.0-mini", {"duration": "5"}, "integer"),
    ("seedance2.0-mini", {"ratio": "5:4"}, "ratio 5:4"),
    ("sd2_mx_720p", {"ratio": "adaptive"}, "ratio adaptive"),
    ("seedance-2.0-1080p", {"ratio": "adaptive"}, "needs reference"),
    ("seedance2.0-sp", {"resolution": "480p"}, "resolution 480p"),
    ("seedance2.0-mini-sp", {"resolution": "1080p"}, "resolution 1080p"),
    ("seedance2.0-gz-fast", {"resolution": "1080p"}, "resolution 1080p"),
    ("seedance2.0-mini", {"images": [IMG], "first_image": IMG}, "cannot be used together"),
    ("seedance2.0-md", {"first_image": IMG}, "both first_image and last_image"),
    ("seedance2.0-gz", {"last_image": IMG}, "requires first_image"),
    ("seedance2.0-gz", {"first_image": IMG, "videos": [VID]}, "cannot be combined"),
    ("seedance2.0-md", {"images": [IMG] * 5}, "too many images"),
    ("seedance2.0-md", {"images": ["https://example.com/x.GIF"]}, "GIF"),
    ("seedance2.0-fast-i2v", {"images": [IMG] * 10}, "too many images"),
    ("seedance2.0-fast-i2v", {"reference_videos": [VID]}, "does not support reference_videos"),
    ("seedance2.0-fast-i2v", {"images": [IMG], "reference_audios": [AUD]}, "reference_audios"),
    ("seedance2.0-mini", {"reference_videos": [VID]}, "does not support reference_videos"),
    ("seedance2.0-fast-sp", {"reference_videos": [VID]}, "does not support reference_videos"),
    ("sd2_mx_720p", {"reference_videos": ["asset://x"]}, "does not support reference_videos"),
    ("seedance2.0-mini", {"reference_audios": [AUD]}, "cannot be sent alone"),
    ("seedance2.0-std", {"first_image": IMG, "reference_audios": [AUD]}, "frame mode"),
    ("seedance2.0-std", {"reference_audios": [AUD] * 4}, "too many reference_audios"),
    ("seedance2.0-933", {"videos": [VID] * 4}, "too many reference_videos"),
    ("seedance2.0-gz-video", {"images": [IMG]}, "requires reference_videos"),
    ("seedance2.0-md", {"images": ["http://example.com/a.png"]}, "https://"),
    ("seedance2.0-std", {"images": ["asset://abc"]}, "https://"),
    ("seedance-2.0-720p", {"images": ["asset://abc"]}, "https://"),
    ("seedance2.0-mini", {"images": ["http://example.com/a.png"]}, "https:// URL or asset://"),
    ("sd2_mx_720p", {"images": [IMG]}, "asset://"),
    ("sd2_mx_720p", {"first_image": "asset://nope"}, "does not exist"),
    ("seedance2.0-md", {"prompt": "x" * 5001}, "longer than 5000"),
    ("seedance2.0-mini", {"prompt": ""}, "prompt is required"),
    ("seedance2.0-mini", {"images": IMG}, "array of strings"),
    ("seedance2.0-933", {"reference_mode": "media"}, "reference_mode"),
    ("seedance2.0-mini", {"orientation": "diagonal"}, "orientation"),
]


def _body(model: str | None, extra: dict[str, object]) -> dict[str, object]:
    body: dict[str, object] = {"prompt": "a quiet harbour at dawn"}
    if model is not None:
        body["model"] = model
    body.update(extra)
    return body


@pytest.mark.parametrize(("model", "extra"), ACCEPTED)
def test_accepted(shared_client: httpx.Client, model: str, extra: dict[str, object]) -> None:
    reply = shared_client.post(CREATE, json=_body(model, extra)).json()
    assert reply["code"] == "20000", reply["msg"]
    assert reply["data"]["model"] == model


@pytest.mark.parametrize(("model", "extra", "fragment"), REJECTED)
def test_rejected(
    shared_client: httpx.Client, model: str | None, extra: dict[str, object], fragment: str
) -> None:
    reply = shared_client.post(CREATE, json=_body(model, extra))
    assert reply.status_code == 200
    payload = reply.json()
    assert payload["code"] == 20002
    assert fragment in payload["msg"]
    assert payload["data"] is None


def test_rejected_creates_are_not_counted_or_billed(
    client: httpx.Client, admin: httpx.Client
) -> None:
    before = client.get("/api/open-api/v1/user/balance").json()["data"]["available"]
    client.post(CREATE, json=_body("seedance2.0-mini", {"duration": 99}))
    assert admin.get("/_emulator/stats").json()["total_creates"] == 0
    assert client.get("/api/open-api/v1/user/balance").json()["data"]["available"] == before


def test_body_must_be_json_object(client: httpx.Client) -> None:
    for raw in (b"{not json", b"[1, 2]", b""):
        payload = client.post(CREATE, content=raw).json()
        assert payload["code"] == 20002


def test_full_route_needs_active_audited_asset(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"audit_seconds": 0.4, "reject_audit_pattern": "bad"})
    audit = client.post(
        AUDIT, json={"image_urls": ["https://example.com/ok.png", "https://example.com/bad.png"]}
    )
    pending, rejected = (i["asset_id"] for i in audit.json()["data"]["items"])
    body = _body("sd2_mx_720p", {"images": [f"asset://{pending}"]})
    assert "is Pending" in client.post(CREATE, json=body).json()["msg"]
    time.sleep(0.45)
    assert client.post(CREATE, json=body).json()["code"] == "20000"
    body = _body("sd2_mx_720p", {"first_image": f"asset://{rejected}"})
    assert "is Rejected" in client.post(CREATE, json=body).json()["msg"]
