"""``reconciler pricing pull``: parse, call ``reconciler.app.pricing``, print what changed.

What changed goes to stdout (it is the command's result); notes about skipped or missing
catalog entries go to stderr.
"""

from __future__ import annotations

import click

from reconciler.app.pricing import DEFAULT_SEARCH, PriceChange, pull_pricing
from reconciler.cli.context import LazyApp
from reconciler.model import Price


@click.group()
def pricing() -> None:
    """The price table in reconciler.yaml."""


@pricing.command("pull")
@click.option(
    "--search",
    default=DEFAULT_SEARCH,
    show_default=True,
    help="Only catalog entries matching this text ('' for all).",
)
@click.option(
    "--write/--dry-run",
    default=True,
    show_default=True,
    help="Write reconciler.yaml, or only show what would change.",
)
@click.pass_obj
def pull(obj: LazyApp, search: str, write: bool) -> None:
    """Fetch the vendor's public model catalog into `pricing:` in reconciler.yaml.

    Only the prices of billing names our models use are written, keys sorted; the rest of
    the file and its comments are kept. Review the change in a pull request.
    """
    result = pull_pricing(obj.app.settings, search=search or None, write=write)
    for note in result.notes:
        click.echo(note, err=True)
    for change in result.changes:
        click.echo(_line(change))
    name = result.path.name
    counts = f"{len(result.changes)} added or changed, {result.unchanged} unchanged"
    if not result.changes:
        click.echo(f"{name} is up to date with the catalog ({result.unchanged} prices).")
    elif result.written:
        click.echo(f"Wrote {name}: {counts}.")
    else:
        click.echo(f"Dry run, {name} not written: {counts}.")


def _line(change: PriceChange) -> str:
    if change.before is None:
        return f"+ {change.key}: {_price(change.after)}"
    return f"~ {change.key}: {_price(change.before)} -> {_price(change.after)}"


def _price(price: Price) -> str:
    return f"{price.unit_price:g} {price.mode.value}"
