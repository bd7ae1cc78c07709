"""Named assets: checking their declarations and computing their content hashes.

A local file is hashed by streaming it in chunks (never read whole: media can be large);
an unpinned URL is identified by its text, a pinned one by its ``sha256``. The content
hash is what fingerprints use, so renaming a file or moving it to a CDN with a pin does
not regenerate videos.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reconciler.model import AssetType, DesiredAsset, SourcePos
from reconciler.spec.check import Checker
from reconciler.spec.suggest import one_of
from reconciler.spec.yamlnodes import Pos, YMap, YNode, YScalar

CHUNK = 1024 * 1024
ASSET_KEYS = ("file", "url", "type", "sha256", "description")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

EXTENSIONS: dict[str, AssetType] = {
    **dict.fromkeys(
        (".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic"),
        AssetType.IMAGE,
    ),
    **dict.fromkeys((".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"), AssetType.VIDEO),
    **dict.fromkeys((".mp3", ".wav", ".m4a", ".aac", ".ogg", ".flac", ".opus"), AssetType.AUDIO),
}


@dataclass(frozen=True, slots=True)
class RawAsset:
    """An asset as declared, before checking: its node and where its file lives."""

    name: str
    name_pos: Pos
    node: YNode
    spec_path: str  # project-relative path of the declaring spec file
    spec_dir: Path  # absolute directory of the declaring spec file


def type_from_extension(path: str) -> AssetType | None:
    suffix = PurePosixPath(path.split("?", 1)[0].split("#", 1)[0]).suffix.lower()
    return EXTENSIONS.get(suffix)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def url_hash(url: str) -> str:
    return "url:" + hashlib.sha256(url.encode("utf-8")).hexdigest()


def resolve_asset(raw: RawAsset, check: Checker, project_root: Path) -> DesiredAsset | None:
    """Check one asset declaration; ``None`` (with diagnostics) when it is unusable."""
    node = check.take_map(raw.node, f"asset {raw.name!r}")
    if node is None:
        return None
    check.unknown_keys(node, ASSET_KEYS, f"asset {raw.name!r}")
    file_node, url_node = node.get("file"), node.get("url")
    if (file_node is None) == (url_node is None):
        check.error(
            raw.name_pos,
            f"asset {raw.name!r} needs exactly one of `file` or `url`",
            "use `file: path/relative/to/this/spec.png` or `url: https://...`",
        )
        return None
    pin = _pin(check, node)
    declared = _declared_type(check, node)
    source = SourcePos(path=raw.spec_path, line=raw.name_pos.line, col=raw.name_pos.col)
    if url_node is not None:
        url = check.take_str(url_node, "`url`")
        if url is None:
            return None
        if not url.startswith("https://"):
            check.error(url_node.pos, "asset URLs must start with https://", "use an https URL")
            return None
        kind = _kind(check, raw.name, declared, url, url_node.pos)
        if kind is None:
            return None
        content = f"sha256:{pin}" if pin else url_hash(url)
        return DesiredAsset(name=raw.name, type=kind, url=url, content_hash=content, source=source)
    assert file_node is not None
    text = check.take_str(file_node, "`file`")
    if text is None:
        return None
    located = _locate(check, raw, text, file_node.pos, project_root)
    if located is None:
        return None
    absolute, relative = located
    kind = _kind(check, raw.name, declared, text, file_node.pos)
    if kind is None:
        return None
    try:
        actual = sha256_file(absolute)
    except OSError as exc:
        check.error(file_node.pos, f"cannot read asset file {text!r}: {exc.strerror}")
        return None
    if pin and pin != actual:
        check.error(
            node.key_pos("sha256"),
            f"asset {raw.name!r}: file {text!r} has sha256 {actual}, not the pinned value",
            "update the pin if the file changed on purpose",
        )
        return None
    return DesiredAsset(
        name=raw.name, type=kind, file=relative, content_hash=f"sha256:{actual}", source=source
    )


def _pin(check: Checker, node: YMap) -> str | None:
    pin_node = node.get("sha256")
    if pin_node is None:
        return None
    # Digests of digits only (or like 1e5...) parse as numbers; the text is what counts.
    if isinstance(pin_node, YScalar) and pin_node.value is not None:
        pin: str | None = pin_node.text
    else:
        pin = check.take_str(pin_node, "`sha256`")
    if pin is None:
        return None
    pin = pin.lower().removeprefix("sha256:")
    if not _SHA256.match(pin):
        check.error(pin_node.pos, "`sha256` must be 64 hexadecimal digits")
        return None
    return pin


def _declared_type(check: Checker, node: YMap) -> AssetType | None:
    type_node = node.get("type")
    if type_node is None:
        return None
    text = check.take_str(type_node, "`type`")
    if text is None:
        return None
    try:
        return AssetType(text)
    except ValueError:
        check.error(
            type_node.pos,
            f"unknown asset type {text!r}",
            f"use one of {one_of(t.value for t in AssetType)}",
        )
        return None


def _kind(
    check: Checker, name: str, declared: AssetType | None, where: str, pos: Pos
) -> AssetType | None:
    if declared is not None:
        return declared
    inferred = type_from_extension(where)
    if inferred is None:
        check.error(
            pos,
            f"cannot tell the type of asset {name!r} from {where!r}",
            "add `type: image`, `type: video` or `type: audio`",
        )
    return inferred


def _locate(
    check: Checker, raw: RawAsset, text: str, pos: Pos, project_root: Path
) -> tuple[Path, str] | None:
    root = project_root.resolve()
    candidate = (raw.spec_dir / text).resolve()
    if not candidate.is_relative_to(root):
        check.error(
            pos,
            f"asset file {text!r} is outside the project",
            "keep media inside the project directory",
        )
        return None
    if not candidate.is_file():
        what = "is not a file" if candidate.exists() else "does not exist"
        check.error(
            pos,
            f"asset file {text!r} {what}",
            f"paths are relative to the spec file ({raw.spec_path})",
        )
        return None
    return candidate, candidate.relative_to(root).as_posix()
