"""Loading the specs directory into a ``Desired`` (DESIGN §3).

This module owns the whole-run flow: find every spec file, read each one's top level,
collect names across files (duplicates name both places), resolve assets, expand each
video (``extends``, ``matrix``, ``takes``) and validate every instance. Every problem of
every file is collected and raised once as a ``SpecError``.

Speed and memory (benchmarks/plan.py, benchmarks/scale.py): a successful load is cached
by content (``spec.cache``), so a plan with no spec change skips parsing and validation;
files are loaded one at a time and a video is expanded as soon as what it uses is known
(``expand.VideoExpander``), so the located trees of all files are never alive together;
the cyclic GC is paused while the (long-lived, acyclic) trees and values are built,
which it would otherwise scan again and again.
"""

from __future__ import annotations

import gc
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from reconciler.errors import Diagnostic, SpecError
from reconciler.model import Desired, DesiredAsset
from reconciler.spec.assets import RawAsset, resolve_asset
from reconciler.spec.cache import SpecCache, SpecInput, cache_key
from reconciler.spec.check import Checker
from reconciler.spec.config import ProjectConfig, capabilities
from reconciler.spec.expand import RawVideo, VideoExpander
from reconciler.spec.validate import InstanceValidator, Located
from reconciler.spec.yamlnodes import Pos, YamlReader, YMap, YNode

TOP_KEYS = ("defaults", "assets", "videos")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
SPEC_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class _Declared:
    path: str
    pos: Pos


def spec_files(specs_dir: Path) -> list[Path]:
    """Every spec file under ``specs_dir``, recursive, in a stable order."""
    if not specs_dir.is_dir():
        return []
    found = [
        path
        for path in specs_dir.rglob("*")
        if path.suffix in SPEC_SUFFIXES
        # Hidden files and directories (editor backups, .git) are not specs.
        and not any(part.startswith(".") for part in path.relative_to(specs_dir).parts)
        and path.is_file()
    ]
    return sorted(found, key=lambda p: p.relative_to(specs_dir).as_posix())


def _shown(path: Path, project_root: Path) -> str:
    try:
        return path.resolve().relative_to(project_root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def load_desired(project_root: Path, specs_dir: Path, config: ProjectConfig) -> Desired:
    """Load and validate every spec under ``specs_dir``; raise ``SpecError`` with all problems."""
    diags: list[Diagnostic] = []
    if not specs_dir.is_dir():
        shown = _shown(specs_dir, project_root)
        raise SpecError(
            [
                Diagnostic(
                    shown,
                    1,
                    1,
                    f"the specs directory {shown!r} does not exist",
                    "create it, or set `specs_dir` in reconciler.yaml / pass --specs",
                )
            ]
        )
    reader = YamlReader()
    with _gc_paused():
        # The cache key needs every file's digest, the load one file at a time: the bytes
        # are read again by the load rather than all kept (50 MB at 100,000 videos).
        files: list[tuple[Path, str]] = []
        inputs: list[SpecInput] = []
        for path in spec_files(specs_dir):
            shown = _shown(path, project_root)
            data = reader.read_bytes(path, shown, diags)
            if data is not None:
                files.append((path, shown))
                inputs.append(SpecInput.of(shown, data))
        if diags:  # unreadable files: never cached, reported by the full load
            return _Load(project_root, config, reader, files, diags).run()
        cache = SpecCache(project_root)
        cached = cache.get(cache_key(inputs, config))
        if cached is not None:
            return cached
        load = _Load(project_root, config, reader, files, diags)
        desired = load.run()
        # Keyed by what was parsed, so a file edited since the first read cannot be
        # cached under the digest of its old bytes.
        cache.put(cache_key(load.parsed, config), desired)
        return desired


@contextmanager
def _gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(slots=True)
class _SpecFile:
    """The top level of one spec file, checked: what the load needs from it."""

    defaults: YMap | None
    assets: tuple[tuple[str, Pos, YNode], ...]
    videos: tuple[tuple[str, Pos, YNode], ...]


class _Load:
    """One load of every spec file, file by file (see ``VideoExpander`` for the order).

    Assets are resolved as their file is read; videos are expanded as soon as what they
    use is known, so only one file's located tree (and the videos still waiting for a
    later file) is alive at a time.
    """

    def __init__(
        self,
        project_root: Path,
        config: ProjectConfig,
        reader: YamlReader,
        files: list[tuple[Path, str]],
        diags: list[Diagnostic],
    ) -> None:
        self.project_root = project_root
        self.config = config
        self.reader = reader
        self.files = files
        self.diags = diags
        self.parsed: list[SpecInput] = []  # each file's digest as the load read it

    def run(self) -> Desired:
        diags = self.diags
        digest = hashlib.sha256()
        assets: dict[str, DesiredAsset] = {}
        declared_assets: set[str] = set()  # includes assets that fail their own checks
        asset_seen: dict[str, _Declared] = {}
        video_seen: dict[str, _Declared] = {}
        validator = InstanceValidator(capabilities(self.config), assets, declared_assets, diags)
        known = validator.known_fields()
        expander = VideoExpander(validator, diags)
        for index, (path, shown) in enumerate(self.files):
            data = self.reader.read_bytes(path, shown, diags)
            if data is None:
                continue
            self.parsed.append(SpecInput.of(shown, data))
            encoded = shown.encode("utf-8")
            digest.update(len(encoded).to_bytes(8, "big") + encoded)
            digest.update(len(data).to_bytes(8, "big") + data)
            spec = _read_spec(self.reader, data, shown, diags)
            del data  # only its tree is needed from here on
            if spec is None:
                continue
            check = Checker(shown, diags)
            defaults = None
            if spec.defaults is not None:
                _check_defaults(known, shown, spec.defaults, diags)
                defaults = _located_defaults(shown, spec.defaults)
            for name, pos, node in spec.assets:
                if _name_ok(check, name, pos, "asset") and _unique(
                    check, diags, asset_seen, name, shown, pos, "asset"
                ):
                    declared_assets.add(name)
                    raw_asset = RawAsset(name, pos, node, shown, path.parent)
                    asset = resolve_asset(raw_asset, check, self.project_root)
                    if asset is not None:
                        assets[name] = asset
            videos: list[RawVideo] = []
            broken: list[str] = []
            for name, pos, node in spec.videos:
                if not _name_ok(check, name, pos, "video") or not _unique(
                    check, diags, video_seen, name, shown, pos, "video"
                ):
                    continue
                fields = check.take_map(node, f"video {name!r}")
                if fields is not None:
                    videos.append(RawVideo(name, pos, shown, fields, defaults))
                else:
                    broken.append(name)
            expander.add_file(index, videos, broken)
        videos_out = expander.finish(self._reread)
        if diags:
            raise SpecError(_unique_diags(diags))
        for name in sorted(assets):
            if assets[name].file is not None:
                digest.update(f"{name}\0{assets[name].content_hash}\n".encode())
        # Project model overrides change defaults and rules, so they are part of the digest.
        digest.update(json.dumps(self.config.models, sort_keys=True).encode())
        return Desired(
            videos=tuple(sorted(videos_out, key=lambda v: v.address)),
            assets=tuple(assets[name] for name in sorted(assets)),
            specs_digest=digest.hexdigest(),
        )

    def _reread(self, index: int, names: set[str]) -> list[RawVideo]:
        """The videos ``names`` of file ``index`` again (bases already expanded and
        dropped that a later video ``extends``). Its problems were reported the first
        time; the bytes must be the ones parsed then."""
        path, shown = self.files[index]
        scratch: list[Diagnostic] = []
        data = self.reader.read_bytes(path, shown, scratch)
        if data is None or SpecInput.of(shown, data) not in self.parsed:
            self.diags.append(
                Diagnostic(
                    shown,
                    1,
                    1,
                    "file changed while the specs were being loaded",
                    "run the command again",
                )
            )
            return []
        spec = _read_spec(self.reader, data, shown, scratch)
        if spec is None:
            return []
        defaults = None if spec.defaults is None else _located_defaults(shown, spec.defaults)
        return [
            RawVideo(name, pos, shown, node, defaults)
            for name, pos, node in spec.videos
            if name in names and isinstance(node, YMap)
        ]


def _read_spec(
    reader: YamlReader, data: bytes, shown: str, diags: list[Diagnostic]
) -> _SpecFile | None:
    root = reader.parse_bytes(data, shown, diags)
    if root is None:
        return None
    check = Checker(shown, diags)
    top = check.take_map(root, "a spec file")
    if top is None:
        return None
    check.unknown_keys(
        top, TOP_KEYS, "a spec file", "a spec file has only defaults, assets and videos"
    )
    defaults_node = top.get("defaults")
    defaults = None if defaults_node is None else check.take_map(defaults_node, "`defaults`")
    assets_node = top.get("assets")
    assets = None if assets_node is None else check.take_map(assets_node, "`assets`")
    videos_node = top.get("videos")
    videos = None if videos_node is None else check.take_map(videos_node, "`videos`")
    return _SpecFile(defaults, assets.entries if assets else (), videos.entries if videos else ())


def _located_defaults(path: str, table: YMap) -> dict[str, Located]:
    return {key: Located(value, path, pos, True) for key, pos, value in table.entries}


def _check_defaults(known: set[str], path: str, table: YMap, diags: list[Diagnostic]) -> None:
    allowed = known - {"extends", "description"}
    Checker(path, diags).unknown_keys(table, allowed, "`defaults`")


def _name_ok(check: Checker, name: str, pos: Pos, kind: str) -> bool:
    if NAME_RE.match(name):
        return True
    suggestion = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_") or "name"
    check.error(
        pos,
        f"invalid {kind} name {name!r}",
        f"names use lowercase letters, digits, '-' and '_' (e.g. {suggestion!r})",
    )
    return False


def _unique(
    check: Checker,
    diags: list[Diagnostic],
    seen: dict[str, _Declared],
    name: str,
    path: str,
    pos: Pos,
    kind: str,
) -> bool:
    first = seen.get(name)
    if first is None:
        seen[name] = _Declared(path, pos)
        return True
    here = f"{path}:{pos.line}:{pos.col}"
    there = f"{first.path}:{first.pos.line}:{first.pos.col}"
    check.error(pos, f"duplicate {kind} name {name!r}, also defined at {there}", "rename one")
    diags.append(
        Diagnostic(
            first.path,
            first.pos.line,
            first.pos.col,
            f"duplicate {kind} name {name!r}, also defined at {here}",
            "rename one",
        )
    )
    return False


def _unique_diags(diags: list[Diagnostic]) -> list[Diagnostic]:
    # Matrix combinations and takes share fields, so one bad value can be found repeatedly.
    return list(dict.fromkeys(diags))
