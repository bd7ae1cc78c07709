"""The JSON Schema of the spec format, for editors (``reconciler schema``).

Generated from the capability table so model names, ratios, resolutions and the
route-specific fields offered by completion are the ones the loader accepts. Model names
are suggestions, not a closed set: project config may add models. The loader remains the
authority (cross-field and per-model rules are not expressible here).
"""

from __future__ import annotations

from pydantic import JsonValue

from reconciler.model import AssetType
from reconciler.spec.capabilities import CapabilityTable, builtin_table
from reconciler.spec.expand import MAX_TAKES
from reconciler.spec.validate import ORIENTATIONS

NAME_PATTERN = "^[a-z0-9][a-z0-9_-]*$"


def _json_list(values: list[str]) -> list[JsonValue]:
    return list[JsonValue](values)


def _open_enum(values: list[str], description: str) -> dict[str, JsonValue]:
    options: list[JsonValue] = [{"enum": _json_list(values)}, {"type": "string"}]
    return {"description": description, "anyOf": options}


def _ref_list(description: str) -> dict[str, JsonValue]:
    return {
        "description": description,
        "anyOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "string"},
        ],
    }


def json_schema(table: CapabilityTable | None = None) -> dict[str, JsonValue]:
    table = table or builtin_table()
    models = table.names()
    ratios = sorted({r for m in table.models.values() for r in m.ratios})
    resolutions = sorted({r for m in table.models.values() for r in m.resolutions})
    bools: set[str] = set()
    enums: dict[str, set[str]] = {}
    for caps in table.models.values():
        for name, rule in caps.extra_fields.items():
            if rule.type == "bool":
                bools.add(name)
            else:
                enums.setdefault(name, set()).update(rule.values)
    extras: dict[str, JsonValue] = {
        name: {"type": "boolean", "description": "route-specific"} for name in sorted(bools)
    }
    for name, values in sorted(enums.items()):
        extras[name] = {"enum": _json_list(sorted(values)), "description": "route-specific"}
    ref = "an asset name, an https:// URL, or asset://ID"
    fields: dict[str, JsonValue] = {
        "model": _open_enum(models, "the Seedance model (route)"),
        "prompt": {"type": "string", "minLength": 1},
        "duration": {"type": "integer", "minimum": 1, "description": "seconds"},
        "ratio": _open_enum(ratios, "aspect ratio; allowed set depends on the model"),
        "orientation": {"enum": list(ORIENTATIONS)},
        "resolution": {"enum": _json_list(resolutions)},
        "images": _ref_list(f"reference images: {ref}"),
        "first_image": {"type": "string", "description": f"first frame: {ref}"},
        "last_image": {"type": "string", "description": f"last frame: {ref}"},
        "reference_videos": _ref_list(f"reference videos: {ref}"),
        "reference_audios": _ref_list(f"reference audios: {ref}"),
        **extras,
    }
    field_names = _json_list(sorted(fields))
    video_props: dict[str, JsonValue] = {
        **fields,
        "extends": {"type": "string", "pattern": NAME_PATTERN, "description": "base video"},
        "matrix": {
            "type": "object",
            "description": "one video per combination of these lists",
            "propertyNames": {"enum": field_names},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": ["string", "integer", "number", "boolean"]},
            },
        },
        "takes": {"type": "integer", "minimum": 1, "maximum": MAX_TAKES},
        "description": {"type": "string", "description": "not sent to the API"},
        "labels": {
            "type": "object",
            "additionalProperties": {"type": ["string", "integer", "number", "boolean"]},
        },
    }
    defaults_props = {k: v for k, v in video_props.items() if k not in ("extends", "description")}
    asset: dict[str, JsonValue] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "file": {"type": "string", "description": "path relative to this spec file"},
            "url": {"type": "string", "pattern": "^https://"},
            "type": {"enum": [t.value for t in AssetType]},
            "sha256": {"type": "string", "pattern": "^(sha256:)?[0-9a-fA-F]{64}$"},
            "description": {"type": "string"},
        },
        "oneOf": [{"required": ["file"]}, {"required": ["url"]}],
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://reconciler.invalid/schema/spec-v1.json",
        "title": "reconciler spec file (version 1)",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "defaults": {
                "type": "object",
                "additionalProperties": False,
                "properties": defaults_props,
            },
            "assets": {
                "type": "object",
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": asset,
            },
            "videos": {
                "type": "object",
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": video_props,
                },
            },
        },
    }
