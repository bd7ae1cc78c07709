"""Located YAML values: the small tree the spec loader works on, and scalar typing.

Every value remembers its 1-based line and column. Plain scalars are typed here by the
YAML 1.2 core schema (null, booleans, integers, floats); everything else stays text, so a
date or "16:9" is never turned into something the user did not mean.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pydantic import JsonValue

from reconciler.errors import Diagnostic

Scalar = str | int | float | bool | None

STR_TAG = "tag:yaml.org,2002:str"
INT_TAG = "tag:yaml.org,2002:int"
FLOAT_TAG = "tag:yaml.org,2002:float"
BOOL_TAG = "tag:yaml.org,2002:bool"
NULL_TAG = "tag:yaml.org,2002:null"
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MAP_TAG = "tag:yaml.org,2002:map"
SEQ_TAG = "tag:yaml.org,2002:seq"


# NamedTuples rather than frozen dataclasses: a large spec set makes hundreds of
# thousands of these, and tuple construction is several times cheaper.
class Pos(NamedTuple):
    """A 1-based line and column inside one file."""

    line: int
    col: int


class YScalar(NamedTuple):
    value: Scalar
    pos: Pos
    text: str  # the scalar as written, for messages


class YSeq(NamedTuple):
    items: tuple[YNode, ...]
    pos: Pos


class YMap(NamedTuple):
    """A mapping with string keys, in document order (duplicates already reported)."""

    entries: tuple[tuple[str, Pos, YNode], ...]
    pos: Pos

    def get(self, key: str) -> YNode | None:
        for name, _, value in self.entries:
            if name == key:
                return value
        return None

    def key_pos(self, key: str) -> Pos:
        for name, pos, _ in self.entries:
            if name == key:
                return pos
        return self.pos


YNode = YScalar | YSeq | YMap


def describe(node: YNode) -> str:
    """What kind of value a node is, for "expected X, got Y" messages."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    value = node.value
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"a boolean ({node.text})"
    if isinstance(value, int):
        return f"an integer ({node.text})"
    if isinstance(value, float):
        return f"a number ({node.text})"
    return f"a string ({node.text!r})"


_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")
# YAML 1.2 core schema, for plain (unquoted) scalars.
IMPLICIT_START = frozenset("-+.0123456789~nNtTfF")
_CORE_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_CORE_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
NULLS = frozenset(("~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))


def _implicit(text: str, pos: Pos) -> YScalar:
    if text in NULLS:
        return YScalar(None, pos, text)
    if text in _TRUE:
        return YScalar(True, pos, text)
    if text in _FALSE:
        return YScalar(False, pos, text)
    if _CORE_INT.match(text):
        if text.startswith(("0o", "0x")):
            return YScalar(int(text, 0), pos, text)
        return YScalar(int(text), pos, text)
    if _CORE_FLOAT.match(text):
        lowered = text.lower()
        if lowered.endswith(".inf"):
            return YScalar(float("-inf" if text[0] == "-" else "inf"), pos, text)
        if lowered == ".nan":
            return YScalar(float("nan"), pos, text)
        return YScalar(float(text), pos, text)
    return YScalar(text, pos, text)


def scalar(
    text: str, tag: str | None, plain: bool, pos: Pos, shown: str, diags: list[Diagnostic]
) -> YScalar:
    """A scalar typed by its tag: ``None`` (or ``!``) when it has none, which types a
    plain scalar by the core schema."""
    if tag is None or tag == STR_TAG or tag == "!":
        if plain:
            if not text:
                return YScalar(None, pos, text)
            if text[0] in IMPLICIT_START:
                return _implicit(text, pos)
        return YScalar(text, pos, text)
    if tag == NULL_TAG:
        return YScalar(None, pos, text)
    if tag == BOOL_TAG:
        return YScalar(text.lower() in ("true", "yes", "on", "y"), pos, text)
    if tag == INT_TAG:
        cleaned = text.replace("_", "")
        try:
            if _INT_RE.match(text):
                return YScalar(int(cleaned), pos, text)
            return YScalar(int(cleaned, 0), pos, text)
        except ValueError:
            return YScalar(text, pos, text)
    if tag == FLOAT_TAG:
        try:
            return YScalar(float(text.replace("_", "")), pos, text)
        except ValueError:
            return YScalar(text, pos, text)
    if tag == TIMESTAMP_TAG:
        # A date such as 2024-01-01 is only ever meant as text in a spec.
        return YScalar(text, pos, text)
    diags.append(
        Diagnostic(
            shown,
            pos.line,
            pos.col,
            f"unsupported YAML tag {tag!r}",
            "remove the tag; specs only use plain strings, numbers, booleans, lists, mappings",
        )
    )
    return YScalar(text, pos, text)


def to_plain(node: YNode) -> JsonValue:
    """The node as plain Python data (for config sections kept as data)."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [to_plain(item) for item in node.items]
    return {key: to_plain(value) for key, _, value in node.entries}
