"""The plan as text for people: Terraform-like symbols, colour only when asked.

The caller decides on colour (a terminal) or plain (a pipe, a file); this module only
formats. Field-level diffs for replacements, with a word diff of the prompt.
"""

from __future__ import annotations

import difflib
import json

from pydantic import JsonValue

from reconciler.plan import Action, Change, FieldDiff, Plan

_SYMBOLS: dict[Action, str] = {
    Action.CREATE: "+",
    Action.REPLACE: "-/+",
    Action.RETRY: "+",
    Action.UPDATE: "~",
    Action.MOVE: "->",
    Action.FORGET: "-",
    Action.WAIT: "..",
    Action.DOWNLOAD: "<=",
    Action.UNCERTAIN: "?",
    Action.BLOCKED: "!",
}
_COLOURS: dict[Action, str] = {
    Action.CREATE: "32",
    Action.REPLACE: "33",
    Action.RETRY: "32",
    Action.UPDATE: "33",
    Action.MOVE: "36",
    Action.FORGET: "31",
    Action.WAIT: "36",
    Action.DOWNLOAD: "36",
    Action.UNCERTAIN: "35;1",
    Action.BLOCKED: "31;1",
}
_PHRASES: dict[Action, str] = {
    Action.CREATE: "to create",
    Action.REPLACE: "to replace",
    Action.RETRY: "to retry",
    Action.UPDATE: "to update",
    Action.MOVE: "to move",
    Action.FORGET: "to forget",
    Action.WAIT: "to wait for",
    Action.DOWNLOAD: "to download",
    Action.UNCERTAIN: "uncertain",
    Action.BLOCKED: "blocked",
}
_SHOWN_ON_CREATE = ("model", "duration", "ratio", "resolution")


class _Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def paint(self, text: str, code: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.color else text


def render_text(plan: Plan, *, color: bool = False) -> str:
    """Render ``plan`` for a person."""
    style = _Style(color)
    lines: list[str] = []
    if plan.changes:
        lines.append("reconciler will perform these actions:")
        lines.append("")
        for change in plan.changes:
            lines.extend(_change_lines(change, style, plan.cost.currency))
            lines.append("")
    lines.append(summary_line(plan))
    return "\n".join(lines) + "\n"


def summary_line(plan: Plan) -> str:
    """One line: counts per action and the estimated cost."""
    if not plan.has_changes:
        blocked = plan.summary.get(Action.BLOCKED, 0)
        tail = f" {blocked} blocked (see above)." if blocked else ""
        return "No changes. The state matches the specs." + tail
    parts = [
        f"{plan.summary[action]} {_PHRASES[action]}"
        for action in Action
        if plan.summary.get(action, 0)
    ]
    return f"Plan: {', '.join(parts)}. Estimated cost: {cost_text(plan)}."


def cost_text(plan: Plan) -> str:
    cost = plan.cost
    units = ", ".join(f"{units_text(mode, amount)}" for mode, amount in cost.units.items())
    if not units:
        return f"0 {cost.currency}"
    if cost.total is None:
        return f"{units} (no price for {', '.join(cost.unpriced)})"
    return f"{cost.total:g} {cost.currency} ({units})"


def units_text(mode: str, amount: float) -> str:
    if mode == "per_second":
        return f"{amount:g} s"
    if mode == "per_task":
        return f"{amount:g} task{'s' if amount != 1 else ''}"
    return f"{amount:g}M tokens (estimated)"


def _change_lines(change: Change, style: _Style, currency: str) -> list[str]:
    symbol = style.paint(f"{_SYMBOLS[change.action]:>3}", _COLOURS[change.action])
    head = f"{symbol} {change.address}  {style.paint(change.action.value, _COLOURS[change.action])}"
    if change.prior_address:
        head += f" from {change.prior_address}"
    lines = [head, f"      {change.detail}"]
    if change.action is Action.CREATE and change.spec:
        fields = "  ".join(
            f"{key}: {_value(change.spec[key])}" for key in _SHOWN_ON_CREATE if key in change.spec
        )
        lines.append(f"      {fields}")
        prompt = change.spec.get("prompt")
        if isinstance(prompt, str):
            lines.append(f"      prompt: {_shorten(prompt)}")
    for diff in change.diffs:
        lines.append("      " + _diff_line(diff, style))
    if change.cost is not None:
        amount = "" if change.cost.amount is None else f" = {change.cost.amount:g} {currency}"
        lines.append(f"      cost: {units_text(change.cost.mode, change.cost.units)}{amount}")
    return lines


def _diff_line(diff: FieldDiff, style: _Style) -> str:
    if diff.field == "prompt" and isinstance(diff.before, str) and isinstance(diff.after, str):
        return "~ prompt: " + word_diff(diff.before, diff.after, style)
    before = style.paint(_value(diff.before), "31")
    after = style.paint(_value(diff.after), "32")
    return f"~ {diff.field}: {before} -> {after}"


def word_diff(before: str, after: str, style: _Style | None = None) -> str:
    """A word diff in git's plain form: ``[-removed-]{+added+}``."""
    style = style or _Style(False)
    old, new = before.split(), after.split()
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(old[i1:i2])
            continue
        if i2 > i1:
            out.append(style.paint("[-" + " ".join(old[i1:i2]) + "-]", "31"))
        if j2 > j1:
            out.append(style.paint("{+" + " ".join(new[j1:j2]) + "+}", "32"))
    return " ".join(out)


def _value(value: JsonValue) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _shorten(text: str, limit: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
