"""The schema and fmt commands and the formatter behind them."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from reconciler.cli.spec_cmds import fmt, schema
from reconciler.errors import ReconcilerError, SpecError
from reconciler.spec.fmt import format_file

MESSY = """\
# header comment
videos:
    teaser:
        prompt:   |
          A boat.
        images:
        -  https://cdn.example.com/a.png   # the still
defaults: {model: seedance2.0-std}
"""


def _obj(root: Path, specs: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(flags=SimpleNamespace(project_dir=str(root), specs=specs))


def test_schema_is_json_with_models_and_fields(tmp_path: Path) -> None:
    result = CliRunner().invoke(schema, [], obj=_obj(tmp_path))
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    video = document["properties"]["videos"]["additionalProperties"]["properties"]
    assert "sd2_mx_720p" in video["model"]["anyOf"][0]["enum"]
    assert {"generate_audio", "reference_mode", "face_processing", "matrix"} <= set(video)
    assert document["properties"]["defaults"]["additionalProperties"] is False


def test_format_is_idempotent_and_keeps_comments() -> None:
    once = format_file(MESSY)
    assert format_file(once) == once
    assert once.index("defaults:") < once.index("videos:")
    assert "# header comment" in once
    assert "# the still" in once
    assert "  teaser:\n    prompt: |\n      A boat.\n" in once
    assert "      - https://cdn.example.com/a.png" in once


def test_format_leaves_comment_only_and_empty_files() -> None:
    assert format_file("# only a comment\n") == "# only a comment\n"
    assert format_file("") == ""


def test_format_refuses_broken_yaml() -> None:
    with pytest.raises(SpecError) as caught:
        format_file("videos: [\n", "specs/x.yaml")
    assert caught.value.diagnostics[0].path == "specs/x.yaml"


def test_fmt_check_then_write(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "a.yaml").write_text(MESSY, encoding="utf-8")
    (specs / "b.yaml").write_text(format_file(MESSY), encoding="utf-8")
    runner = CliRunner()
    checked = runner.invoke(fmt, ["--check"], obj=_obj(tmp_path))
    assert isinstance(checked.exception, ReconcilerError)
    assert (specs / "a.yaml").read_text(encoding="utf-8") == MESSY
    assert "a.yaml" in checked.output and "b.yaml" not in checked.output
    written = runner.invoke(fmt, [], obj=_obj(tmp_path))
    assert written.exit_code == 0, written.output
    assert (specs / "a.yaml").read_text(encoding="utf-8") == format_file(MESSY)
    again = runner.invoke(fmt, ["--check", str(specs / "a.yaml")], obj=_obj(tmp_path))
    assert again.exit_code == 0, again.output


def test_example_specs_are_formatted() -> None:
    repo = Path(__file__).resolve().parents[2]
    for path in [
        *repo.joinpath("specs").rglob("*.yaml"),
        *repo.joinpath("examples").rglob("*.yaml"),
    ]:
        text = path.read_text(encoding="utf-8")
        assert format_file(text) == text, path
