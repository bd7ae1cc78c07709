"""The spec's capability table never accepts what the emulator refuses.

The two tables are written independently on purpose (the emulator imports nothing of
ours). Where the docs leave room, the spec side may be stricter (fewer ratios, no
asset:// where the docs only show URLs, ...), never looser: a spec that validates must
not be refused by the emulator for a documented limit. Billing modes must be equal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.emulator.routes import Frames, Media, RouteTable
from reconciler.emulator.validation import Rejection, validate_create
from reconciler.model import SINGLE_MEDIA_FIELDS, DesiredAsset, DesiredVideo
from reconciler.spec import ModelCaps, ProjectConfig, builtin_table, load_desired

TABLE = builtin_table()
ROUTES = RouteTable()

_MEDIA_OK = {
    "asset_audit": {Media.ASSET_ONLY},
    "https": {Media.HTTPS_ONLY, Media.HTTPS_OR_ASSET},
    "https_or_asset": {Media.HTTPS_OR_ASSET},
}
_FRAMES_OK = {
    "none": set(Frames),
    "either": {Frames.ANY},
    "both_required": {Frames.BOTH, Frames.ANY},
    "last_needs_first": {Frames.LAST_NEEDS_FIRST, Frames.ANY},
}


def _at_most(ours: int | None, theirs: int | None) -> bool:
    return theirs is None or (ours is not None and ours <= theirs)


@pytest.mark.parametrize("name", TABLE.names())
def test_spec_rules_fit_inside_the_emulator(name: str) -> None:
    caps: ModelCaps = TABLE.models[name]
    resolved = ROUTES.resolve(name)
    assert resolved is not None, f"the emulator does not know {name}"
    route = resolved.route
    assert caps.billing.mode.value == route.billing.value
    rule = caps.duration
    if route.duration_set is not None:
        assert rule.allowed is not None and set(rule.allowed) <= set(route.duration_set)
    elif rule.allowed is not None:
        assert all(route.duration_min <= v <= route.duration_max for v in rule.allowed)
    else:
        assert rule.min is not None and rule.max is not None
        assert route.duration_min <= rule.min and rule.max <= route.duration_max
    assert set(caps.ratios) <= set(route.ratios)
    if route.resolutions:
        assert set(caps.resolutions) <= set(route.resolutions)
    assert route.media in _MEDIA_OK[caps.media_link]
    assert route.frames in _FRAMES_OK[caps.frames]
    videos = route.max_videos if route.videos else 0
    audios = route.max_audios if route.audios else 0
    assert _at_most(caps.max_images, route.max_images)
    assert _at_most(caps.max_videos, videos)
    assert _at_most(caps.max_audios, audios)
    assert _at_most(caps.prompt_max, route.prompt_max)
    assert caps.requires_reference_videos or not route.requires_videos
    assert caps.frames_exclusive_refs or not route.frames_exclude_refs
    assert route.audio_in_frame_mode or not caps.audio_in_frame_mode
    if route.audio_pairs_with:
        assert caps.audio_pairing != "alone_ok"


def _body(video: DesiredVideo, assets: dict[str, DesiredAsset]) -> dict[str, object]:
    """The create request the executor would send, with assets as URLs or audited ids."""
    caps = TABLE.models[video.model]
    body: dict[str, object] = dict(video.spec_view())

    def link(ref: str) -> str:
        if not ref.startswith("asset."):
            return ref
        asset = assets[ref.removeprefix("asset.")]
        if caps.media_link == "asset_audit" or asset.url is None:
            return f"asset://audited-{asset.name}"
        return asset.url

    for field, refs in video.media.items():
        links = [link(ref) for ref in refs]
        body[field] = links[0] if field in SINGLE_MEDIA_FIELDS else links
    return body


def _desired_sets() -> list[tuple[Path, Path]]:
    repo = Path(__file__).resolve().parents[2]
    cases = Path(__file__).parent / "cases"
    return [
        (repo, repo / "specs"),
        (repo, repo / "examples" / "specs-media" / "specs"),
        (cases, cases / "good"),
    ]


@pytest.mark.parametrize(("root", "specs"), _desired_sets(), ids=["specs", "media", "good"])
def test_valid_specs_are_accepted_by_the_emulator(root: Path, specs: Path) -> None:
    desired = load_desired(root, specs, ProjectConfig())
    assets = {asset.name: asset for asset in desired.assets}
    for video in desired.videos:
        outcome = validate_create(_body(video, assets), ROUTES, lambda _id: "Active")
        assert not isinstance(outcome, Rejection), (video.address, outcome)
