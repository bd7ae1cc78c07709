"""The API key, kept out of every repr, log line and message.

The key only ever comes from the environment (``SEEDANCE_API_KEY``, DESIGN §6). ``ApiKey``
wraps it so that printing, logging or formatting the object shows ``sk-***``; the secret is
reachable only through ``reveal()``, which the client calls when it builds the
``Authorization`` header. ``redact`` scrubs the key (and any bearer token) from text that
is about to become an error message or a log line.
"""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import Mapping

from reconciler.errors import ConfigError

ENV_VAR = "SEEDANCE_API_KEY"
MASK = "sk-***"

# A bearer token echoed back by a proxy or a server error page is a key too, even if it
# is not the one we hold (for example a stale key from another environment variable).
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s\"',;]+")


class ApiKey:
    """A secret API key. ``str``/``repr``/``format`` never show it."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        secret = secret.strip()
        if not secret:
            raise ConfigError(
                f"{ENV_VAR} is empty",
                hint=f"export {ENV_VAR}=<your key from the API console>",
            )
        if any(ch.isspace() for ch in secret):
            raise ConfigError(
                f"{ENV_VAR} contains whitespace",
                hint=f"set {ENV_VAR} to the key exactly as the console shows it",
            )
        self._secret = secret

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiKey | None:
        """The key from ``SEEDANCE_API_KEY``; ``None`` when it is unset or blank."""
        env = os.environ if environ is None else environ
        value = env.get(ENV_VAR, "")
        return cls(value) if value.strip() else None

    def reveal(self) -> str:
        """The secret itself. Only for the ``Authorization`` header."""
        return self._secret

    def __repr__(self) -> str:
        return f"ApiKey({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the secret to wherever the pickle goes.
        raise TypeError("ApiKey cannot be pickled")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ApiKey) and hmac.compare_digest(other._secret, self._secret)

    def __hash__(self) -> int:
        return hash((ApiKey, self._secret))


def redact(text: str, key: ApiKey | str | None) -> str:
    """``text`` with the key and any ``Bearer <token>`` replaced by ``sk-***``."""
    secret = key.reveal() if isinstance(key, ApiKey) else key
    if secret:
        text = text.replace(secret, MASK)
    return _BEARER.sub(lambda m: m.group(1) + MASK, text)
