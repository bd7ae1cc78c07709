"""Every endpoint's request shape and parsed result, against httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import JsonValue

from reconciler.api import (
    AuditState,
    CatalogEntry,
    KeyBalance,
    TaskStatus,
    UserBalance,
)
from reconciler.errors import ConfigError
from tests.api.apifakes import SECRET, Recorder, envelope, make_client, run


def test_create_video_sends_body_auth_and_fingerprint() -> None:
    rec = Recorder(
        envelope(
            {
                "task_id": "vid_abc123",
                "status": "queued",
                "model": "sd2_mx_720p",
                "created_at": 1710000000,
                "cost": 0.4,
                "something_new": [1, 2],
            }
        )
    )
    body: dict[str, JsonValue] = {"model": "sd2_mx_720p", "prompt": "a cat", "duration": 5}

    async def go() -> None:
        async with make_client(rec) as api:
            task = await api.create_video(body, fingerprint="fp-1")
        assert task.task_id == "vid_abc123"
        assert task.status is TaskStatus.QUEUED
        assert task.model == "sd2_mx_720p"
        assert task.created_at == 1710000000
        assert task.cost == 0.4

    run(go())
    req = rec.last
    assert req.method == "POST"
    assert req.url.path == "/api/open-api/v1/seedance/videos"
    assert req.headers["Authorization"] == f"Bearer {SECRET}"
    assert req.headers["X-Reconciler-Fingerprint"] == "fp-1"
    assert req.headers["Content-Type"] == "application/json"
    assert rec.last_json() == body


def test_create_without_fingerprint_sends_no_header() -> None:
    rec = Recorder(httpx.Response(200, json={"code": 0, "data": {"task_id": "task_x"}}))

    async def go() -> None:
        async with make_client(rec) as api:
            task = await api.create_video({"model": "m", "prompt": "p", "duration": 5})
        assert task.task_id == "task_x"
        assert task.status is TaskStatus.QUEUED

    run(go())
    assert "X-Reconciler-Fingerprint" not in rec.last.headers


def test_get_task_completed() -> None:
    rec = Recorder(
        envelope(
            {
                "task_id": "vid_1",
                "status": "completed",
                "progress": 100,
                "model": "seedance2.0-gz",
                "created_at": 1710000000,
                "completed_at": 1710000300,
                "result": {"video_url": "https://cdn.test/v.mp4?sig=abc"},
                "cost": 1.5,
                "usage": {"completion_tokens": 246840, "total_tokens": 246840},
            }
        )
    )

    async def go() -> None:
        async with make_client(rec) as api:
            info = await api.get_task("vid_1")
        assert info.status is TaskStatus.COMPLETED
        assert info.status.terminal
        assert info.progress == 100
        assert info.result_video_url == "https://cdn.test/v.mp4?sig=abc"
        assert info.completed_at == 1710000300
        assert info.usage is not None and info.usage.total_tokens == 246840
        assert info.error_message is None

    run(go())
    assert rec.last.method == "GET"
    assert rec.last.url.path == "/api/open-api/v1/videos/vid_1"


def test_get_task_quotes_the_id() -> None:
    rec = Recorder(envelope({"task_id": "a/b", "status": "processing", "progress": 40}))

    async def go() -> None:
        async with make_client(rec) as api:
            info = await api.get_task("a/b")
        assert info.status is TaskStatus.PROCESSING
        assert info.progress == 40

    run(go())
    assert rec.last.url.raw_path == b"/api/open-api/v1/videos/a%2Fb"


def test_get_task_failed_and_canceled() -> None:
    rec = Recorder(
        envelope({"task_id": "t", "status": "failed", "progress": 0, "error_message": "nsfw"}),
        envelope({"task_id": "t", "status": "canceled"}),
    )

    async def go() -> None:
        async with make_client(rec) as api:
            failed = await api.get_task("t")
            canceled = await api.get_task("t")
        assert failed.status is TaskStatus.FAILED
        assert failed.error_message == "nsfw"
        assert canceled.status is TaskStatus.FAILED
        assert canceled.raw_status == "canceled"

    run(go())


def test_submit_audit_and_status() -> None:
    rec = Recorder(
        envelope(
            {
                "items": [
                    {
                        "asset_id": "as_1",
                        "original_url": "https://x.test/a.jpg",
                        "asset_type": "image",
                        "status": "Pending",
                    }
                ],
                "failed_items": [{"url": "https://x.test/b.jpg", "reason": "unreachable"}],
            }
        ),
        envelope(
            {
                "items": [
                    {"asset_id": "as_1", "status": "Active"},
                    {"asset_id": "as_2", "status": "Rejected"},
                ]
            }
        ),
    )

    async def go() -> None:
        async with make_client(rec) as api:
            result = await api.submit_audit(image_urls=["https://x.test/a.jpg"])
            assert rec.last_json() == {
                "image_urls": ["https://x.test/a.jpg"],
                "video_urls": [],
                "audio_urls": [],
            }
            assert rec.last.url.path == "/api/open-api/v1/seedance/assets/audit"
            items = await api.audit_status(["as_1", "as_2"])
            assert rec.last_json() == {"asset_ids": ["as_1", "as_2"]}
            assert rec.last.url.path == "/api/open-api/v1/seedance/assets/status"
        assert result.items[0].asset_id == "as_1"
        assert result.items[0].state is AuditState.PENDING
        assert result.items[0].asset_type == "image"
        assert result.failed_items[0].url == "https://x.test/b.jpg"
        assert result.failed_items[0].reason == "unreachable"
        assert [i.state for i in items] == [AuditState.ACTIVE, AuditState.REJECTED]

    run(go())


def test_balances() -> None:
    rec = Recorder(
        httpx.Response(
            200,
            json={
                "code": 20000,
                "msg": "ok",
                "data": {"balance": 100.5, "used_coin": 20.3, "available": 80.2},
            },
        ),
        httpx.Response(
            200,
            json={
                "code": 20000,
                "msg": "ok",
                "data": {
                    "name": "ci",
                    "total_quota": 0,
                    "used_quota": 3,
                    "available_quota": 0,
                    "unlimited": True,
                },
            },
        ),
    )

    async def go() -> None:
        async with make_client(rec) as api:
            user = await api.user_balance()
            assert rec.last.url.path == "/api/open-api/v1/user/balance"
            key = await api.key_balance()
            assert rec.last.url.path == "/api/open-api/v1/key/balance"
        assert user == UserBalance(balance=100.5, used_coin=20.3, available=80.2)
        assert key == KeyBalance(
            name="ci", total_quota=0, used_quota=3, available_quota=0, unlimited=True
        )

    run(go())


def test_model_catalog_has_no_auth_and_passes_search() -> None:
    rec = Recorder(
        httpx.Response(
            200,
            json={
                "code": 20000,
                "msg": "ok",
                "data": {
                    "list": [
                        {
                            "model_name": "seedance2.0-mini",
                            "price_mode": "per_second",
                            "unit_price": "0.05",
                            "display_name": "Mini",
                            "extra": True,
                        },
                    ]
                },
            },
        )
    )

    async def go() -> None:
        async with make_client(rec, key=None) as api:
            entries = await api.model_catalog("seedance")
        assert entries == [
            CatalogEntry(
                model_name="seedance2.0-mini",
                display_name="Mini",
                price_mode="per_second",
                unit_price=0.05,
            )
        ]

    run(go())
    assert rec.last.url.path == "/api/openapi/model/catalog"
    assert rec.last.url.params["search"] == "seedance"
    assert "Authorization" not in rec.last.headers


def test_missing_key_is_a_config_error_before_sending() -> None:
    rec = Recorder(envelope({}))

    async def go() -> None:
        async with make_client(rec, key=None) as api:
            with pytest.raises(ConfigError) as info:
                await api.user_balance()
        assert info.value.hint and "SEEDANCE_API_KEY" in info.value.hint

    run(go())
    assert rec.requests == []


def test_bad_base_url_is_a_config_error() -> None:
    from reconciler.api import SeedanceClient

    with pytest.raises(ConfigError):
        SeedanceClient("ftp://x", None)
    with pytest.raises(ConfigError):
        SeedanceClient("not a url", None)


def test_create_body_is_sent_verbatim() -> None:
    rec = Recorder(envelope({"task_id": "t1", "status": "submitted"}))
    body: dict[str, JsonValue] = {
        "model": "seedance2.0-std",
        "prompt": 'ü "quoted"',
        "duration": 5,
        "images": ["https://x.test/a.png"],
    }

    async def go() -> None:
        async with make_client(rec) as api:
            task = await api.create_video(body)
        assert task.status is TaskStatus.QUEUED
        assert task.raw_status == "submitted"

    run(go())
    assert json.loads(rec.last.content) == body
