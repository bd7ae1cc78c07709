"""docs/spec-reference.md is exactly what scripts/gen-spec-reference makes from the schema."""

from __future__ import annotations

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
