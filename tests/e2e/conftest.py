"""End-to-end fixtures: a project folder (the emulator fixture is in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import Project, new_project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return new_project(tmp_path)
