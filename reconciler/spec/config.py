"""The project config: the optional ``reconciler.yaml`` at the project root (DESIGN §3).

This module owns ``ProjectConfig`` and ``load_config``. It only reads the file; the app
layer applies precedence (flag > environment > config > default).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from reconciler.errors import Diagnostic, SpecError
from reconciler.model import BillingMode, Price
from reconciler.spec.capabilities import CapabilityTable, builtin_table
from reconciler.spec.check import Checker
from reconciler.spec.suggest import one_of
from reconciler.spec.yamlnodes import YamlReader, YMap, YNode, YScalar, to_plain

CONFIG_FILE = "reconciler.yaml"


class ProjectConfig(BaseModel):
    """Settings from ``reconciler.yaml``; every field has a default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    specs_dir: str = "specs"
    state_url: str | None = None
    api_url: str | None = None
    output_dir: str = "out"
    parallelism: int = Field(default=4, ge=1, le=256)
    poll_interval: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    pricing: dict[str, Price] = {}  # keyed by Billing.price_key
    currency: str = "JimiCoin"
    budget: float | None = Field(default=None, ge=0)
    rate_limit: float | None = Field(default=None, gt=0)  # creates per second; None: no cap
    # Extra or overriding capability entries, checked when the config is loaded.
    models: dict[str, dict[str, JsonValue]] = {}


_KEYS = tuple(ProjectConfig.model_fields)


def load_config(project_root: Path) -> ProjectConfig:
    """Read ``reconciler.yaml`` under ``project_root``; defaults when it does not exist.

    Raises ``SpecError`` with every problem found, each at path:line:col.
    """
    path = project_root / CONFIG_FILE
    if not path.is_file():
        return ProjectConfig()
    diags: list[Diagnostic] = []
    _, root = YamlReader().read_file(path, CONFIG_FILE, diags)
    config = ProjectConfig()
    if root is not None:
        config = _read(Checker(CONFIG_FILE, diags), root)
    if diags:
        raise SpecError(diags)
    return config


def _read(check: Checker, root: YNode) -> ProjectConfig:
    node = check.take_map(root, "reconciler.yaml")
    if node is None:
        return ProjectConfig()
    check.unknown_keys(node, _KEYS, "reconciler.yaml")
    values: dict[str, object] = {}
    for key in ("specs_dir", "state_url", "api_url", "output_dir", "currency"):
        if (value := node.get(key)) is not None:
            if (
                isinstance(value, YScalar)
                and value.value is None
                and key in ("state_url", "api_url")
            ):
                continue
            text = check.take_str(value, f"`{key}`")
            if text is not None:
                values[key] = text
    ints = {"parallelism": (1, 256), "max_attempts": (1, 1000)}
    for key, (low, high) in ints.items():
        if (value := node.get(key)) is not None:
            number = check.take_int(value, f"`{key}`")
            if number is not None and not low <= number <= high:
                check.error(value.pos, f"`{key}` must be between {low} and {high}, got {number}")
            elif number is not None:
                values[key] = number
    for key in ("poll_interval", "budget", "rate_limit"):
        if (value := node.get(key)) is not None:
            if key != "poll_interval" and isinstance(value, YScalar) and value.value is None:
                continue
            amount = check.take_number(value, f"`{key}`")
            if amount is not None and (amount < 0 or (key != "budget" and amount == 0)):
                check.error(value.pos, f"`{key}` must be positive, got {amount}")
            elif amount is not None:
                values[key] = amount
    if (value := node.get("pricing")) is not None:
        values["pricing"] = _pricing(check, value)
    if (value := node.get("models")) is not None:
        values["models"] = _models(check, value)
    return ProjectConfig.model_validate(values)


def _pricing(check: Checker, node: YNode) -> dict[str, Price]:
    table = check.take_map(node, "`pricing`")
    prices: dict[str, Price] = {}
    if table is None:
        return prices
    modes = [mode.value for mode in BillingMode]
    for key, _, entry in table.entries:
        # Shorthand `name: 0.05` is a per-second price, the most common mode.
        if isinstance(entry, YScalar):
            amount = check.take_number(entry, f"the price of {key!r}")
            if amount is not None:
                prices[key] = Price(mode=BillingMode.PER_SECOND, unit_price=amount)
            continue
        fields = check.take_map(entry, f"the price of {key!r}")
        if fields is None:
            continue
        check.unknown_keys(fields, ("mode", "unit_price"), f"the price of {key!r}")
        mode_node, price_node = fields.get("mode"), fields.get("unit_price")
        if mode_node is None or price_node is None:
            check.error(
                fields.pos,
                f"the price of {key!r} needs `mode` and `unit_price`",
                f"mode is one of {one_of(modes)}",
            )
            continue
        mode = check.take_str(mode_node, "`mode`")
        amount = check.take_number(price_node, "`unit_price`")
        if mode is not None and mode not in modes:
            check.error(
                mode_node.pos, f"unknown billing mode {mode!r}", f"use one of {one_of(modes)}"
            )
            continue
        if mode is not None and amount is not None:
            if amount < 0:
                check.error(price_node.pos, "`unit_price` must not be negative")
                continue
            prices[key] = Price(mode=BillingMode(mode), unit_price=amount)
    return prices


def _models(check: Checker, node: YNode) -> dict[str, dict[str, JsonValue]]:
    table = check.take_map(node, "`models`")
    out: dict[str, dict[str, JsonValue]] = {}
    if table is None:
        return out
    base = builtin_table()
    for name, pos, entry in table.entries:
        fields = check.take_map(entry, f"model {name!r}")
        if fields is None:
            continue
        plain = to_plain(fields)
        assert isinstance(plain, dict)
        try:
            base.with_overrides({name: dict(plain)})
        except ValueError as exc:
            check.error(
                pos,
                f"model {name!r}: {exc}",
                "start from a known model with `like: <model>` and override single fields",
            )
            continue
        out[name] = _json_dict(fields)
    return out


def _json_dict(node: YMap) -> dict[str, JsonValue]:
    plain = to_plain(node)
    assert isinstance(plain, dict)
    return dict(plain)


def capabilities(config: ProjectConfig) -> CapabilityTable:
    """The built-in capability table with the project's ``models:`` applied."""
    if not config.models:
        return builtin_table()
    overrides: dict[str, dict[str, object]] = {k: dict(v) for k, v in config.models.items()}
    return builtin_table().with_overrides(overrides)
