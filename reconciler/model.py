"""The desired state: what the specs ask for, validated, resolved and fingerprinted.

The loader (``reconciler.spec``) produces a ``Desired``; the planner compares it with a
``Snapshot`` of the state. Everything here is plain, frozen data.

The desired-state types (``SourcePos``, ``DesiredAsset``, ``Billing``, ``DesiredVideo``,
``Desired``) are frozen, slotted dataclasses rather than pydantic models: a plan of
100,000 videos holds 100,000 of them (issue 9, docs/PERFORMANCE.md). Only the loader
builds them from user input, after it has checked every value, so they need no
validation of their own. Their dict fields (``params``, ``matrix``, ``media``,
``labels``) may be *shared* between instances with equal values (the loader shares
label sets, for one): treat them as read-only, like the rest of the instance.
``Frozen`` stays the pydantic base of the other data models (plan, state records).

Addresses (stable, documented in the README):

* ``video.<name>`` for a plain video;
* ``video.<name>[k=v,k2=v2]`` for one combination of a ``matrix`` (keys sorted);
* a ``#N`` suffix for take N >= 2 of ``takes`` (take 1 has no suffix, so raising
  ``takes`` from 1 to 2 only adds ``...#2``);
* ``asset.<name>`` for a named asset.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, JsonValue

# Media fields of the create endpoint. The two frame fields take one reference, the
# others a list; ``DesiredVideo.media`` keeps every field as a tuple either way.
SINGLE_MEDIA_FIELDS: tuple[str, ...] = ("first_image", "last_image")
LIST_MEDIA_FIELDS: tuple[str, ...] = ("images", "reference_videos", "reference_audios")
MEDIA_FIELDS: tuple[str, ...] = ("images", "first_image", "last_image", *LIST_MEDIA_FIELDS[1:])


class Frozen(BaseModel):
    """Base of every data model: immutable, strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True, slots=True)
class SourcePos:
    """Where something was written: a project-relative path and a 1-based position."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class AssetType(enum.StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"


class LinkForm(enum.StrEnum):
    """How a route wants media referenced (API-FACTS §5)."""

    ASSET_AUDIT = "asset_audit"  # the Full route: ``asset://ID`` of an audited, Active asset
    HTTPS = "https"  # a public https URL
    HTTPS_OR_ASSET = "https_or_asset"  # either


class BillingMode(enum.StrEnum):
    """How a route is billed (API-FACTS §8)."""

    PER_SECOND = "per_second"
    PER_TASK = "per_task"
    PER_MILLION_TOKENS = "per_million_tokens"


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredAsset:
    """A named piece of media, usable by any video.

    ``content_hash`` is what identifies the asset in the state and in fingerprints:
    ``sha256:<hex>`` of the file's bytes (or of the pinned ``sha256``), or
    ``url:<sha256 of the URL text>`` for an unpinned URL.
    """

    name: str
    type: AssetType
    file: str | None = None  # project-relative POSIX path
    url: str | None = None
    content_hash: str
    source: SourcePos

    @property
    def address(self) -> str:
        return f"asset.{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Billing:
    """What one generation of a video is billed as."""

    mode: BillingMode
    # Seconds, tasks (1), or an estimate in millions of tokens, per ``mode``: the cost is
    # always ``units * unit_price``.
    units: float
    price_key: str  # the vendor's billing name, looked up in the price table


class Price(Frozen):
    """One entry of the price table: the price of one billable unit of ``mode``."""

    mode: BillingMode
    unit_price: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DesiredVideo:
    """One generation the specs ask for (one matrix combination, one take).

    ``params`` holds every create-endpoint field but the media ones, with the route's
    defaults applied, so writing a default explicitly does not change the fingerprint.
    ``media`` maps a media field to its references, each an asset address
    (``asset.<name>``), a literal ``https://`` URL, or ``asset://<id>``.
    """

    address: str
    name: str
    take: int = 1
    matrix: dict[str, str] = dataclasses.field(default_factory=dict)
    model: str
    params: dict[str, JsonValue]
    media: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    fingerprint: str
    billing: Billing
    link_form: LinkForm = LinkForm.HTTPS
    description: str | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    source: SourcePos

    def spec_view(self) -> dict[str, JsonValue]:
        """The generative fields as one flat mapping, for diffs and the state."""
        view: dict[str, JsonValue] = {"model": self.model, **self.params}
        for field, refs in sorted(self.media.items()):
            view[field] = refs[0] if field in SINGLE_MEDIA_FIELDS else list(refs)
        return view


@dataclass(frozen=True, slots=True, kw_only=True)
class Desired:
    """Everything the specs ask for. Videos and assets are sorted by address."""

    videos: tuple[DesiredVideo, ...]
    assets: tuple[DesiredAsset, ...] = ()
    specs_digest: str

    def video_map(self) -> Mapping[str, DesiredVideo]:
        return {video.address: video for video in self.videos}


def video_address(name: str, matrix: Mapping[str, str] | None = None, take: int = 1) -> str:
    """The stable address of one instance of a video (see the module docstring)."""
    address = f"video.{name}"
    if matrix:
        address += "[" + ",".join(f"{key}={matrix[key]}" for key in sorted(matrix)) + "]"
    if take > 1:
        address += f"#{take}"
    return address


def media_refs(spec: Mapping[str, JsonValue]) -> Iterator[tuple[str, str]]:
    """Every (media field, reference) of a create body or a ``spec_view``."""
    for field in MEDIA_FIELDS:
        value = spec.get(field)
        values = value if isinstance(value, list) else [value]
        for ref in values:
            if isinstance(ref, str):
                yield field, ref
