"""The spec capability table and the emulator agree, route by route, on what they accept.

The two tables are kept apart on purpose (the emulator imports nothing of ours), so this
test probes both with the same requests: each model's duration bounds, every ratio and
resolution plus one outside the set, the image limit and the media link form. A probe the
loader accepts must be accepted by the emulator with the body the loader produced; a probe
the loader refuses must be refused by the emulator too.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from ruamel.yaml import YAML

from reconciler.emulator import EmulatorConfig, start_background
from reconciler.errors import SpecError
from reconciler.spec import ModelCaps, ProjectConfig, builtin_table, load_desired

KEY = "sk-agreement"
IMAGE = "https://cdn.example.com/ref/still-{n}.png"
Probe = tuple[str, dict[str, object]]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    data = tmp_path_factory.mktemp("emulator") / "state.db"
    config = EmulatorConfig(data_path=data, api_key=KEY, balance=1e9)
    headers = {"Authorization": f"Bearer {KEY}"}
    with (
        start_background(config) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=10) as client,
    ):
        yield client


def probes(caps: ModelCaps) -> Iterator[Probe]:
    rule = caps.duration
    if rule.allowed:
        for value in rule.allowed:
            yield f"duration={value}", {"duration": value}
        outside = next(d for d in range(1, 40) if d not in rule.allowed)
        yield f"duration={outside}", {"duration": outside}
    else:
        assert rule.min is not None and rule.max is not None
        for value in (rule.min, rule.max, rule.min - 1, rule.max + 1):
            yield f"duration={value}", {"duration": value}
    for ratio in (*caps.ratios, "5:4"):
        yield f"ratio={ratio}", {"ratio": ratio}
    if caps.resolutions:
        for resolution in (*caps.resolutions, "2k"):
            yield f"resolution={resolution}", {"resolution": resolution}
    if caps.media_link != "asset_audit" and caps.max_images:
        for count in (caps.max_images, caps.max_images + 1):
            images = [IMAGE.format(n=n) for n in range(count)]
            yield f"images x{count}", {"images": images}
    yield "one https image", {"images": [IMAGE.format(n=0)]}


def spec_verdict(tmp_path: Path, model: str, fields: dict[str, object]) -> dict[str, object] | None:
    """The body the loader would send, or None when the loader refuses the spec."""
    specs = tmp_path / "specs"
    specs.mkdir(exist_ok=True)
    video = {"model": model, "prompt": "A paper boat on a canal.", **fields}
    with (specs / "probe.yaml").open("w") as handle:
        YAML(typ="safe").dump({"videos": {"probe": video}}, handle)
    try:
        desired = load_desired(tmp_path, specs, ProjectConfig())
    except SpecError:
        return None
    (only,) = desired.videos
    return dict(only.spec_view())


def emulator_accepts(api: httpx.Client, body: dict[str, object]) -> tuple[bool, str]:
    answer = api.post("/api/open-api/v1/seedance/videos", json=body).json()
    return str(answer["code"]) in ("20000", "0"), str(answer.get("msg"))


@pytest.mark.parametrize("model", builtin_table().names())
def test_route_agreement(model: str, api: httpx.Client, tmp_path: Path) -> None:
    caps = builtin_table().get(model)
    assert caps is not None
    disagreements = []
    for name, fields in probes(caps):
        body = spec_verdict(tmp_path, model, fields)
        if body is None:
            raw = {"model": model, "prompt": "A paper boat on a canal.", "duration": 5, **fields}
            accepted, message = emulator_accepts(api, raw)
            if accepted:
                disagreements.append(f"{name}: the loader refuses, the emulator accepts")
        else:
            accepted, message = emulator_accepts(api, body)
            if not accepted:
                disagreements.append(f"{name}: the loader accepts, the emulator says {message}")
    assert not disagreements, f"{model}: " + "; ".join(disagreements)
