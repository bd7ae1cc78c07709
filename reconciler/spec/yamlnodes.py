"""Reading YAML files into located values (see ``yamlvalues``), safely and fast.

This module owns the only contact between spec loading and the YAML library. It reads
the parser's *events* (never constructing a Python object from a tag) and builds the
located values straight from them: every value can be reported at ``path:line:col``.
ruamel's C parser supplies the events; without its C extension, the pure-Python parser
does. Hostile input is bounded: file size, node count after alias expansion (the
"billion laughs" attack multiplies nodes through aliases), nesting depth, and any error
the library raises becomes a ``Diagnostic`` instead of a traceback.

The composer follows ruamel's C composer (``get_single_node``) in what it refuses and
how (undefined aliases, reused anchors, a second document), so those errors read as
before. Composing the library's node objects first and converting them afterwards, as
this module did before, took 0.44 s of CPU for the 10,000 videos of benchmarks/plan.py
against 0.31 s (the parser's events alone: 0.17 s).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.composer import ComposerError
from ruamel.yaml.events import (
    AliasEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    NodeEvent,
    ScalarEvent,
    SequenceEndEvent,
    StreamEndEvent,
)

from reconciler.errors import Diagnostic
from reconciler.spec.yamlvalues import (
    IMPLICIT_START,
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
    scalar,
    to_plain,
)

try:
    # Not in cyaml's __all__, but it is the C parser whichever build cyaml found.
    from ruamel.yaml.cyaml import CParser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - only without ruamel.yaml.clib
    CParser = None

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES = 1_000_000
MAX_DEPTH = 64


_CYCLE = "an alias refers to the value that contains it"
_DEEP = f"document is nested more than {MAX_DEPTH} levels deep"


class _TooBig(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


@dataclass(slots=True, eq=False)
class _Anchored:
    """What an anchor (``&name``) names, for the aliases (``*name``) that follow it."""

    mark: object  # the parser's start mark, for a reused anchor's error
    pos: Pos
    dropped: bool  # written inside a value that is dropped (see ``_Composer._drop``)
    event: ScalarEvent | None = None  # a scalar is typed again at each alias
    value: YNode | None = None  # a collection's value; None while it is being read
    size: int = 1  # the number of values it expands to
    # Why a dropped collection is refused where an alias brings it back into the
    # document (it contains an alias to itself, or is nested too deep).
    refused: str | None = None


def _pos(event: Event) -> Pos:
    mark = event.start_mark
    return Pos(mark.line + 1, mark.column + 1)


def _tag(event: ScalarEvent | CollectionStartEvent) -> str | None:
    """The event's tag as text; None when it has none (or only the non-specific ``!``)."""
    ctag = event.ctag
    if ctag is None:
        return None
    tag = str(ctag)  # the pure-Python parser's tags are objects
    return None if tag == "!" else tag


class _Composer:
    """Builds the ``YNode`` tree of the one document of a stream of parser events.

    Aliases make the document a DAG (or, for recursive anchors, a cyclic graph): each
    collection is built once and shared, and the number of values the document expands
    to is counted as it is read (an alias adds the size of what it names), so a "billion
    laughs" document is refused in time proportional to its text, not to its expansion.
    Diagnostics of a value that is dropped anyway (the value of a duplicate, merge or
    non-plain key, a non-plain key itself) are not reported; a document that is too big
    is refused only if the whole text parses (a syntax error is reported instead). An
    anchor written inside a dropped value and aliased elsewhere is checked where it is
    written: its diagnostics stay unreported, a cycle or too deep a nesting in it is
    refused at the alias, at the anchor's position.
    """

    __slots__ = ("anchors", "count", "diags", "next_event", "open", "quiet", "shared", "shown")

    def __init__(self, next_event: Callable[[], Event], shown: str) -> None:
        self.next_event = next_event
        self.shown = shown
        self.diags: list[Diagnostic] = []  # kept only if the whole text parses
        self.anchors: dict[str, _Anchored] = {}
        self.open: list[_Anchored] = []  # anchored collections being read, outermost first
        self.count = 0  # values read so far, aliases expanded (see ``_expand``)
        self.shared = False  # an alias named a collection: the count must be checked
        self.quiet: list[Diagnostic] | None = None

    def document(self) -> YNode | None:
        """The document's value (None for an empty stream); raises the library's errors
        (syntax, undefined alias, reused anchor, a second document) and ``_TooBig``."""
        next_event = self.next_event
        next_event()  # StreamStartEvent
        event = next_event()
        if type(event) is StreamEndEvent:
            return None
        first = next_event()  # after the DocumentStartEvent
        too_big: _TooBig | None = None
        root: YNode | None = None
        try:
            root = self.node(first, 0)
            next_event()  # DocumentEndEvent
        except _TooBig as exc:
            too_big = exc
            self._skip_to_document_end()
        event = next_event()
        if type(event) is not StreamEndEvent:
            raise ComposerError(
                "expected a single document in the stream",
                first.start_mark,
                "but found another document",
                event.start_mark,
            )
        if too_big is None and self.shared and self.count > MAX_NODES:
            too_big = _TooBig(_pos(first), f"document expands to more than {MAX_NODES} values")
        if too_big is not None:
            raise too_big
        return root

    def node(self, event: Event, depth: int) -> YNode:
        if type(event) is ScalarEvent:
            self.count += 1
            value = self._scalar(event)
            if event.anchor is not None:
                self._anchor(event, _pos(event)).event = event
            return value
        if type(event) is AliasEvent:
            return self._alias(event)
        assert isinstance(event, CollectionStartEvent)
        if depth > MAX_DEPTH and self.quiet is not None:
            return self._drop_deep(event)
        if type(event) is MappingStartEvent:
            return self._mapping(event, depth)
        return self._sequence(event, depth)

    def _scalar(self, event: ScalarEvent) -> YScalar:
        text: str = event.value
        mark = event.start_mark
        pos = Pos(mark.line + 1, mark.column + 1)
        plain = not event.style
        if event.ctag is None:  # nearly every scalar: typed here, without a call
            if not plain:
                return YScalar(text, pos, text)
            if not text:
                return YScalar(None, pos, text)
            if text[0] not in IMPLICIT_START:
                return YScalar(text, pos, text)
        return scalar(text, _tag(event), plain, pos, self.shown, self._diags())

    def _diags(self) -> list[Diagnostic]:
        return self.diags if self.quiet is None else self.quiet

    def _anchor(self, event: NodeEvent, pos: Pos) -> _Anchored:
        name = event.anchor
        known = self.anchors.get(name)
        if known is not None:
            raise ComposerError(
                "found duplicate anchor; first occurrence",
                known.mark,
                "second occurrence",
                event.start_mark,
            )
        anchored = _Anchored(event.start_mark, pos, self.quiet is not None)
        self.anchors[name] = anchored
        return anchored

    def _named(self, event: AliasEvent) -> _Anchored:
        anchored = self.anchors.get(event.anchor)
        if anchored is None:
            raise ComposerError(None, None, "found undefined alias", event.start_mark)
        return anchored

    def _alias(self, event: AliasEvent) -> YNode:
        anchored = self._named(event)
        if anchored.event is not None:  # a scalar: counted and typed again
            self.count += 1
            return self._scalar(anchored.event)
        if self.quiet is not None:
            if anchored.value is None:  # a cycle inside a dropped value
                self._refuse_open(_CYCLE, anchored)
                self.count += 1
                return YSeq((), anchored.pos)
        elif anchored.value is None or anchored.refused is not None:
            raise _TooBig(anchored.pos, anchored.refused or _CYCLE)
        else:
            self.shared = True
        self._expand(anchored.size)
        return anchored.value

    def _refuse_open(self, why: str, target: _Anchored | None = None) -> None:
        """Refuse the dropped collections being read, from ``target`` inwards (all of
        them when None)."""
        inner = target is None
        for anchored in self.open:
            inner = inner or anchored is target
            if inner and anchored.dropped:
                anchored.refused = why

    def _expand(self, size: int) -> None:
        """Count an alias's values. Past the limit the exact count no longer matters,
        and a chain of aliases would make it astronomically large."""
        if self.count <= MAX_NODES:
            self.count += size

    def _open(self, event: CollectionStartEvent, depth: int) -> tuple[Pos, _Anchored | None, int]:
        """Start a collection: its position, its anchor, and the count before it."""
        start = self.count
        self.count += 1
        pos = _pos(event)
        anchored = None
        if event.anchor is not None:
            anchored = self._anchor(event, pos)
            self.open.append(anchored)
        if depth > MAX_DEPTH:
            raise _TooBig(pos, _DEEP)
        return pos, anchored, start

    def _close(self, anchored: _Anchored | None, value: YNode, start: int) -> YNode:
        if anchored is not None:
            anchored.value = value
            anchored.size = self.count - start
            self.open.pop()
        return value

    def _sequence(self, event: CollectionStartEvent, depth: int) -> YNode:
        pos, anchored, start = self._open(event, depth)
        tag = _tag(event)
        if tag is not None and tag != SEQ_TAG:
            self._bad_tag(tag, pos)
        items: list[YNode] = []
        next_event = self.next_event
        item = next_event()
        while type(item) is not SequenceEndEvent:
            items.append(self.node(item, depth + 1))
            item = next_event()
        return self._close(anchored, YSeq(tuple(items), pos), start)

    def _mapping(self, event: CollectionStartEvent, depth: int) -> YNode:
        pos, anchored, start = self._open(event, depth)
        tag = _tag(event)
        if tag is not None and tag != MAP_TAG:
            self._bad_tag(tag, pos)
        entries: list[tuple[str, Pos, YNode]] = []
        seen: dict[str, Pos] = {}
        next_event = self.next_event
        key_event = next_event()
        while type(key_event) is not MappingEndEvent:
            key: str | None
            if (
                type(key_event) is ScalarEvent
                and key_event.anchor is None
                and key_event.ctag is None
            ):
                # Nearly every key: a name with no tag or anchor, read inline.
                self.count += 1
                key = key_event.value
                mark = key_event.start_mark
                key_pos = Pos(mark.line + 1, mark.column + 1)
                if not key_event.style and (not key or key in NULLS):
                    key = None
            else:
                key, key_pos = self._key(key_event, depth)
            value_event = next_event()
            if key is None or key == "<<" or key in seen:
                self._drop_entry(key, key_pos, seen, value_event, depth + 1)
            else:
                seen[key] = key_pos
                if type(value_event) is ScalarEvent and value_event.anchor is None:
                    self.count += 1  # most values: skip a call
                    entries.append((key, key_pos, self._scalar(value_event)))
                else:
                    entries.append((key, key_pos, self.node(value_event, depth + 1)))
            key_event = next_event()
        return self._close(anchored, YMap(tuple(entries), pos), start)

    def _key(self, event: Event, depth: int) -> tuple[str | None, Pos]:
        """A key's text (None unless a plain, non-null scalar) and position."""
        if type(event) is AliasEvent:
            anchored = self._named(event)
            if anchored.event is None:  # a collection (even one being read): not read
                self._expand(anchored.size)
                return None, anchored.pos
            event = anchored.event
        elif type(event) is not ScalarEvent:
            pos = _pos(event)
            self._drop(event, depth + 1)  # a complex key: dropped unread
            return None, pos
        elif event.anchor is not None:
            self._anchor(event, _pos(event)).event = event
        self.count += 1
        text: str = event.value
        if _tag(event) == NULL_TAG or (not event.style and (not text or text in NULLS)):
            return None, _pos(event)
        return text, _pos(event)

    def _drop_entry(
        self, key: str | None, pos: Pos, seen: dict[str, Pos], value: Event, depth: int
    ) -> None:
        """Report why the entry of ``key`` is dropped, and read past its value."""
        if key is None:
            problem = "mapping keys must be plain names", "use a simple word as the key"
        elif key == "<<":
            problem = (
                "YAML merge keys (<<) are not supported",
                "use `defaults:` or `extends:` instead",
            )
        else:
            first = seen[key]
            problem = (
                f"duplicate key {key!r} (first at line {first.line}, col {first.col})",
                "remove one of them",
            )
        self._diags().append(Diagnostic(self.shown, pos.line, pos.col, *problem))
        self._drop(value, depth)

    def _drop(self, event: Event, depth: int) -> None:
        """Read a value the document will not keep: its anchors still count, its own
        problems are not reported."""
        outer = self.quiet
        self.quiet = []
        try:
            self.node(event, depth)
        finally:
            self.quiet = outer

    def _bad_tag(self, tag: str, pos: Pos) -> None:
        message = f"unsupported YAML tag {tag!r}"
        self._diags().append(Diagnostic(self.shown, pos.line, pos.col, message, "remove the tag"))

    def _drop_deep(self, event: Event) -> YNode:
        """A collection nested too deep inside a dropped value: read past it, unbuilt."""
        self._refuse_open(_DEEP)
        self._skip(event, _DEEP)
        self.count += 1
        return YSeq((), _pos(event))

    def _skip_to_document_end(self) -> None:
        """After ``_TooBig``: read the rest of the document for the errors the library
        would raise (syntax, undefined alias, reused anchor), which are reported instead."""
        next_event = self.next_event
        event = next_event()
        while type(event) is not DocumentEndEvent:
            if type(event) is not MappingEndEvent and type(event) is not SequenceEndEvent:
                self._skip(event, None)
            event = next_event()

    def _skip(self, event: Event, why: str | None) -> None:
        """Read past the value ``event`` starts, unbuilt: its anchors are registered (a
        collection's refused for ``why``) and its aliases must name one."""
        nesting = 0
        while True:
            if type(event) is AliasEvent:
                self._named(event)
            elif type(event) is ScalarEvent:
                if event.anchor is not None:
                    self._anchor(event, _pos(event)).event = event
            elif isinstance(event, CollectionStartEvent):
                nesting += 1
                if event.anchor is not None:
                    self._anchor(event, _pos(event)).refused = why
            else:  # the end of a collection
                nesting -= 1
            if nesting == 0:
                return
            event = self.next_event()


class YamlReader:
    """Parses YAML text into ``YNode`` trees, collecting diagnostics for one file at a time."""

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

    def _events(self, text: str) -> Callable[[], Event]:
        """The parser's ``get_event`` over ``text``."""
        if CParser is None:  # no C extension: the pure-Python parser, same events
            events: Iterator[Event] = YAML(typ="safe", pure=True).parse(text)
            return events.__next__
        get_event: Callable[[], Event] = CParser(text).get_event
        return get_event

    def parse(self, text: str, shown: str, diags: list[Diagnostic]) -> YNode | None:
        if len(text) > MAX_FILE_BYTES:
            diags.append(Diagnostic(shown, 1, 1, "file is larger than the limit of 8 MiB"))
            return None
        composer = _Composer(self._events(text), shown)
        try:
            root = composer.document()
        except _TooBig as exc:
            diags += composer.diags
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
        except Exception as exc:  # the library raises many types; none may escape
            diags.append(_yaml_error(shown, exc))
            return None
        diags += composer.diags
        return root


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
