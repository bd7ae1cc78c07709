"""The warm-plan cache: a validated ``Desired`` kept under ``.reconciler/cache/``.

Owns the cache file's format and its checks. An entry is used only when everything it
was built from is unchanged: the bytes and names of every spec file, the loader version
and code (every file of ``reconciler.spec``, the capability table included, and the
model), the project config, and each local asset file's size
and modification time (as git's index does; a changed file is hashed again on the
rebuild). The entry ends with a checksum of everything before it, and the payload's
structure is checked field by field as it is decoded (``_Decoder``), so a truncated,
edited or foreign file is never trusted: any problem with it means a miss, a normal
load and a fresh entry. Deleting the directory is always safe. Writes are atomic (temp
file + rename) and failures to write only log.

The file is JSON lines, written and read one line at a time so that neither side ever
holds the whole entry as text (tens of MB at 100,000 videos)::

    {"assets": {...stamps...}, "key": "..."}           the header
    {"format": 2, "specs_digest": ..., tables...}       values that many videos share
    [[video row], ... up to ROWS_PER_LINE rows]        as many lines as needed
    sha256 <hex of every byte above>

Shared values (source paths, billings, label and matrix sets, media sets) are written
once in tables and referenced by index, and are shared again when read back, as the
loader shares them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import BinaryIO, TypeVar

import reconciler
from reconciler import errors, model
from reconciler.model import (
    AssetType,
    Billing,
    BillingMode,
    Desired,
    DesiredAsset,
    DesiredVideo,
    LinkForm,
    SourcePos,
)
from reconciler.spec.config import ProjectConfig

log = logging.getLogger(__name__)

# Bump when the loader's output for the same input can change (new defaults, rules, ...).
LOADER_VERSION = 1
# Bump when the payload's layout changes (``encode``/``decode``).
PAYLOAD_FORMAT = 2
CACHE_DIR = Path(".reconciler") / "cache"
CACHE_FILE = "desired.json"
ENV_NO_CACHE = "RECONCILER_NO_SPEC_CACHE"


@dataclass(frozen=True, slots=True)
class SpecInput:
    """One spec file as read: the name diagnostics use and the sha256 of its bytes."""

    shown: str
    digest: bytes

    @classmethod
    def of(cls, shown: str, data: bytes) -> SpecInput:
        return cls(shown, hashlib.sha256(data).digest())


def _code_digest() -> str:
    """The loader's own code and data: an edited rule must never meet an old entry, even
    when nobody remembered to bump ``LOADER_VERSION`` (about 25 small files: < 1 ms)."""
    digest = hashlib.sha256(reconciler.__version__.encode())
    package = resources.files("reconciler.spec")
    names = sorted(
        entry.name
        for entry in package.iterdir()
        if entry.name.endswith((".py", ".yaml")) and entry.is_file()
    )
    for name in names:
        digest.update(name.encode() + b"\0" + package.joinpath(name).read_bytes())
    for module in (model, errors):
        source = getattr(module, "__file__", None)
        if source is not None:
            digest.update(Path(source).read_bytes())
    return digest.hexdigest()


def cache_key(inputs: Sequence[SpecInput], config: ProjectConfig) -> str:
    """The content key: spec names and bytes, loader version, capabilities and config."""
    digest = hashlib.sha256()
    digest.update(f"loader {LOADER_VERSION}\n".encode())
    digest.update(_code_digest().encode())
    digest.update(config.model_dump_json().encode())
    for item in inputs:
        name = item.shown.encode("utf-8")
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(item.digest)
    return digest.hexdigest()


# A file modified this recently may change again within the same timestamp tick, after
# it was hashed: its stamp is not recorded (so the entry never matches), as git does
# for "racily clean" index entries.
RACY_NS = 2_000_000_000


def _file_stamp(path: Path) -> list[int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    if time.time_ns() - stat.st_mtime_ns < RACY_NS:
        return None
    return [stat.st_size, stat.st_mtime_ns]


def _asset_stamps(desired: Desired, project_root: Path) -> dict[str, list[int] | None]:
    return {
        asset.file: _file_stamp(project_root / asset.file)
        for asset in desired.assets
        if asset.file is not None
    }


def _usable(stamps: object) -> bool:
    return isinstance(stamps, dict) and all(stamp is not None for stamp in stamps.values())


class SpecCache:
    """The cache of one project. ``enabled`` is false when the environment opts out."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self.path = project_root / CACHE_DIR / CACHE_FILE
        self.enabled = os.environ.get(ENV_NO_CACHE, "") in ("", "0")

    def get(self, key: str) -> Desired | None:
        """The cached ``Desired`` for ``key``, or None (missing, stale or corrupt)."""
        if not self.enabled:
            return None
        try:
            handle = self.path.open("rb")
        except OSError:
            return None
        try:
            with handle:
                desired, stamps = _read_entry(handle, key)
            if desired is None:
                return None
            if not _usable(stamps) or stamps != _asset_stamps(desired, self.project_root):
                return None  # a local asset file changed: its content hash must be redone
        except _Corrupt as exc:
            log.warning("ignoring a corrupt spec cache entry at %s: %s", self.path, exc)
            return None
        except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            log.warning("ignoring an unreadable spec cache entry at %s: %s", self.path, exc)
            return None
        return desired

    def put(self, key: str, desired: Desired) -> None:
        if not self.enabled:
            return
        meta: dict[str, object] = {
            "key": key,
            "assets": _asset_stamps(desired, self.project_root),
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".desired-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    digest = hashlib.sha256()
                    for line in _entry_lines(meta, desired):
                        digest.update(line)
                        handle.write(line)
                    handle.write(TRAILER + digest.hexdigest().encode() + b"\n")
                Path(tmp).replace(self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only project still plans, just without the cache
            log.info("could not write the spec cache at %s: %s", self.path, exc)


# -- the entry ------------------------------------------------------------------------

_T = TypeVar("_T")
TRAILER = b"sha256 "
ROWS_PER_LINE = 1000


class _Corrupt(ValueError):
    """The entry's checksum does not match its bytes."""


class _Table:
    """Distinct values, each written once and referenced by its index.

    Values are told apart by identity (``id``): the loader shares equal values, so one
    object is one entry, and an entry is read back as one shared object again. Every
    value stays alive (in the ``Desired``) while a table is in use.
    """

    def __init__(self) -> None:
        self.values: list[object] = []
        self._index: dict[int, int] = {}

    def ref(self, value: object, written: Callable[[], object]) -> int:
        """The index of ``value``; ``written()`` is what the entry holds for it."""
        index = self._index.get(id(value))
        if index is None:
            index = self._index[id(value)] = len(self.values)
            self.values.append(written())
        return index


def _json_line(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _entry_lines(meta: dict[str, object], desired: Desired) -> Iterator[bytes]:
    """The lines of an entry for ``desired`` (the layout ``_read_entry`` reads), but
    the trailer."""
    yield json.dumps(meta, sort_keys=True).encode() + b"\n"
    paths, billings, maps, media = _Table(), _Table(), _Table(), _Table()

    def path(pos: SourcePos) -> int:
        return paths.ref(pos.path, lambda: pos.path)

    def billing(value: Billing) -> int:
        return billings.ref(value, lambda: [value.mode.value, value.units, value.price_key])

    def mapping(value: dict[str, str]) -> int:
        return maps.ref(value, lambda: value)

    def media_set(value: dict[str, tuple[str, ...]]) -> int:
        return media.ref(value, lambda: {field: list(refs) for field, refs in value.items()})

    assets = [
        [
            a.name,
            a.type.value,
            a.file,
            a.url,
            a.content_hash,
            path(a.source),
            a.source.line,
            a.source.col,
        ]
        for a in desired.assets
    ]
    videos = desired.videos
    for v in videos:  # the tables first: a reader needs them before the rows
        path(v.source)
        billing(v.billing)
        mapping(v.matrix)
        mapping(v.labels)
        media_set(v.media)
    yield _json_line(
        {
            "format": PAYLOAD_FORMAT,
            "specs_digest": desired.specs_digest,
            "videos": len(videos),
            "paths": paths.values,
            "billings": billings.values,
            "maps": maps.values,
            "media": media.values,
            "assets": assets,
        }
    )
    for start in range(0, len(videos), ROWS_PER_LINE):
        yield _json_line(
            [
                [
                    v.address,
                    v.name,
                    v.take,
                    mapping(v.matrix),
                    v.model,
                    v.params,
                    media_set(v.media),
                    v.fingerprint,
                    billing(v.billing),
                    v.link_form.value,
                    v.description,
                    mapping(v.labels),
                    path(v.source),
                    v.source.line,
                    v.source.col,
                ]
                for v in videos[start : start + ROWS_PER_LINE]
            ]
        )


def _read_entry(handle: BinaryIO, key: str) -> tuple[Desired | None, object]:
    """The ``Desired`` and asset stamps of an entry, or ``(None, None)`` when it was
    made for another key. Raises ``_Corrupt`` (checksum), or ``ValueError``,
    ``TypeError``, ``IndexError`` or ``KeyError`` (structure) for an entry that cannot
    be trusted."""
    digest = hashlib.sha256()
    header = handle.readline()
    digest.update(header)
    meta = _of(json.loads(header), dict)
    if meta.get("key") != key:
        return None, None
    tables = handle.readline()
    digest.update(tables)
    decoder = _Decoder(_of(json.loads(tables), dict))
    videos: list[DesiredVideo] = []
    for line in handle:
        if line.startswith(TRAILER):
            if line != TRAILER + digest.hexdigest().encode() + b"\n" or handle.read(1):
                raise _Corrupt("checksum mismatch")
            return decoder.desired(videos), meta.get("assets")
        digest.update(line)
        videos.extend(decoder.video(row) for row in _of(json.loads(line), list))
    raise _Corrupt("no checksum: the entry is truncated")


# The types of a video row's fields, as ``_entry_lines`` writes them (``description``
# may be null). ``type(...)``: a bool is not an int here.
_VIDEO_ROW = (str, str, int, int, str, dict, int, str, int, str, str, int, int, int, int)
_VIDEO_ROWS = frozenset((_VIDEO_ROW, (*_VIDEO_ROW[:10], type(None), *_VIDEO_ROW[11:])))
_LINK_FORMS = {form.value: form for form in LinkForm}


class _Decoder:
    """Reads an entry's values back, checking each field's type (and enums their
    values): any mismatch raises ``ValueError``, ``TypeError``, ``IndexError`` or
    ``KeyError``. Short
    strings of ``params`` (ratios, resolutions, ...) are shared, as the loader shares
    them."""

    def __init__(self, tables: dict[str, object]) -> None:
        if tables.get("format") != PAYLOAD_FORMAT:
            raise ValueError("not an entry of this format")
        self.specs_digest = _of(tables["specs_digest"], str)
        self.count = _of(tables["videos"], int)
        self.paths = [_of(path, str) for path in _of(tables["paths"], list)]
        self.billings = [_billing(row) for row in _of(tables["billings"], list)]
        self.maps = [_str_map(value) for value in _of(tables["maps"], list)]
        self.media = [_media(value) for value in _of(tables["media"], list)]
        self.texts: dict[str, str] = {}
        self.last_source: tuple[tuple[int, int, int], SourcePos | None] = ((-1, 0, 0), None)
        self.assets = tuple(self.asset(row) for row in _of(tables["assets"], list))

    def asset(self, row: object) -> DesiredAsset:
        name, kind, file, url, content_hash, path, line, col = _of(row, list)
        return DesiredAsset(
            name=_of(name, str),
            type=AssetType(_of(kind, str)),
            file=_optional_str(file),
            url=_optional_str(url),
            content_hash=_of(content_hash, str),
            source=SourcePos(path=_pick(self.paths, path), line=_of(line, int), col=_of(col, int)),
        )

    def video(self, row: object) -> DesiredVideo:
        # One check of every field's type at once (this runs once per video on every
        # warm plan): the row's tuple of types must be one of the two shapes.
        if type(row) is not list or tuple(map(type, row)) not in _VIDEO_ROWS:
            raise TypeError("a video row of the wrong shape")
        (
            address,
            name,
            take,
            matrix,
            model_name,
            params,
            media,
            fingerprint,
            billing,
            link_form,
            description,
            labels,
            path,
            line,
            col,
        ) = row
        if min(matrix, media, billing, labels, path) < 0:
            raise IndexError("a negative reference")
        # The instances of one video (takes, matrix) share its source, as when loaded;
        # they are mostly next to each other in address order.
        source = self.last_source[1]
        if source is None or (path, line, col) != self.last_source[0]:
            source = SourcePos(path=self.paths[path], line=line, col=col)
            self.last_source = ((path, line, col), source)
        texts = self.texts
        return DesiredVideo(
            address=address,
            name=name,
            take=take,
            matrix=self.maps[matrix],
            model=texts.setdefault(model_name, model_name),
            params={
                key: texts.setdefault(value, value)
                if type(value) is str and len(value) <= 64
                else value
                for key, value in params.items()
            },
            media=self.media[media],
            fingerprint=fingerprint,
            billing=self.billings[billing],
            link_form=_LINK_FORMS[link_form],
            description=description,
            labels=self.maps[labels],
            source=source,
        )

    def desired(self, videos: list[DesiredVideo]) -> Desired:
        if len(videos) != self.count:
            raise ValueError(f"{len(videos)} videos, the entry says {self.count}")
        return Desired(videos=tuple(videos), assets=self.assets, specs_digest=self.specs_digest)


def _of(value: object, kind: type[_T]) -> _T:
    # ``type(...) is``: a bool is not an int here, and JSON gives no subclasses.
    if type(value) is not kind:
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _of(value, str)


def _pick(table: list[_T], index: object) -> _T:
    position = _of(index, int)
    if not 0 <= position < len(table):
        raise IndexError(f"reference {position} outside a table of {len(table)}")
    return table[position]


def _billing(row: object) -> Billing:
    mode, units, price_key = _of(row, list)
    if type(units) is int:
        units = float(units)
    return Billing(
        mode=BillingMode(_of(mode, str)), units=_of(units, float), price_key=_of(price_key, str)
    )


def _str_map(value: object) -> dict[str, str]:
    return {key: _of(item, str) for key, item in _of(value, dict).items()}


def _media(value: object) -> dict[str, tuple[str, ...]]:
    return {
        field: tuple(_of(ref, str) for ref in _of(refs, list))
        for field, refs in _of(value, dict).items()
    }
