"""`apply --parallelism N` keeps N creates in flight, through the real CLI.

The client's connection pool used to be sized from reconciler.yaml's parallelism (default
4 -> 8 connections) whatever --parallelism said, so `--parallelism 32` ran 8 creates at a
time. The emulator counts the client connections open at once.
"""

from __future__ import annotations

from tests.e2e.harness import Emulator, Project
from tests.e2e.test_interrupts import many_videos

VIDEOS = 40
PARALLELISM = 20


def test_parallelism_flag_sizes_the_connection_pool(project: Project, emulator: Emulator) -> None:
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/many.yaml", many_videos(VIDEOS))
    # Long enough that the first create is still in flight when the last of the first
    # PARALLELISM is sent, even on a loaded machine.
    emulator.admin(latency_ms=1500)

    done = project.run(
        "apply", "--auto-approve", "--no-wait", "--parallelism", str(PARALLELISM), timeout=120
    )
    assert done.code == 0, done.stdout + done.stderr

    stats = emulator.stats()
    assert stats["total_creates"] == VIDEOS
    peak = stats["peak_connections"]
    assert isinstance(peak, int)
    # One connection per create in flight (plus the balance check's, possibly reused).
    assert PARALLELISM <= peak <= 2 * PARALLELISM + 1, peak
