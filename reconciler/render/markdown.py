"""The plan as markdown for a pull-request comment.

A summary table, the changes in folded ``<details>`` blocks, and the cost. It shows no
result URL (they are signed) and nothing secret: only what the plan's changes say.
"""

from __future__ import annotations

from reconciler.plan import Action, Change, Plan
from reconciler.render.text import cost_text, summary_line, units_text, word_diff

_EMOJI: dict[Action, str] = {
    Action.CREATE: "🟢",
    Action.REPLACE: "🟡",
    Action.RETRY: "🔁",
    Action.UPDATE: "✏️",
    Action.MOVE: "➡️",
    Action.FORGET: "⚪",
    Action.WAIT: "⏳",
    Action.DOWNLOAD: "⬇️",
    Action.UNCERTAIN: "❓",
    Action.BLOCKED: "⛔",
}


def render_markdown(plan: Plan) -> str:
    lines = ["### reconciler plan", ""]
    lines.append(f"**{_escape(summary_line(plan))}**")
    lines.append("")
    counted = [action for action in Action if plan.summary.get(action, 0)]
    if counted:
        lines += ["| action | count |", "|---|---:|"]
        lines += [f"| {_EMOJI[a]} {a.value} | {plan.summary[a]} |" for a in counted]
        lines.append("")
        lines.append(f"**Estimated cost:** {_escape(cost_text(plan))}")
        lines.append("")
    for action in counted:
        changes = [c for c in plan.changes if c.action is action]
        title = f"{_EMOJI[action]} {action.value} ({len(changes)})"
        lines.append(f"<details><summary>{title}</summary>")
        lines.append("")
        for change in changes:
            lines.extend(_change(change))
        lines.append("</details>")
        lines.append("")
    lines.append(
        f"<sub>state serial {plan.serial} · specs {plan.specs_digest[:19]} · "
        f"plan format {plan.format_version}</sub>"
    )
    return "\n".join(lines) + "\n"


def _change(change: Change) -> list[str]:
    # A move's detail already names the old address.
    lines = [f"- `{change.address}`: {_escape(change.detail)}"]
    for diff in change.diffs:
        if diff.field == "prompt" and isinstance(diff.before, str) and isinstance(diff.after, str):
            lines.append(f"  - prompt: {_escape(word_diff(diff.before, diff.after))}")
        else:
            lines.append(f"  - {diff.field}: `{diff.before}` → `{diff.after}`")
    if change.cost is not None:
        price = "" if change.cost.amount is None else f" = {change.cost.amount:g}"
        lines.append(f"  - cost: {units_text(change.cost.mode, change.cost.units)}{price}")
    return lines


def _escape(text: str) -> str:
    for char in ("|", "<", ">"):
        text = text.replace(char, "\\" + char)
    return text
