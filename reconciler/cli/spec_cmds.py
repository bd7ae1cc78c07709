"""The ``schema`` and ``fmt`` commands: editor support for spec files.

Both need only the project root and the specs directory, never the state or the API, so
they read the group's flags directly instead of building the whole application.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from reconciler.errors import Diagnostic, ReconcilerError, SpecError
from reconciler.spec import capabilities, load_config, spec_files
from reconciler.spec.fmt import format_file
from reconciler.spec.schema import json_schema


def _root_and_specs(ctx: click.Context) -> tuple[Path, Path | None]:
    """The project root and, when known, the specs directory from the group's flags."""
    flags = getattr(ctx.obj, "flags", None)
    root = Path(getattr(flags, "project_dir", None) or ".")
    specs = getattr(flags, "specs", None)
    return root, (root / specs) if specs else None


@click.command()
@click.pass_context
def schema(ctx: click.Context) -> None:
    """Print the JSON Schema of spec files (for editors).

    Point the YAML language server at it with a first line like
    `# yaml-language-server: $schema=./spec.schema.json`.
    """
    root, _ = _root_and_specs(ctx)
    table = capabilities(load_config(root))
    click.echo(json.dumps(json_schema(table), indent=2, sort_keys=True))


@click.command()
@click.option("--check", is_flag=True, help="Only report files that would change; exit 1 if any.")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@click.pass_context
def fmt(ctx: click.Context, check: bool, files: tuple[str, ...]) -> None:
    """Rewrite spec files in the canonical layout (all specs when no FILES are given)."""
    root, specs = _root_and_specs(ctx)
    if files:
        paths = [Path(f) for f in files]
    else:
        specs_dir = specs or root / load_config(root).specs_dir
        paths = spec_files(specs_dir)
    changed: list[str] = []
    diags: list[Diagnostic] = []
    for path in paths:
        shown = path.as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            diags.append(Diagnostic(shown, 1, 1, f"cannot read file: {exc}"))
            continue
        try:
            formatted = format_file(text, shown)
        except SpecError as exc:
            diags.extend(exc.diagnostics)
            continue
        if formatted == text:
            continue
        changed.append(shown)
        if not check:
            path.write_text(formatted, encoding="utf-8")
    for shown in changed:
        click.echo(shown)
    if diags:
        raise SpecError(diags)
    if check and changed:
        count = len(changed)
        raise ReconcilerError(
            f"{count} spec file{'s' if count != 1 else ''} not formatted",
            hint="run `reconciler fmt` to rewrite them",
        )
