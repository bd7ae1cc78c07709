"""The docs only mention commands and flags that exist, and their links lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.gitops.commands import Invocation, invocations, parse, problems

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(p for p in (ROOT / "docs").glob("*.md") if p.name != "plan-json.md")
# Written by another part of the project; linked from here before it may exist.
PENDING_TARGETS = {ROOT / "docs" / "plan-json.md"}
FENCE = re.compile(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`(reconciler [^`]+)`")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def mentioned(text: str) -> list[Invocation]:
    found = []
    for language, body in FENCE.findall(text):
        if language in ("", "sh", "bash", "console", "yaml"):
            found.extend(invocations(body))
    for command in INLINE.findall(text):
        inline = parse(command.split()[1:], command)
        # Prose may name a command group (`reconciler state`); a script may not.
        if inline.flags or not any("needs a subcommand" in m for m in problems(inline)):
            found.append(inline)
    return found


def test_docs_exist() -> None:
    names = {p.name for p in DOCS}
    expected = {"concepts.md", "spec-reference.md", "state-backends.md", "ci.md"}
    assert expected | {"recovery.md", "security.md", "cost.md"} <= names


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_command_and_flag_mentioned_exists(doc: Path) -> None:
    errors = [message for found in mentioned(doc.read_text()) for message in problems(found)]
    assert errors == [], f"{doc.name} mentions what the CLI does not offer"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_relative_links_resolve(doc: Path) -> None:
    targets = [t for t in LINK.findall(doc.read_text()) if "://" not in t]
    missing = [
        t
        for t in targets
        if not (doc.parent / t).exists() and doc.parent / t not in PENDING_TARGETS
    ]
    assert missing == []


def test_the_checker_catches_a_wrong_flag_in_prose() -> None:
    text = "Run `reconciler plan --detail` or\n\n```sh\nreconciler --stat x db upgrade\n```\n"
    messages = [m for found in mentioned(text) for m in problems(found)]
    assert len(messages) == 2
    assert "has no --detail" in messages[1] or "has no --detail" in messages[0]
