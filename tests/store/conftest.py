"""Fixtures of the store suite (``state_url`` and ``pg_url`` come from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.store import StateStore


@pytest.fixture
def store(state_url: str) -> Iterator[StateStore]:
    with StateStore.open(state_url) as opened:
        yield opened
