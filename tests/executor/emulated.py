"""Helpers of the executor tests around the in-process emulator (fixture: conftest.py)."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.emulator.server import RunningEmulator

KEY = "sk-emulator-key"


def knobs(emu: RunningEmulator, **values: object) -> None:
    httpx.post(f"{emu.url}/_emulator/admin", json=values, timeout=5).raise_for_status()


def emulator_stats(emu: RunningEmulator) -> dict[str, object]:
    data: dict[str, object] = httpx.get(f"{emu.url}/_emulator/stats", timeout=5).json()
    return data


def write_specs(root: Path, count: int, text: str | None = None) -> None:
    """``specs/videos.yaml`` under ``root``: ``text``, or ``count`` five-second videos."""
    lines = ["defaults:", "  model: seedance2.0-mini", "  duration: 5", "videos:"]
    for n in range(count):
        lines += [f"  v{n}:", f"    prompt: Take {n} of a kite over the dunes."]
    (root / "specs").mkdir(parents=True)
    (root / "specs" / "videos.yaml").write_text(text or "\n".join(lines) + "\n")
