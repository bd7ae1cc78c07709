"""A task's observable status, computed from the time elapsed since it was created.

No background worker moves tasks along: queue and run times are fixed on the task row at create
time, and every query derives status, progress and timestamps from ``now``. That keeps the
emulator restart-safe (a task keeps progressing across server runs) and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.emulator.store import TaskRow


@dataclass(frozen=True, slots=True)
class Phase:
    status: str  # queued | processing | completed | failed
    progress: int
    finished_at: float | None


def phase(task: TaskRow, now: float) -> Phase:
    elapsed = now - task.created_at
    if elapsed < task.queue_s:
        return Phase("queued", 0, None)
    running = elapsed - task.queue_s
    if running < task.run_s:
        return Phase("processing", min(99, 1 + int(98 * running / task.run_s)), None)
    finished = task.created_at + task.queue_s + task.run_s
    if task.error_message is not None:
        return Phase("failed", 0, finished)
    return Phase("completed", 100, finished)
