"""Every endpoint's reply has the shape of the vendor fixtures in tests/fixtures/vendor/."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from reconciler.emulator.server import RunningEmulator

FIXTURES = Path(__file__).parent.parent / "fixtures" / "vendor"
V1 = "/api/open-api/v1"


def fixture(name: str) -> dict[str, object]:
    loaded = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def shape(value: object) -> object:
    """Keys and JSON types, with int/float merged (the vendor mixes them)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


def test_create_and_query_shapes(client: httpx.Client, admin: httpx.Client) -> None:
    created = client.post(f"{V1}/seedance/videos", json=fixture("create_request_mini.json"))
    assert shape(created.json()) == shape(fixture("create_response.json"))
    task_id = created.json()["data"]["task_id"]
    done = client.get(f"{V1}/videos/{task_id}").json()
    assert shape(done) == shape(fixture("query_response_completed.json"))

    admin.post("/_emulator/admin", json={"fail_prompt_pattern": "NOPE"})
    body = {**fixture("create_request_mini.json"), "prompt": "NOPE please"}
    failed_id = client.post(f"{V1}/seedance/videos", json=body).json()["data"]["task_id"]
    failed = client.get(f"{V1}/videos/{failed_id}").json()
    assert shape(failed) == shape(fixture("query_response_failed.json"))
    assert failed["data"]["error_message"].startswith("PROVIDER_MODERATION_ERROR")

    admin.post("/_emulator/admin", json={"run_seconds": 60})
    running_id = client.post(f"{V1}/seedance/videos", json=fixture("create_request_mini.json"))
    running = client.get(f"{V1}/videos/{running_id.json()['data']['task_id']}").json()
    assert shape(running) == shape(fixture("query_response_processing.json"))


def test_token_billed_query_has_usage(client: httpx.Client) -> None:
    body = {"model": "seedance2.0-gz-720p", "prompt": "waves", "duration": 5}
    task_id = client.post(f"{V1}/seedance/videos", json=body).json()["data"]["task_id"]
    done = client.get(f"{V1}/videos/{task_id}").json()
    assert shape(done) == shape(fixture("query_response_completed_tokens.json"))
    usage = done["data"]["usage"]
    assert usage["completion_tokens"] == usage["total_tokens"] > 0


def test_error_shapes(client: httpx.Client, emulator: RunningEmulator) -> None:
    bad = client.post(
        f"{V1}/seedance/videos", json={"model": "seedance2.0-mini", "prompt": "x", "duration": 40}
    )
    assert shape(bad.json()) == shape(fixture("create_response_error.json"))
    unauth = httpx.get(f"{emulator.url}{V1}/user/balance", timeout=5)
    assert shape(unauth.json()) == shape(fixture("auth_error_response.json"))


def test_account_and_catalog_shapes(client: httpx.Client, emulator: RunningEmulator) -> None:
    assert shape(client.get(f"{V1}/user/balance").json()) == shape(
        fixture("user_balance_response.json")
    )
    assert shape(client.get(f"{V1}/key/balance").json()) == shape(
        fixture("key_balance_response.json")
    )
    catalog = httpx.get(f"{emulator.url}/api/openapi/model/catalog?search=mini", timeout=5)
    assert shape(catalog.json()) == shape(fixture("catalog_response.json"))
    names = [row["model_name"] for row in catalog.json()["data"]["list"]]
    assert names and all("mini" in n for n in names)


def test_audit_shapes(client: httpx.Client) -> None:
    submitted = client.post(f"{V1}/seedance/assets/audit", json=fixture("audit_request.json"))
    reply = submitted.json()
    assert reply["code"] == "20000"
    assert shape(reply["data"]["items"]) == shape(fixture("audit_response.json")["data"]["items"])  # type: ignore[index]
    assert [i["asset_type"] for i in reply["data"]["items"]] == ["image", "video"]
    ids = [i["asset_id"] for i in reply["data"]["items"]]
    status = client.post(f"{V1}/seedance/assets/status", json={"asset_ids": ids}).json()
    assert shape(status) == shape(fixture("audit_status_response.json"))
