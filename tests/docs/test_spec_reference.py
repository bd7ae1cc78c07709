"""docs/spec-reference.md is exactly what scripts/gen-spec-reference makes from the schema."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from reconciler.spec.capabilities import builtin_table
from reconciler.spec.schema import json_schema

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "gen-spec-reference"
REFERENCE = ROOT / "docs" / "spec-reference.md"


def test_committed_reference_matches_the_schema() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (
        "docs/spec-reference.md is stale; regenerate it with `scripts/gen-spec-reference` "
        f"and commit it.\n{done.stdout}{done.stderr}"
    )


def test_reference_names_every_model_and_every_key() -> None:
    text = REFERENCE.read_text()
    missing_models = [name for name in builtin_table().names() if f"`{name}`" not in text]
    assert missing_models == []
    properties = json_schema()["properties"]
    assert isinstance(properties, dict)
    for section in ("defaults", "videos"):
        node = properties[section]
        assert isinstance(node, dict)
        if section == "videos":
            node = node["additionalProperties"]
            assert isinstance(node, dict)
        keys = node["properties"]
        assert isinstance(keys, dict)
        assert [key for key in keys if f"| `{key}` |" not in text] == []


def test_a_stale_reference_fails_with_the_command_to_fix_it(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    (tmp_path / "docs").mkdir()
    shutil.copy(SCRIPT, tmp_path / "scripts" / SCRIPT.name)
    stale = REFERENCE.read_text().replace("| `prompt` |", "| `promptx` |", 1)
    (tmp_path / "docs" / "spec-reference.md").write_text(stale)
    done = subprocess.run(
        [sys.executable, str(tmp_path / "scripts" / SCRIPT.name), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "-| `promptx` |" in done.stdout
    assert "regenerate it with: scripts/gen-spec-reference" in done.stderr
    assert (tmp_path / "docs" / "spec-reference.md").read_text() == stale
