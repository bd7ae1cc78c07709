"""Tolerant decoding of the vendor's JSON into ``reconciler.api.models``.

The vendor is inconsistent (API-FACTS §1, §11): ``code`` is the string ``"20000"``, the
integer ``20000`` or ``0`` depending on the endpoint; task status has synonyms; numbers
may arrive as strings; fields appear and disappear between eras. These functions accept
all of that, ignore unknown fields, and raise ``WireError`` only when something we need
is missing or has the wrong shape. The client turns ``WireError`` into an API error with
the endpoint named.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pydantic import JsonValue

from reconciler.api.models import (
    AuditItem,
    AuditState,
    AuditSubmitResult,
    CatalogEntry,
    CreatedTask,
    FailedAuditItem,
    KeyBalance,
    TaskInfo,
    TaskStatus,
    TokenUsage,
    UploadedFile,
    UserBalance,
)

log = logging.getLogger("reconciler.api")

SUCCESS_CODES = frozenset({"20000", "0"})
CODE_AUTH = "20001"
CODE_INVALID = "20002"
CODE_BUSY = "-1"

_TASK_STATUS: dict[str, TaskStatus] = {
    **dict.fromkeys(("queued", "pending", "submitted", "created", "waiting"), TaskStatus.QUEUED),
    **dict.fromkeys(("processing", "running", "in_progress", "generating"), TaskStatus.PROCESSING),
    **dict.fromkeys(("completed", "success", "succeeded", "done"), TaskStatus.COMPLETED),
    # The docs have no cancel state; the vendor CLI treats canceled/cancelled as terminal.
    **dict.fromkeys(
        ("failed", "failure", "error", "canceled", "cancelled", "expired", "timeout"),
        TaskStatus.FAILED,
    ),
}

_AUDIT_STATE: dict[str, AuditState] = {
    **dict.fromkeys(("active", "approved", "success"), AuditState.ACTIVE),
    **dict.fromkeys(
        ("failed", "rejected", "error", "expired", "deleted"),
        AuditState.REJECTED,
    ),
}


class WireError(ValueError):
    """The response body is not what the endpoint documents."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """``{code, msg, data}`` with ``code`` normalised to its decimal text."""

    code: str
    msg: str
    data: JsonValue

    @property
    def ok(self) -> bool:
        return self.code in SUCCESS_CODES


def code_text(code: object) -> str | None:
    """``"20000"``, ``20000`` and ``20000.0`` all become ``"20000"``; junk becomes None."""
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return str(code)
    if isinstance(code, float) and code.is_integer():
        return str(int(code))
    if isinstance(code, str):
        text = code.strip()
        try:
            return str(int(text))
        except ValueError:
            return text or None
    return None


def decode_envelope(payload: JsonValue) -> Envelope:
    """The envelope, or ``WireError`` when ``payload`` is not one."""
    if not isinstance(payload, dict) or "code" not in payload:
        raise WireError("the body is not a {code, msg, data} envelope")
    code = code_text(payload["code"])
    if code is None:
        raise WireError(f"the envelope's code is not a number: {payload['code']!r:.40}")
    msg = payload.get("msg")
    if msg is None:
        msg = payload.get("message")
    return Envelope(code=code, msg=msg if isinstance(msg, str) else "", data=payload.get("data"))


def task_status(raw: str) -> TaskStatus:
    status = _TASK_STATUS.get(raw.strip().lower())
    if status is None:
        # Unknown is treated as still running: polling goes on (bounded by the caller)
        # rather than a paid task being written off on a word we have not seen.
        log.warning("unknown task status %r; treating it as processing", raw)
        return TaskStatus.PROCESSING
    return status


def audit_state(raw: str) -> AuditState:
    return _AUDIT_STATE.get(raw.strip().lower(), AuditState.PENDING)


def _obj(value: object, what: str) -> Mapping[str, JsonValue]:
    if not isinstance(value, dict):
        raise WireError(f"{what} is not an object")
    return value


def _str(d: Mapping[str, JsonValue], key: str) -> str | None:
    value = d.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _req_str(d: Mapping[str, JsonValue], key: str, what: str) -> str:
    value = _str(d, key)
    if not value:
        raise WireError(f"{what} has no {key}")
    return value


def _float(d: Mapping[str, JsonValue], key: str) -> float | None:
    value = d.get(key)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _int(d: Mapping[str, JsonValue], key: str) -> int | None:
    value = _float(d, key)
    return int(value) if value is not None else None


def _list(value: JsonValue, what: str) -> list[JsonValue]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise WireError(f"{what} is not a list")
    return value


def parse_created(data: JsonValue) -> CreatedTask:
    d = _obj(data, "data")
    raw = _str(d, "status")
    return CreatedTask(
        task_id=_req_str(d, "task_id", "data"),
        status=task_status(raw) if raw else TaskStatus.QUEUED,
        raw_status=raw,
        model=_str(d, "model"),
        created_at=_int(d, "created_at"),
        cost=_float(d, "cost"),
    )


def parse_task(data: JsonValue, task_id: str) -> TaskInfo:
    d = _obj(data, "data")
    raw = _req_str(d, "status", "data")
    result = d.get("result")
    url = _str(result, "video_url") if isinstance(result, dict) else None
    usage_raw = d.get("usage")
    usage = (
        TokenUsage(
            completion_tokens=_int(usage_raw, "completion_tokens"),
            total_tokens=_int(usage_raw, "total_tokens"),
        )
        if isinstance(usage_raw, dict)
        else None
    )
    return TaskInfo(
        task_id=_str(d, "task_id") or task_id,
        status=task_status(raw),
        raw_status=raw,
        progress=_int(d, "progress"),
        model=_str(d, "model"),
        result_video_url=url or _str(d, "video_url") or None,
        error_message=_str(d, "error_message") or _str(d, "error_msg") or None,
        cost=_float(d, "cost"),
        usage=usage,
        created_at=_int(d, "created_at"),
        completed_at=_int(d, "completed_at"),
    )


def _audit_item(value: JsonValue) -> AuditItem:
    d = _obj(value, "an audit item")
    raw = _str(d, "status") or "Pending"
    return AuditItem(
        asset_id=_req_str(d, "asset_id", "an audit item"),
        state=audit_state(raw),
        raw_status=raw,
        asset_type=_str(d, "asset_type"),
        original_url=_str(d, "original_url"),
    )


def _failed_item(value: JsonValue) -> FailedAuditItem:
    if not isinstance(value, dict):
        return FailedAuditItem(reason=str(value))
    url = _str(value, "original_url") or _str(value, "url")
    reason = next(
        (
            r
            for k in ("reason", "error", "error_message", "msg", "message")
            if (r := _str(value, k))
        ),
        None,
    )
    return FailedAuditItem(url=url, reason=reason, raw=dict(value))


def parse_audit_submit(data: JsonValue) -> AuditSubmitResult:
    d = _obj(data, "data")
    return AuditSubmitResult(
        items=tuple(_audit_item(i) for i in _list(d.get("items"), "data.items")),
        failed_items=tuple(
            _failed_item(i) for i in _list(d.get("failed_items"), "data.failed_items")
        ),
    )


def parse_audit_status(data: JsonValue) -> list[AuditItem]:
    d = _obj(data, "data")
    return [_audit_item(i) for i in _list(d.get("items"), "data.items")]


def parse_uploaded(data: JsonValue) -> UploadedFile:
    d = _obj(data, "data")
    return UploadedFile(
        url=_req_str(d, "url", "data"),
        filename=_str(d, "filename"),
        size=_int(d, "size"),
        mime_type=_str(d, "mime_type"),
    )


def parse_user_balance(data: JsonValue) -> UserBalance:
    d = _obj(data, "data")
    available = _float(d, "available")
    if available is None:
        raise WireError("data has no available balance")
    return UserBalance(
        balance=_float(d, "balance"), used_coin=_float(d, "used_coin"), available=available
    )


def parse_key_balance(data: JsonValue) -> KeyBalance:
    d = _obj(data, "data")
    total = _float(d, "total_quota")
    unlimited = d.get("unlimited")
    return KeyBalance(
        name=_str(d, "name"),
        total_quota=total,
        used_quota=_float(d, "used_quota"),
        available_quota=_float(d, "available_quota"),
        unlimited=unlimited if isinstance(unlimited, bool) else total == 0,
    )


def parse_catalog(data: JsonValue) -> list[CatalogEntry]:
    d = _obj(data, "data")
    entries: list[CatalogEntry] = []
    for value in _list(d.get("list"), "data.list"):
        item = _obj(value, "a catalog entry")
        entries.append(
            CatalogEntry(
                model_name=_req_str(item, "model_name", "a catalog entry"),
                display_name=_str(item, "display_name"),
                model_type=_str(item, "model_type"),
                price_mode=_str(item, "price_mode"),
                unit_price=_float(item, "unit_price"),
                official_price=_float(item, "official_price"),
                remark=_str(item, "remark"),
                group=_str(item, "group"),
            )
        )
    return entries
