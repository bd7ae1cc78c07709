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
from collections.abc import Callable
from typing import NamedTuple

from pydantic import JsonValue

from reconciler.errors import Diagnostic
from reconciler.model import Billing, DesiredVideo, LinkForm, SourcePos, video_address
from reconciler.spec.check import Checker
from reconciler.spec.fingerprint import BillingInputs, billing, billing_inputs, fingerprint
from reconciler.spec.suggest import did_you_mean
from reconciler.spec.validate import META_FIELDS, Checked, InstanceValidator, Located
from reconciler.spec.yamlnodes import Pos, YMap, YScalar, YSeq

# Matrix values appear in addresses (video.x[k=v,...]#n); these would make them ambiguous.
_UNSAFE = re.compile(r"[\[\]=,#\s]")
MAX_TAKES = 100
MAX_COMBINATIONS = 1000


class RawVideo(NamedTuple):
    name: str
    name_pos: Pos
    path: str
    fields: YMap
    # The file's ``defaults`` as fields, built once per file and shared by its videos.
    defaults: dict[str, Located] | None


class VideoExpander:
    """Expands videos file by file, as soon as everything they depend on is known.

    A video is expanded when its file is added if it has no ``extends`` of its own and
    every asset name it uses is already declared; its located tree can then be dropped
    with the rest of its file. The others wait in ``pending`` (an asset may be declared,
    or a base video written, in a later file) and are expanded by ``finish``, with every
    name known. A base video that was already expanded and dropped is read again from
    its file (``reread``); a base named in its own file is kept instead. The result is
    the same as expanding everything at the end; only one file's tree (plus the waiting
    videos) is alive at a time.
    """

    def __init__(self, validator: InstanceValidator, diags: list[Diagnostic]) -> None:
        self._validator = validator
        self._diags = diags
        self.videos: list[DesiredVideo] = []
        # Every declared video (for `extends` and hints): the index of its file.
        self._home: dict[str, int] = {}
        self._broken: set[str] = set()  # declared, but not a mapping (already reported)
        self._pending: dict[str, RawVideo] = {}
        self._kept: dict[str, RawVideo] = {}  # expanded bases that pending videos name
        self._effective: dict[str, dict[str, Located] | None] = {}
        self._shared = _Shared()

    def add_file(self, index: int, videos: list[RawVideo], broken: list[str]) -> None:
        """The declared videos of file ``index`` (names already checked unique)."""
        self._broken.update(broken)
        for raw in videos:
            self._home[raw.name] = index
        bases: set[str] = set()
        for raw in videos:
            base = raw.fields.get("extends")
            if base is None:
                fields = self._own_fields(raw)
                if self._validator.names_known(fields):
                    self.videos.extend(self._instances(raw, fields))
                    continue
            elif isinstance(base, YScalar) and isinstance(base.value, str):
                bases.add(base.value)
            self._pending[raw.name] = raw
        self._kept.update((raw.name, raw) for raw in videos if raw.name in bases)

    def finish(self, reread: Callable[[int, set[str]], list[RawVideo]]) -> list[DesiredVideo]:
        """Expand the waiting videos; ``reread(index, names)`` gives back the named videos
        of file ``index``. Returns every instance, in no particular order."""
        missing: dict[int, set[str]] = {}
        for raw in self._pending.values():
            base = raw.fields.get("extends")
            target = base.value if isinstance(base, YScalar) else None
            if (
                isinstance(target, str)
                and target in self._home
                and target not in self._pending
                and target not in self._kept
            ):
                missing.setdefault(self._home[target], set()).add(target)
        for index, names in sorted(missing.items()):
            self._kept.update((raw.name, raw) for raw in reread(index, names) if raw.name in names)
        for name in sorted(self._pending):
            fields = self.effective(name, ())
            if fields is not None:
                self.videos.extend(self._instances(self._pending[name], fields))
        return self.videos

    def _own_fields(self, raw: RawVideo) -> dict[str, Located]:
        """The file's defaults overlaid with the video's own fields."""
        result: dict[str, Located] = {}
        if raw.defaults is not None:
            result.update(raw.defaults)
        for key, pos, value in raw.fields.entries:
            result[key] = Located(value, raw.path, pos)
        return result

    def effective(self, name: str, chain: tuple[str, ...]) -> dict[str, Located] | None:
        if name in self._effective:
            return self._effective[name]
        raw = self._pending.get(name) or self._kept[name]
        result: dict[str, Located] = {}
        if raw.defaults is not None:
            result.update(raw.defaults)
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
            elif target not in self._home:
                hint = did_you_mean(target, self._home) or "name a video defined in any spec file"
                check.error(base_at.node.pos, f"`extends` names unknown video {target!r}", hint)
                ok = False
            elif target not in self._pending and target not in self._kept:
                ok = False  # its file could not be read again (already reported)
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
        shared = self._shared
        labels = shared.mapping(labels)
        if not isinstance(description, str):
            description = None
        for combo in combos:
            instance = fields
            labels_of_combo: dict[str, str] = {}
            if combo:
                instance = dict(fields)
                for key, located, text in combo:
                    instance[key] = located
                    labels_of_combo[key] = text
            checked = self._validator.validate(raw.name, instance, (raw.path, raw.name_pos))
            if checked is None:
                continue
            model = checked.caps.name
            bill = shared.billing(checked)
            matrix = shared.mapping(labels_of_combo)
            params = shared.params(checked.params)
            media = shared.media(checked.media)
            link_form = LinkForm(checked.caps.media_link)
            for take in range(1, takes + 1):
                out.append(
                    DesiredVideo(
                        address=video_address(raw.name, labels_of_combo, take),
                        name=raw.name,
                        take=take,
                        matrix=matrix,
                        model=model,
                        params=params,
                        media=media,
                        fingerprint=fingerprint(model, checked.params, checked.media_hashes, take),
                        billing=bill,
                        link_form=link_form,
                        description=description,
                        labels=labels,
                        source=source,
                    )
                )
        return out

    def _takes(self, at: Located | None) -> int | None:
        if at is None:
            return 1
        check = self._validator.checker(at.path)
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
        text = self._validator.checker(at.path).take_str(at.node, "`description`", allow_empty=True)
        return False if text is None else text

    def _labels(self, at: Located | None) -> dict[str, str] | None:
        if at is None:
            return {}
        check = self._validator.checker(at.path)
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


class _Shared:
    """Values that many videos carry equal, kept once: label and matrix sets, media sets,
    billings, and the short texts of ``params`` (ratios, resolutions, ...). The model
    allows it (``reconciler.model``: its dicts are read-only); at 100,000 videos it is
    tens of MiB (docs/PERFORMANCE.md)."""

    SHORT = 64  # longer texts (prompts) are rarely equal: not worth a lookup

    def __init__(self) -> None:
        self._maps: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
        self._media: dict[tuple[tuple[str, tuple[str, ...]], ...], dict[str, tuple[str, ...]]] = {}
        self._billings: dict[BillingInputs, Billing] = {}
        self._texts: dict[str, str] = {}

    def mapping(self, value: dict[str, str]) -> dict[str, str]:
        return self._maps.setdefault(tuple(value.items()), value)

    def media(self, value: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        return self._media.setdefault(tuple(value.items()), value)

    def billing(self, checked: Checked) -> Billing:
        """The instance's billing, computed once per ``billing_inputs``."""
        key = billing_inputs(checked.caps, checked.params, checked.media)
        known = self._billings.get(key)
        if known is None:
            known = self._billings[key] = billing(checked.caps, checked.params, checked.media)
        return known

    def params(self, params: dict[str, JsonValue]) -> dict[str, JsonValue]:
        texts = self._texts
        return {
            key: texts.setdefault(value, value)
            if isinstance(value, str) and len(value) <= self.SHORT
            else value
            for key, value in params.items()
        }
