"""scripts/gitops-flow runs green: PR plan, merge, apply --no-wait, refresh, idempotent rerun.

The script does the checks (see its docstring); this test runs it as CI would and shows
its output when it fails. It needs PostgreSQL (RECONCILER_TEST_PG_URL) and git; without
them it skips with the reason, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "gitops-flow"
PG_ENV = "RECONCILER_TEST_PG_URL"


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"the GitOps flow must run under CI=true: {reason}")
    pytest.skip(reason)


@pytest.mark.postgres
@pytest.mark.slow
def test_gitops_flow() -> None:
    if not os.environ.get(PG_ENV):
        unavailable(f"{PG_ENV} is not set")
    if shutil.which("git") is None:
        unavailable("git is not on PATH")
    done = subprocess.run(
        [sys.executable, str(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode == 2:
        unavailable(f"gitops-flow could not start: {done.stderr.strip()}")
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert "==> the GitOps flow holds" in done.stdout
