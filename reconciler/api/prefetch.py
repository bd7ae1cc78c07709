"""``BalancePrefetch``: the account balance, asked for on a thread while apply starts up.

An apply with paid changes checks the balance before its first create (DESIGN §6.1):
one round trip to the API after the plan is made, on the critical path of every apply.
Asked for as soon as the command knows it will apply without a prompt, the answer is
usually back before the plan is (benchmarks/apply.py, docs/PERFORMANCE.md).

One attempt, with blocking I/O, on a daemon thread: a thread running its own event loop
would wait for the interpreter lock at every step while the main thread imports and
plans, and a daemon thread never holds up the exit of an apply that had nothing to pay
for. Any failure leaves the prefetch empty; the caller then asks the usual way (with
retries) and reports what goes wrong. The answer is only a cache: whether it may still
be used is the caller's decision (``Reconciler`` asks again when another apply of the
same state ran since ``started_at``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from datetime import UTC, datetime

import httpx

from reconciler.api import wire
from reconciler.api.client import DEFAULT_TIMEOUT, USER_BALANCE_PATH, bearer, tls_context
from reconciler.api.failures import check_response
from reconciler.api.keys import ApiKey
from reconciler.api.models import UserBalance
from reconciler.errors import ApiError

log = logging.getLogger("reconciler.api")


class BalancePrefetch:
    """``GET .../user/balance`` once, on its own thread; ``await result()`` for the answer."""

    def __init__(
        self, base_url: str, key: ApiKey, *, transport: httpx.BaseTransport | None = None
    ) -> None:
        # Taken before the request exists, so it is never later than the balance it reads.
        self.started_at = datetime.now(UTC)
        # (the balance, or why there is none)
        self._answer: concurrent.futures.Future[tuple[UserBalance | None, str | None]] = (
            concurrent.futures.Future()
        )
        self._thread = threading.Thread(
            target=self._fetch,
            args=(base_url, key, transport),
            name="balance-prefetch",
            daemon=True,
        )

    @classmethod
    def start(
        cls, base_url: str, key: ApiKey, *, transport: httpx.BaseTransport | None = None
    ) -> BalancePrefetch:
        prefetch = cls(base_url, key, transport=transport)
        prefetch._thread.start()
        return prefetch

    async def result(self) -> UserBalance | None:
        """The balance, or None if the one attempt failed (waits for it to end)."""
        balance, failure = await asyncio.wrap_future(self._answer)
        if failure is not None:
            # Logged here, not on the thread: a daemon thread writing to stderr while the
            # interpreter shuts down can kill the process.
            log.debug("balance prefetch failed: %s", failure)
        return balance

    def _fetch(self, base_url: str, key: ApiKey, transport: httpx.BaseTransport | None) -> None:
        balance: UserBalance | None = None
        failure: str | None = None
        try:
            balance = fetch_user_balance(base_url, key, transport)
        except ApiError as error:  # its message is scrubbed of the key
            failure = error.message
        except Exception as error:  # anything else: the usual call will say what it is
            failure = type(error).__name__
        self._answer.set_result((balance, failure))


def fetch_user_balance(
    base_url: str, key: ApiKey, transport: httpx.BaseTransport | None = None
) -> UserBalance:
    """One blocking ``GET .../user/balance``; raises what ``SeedanceClient`` would."""
    with httpx.Client(
        base_url=base_url.rstrip("/"),
        timeout=DEFAULT_TIMEOUT,
        verify=tls_context(),
        transport=transport,
        follow_redirects=False,
        trust_env=False,
    ) as http:
        response = http.get(USER_BALANCE_PATH, headers=bearer(key))
    data = check_response(response, f"GET {USER_BALANCE_PATH}", key, creates=False, now=time.time)
    return wire.parse_user_balance(data)
