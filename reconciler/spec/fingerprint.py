"""Fingerprints and billing estimates of desired videos.

The fingerprint is sha256 of canonical JSON (sorted keys, no spaces) of
``{"v": 1, "model", "params", "media", "take"}`` where ``media`` holds each asset's
*content hash* (not its name, URL or id) so moving media does not regenerate videos;
``params`` already has the route's defaults applied, so writing a default explicitly
changes nothing. ``description`` and ``labels`` are not part of it.

Billing units per mode:

* per second: ``duration`` (for ``seedance2.0-mini-video`` the vendor adds the first
  reference video's length, unknown before generation, so the estimate is ``duration``);
* per task: 1;
* per million tokens: an estimate in *millions of tokens*, so that cost is always
  ``units * unit_price``: ``duration * tokens_per_second(resolution) / 1e6`` with the
  rates of capabilities.yaml (width * height * 24 fps / 1024).
"""

from __future__ import annotations

import hashlib
import json

from pydantic import JsonValue

from reconciler.model import Billing, BillingMode
from reconciler.spec.capabilities import ModelCaps

FINGERPRINT_VERSION = 1
# Canonical JSON: sorted keys, no spaces. One encoder for every video (``json.dumps``
# with these options builds a new one per call); the document is built below and never
# refers to itself, so the encoder's cycle check (~15% of encoding) is skipped.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False
)


def fingerprint(
    model: str,
    params: dict[str, JsonValue],
    media_hashes: dict[str, tuple[str, ...]],
    take: int,
) -> str:
    document = {
        "v": FINGERPRINT_VERSION,
        "model": model,
        "params": params,
        "media": media_hashes,  # tuples encode as JSON lists
        "take": take,
    }
    text = _CANONICAL.encode(document)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# What ``billing`` reads of an instance (model, duration, resolution, whether it has
# reference videos): instances equal in these are billed the same.
BillingInputs = tuple[str, JsonValue, JsonValue, bool]


def billing_inputs(
    caps: ModelCaps, params: dict[str, JsonValue], media: dict[str, tuple[str, ...]]
) -> BillingInputs:
    has_videos = bool(media.get("reference_videos"))
    return caps.name, params.get("duration"), params.get("resolution"), has_videos


def billing(
    caps: ModelCaps, params: dict[str, JsonValue], media: dict[str, tuple[str, ...]]
) -> Billing:
    mode = caps.billing.mode
    duration = params.get("duration")
    seconds = (
        float(duration) if isinstance(duration, int | float) else float(caps.duration.default or 0)
    )
    units: float
    if mode is BillingMode.PER_TASK:
        units = 1.0
    elif mode is BillingMode.PER_SECOND:
        units = seconds
    else:
        resolution = caps.resolution_of(dict(params)) or "720p"
        rate = caps.billing.tokens_per_second.get(resolution)
        if rate is None and caps.billing.tokens_per_second:
            rate = max(caps.billing.tokens_per_second.values())
        units = seconds * (rate or 0.0) / 1_000_000
    has_videos = bool(media.get("reference_videos"))
    return Billing(mode=mode, units=units, price_key=caps.price_key(dict(params), has_videos))
