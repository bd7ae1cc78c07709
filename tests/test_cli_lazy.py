"""Lazy command loading: `--help` imports no command module, every listed command loads,
and the short help texts kept in ``reconciler.cli.main.COMMANDS`` match the commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli.main import COMMANDS, load_command, main

HEAVY = ("httpx", "sqlalchemy", "alembic", "reconciler.emulator", "rich", "reconciler.executor")


def _imported(args: list[str], cwd: Path, *, exit_code: int | None = None) -> set[str]:
    """The modules imported by running the CLI with ``args`` (and checks its exit code)."""
    code = (
        "import sys\n"
        "from reconciler.cli.main import main\n"
        "code = 0\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as stop:\n"
        "    code = stop.code\n"
        "print(f'\\n--- exit={code}')\n"
        "print('\\n'.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=60
    )
    output, _, modules = done.stdout.rpartition("\n--- ")
    status, *names = modules.split()
    if exit_code is not None:
        assert status == f"exit={exit_code}", output + done.stderr
    return set(names)


def _heavy(modules: set[str]) -> list[str]:
    return sorted(h for h in HEAVY if any(m == h or m.startswith(h + ".") for m in modules))


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    modules = _imported(["--help"], tmp_path)
    assert "reconciler.cli.main" in modules
    assert not any(module in modules for module, _, _ in COMMANDS.values() if "main" not in module)
    assert _heavy(modules) == []


def test_validate_imports_neither_http_nor_database(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(
        "videos:\n  one:\n    model: seedance2.0-std\n    prompt: A boat.\n"
    )
    modules = _imported(["--project-dir", str(tmp_path), "validate"], tmp_path)
    assert "reconciler.cli.validate_cmd" in modules
    assert _heavy(modules) == []


# `plan` reads the specs and the state: SQLAlchemy Core, but not its ORM (the tables are
# Core tables), neither the HTTP client, nor the executor, nor Alembic (the schema revision
# is one SELECT), nor rich.
NOT_FOR_PLAN = (
    "httpx",
    "alembic",
    "rich",
    "sqlalchemy.orm",
    "reconciler.executor",
    "reconciler.emulator",
)


def test_plan_imports_neither_http_nor_executor_nor_alembic_nor_orm(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(
        "videos:\n  one:\n    model: seedance2.0-std\n    prompt: A boat.\n"
    )
    args = ["--project-dir", str(tmp_path), "plan"]
    _imported(args, tmp_path, exit_code=0)  # creates the state (Alembic loads for that)
    again = _imported(args, tmp_path, exit_code=0)
    assert "reconciler.cli.plan_cmds" in again and "sqlalchemy" in again
    assert [h for h in NOT_FOR_PLAN if any(m == h or m.startswith(h + ".") for m in again)] == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_loads_with_its_listed_help(name: str) -> None:
    command = load_command(name)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str(1000) == COMMANDS[name][2]


def test_help_lists_every_command() -> None:
    with click.Context(main) as ctx:
        text = main.get_help(ctx)
    for name in COMMANDS:
        assert f"  {name} " in text


def test_state_has_adopt() -> None:
    state = load_command("state")
    assert isinstance(state, click.Group)
    assert "adopt" in state.commands
