"""Fixtures: a running emulator on a free loopback port with its own state file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.config import EmulatorConfig, Knobs
from reconciler.emulator.server import RunningEmulator, start_background

API_KEY = "sk-test-key"


@pytest.fixture
def data_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "emulator.db"


@pytest.fixture
def emulator(data_path: Path) -> Iterator[RunningEmulator]:
    config = EmulatorConfig(data_path=data_path, api_key=API_KEY, seed=7, knobs=Knobs())
    with start_background(config) as running:
        yield running


@pytest.fixture
def client(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=5.0) as http:
        yield http


@pytest.fixture
def admin(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.url, timeout=5.0) as http:
        yield http


@pytest.fixture
def emulator_url(emulator: RunningEmulator) -> str:
    return emulator.url


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """One emulator per test module, for stateless table-driven checks."""
    path = tmp_path_factory.mktemp("shared") / "emulator.db"
    config = EmulatorConfig(data_path=path, api_key=API_KEY, balance=1e9)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with (
        start_background(config) as running,
        httpx.Client(base_url=running.url, headers=headers, timeout=5.0) as http,
    ):
        yield http
