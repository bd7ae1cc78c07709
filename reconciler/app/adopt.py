"""``state adopt``: record an existing remote task for an address, after checking it.

The usual case is an ``uncertain`` create: the request was sent, the answer was lost, and
the user found the task id (in the vendor's console, or in the API's logs). Adopting it
closes the open intent with that task id, so it is neither lost nor paid for again.
"""

from __future__ import annotations

from datetime import UTC, datetime

from reconciler.api import SeedanceClient, TaskInfo
from reconciler.errors import SpecError, StateConflict
from reconciler.executor.waiting import RESULT_URL_LIFETIME
from reconciler.model import Desired
from reconciler.store import StateStore


async def fetch_task(client: SeedanceClient, task_id: str) -> TaskInfo:
    async with client:
        return await client.get_task(task_id)


def adopt_task(
    store: StateStore,
    desired: Desired | SpecError,
    address: str,
    info: TaskInfo,
) -> str:
    """Record ``info`` as the task of ``address``; returns a sentence for the user."""
    wanted = desired.video_map().get(address) if isinstance(desired, Desired) else None
    record = store.video(address)
    if wanted is not None:
        fingerprint, spec = wanted.fingerprint, wanted.spec_view()
        description, labels = wanted.description, wanted.labels
    elif record is not None:
        fingerprint, spec = record.fingerprint, record.spec
        description, labels = record.description, dict(record.labels)
    else:
        problem = "" if isinstance(desired, Desired) else " (and the specs do not load)"
        raise StateConflict(
            f"{address} is neither in the specs nor in the state{problem}",
            hint="adopt a task for an address that `reconciler plan` shows",
        )
    model = spec.get("model")
    if info.model and model and info.model != model:
        raise StateConflict(
            f"task {info.task_id} was made with model {info.model}, but {address} asks for {model}",
            hint="check the task id; adopt it under an address whose spec matches",
        )
    expires = None
    if info.result_video_url:
        finished = info.completed_at or int(datetime.now(UTC).timestamp())
        expires = datetime.fromtimestamp(finished, UTC) + RESULT_URL_LIFETIME
    store.adopt(
        address,
        info.task_id,
        fingerprint=fingerprint,
        spec=spec,
        status=info.status.value,
        description=description,
        labels=labels,
        progress=info.progress or 0,
        result_url=info.result_video_url,
        result_expires_at=expires,
        error_message=info.error_message,
        cost=info.cost,
    )
    return f"{address} now follows task {info.task_id} ({info.status.value})."
