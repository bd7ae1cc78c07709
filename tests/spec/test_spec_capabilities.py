"""The capability table covers every Seedance 2.0 route of API-FACTS §4."""

from __future__ import annotations

import pytest

from reconciler.model import BillingMode
from reconciler.spec import ProjectConfig, builtin_table, capabilities

ROUTES = [
    # Full / Manxue (§4.1)
    *[f"sd2_mx_{r}" for r in ("720p", "1080p", "2k", "4k")],
    "sd2_mx_fast_720p",
    "sd2_mx_fast_1080p",
    *[f"sd2_mx_video_{r}" for r in ("720p", "1080p", "2k", "4k")],
    "sd2_mx_video_fast_720p",
    "sd2_mx_video_fast_1080p",
    *[f"sd2-manxue-{r}" for r in ("720p", "1080p", "2k", "4k")],
    # SP (§4.2), Mini (§4.3), Mini-SP (§4.4)
    "seedance2.0-sp",
    "seedance2.0-fast-sp",
    "seedance2.0-of-sp",
    "seedance2.0-of-fast-sp",
    "seedance2.0-mini",
    "seedance2.0-mini-video",
    "seedance2.0-mini-720p",
    "seedance2.0-mini-1080p-video",
    "seedance2.0-mini-sp",
    # MD / Pro (§4.5), Fast I2V (§4.6), STD (§4.7)
    "seedance2.0-md",
    "seedance2.0-fast-md",
    "seedance2.0-pro",
    "seedance2.0-fast-pro",
    "seedance2.0-fast-i2v",
    "seedance2.0-std",
    # GZ (§4.8) and official Mini (§4.9)
    "seedance2.0-gz",
    "seedance2.0-gz-720p",
    "seedance2.0-gz-480p",
    "seedance2.0-gz-1080p",
    "seedance2.0-gz-fast",
    "seedance2.0-gz-fast-720p",
    "seedance2.0-gz-fast-480p",
    "seedance2.0-gz720p",
    "seedance20-gz-720p",
    "seedance2.0-gz-mini",
    "seedance2.0-gz-mini-720p",
    "seedance2.0-gz-mini-480p",
    # 933 (§4.10, §4.11) and fixed-resolution standard (§4.12)
    "seedance2.0-933",
    "seedance-2.0-933",
    "seedance20933",
    "seedance2_0_933",
    "seedance2.0-933-480p",
    "seedance2.0-933-720p",
    "seedance2.0-933-1080p",
    "sd2-933-720p",
    "sd2_933_720p",
    "sd2-933720p",
    "sd2-adb-720p",
    *[f"seedance-2.0-{r}" for r in ("480p", "720p", "1080p", "4k")],
    "seedance2.0-720p",
    "seedance20-720p",
]


@pytest.mark.parametrize("name", ROUTES)
def test_route_is_known(name: str) -> None:
    caps = builtin_table().get(name)
    assert caps is not None
    assert caps.duration.default is None or caps.duration.accepts(caps.duration.default)
    assert caps.ratio_default is None or caps.ratio_default in caps.ratios
    assert (
        caps.resolution_default is None
        or caps.resolution_default in caps.resolutions
        or (not caps.resolutions)
    )
    assert caps.price_key({}, False)
    assert "{" not in caps.price_key({}, True)


def test_media_link_forms() -> None:
    table = builtin_table()
    assert {table.models[n].media_link for n in table.models if n.startswith("sd2_mx_")} == {
        "asset_audit"
    }
    for name in ("seedance2.0-md", "seedance2.0-std", "seedance2.0-fast-i2v"):
        assert table.models[name].media_link == "https"
    for name in ("seedance2.0-sp", "seedance2.0-gz", "sd2-933-720p"):
        assert table.models[name].media_link == "https_or_asset"


def test_billing_modes_and_keys() -> None:
    table = builtin_table()
    assert table.models["sd2_mx_720p"].billing.mode is BillingMode.PER_SECOND
    assert table.models["seedance2.0-mini-sp"].billing.mode is BillingMode.PER_TASK
    assert table.models["seedance2.0-gz"].billing.mode is BillingMode.PER_MILLION_TOKENS
    assert table.models["seedance2.0-md"].price_key({}, False) == "seedance2.0-md"
    mini = table.models["seedance2.0-mini"]
    assert mini.price_key({"resolution": "1080p"}, False) == "seedance2.0-mini-1080p"
    gz = table.models["seedance2.0-gz"]
    assert gz.price_key({}, True) == "seedance2.0-gz-video-720p"


def test_project_models_override_and_add() -> None:
    config = ProjectConfig(
        models={
            "seedance2.0-std": {"max_images": 2},
            "brand-new": {"like": "seedance2.0-gz", "ratios": ["16:9"], "ratio_default": "16:9"},
        }
    )
    table = capabilities(config)
    assert table.models["seedance2.0-std"].max_images == 2
    assert table.models["seedance2.0-std"].max_audios == 3
    assert table.models["brand-new"].ratios == ("16:9",)
    assert table.models["brand-new"].family == "gz"
    assert builtin_table().models["seedance2.0-std"].max_images == 9
