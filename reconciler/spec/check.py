"""Typed reading of located YAML values, collecting diagnostics instead of raising.

Each ``take_*`` method returns the value when it has the right type, or ``None`` after
recording a diagnostic at the value's position; callers carry on so one run reports
every problem of every file.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.errors import Diagnostic
from reconciler.spec.suggest import did_you_mean
from reconciler.spec.yamlnodes import Pos, YMap, YNode, YScalar, YSeq, describe


class Checker:
    """Diagnostics for one file, shown under its project-relative path."""

    __slots__ = ("diags", "path")

    def __init__(self, path: str, diags: list[Diagnostic]) -> None:
        self.path = path
        self.diags = diags

    def error(self, pos: Pos, message: str, hint: str | None = None) -> None:
        self.diags.append(Diagnostic(self.path, pos.line, pos.col, message, hint))

    def take_map(self, node: YNode, what: str) -> YMap | None:
        if isinstance(node, YMap):
            return node
        self.error(node.pos, f"{what} must be a mapping, got {describe(node)}")
        return None

    def unknown_keys(
        self, node: YMap, allowed: Iterable[str], what: str, extra_hint: str | None = None
    ) -> list[str]:
        """Report keys outside ``allowed``; return the known keys present."""
        allowed_set = set(allowed)
        known: list[str] = []
        for key, pos, _ in node.entries:
            if key in allowed_set:
                known.append(key)
                continue
            hint = did_you_mean(key, allowed_set) or extra_hint
            if hint is None:
                hint = "allowed keys: " + ", ".join(sorted(allowed_set))
            self.error(pos, f"unknown key {key!r} in {what}", hint)
        return known

    def take_str(self, node: YNode, what: str, allow_empty: bool = False) -> str | None:
        if isinstance(node, YScalar) and isinstance(node.value, str):
            if not allow_empty and not node.value.strip():
                self.error(node.pos, f"{what} must not be empty")
                return None
            return node.value
        hint = None
        if isinstance(node, YScalar) and node.value is not None:
            hint = f'quote it: "{node.text}"'
        self.error(node.pos, f"{what} must be a string, got {describe(node)}", hint)
        return None

    def take_int(self, node: YNode, what: str) -> int | None:
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int)
            and not isinstance(node.value, bool)
        ):
            return node.value
        if isinstance(node, YScalar) and isinstance(node.value, float) and node.value.is_integer():
            return int(node.value)
        self.error(node.pos, f"{what} must be a whole number, got {describe(node)}")
        return None

    def take_number(self, node: YNode, what: str) -> float | None:
        if (
            isinstance(node, YScalar)
            and isinstance(node.value, int | float)
            and not isinstance(node.value, bool)
        ):
            return float(node.value)
        self.error(node.pos, f"{what} must be a number, got {describe(node)}")
        return None

    def take_bool(self, node: YNode, what: str) -> bool | None:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        self.error(node.pos, f"{what} must be true or false, got {describe(node)}")
        return None

    def take_str_list(self, node: YNode, what: str) -> list[tuple[str, Pos]] | None:
        """A list of strings (a single string is accepted as a list of one)."""
        if isinstance(node, YScalar):
            value = self.take_str(node, what)
            return None if value is None else [(value, node.pos)]
        if not isinstance(node, YSeq):
            self.error(node.pos, f"{what} must be a list of strings, got {describe(node)}")
            return None
        out: list[tuple[str, Pos]] = []
        ok = True
        for item in node.items:
            value = self.take_str(item, f"each entry of {what}")
            if value is None:
                ok = False
            else:
                out.append((value, item.pos))
        return out if ok else None
