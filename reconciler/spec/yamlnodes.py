"""Reading YAML into a small tree of values that remember where they were written.

This module owns the only contact between spec loading and the YAML library. It uses
ruamel's C-backed parser to *compose* (not construct) a document: nodes carry marks, so
every value can be reported at ``path:line:col``, and no Python object is ever built
from a tag. Hostile input is bounded: file size, node count after alias expansion (the
"billion laughs" attack multiplies nodes through aliases), nesting depth, and any error
the library raises becomes a ``Diagnostic`` instead of a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import JsonValue
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Diagnostic

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64

Scalar = str | int | float | bool | None

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


@dataclass(frozen=True, slots=True)
class Pos:
    """A 1-based line and column inside one file."""

    line: int
    col: int


@dataclass(frozen=True, slots=True)
class YScalar:
    value: Scalar
    pos: Pos
    text: str  # the scalar as written, for messages


@dataclass(frozen=True, slots=True)
class YSeq:
    items: tuple[YNode, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class YMap:
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


class _TooBig(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


class _Composer:
    """Turns composed nodes into ``YNode`` trees for one document.

    Aliases make the node graph a DAG (or, for recursive anchors, a cyclic graph): each
    node is converted once and shared, and its *expanded* size is computed once, so a
    "billion laughs" document is refused in time proportional to its text, not to its
    expansion.
    """

    __slots__ = ("active", "diags", "done", "shown", "sizes")

    def __init__(self, shown: str, diags: list[Diagnostic]) -> None:
        self.shown = shown
        self.diags = diags
        self.done: dict[int, YNode] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()

    def convert(self, root: Node) -> YNode:
        size = self._size(root, 0)
        if size > MAX_NODES:
            raise _TooBig(_pos(root), f"document expands to more than {MAX_NODES} values")
        return self._convert(root)

    def _size(self, node: Node, depth: int) -> int:
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        if key in self.active:
            raise _TooBig(_pos(node), "an alias refers to the value that contains it")
        if depth > MAX_DEPTH:
            raise _TooBig(_pos(node), f"document is nested more than {MAX_DEPTH} levels deep")
        self.active.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            for item in node.value:
                total += self._size(item, depth + 1)
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                total += self._size(key_node, depth + 1) + self._size(value_node, depth + 1)
        self.active.discard(key)
        # Saturate: the exact number past the limit does not matter.
        self.sizes[key] = min(total, MAX_NODES + 1)
        return self.sizes[key]

    def _convert(self, node: Node) -> YNode:
        key = id(node)
        known = self.done.get(key)
        if known is None:
            known = _convert(node, self)
            self.done[key] = known
        return known


class YamlReader:
    """Parses YAML text into ``YNode`` trees, collecting diagnostics for one file at a time."""

    def __init__(self) -> None:
        # One YAML instance per reader: ruamel's instances are not thread-safe, and a
        # module-level one would be a hidden singleton.
        self._yaml = YAML(typ="safe", pure=False)

    def read_file(
        self, path: Path, shown: str, diags: list[Diagnostic]
    ) -> tuple[bytes | None, YNode | None]:
        """Read and parse ``path``; report problems under the name ``shown``.

        Returns the raw bytes (for digests) and the document, each None when unusable.
        """
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                diags.append(
                    Diagnostic(
                        shown,
                        1,
                        1,
                        f"file is {size} bytes, more than the limit of {MAX_FILE_BYTES}",
                        "split it into several spec files",
                    )
                )
                return None, None
            with path.open("rb") as handle:
                # Bounded read: the file may have grown since stat().
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            diags.append(Diagnostic(shown, 1, 1, f"cannot read file: {exc.strerror}"))
            return None, None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            diags.append(Diagnostic(shown, line, 1, "file is not valid UTF-8", "save it as UTF-8"))
            return data, None
        return data, self.parse(text, shown, diags)

    def parse(self, text: str, shown: str, diags: list[Diagnostic]) -> YNode | None:
        if len(text) > MAX_FILE_BYTES:
            diags.append(Diagnostic(shown, 1, 1, "file is larger than the limit of 8 MiB"))
            return None
        try:
            root = self._yaml.compose(text)
        except Exception as exc:  # the library raises many types; none may escape
            diags.append(_yaml_error(shown, exc))
            return None
        if root is None:
            return None
        try:
            return _Composer(shown, diags).convert(root)
        except _TooBig as exc:
            diags.append(
                Diagnostic(
                    shown,
                    exc.pos.line,
                    exc.pos.col,
                    exc.message,
                    "do not nest aliases (&/*) so deeply; write the values out",
                )
            )
            return None


def _pos(node: Node) -> Pos:
    mark = node.start_mark
    return Pos(int(mark.line) + 1, int(mark.column) + 1)


def _yaml_error(shown: str, exc: Exception) -> Diagnostic:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = int(getattr(mark, "line", 0)) + 1 if mark is not None else 1
    col = int(getattr(mark, "column", 0)) + 1 if mark is not None else 1
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        message = f"YAML syntax error: {problem}"
        if context:
            message += f" ({context})"
    else:
        first = str(exc).strip().splitlines()
        message = f"YAML error: {first[0] if first else type(exc).__name__}"
    hint = "check indentation, quoting and brackets near this position"
    if "expected a single document" in message:
        hint = "keep one YAML document per spec file (remove `---`)"
    if "found unexpected ':'" in message:
        hint = 'inside [...] or {...}, quote values containing ":" (e.g. "https://..." or "16:9")'
    if "\t" in message or "cannot start any token" in message:
        hint = "YAML does not allow tabs for indentation; use spaces"
    return Diagnostic(shown, line, col, message, hint)


_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*)$")


def _scalar(node: ScalarNode, shown: str, diags: list[Diagnostic]) -> YScalar:
    text: str = node.value
    pos = _pos(node)
    tag = str(node.tag)
    if tag == _STR:
        return YScalar(text, pos, text)
    if tag == _NULL:
        return YScalar(None, pos, text)
    if tag == _BOOL:
        return YScalar(text.lower() in ("true", "yes", "on", "y"), pos, text)
    if tag == _INT:
        cleaned = text.replace("_", "")
        try:
            if _INT_RE.match(text):
                return YScalar(int(cleaned), pos, text)
            return YScalar(int(cleaned, 0), pos, text)
        except ValueError:
            return YScalar(text, pos, text)
    if tag == _FLOAT:
        try:
            return YScalar(float(text.replace("_", "")), pos, text)
        except ValueError:
            return YScalar(text, pos, text)
    if tag == _TIMESTAMP:
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


def _convert(node: Node, composer: _Composer) -> YNode:
    shown, diags = composer.shown, composer.diags
    if isinstance(node, ScalarNode):
        return _scalar(node, shown, diags)
    if isinstance(node, SequenceNode):
        if node.tag != _SEQ:
            _bad_tag(node, shown, diags)
        items = tuple(composer._convert(item) for item in node.value)
        return YSeq(items, _pos(node))
    if isinstance(node, MappingNode):
        if node.tag != _MAP:
            _bad_tag(node, shown, diags)
        entries: list[tuple[str, Pos, YNode]] = []
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node)
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL:
                diags.append(
                    Diagnostic(
                        shown,
                        key_pos.line,
                        key_pos.col,
                        "mapping keys must be plain names",
                        "use a simple word as the key",
                    )
                )
                continue
            key = str(key_node.value)
            if key == "<<":
                diags.append(
                    Diagnostic(
                        shown,
                        key_pos.line,
                        key_pos.col,
                        "YAML merge keys (<<) are not supported",
                        "use `defaults:` or `extends:` instead",
                    )
                )
                continue
            if key in seen:
                first = seen[key]
                diags.append(
                    Diagnostic(
                        shown,
                        key_pos.line,
                        key_pos.col,
                        f"duplicate key {key!r} (first at line {first.line}, col {first.col})",
                        "remove one of them",
                    )
                )
                continue
            seen[key] = key_pos
            value = composer._convert(value_node)
            entries.append((key, key_pos, value))
        return YMap(tuple(entries), _pos(node))
    raise _TooBig(_pos(node), "unsupported YAML node")


def _bad_tag(node: Node, shown: str, diags: list[Diagnostic]) -> None:
    pos = _pos(node)
    diags.append(
        Diagnostic(
            shown,
            pos.line,
            pos.col,
            f"unsupported YAML tag {node.tag!r}",
            "remove the tag",
        )
    )


def to_plain(node: YNode) -> JsonValue:
    """The node as plain Python data (for config sections kept as data)."""
    if isinstance(node, YScalar):
        return node.value
    if isinstance(node, YSeq):
        return [to_plain(item) for item in node.items]
    return {key: to_plain(value) for key, _, value in node.entries}
