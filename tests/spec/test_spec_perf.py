"""Loading stays fast at scale (issue 9): 10,000 videos in 100 files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.spec import ProjectConfig, load_desired


def _write(root: Path, files: int, per_file: int) -> None:
    specs = root / "specs"
    specs.mkdir()
    for f in range(files):
        lines = ["defaults:", "  model: seedance2.0-gz", "  duration: 5", "videos:"]
        for v in range(per_file):
            lines += [
                f"  v{f}-{v}:",
                f"    prompt: Scene {f}/{v}, a paper boat drifts down a neon canal at night.",
                "    ratio: '16:9'",
                "    labels: {campaign: launch, team: brand}",
            ]
        (specs / f"f{f:03}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.slow
def test_ten_thousand_videos_load_quickly(tmp_path: Path) -> None:
    _write(tmp_path, 100, 100)
    started = time.perf_counter()
    desired = load_desired(tmp_path, tmp_path / "specs", ProjectConfig())
    elapsed = time.perf_counter() - started
    assert len(desired.videos) == 10_000
    # About 1.5 s on an idle laptop core; the bound leaves room for a busy CI machine.
    assert elapsed < 10, f"took {elapsed:.1f}s"


def test_thousand_videos_load(tmp_path: Path) -> None:
    _write(tmp_path, 10, 100)
    started = time.perf_counter()
    desired = load_desired(tmp_path, tmp_path / "specs", ProjectConfig())
    assert len(desired.videos) == 1_000
    assert time.perf_counter() - started < 5
