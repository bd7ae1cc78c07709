"""End-to-end fixtures: a project folder and a running emulator process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, Project, new_project, start_emulator, stop_emulator


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    running = start_emulator(tmp_path / "emulator.db")
    try:
        yield running
    finally:
        stop_emulator(running)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return new_project(tmp_path)
