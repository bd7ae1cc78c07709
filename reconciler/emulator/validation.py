"""Validation of a create body against its route's rules, the way the vendor answers it.

`validate_create` returns either a `CreateRequest` (the normalised task parameters) or a
`Rejection` with the message the emulator sends back as code 20002. It checks types, the model,
duration, ratio, resolution, counts, images-vs-frames exclusivity, audio pairing and the media
link form; Full/Manxue references are looked up in the audit store through `asset_status`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.emulator.routes import Frames, Media, Route, RouteTable, is_seedance25

_ASSET_RE = re.compile(r"^asset://([A-Za-z0-9_\-.]+)$")
_ASSET_ID_RE = re.compile(r"^assetId://([A-Za-z0-9_\-.]+)$")
SEEDANCE25_PATH = "/api/open-api/v1/seedance25/videos"


@dataclass(frozen=True, slots=True)
class CreateRequest:
    model: str
    route: Route
    prompt: str
    duration: int
    resolution: str


@dataclass(frozen=True, slots=True)
class Rejection:
    message: str


class _Invalid(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _string(body: Mapping[str, object], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"{key} must be a string")
    return value


def _strings(body: Mapping[str, object], key: str) -> list[str]:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Invalid(f"{key} must be an array of strings")
    return [v for v in value if isinstance(v, str) and v]


def _check_link(
    field: str, link: str, route: Route, asset_status: Callable[[str], str | None]
) -> None:
    asset = _ASSET_RE.match(link)
    if route.media is Media.ASSET_ONLY:
        if asset is None:
            raise _Invalid(
                f"{field}: {route.model} only accepts asset://{{assetId}} references from "
                "/seedance/assets/audit; plain URLs are not allowed"
            )
        status = asset_status(asset.group(1))
        if status is None:
            raise _Invalid(f"{field}: asset {asset.group(1)} does not exist")
        if status != "Active":
            raise _Invalid(f"{field}: asset {asset.group(1)} is {status}, not Active")
        return
    if link.startswith("https://"):
        return
    if route.media is Media.HTTPS_ONLY:
        raise _Invalid(f"{field}: {route.model} only accepts public https:// URLs")
    # SP / GZ / Mini: a reviewed library asset. The emulator does not model the SP library, so a
    # well-formed id is accepted unless the audit store knows it as not Active.
    if asset is None and route.family == "gz":
        asset = _ASSET_ID_RE.match(link)
    if asset is None:
        raise _Invalid(f"{field}: must be an https:// URL or asset://{{assetId}}")
    status = asset_status(asset.group(1))
    if status is not None and status != "Active":
        raise _Invalid(f"{field}: asset {asset.group(1)} is {status}, not Active")


def _duration(body: Mapping[str, object], route: Route) -> int:
    raw = body.get("duration")
    if raw is None:
        return route.duration_default
    if isinstance(raw, bool) or not isinstance(raw, int):
        if isinstance(raw, float) and raw.is_integer():
            raw = int(raw)
        else:
            raise _Invalid("duration must be an integer number of seconds")
    if route.duration_set is not None:
        if raw not in route.duration_set:
            allowed = " or ".join(str(d) for d in sorted(route.duration_set))
            raise _Invalid(f"duration {raw} not supported by {route.model}; use {allowed}")
    elif not route.duration_min <= raw <= route.duration_max:
        raise _Invalid(
            f"duration {raw} out of range for {route.model} "
            f"({route.duration_min}-{route.duration_max} seconds)"
        )
    return raw


def _check(
    body: Mapping[str, object], routes: RouteTable, asset_status: Callable[[str], str | None]
) -> CreateRequest:
    model = _string(body, "model")
    if not model:
        raise _Invalid("model is required")
    if is_seedance25(model):
        # The vendor's wrong-path guard message, verbatim form (API-FACTS §7).
        raise _Invalid(f"model {model} 请改用 POST {SEEDANCE25_PATH}\uff0c勿使用 /seedance/videos")
    resolved = routes.resolve(model)
    if resolved is None:
        raise _Invalid(f"不支持的模型参数: unknown model {model}")
    route = resolved.route
    prompt = _string(body, "prompt")
    if not prompt or not prompt.strip():
        raise _Invalid("prompt is required")
    if route.prompt_max is not None and len(prompt) > route.prompt_max:
        raise _Invalid(f"prompt is longer than {route.prompt_max} characters")
    duration = _duration(body, route)

    ratio = _string(body, "ratio")
    if route.aliases:
        ratio = _string(body, "aspect_ratio") or ratio
    orientation = _string(body, "orientation")
    if orientation is not None and orientation not in ("landscape", "portrait"):
        raise _Invalid("orientation must be landscape or portrait")

    resolution = _string(body, "resolution")
    if route.resolutions:
        if resolution is None:
            resolution = resolved.name_resolution or route.resolution_default
        elif resolution not in route.resolutions:
            raise _Invalid(
                f"resolution {resolution} not supported by {route.model} "
                f"(allowed: {', '.join(route.resolutions)})"
            )
    else:
        # Fixed by the model: the field is ignored (MD / STD / Fast-I2V / Full).
        resolution = _fixed_resolution(route)

    images = _strings(body, "images")
    videos = _strings(body, "reference_videos")
    audios = _strings(body, "reference_audios")
    if route.aliases:
        images = images or _strings(body, "reference_images")
        videos = videos or _strings(body, "videos")
        audios = audios or _strings(body, "audios")
    first = _string(body, "first_image") or None
    last = _string(body, "last_image") or None
    frames = [f for f in (first, last) if f]

    if ratio is not None:
        if ratio not in route.ratios:
            raise _Invalid(
                f"ratio {ratio} not supported by {route.model} "
                f"(allowed: {', '.join(sorted(route.ratios))})"
            )
        if route.adaptive_needs_refs and ratio == "adaptive" and not (images or videos or audios):
            raise _Invalid("ratio adaptive needs reference images, videos or audios")

    for flag in ("generate_audio", "face_processing", "watermark"):
        if flag in body and body[flag] is not None and not isinstance(body[flag], bool):
            raise _Invalid(f"{flag} must be a boolean")
    mode = _string(body, "reference_mode")
    if mode is not None and route.reference_modes and mode not in route.reference_modes:
        allowed_modes = ", ".join(sorted(route.reference_modes))
        raise _Invalid(f"reference_mode {mode} not supported (allowed: {allowed_modes})")

    if images and frames:
        raise _Invalid("images and first_image/last_image cannot be used together")
    if frames and route.frames is Frames.NONE:
        raise _Invalid(f"{route.model} does not support first_image/last_image")
    if frames and route.frames is Frames.BOTH and not (first and last):
        raise _Invalid(f"{route.model} frame mode needs both first_image and last_image")
    if last and not first and route.frames is Frames.LAST_NEEDS_FIRST:
        raise _Invalid("last_image requires first_image")
    if frames and route.frames_exclude_refs and (videos or audios):
        raise _Invalid("first_image/last_image cannot be combined with reference videos or audios")
    if route.no_gif and any(i.lower().split("?")[0].endswith(".gif") for i in images + frames):
        raise _Invalid(f"{route.model} does not accept GIF images")
    image_count = len(images) + (len(frames) if route.images_count_frames else 0)
    if route.max_images is not None and image_count > route.max_images:
        raise _Invalid(f"too many images: at most {route.max_images} for {route.model}")

    if videos and not route.videos:
        raise _Invalid(f"{route.model} does not support reference_videos")
    if route.max_videos is not None and len(videos) > route.max_videos:
        raise _Invalid(f"too many reference_videos: at most {route.max_videos}")
    if route.requires_videos and not videos:
        raise _Invalid(f"{model} requires reference_videos")
    if audios:
        if not route.audios:
            raise _Invalid(f"{route.model} does not support reference_audios")
        if route.max_audios is not None and len(audios) > route.max_audios:
            raise _Invalid(f"too many reference_audios: at most {route.max_audios}")
        if frames and not route.audio_in_frame_mode:
            raise _Invalid("reference_audios cannot be used in frame mode")
        present = {k for k, v in (("images", images), ("videos", videos), ("frames", frames)) if v}
        if route.audio_pairs_with and not present & route.audio_pairs_with:
            needs = " or ".join(sorted(route.audio_pairs_with))
            raise _Invalid(f"reference_audios cannot be sent alone; add {needs}")

    for field, links in (
        ("images", images),
        ("first_image", [first] if first else []),
        ("last_image", [last] if last else []),
        ("reference_videos", videos),
        ("reference_audios", audios),
    ):
        for link in links:
            _check_link(field, link, route, asset_status)
    return CreateRequest(model, route, prompt, duration, resolution)


def _fixed_resolution(route: Route) -> str:
    for res in ("1080p", "720p", "480p", "2k", "4k"):
        if route.model.endswith(res):
            return res
    return "720p"


def validate_create(
    body: Mapping[str, object],
    routes: RouteTable,
    asset_status: Callable[[str], str | None],
) -> CreateRequest | Rejection:
    try:
        return _check(body, routes, asset_status)
    except _Invalid as err:
        return Rejection(err.message)
