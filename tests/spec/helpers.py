"""Building throwaway projects for spec tests."""

from __future__ import annotations

from pathlib import Path

from reconciler.model import Desired
from reconciler.spec import ProjectConfig, load_desired


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (project-relative path -> text) under ``root``."""
    for relative, text in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    (root / "specs").mkdir(exist_ok=True)
    return root


def load(root: Path, config: ProjectConfig | None = None) -> Desired:
    return load_desired(root, root / "specs", config or ProjectConfig())
