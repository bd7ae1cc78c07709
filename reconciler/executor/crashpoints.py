"""Test-only crash points: SIGKILL this process at an exact step of an apply.

The crash suite (``scripts/torture``, ``tests/torture/``) sets the environment variable
``RECONCILER_CRASHPOINT=name:N`` to kill the process the Nth time (1-based) the named
point is reached; the process then dies like a power cut, with no cleanup. Never set it
outside tests. Points, in the order an apply reaches them:

- ``before_intent``: a paid change is about to commit its intent row;
- ``after_intent``: the intent is committed, the create is not sent yet;
- ``after_post``: the create's response is in hand, its task id not committed yet;
- ``polling``: a task's status is in hand, not recorded yet;
- ``download``: a result's bytes are in the part file, not renamed into place yet.

When the variable is unset (always, outside tests) a call costs one attribute read and a
comparison: the variable is read once per process.
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "RECONCILER_CRASHPOINT"
POINTS = frozenset({"before_intent", "after_intent", "after_post", "polling", "download"})


class _Trigger:
    """The parsed variable and the count of hits so far; one per process."""

    def __init__(self, raw: str | None) -> None:
        self.name: str | None = None
        self.target = 0
        self.hits = 0
        self.lock = threading.Lock()
        if not raw:
            return
        name, _, count = raw.partition(":")
        if name in POINTS:
            self.name = name
            self.target = int(count) if count.isdigit() and int(count) > 0 else 1

    def reached(self, name: str) -> bool:
        with self.lock:
            self.hits += 1
            return self.hits == self.target


_state: list[_Trigger] = []  # filled on first use: read the environment once, lazily


def crashpoint(name: str) -> None:
    """SIGKILL this process if ``RECONCILER_CRASHPOINT`` names this point and count."""
    if not _state:
        _state.append(_Trigger(os.environ.get(ENV)))
    trigger = _state[0]
    if trigger.name != name:
        return
    if trigger.reached(name):
        os.kill(os.getpid(), signal.SIGKILL)
