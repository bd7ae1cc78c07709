"""Planner cases as data: build ``Desired``, ``Snapshot`` and ``PlanOptions`` from plain dicts.

A case file (``tests/planner/cases/<name>.yaml``) has ``desired:`` (``videos`` and ``assets``),
``state:`` (``videos`` and ``assets``), optional ``options:`` and ``expect:``. Videos are written
with only the fields that matter; everything else has a default. The fingerprint is derived
from the generative fields, so a record written with the same prompt, duration, model and
media as a desired video has the same fingerprint, as after a real apply.

Desired video keys: ``name``, ``matrix``, ``take``, ``model``, ``prompt``, ``duration``,
``media`` (field -> list of references), ``link_form``, ``description``, ``labels``.
Record keys: the same (to derive the fingerprint and spec) plus ``status`` (completed),
``attempts`` (1), ``error``, ``task_id``, ``result_url`` (set), ``expires_in_h`` (24; null:
no expiry), ``downloaded`` (true).
Desired asset keys: ``name``, ``type`` (image), ``file`` or ``url``, ``hash`` (sha256:<name>).
State asset keys: ``hash``, ``uploaded`` (false), ``audit_id``, ``audit_status``.
Options: ``targets``, ``excludes``, ``replace``, ``retry_uncertain``, ``max_attempts``,
``pricing`` (price key -> per-second unit price).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from pydantic import JsonValue

from reconciler.model import (
    SINGLE_MEDIA_FIELDS,
    AssetType,
    Billing,
    BillingMode,
    Desired,
    DesiredAsset,
    DesiredVideo,
    LinkForm,
    Price,
    SourcePos,
    video_address,
)
from reconciler.planner import PlanOptions
from reconciler.stateview import AssetRecord, Snapshot, VideoRecord, VideoStatus

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POS = SourcePos(path="specs/a.yaml", line=1, col=1)

Data = Mapping[str, object]


def _str(data: Data, key: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    assert value is None or isinstance(value, str | int | float), f"{key}: {value!r}"
    return None if value is None else str(value)


def _strmap(data: Data, key: str) -> dict[str, str]:
    value = data.get(key) or {}
    assert isinstance(value, Mapping), f"{key} must be a mapping"
    return {str(k): str(v) for k, v in value.items()}


def _int(data: Data, key: str, default: int) -> int:
    value = data.get(key, default)
    assert isinstance(value, int), f"{key}: {value!r}"
    return value


def _media(data: Data) -> dict[str, tuple[str, ...]]:
    value = data.get("media") or {}
    assert isinstance(value, Mapping)
    out: dict[str, tuple[str, ...]] = {}
    for field, refs in value.items():
        items = refs if isinstance(refs, list) else [refs]
        out[str(field)] = tuple(str(ref) for ref in items)
    return out


def video(data: Data) -> DesiredVideo:
    """A desired video from a case's ``desired.videos[]`` entry (or a record's identity)."""
    name = _str(data, "name")
    assert name, f"a video needs a name: {data}"
    matrix = _strmap(data, "matrix")
    take = _int(data, "take", 1)
    model = _str(data, "model", "sd2_mx_720p") or ""
    duration = _int(data, "duration", 5)
    params: dict[str, JsonValue] = {
        "prompt": _str(data, "prompt", "a boat"),
        "duration": duration,
        "ratio": "16:9",
    }
    media = _media(data)
    view: dict[str, JsonValue] = {"model": model, **params}
    for field, refs in sorted(media.items()):
        view[field] = refs[0] if field in SINGLE_MEDIA_FIELDS else list(refs)
    digest = hashlib.sha256(json.dumps(view, sort_keys=True).encode()).hexdigest()
    return DesiredVideo(
        address=video_address(name, matrix, take),
        name=name,
        take=take,
        matrix=matrix,
        model=model,
        params=params,
        media=media,
        fingerprint=f"sha256:{digest}",
        billing=Billing(mode=BillingMode.PER_SECOND, units=duration, price_key=model),
        link_form=LinkForm(_str(data, "link_form") or "https"),
        description=_str(data, "description"),
        labels=_strmap(data, "labels"),
        source=POS,
    )


def record(data: Data) -> VideoRecord:
    """A state record from a case's ``state.videos[]`` entry."""
    v = video(data)
    status = VideoStatus(_str(data, "status") or "completed")
    hours = data.get("expires_in_h", 24)
    assert hours is None or isinstance(hours, int | float)
    return VideoRecord(
        address=v.address,
        fingerprint=v.fingerprint,
        spec_json=json.dumps(v.spec_view()),
        description=v.description,
        labels=v.labels,
        status=status,
        task_id=_str(data, "task_id", f"task-{v.address}"),
        attempts=_int(data, "attempts", 1),
        error_message=_str(data, "error"),
        result_url=_str(data, "result_url", "https://cdn.example/signed.mp4?sig=x"),
        result_expires_at=None if hours is None else NOW + timedelta(hours=hours),
        file_path=f"out/{v.name}.mp4",
        updated_at=NOW,
    )


def asset(data: Data) -> DesiredAsset:
    name = _str(data, "name") or ""
    return DesiredAsset(
        name=name,
        type=AssetType(_str(data, "type") or "image"),
        file=_str(data, "file"),
        url=_str(data, "url"),
        content_hash=_str(data, "hash", f"sha256:{name}") or "",
        source=POS,
    )


def asset_record(data: Data) -> AssetRecord:
    return AssetRecord(
        content_hash=_str(data, "hash") or "",
        type=_str(data, "type", "image") or "image",
        uploaded_url="https://files.example/u.png?sig=x" if data.get("uploaded") else None,
        audit_asset_id=_str(data, "audit_id"),
        audit_status=_str(data, "audit_status"),
        updated_at=NOW,
    )


def _entries(section: object, key: str) -> list[Data]:
    if section is None:
        return []
    assert isinstance(section, Mapping), "desired: and state: are mappings"
    value = section.get(key) or []
    assert isinstance(value, list)
    return [entry for entry in value if isinstance(entry, Mapping)]


def build_inputs(case: Data) -> tuple[Desired, Snapshot, PlanOptions]:
    """The planner's three inputs, from one case document."""
    desired = Desired(
        videos=tuple(
            sorted((video(v) for v in _entries(case.get("desired"), "videos")), key=_address)
        ),
        assets=tuple(
            sorted((asset(a) for a in _entries(case.get("desired"), "assets")), key=_name)
        ),
        specs_digest="sha256:" + "0" * 64,
    )
    state = case.get("state")
    rows = _entries(state, "videos")
    records = tuple(sorted((record(r) for r in rows), key=lambda r: r.address))
    snapshot = Snapshot(
        lineage="case",
        serial=len(records),
        videos=records,
        assets=tuple(asset_record(a) for a in _entries(state, "assets")),
    )
    not_downloaded = frozenset(
        rec.address
        for rec, row in zip(records, _sorted_rows(rows), strict=True)
        if not row.get("downloaded", True)
    )
    opts = case.get("options") or {}
    assert isinstance(opts, Mapping)
    prices = opts.get("pricing") or {}
    assert isinstance(prices, Mapping)
    options = PlanOptions(
        now=NOW,
        targets=_strs(opts, "targets"),
        excludes=_strs(opts, "excludes"),
        replace=_strs(opts, "replace"),
        retry_uncertain=_strs(opts, "retry_uncertain"),
        max_attempts=_int(opts, "max_attempts", 3),
        pricing={
            str(key): Price(mode=BillingMode.PER_SECOND, unit_price=float(str(value)))
            for key, value in prices.items()
        },
        not_downloaded=not_downloaded,
    )
    return desired, snapshot, options


def _sorted_rows(rows: list[Data]) -> list[Data]:
    return sorted(rows, key=lambda row: video(row).address)


def _strs(data: Data, key: str) -> tuple[str, ...]:
    value = data.get(key) or []
    assert isinstance(value, list), f"{key} must be a list"
    return tuple(str(item) for item in value)


def _address(v: DesiredVideo) -> str:
    return v.address


def _name(a: DesiredAsset) -> str:
    return a.name
