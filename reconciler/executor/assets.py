"""The asset pipeline: upload local files, audit what Full-route videos need, resolve refs.

Runs before any create (DESIGN §6 step 2). Each local file is uploaded once per content
hash; each audit is submitted once and polled until Active or Rejected. What the state
already has is reused. A failed upload or a rejected audit fails only the videos that use
that asset, with the vendor's reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue

from reconciler.api import AuditState, SeedanceClient
from reconciler.api.retry import RetryPolicy, retry_call
from reconciler.errors import ApiError, ReconcilerError
from reconciler.executor.events import Event, EventKind, Observer, StopSignal
from reconciler.executor.waiting import Writer
from reconciler.model import MEDIA_FIELDS, LinkForm
from reconciler.plan import AssetAction, AssetChange, Change
from reconciler.stateview import AssetRecord
from reconciler.store import StateStore


@dataclass
class Resolved:
    url: str | None = None
    audit_id: str | None = None
    failure: str | None = None


class AssetFailure(ReconcilerError):
    """A video cannot be sent because one of its assets is unusable."""


class AssetPipeline:
    def __init__(
        self,
        client: SeedanceClient,
        store: StateStore,
        writer: Writer,
        *,
        project_root: Path,
        observer: Observer,
        stop: StopSignal,
        audit_timeout: float = 900.0,
        poll_interval: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.writer = writer
        self.project_root = project_root
        self.observer = observer
        self.stop = stop
        self.audit_timeout = audit_timeout
        self.poll_interval = max(0.05, poll_interval)
        self.retry = retry if retry is not None else RetryPolicy()

    async def run(
        self, assets: tuple[AssetChange, ...], known: Mapping[str, AssetRecord]
    ) -> dict[str, Resolved]:
        resolved: dict[str, Resolved] = {}
        for asset in assets:
            record = known.get(asset.content_hash)
            resolved[asset.address] = Resolved(
                url=asset.url or (record.uploaded_url if record else None),
                audit_id=record.audit_asset_id if record else None,
            )
            if asset.action in (AssetAction.UPLOAD, AssetAction.UPLOAD_AND_AUDIT):
                await self._upload(asset, resolved[asset.address])
        auditing = [
            a
            for a in assets
            if a.action in (AssetAction.AUDIT, AssetAction.UPLOAD_AND_AUDIT)
            and resolved[a.address].failure is None
        ]
        if auditing:
            await self._audit(auditing, resolved)
        return resolved

    async def _upload(self, asset: AssetChange, into: Resolved) -> None:
        assert asset.file is not None
        source = self.project_root / asset.file
        try:
            # An upload is free and creates nothing billable: safe to repeat.
            uploaded = await retry_call(
                lambda: self.client.upload_file(source),
                policy=self.retry,
                retry_unknown=True,
            )
        except (ApiError, OSError) as error:
            into.failure = f"{asset.address}: upload of {asset.file} failed: {error}"
            self.observer(Event(EventKind.CREATE_FAILED, asset.address, into.failure))
            return
        into.url = uploaded.url
        await self.writer(
            self.store.upsert_asset, asset.content_hash, type=asset.type, uploaded_url=uploaded.url
        )
        self.observer(Event(EventKind.STATE, asset.address, "uploaded"))

    async def _audit(self, assets: list[AssetChange], resolved: dict[str, Resolved]) -> None:
        by_url = {resolved[a.address].url: a for a in assets if resolved[a.address].url}
        lists: dict[str, list[str]] = {"image": [], "video": [], "audio": []}
        for url, asset in by_url.items():
            assert url is not None
            lists[asset.type].append(url)
        try:
            submitted = await retry_call(
                lambda: self.client.submit_audit(
                    image_urls=lists["image"], video_urls=lists["video"], audio_urls=lists["audio"]
                ),
                policy=self.retry,
                retry_unreachable=True,
            )
        except ApiError as error:
            for asset in assets:
                resolved[asset.address].failure = f"{asset.address}: audit failed: {error}"
            return
        for failed in submitted.failed_items:
            refused = by_url.get(failed.url)
            if refused is not None:
                reason = failed.reason or "refused at submission"
                resolved[refused.address].failure = f"{refused.address}: audit refused: {reason}"
        pending: dict[str, AssetChange] = {}
        for item in submitted.items:
            found = by_url.get(item.original_url)
            if found is None:
                continue
            asset = found
            resolved[asset.address].audit_id = item.asset_id
            pending[item.asset_id] = asset
            await self.writer(
                self.store.upsert_asset,
                asset.content_hash,
                type=asset.type,
                audit_asset_id=item.asset_id,
                audit_status=item.raw_status,
            )
        await self._poll(pending, resolved)

    async def _poll(self, pending: dict[str, AssetChange], resolved: dict[str, Resolved]) -> None:
        deadline = time.monotonic() + self.audit_timeout
        delay = min(0.5, self.poll_interval)
        while pending and not self.stop.is_set() and time.monotonic() < deadline:
            try:
                items = await retry_call(
                    lambda: self.client.audit_status(sorted(pending)),
                    policy=self.retry,
                    retry_unknown=True,
                )
            except ApiError as error:
                self.observer(Event(EventKind.PROGRESS, "assets", f"audit poll failed: {error}"))
                items = []
            for item in items:
                asset = pending.get(item.asset_id)
                if asset is None or item.state is AuditState.PENDING:
                    continue
                del pending[item.asset_id]
                reason = None
                if item.state is AuditState.REJECTED:
                    reason = f"{asset.address}: rejected by the vendor's audit ({item.raw_status})"
                    resolved[asset.address].failure = reason
                await self.writer(
                    self.store.upsert_asset,
                    asset.content_hash,
                    type=asset.type,
                    audit_status=item.raw_status,
                    audit_reason=reason,
                )
                self.observer(Event(EventKind.STATE, asset.address, f"audit {item.raw_status}"))
            if pending:
                await asyncio.sleep(delay)
                delay = min(delay * 1.5, self.poll_interval)
        for asset in pending.values():
            resolved[asset.address].failure = f"{asset.address}: audit still pending"


def resolve_body(change: Change, resolved: Mapping[str, Resolved]) -> dict[str, JsonValue]:
    """The create body of ``change`` with each asset reference in the route's link form."""
    body: dict[str, JsonValue] = dict(change.spec or {})
    for field in MEDIA_FIELDS:
        value = body.get(field)
        if isinstance(value, str):
            body[field] = _resolve(value, change, resolved)
        elif isinstance(value, list):
            body[field] = [
                _resolve(ref, change, resolved) if isinstance(ref, str) else ref for ref in value
            ]
    return body


def _resolve(ref: str, change: Change, resolved: Mapping[str, Resolved]) -> str:
    if not ref.startswith("asset."):
        return ref
    found = resolved.get(ref)
    if found is None:
        raise AssetFailure(f"{ref} was not prepared by the plan")
    if found.failure:
        raise AssetFailure(found.failure)
    if change.link_form is LinkForm.ASSET_AUDIT:
        if not found.audit_id:
            raise AssetFailure(f"{ref} has no audited asset id")
        return f"asset://{found.audit_id}"
    if not found.url:
        raise AssetFailure(f"{ref} has no URL to send")
    return found.url
