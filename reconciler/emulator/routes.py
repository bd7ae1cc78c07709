"""The emulator's own table of Seedance 2.0 routes on POST /seedance/videos (API-FACTS §4).

Each accepted ``model`` string resolves to a `Route`: the canonical model, the limits that the
vendor documents for it, its media-link form and how it is billed. The emulator keeps this table
to itself on purpose (it may not import the reconciler's own model rules), so a client bug and an
emulator bug cannot cancel out.

Where the two documentation eras disagree (API-FACTS §11) the Era-B value is used, because Era B
(api.viraltok.ai) is the newer publication of the same API; each such choice is marked "Era B".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum


class Media(Enum):
    """Which link forms a route accepts in its media fields (API-FACTS §5)."""

    ASSET_ONLY = "asset_only"  # Full/Manxue: asset://ID of an Active audited asset
    HTTPS_ONLY = "https_only"  # MD, STD, Fast-I2V, fixed-resolution
    HTTPS_OR_ASSET = "https_or_asset"  # everything else


class Frames(Enum):
    """Frame-mode rule of a route."""

    NONE = "none"  # no first_image / last_image
    ANY = "any"  # first, last or both
    BOTH = "both"  # MD: both required when frame mode is used
    LAST_NEEDS_FIRST = "last_needs_first"  # GZ / fixed-res


class Billing(Enum):
    PER_SECOND = "per_second"
    PER_TASK = "per_task"
    PER_MILLION_TOKENS = "per_million_tokens"


RATIOS_FULL = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "Adaptive"})
RATIOS_SIX = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4", "21:9"})
RATIOS_THREE = frozenset({"16:9", "9:16", "1:1"})
RATIOS_GZ = RATIOS_SIX | {"adaptive"}
RATIOS_933_720 = frozenset({"16:9", "9:16", "1:1", "4:3", "3:4"})
RES_ALL = ("480p", "720p", "1080p")


@dataclass(frozen=True, slots=True)
class Route:
    """The documented rules of one canonical model."""

    model: str
    family: str
    billing: Billing
    # Price key into the emulator's price table (`pricing.py`); "{res}" is filled in.
    price_name: str
    duration_min: int = 4
    duration_max: int = 15
    duration_default: int = 5
    duration_set: frozenset[int] | None = None
    ratios: frozenset[str] = RATIOS_SIX
    # Allowed `resolution` values; empty = fixed by the model (the field is ignored).
    resolutions: tuple[str, ...] = ()
    resolution_default: str = "720p"
    max_images: int | None = None
    videos: bool = True
    max_videos: int | None = None
    audios: bool = True
    max_audios: int | None = None
    # Audio must come with one of these (empty = no pairing rule documented).
    audio_pairs_with: frozenset[str] = frozenset()
    audio_in_frame_mode: bool = True
    frames: Frames = Frames.ANY
    frames_exclude_refs: bool = False
    images_count_frames: bool = False
    no_gif: bool = False
    media: Media = Media.HTTPS_OR_ASSET
    prompt_max: int | None = None
    # 933 / GZ / fixed-res accept aspect_ratio, reference_images, videos, audios aliases.
    aliases: bool = False
    reference_modes: frozenset[str] = frozenset()
    requires_videos: bool = False
    adaptive_needs_refs: bool = False


_PAIR_ALL = frozenset({"images", "videos", "frames"})
_PAIR_REFS = frozenset({"images", "videos"})


def _build_table() -> dict[str, Route]:
    table: dict[str, Route] = {}

    def add(route: Route, *aliases: str) -> None:
        table[route.model] = route
        for alias in aliases:
            table[alias] = route

    # Full / Manxue (§4.1). Era B: duration 4-15 (Era A said 4-12).
    for res in ("720p", "1080p", "2k", "4k"):
        for kind, has_video in (("", False), ("video_", True)):
            name = f"sd2_mx_{kind}{res}"
            legacy = (f"sd2-manxue-{res}",) if not kind else ()
            add(
                Route(
                    name,
                    "full",
                    Billing.PER_SECOND,
                    name,
                    ratios=RATIOS_FULL,
                    videos=has_video,
                    media=Media.ASSET_ONLY,
                ),
                *legacy,
            )
    for res in ("720p", "1080p"):
        for kind, has_video in (("fast_", False), ("video_fast_", True)):
            name = f"sd2_mx_{kind}{res}"
            add(
                Route(
                    name,
                    "full",
                    Billing.PER_SECOND,
                    name,
                    ratios=RATIOS_FULL,
                    videos=has_video,
                    media=Media.ASSET_ONLY,
                )
            )

    # SP (§4.2). Era B: economy SP accepts only 720p/1080p; official keeps 480p.
    # fast-sp has no reference videos (vendor skill; the only source that says anything).
    for name, resolutions, has_video in (
        ("seedance2.0-sp", ("720p", "1080p"), True),
        ("seedance2.0-fast-sp", ("720p", "1080p"), False),
        ("seedance2.0-of-sp", RES_ALL, True),
        ("seedance2.0-of-fast-sp", RES_ALL, True),
    ):
        add(
            Route(
                name,
                "sp",
                Billing.PER_SECOND,
                name + "-{res}",
                resolutions=resolutions,
                videos=has_video,
                audio_pairs_with=_PAIR_ALL,
            )
        )

    # Mini (§4.3); billing names are accepted as model (resolution parsed from the name).
    for name, has_video in (("seedance2.0-mini", False), ("seedance2.0-mini-video", True)):
        add(
            Route(
                name,
                "mini",
                Billing.PER_SECOND,
                name.replace("-video", "") + "-{res}" + ("-video" if has_video else ""),
                resolutions=RES_ALL,
                videos=has_video,
                audio_pairs_with=_PAIR_ALL,
            )
        )
    # Mini-SP (§4.4): per task (reference docs; Era-B docs still say per task).
    add(
        Route(
            "seedance2.0-mini-sp",
            "mini-sp",
            Billing.PER_TASK,
            "seedance2.0-mini-sp-{res}",
            resolutions=("480p", "720p"),
            audio_pairs_with=_PAIR_ALL,
        )
    )

    # MD / Pro (§4.5). Era B OpenAPI: fast-md, pro, fast-pro only 10 or 15 s; md/fast-md at
    # most 1 audio clip, pro/fast-pro at most 3, paired with images.
    ten_or_fifteen = frozenset({10, 15})
    md = Route(
        "seedance2.0-md",
        "md",
        Billing.PER_TASK,
        "seedance2.0-md",
        ratios=RATIOS_THREE,
        frames=Frames.BOTH,
        no_gif=True,
        media=Media.HTTPS_ONLY,
        prompt_max=5000,
        audio_pairs_with=frozenset({"images"}),
        max_images=4,
        max_videos=3,
        max_audios=1,
    )
    add(md)
    add(
        replace(
            md,
            model="seedance2.0-fast-md",
            price_name="seedance2.0-fast-md",
            duration_set=ten_or_fifteen,
        )
    )
    for name in ("seedance2.0-pro", "seedance2.0-fast-pro"):
        add(
            replace(
                md,
                model=name,
                price_name=name,
                duration_set=ten_or_fifteen,
                max_images=9,
                videos=False,
                max_audios=3,
            )
        )

    # Fast I2V (§4.6) and STD (§4.7).
    add(
        Route(
            "seedance2.0-fast-i2v",
            "fast-i2v",
            Billing.PER_TASK,
            "seedance2.0-fast-i2v",
            duration_min=1,
            ratios=RATIOS_THREE,
            max_images=9,
            images_count_frames=True,
            videos=False,
            audios=False,
            media=Media.HTTPS_ONLY,
            prompt_max=5000,
        )
    )
    add(
        Route(
            "seedance2.0-std",
            "std",
            Billing.PER_TASK,
            "seedance2.0-std",
            max_images=9,
            max_audios=3,
            audio_in_frame_mode=False,
            media=Media.HTTPS_ONLY,
        )
    )

    # GZ and official Mini (§4.8, §4.9). Era B (later page): multi-resolution, token-billed.
    gz = Route(
        "seedance2.0-gz",
        "gz",
        Billing.PER_MILLION_TOKENS,
        "seedance2.0-gz",
        ratios=RATIOS_GZ,
        max_images=9,
        max_videos=3,
        max_audios=3,
        audio_pairs_with=_PAIR_REFS,
        frames=Frames.LAST_NEEDS_FIRST,
        frames_exclude_refs=True,
        aliases=True,
        resolutions=RES_ALL,
    )
    for base, resolutions in (
        ("seedance2.0-gz", RES_ALL),
        ("seedance2.0-gz-fast", ("480p", "720p")),
        ("seedance2.0-gz-mini", ("480p", "720p")),
    ):
        plain = replace(gz, model=base, price_name=base, resolutions=resolutions)
        add(plain)
        add(replace(plain, model=base + "-video", requires_videos=True))
    # 933 (§4.10): default duration 4, default resolution 480p.
    add(
        Route(
            "seedance2.0-933",
            "933",
            Billing.PER_SECOND,
            "seedance2.0-933-{res}",
            duration_default=4,
            ratios=RATIOS_SIX,
            resolutions=RES_ALL,
            resolution_default="480p",
            max_images=9,
            max_videos=3,
            max_audios=3,
            prompt_max=5000,
            aliases=True,
            reference_modes=frozenset({"image", "frame"}),
        ),
        "seedance-2.0-933",
        "seedance20933",
        "seedance2_0_933",
    )
    # sd2-933-720p (§4.11).
    add(
        Route(
            "sd2-933-720p",
            "933-720p",
            Billing.PER_SECOND,
            "sd2-933-720p",
            ratios=RATIOS_933_720,
            max_images=9,
            max_videos=3,
            max_audios=3,
            audio_pairs_with=_PAIR_REFS,
            prompt_max=5000,
            aliases=True,
            reference_modes=frozenset({"frame", "media", "image"}),
        ),
        "sd2_933_720p",
        "sd2-933720p",
        "sd2-adb-720p",
    )
    # Fixed-resolution standard (§4.12): 4-30 s, https only, adaptive only with references.
    for res in ("480p", "720p", "1080p", "4k"):
        name = f"seedance-2.0-{res}"
        add(
            Route(
                name,
                "fixed-res",
                Billing.PER_SECOND,
                name,
                duration_max=30,
                ratios=RATIOS_THREE | {"adaptive"},
                max_images=9,
                max_videos=3,
                max_audios=3,
                audio_pairs_with=_PAIR_REFS,
                frames=Frames.LAST_NEEDS_FIRST,
                frames_exclude_refs=True,
                media=Media.HTTPS_ONLY,
                prompt_max=5000,
                aliases=True,
                adaptive_needs_refs=True,
            ),
            f"seedance2.0-{res}",
            f"seedance20-{res}",
        )
    return table


@dataclass(frozen=True, slots=True)
class Resolved:
    route: Route
    # Resolution implied by the model name (billing-name aliases), if any.
    name_resolution: str | None


class RouteTable:
    """Resolves a request's ``model`` string to its `Route`."""

    def __init__(self) -> None:
        self._table = _build_table()

    def resolve(self, model: str) -> Resolved | None:
        route = self._table.get(model)
        if route is not None:
            return Resolved(route, None)
        # Billing names with a resolution suffix: mini, 933, gz, gz-mini (§4.3, §4.8-4.10).
        for res in RES_ALL:
            for suffix in (f"-{res}-video", f"-{res}"):
                if model.endswith(suffix):
                    base = model[: -len(suffix)] + ("-video" if "video" in suffix else "")
                    found = self._table.get(base)
                    # Mini-SP does not take its billing names as model (API-FACTS §4.3).
                    if found is not None and found.family != "mini-sp" and res in found.resolutions:
                        return Resolved(found, res)
        # GZ spellings: seedance2.0-gz-video-720p, seedance2.0-gz720p, seedance20-gz-720p.
        normal = model.replace("seedance20-", "seedance2.0-").replace("gz720p", "gz-720p")
        normal = normal.replace("-video-", "-").replace("-video", "")
        if normal != model:
            has_video = "video" in model
            for suffix_res in (None, *RES_ALL):
                base = normal if suffix_res is None else normal.removesuffix(f"-{suffix_res}")
                if suffix_res is not None and base == normal:
                    continue
                found = self._table.get(base + ("-video" if has_video else ""))
                if found is not None and found.family == "gz":
                    return Resolved(found, suffix_res)
        return None

    def models(self) -> list[str]:
        return sorted(self._table)


def is_seedance25(model: str) -> bool:
    """Models that belong on /seedance25/videos (API-FACTS §3.11, §4.13)."""
    low = model.lower().replace("_", "-")
    return low.startswith(("seedance-2.5", "seedance2.5", "seedance25", "sd2.5"))
