"""The emulator's price list and cost arithmetic (API-FACTS §8, §3.12 E15).

The vendor publishes no machine-readable default prices besides the catalog endpoint, so these
unit prices are the emulator's own invented-but-plausible numbers (JimiCoin). What matters for
tests is the billing *mode* per route, which follows the docs: per second x duration, per task,
or per million completion tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.emulator.routes import Billing, Route

_RES_PIXELS = {
    "480p": 854 * 480,
    "720p": 1280 * 720,
    "1080p": 1920 * 1080,
    "2k": 2560 * 1440,
    "4k": 3840 * 2160,
}


@dataclass(frozen=True, slots=True)
class Price:
    model_name: str
    display_name: str
    mode: Billing
    unit_price: float
    group: str


def _build_prices() -> dict[str, Price]:
    prices: dict[str, Price] = {}

    def put(name: str, mode: Billing, unit: float, group: str, display: str = "") -> None:
        prices[name] = Price(name, display or name, mode, unit, group)

    per_s, per_task, tokens = Billing.PER_SECOND, Billing.PER_TASK, Billing.PER_MILLION_TOKENS
    for res, unit in (("720p", 0.10), ("1080p", 0.20), ("2k", 0.30), ("4k", 0.50)):
        put(f"sd2_mx_{res}", per_s, unit, "seedance-2.0-full", f"Seedance 2.0 Full {res}")
        put(f"sd2_mx_video_{res}", per_s, unit + 0.02, "seedance-2.0-full")
    for res, unit in (("720p", 0.06), ("1080p", 0.12)):
        put(f"sd2_mx_fast_{res}", per_s, unit, "seedance-2.0-full")
        put(f"sd2_mx_video_fast_{res}", per_s, unit + 0.01, "seedance-2.0-full")
    base = {"480p": 0.04, "720p": 0.06, "1080p": 0.10}
    for tier, factor in (("sp", 1.0), ("fast-sp", 0.8), ("of-sp", 1.5), ("of-fast-sp", 1.2)):
        for res, unit in base.items():
            put(f"seedance2.0-{tier}-{res}", per_s, round(unit * factor, 4), "seedance-2.0-sp")
    for res, unit in (("480p", 0.03), ("720p", 0.05), ("1080p", 0.08)):
        put(f"seedance2.0-mini-{res}", per_s, unit, "seedance-2.0-mini")
        put(f"seedance2.0-mini-{res}-video", per_s, unit, "seedance-2.0-mini")
    put("seedance2.0-mini-sp-480p", per_task, 0.15, "seedance-2.0-mini")
    put("seedance2.0-mini-sp-720p", per_task, 0.25, "seedance-2.0-mini")
    for name, unit in (
        ("seedance2.0-md", 1.0),
        ("seedance2.0-fast-md", 0.6),
        ("seedance2.0-pro", 1.5),
        ("seedance2.0-fast-pro", 1.0),
        ("seedance2.0-fast-i2v", 0.3),
        ("seedance2.0-std", 0.8),
    ):
        put(name, per_task, unit, "seedance-2.0-md")
    for name, unit in (
        ("seedance2.0-gz", 4.0),
        ("seedance2.0-gz-fast", 2.5),
        ("seedance2.0-gz-mini", 2.0),
    ):
        put(name, tokens, unit, "seedance-2.0-gz")
    for res, unit in (("480p", 0.03), ("720p", 0.05), ("1080p", 0.09)):
        put(f"seedance2.0-933-{res}", per_s, unit, "seedance-2.0-933")
    put("sd2-933-720p", per_s, 0.0479, "seedance-2.0-933")
    for res, unit in (("480p", 0.04), ("720p", 0.07), ("1080p", 0.12), ("4k", 0.30)):
        put(f"seedance-2.0-{res}", per_s, unit, "seedance-2.0-std")
    return prices


def completion_tokens(resolution: str, duration: int) -> int:
    """Deterministic stand-in for the upstream token count: ~pixels x frames / 1024."""
    return _RES_PIXELS.get(resolution, _RES_PIXELS["720p"]) * 24 * duration // 1024


class PriceList:
    """Unit prices by billing name, and the cost of one task."""

    def __init__(self) -> None:
        self._prices = _build_prices()

    def price_name(self, route: Route, resolution: str) -> str:
        return route.price_name.replace("{res}", resolution)

    def cost(self, route: Route, resolution: str, duration: int) -> float:
        price = self._prices[self.price_name(route, resolution)]
        if price.mode is Billing.PER_SECOND:
            amount = price.unit_price * duration
        elif price.mode is Billing.PER_TASK:
            amount = price.unit_price
        else:
            amount = completion_tokens(resolution, duration) / 1e6 * price.unit_price
        return round(amount, 6)

    def catalog(self, search: str | None) -> list[dict[str, str | float]]:
        """Rows shaped like E15 ``data.list[]``."""
        rows: list[dict[str, str | float]] = []
        needle = (search or "").strip().lower()
        for price in sorted(self._prices.values(), key=lambda p: p.model_name):
            haystack = f"{price.model_name} {price.display_name} {price.group}".lower()
            if needle and needle not in haystack:
                continue
            rows.append(
                {
                    "model_name": price.model_name,
                    "display_name": price.display_name,
                    "model_type": "video",
                    "price_mode": price.mode.value,
                    "unit_price": price.unit_price,
                    "remark": "emulator default price",
                    "group": price.group,
                }
            )
        return rows
