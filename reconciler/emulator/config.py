"""Settings of the Seedance API emulator: where it listens, where it keeps state, and every knob.

`EmulatorConfig` is fixed for the life of a server (address, data file, key). `Knobs` are the
behaviour settings that the admin endpoint may change while the server runs; the server keeps
the current `Knobs` value and swaps it whole (the model is frozen), so a request always sees one
consistent set.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

DEFAULT_API_KEY = "sk-emulator-key"
THREE_DAYS = 3 * 24 * 3600


class Knobs(BaseModel):
    """Behaviour and fault-injection settings; every one is settable by CLI flag and admin API."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue_seconds: float = Field(default=0.0, ge=0)
    run_seconds: float = Field(default=0.0, ge=0)
    fail_rate: float = Field(default=0.0, ge=0, le=1)
    fail_prompt_pattern: str | None = None
    # Probability that a queued task is reported as "pending"/"submitted" instead of "queued".
    status_synonym_rate: float = Field(default=0.0, ge=0, le=1)
    audit_seconds: float = Field(default=0.0, ge=0)
    reject_audit_pattern: str | None = None
    result_ttl: float = Field(default=float(THREE_DAYS), gt=0)
    latency_ms: float = Field(default=0.0, ge=0)
    jitter_ms: float = Field(default=0.0, ge=0)
    error_5xx_rate: float = Field(default=0.0, ge=0, le=1)
    burst_429: int = Field(default=0, ge=0)
    retry_after: int = Field(default=1, ge=0)
    code_minus1_rate: float = Field(default=0.0, ge=0, le=1)
    drop_after_create_rate: float = Field(default=0.0, ge=0, le=1)
    slow_response: int = Field(default=0, ge=0, description="bytes per second; 0 = unthrottled")
    truncate_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_json_rate: float = Field(default=0.0, ge=0, le=1)
    wrong_content_type_rate: float = Field(default=0.0, ge=0, le=1)
    reset_rate: float = Field(default=0.0, ge=0, le=1)
    # Fault knobs (latency, 5xx, 429, -1, drop, slow, truncate, malformed, content type, reset)
    # apply only to request paths starting with this prefix; None = every vendor path.
    fault_path_prefix: str | None = None


class EmulatorConfig(BaseModel):
    """Everything a server needs to start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    data_path: Path = Path(".emulator/state.db")
    api_key: str = Field(default=DEFAULT_API_KEY, min_length=1, repr=False)
    balance: float = Field(default=1000.0, ge=0)
    key_total_quota: float = Field(default=0.0, ge=0)
    seed: int | None = None
    knobs: Knobs = Knobs()

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        # The emulator accepts a well-known key and exposes admin endpoints: never off-box.
        if value == "localhost":
            return value
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(f"host {value!r} is not an IP address or 'localhost'") from None
        if not address.is_loopback:
            raise ValueError(f"host {value} is not a loopback address; the emulator is local only")
        return value
