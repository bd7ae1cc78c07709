"""``reconciler emulator serve``: run the local Seedance API emulator.

Every behaviour knob of `reconciler.emulator.config.Knobs` becomes a ``--kebab-case`` flag, so
the CLI and the admin endpoint can never disagree about which knobs exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import click
from pydantic import ValidationError

from reconciler.emulator.config import DEFAULT_API_KEY, EmulatorConfig, Knobs
from reconciler.emulator.server import serve as serve_forever


def _param_type(
    annotation: object,
) -> click.types.FloatParamType | click.types.IntParamType | click.types.StringParamType:
    if annotation is float:
        return click.FLOAT
    if annotation is int:
        return click.INT
    return click.STRING


def _knob_options(command: Callable[..., None]) -> Callable[..., None]:
    for name, field in reversed(list(Knobs.model_fields.items())):
        param_type = _param_type(field.annotation)
        help_text = field.description or f"default: {field.default}"
        command = click.option(
            f"--{name.replace('_', '-')}",
            name,
            type=param_type,
            default=None,
            help=help_text,
        )(command)
    return command


def _first_error(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return f"{where.replace('_', '-')}: {first['msg']}"


@click.group()
def emulator() -> None:
    """A local stand-in for the Seedance HTTP API (tests, demos, benchmarks)."""


@emulator.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address only.")
@click.option("--port", default=0, type=click.IntRange(0, 65535), help="0 = any free port.")
@click.option(
    "--data",
    "data_path",
    default=Path(".emulator/state.db"),
    type=click.Path(dir_okay=False, path_type=Path),
    show_default=True,
    help="SQLite state file; reuse it to keep tasks across runs.",
)
@click.option(
    "--api-key",
    default=DEFAULT_API_KEY,
    show_default=True,
    help="Bearer key the emulator accepts.",
)
@click.option("--balance", default=1000.0, type=click.FloatRange(min=0), show_default=True)
@click.option("--key-total-quota", default=0.0, type=click.FloatRange(min=0), help="0 = unlimited.")
@click.option("--seed", default=None, type=int, help="Seed for every random fault decision.")
@click.option(
    "--ready-file",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the URL to this file once listening.",
)
@_knob_options
def serve(
    host: str,
    port: int,
    data_path: Path,
    api_key: str,
    balance: float,
    key_total_quota: float,
    seed: int | None,
    ready_file: Path | None,
    **knob_values: object,
) -> None:
    """Serve the emulator until interrupted."""
    knobs_given = {k: v for k, v in knob_values.items() if v is not None}
    try:
        config = EmulatorConfig(
            host=host,
            port=port,
            data_path=data_path,
            api_key=api_key,
            balance=balance,
            key_total_quota=key_total_quota,
            seed=seed,
            knobs=Knobs.model_validate(knobs_given),
        )
    except ValidationError as err:
        raise click.UsageError(_first_error(err)) from None

    def ready(url: str) -> None:
        # File first: a reader of stdout may look for the file as soon as the line appears.
        if ready_file is not None:
            ready_file.parent.mkdir(parents=True, exist_ok=True)
            partial = ready_file.with_name(ready_file.name + ".tmp")
            partial.write_text(url + "\n", encoding="utf-8")
            partial.replace(ready_file)  # atomic: pollers never see a half-written file
        click.echo(f"emulator listening on {url}")

    try:
        serve_forever(config, on_ready=ready)
    except OSError as err:
        raise click.ClickException(
            f"cannot serve on {host}:{port}: {err.strerror or err}"
        ) from None
    except sqlite3.Error as err:
        raise click.ClickException(f"cannot use state file {data_path}: {err}") from None
