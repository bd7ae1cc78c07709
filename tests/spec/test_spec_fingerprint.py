"""Fingerprints change exactly when what determines the generated video changes."""

from __future__ import annotations

from pathlib import Path

from tests.spec.helpers import load, write_project

BASE = """\
videos:
  a:
    model: seedance2.0-gz
    prompt: A red kite over the dunes.
"""


def _fingerprints(tmp_path: Path, text: str, name: str = "x") -> dict[str, str]:
    root = write_project(tmp_path / name, {"specs/a.yaml": text})
    return {video.address: video.fingerprint for video in load(root).videos}


def test_explicit_defaults_do_not_change_it(tmp_path: Path) -> None:
    explicit = BASE + (
        "    duration: 5\n    ratio: '16:9'\n    resolution: 720p\n    generate_audio: true\n"
    )
    assert _fingerprints(tmp_path, BASE, "a") == _fingerprints(tmp_path, explicit, "b")


def test_key_order_description_and_labels_do_not_change_it(tmp_path: Path) -> None:
    reordered = """\
videos:
  a:
    description: something new
    labels: {team: brand}
    prompt: A red kite over the dunes.
    model: seedance2.0-gz
"""
    assert _fingerprints(tmp_path, BASE, "a") == _fingerprints(tmp_path, reordered, "b")


def test_defaults_block_is_the_same_as_writing_fields(tmp_path: Path) -> None:
    via_defaults = """\
defaults:
  model: seedance2.0-gz
videos:
  a:
    prompt: A red kite over the dunes.
"""
    assert _fingerprints(tmp_path, BASE, "a") == _fingerprints(tmp_path, via_defaults, "b")


def test_prompt_and_params_change_it(tmp_path: Path) -> None:
    base = _fingerprints(tmp_path, BASE, "a")
    assert base != _fingerprints(tmp_path, BASE.replace("red", "blue"), "b")
    assert base != _fingerprints(tmp_path, BASE + "    duration: 6\n", "c")
    assert base != _fingerprints(tmp_path, BASE + "    generate_audio: false\n", "d")


def test_takes_differ_and_adding_takes_keeps_take_one(tmp_path: Path) -> None:
    one = _fingerprints(tmp_path, BASE, "a")
    two = _fingerprints(tmp_path, BASE + "    takes: 2\n", "b")
    assert set(two) == {"video.a", "video.a#2"}
    assert two["video.a"] == one["video.a"]
    assert two["video.a#2"] != two["video.a"]


def test_asset_content_not_name_or_path_matters(tmp_path: Path) -> None:
    def project(name: str, asset: str, file: str, content: bytes) -> dict[str, str]:
        root = tmp_path / name
        (root / "media").mkdir(parents=True)
        (root / "media" / file).write_bytes(content)
        spec = f"""\
assets:
  {asset}:
    file: ../media/{file}
videos:
  a:
    model: seedance2.0-gz
    prompt: p
    images: [{asset}]
"""
        write_project(root, {"specs/a.yaml": spec})
        return {v.address: v.fingerprint for v in load(root).videos}

    first = project("one", "hero", "hero.png", b"\x89PNG one")
    renamed = project("two", "main-still", "still.png", b"\x89PNG one")
    changed = project("three", "hero", "hero.png", b"\x89PNG two")
    assert first == renamed
    assert first != changed


def test_pinned_url_is_identified_by_its_pin(tmp_path: Path) -> None:
    pin = "ab" * 32
    template = """\
assets:
  hero:
    url: {url}
    sha256: {pin}
videos:
  a:
    model: seedance2.0-gz
    prompt: p
    images: [hero]
"""
    moved_a = template.format(url="https://a.example.com/x.png", pin=pin)
    moved_b = template.format(url="https://b.example.com/y.png", pin=pin)
    assert _fingerprints(tmp_path, moved_a, "a") == _fingerprints(tmp_path, moved_b, "b")


def test_specs_digest_follows_spec_bytes(tmp_path: Path) -> None:
    root = write_project(tmp_path / "a", {"specs/a.yaml": BASE})
    first = load(root).specs_digest
    assert load(root).specs_digest == first
    (root / "specs" / "a.yaml").write_text(BASE + "    description: d\n", encoding="utf-8")
    assert load(root).specs_digest != first


def test_specs_digest_follows_local_asset_content(tmp_path: Path) -> None:
    (tmp_path / "hero.png").write_bytes(b"one")
    spec = "assets:\n  hero:\n    file: ../hero.png\n"
    root = write_project(tmp_path, {"specs/a.yaml": spec})
    first = load(root).specs_digest
    (tmp_path / "hero.png").write_bytes(b"two")
    assert load(root).specs_digest != first
