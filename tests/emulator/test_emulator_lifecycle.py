"""Create, query and the task lifecycle, including auth and restarts on the same state file."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.faults import KnobError
from reconciler.emulator.server import RunningEmulator, start_background

from .conftest import API_KEY

CREATE = "/api/open-api/v1/seedance/videos"
QUERY = "/api/open-api/v1/videos/"
MINI = {"model": "seedance2.0-mini", "prompt": "a red fox in snow", "duration": 5}


def _create(client: httpx.Client, body: dict[str, object]) -> dict[str, object]:
    response = client.post(CREATE, json=body)
    assert response.status_code == 200
    payload = response.json()
    assert isinstance(payload, dict)
    return payload


def test_create_returns_queued_task(client: httpx.Client) -> None:
    payload = _create(client, MINI)
    assert payload["code"] == "20000"
    assert payload["msg"] == "ok"
    data = payload["data"]
    assert isinstance(data, dict)
    assert data["status"] == "queued"
    assert data["model"] == "seedance2.0-mini"
    assert str(data["task_id"]).startswith("video_")
    assert isinstance(data["created_at"], int)
    assert data["cost"] == 0.25


def test_instant_run_completes_on_first_query(client: httpx.Client) -> None:
    task_id = _create(client, MINI)["data"]["task_id"]  # type: ignore[index]
    data = client.get(QUERY + str(task_id)).json()["data"]
    assert data["status"] == "completed"
    assert data["progress"] == 100
    assert data["result"]["video_url"].startswith("http://127.0.0.1:")
    assert "error_message" not in data


def test_wrong_or_missing_key_is_20001(emulator_url: str) -> None:
    for headers in ({"Authorization": "Bearer nope"}, {}, {"Authorization": API_KEY}):
        response = httpx.post(emulator_url + CREATE, json=MINI, headers=headers, timeout=5)
        assert response.status_code == 200
        assert response.json()["code"] == 20001


def test_unknown_task_is_20002(client: httpx.Client) -> None:
    payload = client.get(QUERY + "video_does-not-exist").json()
    assert payload["code"] == 20002


def test_progress_moves_with_time(client: httpx.Client, admin: httpx.Client) -> None:
    admin.post("/_emulator/admin", json={"queue_seconds": 0.3, "run_seconds": 0.6})
    task_id = _create(client, MINI)["data"]["task_id"]  # type: ignore[index]
    seen: list[str] = []
    progress: list[int] = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        data = client.get(QUERY + str(task_id)).json()["data"]
        seen.append(data["status"])
        progress.append(data["progress"])
        if data["status"] == "completed":
            break
        time.sleep(0.05)
    assert seen[0] == "queued"
    assert "processing" in seen
    assert seen[-1] == "completed"
    running = [p for s, p in zip(seen, progress, strict=True) if s == "processing"]
    assert all(1 <= p <= 99 for p in running)
    assert running == sorted(running)


def test_state_survives_restart(data_path: Path) -> None:
    config = EmulatorConfig(data_path=data_path, api_key=API_KEY)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with start_background(config) as first:
        created = httpx.post(first.url + CREATE, json=MINI, headers=headers, timeout=5).json()
    task_id = created["data"]["task_id"]
    with start_background(config) as second:
        data = httpx.get(second.url + QUERY + task_id, headers=headers, timeout=5).json()["data"]
        stats = httpx.get(second.url + "/_emulator/stats", timeout=5).json()
    assert data["task_id"] == task_id
    assert data["status"] == "completed"
    assert stats["total_creates"] == 1


def test_in_process_knobs_and_stats(emulator: RunningEmulator, client: httpx.Client) -> None:
    emulator.set_knobs(fail_rate=1.0)
    task_id = _create(client, MINI)["data"]["task_id"]  # type: ignore[index]
    assert client.get(QUERY + str(task_id)).json()["data"]["status"] == "failed"
    assert emulator.stats()["total_creates"] == 1
    with pytest.raises(KnobError):
        emulator.set_knobs(fail_rate=3)


def test_api_key_never_in_repr(tmp_path: Path) -> None:
    config = EmulatorConfig(data_path=tmp_path / "k.db", api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(config)
    assert "sk-secret-value" not in str(config)
