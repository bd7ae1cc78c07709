"""A separate process that takes the state lock, for the locking tests.

Usage: python lock_holder.py URL HOLD_SECONDS TIMEOUT_SECONDS [HEARTBEAT_SECONDS]
Prints one JSON line (``{"ok": true, "lock_id": ...}`` or ``{"ok": false, ...}``), holds
the lock for HOLD_SECONDS or until its stdin is closed, whichever comes first, then
releases it and exits.
"""

from __future__ import annotations

import json
import select
import sys
import time

from reconciler.errors import StateLocked
from reconciler.store import StateStore


def main() -> int:
    url, hold, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    heartbeat = float(sys.argv[4]) if len(sys.argv) > 4 else 5.0
    with StateStore.open(url, lock_heartbeat=heartbeat, lock_stale_after=30 * heartbeat) as store:
        try:
            with store.lock("child", timeout=timeout, command="test-hold") as info:
                print(json.dumps({"ok": True, "lock_id": info.lock_id}), flush=True)
                deadline = time.monotonic() + hold
                while (remaining := deadline - time.monotonic()) > 0:
                    ready, _, _ = select.select([sys.stdin], [], [], min(remaining, 0.5))
                    if ready and not sys.stdin.read(1):
                        break  # the test closed our stdin: release now
        except StateLocked as exc:
            print(json.dumps({"ok": False, "message": exc.message}), flush=True)
            return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
