"""The warm-plan cache: a validated ``Desired`` kept under ``.reconciler/cache/``.

Owns the cache file's format and its checks. An entry is used only when everything it
was built from is unchanged: the bytes and names of every spec file, the loader version
and code (every file of ``reconciler.spec``, the capability table included, and the
model), the project config, and each local asset file's size
and modification time (as git's index does; a changed file is hashed again on the
rebuild). The entry carries a checksum of its payload, and the payload is validated into
the pydantic models again, so a truncated, edited or foreign file is never trusted: any
problem with it means a miss, a normal load and a fresh entry. Deleting the directory is
always safe. Writes are atomic (temp file + rename) and failures to write only log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from pydantic import ValidationError

import reconciler
from reconciler import errors, model
from reconciler.model import Desired
from reconciler.spec.config import ProjectConfig

log = logging.getLogger(__name__)

# Bump when the loader's output for the same input can change (new defaults, rules, ...).
LOADER_VERSION = 1
CACHE_DIR = Path(".reconciler") / "cache"
CACHE_FILE = "desired.json"
ENV_NO_CACHE = "RECONCILER_NO_SPEC_CACHE"


@dataclass(frozen=True, slots=True)
class SpecInput:
    """One spec file as read: the name diagnostics use and its bytes."""

    shown: str
    data: bytes


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
        digest.update(hashlib.sha256(item.data).digest())
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
            raw = self.path.read_bytes()
        except OSError:
            return None
        try:
            header, _, payload = raw.partition(b"\n")
            meta = json.loads(header)
            if not isinstance(meta, dict) or meta.get("key") != key:
                return None
            if meta.get("sha256") != hashlib.sha256(payload).hexdigest():
                log.warning("ignoring a corrupt spec cache entry at %s", self.path)
                return None
            desired = Desired.model_validate_json(payload)
            stamps = meta.get("assets")
            if not _usable(stamps) or stamps != _asset_stamps(desired, self.project_root):
                return None  # a local asset file changed: its content hash must be redone
        except (ValueError, ValidationError, TypeError) as exc:
            log.warning("ignoring an unreadable spec cache entry at %s: %s", self.path, exc)
            return None
        return desired

    def put(self, key: str, desired: Desired) -> None:
        if not self.enabled:
            return
        payload = desired.model_dump_json().encode()
        meta = {
            "key": key,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "assets": _asset_stamps(desired, self.project_root),
        }
        header = json.dumps(meta, sort_keys=True).encode()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".desired-", dir=self.path.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(header + b"\n" + payload)
                Path(tmp).replace(self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as exc:  # a read-only project still plans, just without the cache
            log.info("could not write the spec cache at %s: %s", self.path, exc)
