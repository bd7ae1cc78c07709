"""Expanding declared videos into instances: ``extends``, ``matrix`` and ``takes``.

The effective fields of a video are, from weakest to strongest: its file's ``defaults``,
the effective fields of the video it ``extends`` (which include that video's own
defaults), then its own fields. Each field remembers the file it was written in, so a
bad value is reported where it was written. A ``matrix`` gives one instance per
combination of its lists (keys sorted); ``takes`` repeats every instance.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from reconciler.errors import Diagnostic
from reconciler.model import DesiredVideo, LinkForm, SourcePos, video_address
from reconciler.spec.check import Checker
from reconciler.spec.fingerprint import billing, fingerprint
from reconciler.spec.suggest import did_you_mean
from reconciler.spec.validate import META_FIELDS, InstanceValidator, Located
from reconciler.spec.yamlnodes import Pos, YMap, YScalar, YSeq

# Matrix values appear in addresses (video.x[k=v,...]#n); these would make them ambiguous.
_UNSAFE = re.compile(r"[\[\]=,#\s]")
MAX_TAKES = 100
MAX_COMBINATIONS = 1000


@dataclass(frozen=True, slots=True)
class RawVideo:
    name: str
    name_pos: Pos
    path: str
    fields: YMap
    defaults: tuple[str, YMap] | None


class VideoExpander:
    def __init__(
        self,
        videos: dict[str, RawVideo],
        validator: InstanceValidator,
        diags: list[Diagnostic],
        broken: set[str] | None = None,
    ) -> None:
        self._videos = videos
        self._broken = broken or set()
        self._validator = validator
        self._diags = diags
        self._effective: dict[str, dict[str, Located] | None] = {}
        # One file's defaults serve every video of that file: build them once per table.
        self._defaults: dict[int, dict[str, Located]] = {}

    def expand_all(self) -> list[DesiredVideo]:
        out: list[DesiredVideo] = []
        for name in sorted(self._videos):
            fields = self.effective(name, ())
            if fields is not None:
                out.extend(self._instances(self._videos[name], fields))
        return out

    def effective(self, name: str, chain: tuple[str, ...]) -> dict[str, Located] | None:
        if name in self._effective:
            return self._effective[name]
        raw = self._videos[name]
        result: dict[str, Located] = {}
        if raw.defaults is not None:
            path, table = raw.defaults
            defaults = self._defaults.get(id(table))
            if defaults is None:
                defaults = {k: Located(v, path, pos, True) for k, pos, v in table.entries}
                self._defaults[id(table)] = defaults
            result.update(defaults)
        own = {k: Located(v, raw.path, pos) for k, pos, v in raw.fields.entries}
        base_at = own.pop("extends", None)
        ok = True
        if base_at is not None:
            check = Checker(base_at.path, self._diags)
            target = check.take_str(base_at.node, "`extends`")
            if target is None:
                ok = False
            elif target in (*chain, name):
                start = chain.index(target) if target in chain else len(chain)
                loop = " -> ".join((*chain[start:], name, target))
                check.error(
                    base_at.node.pos,
                    f"`extends` forms a cycle: {loop}",
                    "break the cycle: a video cannot extend itself, directly or not",
                )
                ok = False
            elif target in self._broken:
                ok = False  # the base's own problem is already reported
            elif target not in self._videos:
                hint = did_you_mean(target, self._videos) or "name a video defined in any spec file"
                check.error(base_at.node.pos, f"`extends` names unknown video {target!r}", hint)
                ok = False
            else:
                base = self.effective(target, (*chain, name))
                if base is None:
                    ok = False
                else:
                    result.update(base)
        result.update(own)
        value = result if ok else None
        self._effective[name] = value
        return value

    def _instances(self, raw: RawVideo, fields: dict[str, Located]) -> list[DesiredVideo]:
        fields = dict(fields)
        matrix_at = fields.pop("matrix", None)
        takes_at = fields.pop("takes", None)
        description_at = fields.pop("description", None)
        labels_at = fields.pop("labels", None)
        takes = self._takes(takes_at)
        description = self._description(description_at)
        labels = self._labels(labels_at)
        combos = self._combinations(matrix_at)
        if takes is None or combos is None or labels is None or description is False:
            # Still validate the plain fields so their problems are reported too.
            self._validator.validate(raw.name, fields, (raw.path, raw.name_pos))
            return []
        out: list[DesiredVideo] = []
        source = SourcePos(path=raw.path, line=raw.name_pos.line, col=raw.name_pos.col)
        for combo in combos:
            instance = dict(fields)
            labels_of_combo: dict[str, str] = {}
            for key, located, text in combo:
                instance[key] = located
                labels_of_combo[key] = text
            checked = self._validator.validate(raw.name, instance, (raw.path, raw.name_pos))
            if checked is None:
                continue
            model = checked.caps.name
            bill = billing(checked.caps, checked.params, checked.media)
            for take in range(1, takes + 1):
                out.append(
                    DesiredVideo(
                        address=video_address(raw.name, labels_of_combo, take),
                        name=raw.name,
                        take=take,
                        matrix=labels_of_combo,
                        model=model,
                        params=checked.params,
                        media=checked.media,
                        fingerprint=fingerprint(model, checked.params, checked.media_hashes, take),
                        billing=bill,
                        link_form=LinkForm(checked.caps.media_link),
                        description=description if isinstance(description, str) else None,
                        labels=labels,
                        source=source,
                    )
                )
        return out

    def _takes(self, at: Located | None) -> int | None:
        if at is None:
            return 1
        check = Checker(at.path, self._diags)
        value = check.take_int(at.node, "`takes`")
        if value is None:
            return None
        if not 1 <= value <= MAX_TAKES:
            check.error(at.node.pos, f"`takes` must be between 1 and {MAX_TAKES}, got {value}")
            return None
        return value

    def _description(self, at: Located | None) -> str | bool | None:
        if at is None:
            return None
        text = Checker(at.path, self._diags).take_str(at.node, "`description`", allow_empty=True)
        return False if text is None else text

    def _labels(self, at: Located | None) -> dict[str, str] | None:
        if at is None:
            return {}
        check = Checker(at.path, self._diags)
        table = check.take_map(at.node, "`labels`")
        if table is None:
            return None
        labels: dict[str, str] = {}
        for key, _, node in table.entries:
            if isinstance(node, YScalar) and node.value is not None:
                labels[key] = node.text
            else:
                check.error(node.pos, f"label {key!r} must be a plain value")
                return None
        return labels

    def _combinations(self, at: Located | None) -> list[list[tuple[str, Located, str]]] | None:
        if at is None:
            return [[]]
        check = Checker(at.path, self._diags)
        table = check.take_map(at.node, "`matrix`")
        if table is None:
            return None
        axes: list[list[tuple[str, Located, str]]] = []
        allowed = self._validator.known_fields() - set(META_FIELDS)
        ok = True
        for key, pos, node in sorted(table.entries, key=lambda e: e[0]):
            if key not in allowed:
                hint = did_you_mean(key, allowed) or "a matrix varies video fields like ratio"
                check.error(pos, f"unknown field {key!r} in `matrix`", hint)
                ok = False
                continue
            if not isinstance(node, YSeq) or not node.items:
                check.error(node.pos, f"`matrix.{key}` must be a non-empty list of values")
                ok = False
                continue
            axis: list[tuple[str, Located, str]] = []
            seen: set[str] = set()
            for item in node.items:
                if not isinstance(item, YScalar) or item.value is None:
                    check.error(item.pos, f"each value of `matrix.{key}` must be a plain value")
                    ok = False
                    continue
                if _UNSAFE.search(item.text) or len(item.text) > 64:
                    check.error(
                        item.pos,
                        f"matrix value {item.text!r} cannot be part of an address",
                        "matrix values are short words without spaces or []=,#; "
                        "for longer variants (like prompts) write separate videos with `extends`",
                    )
                    ok = False
                    continue
                if item.text in seen:
                    check.error(item.pos, f"duplicate value {item.text!r} in `matrix.{key}`")
                    ok = False
                    continue
                seen.add(item.text)
                axis.append((key, Located(item, at.path, pos), item.text))
            axes.append(axis)
        if not ok:
            return None
        count = 1
        for axis in axes:
            count *= len(axis)
        if count > MAX_COMBINATIONS:
            check.error(
                at.node.pos,
                f"`matrix` makes {count} combinations, more than {MAX_COMBINATIONS}",
                "split the video, or vary fewer fields",
            )
            return None
        return [list(combo) for combo in itertools.product(*axes)]
