"""Quirks of the vendor's JSON: code forms, status synonyms, loose types, unknown fields."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.api import AuditState, TaskStatus
from reconciler.api.wire import (
    WireError,
    audit_state,
    code_text,
    decode_envelope,
    parse_created,
    parse_key_balance,
    parse_task,
    parse_user_balance,
    task_status,
)
from reconciler.errors import ApiNotCreated
from tests.api.apifakes import Recorder, make_client, run


@pytest.mark.parametrize("code", ["20000", 20000, 0, "0", 20000.0, " 20000 "])
def test_success_code_forms(code: object) -> None:
    rec = Recorder(httpx.Response(200, json={"code": code, "msg": "ok", "data": {"task_id": "t1"}}))

    async def go() -> None:
        async with make_client(rec) as api:
            task = await api.create_video({"model": "m", "prompt": "p", "duration": 5})
        assert task.task_id == "t1"

    run(go())


@pytest.mark.parametrize("code", ["20001", 20001, 20001.0])
def test_error_code_forms(code: object) -> None:
    rec = Recorder(httpx.Response(200, json={"code": code, "msg": "bad key"}))

    async def go() -> None:
        async with make_client(rec) as api:
            with pytest.raises(ApiNotCreated) as info:
                await api.user_balance()
        assert info.value.code == "20001"

    run(go())


def test_code_text() -> None:
    assert code_text(True) is None
    assert code_text(None) is None
    assert code_text(1.5) is None
    assert code_text("-1") == "-1"
    assert code_text("E_BAD") == "E_BAD"
    assert code_text("") is None


def test_envelope_message_fallback() -> None:
    env = decode_envelope({"code": 20002, "message": "why"})
    assert env.msg == "why" and not env.ok
    with pytest.raises(WireError):
        decode_envelope({"msg": "ok"})


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        ("queued", TaskStatus.QUEUED),
        ("pending", TaskStatus.QUEUED),
        ("Submitted", TaskStatus.QUEUED),
        ("processing", TaskStatus.PROCESSING),
        ("RUNNING", TaskStatus.PROCESSING),
        ("completed", TaskStatus.COMPLETED),
        ("success", TaskStatus.COMPLETED),
        ("failed", TaskStatus.FAILED),
        ("canceled", TaskStatus.FAILED),
        ("cancelled", TaskStatus.FAILED),
        ("something-new", TaskStatus.PROCESSING),
    ],
)
def test_status_synonyms(raw: str, status: TaskStatus) -> None:
    assert task_status(raw) is status


@pytest.mark.parametrize(
    ("raw", "state"),
    [
        ("Pending", AuditState.PENDING),
        ("PROCESSING", AuditState.PENDING),
        ("Active", AuditState.ACTIVE),
        ("ACTIVE", AuditState.ACTIVE),
        ("Failed", AuditState.REJECTED),
        ("Rejected", AuditState.REJECTED),
        ("EXPIRED", AuditState.REJECTED),
    ],
)
def test_audit_states(raw: str, state: AuditState) -> None:
    assert audit_state(raw) is state


def test_loose_types_are_accepted() -> None:
    info = parse_task(
        {
            "status": "processing",
            "progress": "42",
            "cost": "0.4",
            "created_at": 1710000000.0,
            "result": None,
            "usage": "n/a",
            "future_field": {"a": 1},
        },
        "t9",
    )
    assert info.task_id == "t9"  # taken from the request when the body omits it
    assert info.progress == 42
    assert info.cost == 0.4
    assert info.created_at == 1710000000
    assert info.result_video_url is None and info.usage is None


def test_created_task_id_may_be_numeric() -> None:
    assert parse_created({"task_id": 12345}).task_id == "12345"
    with pytest.raises(WireError):
        parse_created({"task_id": ""})
    with pytest.raises(WireError):
        parse_created(["task_id"])


def test_balances_need_available() -> None:
    with pytest.raises(WireError):
        parse_user_balance({"balance": 1})
    assert parse_key_balance({"total_quota": 0}).unlimited
    assert not parse_key_balance({"total_quota": 10, "used_quota": 2}).unlimited


@given(
    st.dictionaries(
        st.text(max_size=12),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False)
            | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=5), inner, max_size=3)
            ),
            max_leaves=8,
        ),
        max_size=8,
    )
)
def test_parse_task_never_crashes(data: dict[str, object]) -> None:
    with contextlib.suppress(WireError):
        parse_task(data, "t")  # type: ignore[arg-type]
