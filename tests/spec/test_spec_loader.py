"""Whole-project loading: several files, names across files, expansion, assets."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.model import AssetType, BillingMode, Desired
from reconciler.spec import ProjectConfig, builtin_table, load_desired
from reconciler.spec.expand import RawVideo
from reconciler.spec.loader import _Load
from tests.spec.helpers import load, write_project


def test_all_problems_of_all_files_in_one_run(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "specs/a.yaml": "videos:\n  one:\n    model: nope\n    prompt: p\n",
            "specs/sub/b.yml": "videos:\n  one:\n    model: seedance2.0-std\n    prompt: p\n",
            "specs/c.yaml": "videos: [\n",
        },
    )
    with pytest.raises(SpecError) as caught:
        load(root)
    rendered = [d.render() for d in caught.value.diagnostics]
    paths = {d.path for d in caught.value.diagnostics}
    assert paths == {"specs/a.yaml", "specs/sub/b.yml", "specs/c.yaml"}, rendered
    duplicates = [d for d in caught.value.diagnostics if "duplicate video name" in d.message]
    assert {d.path for d in duplicates} == {"specs/a.yaml", "specs/sub/b.yml"}
    assert any("specs/sub/b.yml:2:3" in d.message for d in duplicates)


def test_extends_across_files_and_precedence(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "specs/base.yaml": (
                "defaults:\n  model: seedance2.0-std\n  duration: 8\n"
                "videos:\n  base:\n    prompt: p\n    ratio: '1:1'\n"
            ),
            "specs/child.yaml": (
                "defaults:\n  model: seedance2.0-933\n  duration: 4\n  ratio: '21:9'\n"
                "videos:\n  child:\n    extends: base\n    ratio: '9:16'\n"
            ),
        },
    )
    videos = load(root).video_map()
    child = videos["video.child"]
    # The base's own fields and its file's defaults beat the child's file defaults;
    # the child's own fields beat everything.
    assert child.model == "seedance2.0-std"
    assert child.params["duration"] == 8
    assert child.params["ratio"] == "9:16"
    assert child.source.path == "specs/child.yaml"


def test_matrix_and_takes_addresses(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "specs/a.yaml": (
                "videos:\n  spin:\n    model: seedance2.0-mini\n    prompt: p\n"
                "    matrix:\n      resolution: [480p, 720p]\n      ratio: ['16:9', '9:16']\n"
                "    takes: 2\n"
            )
        },
    )
    desired = load(root)
    addresses = [v.address for v in desired.videos]
    assert addresses == sorted(addresses)
    assert len(addresses) == 8
    assert "video.spin[ratio=9:16,resolution=480p]#2" in addresses
    by_address = desired.video_map()
    video = by_address["video.spin[ratio=16:9,resolution=720p]"]
    assert video.matrix == {"ratio": "16:9", "resolution": "720p"}
    assert video.billing.price_key == "seedance2.0-mini-720p"
    assert video.billing.mode is BillingMode.PER_SECOND
    assert video.billing.units == 5


def test_local_asset_is_hashed_and_typed(tmp_path: Path) -> None:
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "tune.MP3").write_bytes(b"x" * 3_000_000)
    root = write_project(
        tmp_path,
        {
            "specs/a.yaml": (
                "assets:\n  tune:\n    file: ../media/tune.MP3\n"
                "  still:\n    url: https://cdn.example.com/s.webp?v=2\n"
                "videos:\n  a:\n    model: seedance2.0-std\n    prompt: p\n"
                "    images: [still]\n    reference_audios: [tune]\n"
            )
        },
    )
    desired = load(root)
    tune = next(a for a in desired.assets if a.name == "tune")
    assert tune.type is AssetType.AUDIO
    assert tune.file == "media/tune.MP3"
    assert tune.content_hash.startswith("sha256:")
    still = next(a for a in desired.assets if a.name == "still")
    assert still.type is AssetType.IMAGE
    assert still.content_hash.startswith("url:")
    video = desired.videos[0]
    assert video.media == {"images": ("asset.still",), "reference_audios": ("asset.tune",)}


def test_pin_mismatch_is_reported(tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(b"png")
    root = write_project(
        tmp_path,
        {"specs/a.yaml": f"assets:\n  a:\n    file: ../a.png\n    sha256: {'0' * 64}\n"},
    )
    with pytest.raises(SpecError) as caught:
        load(root)
    assert "not the pinned value" in caught.value.diagnostics[0].message


def test_missing_specs_dir_and_empty_dir(tmp_path: Path) -> None:
    with pytest.raises(SpecError) as caught:
        load_desired(tmp_path, tmp_path / "nope", ProjectConfig())
    assert caught.value.diagnostics[0].hint
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "empty.yaml").write_text("", encoding="utf-8")
    (tmp_path / "specs" / "notes.txt").write_text("not a spec", encoding="utf-8")
    (tmp_path / "specs" / ".hidden").mkdir()
    (tmp_path / "specs" / ".hidden" / "x.yaml").write_text("broken: [", encoding="utf-8")
    (tmp_path / "specs" / ".#a.yaml").write_text("broken: [", encoding="utf-8")
    assert load(tmp_path).videos == ()


def test_example_specs_are_valid() -> None:
    repo = Path(__file__).resolve().parents[2]
    desired = load_desired(repo, repo / "specs", ProjectConfig())
    assert len({v.source.path for v in desired.videos}) >= 3
    # The default examples need no local upload (the demo runs them from a fresh clone);
    # Full-route videos get their URL assets audited by apply.
    assert all(asset.url is not None for asset in desired.assets)
    families = {builtin_table().get(v.model).family for v in desired.videos}  # type: ignore[union-attr]
    assert families == {builtin_table().get(n).family for n in builtin_table().names()}  # type: ignore[union-attr]
    media = load_desired(repo, repo / "examples" / "specs-media" / "specs", ProjectConfig())
    assert any(asset.file for asset in media.assets)


def test_route_specific_defaults_apply_only_where_supported(tmp_path: Path) -> None:
    root = write_project(
        tmp_path,
        {
            "specs/a.yaml": (
                "defaults:\n  generate_audio: false\n  resolution: 1080p\n"
                "videos:\n"
                "  gz:\n    model: seedance2.0-gz\n    prompt: p\n"
                "  std:\n    model: seedance2.0-std\n    prompt: p\n"
                "  std-own:\n    model: seedance2.0-std\n    prompt: p\n    generate_audio: true\n"
            )
        },
    )
    with pytest.raises(SpecError) as caught:
        load(root)
    # Only the field written on the video itself is an error.
    assert [(d.line, d.message) for d in caught.value.diagnostics] == [
        (14, "`generate_audio` is not supported by model 'seedance2.0-std'")
    ]
    (root / "specs" / "a.yaml").write_text(
        "defaults:\n  generate_audio: false\n  resolution: 1080p\n"
        "videos:\n"
        "  gz:\n    model: seedance2.0-gz\n    prompt: p\n"
        "  std:\n    model: seedance2.0-std\n    prompt: p\n",
        encoding="utf-8",
    )
    videos = load(root).video_map()
    assert videos["video.gz"].params["generate_audio"] is False
    assert videos["video.gz"].params["resolution"] == "1080p"
    assert "generate_audio" not in videos["video.std"].params
    assert "resolution" not in videos["video.std"].params


# Files are loaded one at a time (memory, issue 9): a video waits when its base or an
# asset it names may come from a later file. The result must not depend on that.
SPLIT = {
    "specs/a.yaml": (
        "videos:\n"
        "  solo:\n    model: seedance2.0-std\n    prompt: solo\n"
        "  base:\n    model: seedance2.0-std\n    prompt: base\n    ratio: '1:1'\n"
        "  same-file-child:\n    extends: base\n    ratio: '9:16'\n"
        "  uses-later-asset:\n    model: seedance2.0-fast-i2v\n    prompt: p\n"
        "    images: [hero]\n"
        "  extends-later:\n    extends: later-base\n    duration: 8\n"
    ),
    "specs/b.yaml": (
        "videos:\n"
        "  solo-child:\n    extends: solo\n    prompt: child of solo\n"
        "  grandchild:\n    extends: same-file-child\n    takes: 2\n"
        "  matrix-asset:\n    model: seedance2.0-fast-i2v\n    prompt: p\n"
        "    matrix:\n      first_image: [hero, still]\n"
    ),
    "specs/c.yaml": (
        "assets:\n"
        "  hero:\n    url: https://cdn.example.com/hero.png\n"
        "  still:\n    url: https://cdn.example.com/still.png\n"
        "videos:\n"
        "  later-base:\n    model: seedance2.0-std\n    prompt: later\n"
    ),
}


def _without_sources(desired: Desired) -> list[tuple[object, ...]]:
    return [
        (v.address, v.model, v.params, v.media, v.fingerprint, v.billing, v.labels, v.matrix)
        for v in desired.videos
    ]


def test_split_files_load_like_one_file(tmp_path: Path) -> None:
    split = load(write_project(tmp_path / "split", SPLIT))
    merged_text = SPLIT["specs/c.yaml"].split("videos:\n", 1)[0] + "videos:\n"
    for text in SPLIT.values():
        merged_text += text.split("videos:\n", 1)[1]
    merged = load(write_project(tmp_path / "merged", {"specs/all.yaml": merged_text}))
    assert _without_sources(split) == _without_sources(merged)
    videos = split.video_map()
    assert videos["video.solo-child"].params["prompt"] == "child of solo"
    assert videos["video.grandchild#2"].params["ratio"] == "9:16"
    assert videos["video.extends-later"].params["duration"] == 8
    assert videos["video.uses-later-asset"].media == {"images": ("asset.hero",)}
    assert len([v for v in split.videos if v.name == "matrix-asset"]) == 2
    assert {v.source.path for v in split.videos if v.name == "solo-child"} == {"specs/b.yaml"}


def test_a_name_declared_in_a_later_file_is_still_suggested(tmp_path: Path) -> None:
    files = {
        "specs/a.yaml": (
            "videos:\n  v:\n    model: seedance2.0-fast-i2v\n    prompt: p\n    images: [heros]\n"
            "  w:\n    extends: bse\n"
        ),
        "specs/b.yaml": (
            "assets:\n  hero:\n    url: https://cdn.example.com/hero.png\n"
            "videos:\n  base:\n    model: seedance2.0-std\n    prompt: p\n"
        ),
    }
    with pytest.raises(SpecError) as caught:
        load(write_project(tmp_path, files))
    assert [(d.message, d.hint) for d in caught.value.diagnostics] == [
        ("unknown asset 'heros' in `images`", "did you mean 'hero'?"),
        ("`extends` names unknown video 'bse'", "did you mean 'base'?"),
    ]


def test_a_base_file_edited_during_the_load_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = write_project(tmp_path, {key: SPLIT[key] for key in ("specs/a.yaml", "specs/b.yaml")})
    original = _Load._reread

    def edited_first(self: _Load, index: int, names: set[str]) -> list[RawVideo]:
        (root / "specs" / "a.yaml").write_text(SPLIT["specs/a.yaml"] + "# edited\n")
        return original(self, index, names)

    monkeypatch.setattr(_Load, "_reread", edited_first)
    with pytest.raises(SpecError) as caught:
        load(root)
    messages = {(d.path, d.message) for d in caught.value.diagnostics}
    assert ("specs/a.yaml", "file changed while the specs were being loaded") in messages
