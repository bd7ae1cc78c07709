"""The SQLite -> PostgreSQL procedure of docs/state-backends.md works as written.

The copy script is taken from the document itself, so the document cannot rot. The target
is PostgreSQL when RECONCILER_TEST_PG_URL is set (a fresh schema, dropped afterwards;
skipped with the reason otherwise, failed under CI=true), and a second SQLite file always.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from tests.e2e.harness import Emulator, Project, new_project, running_emulator

DOC = Path(__file__).resolve().parents[2] / "docs" / "state-backends.md"
PG_ENV = "RECONCILER_TEST_PG_URL"
SPECS = """\
defaults:
  model: seedance2.0-mini
videos:
  boat:
    prompt: A paper boat on a canal.
  spin:
    prompt: A sneaker on a turntable.
"""


def copy_script() -> str:
    (block,) = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    lines = block.splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    with running_emulator(
        tmp_path / "emulator.db", "--queue-seconds", "0", "--run-seconds", "0"
    ) as running:
        yield running


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'target.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI=true: {PG_ENV} is not set")
        pytest.skip(f"{PG_ENV} is not set")
    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"reconciler_copy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def run_ok(project: Project, *args: str) -> str:
    result = project.run(*args)
    assert result.code == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.mark.slow
def test_documented_copy_keeps_everything(
    tmp_path: Path, emulator: Emulator, target_url: str
) -> None:
    project = new_project(tmp_path)
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", SPECS)
    run_ok(project, "apply", "--auto-approve", "--wait")
    project.write("specs/videos.yaml", SPECS.replace("turntable", "turntable, daylight"))
    run_ok(project, "apply", "--auto-approve", "--wait")  # a replaced task: history to keep

    run_ok(project, "--state", target_url, "db", "upgrade")
    script = project.write("copy_state.py", copy_script())
    source = f"sqlite:///{project.root / '.reconciler' / 'state.db'}"
    result = subprocess.run(
        [sys.executable, str(script), source, target_url],
        cwd=project.root,
        env=project.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "tasks: 3 rows" in result.stdout

    for command in (("state", "list", "--format", "json"), ("history", "--format", "json")):
        before = json.loads(run_ok(project, *command))
        after = json.loads(run_ok(project, "--state", target_url, *command))
        assert after == before
    assert "No changes." in run_ok(project, "--state", target_url, "plan")

    # The copied state goes on working: a new task, journaled after the copied entries.
    project.write("specs/videos.yaml", SPECS.replace("canal", "canal at dawn"))
    run_ok(project, "--state", target_url, "apply", "--auto-approve", "--wait")
    copied = json.loads(run_ok(project, "history", "--format", "json"))["entries"]
    journal = json.loads(run_ok(project, "--state", target_url, "history", "--format", "json"))
    assert journal["entries"][: len(copied)] == copied
    assert len(journal["entries"]) > len(copied)
