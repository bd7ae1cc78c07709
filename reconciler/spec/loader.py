"""Loading the specs directory into a ``Desired`` (DESIGN §3).

This module owns the whole-run flow: find every spec file, read each one's top level,
collect names across files (duplicates name both places), resolve assets, expand each
video (``extends``, ``matrix``, ``takes``) and validate every instance. Every problem of
every file is collected and raised once as a ``SpecError``.

Speed (benchmarks/plan.py): a successful load is cached by content (``spec.cache``), so
a plan with no spec change skips parsing and validation; the cyclic GC is paused while
the (long-lived, acyclic) trees and models are built, which it would otherwise scan
again and again.
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
from reconciler.spec.validate import InstanceValidator
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
        inputs: list[tuple[Path, SpecInput]] = []
        for path in spec_files(specs_dir):
            shown = _shown(path, project_root)
            data = reader.read_bytes(path, shown, diags)
            if data is not None:
                inputs.append((path, SpecInput(shown, data)))
        if diags:  # unreadable files: never cached, reported by the full load
            return _load(project_root, config, reader, inputs, diags)
        cache = SpecCache(project_root)
        key = cache_key([item for _, item in inputs], config)
        cached = cache.get(key)
        if cached is not None:
            return cached
        desired = _load(project_root, config, reader, inputs, diags)
        cache.put(key, desired)
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


def _load(
    project_root: Path,
    config: ProjectConfig,
    reader: YamlReader,
    inputs: list[tuple[Path, SpecInput]],
    diags: list[Diagnostic],
) -> Desired:
    table = capabilities(config)
    digest = hashlib.sha256()
    raw_assets: dict[str, RawAsset] = {}
    raw_videos: dict[str, RawVideo] = {}
    asset_seen: dict[str, _Declared] = {}
    video_seen: dict[str, _Declared] = {}
    file_defaults: list[tuple[str, YMap]] = []
    broken_videos: set[str] = set()  # declared, but not a mapping (already reported)
    for path, spec in inputs:
        shown, data = spec.shown, spec.data
        encoded = shown.encode("utf-8")
        digest.update(len(encoded).to_bytes(8, "big") + encoded)
        digest.update(len(data).to_bytes(8, "big") + data)
        root = reader.parse_bytes(data, shown, diags)
        if root is None:
            continue
        check = Checker(shown, diags)
        top = check.take_map(root, "a spec file")
        if top is None:
            continue
        check.unknown_keys(
            top, TOP_KEYS, "a spec file", "a spec file has only defaults, assets and videos"
        )
        defaults = _defaults(check, top.get("defaults"))
        if defaults is not None:
            file_defaults.append(defaults)
        assets_node = top.get("assets")
        if assets_node is not None and (amap := check.take_map(assets_node, "`assets`")):
            for name, pos, node in amap.entries:
                if _name_ok(check, name, pos, "asset") and _unique(
                    check, diags, asset_seen, name, shown, pos, "asset"
                ):
                    raw_assets[name] = RawAsset(name, pos, node, shown, path.parent)
        videos_node = top.get("videos")
        if videos_node is not None and (vmap := check.take_map(videos_node, "`videos`")):
            for name, pos, node in vmap.entries:
                if not _name_ok(check, name, pos, "video") or not _unique(
                    check, diags, video_seen, name, shown, pos, "video"
                ):
                    continue
                fields = check.take_map(node, f"video {name!r}")
                if fields is not None:
                    raw_videos[name] = RawVideo(name, pos, shown, fields, defaults)
                else:
                    broken_videos.add(name)

    assets: dict[str, DesiredAsset] = {}
    for name in sorted(raw_assets):
        raw = raw_assets[name]
        asset = resolve_asset(raw, Checker(raw.spec_path, diags), project_root)
        if asset is not None:
            assets[name] = asset
            if asset.file is not None:
                digest.update(f"{name}\0{asset.content_hash}\n".encode())

    validator = InstanceValidator(table, assets, set(raw_assets), diags)
    known = validator.known_fields()
    for defaults in file_defaults:
        _check_defaults(known, defaults, diags)
    expander = VideoExpander(raw_videos, validator, diags, broken_videos)
    videos = expander.expand_all()
    if diags:
        raise SpecError(_unique_diags(diags))
    # Project model overrides change defaults and rules, so they are part of the digest.
    digest.update(json.dumps(config.models, sort_keys=True).encode())
    return Desired(
        videos=tuple(sorted(videos, key=lambda v: v.address)),
        assets=tuple(assets[name] for name in sorted(assets)),
        specs_digest=digest.hexdigest(),
    )


def _defaults(check: Checker, node: YNode | None) -> tuple[str, YMap] | None:
    if node is None:
        return None
    table = check.take_map(node, "`defaults`")
    return None if table is None else (check.path, table)


def _check_defaults(known: set[str], defaults: tuple[str, YMap], diags: list[Diagnostic]) -> None:
    path, table = defaults
    check = Checker(path, diags)
    allowed = known - {"extends", "description"}
    check.unknown_keys(table, allowed, "`defaults`")


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
