"""The capability table: what each Seedance model accepts, and how it is billed.

The facts live in ``capabilities.yaml`` next to this module (data, with the reason for
every deliberate pick between conflicting sources). This module owns their typed form
(``ModelCaps``), merging the project's ``models:`` overrides over them, and the small
derived rules the loader and the planner share (effective resolution, price key).
"""

from __future__ import annotations

import functools
import importlib.resources
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from ruamel.yaml import YAML

from reconciler.model import BillingMode

FrameRule = Literal["none", "either", "both_required", "last_needs_first"]
AudioPairing = Literal["alone_ok", "images_or_videos", "images_videos_or_frames", "images"]
MediaLink = Literal["asset_audit", "https", "https_or_asset"]


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DurationRule(_Data):
    """Allowed ``duration``: a range, or an explicit set of values."""

    min: int | None = None
    max: int | None = None
    allowed: tuple[int, ...] | None = None
    default: int | None = None

    @model_validator(mode="after")
    def _range_or_set(self) -> DurationRule:
        if self.allowed is None and (self.min is None or self.max is None):
            raise ValueError("give either min and max, or allowed")
        return self

    def accepts(self, value: int) -> bool:
        if self.allowed is not None:
            return value in self.allowed
        assert self.min is not None and self.max is not None
        return self.min <= value <= self.max

    def describe(self) -> str:
        if self.allowed is not None:
            return " or ".join(str(v) for v in self.allowed) + " seconds"
        return f"{self.min}-{self.max} seconds"


class ExtraField(_Data):
    """A route-specific create field (generate_audio, reference_mode, ...)."""

    type: Literal["bool", "enum"]
    values: tuple[str, ...] = ()
    default: bool | str | None = None


class BillingRule(_Data):
    mode: BillingMode
    price_key: str  # template: {model}, {canonical}, {resolution}
    price_key_video: str | None = None  # used when the request has reference videos
    tokens_per_second: dict[str, float] = {}  # per resolution; token-billed routes only


class ModelCaps(_Data):
    """Everything one ``model`` value accepts (see capabilities.yaml for field meanings)."""

    name: str
    family: str
    alias_of: str | None = None
    why: str | None = None
    duration: DurationRule
    ratios: tuple[str, ...]
    ratio_default: str | None = None
    resolutions: tuple[str, ...] = ()
    resolution_default: str | None = None
    fixed_resolution: str | None = None
    max_images: int | None = None
    max_videos: int | None = None
    max_audios: int | None = None
    images_count_frames: bool = False
    frames: FrameRule = "either"
    frames_exclusive_refs: bool = False
    audio_pairing: AudioPairing = "alone_ok"
    audio_in_frame_mode: bool = True
    requires_reference_videos: bool = False
    prompt_max: int | None = None
    media_link: MediaLink
    extra_asset_schemes: tuple[str, ...] = ()  # e.g. GZ's assetId://ID besides asset://
    billing: BillingRule
    extra_fields: dict[str, ExtraField] = {}
    field_aliases: dict[str, str] = {}

    @property
    def canonical(self) -> str:
        return self.alias_of or self.name

    def resolution_of(self, params: dict[str, object]) -> str | None:
        """The resolution a request with these params generates at."""
        value = params.get("resolution")
        if isinstance(value, str):
            return value
        return self.fixed_resolution or self.resolution_default

    def price_key(self, params: dict[str, object], has_videos: bool) -> str:
        template = self.billing.price_key
        if has_videos and self.billing.price_key_video:
            template = self.billing.price_key_video
        resolution = self.resolution_of(params) or "default"
        return template.format(model=self.name, canonical=self.canonical, resolution=resolution)


class CapabilityTable(_Data):
    """Every known model, by the exact ``model`` string a spec may use."""

    models: dict[str, ModelCaps] = Field(default_factory=dict)

    def get(self, name: str) -> ModelCaps | None:
        return self.models.get(name)

    def names(self) -> list[str]:
        return sorted(self.models)

    def with_overrides(self, overrides: dict[str, dict[str, object]]) -> CapabilityTable:
        """The table with project ``models:`` entries added or merged over the built-ins.

        An entry may name ``like: <model>`` to start from that model's rules; an entry for
        a known name starts from that model; otherwise it must be complete.
        Raises ``ValueError`` (with a readable message) for a bad entry.
        """
        merged = dict(self.models)
        for name, entry in overrides.items():
            merged[name] = build_override(self, name, entry)
        return CapabilityTable(models=merged)


def _deep_merge(base: dict[str, object], extra: dict[str, object]) -> dict[str, object]:
    out = dict(base)
    for key, value in extra.items():
        current = out.get(key)
        if isinstance(current, dict) and isinstance(value, dict) and key != "duration":
            out[key] = _deep_merge(current, value)
        else:
            out[key] = value
    return out


def build_override(table: CapabilityTable, name: str, entry: dict[str, object]) -> ModelCaps:
    fields = dict(entry)
    like = fields.pop("like", None)
    if like is not None and not isinstance(like, str):
        raise ValueError("`like` must be a model name")
    base_name = like if isinstance(like, str) else name
    base = table.get(base_name)
    if like is not None and base is None:
        raise ValueError(f"`like: {like}` names an unknown model")
    start: dict[str, object] = base.model_dump(mode="json") if base is not None else {}
    if base is not None and like is not None:
        start["alias_of"] = None
        start["why"] = None
    start["name"] = name
    start.setdefault("family", "custom")
    try:
        return ModelCaps.model_validate(_deep_merge(start, fields))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or name}: {err['msg']}"
            for err in exc.errors()[:5]
        )
        raise ValueError(problems) from None


@functools.cache
def builtin_table() -> CapabilityTable:
    """The shipped table, parsed once per process (it is immutable)."""
    text = (
        importlib.resources.files("reconciler.spec")
        .joinpath("capabilities.yaml")
        .read_text(encoding="utf-8")
    )
    # The shipped file is trusted data and uses YAML merge keys, so it is *loaded*
    # (safe constructor), unlike user specs which are only composed.
    raw = YAML(typ="safe", pure=False).load(text)
    models: dict[str, ModelCaps] = {}
    for family, spec in raw["families"].items():
        family_fields = {k: v for k, v in spec.items() if k != "models"}
        for name, overrides in spec["models"].items():
            entry = _deep_merge(family_fields, dict(overrides or {}))
            entry.pop("<<", None)
            entry["name"] = name
            entry["family"] = str(family)
            models[name] = ModelCaps.model_validate(entry)
    return CapabilityTable(models=models)
