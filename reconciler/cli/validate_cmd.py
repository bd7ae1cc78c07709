"""``validate``: check every spec file without touching the state or the network.

Kept apart from the plan/apply commands so running it imports neither httpx, SQLAlchemy
nor the executor (start-up target: benchmarks/startup.py).
"""

from __future__ import annotations

import click

from reconciler.cli.context import LazyApp
from reconciler.errors import ReconcilerError
from reconciler.spec import load_desired


@click.command()
@click.pass_obj
def validate(obj: LazyApp) -> None:
    """Check every spec file; report every problem at path:line:col."""
    settings = obj.settings
    specs = settings.specs_dir
    if not specs.is_dir():  # the same message as Reconciler.validate
        raise ReconcilerError(
            f"specs directory {specs} does not exist",
            hint="create it, or point --specs (or `specs_dir:` in reconciler.yaml) at it",
        )
    desired = load_desired(settings.project_root, specs, settings.config)
    click.echo(f"The specs are valid: {len(desired.videos)} videos, {len(desired.assets)} assets.")
