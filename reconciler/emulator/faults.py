"""The live knob set and the seeded dice that decide which request gets which fault.

`Controls` is the one mutable object behind the admin endpoint: it holds the current `Knobs`
(swapped whole), the remaining 429 burst, a `random.Random` seeded from ``--seed`` (so a run is
reproducible), and counters of injected faults for ``/_emulator/stats``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from pydantic import ValidationError

from reconciler.emulator.config import Knobs


@dataclass(frozen=True, slots=True)
class PreFault:
    """What to do before a request is processed."""

    delay_s: float = 0.0
    reset: bool = False  # close the connection, nothing processed
    status_429: bool = False
    status_5xx: int | None = None
    code_minus1: bool = False


@dataclass(frozen=True, slots=True)
class PostFault:
    """What to do to the response of a processed request."""

    drop: bool = False  # close with no response (only after a committed create)
    truncate: bool = False
    malformed_json: bool = False
    wrong_content_type: bool = False
    bytes_per_second: int = 0


class KnobError(ValueError):
    """An admin update named an unknown knob or gave a bad value."""


class Controls:
    def __init__(self, knobs: Knobs, seed: int | None) -> None:
        self._lock = threading.Lock()
        self._knobs = knobs
        self._burst_left = knobs.burst_429
        self._rng = random.Random(seed)
        self._injected: Counter[str] = Counter()
        # Client connections open now and at most so far: shows how parallel a client is.
        self._open_connections = 0
        self._peak_connections = 0

    @property
    def knobs(self) -> Knobs:
        return self._knobs

    def update(self, changes: dict[str, object]) -> Knobs:
        with self._lock:
            merged = {**self._knobs.model_dump(), **changes}
            try:
                knobs = Knobs.model_validate(merged)
            except ValidationError as err:
                raise KnobError(str(err)) from None
            self._knobs = knobs
            if "burst_429" in changes:
                self._burst_left = knobs.burst_429
            return knobs

    def replace(self, knobs: Knobs) -> None:
        with self._lock:
            self._knobs = knobs
            self._burst_left = knobs.burst_429

    def roll(self, probability: float) -> bool:
        """One seeded coin toss (also used for task failure and status synonyms)."""
        if probability <= 0:
            return False
        with self._lock:
            return self._rng.random() < probability

    def choice(self, options: tuple[str, ...]) -> str:
        with self._lock:
            return self._rng.choice(options)

    def token(self) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(128):032x}"

    def injected(self) -> dict[str, int]:
        with self._lock:
            return dict(self._injected)

    def connection(self, *, opened: bool) -> None:
        with self._lock:
            self._open_connections += 1 if opened else -1
            self._peak_connections = max(self._peak_connections, self._open_connections)

    def peak_connections(self) -> int:
        with self._lock:
            return self._peak_connections

    def _applies(self, path: str) -> bool:
        prefix = self._knobs.fault_path_prefix
        return path.startswith(prefix) if prefix else path.startswith("/api/")

    def before(self, path: str) -> PreFault:
        knobs = self._knobs
        if not self._applies(path):
            return PreFault()
        with self._lock:
            delay = knobs.latency_ms + (
                self._rng.uniform(0, knobs.jitter_ms) if knobs.jitter_ms else 0
            )
            rng = self._rng.random
            if knobs.reset_rate and rng() < knobs.reset_rate:
                self._injected["reset"] += 1
                return PreFault(delay / 1000, reset=True)
            if self._burst_left > 0:
                self._burst_left -= 1
                self._injected["429"] += 1
                return PreFault(delay / 1000, status_429=True)
            if knobs.error_5xx_rate and rng() < knobs.error_5xx_rate:
                self._injected["5xx"] += 1
                return PreFault(delay / 1000, status_5xx=self._rng.choice((500, 502, 503)))
            if knobs.code_minus1_rate and rng() < knobs.code_minus1_rate:
                self._injected["code_minus1"] += 1
                return PreFault(delay / 1000, code_minus1=True)
            return PreFault(delay / 1000)

    def after(self, path: str, created: bool) -> PostFault:
        knobs = self._knobs
        if not self._applies(path):
            return PostFault()
        with self._lock:
            rng = self._rng.random
            if created and knobs.drop_after_create_rate and rng() < knobs.drop_after_create_rate:
                self._injected["drop_after_create"] += 1
                return PostFault(drop=True)
            if knobs.truncate_rate and rng() < knobs.truncate_rate:
                self._injected["truncate"] += 1
                return PostFault(truncate=True)
            if knobs.malformed_json_rate and rng() < knobs.malformed_json_rate:
                self._injected["malformed_json"] += 1
                return PostFault(malformed_json=True)
            if knobs.wrong_content_type_rate and rng() < knobs.wrong_content_type_rate:
                self._injected["wrong_content_type"] += 1
                return PostFault(wrong_content_type=True)
            return PostFault(bytes_per_second=knobs.slow_response)
