"""The ``reconciler`` command group: global options, error reporting, exit codes.

Expected errors print ``Error: ...`` and ``hint: ...`` on stderr and exit 1 (130 when
interrupted); anything else is an internal error, with a traceback only under --debug.

Commands load lazily (``COMMANDS``): a command's module is imported only when that
command runs, and ``--help`` lists the short help texts kept here, so start-up does not
pay for httpx, SQLAlchemy, the emulator or rich (benchmarks/startup.py). A test checks
that each short help here matches its command's own.
"""

from __future__ import annotations

import gc
import logging
import sys
import traceback
from collections.abc import Sequence
from importlib import import_module

import click

from reconciler import __version__
from reconciler.cli.context import LazyApp
from reconciler.errors import ReconcilerError, SpecError

# name -> (module, attribute, short help for the command list). Order is irrelevant:
# click sorts the list.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": (
        "reconciler.cli.validate_cmd",
        "validate",
        "Check every spec file; report every problem at path:line:col.",
    ),
    "plan": (
        "reconciler.cli.plan_cmds",
        "plan",
        "Show what apply would change, and what it would cost.",
    ),
    "apply": (
        "reconciler.cli.plan_cmds",
        "apply",
        "Create the missing tasks, wait for them and download the videos.",
    ),
    "refresh": (
        "reconciler.cli.plan_cmds",
        "refresh",
        "Poll running tasks and download the finished videos.",
    ),
    "show": ("reconciler.cli.plan_cmds", "show", "Render a saved plan."),
    "state": (
        "reconciler.cli.main",
        "_state_group",
        "Inspect and edit the state by hand (nothing remote changes).",
    ),
    "history": (
        "reconciler.cli.state_cmds",
        "history",
        "The journal of operations, oldest first (of ADDRESS if given).",
    ),
    "force-unlock": (
        "reconciler.cli.state_cmds",
        "force_unlock",
        "Remove the lock LOCK_ID left by a dead process (refused if its holder is alive).",
    ),
    "db": ("reconciler.cli.state_cmds", "db", "The state database's schema version."),
    "schema": (
        "reconciler.cli.spec_cmds",
        "schema",
        "Print the JSON Schema of spec files (for editors).",
    ),
    "fmt": (
        "reconciler.cli.spec_cmds",
        "fmt",
        "Rewrite spec files in the canonical layout (all specs when no FILES are given).",
    ),
    "emulator": (
        "reconciler.cli.emulator_cmd",
        "emulator",
        "A local stand-in for the Seedance HTTP API (tests, demos, benchmarks).",
    ),
    "pricing": ("reconciler.cli.pricing_cmds", "pricing", "The price table in reconciler.yaml."),
}


def _state_group() -> click.Command:
    """``state``, with ``state adopt`` (defined with the apply commands) added."""
    from reconciler.cli.plan_cmds import adopt
    from reconciler.cli.state_cmds import state

    state.add_command(adopt)
    return state


def load_command(name: str) -> click.Command:
    """Import and return the command ``name`` (a key of ``COMMANDS``)."""
    module, attribute, _ = COMMANDS[name]
    found = getattr(import_module(module), attribute)
    command = found() if attribute.startswith("_") else found
    if not isinstance(command, click.Command):  # pragma: no cover - a wiring bug
        raise TypeError(f"{module}.{attribute} is not a click command")
    return command


class ReconcilerGroup(click.Group):
    """A click group that turns our errors into messages and exit codes, and loads each
    command's module only when that command is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    # True while this process is the command itself (run from the command line with no
    # ``args``); a process that calls ``main(args)``, like the tests, keeps its collector.
    owns_process = False

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None and cmd_name in COMMANDS:
            command = self.commands[cmd_name] = load_command(cmd_name)
            if self.owns_process:
                # What the imports built (modules, classes, functions, tables) lives until
                # exit: take it out of the cyclic collector's sight, so the collections a
                # large plan's allocations trigger do not walk it again and again (~15% of
                # the CPU of a warm plan of 10,000 videos).
                gc.freeze()
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # The stock version imports every command to ask for its short help.
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            if name in COMMANDS:
                # A placeholder command truncates the text exactly as click would.
                text = click.Command(name, help=COMMANDS[name][2]).get_short_help_str(limit)
            else:
                text = self.commands[name].get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        **extra: object,
    ) -> None:
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        self.owns_process = args is None
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
    from reconciler.app.settings import Flags

    flags = Flags(project_dir=project_dir, specs=specs, state=state, api_url=api_url, debug=debug)
    group = ctx.command
    ctx.obj = LazyApp(
        flags, freeze_imports=isinstance(group, ReconcilerGroup) and group.owns_process
    )
