"""state list|show|rm|mv, history, force-unlock, db upgrade|current: thin shells over
``reconciler.store.StateStore``.

``state adopt`` needs the API client to check the task, so the app wires it. Register
with ``for command in STATE_COMMANDS: main.add_command(command)``.

JSON output (``--format json``, ``format_version`` 1, keys sorted):
``state list`` -> ``{format_version, lineage, serial, videos: [{address, status, task_id,
fingerprint, attempts, file_path, updated_at}]}``; ``state show`` -> ``{format_version,
video, tasks}``; ``history`` -> ``{format_version, entries}``.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import click
from pydantic import JsonValue

from reconciler.cli.context import LazyApp
from reconciler.errors import StateConflict
from reconciler.store import (
    DEFAULT_STATE_URL,
    JournalEntry,
    OpKind,
    StateStore,
    database_revision,
    upgrade_database,
)

FORMATS = click.Choice(["text", "json"])
JSON_FORMAT_VERSION = 1


def _url(obj: object) -> str:
    if isinstance(obj, LazyApp):
        return obj.app.settings.state_url
    return DEFAULT_STATE_URL


@contextmanager
def _store(obj: object) -> Iterator[StateStore]:
    with StateStore.open(_url(obj)) as store:
        yield store


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.isoformat(timespec="seconds")


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _dump(data: JsonValue) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


@click.group()
def state() -> None:
    """Inspect and edit the state by hand (nothing remote changes)."""


@state.command("list")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.pass_obj
def state_list(obj: object, fmt: str) -> None:
    """Every video address in the state."""
    with _store(obj) as store:
        snapshot = store.snapshot()
    if fmt == "json":
        _dump(
            {
                "format_version": JSON_FORMAT_VERSION,
                "lineage": snapshot.lineage,
                "serial": snapshot.serial,
                "videos": [
                    {
                        "address": video.address,
                        "status": video.status.value,
                        "task_id": video.task_id,
                        "fingerprint": video.fingerprint,
                        "attempts": video.attempts,
                        "file_path": video.file_path,
                        "updated_at": _when(video.updated_at),
                    }
                    for video in snapshot.videos
                ],
            }
        )
        return
    if not snapshot.videos:
        click.echo("The state has no videos.", err=True)
        return
    rows = [("ADDRESS", "STATUS", "TASK", "FINGERPRINT", "UPDATED")]
    rows += [
        (
            video.address,
            video.status.value,
            video.task_id or "-",
            video.fingerprint[:19],
            _when(video.updated_at),
        )
        for video in snapshot.videos
    ]
    click.echo(_table(rows))


@state.command("show")
@click.argument("address")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.pass_obj
def state_show(obj: object, address: str, fmt: str) -> None:
    """One address: its record and every task created for it."""
    with _store(obj) as store:
        video = store.video(address)
        tasks = store.tasks(address)
    if video is None and not tasks:
        raise StateConflict(
            f"{address} is not in the state",
            hint="run `reconciler state list` to see the addresses the state knows",
        )
    if fmt == "json":
        _dump(
            {
                "format_version": JSON_FORMAT_VERSION,
                "video": None if video is None else video.to_json(),
                "tasks": [task.model_dump(mode="json") for task in tasks],
            }
        )
        return
    if video is None:
        click.echo(f"{address} is no longer in the state; its tasks are kept.")
    else:
        for key, value in video.to_json().items():
            if key in ("spec", "labels"):
                value = json.dumps(value, sort_keys=True)
            click.echo(f"{key + ':':<19} {'-' if value is None else value}")
    if tasks:
        click.echo("tasks:")
        for task in tasks:
            cost = "-" if task.cost is None else f"{task.cost:g}"
            click.echo(
                f"  {task.task_id}  {task.status}  cost {cost}  "
                f"created {_when(task.created_at)}  fingerprint {task.fingerprint[:19]}"
            )


@state.command("rm")
@click.argument("address")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True)
@click.pass_obj
def state_rm(obj: object, address: str, lock_timeout: float) -> None:
    """Forget ADDRESS: nothing remote is deleted; its tasks and files are kept."""
    with _store(obj) as store, store.lock(_holder(), timeout=lock_timeout, command="state rm"):
        store.forget(address, kind=OpKind.RM)
    click.echo(f"Removed {address} from the state (its tasks are kept).")


@state.command("mv")
@click.argument("src")
@click.argument("dst")
@click.option("--lock-timeout", type=float, default=0.0, show_default=True)
@click.pass_obj
def state_mv(obj: object, src: str, dst: str, lock_timeout: float) -> None:
    """Rename SRC to DST without generating anything."""
    with _store(obj) as store, store.lock(_holder(), timeout=lock_timeout, command="state mv"):
        store.move(src, dst)
    click.echo(f"Moved {src} to {dst}.")


@click.command()
@click.argument("address", required=False)
@click.option("--limit", type=click.IntRange(min=1), help="Only the newest N entries.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.pass_obj
def history(obj: object, address: str | None, limit: int | None, fmt: str) -> None:
    """The journal of operations, oldest first (of ADDRESS if given)."""
    with _store(obj) as store:
        entries = store.history(address, limit=limit)
    if fmt == "json":
        _dump(
            {
                "format_version": JSON_FORMAT_VERSION,
                "entries": [entry.model_dump(mode="json") for entry in entries],
            }
        )
        return
    if not entries:
        click.echo("The journal is empty.", err=True)
        return
    click.echo("\n".join(_history_line(entry) for entry in entries))


def _history_line(entry: JournalEntry) -> str:
    parts = [f"#{entry.id}", _when(entry.created_at), entry.kind, entry.state.value]
    if entry.address:
        parts.append(entry.address)
    if entry.task_id:
        parts.append(f"task {entry.task_id}")
    if entry.run_id is not None:
        parts.append(f"run {entry.run_id}")
    if entry.message:
        parts.append(f"- {entry.message}")
    return "  ".join(parts)


@click.command("force-unlock")
@click.argument("lock_id")
@click.pass_obj
def force_unlock(obj: object, lock_id: str) -> None:
    """Remove the lock LOCK_ID left by a dead process (refused if its holder is alive)."""
    with _store(obj) as store:
        info = store.force_unlock(lock_id)
    click.echo(f"Removed lock {lock_id}, held by {info.describe()}.")


@click.group()
def db() -> None:
    """The state database's schema version."""


@db.command("upgrade")
@click.pass_obj
def db_upgrade(obj: object) -> None:
    """Upgrade the state schema to this version of reconciler (creates a new database)."""
    before, after = upgrade_database(_url(obj))
    if before == after:
        click.echo(f"The state schema is already at {after} (head).")
    else:
        click.echo(f"Upgraded the state schema from {before or 'empty'} to {after}.")


@db.command("current")
@click.pass_obj
def db_current(obj: object) -> None:
    """Show the state schema revision and the one this reconciler expects."""
    current, head = database_revision(_url(obj))
    if current == head:
        click.echo(f"{current} (head)")
    elif current is None:
        click.echo(f"empty (head is {head}; created on first use or by `reconciler db upgrade`)")
    else:
        click.echo(f"{current} (head is {head})")


def _holder() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


STATE_COMMANDS: tuple[click.Command, ...] = (state, history, force_unlock, db)
