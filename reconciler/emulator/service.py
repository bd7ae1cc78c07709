"""The vendor endpoints' behaviour, independent of HTTP plumbing.

`Service` turns a parsed request (method, path, JSON body, headers) into a `Reply`: the
envelope ``{code, msg, data}`` with business errors as HTTP 200 (API-FACTS §7, §10). The code's
JSON type follows the vendor's schemas per endpoint: the string "20000" for create, query, audit
and audit status; the integer 20000 for balance, key balance, upload and catalog.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.faults import Controls
from reconciler.emulator.lifecycle import phase
from reconciler.emulator.media import UrlSigner
from reconciler.emulator.pricing import PriceList, completion_tokens
from reconciler.emulator.routes import Billing, RouteTable
from reconciler.emulator.store import AssetRow, InsufficientBalance, Store, TaskRow
from reconciler.emulator.validation import Rejection, validate_create

V1 = "/api/open-api/v1"
CREATE_PATH = f"{V1}/seedance/videos"
QUERY_PREFIX = f"{V1}/videos/"
AUDIT_PATH = f"{V1}/seedance/assets/audit"
AUDIT_STATUS_PATH = f"{V1}/seedance/assets/status"
UPLOAD_PATH = f"{V1}/files/upload"
USER_BALANCE_PATH = f"{V1}/user/balance"
KEY_BALANCE_PATH = f"{V1}/key/balance"
CATALOG_PATH = "/api/openapi/model/catalog"

OK = "20000"
AUTH_FAILED = 20001
BAD_REQUEST = 20002
SERVER_ERROR = -1

_FAILURE_REASONS = (
    "PROVIDER_MODERATION_ERROR: TRADEMARK",
    "Read timed out",
    "s3 upload failed",
    "connection reset by peer",
)
_QUEUED_SYNONYMS = ("pending", "submitted")


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    created: bool = False  # a create was committed (drop-after-create may apply)


def json_reply(payload: object, status: int = 200, created: bool = False) -> Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Reply(status, body, created=created)


def envelope(code: str | int, msg: str, data: object = None, created: bool = False) -> Reply:
    return json_reply({"code": code, "msg": msg, "data": data}, created=created)


def canonical_hash(body: Mapping[str, object]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Service:
    config: EmulatorConfig
    store: Store
    controls: Controls
    base_url: Callable[[], str]
    routes: RouteTable = field(default_factory=RouteTable)
    prices: PriceList = field(default_factory=PriceList)
    clock: Callable[[], float] = time.time

    def __post_init__(self) -> None:
        self.signer = UrlSigner(self.store.secret())

    # -- create / query -------------------------------------------------------------------

    def _asset_status(self, asset_id: str) -> str | None:
        asset = self.store.asset(asset_id)
        if asset is None:
            return None
        return asset.outcome if self.clock() >= asset.ready_at else "Pending"

    def create(self, body: Mapping[str, object], fingerprint: str | None) -> Reply:
        checked = validate_create(body, self.routes, self._asset_status)
        if isinstance(checked, Rejection):
            return envelope(BAD_REQUEST, checked.message)
        knobs = self.controls.knobs
        route = checked.route
        cost = self.prices.cost(route, checked.resolution, checked.duration)
        error: str | None = None
        pattern = knobs.fail_prompt_pattern
        if pattern and pattern in checked.prompt:
            error = f"PROVIDER_MODERATION_ERROR: prompt matched {pattern!r}"
        elif self.controls.roll(knobs.fail_rate):
            error = self.controls.choice(_FAILURE_REASONS)
        tokens = None
        if route.billing is Billing.PER_MILLION_TOKENS:
            tokens = completion_tokens(checked.resolution, checked.duration)
        now = self.clock()
        task = TaskRow(
            task_id=f"video_{uuid.uuid4()}",
            model=checked.model,
            route=route.model,
            billing=route.billing.value,
            prompt=checked.prompt,
            duration=checked.duration,
            resolution=checked.resolution,
            created_at=now,
            queue_s=knobs.queue_seconds,
            run_s=knobs.run_seconds,
            cost=cost,
            tokens=tokens,
            error_message=error,
        )
        quota = self.config.key_total_quota
        if quota and self.store.balance().used_coin + cost > quota:
            # API-FACTS §3.12 E14: a key whose quota is used up is refused new billed requests.
            return envelope(BAD_REQUEST, "api key quota exhausted")
        try:
            self.store.create_task(task, canonical_hash(body), fingerprint)
        except InsufficientBalance:
            return envelope(BAD_REQUEST, "insufficient balance")
        data = {
            "task_id": task.task_id,
            "status": "queued",
            "model": task.model,
            "created_at": int(now),
            "cost": cost,
        }
        return envelope(OK, "ok", data, created=True)

    def query(self, task_id: str) -> Reply:
        task = self.store.task(task_id)
        if task is None:
            return envelope(BAD_REQUEST, f"task {task_id} not found")
        now = self.clock()
        current = phase(task, now)
        status = current.status
        if status == "queued" and self.controls.roll(self.controls.knobs.status_synonym_rate):
            status = self.controls.choice(_QUEUED_SYNONYMS)
        data: dict[str, object] = {
            "task_id": task.task_id,
            "status": status,
            "progress": current.progress,
            "model": task.model,
            "created_at": int(task.created_at),
            "cost": task.cost,
        }
        if current.finished_at is not None:
            data["completed_at"] = int(current.finished_at)
        if current.status == "completed":
            expires = int(current.finished_at or now) + int(self.controls.knobs.result_ttl)
            data["result"] = {"video_url": self.signer.url(self.base_url(), task_id, expires)}
            if task.tokens is not None:
                data["usage"] = {"completion_tokens": task.tokens, "total_tokens": task.tokens}
        elif current.status == "failed":
            data["error_message"] = task.error_message
        return envelope(OK, "ok", data)

    # -- audit ----------------------------------------------------------------------------

    def audit(self, body: Mapping[str, object]) -> Reply:
        knobs = self.controls.knobs
        now = self.clock()
        rows: list[AssetRow] = []
        failed: list[dict[str, str]] = []
        for key, kind in (
            ("image_urls", "image"),
            ("video_urls", "video"),
            ("audio_urls", "audio"),
        ):
            urls = body.get(key, [])
            if urls is None:
                continue
            if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
                return envelope(BAD_REQUEST, f"{key} must be an array of strings")
            for url in urls:
                if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                    failed.append({"original_url": str(url), "error": "invalid url"})
                    continue
                pattern = knobs.reject_audit_pattern
                outcome = "Rejected" if pattern and pattern in url else "Active"
                rows.append(
                    AssetRow(f"asset-{uuid.uuid4().hex[:20]}", url, kind, now,
                             now + knobs.audit_seconds, outcome)
                )  # fmt: skip
        if not rows and not failed:
            return envelope(BAD_REQUEST, "image_urls, video_urls or audio_urls is required")
        self.store.add_assets(rows)
        items = [
            {"asset_id": r.asset_id, "original_url": r.url, "asset_type": r.asset_type,
             "status": self._asset_status(r.asset_id) or "Pending"}
            for r in rows
        ]  # fmt: skip
        return envelope(OK, "ok", {"items": items, "failed_items": failed})

    def audit_status(self, body: Mapping[str, object]) -> Reply:
        ids = body.get("asset_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            return envelope(BAD_REQUEST, "asset_ids is required (array of strings)")
        items = []
        for asset_id in ids:
            status = self._asset_status(str(asset_id))
            if status is not None:
                items.append({"asset_id": asset_id, "status": status})
            else:
                items.append({"asset_id": asset_id, "status": "Failed"})
        return envelope(OK, "ok", {"items": items})

    # -- account --------------------------------------------------------------------------

    def user_balance(self) -> Reply:
        bal = self.store.balance()
        data = {"balance": bal.balance, "used_coin": round(bal.used_coin, 6),
                "available": bal.available}  # fmt: skip
        return envelope(20000, "ok", data)

    def key_balance(self) -> Reply:
        bal = self.store.balance()
        total = self.config.key_total_quota
        data = {
            "name": "emulator-key",
            "total_quota": total,
            "used_quota": round(bal.used_coin, 6),
            "available_quota": round(max(0.0, total - bal.used_coin), 6) if total else 0,
            "unlimited": total == 0,
        }
        return envelope(20000, "ok", data)

    def catalog(self, search: str | None) -> Reply:
        return envelope(20000, "ok", {"list": self.prices.catalog(search)})
