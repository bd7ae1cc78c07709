"""A local, faithful stand-in for the Seedance (JimmyAI / ViraltokAI) HTTP API.

A real HTTP/1.1 server on loopback with SQLite state, the vendor's per-route validation, tasks
that progress with time, signed result media, and seeded fault injection. It imports nothing from
the rest of the reconciler (import-linter enforces it), so client and emulator bugs cannot
cancel out.

Modules: ``config`` (settings and knobs), ``routes`` (route table), ``validation`` (create
checks), ``pricing``, ``store`` (SQLite), ``lifecycle``, ``media`` (MP4 and signed URLs),
``upload`` (multipart), ``faults``, ``service`` (endpoint behaviour), ``admin``
(``/_emulator/*``), ``server`` (``serve`` / ``start_background``).
"""

from reconciler.emulator.config import EmulatorConfig, Knobs
from reconciler.emulator.server import RunningEmulator, serve, start_background

__all__ = ["EmulatorConfig", "Knobs", "RunningEmulator", "serve", "start_background"]
