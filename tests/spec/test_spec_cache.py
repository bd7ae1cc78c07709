"""The warm-plan spec cache: reused when nothing changed, never trusted blindly."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import ProjectConfig, load_desired
from reconciler.spec import cache as cache_module
from reconciler.spec.cache import (
    CACHE_DIR,
    CACHE_FILE,
    ENV_NO_CACHE,
    SpecCache,
    SpecInput,
    cache_key,
)
from tests.spec.helpers import load, write_project

SPEC = """\
assets:
  hero:
    file: ../media/hero.png
videos:
  one:
    model: seedance2.0-std
    prompt: A paper boat on a canal.
  two:
    model: seedance2.0-fast-i2v
    prompt: The hero still comes alive.
    images: [hero]
"""


def _project(tmp_path: Path) -> Path:
    root = write_project(tmp_path, {"specs/a.yaml": SPEC, "media/hero.png": "png-bytes-1"})
    _age(root / "media" / "hero.png")
    return root


def _age(path: Path) -> None:
    # Older than the cache's "racily clean" window, as files usually are.
    os.utime(path, (1_600_000_000, 1_600_000_000))


def _entry(root: Path) -> Path:
    return root / CACHE_DIR / CACHE_FILE


def test_second_load_comes_from_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = load(root)
    assert _entry(root).is_file()
    second = load(root)
    assert second == first
    key = cache_key([SpecInput.of("specs/a.yaml", SPEC.encode())], ProjectConfig())
    assert SpecCache(root).get(key) == first


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) // 2],  # truncated
        lambda raw: b"not json at all",
        lambda raw: raw.replace(b"A paper boat", b"A paper boar"),  # payload edited
        lambda raw: b"",
        lambda raw: raw.split(b"\n", 1)[0] + b"\n{}",  # right key, wrong payload
    ],
)
def test_a_corrupt_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: object) -> None:
    root = _project(tmp_path)
    expected = load(root)
    entry = _entry(root)
    assert callable(damage)
    entry.write_bytes(damage(entry.read_bytes()))
    assert load(root) == expected
    assert load(root) == expected  # and the rebuilt entry is good again
    header = json.loads(entry.read_bytes().split(b"\n", 1)[0])
    assert header["key"]


def test_a_forged_entry_with_a_valid_checksum_must_still_validate(tmp_path: Path) -> None:
    root = _project(tmp_path)
    expected = load(root)
    entry = _entry(root)
    header = json.loads(entry.read_bytes().split(b"\n", 1)[0])
    payload = b'{"videos": "not a tuple"}'
    header["sha256"] = hashlib.sha256(payload).hexdigest()
    entry.write_bytes(json.dumps(header).encode() + b"\n" + payload)
    assert load(root) == expected


def test_a_spec_change_invalidates(tmp_path: Path) -> None:
    root = _project(tmp_path)
    load(root)
    (root / "specs" / "b.yaml").write_text(
        "videos:\n  three:\n    model: seedance2.0-std\n    prompt: New.\n", encoding="utf-8"
    )
    assert [v.name for v in load(root).videos] == ["one", "three", "two"]
    (root / "specs" / "a.yaml").write_text(SPEC.replace("paper boat", "red kite"))
    changed = load(root).video_map()["video.one"]
    assert changed.params["prompt"] == "A red kite on a canal."


def test_a_renamed_file_invalidates(tmp_path: Path) -> None:
    root = _project(tmp_path)
    load(root)
    (root / "specs" / "a.yaml").rename(root / "specs" / "c.yaml")
    assert {v.source.path for v in load(root).videos} == {"specs/c.yaml"}


def test_a_config_change_invalidates(tmp_path: Path) -> None:
    root = _project(tmp_path)
    load(root)
    before = _entry(root).read_bytes().split(b"\n", 1)[0]
    load_desired(root, root / "specs", ProjectConfig(output_dir="elsewhere"))
    assert _entry(root).read_bytes().split(b"\n", 1)[0] != before


def test_a_changed_asset_file_is_hashed_again(tmp_path: Path) -> None:
    root = _project(tmp_path)
    before = load(root).assets[0].content_hash
    hero = root / "media" / "hero.png"
    hero.write_text("png-bytes-2")
    _age(hero)
    os.utime(hero, (1_600_000_100, 1_600_000_100))
    assert load(root).assets[0].content_hash != before


def test_a_just_modified_asset_is_never_trusted_from_the_cache(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"specs/a.yaml": SPEC, "media/hero.png": "png-bytes-1"})
    load(root)  # hero.png is brand new: its stamp is not recorded
    header = json.loads(_entry(root).read_bytes().split(b"\n", 1)[0])
    assert header["assets"] == {"media/hero.png": None}
    (root / "media" / "hero.png").write_text("png-bytes-X")  # same size, same second
    assert load(root).assets[0].content_hash == load(root).assets[0].content_hash


def test_errors_are_not_cached(tmp_path: Path) -> None:
    root = write_project(tmp_path, {"specs/a.yaml": "videos:\n  BAD NAME: {}\n"})
    with pytest.raises(SpecError):
        load(root)
    assert not _entry(root).exists()
    with pytest.raises(SpecError):
        load(root)


def test_the_cache_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NO_CACHE, "1")
    root = _project(tmp_path)
    load(root)
    assert not _entry(root).exists()


def test_an_unwritable_cache_directory_only_costs_the_cache(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".reconciler").write_text("a file where the directory would be")
    assert [v.name for v in load(root).videos] == ["one", "two"]


def test_deleting_the_cache_is_safe(tmp_path: Path) -> None:
    root = _project(tmp_path)
    first = load(root)
    _entry(root).unlink()
    assert load(root) == first


def test_an_entry_of_many_lines_is_read_back_whole_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "ROWS_PER_LINE", 1)  # one video per line
    root = _project(tmp_path)
    expected = load(root)
    entry = _entry(root)
    lines = entry.read_bytes().splitlines(keepends=True)
    assert len(lines) == 5  # header, tables, two rows, checksum
    assert load(root) == expected
    # A row dropped, with a checksum made to match: the count still tells.
    body = lines[0] + lines[1] + lines[3]
    forged = body + b"sha256 " + hashlib.sha256(body).hexdigest().encode() + b"\n"
    entry.write_bytes(forged)
    key = json.loads(lines[0])["key"]
    assert SpecCache(root).get(key) is None
    # Anything after the checksum line: not an entry this code wrote.
    entry.write_bytes(b"".join(lines) + b"[]\n")
    assert SpecCache(root).get(key) is None
    entry.write_bytes(b"".join(lines))
    assert SpecCache(root).get(key) == expected


def test_shared_values_stay_shared_when_read_back(tmp_path: Path) -> None:
    spec = "videos:\n" + "".join(
        f"  v{i}:\n    model: seedance2.0-std\n    prompt: p{i}\n"
        "    labels: {team: brand}\n    ratio: '9:16'\n"
        for i in range(3)
    )
    root = write_project(tmp_path, {"specs/a.yaml": spec})
    for desired in (load(root), load(root)):  # built, then from the cache
        first, *others = desired.videos
        assert all(v.labels is first.labels and v.billing is first.billing for v in others)
        assert all(v.params["ratio"] is first.params["ratio"] for v in others)
