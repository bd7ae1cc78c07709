"""The project config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.model import BillingMode
from reconciler.spec import ProjectConfig, capabilities, load_config, load_desired


def _write(root: Path, text: str) -> None:
    (root / "reconciler.yaml").write_text(text, encoding="utf-8")


def test_absent_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(tmp_path)
    assert config == ProjectConfig()
    assert config.parallelism == 4
    assert config.specs_dir == "specs"


def test_full_config(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """\
specs_dir: video-specs
state_url: sqlite:///state.db
api_url: http://127.0.0.1:8000
output_dir: renders
parallelism: 8
poll_interval: 2.5
max_attempts: 5
budget: 100
currency: USD
pricing:
  seedance2.0-std: {mode: per_task, unit_price: 1.2}
  seedance2.0-mini-720p: 0.05
models:
  seedance2.0-std-next:
    like: seedance2.0-std
    duration: {min: 4, max: 20, default: 5}
""",
    )
    config = load_config(tmp_path)
    assert config.specs_dir == "video-specs"
    assert config.parallelism == 8
    assert config.budget == 100.0
    assert config.pricing["seedance2.0-std"].mode is BillingMode.PER_TASK
    assert config.pricing["seedance2.0-mini-720p"].unit_price == 0.05
    table = capabilities(config)
    caps = table.get("seedance2.0-std-next")
    assert caps is not None and caps.duration.accepts(20)
    assert caps.price_key({}, False) == "seedance2.0-std-next"
    (tmp_path / "video-specs").mkdir()
    (tmp_path / "video-specs" / "a.yaml").write_text(
        "videos:\n  a:\n    model: seedance2.0-std-next\n    prompt: p\n    duration: 18\n",
        encoding="utf-8",
    )
    desired = load_desired(tmp_path, tmp_path / "video-specs", config)
    assert desired.videos[0].params["duration"] == 18


def test_bad_config_reports_every_problem_with_positions(tmp_path: Path) -> None:
    _write(
        tmp_path,
        """\
parallelizm: 4
parallelism: 1000
poll_interval: fast
pricing:
  x: {mode: per_minute, unit_price: 1}
models:
  broken: {duration: 5}
""",
    )
    with pytest.raises(SpecError) as caught:
        load_config(tmp_path)
    got = {(d.line, d.col): d for d in caught.value.diagnostics}
    assert set(got) == {(1, 1), (2, 14), (3, 16), (5, 13), (7, 3)}, [
        d.render() for d in caught.value.diagnostics
    ]
    assert got[(1, 1)].hint == "did you mean 'parallelism'?"
    assert all(d.path == "reconciler.yaml" for d in got.values())


def test_config_syntax_error(tmp_path: Path) -> None:
    _write(tmp_path, "parallelism: [\n")
    with pytest.raises(SpecError) as caught:
        load_config(tmp_path)
    assert caught.value.diagnostics[0].message.startswith("YAML syntax error")
