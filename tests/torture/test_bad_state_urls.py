"""State URLs that point at nothing: exit 1, a message naming the URL, no traceback.

Each URL is given to a read-only command (``state list``) and to ``plan``; a password in
the URL must never be shown. No emulator is needed: nothing gets that far.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import new_project

SECRET = "pw-never-shown-3141"


def _urls(tmp: Path) -> dict[str, tuple[str, str]]:
    """name -> (URL, text the message must contain)."""
    not_a_db = tmp / "notes.txt"
    not_a_db.write_text("hello, I am not a database\n")
    folder = tmp / "a-folder"
    folder.mkdir()
    return {
        "bad_host": ("postgresql://postgres@nowhere.invalid:5432/test", "nowhere.invalid"),
        "bad_port": (f"postgresql://postgres:{SECRET}@127.0.0.1:1/test", "127.0.0.1:1"),
        "unknown_scheme": ("mysql://user@127.0.0.1/state", "unsupported scheme"),
        "made_up_scheme": ("foo://bar", "unsupported scheme"),
        "not_a_url": ("state.db please", "is not a database URL"),
        "in_memory": ("sqlite://", "in-memory"),
        "file_not_a_database": (f"sqlite:///{not_a_db}", "file is not a database"),
        "directory": (f"sqlite:///{folder}", str(folder)),
        "dir_under_a_file": (f"sqlite:///{not_a_db}/sub/state.db", str(not_a_db)),
        "proc": ("sqlite:////proc/state.db", "/proc/state.db"),
    }


@pytest.mark.parametrize(
    "name",
    [
        "bad_host",
        "bad_port",
        "unknown_scheme",
        "made_up_scheme",
        "not_a_url",
        "in_memory",
        "file_not_a_database",
        "directory",
        "dir_under_a_file",
        "proc",
    ],
)
def test_a_state_url_that_points_at_nothing(tmp_path: Path, name: str) -> None:
    url, needle = _urls(tmp_path)[name]
    project = new_project(tmp_path)
    project.write("specs/v.yaml", "videos:\n  a:\n    model: seedance2.0-mini\n    prompt: x\n")
    for command in (("state", "list"), ("plan",)):
        result = project.run("--state", url, *command, timeout=60)
        assert result.code == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("Error: "), result.stderr
        assert needle in result.stderr, result.stderr
        assert "hint:" in result.stderr
        assert SECRET not in result.stdout + result.stderr
