"""The crash-point hook: kills at the Nth hit of the named point, does nothing otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

SCRIPT = """
from reconciler.executor.crashpoints import crashpoint
for n in range(1, 6):
    crashpoint("polling")
    crashpoint("after_post")
    print(n, flush=True)
"""


def _run(value: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "RECONCILER_CRASHPOINT"}
    if value is not None:
        env["RECONCILER_CRASHPOINT"] = value
    return subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=30
    )


def test_the_nth_hit_of_the_named_point_kills() -> None:
    done = _run("after_post:3")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split() == ["1", "2"]


@pytest.mark.parametrize("value", [None, "", "nonsense:1", "download:99", "polling:x"])
def test_unset_unknown_or_unreached_does_nothing_or_defaults_to_first(value: str | None) -> None:
    done = _run(value)
    if value == "polling:x":  # a bad count means the first hit
        assert done.returncode == -signal.SIGKILL and done.stdout == ""
    else:
        assert done.returncode == 0 and done.stdout.split() == ["1", "2", "3", "4", "5"]
