"""Four applies at once on one state (SQLite and PostgreSQL), plan and force-unlock meanwhile.

See tests/torture/concurrency.py for the round; here each backend runs one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Emulator, running_emulator
from tests.torture.concurrency import APPLIES, run_round
from tests.torture.crash import EMULATOR_FLAGS


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(tmp_path / "emulator.db", *EMULATOR_FLAGS) as running:
        yield running


@pytest.mark.slow
def test_four_applies_one_writer_clear_losers_no_duplicates(
    tmp_path: Path, emulator: Emulator, state_url: str
) -> None:
    work = tmp_path / "round"
    work.mkdir()
    outcome = run_round(work, emulator, state_url)
    assert not outcome.problems, "\n".join(outcome.problems)  # whole: the reason is mid-text
    assert outcome.writers == 1
    assert outcome.losers_clear + outcome.late_noops == APPLIES - 1
    assert outcome.plan_during_apply_ok and outcome.force_unlock_refused
    assert outcome.waited_ok == APPLIES
    assert outcome.duplicates == 0 and outcome.tracebacks == 0
