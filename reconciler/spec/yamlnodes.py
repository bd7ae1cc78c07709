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
from pathlib import Path
from typing import NamedTuple

from pydantic import JsonValue
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import Diagnostic

try:
    from ruamel.yaml.cyaml import CBaseLoader
except ImportError:  # pragma: no cover - only without ruamel.yaml.clib
    CBaseLoader = None  # type: ignore[assignment,misc]

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

    __slots__ = ("active", "diags", "done", "shared", "shown", "sizes")

    def __init__(self, shown: str, diags: list[Diagnostic]) -> None:
        self.shown = shown
        self.diags = diags
        self.done: dict[int, YNode] = {}
        self.sizes: dict[int, int] = {}
        self.active: set[int] = set()
        self.shared = False  # an alias was seen: the expanded size must be checked

    def convert(self, root: Node) -> YNode:
        result = self.convert_node(root, 0)
        if self.shared and self._size(root) > MAX_NODES:
            raise _TooBig(_pos(root), f"document expands to more than {MAX_NODES} values")
        return result

    def _size(self, node: Node) -> int:
        # Only reached for acyclic graphs (convert_node refuses cycles first).
        key = id(node)
        known = self.sizes.get(key)
        if known is not None:
            return known
        total = 1
        if isinstance(node, SequenceNode):
            for item in node.value:
                total += self._size(item)
        elif isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                total += self._size(key_node) + self._size(value_node)
        # Saturate: the exact number past the limit does not matter.
        self.sizes[key] = min(total, MAX_NODES + 1)
        return self.sizes[key]

    def convert_node(self, node: Node, depth: int) -> YNode:
        key = id(node)
        known = self.done.get(key)
        if known is not None:
            self.shared = True
            return known
        if isinstance(node, ScalarNode):
            known = _scalar(node, self.shown, self.diags)
        else:
            if key in self.active:
                raise _TooBig(_pos(node), "an alias refers to the value that contains it")
            if depth > MAX_DEPTH:
                raise _TooBig(_pos(node), f"document is nested more than {MAX_DEPTH} levels deep")
            self.active.add(key)
            known = _convert(node, self, depth)
            self.active.discard(key)
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

    def _compose(self, text: str) -> Node | None:
        if CBaseLoader is None:  # no C extension: the slower composer resolves tags itself
            composed: Node | None = self._yaml.compose(text)
            return composed
        # The C loader with the base resolver: no per-scalar Python tag resolution
        # (the dominant cost of the safe composer); plain scalars are typed in _scalar.
        loader = CBaseLoader(text)
        try:
            node: Node | None = loader.get_single_node()
        finally:
            loader.dispose()
        return node

    def parse(self, text: str, shown: str, diags: list[Diagnostic]) -> YNode | None:
        if len(text) > MAX_FILE_BYTES:
            diags.append(Diagnostic(shown, 1, 1, "file is larger than the limit of 8 MiB"))
            return None
        try:
            root = self._compose(text)
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


def _tag(node: Node) -> str:
    # Node.tag renders a Tag object to text on every access (a measurable cost at 100k
    # nodes); a tag that came from the C parser is stored whole in `suffix`.
    ctag = node.ctag
    if ctag is not None and ctag.handle is None and isinstance(ctag.suffix, str):
        return ctag.suffix
    return str(node.tag)


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
# YAML 1.2 core schema, for plain (unquoted) scalars.
_IMPLICIT_START = frozenset("-+.0123456789~nNtTfF")
_CORE_INT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
_CORE_FLOAT = re.compile(
    r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$"
)
_NULLS = frozenset(("~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))


def _implicit(text: str, pos: Pos) -> YScalar:
    if text in _NULLS:
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


def _scalar(node: ScalarNode, shown: str, diags: list[Diagnostic]) -> YScalar:
    text: str = node.value
    pos = _pos(node)
    tag = _tag(node)
    if tag == _STR:
        if not node.style:
            if not text:
                return YScalar(None, pos, text)
            if text[0] in _IMPLICIT_START:
                return _implicit(text, pos)
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


def _convert(node: Node, composer: _Composer, depth: int) -> YNode:
    shown, diags = composer.shown, composer.diags
    if isinstance(node, ScalarNode):
        return _scalar(node, shown, diags)
    if isinstance(node, SequenceNode):
        if _tag(node) != _SEQ:
            _bad_tag(node, shown, diags)
        items = tuple(composer.convert_node(item, depth + 1) for item in node.value)
        return YSeq(items, _pos(node))
    if isinstance(node, MappingNode):
        if _tag(node) != _MAP:
            _bad_tag(node, shown, diags)
        entries: list[tuple[str, Pos, YNode]] = []
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            key_pos = _pos(key_node)
            if not isinstance(key_node, ScalarNode) or _is_null_key(key_node):
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
            value = composer.convert_node(value_node, depth + 1)
            entries.append((key, key_pos, value))
        return YMap(tuple(entries), _pos(node))
    raise _TooBig(_pos(node), "unsupported YAML node")


def _is_null_key(node: ScalarNode) -> bool:
    if _tag(node) == _NULL:
        return True
    return not node.style and (node.value == "" or node.value in _NULLS)


def _bad_tag(node: Node, shown: str, diags: list[Diagnostic]) -> None:
    pos = _pos(node)
    diags.append(
        Diagnostic(
            shown,
            pos.line,
            pos.col,
            f"unsupported YAML tag {_tag(node)!r}",
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
