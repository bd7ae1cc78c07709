"""``reconciler pricing pull``: the vendor's public model catalog into ``pricing:``.

The catalog (API-FACTS E15, no key needed) lists default prices by billing name. We keep
the entries whose name is a price key our capability table (with the project's
``models:``) can produce, and whose price mode is one we bill by, and write them into
``reconciler.yaml`` so that a price change is reviewed like any other change.

The file is edited with a ruamel round trip: comments, key order and every other setting
stay as they were; only the ``pricing:`` mapping changes, with its keys sorted. Prices
the catalog does not list are kept (they may be negotiated, or for a project's own
model). This is the only place that writes ``reconciler.yaml``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.tokens import CommentToken

from reconciler.api import SeedanceClient
from reconciler.api.models import CatalogEntry
from reconciler.app.files import write_atomically
from reconciler.app.settings import Settings
from reconciler.errors import ConfigError
from reconciler.model import BillingMode, Price
from reconciler.spec import CONFIG_FILE, CapabilityTable, capabilities

DEFAULT_SEARCH = "seedance"


@dataclass(frozen=True)
class PriceChange:
    """One entry of ``pricing:`` that the pull adds or changes."""

    key: str
    before: Price | None
    after: Price


@dataclass(frozen=True)
class PullResult:
    """What a pull found and did. ``notes`` are for people (skipped or missing entries)."""

    path: Path
    changes: tuple[PriceChange, ...]
    unchanged: int
    notes: tuple[str, ...]
    written: bool


def price_keys(table: CapabilityTable) -> dict[str, BillingMode]:
    """Every price key the capability table can produce, with its billing mode."""
    keys: dict[str, BillingMode] = {}
    for caps in table.models.values():
        resolutions = set(caps.resolutions)
        resolutions |= {r for r in (caps.fixed_resolution, caps.resolution_default) if r}
        templates = {caps.billing.price_key, caps.billing.price_key_video} - {None}
        for resolution in sorted(resolutions or {"default"}):
            for template in sorted(t for t in templates if t is not None):
                key = template.format(
                    model=caps.name, canonical=caps.canonical, resolution=resolution
                )
                keys[key] = caps.billing.mode
    return dict(sorted(keys.items()))


def catalog_prices(
    entries: Iterable[CatalogEntry], wanted: Mapping[str, BillingMode]
) -> tuple[dict[str, Price], list[str]]:
    """The catalog rows we can use, as prices, and a note for each row we cannot."""
    modes = {mode.value: mode for mode in BillingMode}
    prices: dict[str, Price] = {}
    notes: list[str] = []
    unused = 0
    for entry in sorted(entries, key=lambda e: e.model_name):
        name = entry.model_name
        if name not in wanted:
            unused += 1
            continue
        mode = modes.get(entry.price_mode or "")
        if mode is None:
            notes.append(f"skipped {name}: unknown price mode {entry.price_mode!r}")
            continue
        if entry.unit_price is None or entry.unit_price < 0:
            notes.append(f"skipped {name}: no usable unit price ({entry.unit_price!r})")
            continue
        if mode is not wanted[name]:
            notes.append(
                f"note {name}: the catalog bills it {mode.value}, the capability table "
                f"{wanted[name].value}; keeping the catalog's mode"
            )
        # The catalog is JSON arithmetic (0.12000000000000001); prices have few digits.
        prices[name] = Price(mode=mode, unit_price=float(f"{entry.unit_price:.10g}"))
    missing = sorted(set(wanted) - set(prices))
    if missing:
        notes.append(
            f"no catalog price for {len(missing)} price keys (add them by hand if you use "
            "them): " + ", ".join(missing)
        )
    if unused:
        notes.append(f"ignored {unused} catalog entries that no known model bills as")
    return prices, notes


def diff_prices(
    current: Mapping[str, Price], pulled: Mapping[str, Price]
) -> tuple[list[PriceChange], int]:
    """What the pull adds or changes, and how many entries it leaves as they are."""
    changes: list[PriceChange] = []
    unchanged = 0
    for key in sorted(pulled):
        before = current.get(key)
        if before == pulled[key]:
            unchanged += 1
        else:
            changes.append(PriceChange(key=key, before=before, after=pulled[key]))
    return changes, unchanged


def merge_into_config(text: str, changes: Iterable[PriceChange]) -> str:
    """``text`` (a reconciler.yaml) with ``changes`` applied to ``pricing:``, keys sorted.

    Everything else, comments included, is kept as it was.
    """
    yaml = _yaml()
    try:
        root = yaml.load(text) if text.strip() else None
    except YAMLError as error:
        raise ConfigError(
            f"{CONFIG_FILE} is not valid YAML: {error}",
            hint=f"fix {CONFIG_FILE} first; `reconciler validate` shows where",
        ) from None
    if root is None:
        root = CommentedMap()
    if not isinstance(root, CommentedMap):
        raise ConfigError(
            f"{CONFIG_FILE} is not a mapping", hint="its top level must be `key: value` lines"
        )
    old = root.get("pricing")
    if old is not None and not isinstance(old, CommentedMap):
        raise ConfigError(
            f"`pricing:` in {CONFIG_FILE} is not a mapping",
            hint="write it as `pricing:` with one `name: {mode: ..., unit_price: ...}` per line",
        )
    entries: dict[str, object] = dict(old.items()) if old is not None else {}
    for change in changes:
        entries[change.key] = _entry(change.after)
    table = CommentedMap()
    for key in sorted(entries, key=str):  # YAML keys need not be strings
        table[key] = entries[key]
    if old is not None:
        # Keep comments written on the pricing entries and above the first one.
        for key, comment in old.ca.items.items():
            if key in table:
                table.ca.items[key] = comment
        table.ca.comment = old.ca.comment
        _keep_trailing_comment(old, table)
    root["pricing"] = table
    out = io.StringIO()
    yaml.dump(root, out)
    return out.getvalue()


def pull_pricing(
    settings: Settings, *, search: str | None = DEFAULT_SEARCH, write: bool = True
) -> PullResult:
    """Fetch the catalog, compare it with ``pricing:``, and write the file if asked."""
    wanted = price_keys(capabilities(settings.config))
    entries = asyncio.run(_fetch(settings, search))
    pulled, notes = catalog_prices(entries, wanted)
    changes, unchanged = diff_prices(settings.config.pricing, pulled)
    path = settings.project_root / CONFIG_FILE
    written = False
    if write and changes:
        try:
            text = path.read_text(encoding="utf-8") if path.is_file() else ""
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(
                f"cannot read {path}: {error}", hint="check the file's permissions"
            ) from None
        write_atomically(path, merge_into_config(text, changes))
        written = True
    return PullResult(
        path=path,
        changes=tuple(changes),
        unchanged=unchanged,
        notes=tuple(notes),
        written=written,
    )


def _keep_trailing_comment(old: CommentedMap, table: CommentedMap) -> None:
    """Keep what followed the last price (blank lines, the next section's comment) last.

    ruamel attaches it to the last entry; after sorting, that entry may be in the middle.
    """
    if not old or not table:
        return
    old_last, new_last = list(old)[-1], list(table)[-1]
    if old_last == new_last:
        return
    slots = table.ca.items.get(old_last)
    if not slots or len(slots) < 3 or slots[2] is None:
        return
    token = slots[2]
    text = str(token.value)
    # The token holds the entry's own end-of-line comment, then what follows it.
    own, newline, rest = text.partition("\n")
    if not rest:
        return
    if own.strip():
        token.value = own + newline
        # The first newline ends the new last entry's own line.
        moved = CommentToken("\n" + rest, token.start_mark, None)
    else:
        slots[2] = None
        moved = token
    target = table.ca.items.setdefault(new_last, [None, None, None, None])
    if target[2] is None:
        target[2] = moved


async def _fetch(settings: Settings, search: str | None) -> list[CatalogEntry]:
    # The catalog is public: the key is not needed, and not sent (the client's
    # model_catalog sends no Authorization header).
    async with SeedanceClient(settings.api_url, settings.api_key()) as client:
        return await client.model_catalog(search)


def _entry(price: Price) -> CommentedMap:
    entry = CommentedMap()
    entry["mode"] = price.mode.value
    entry["unit_price"] = price.unit_price
    entry.fa.set_flow_style()
    return entry


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # as `reconciler fmt`: never re-wrap a line
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml
