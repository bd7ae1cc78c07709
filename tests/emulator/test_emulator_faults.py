"""Each fault knob, set through the admin endpoint, observed over a real socket."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.config import EmulatorConfig, Knobs
from reconciler.emulator.server import start_background

from .conftest import API_KEY

CREATE = "/api/open-api/v1/seedance/videos"
MINI = {"model": "seedance2.0-mini", "prompt": "a lantern on a pier", "duration": 5}


def _set(admin: httpx.Client, **knobs: object) -> None:
    reply = admin.post("/_emulator/admin", json=knobs)
    assert reply.status_code == 200, reply.text


def _creates(admin: httpx.Client) -> int:
    total = admin.get("/_emulator/stats").json()["total_creates"]
    assert isinstance(total, int)
    return total


def test_latency(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, latency_ms=150)
    started = time.monotonic()
    client.get("/api/open-api/v1/user/balance")
    assert time.monotonic() - started >= 0.15


def test_burst_429_then_recovers(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, burst_429=2, retry_after=3)
    statuses = [client.post(CREATE, json=MINI) for _ in range(3)]
    assert [r.status_code for r in statuses] == [429, 429, 200]
    assert statuses[0].headers["Retry-After"] == "3"
    assert _creates(admin) == 1


def test_5xx_creates_nothing(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, error_5xx_rate=1.0)
    reply = client.post(CREATE, json=MINI)
    assert reply.status_code in (500, 502, 503)
    assert _creates(admin) == 0


def test_code_minus1(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, code_minus1_rate=1.0)
    reply = client.post(CREATE, json=MINI)
    assert reply.status_code == 200
    assert reply.json()["code"] == -1
    assert _creates(admin) == 0


def test_drop_after_create_commits_then_hangs_up(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, drop_after_create_rate=1.0)
    with pytest.raises(httpx.TransportError):
        client.post(CREATE, json=MINI, headers={"X-Reconciler-Fingerprint": "fp-1"})
    stats = admin.get("/_emulator/stats").json()
    assert stats["total_creates"] == 1
    assert stats["creates_by_fingerprint"] == {"fp-1": 1}
    assert stats["faults_injected"]["drop_after_create"] == 1


def test_reset_creates_nothing(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, reset_rate=1.0)
    with pytest.raises(httpx.TransportError):
        client.post(CREATE, json=MINI)
    assert _creates(admin) == 0


def test_truncated_body(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, truncate_rate=1.0)
    with pytest.raises(httpx.TransportError):
        client.get("/api/open-api/v1/user/balance")


def test_malformed_json(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, malformed_json_rate=1.0)
    reply = client.get("/api/open-api/v1/user/balance")
    with pytest.raises(json.JSONDecodeError):
        json.loads(reply.content)


def test_wrong_content_type(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, wrong_content_type_rate=1.0)
    reply = client.get("/api/open-api/v1/user/balance")
    assert reply.headers["Content-Type"].startswith("text/html")


def test_slow_response(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, slow_response=1000)
    started = time.monotonic()
    reply = client.get("/api/open-api/v1/user/balance")
    assert reply.json()["code"] == 20000
    assert time.monotonic() - started >= len(reply.content) / 1000 * 0.8


def test_faults_scoped_to_path_prefix(client: httpx.Client, admin: httpx.Client) -> None:
    _set(admin, error_5xx_rate=1.0, fault_path_prefix="/api/open-api/v1/videos/")
    created = client.post(CREATE, json=MINI)
    assert created.json()["code"] == "20000"
    task_id = created.json()["data"]["task_id"]
    assert client.get(f"/api/open-api/v1/videos/{task_id}").status_code >= 500


def test_admin_endpoints_are_never_faulted(admin: httpx.Client) -> None:
    _set(admin, error_5xx_rate=1.0, reset_rate=1.0, latency_ms=0)
    assert admin.get("/_emulator/stats").status_code == 200


def test_bad_knob_is_400(admin: httpx.Client) -> None:
    assert admin.post("/_emulator/admin", json={"no_such_knob": 1}).status_code == 400
    assert admin.post("/_emulator/admin", json={"fail_rate": 7}).status_code == 400
    assert admin.post("/_emulator/admin", json={"balance": -1}).status_code == 400
    knobs = admin.get("/_emulator/admin").json()
    assert knobs["fail_rate"] == 0.0
    assert set(Knobs.model_fields) <= set(knobs)


def test_seed_makes_faults_reproducible(tmp_path: Path) -> None:
    def run(name: str) -> list[int]:
        knobs = Knobs(error_5xx_rate=0.5)
        config = EmulatorConfig(data_path=tmp_path / name, api_key=API_KEY, seed=42, knobs=knobs)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        with (
            start_background(config) as running,
            httpx.Client(base_url=running.url, headers=headers, timeout=5) as http,
        ):
            return [http.get("/api/open-api/v1/user/balance").status_code for _ in range(12)]

    first, second = run("a.db"), run("b.db")
    assert first == second
    assert 200 in first and any(code >= 500 for code in first)
