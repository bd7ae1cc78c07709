"""Reading ``reconciler ...`` command lines out of CI and hook files, and checking them.

The examples are shell inside YAML; they rot silently when a command or a flag is renamed.
This module pulls every ``reconciler`` invocation out of a script and checks each
subcommand and each ``--flag`` against the real ``--help`` text of that command.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import click
from click.testing import CliRunner

from reconciler.cli.main import main as cli

# `reconciler` at a command position: line start, after a shell operator or `2)` of a case.
_COMMAND = re.compile(r"(?:^|[;&|(]|\)|\$\()\s*reconciler\s+(?P<rest>.*)$")
_STOP = re.compile(r"\s(?:\||\|\||&&|;|\d?>>?)|\s\d?>\S")


@dataclass(frozen=True)
class Invocation:
    path: tuple[str, ...]  # subcommand words, e.g. ("state", "list")
    flags: tuple[str, ...]  # every --flag given, without its value
    line: str


def logical_lines(script: str) -> list[str]:
    """Lines of a shell script with backslash continuations joined."""
    return script.replace("\\\n", " ").splitlines()


def invocations(script: str) -> list[Invocation]:
    found = []
    for line in logical_lines(script):
        match = _COMMAND.search(line.strip())
        if not match:
            continue
        rest = _STOP.split(" " + match["rest"], maxsplit=1)[0]
        words = rest.split()
        path: list[str] = []
        group: click.Command = cli
        for word in words:
            if word.startswith("-") or not isinstance(group, click.Group):
                break
            sub = group.commands.get(word)
            if sub is None:
                break
            path.append(word)
            group = sub
        flags = tuple(w.split("=", 1)[0] for w in words if w.startswith("--"))
        found.append(Invocation(tuple(path), flags, line.strip()))
    return found


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, f"`reconciler {' '.join(path)} --help` failed: {result.output}"
    return result.output


def problems(invocation: Invocation) -> list[str]:
    """What in ``invocation`` the real CLI does not offer (empty when it is all real)."""
    if not invocation.path:
        return [f"no known reconciler command in: {invocation.line}"]
    group: click.Command = cli
    for word in invocation.path:
        assert isinstance(group, click.Group)
        group = group.commands[word]
    if isinstance(group, click.Group):
        return [f"`reconciler {' '.join(invocation.path)}` needs a subcommand: {invocation.line}"]
    text = help_text(invocation.path)
    return [
        f"`reconciler {' '.join(invocation.path)}` has no {flag} (line: {invocation.line})"
        for flag in invocation.flags
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
    ]
