"""Suggestions for misspelt names ("did you mean ...?")."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A hint naming the closest choice, or None when nothing is close."""
    options = sorted(set(choices))
    matches = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not matches:
        lowered = {option.lower(): option for option in options}
        matches = [lowered[word.lower()]] if word.lower() in lowered else []
    return f"did you mean {matches[0]!r}?" if matches else None


def one_of(choices: Iterable[str], limit: int = 12) -> str:
    """A short readable list of allowed values."""
    options = list(choices)
    shown = ", ".join(repr(option) for option in options[:limit])
    if len(options) > limit:
        shown += f", ... ({len(options)} in all)"
    return shown
