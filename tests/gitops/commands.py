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
    flags: tuple[str, ...]  # every --flag given to the command, without its value
    line: str
    global_flags: tuple[str, ...] = ()  # --flags given to `reconciler` itself


def logical_lines(script: str) -> list[str]:
    """Lines of a shell script with backslash continuations joined."""
    return script.replace("\\\n", " ").splitlines()


def _takes_value(group: click.Command, flag: str) -> bool:
    for param in group.params:
        if isinstance(param, click.Option) and flag in param.opts:
            return not param.is_flag
    return False


def subcommand(group: click.Command, name: str) -> click.Command | None:
    """``group``'s subcommand ``name`` (through get_command: commands may load lazily)."""
    if not isinstance(group, click.Group):
        return None
    with click.Context(group) as ctx:
        return group.get_command(ctx, name)


def parse(words: list[str], line: str) -> Invocation:
    """The command path and flags of ``reconciler WORDS...``."""
    path: list[str] = []
    global_flags: list[str] = []
    group: click.Command = cli
    rest = iter(words)
    for word in rest:
        if not path and word.startswith("--"):
            global_flags.append(word.split("=", 1)[0])
            if "=" not in word and _takes_value(cli, word):
                next(rest, None)
            continue
        sub = subcommand(group, word)
        if sub is None:
            break
        path.append(word)
        group = sub
    start = len(words)
    if path:  # flags after the last command word
        start = max(i for i, w in enumerate(words) if w == path[-1]) + 1
    flags = tuple(w.split("=", 1)[0] for w in words[start:] if w.startswith("--"))
    return Invocation(tuple(path), flags, line, tuple(global_flags))


def invocations(script: str) -> list[Invocation]:
    found = []
    for line in logical_lines(script):
        match = _COMMAND.search(line.strip())
        if not match:
            continue
        rest = _STOP.split(" " + match["rest"], maxsplit=1)[0]
        found.append(parse(rest.split(), line.strip()))
    return found


def help_text(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, f"`reconciler {' '.join(path)} --help` failed: {result.output}"
    return result.output


def problems(invocation: Invocation) -> list[str]:
    """What in ``invocation`` the real CLI does not offer (empty when it is all real)."""
    if not invocation.path:
        # `reconciler --help`, `reconciler --version`: options of the group alone are fine.
        only_options = invocation.global_flags and invocation.line.split()[-1].startswith("--")
        if not only_options:
            return [f"no known reconciler command in: {invocation.line}"]
        return [f"`reconciler` has no {flag}" for _, flag in _missing((), invocation.global_flags)]
    group: click.Command | None = cli
    for word in invocation.path:
        assert group is not None
        group = subcommand(group, word)
    if isinstance(group, click.Group):
        return [f"`reconciler {' '.join(invocation.path)}` needs a subcommand: {invocation.line}"]
    missing = _missing(invocation.path, invocation.flags)
    missing += _missing((), invocation.global_flags)
    return [
        f"`reconciler {' '.join(path)}` has no {flag} (line: {invocation.line})"
        for path, flag in missing
    ]


def _missing(path: tuple[str, ...], flags: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    if not flags:
        return []
    text = help_text(path)
    return [
        (path, flag)
        for flag in flags
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text)
    ]
