"""The client against the real emulator over a loopback socket: endpoints, errors, faults."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import JsonValue

from reconciler.api import ApiKey, AuditState, SeedanceClient, TaskStatus
from reconciler.api.retry import RetryPolicy, retry_call
from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import RunningEmulator, start_background
from reconciler.errors import (
    ApiNotCreated,
    ApiOutcomeUnknown,
    ApiRetryable,
    ApiUnreachable,
)
from tests.api.apifakes import run

KEY = "sk-emulator-key"
STD: dict[str, JsonValue] = {
    "model": "seedance2.0-std",
    "prompt": "a lighthouse at dusk",
    "duration": 5,
    "images": ["https://example.com/ref.png"],
}


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    cfg = EmulatorConfig(data_path=tmp_path / "emu" / "state.db", seed=7)
    running = start_background(cfg)
    try:
        yield running
    finally:
        running.stop()


def knobs(emu: RunningEmulator, **values: object) -> None:
    response = httpx.post(f"{emu.url}/_emulator/admin", json=values, timeout=5)
    assert response.status_code == 200, response.text


def stats(emu: RunningEmulator) -> dict[str, object]:
    result: dict[str, object] = httpx.get(f"{emu.url}/_emulator/stats", timeout=5).json()
    return result


def client(emu: RunningEmulator, key: str = KEY, **kw: float) -> SeedanceClient:
    return SeedanceClient(emu.url, ApiKey(key), **kw)  # type: ignore[arg-type]


def test_create_poll_download(emu: RunningEmulator, tmp_path: Path) -> None:
    async def go() -> None:
        async with client(emu) as api:
            created = await api.create_video(STD, fingerprint="fp-happy")
            assert created.status is TaskStatus.QUEUED
            assert created.task_id
            info = await api.get_task(created.task_id)
            for _ in range(50):
                if info.status.terminal:
                    break
                await asyncio.sleep(0.02)
                info = await api.get_task(created.task_id)
            assert info.status is TaskStatus.COMPLETED, info
            assert info.progress == 100
            assert info.result_video_url is not None
            dest = tmp_path / "out" / "v.mp4"
            digest, size = await api.download(info.result_video_url, dest)
            data = dest.read_bytes()
            assert size == len(data) > 0
            assert digest == hashlib.sha256(data).hexdigest()

    run(go())
    assert stats(emu)["creates_by_fingerprint"] == {"fp-happy": 1}


def test_tampered_result_url_is_gone(emu: RunningEmulator, tmp_path: Path) -> None:
    async def go() -> None:
        async with client(emu) as api:
            created = await api.create_video(STD)
            info = await api.get_task(created.task_id)
            assert info.result_video_url is not None
            url = httpx.URL(info.result_video_url)
            bad = str(url.copy_set_param("sig", "forged-signature"))
            with pytest.raises(ApiNotCreated) as caught:
                await api.download(bad, tmp_path / "v.mp4")
            assert "expired or is gone" in caught.value.message
            assert "forged-signature" not in caught.value.message

    run(go())


def test_wrong_key_is_20001(emu: RunningEmulator) -> None:
    secret = "sk-wrong-Secret-123456"

    async def go() -> None:
        async with client(emu, key=secret) as api:
            with pytest.raises(ApiNotCreated) as caught:
                await api.create_video(STD)
        error = caught.value
        assert error.code == "20001"
        assert error.hint is not None and "SEEDANCE_API_KEY" in error.hint
        assert secret not in error.message

    run(go())
    assert stats(emu)["total_creates"] == 0


def test_validation_error_is_20002_with_vendor_message(emu: RunningEmulator) -> None:
    body: dict[str, JsonValue] = {**STD, "model": "sd2_mx_720p"}  # Full route refuses raw URLs

    async def go() -> None:
        async with client(emu) as api:
            with pytest.raises(ApiNotCreated) as caught:
                await api.create_video(body)
        assert caught.value.code == "20002"
        assert "asset://" in caught.value.message

    run(go())


def test_audit_flow_and_account_endpoints(emu: RunningEmulator, tmp_path: Path) -> None:
    src = tmp_path / "ref.png"
    src.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048)

    async def go() -> None:
        async with client(emu) as api:
            submitted = await api.submit_audit(image_urls=["https://example.com/a.png"])
            assert len(submitted.items) == 1
            item = submitted.items[0]
            assert item.asset_type == "image"
            (status,) = await api.audit_status([item.asset_id])
            assert status.state is AuditState.ACTIVE
            uploaded = await api.upload_file(src)
            assert uploaded.url.startswith("http")
            assert uploaded.size == src.stat().st_size
            balance = await api.user_balance()
            assert balance.available > 0
            key = await api.key_balance()
            assert key.unlimited
            entries = await api.model_catalog("seedance")
            assert entries and all(e.model_name for e in entries)

    run(go())


def test_429_then_retry_call_succeeds(emu: RunningEmulator) -> None:
    knobs(emu, burst_429=2, retry_after=0)
    slept: list[float] = []

    async def go() -> None:
        async with client(emu) as api:

            async def sleep(delay: float) -> None:
                slept.append(delay)

            task = await retry_call(
                lambda: api.create_video(STD, fingerprint="fp-429"),
                policy=RetryPolicy(max_attempts=4),
                sleep=sleep,
            )
            assert task.task_id

    run(go())
    assert slept == [0.0, 0.0]
    assert stats(emu)["creates_by_fingerprint"] == {"fp-429": 1}


def test_429_carries_retry_after(emu: RunningEmulator) -> None:
    knobs(emu, burst_429=1, retry_after=3)

    async def go() -> None:
        async with client(emu) as api:
            with pytest.raises(ApiRetryable) as caught:
                await api.user_balance()
        assert caught.value.http_status == 429
        assert caught.value.retry_after == 3.0

    run(go())


@pytest.mark.parametrize("knob", ["error_5xx_rate", "code_minus1_rate"])
def test_server_errors_are_retryable(emu: RunningEmulator, knob: str) -> None:
    knobs(emu, **{knob: 1.0})

    async def go() -> None:
        async with client(emu) as api:
            with pytest.raises(ApiRetryable):
                await api.create_video(STD)

    run(go())
    assert stats(emu)["total_creates"] == 0


@pytest.mark.parametrize(
    "knob",
    [
        "drop_after_create_rate",
        "truncate_rate",
        "malformed_json_rate",
        "wrong_content_type_rate",
        "reset_rate",
    ],
)
def test_lost_answers_are_outcome_unknown(emu: RunningEmulator, knob: str) -> None:
    knobs(emu, **{knob: 1.0})

    async def go() -> None:
        async with client(emu) as api:
            with pytest.raises(ApiOutcomeUnknown) as caught:
                await api.create_video(STD, fingerprint="fp-lost")
            assert caught.value.hint is not None and "adopt" in caught.value.hint

    run(go())
    created = stats(emu)["creates_by_fingerprint"]
    # Only a reset happens before the create is processed; the others created the task.
    assert created == ({} if knob == "reset_rate" else {"fp-lost": 1})


def test_read_timeout_is_outcome_unknown(emu: RunningEmulator) -> None:
    knobs(emu, latency_ms=400)

    async def go() -> None:
        async with client(emu, timeout=0.1) as api:
            with pytest.raises(ApiOutcomeUnknown) as caught:
                await api.create_video(STD)
        assert "ReadTimeout" in caught.value.message

    run(go())
    # The server goes on and creates the task after the client gave up: that is exactly why
    # a read timeout is "outcome unknown". Waiting for it also keeps the teardown clean.
    for _ in range(100):
        if stats(emu)["total_creates"] == 1:
            break
        time.sleep(0.02)
    assert stats(emu)["total_creates"] == 1


def test_refused_connection_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # The port is closed now: nothing listens there.

    async def go() -> None:
        async with SeedanceClient(f"http://127.0.0.1:{port}", ApiKey(KEY)) as api:
            with pytest.raises(ApiUnreachable) as caught:
                await api.create_video(STD)
        assert caught.value.hint is not None and "nothing was sent" in caught.value.hint

    run(go())


def test_concurrent_calls_share_one_pool(emu: RunningEmulator) -> None:
    async def go() -> None:
        async with client(emu) as api:
            tasks = await asyncio.gather(
                *(api.create_video(STD, fingerprint=f"fp-{i}") for i in range(20))
            )
            assert len({t.task_id for t in tasks}) == 20

    run(go())
    assert stats(emu)["total_creates"] == 20


def test_debug_logs_hold_no_key_or_signature(
    emu: RunningEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included

    async def go() -> str:
        async with client(emu) as api:
            created = await api.create_video(STD)
            info = await api.get_task(created.task_id)
            assert info.result_video_url is not None
            await api.download(info.result_video_url, tmp_path / "v.mp4")
            return info.result_video_url

    url = run(go())
    signature = httpx.URL(url).params["sig"]
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage()
        assert KEY not in text
        if record.name == "reconciler.api":  # (the emulator may log its own URLs)
            assert signature not in text
