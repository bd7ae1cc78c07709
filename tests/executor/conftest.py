"""Fixtures of the executor tests: the in-process emulator over a loopback socket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.emulator.config import EmulatorConfig
from reconciler.emulator.server import RunningEmulator, start_background


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[RunningEmulator]:
    running = start_background(EmulatorConfig(data_path=tmp_path / "emu" / "state.db", seed=3))
    try:
        yield running
    finally:
        running.stop()
