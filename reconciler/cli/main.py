"""The ``reconciler`` command group: global options, error reporting, exit codes.

Expected errors print ``Error: ...`` and ``hint: ...`` on stderr and exit 1 (130 when
interrupted); anything else is an internal error, with a traceback only under --debug.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence

import click

from reconciler import __version__
from reconciler.app import Flags
from reconciler.cli.context import LazyApp
from reconciler.errors import ReconcilerError, SpecError


class ReconcilerGroup(click.Group):
    """A click group that turns our errors into messages and exit codes."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        **extra: object,
    ) -> None:
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        try:
            rv = super().main(args=args, prog_name=prog_name, standalone_mode=False)
        except click.exceptions.Exit as done:
            sys.exit(done.exit_code)
        except click.ClickException as error:
            error.show()
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        except ReconcilerError as error:
            report(error)
            sys.exit(error.exit_code)
        except KeyboardInterrupt:
            click.echo("Error: interrupted", err=True)
            sys.exit(130)
        except Exception as error:  # a bug: say so, without a traceback unless asked
            if debug:
                traceback.print_exc()
            click.echo(f"Error: internal error: {type(error).__name__}: {error}", err=True)
            click.echo("hint: re-run with --debug for the traceback, and report it", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def report(error: ReconcilerError) -> None:
    if isinstance(error, SpecError):
        for diagnostic in error.diagnostics:
            click.echo(diagnostic.render(), err=True)
    click.echo(f"Error: {error.message}", err=True)
    if error.hint:
        click.echo(f"hint: {error.hint}", err=True)


@click.group(cls=ReconcilerGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False),
    help="The project root (holds specs/ and reconciler.yaml). Default: the current directory.",
)
@click.option("--specs", help="The specs directory, relative to the project root.")
@click.option(
    "--state", help="State URL: sqlite:///path or postgresql://... [RECONCILER_STATE_URL]"
)
@click.option("--api-url", help="The API base URL. [SEEDANCE_API_URL]")
@click.option("--debug", is_flag=True, help="Log requests and show tracebacks of internal errors.")
@click.pass_context
def main(
    ctx: click.Context,
    project_dir: str | None,
    specs: str | None,
    state: str | None,
    api_url: str | None,
    debug: bool,
) -> None:
    """Video generation as code: plan and apply Seedance video specs."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request's full URL at INFO: result URLs are signed, so never.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    flags = Flags(project_dir=project_dir, specs=specs, state=state, api_url=api_url, debug=debug)
    ctx.obj = LazyApp(flags)


def _register() -> None:
    from reconciler.cli.emulator_cmd import emulator
    from reconciler.cli.plan_cmds import adopt, apply, plan, refresh, show, validate
    from reconciler.cli.pricing_cmds import pricing
    from reconciler.cli.spec_cmds import fmt, schema
    from reconciler.cli.state_cmds import STATE_COMMANDS, state

    state.add_command(adopt)

    commands = (validate, plan, apply, refresh, show, *STATE_COMMANDS, schema, fmt, emulator)
    commands += (pricing,)
    for command in commands:
        main.add_command(command)


_register()
