"""Reading YAML files into located values (see ``yamlvalues``), safely and fast.

This module owns the only contact between spec loading and the YAML library. It uses
ruamel's C-backed parser to *compose* (not construct) a document: nodes carry marks, so
every value can be reported at ``path:line:col``, and no Python object is ever built
from a tag. Hostile input is bounded: file size, node count after alias expansion (the
"billion laughs" attack multiplies nodes through aliases), nesting depth, and any error
the library raises becomes a ``Diagnostic`` instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import BaseResolver

from reconciler.errors import Diagnostic
from reconciler.spec.yamlvalues import (
    MAP_TAG,
    NULL_TAG,
    NULLS,
    SEQ_TAG,
    Pos,
    YMap,
    YNode,
    YScalar,
    YSeq,
    describe,
    node_pos,
    node_tag,
    scalar,
    to_plain,
)

try:
    from ruamel.yaml.cyaml import CBaseLoader
except ImportError:  # pragma: no cover - only without ruamel.yaml.clib
    CBaseLoader = None  # type: ignore[assignment,misc]

# The tag the base resolver gives each kind of node: with no implicit or path resolvers
# registered (the base resolver has none), ``BaseResolver.resolve`` always returns these.
_PLAIN_TAGS = {
    ScalarNode: BaseResolver.DEFAULT_SCALAR_TAG,
    SequenceNode: BaseResolver.DEFAULT_SEQUENCE_TAG,
    MappingNode: BaseResolver.DEFAULT_MAPPING_TAG,
}

if CBaseLoader is not None:

    class _CLoader(CBaseLoader):
        """The C loader with ``BaseResolver.resolve`` minus its per-call lookups: the C
        composer calls it for every node (~15% of composing). Plain scalars are typed
        later, in ``scalar``."""

        def resolve(self, kind: type[Node], value: str, implicit: object) -> object:
            return _PLAIN_TAGS[kind]


MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64


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
            raise _TooBig(node_pos(root), f"document expands to more than {MAX_NODES} values")
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
        if isinstance(node, ScalarNode):
            # Most nodes; an aliased scalar is simply converted again (it adds one value
            # per alias, written out in the text: no expansion to guard against).
            return scalar(node, self.shown, self.diags)
        key = id(node)
        known = self.done.get(key)
        if known is not None:
            self.shared = True
            return known
        if key in self.active:
            raise _TooBig(node_pos(node), "an alias refers to the value that contains it")
        if depth > MAX_DEPTH:
            raise _TooBig(node_pos(node), f"document is nested more than {MAX_DEPTH} levels deep")
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
        data = self.read_bytes(path, shown, diags)
        return data, None if data is None else self.parse_bytes(data, shown, diags)

    def read_bytes(self, path: Path, shown: str, diags: list[Diagnostic]) -> bytes | None:
        """The bytes of ``path`` (bounded by ``MAX_FILE_BYTES``), or None after a report."""
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
                return None
            with path.open("rb") as handle:
                # Bounded read: the file may have grown since stat().
                return handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            diags.append(Diagnostic(shown, 1, 1, f"cannot read file: {exc.strerror}"))
            return None

    def parse_bytes(self, data: bytes, shown: str, diags: list[Diagnostic]) -> YNode | None:
        """Decode (UTF-8) and parse bytes read by ``read_bytes``."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            diags.append(Diagnostic(shown, line, 1, "file is not valid UTF-8", "save it as UTF-8"))
            return None
        return self.parse(text, shown, diags)

    def _compose(self, text: str) -> Node | None:
        if CBaseLoader is None:  # no C extension: the slower composer resolves tags itself
            composed: Node | None = self._yaml.compose(text)
            return composed
        # The C loader with the base resolver (``_CLoader``): no per-scalar Python tag
        # resolution (the dominant cost of the safe composer); plain scalars are typed
        # in ``scalar``.
        loader = _CLoader(text)
        try:
            node: Node | None = loader.get_single_node()
        finally:
            loader.dispose()
            # ruamel's loader refers to itself (``_parser``, ``_composer``, ``loader``,
            # ...): a cycle only the cyclic GC frees, and the spec loader pauses it. At
            # 100,000 videos the parsers and their buffers would pile up to ~100 MB.
            loader.__dict__.clear()
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


def _convert(node: Node, composer: _Composer, depth: int) -> YNode:
    shown, diags = composer.shown, composer.diags
    if isinstance(node, ScalarNode):
        return scalar(node, shown, diags)
    if isinstance(node, SequenceNode):
        if node_tag(node) != SEQ_TAG:
            _bad_tag(node, shown, diags)
        items = tuple(composer.convert_node(item, depth + 1) for item in node.value)
        return YSeq(items, node_pos(node))
    if isinstance(node, MappingNode):
        if node_tag(node) != MAP_TAG:
            _bad_tag(node, shown, diags)
        entries: list[tuple[str, Pos, YNode]] = []
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            mark = key_node.start_mark  # node_pos, inline: this runs for every key
            key_pos = Pos(mark.line + 1, mark.column + 1)
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
            if isinstance(value_node, ScalarNode):  # most values: skip a call
                entries.append((key, key_pos, scalar(value_node, shown, diags)))
            else:
                entries.append((key, key_pos, composer.convert_node(value_node, depth + 1)))
        return YMap(tuple(entries), node_pos(node))
    raise _TooBig(node_pos(node), "unsupported YAML node")


def _is_null_key(node: ScalarNode) -> bool:
    if node_tag(node) == NULL_TAG:
        return True
    return not node.style and (node.value == "" or node.value in NULLS)


def _bad_tag(node: Node, shown: str, diags: list[Diagnostic]) -> None:
    pos = node_pos(node)
    diags.append(
        Diagnostic(
            shown,
            pos.line,
            pos.col,
            f"unsupported YAML tag {node_tag(node)!r}",
            "remove the tag",
        )
    )


__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "Pos",
    "YMap",
    "YNode",
    "YScalar",
    "YSeq",
    "YamlReader",
    "describe",
    "to_plain",
]
