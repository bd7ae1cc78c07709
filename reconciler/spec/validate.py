"""Checking one video instance against its model's capabilities.

Input: the video's effective fields (after defaults, ``extends`` and one ``matrix``
combination), each with the file it was written in. Output: the request params with the
route's defaults applied and the media references resolved, or diagnostics.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pydantic import JsonValue

from reconciler.errors import Diagnostic
from reconciler.model import (
    LIST_MEDIA_FIELDS,
    MEDIA_FIELDS,
    SINGLE_MEDIA_FIELDS,
    AssetType,
    DesiredAsset,
)
from reconciler.spec.assets import type_from_extension, url_hash
from reconciler.spec.capabilities import CapabilityTable, ModelCaps
from reconciler.spec.check import Checker
from reconciler.spec.combination import (
    CombinationInputs,
    Problem,
    check_combination,
    combination_inputs,
)
from reconciler.spec.suggest import did_you_mean, one_of
from reconciler.spec.yamlnodes import Pos, YMap, YNode, YScalar, YSeq

SCALAR_FIELDS = ("model", "prompt", "duration", "ratio", "orientation", "resolution")
API_FIELDS = (*SCALAR_FIELDS, *MEDIA_FIELDS)
META_FIELDS = ("extends", "matrix", "takes", "description", "labels")
_EVERY_MODEL_FIELDS = frozenset((*API_FIELDS, *META_FIELDS))
ORIENTATIONS = ("landscape", "portrait")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
FIELD_TYPE: dict[str, AssetType] = {
    "images": AssetType.IMAGE,
    "first_image": AssetType.IMAGE,
    "last_image": AssetType.IMAGE,
    "reference_videos": AssetType.VIDEO,
    "reference_audios": AssetType.AUDIO,
}


# NamedTuples rather than frozen dataclasses, as in ``yamlvalues``: several per video,
# and a frozen dataclass's construction is a few times slower.
class Located(NamedTuple):
    """A field's value and the spec file it was written in."""

    node: YNode
    path: str
    key_pos: Pos
    # From a file's `defaults:`: a route-specific field there applies only to the
    # videos whose model supports it, instead of failing the others.
    from_defaults: bool = False


class Checked(NamedTuple):
    """A valid instance: what the fingerprint and billing are computed from."""

    caps: ModelCaps
    params: dict[str, JsonValue]
    media: dict[str, tuple[str, ...]]
    media_hashes: dict[str, tuple[str, ...]]


class InstanceValidator:
    """Validates instances against one capability table and one set of assets."""

    def __init__(
        self,
        table: CapabilityTable,
        assets: dict[str, DesiredAsset],
        declared_assets: set[str],
        diags: list[Diagnostic],
    ) -> None:
        self._table = table
        self._assets = assets
        self._declared = declared_assets  # includes assets that failed their own checks
        self._diags = diags
        self._checkers: dict[str, Checker] = {}
        self._combinations: dict[CombinationInputs, list[Problem]] = {}
        self._all_extras = sorted({k for m in table.models.values() for k in m.extra_fields})

    def known_fields(self) -> set[str]:
        return {*API_FIELDS, *META_FIELDS, *self._all_extras}

    def names_known(self, fields: dict[str, Located]) -> bool:
        """Whether every asset name ``fields`` may refer to (in a media field, or a media
        field of the ``matrix``) is declared already. Only then can the instance be
        checked before every file is read: an unknown name may be declared later.
        Anything that is not a plain name (URLs, ids, wrong types) does not depend on
        other files."""
        nodes = [fields[field].node for field in MEDIA_FIELDS if field in fields]
        matrix = fields.get("matrix")
        if matrix is not None and isinstance(matrix.node, YMap):
            nodes += [node for key, _, node in matrix.node.entries if key in MEDIA_FIELDS]
        for node in nodes:
            for item in node.items if isinstance(node, YSeq) else (node,):
                value = item.value if isinstance(item, YScalar) else None
                if isinstance(value, str) and "://" not in value and value not in self._declared:
                    return False
        return True

    def checker(self, path: str) -> Checker:
        if path not in self._checkers:
            self._checkers[path] = Checker(path, self._diags)
        return self._checkers[path]

    def validate(
        self, video: str, fields: dict[str, Located], where: tuple[str, Pos]
    ) -> Checked | None:
        here = self.checker(where[0])
        model_at = fields.get("model")
        if model_at is None:
            here.error(where[1], f"video {video!r} has no `model`", "add `model:` or a default")
            return None
        model = self.checker(model_at.path).take_str(model_at.node, "`model`")
        if model is None:
            return None
        caps = self._table.get(model)
        if caps is None:
            hint = did_you_mean(model, self._table.names()) or (
                "see `reconciler schema` for known models, or add it under `models:` in "
                "reconciler.yaml"
            )
            self.checker(model_at.path).error(model_at.node.pos, f"unknown model {model!r}", hint)
            return None
        ok = self._check_keys(video, caps, fields)
        params: dict[str, JsonValue] = {}
        ok = self._prompt(caps, fields, params, here, where[1], video) and ok
        ok = self._duration(caps, fields, params) and ok
        ok = self._enums(caps, fields, params) and ok
        ok = self._extras(caps, fields, params) and ok
        media, hashes, media_ok = self._media(caps, fields)
        if not (ok and media_ok):
            return None
        if not self._combination(caps, media, fields, params, here, where[1], video):
            return None
        return Checked(caps=caps, params=params, media=media, media_hashes=hashes)

    def _check_keys(self, video: str, caps: ModelCaps, fields: dict[str, Located]) -> bool:
        ok = True
        for key, located in fields.items():
            if key in _EVERY_MODEL_FIELDS or key in caps.extra_fields:
                continue
            if key in self._all_extras and located.from_defaults:
                continue
            ok = False
            check = self.checker(located.path)
            pos = _key_pos(located)
            if key in self._all_extras:
                check.error(
                    pos,
                    f"`{key}` is not supported by model {caps.name!r}",
                    "remove it, or pick a model that supports it",
                )
            elif key in caps.field_aliases:
                check.error(pos, f"write `{caps.field_aliases[key]}` instead of `{key}` in specs")
            else:
                options = {*API_FIELDS, *META_FIELDS, *caps.extra_fields}
                hint = did_you_mean(key, options) or "video fields: " + ", ".join(sorted(options))
                check.error(pos, f"unknown field {key!r} in video {video!r}", hint)
        return ok

    def _prompt(
        self,
        caps: ModelCaps,
        fields: dict[str, Located],
        params: dict[str, JsonValue],
        here: Checker,
        pos: Pos,
        video: str,
    ) -> bool:
        at = fields.get("prompt")
        if at is None:
            here.error(pos, f"video {video!r} has no `prompt`", "add `prompt: ...`")
            return False
        prompt = self.checker(at.path).take_str(at.node, "`prompt`")
        if prompt is None:
            return False
        if caps.prompt_max is not None and len(prompt) > caps.prompt_max:
            self.checker(at.path).error(
                at.node.pos,
                f"prompt is {len(prompt)} characters; model {caps.name!r} accepts at most "
                f"{caps.prompt_max}",
                "shorten the prompt",
            )
            return False
        params["prompt"] = prompt
        return True

    def _duration(
        self, caps: ModelCaps, fields: dict[str, Located], params: dict[str, JsonValue]
    ) -> bool:
        at = fields.get("duration")
        rule = caps.duration
        if at is None:
            if rule.default is not None:
                params["duration"] = rule.default
            return True
        value = self.checker(at.path).take_int(at.node, "`duration`")
        if value is None:
            return False
        if not rule.accepts(value):
            self.checker(at.path).error(
                at.node.pos,
                f"duration {value} is outside what model {caps.name!r} accepts ({rule.describe()})",
                f"use {rule.describe()}",
            )
            return False
        params["duration"] = value
        return True

    def _enums(
        self, caps: ModelCaps, fields: dict[str, Located], params: dict[str, JsonValue]
    ) -> bool:
        ok = True
        for key, allowed, default in (
            ("ratio", caps.ratios, caps.ratio_default),
            ("resolution", caps.resolutions, caps.resolution_default),
            ("orientation", ORIENTATIONS, None),
        ):
            at = fields.get(key)
            if at is None:
                if default is not None and allowed:
                    params[key] = default
                continue
            check = self.checker(at.path)
            if key == "resolution" and not allowed and at.from_defaults:
                continue
            if key == "resolution" and not allowed:
                fixed = caps.fixed_resolution
                check.error(
                    _key_pos(at),
                    f"model {caps.name!r} has a fixed resolution"
                    + (f" ({fixed})" if fixed else "")
                    + "; `resolution` is not accepted",
                    "remove `resolution`, or pick the model named for the resolution you want",
                )
                ok = False
                continue
            value = check.take_str(at.node, f"`{key}`")
            if value is None:
                ok = False
                continue
            if value not in allowed:
                hint = did_you_mean(value, allowed) or f"use one of {one_of(allowed)}"
                check.error(
                    at.node.pos, f"{key} {value!r} is not accepted by model {caps.name!r}", hint
                )
                ok = False
                continue
            params[key] = value
        return ok

    def _extras(
        self, caps: ModelCaps, fields: dict[str, Located], params: dict[str, JsonValue]
    ) -> bool:
        ok = True
        for key, rule in caps.extra_fields.items():
            at = fields.get(key)
            if at is None:
                if rule.default is not None:
                    params[key] = rule.default
                continue
            check = self.checker(at.path)
            if rule.type == "bool":
                flag = check.take_bool(at.node, f"`{key}`")
                if flag is None:
                    ok = False
                else:
                    params[key] = flag
                continue
            text = check.take_str(at.node, f"`{key}`")
            if text is None or text not in rule.values:
                if text is not None:
                    check.error(
                        at.node.pos,
                        f"{key} {text!r} is not accepted by model {caps.name!r}",
                        f"use one of {one_of(rule.values)}",
                    )
                ok = False
                continue
            params[key] = text
        return ok

    def _media(
        self, caps: ModelCaps, fields: dict[str, Located]
    ) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], bool]:
        media: dict[str, tuple[str, ...]] = {}
        hashes: dict[str, tuple[str, ...]] = {}
        ok = True
        for field in MEDIA_FIELDS:
            at = fields.get(field)
            if at is None:
                continue
            check = self.checker(at.path)
            entries: list[tuple[str, Pos]] | None
            if field in SINGLE_MEDIA_FIELDS:
                value = check.take_str(at.node, f"`{field}`")
                entries = None if value is None else [(value, at.node.pos)]
            else:
                entries = check.take_str_list(at.node, f"`{field}`")
            if entries is None:
                ok = False
                continue
            if not entries and field in LIST_MEDIA_FIELDS:
                continue
            refs: list[str] = []
            refs_hashed: list[str] = []
            for text, pos in entries:
                resolved = self._reference(caps, field, text, pos, check)
                if resolved is None:
                    ok = False
                    continue
                refs.append(resolved[0])
                refs_hashed.append(resolved[1])
            media[field] = tuple(refs)
            hashes[field] = tuple(refs_hashed)
        return media, hashes, ok

    def _reference(
        self, caps: ModelCaps, field: str, text: str, pos: Pos, check: Checker
    ) -> tuple[str, str] | None:
        wanted = FIELD_TYPE[field]
        scheme = text.split("://", 1)[0] if "://" in text else None
        if scheme == "asset" or (scheme is not None and scheme in caps.extra_asset_schemes):
            if caps.media_link == "https":
                check.error(
                    pos,
                    f"model {caps.name!r} only accepts public https URLs, not {scheme}:// ids",
                    "declare the media as an asset with `url:` or `file:`",
                )
                return None
            if len(text) == len(scheme) + 3:
                check.error(pos, f"{scheme}:// needs an id after it")
                return None
            return text, text
        if "://" in text:
            if not text.startswith("https://"):
                check.error(pos, "media URLs must start with https://", "use an https URL")
                return None
            if caps.media_link == "asset_audit":
                check.error(
                    pos,
                    f"model {caps.name!r} only accepts audited assets (asset://), not URLs",
                    "declare the media as a named asset; apply uploads and audits it",
                )
                return None
            kind = type_from_extension(text)
            if kind is not None and kind is not wanted:
                check.error(
                    pos, f"{field} needs {wanted.value} media; {text!r} looks like {kind.value}"
                )
                return None
            return text, url_hash(text)
        asset = self._assets.get(text)
        if asset is None:
            if text in self._declared:
                return None  # the asset's own problem is already reported
            if not _NAME.match(text):
                check.error(
                    pos,
                    f"{text!r} in `{field}` is not an asset name, an https:// URL or asset://ID",
                    "local files and data: URLs are not sent directly; declare them under "
                    "`assets:` with `file:` and use the asset's name",
                )
                return None
            hint = did_you_mean(text, self._declared) or (
                "declare it under `assets:`, or write an https:// URL or asset://ID"
            )
            check.error(pos, f"unknown asset {text!r} in `{field}`", hint)
            return None
        if asset.type is not wanted:
            check.error(
                pos,
                f"asset {text!r} is {asset.type.value}, but `{field}` takes {wanted.value}",
                f"use an {wanted.value} asset here",
            )
            return None
        return asset.address, asset.content_hash

    def _combination(
        self,
        caps: ModelCaps,
        media: dict[str, tuple[str, ...]],
        fields: dict[str, Located],
        params: dict[str, JsonValue],
        here: Checker,
        pos: Pos,
        video: str,
    ) -> bool:
        key = combination_inputs(caps, media, params)
        problems = self._combinations.get(key)
        if problems is None:  # the same few answers for thousands of instances
            problems = self._combinations[key] = check_combination(caps, key)
        for field, message, hint in problems:
            at = fields.get(field) if field else None
            if at is not None:
                self.checker(at.path).error(at.node.pos, message, hint)
            else:
                here.error(pos, f"video {video!r}: {message}", hint)
        return not problems


def _key_pos(located: Located) -> Pos:
    return located.key_pos
