"""Formatting spec files (``reconciler fmt``): one layout, comments kept.

The only place that uses ruamel's round-trip loader (slow, but it keeps comments, quotes
and block scalars). The text is first checked with the fast composer so a broken file is
reported as diagnostics, never rewritten.
"""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap

from reconciler.errors import Diagnostic, SpecError
from reconciler.spec.yamlnodes import YamlReader

TOP_ORDER = ("defaults", "assets", "videos")


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap prompts
    return yaml


def format_file(text: str, path: str = "<input>") -> str:
    """The canonical layout of one spec file's text.

    Raises ``SpecError`` when the text is not valid YAML. Formatting is idempotent.
    """
    diags: list[Diagnostic] = []
    YamlReader().parse(text, path, diags)
    if diags:
        raise SpecError(diags)
    if not text.strip():
        return ""
    yaml = _yaml()
    try:
        data = yaml.load(text)
    except Exception as exc:  # the round-trip loader is stricter in a few corners
        raise SpecError([Diagnostic(path, 1, 1, f"cannot format: {exc}")]) from None
    if data is None:  # only comments: nothing to lay out
        return text if text.endswith("\n") else text + "\n"
    if isinstance(data, CommentedMap):
        _order_top(data)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def _order_top(data: CommentedMap) -> None:
    present = [key for key in TOP_ORDER if key in data]
    others = [key for key in data if key not in TOP_ORDER]
    wanted = [*present, *others]
    if list(data) == wanted:
        return
    # Re-inserting moves each key to the end; comments stay attached to their keys.
    for key in wanted:
        value = data.pop(key)
        data[key] = value
