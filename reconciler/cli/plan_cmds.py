"""plan, apply, refresh, show, state adopt: parse, call the facade, render."""

from __future__ import annotations

import os
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import click
from pydantic import ValidationError

from reconciler.app import ApplyRequest, PlanRequest
from reconciler.app.files import write_atomically
from reconciler.cli.context import LazyApp
from reconciler.errors import PlanError, StalePlan
from reconciler.plan import PLAN_FORMAT_VERSION, Action, Plan
from reconciler.render import render_json, render_markdown, render_text

# Progress and results (reconciler.cli.output, and with it the executor) are imported by
# apply and refresh only: `plan` and `show` need neither.
if TYPE_CHECKING:
    from reconciler.executor import Observer

FORMATS = click.Choice(["text", "json", "markdown"])


def _color() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ


def _emit(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        click.echo(render_json(plan), nl=False)
    elif fmt == "markdown":
        click.echo(render_markdown(plan), nl=False)
    else:
        click.echo(render_text(plan, color=_color()), nl=False)


def _targeting(func: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(
        [
            click.option("--target", multiple=True, metavar="ADDR", help="Only these addresses."),
            click.option("--exclude", multiple=True, metavar="ADDR", help="Not these addresses."),
            click.option("--replace", multiple=True, metavar="ADDR", help="Generate again."),
            click.option("--max-cost", type=float, help="Fail if the plan costs more than this."),
        ]
    ):
        func = option(func)
    return func


@click.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan.")
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@_targeting
@click.pass_obj
def plan(
    obj: LazyApp,
    out: Path | None,
    fmt: str,
    detailed_exitcode: bool,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    replace: tuple[str, ...],
    max_cost: float | None,
) -> int:
    """Show what apply would change, and what it would cost."""
    result = obj.app.plan(
        PlanRequest(targets=target, excludes=exclude, replace=replace, max_cost=max_cost)
    )
    _emit(result, fmt)
    if out is not None:
        write_atomically(out, result.to_json())
        click.echo(f"Saved the plan to {out}; apply it with `reconciler apply {out}`.", err=True)
    return 2 if detailed_exitcode and result.has_changes else 0


@click.command()
@click.argument("planfile", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--auto-approve", is_flag=True, help="Do not ask before spending.")
@click.option("--parallelism", type=click.IntRange(1, 256), help="Creates in flight at once.")
@click.option("--wait/--no-wait", default=None, help="Wait for the videos [default: on a tty].")
@click.option("--lock-timeout", type=float, default=0.0, help="Seconds to wait for the lock.")
@click.option("--retry-uncertain", multiple=True, metavar="ADDR", help="Send an uncertain again.")
@click.option("--no-balance-check", is_flag=True, help="Do not compare the cost to the balance.")
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="N",
    help="At most N creates per second [default: `rate_limit` in reconciler.yaml, or no cap].",
)
@_targeting
@click.pass_obj
def apply(
    obj: LazyApp,
    planfile: Path | None,
    auto_approve: bool,
    parallelism: int | None,
    wait: bool | None,
    lock_timeout: float,
    retry_uncertain: tuple[str, ...],
    no_balance_check: bool,
    rate_limit: float | None,
    target: tuple[str, ...],
    exclude: tuple[str, ...],
    replace: tuple[str, ...],
    max_cost: float | None,
) -> int:
    """Create the missing tasks, wait for them and download the videos."""
    settings = obj.settings
    key = settings.require_api_key()  # before planning: fail fast, spend nothing
    request = ApplyRequest(
        parallelism=parallelism,
        wait=sys.stdout.isatty() if wait is None else wait,
        lock_timeout=lock_timeout,
        balance_check=not no_balance_check,
        rate_limit=rate_limit,
    )
    if planfile is not None and (target or exclude or replace or retry_uncertain):
        raise click.UsageError("a saved plan is applied as it is; plan again to narrow it")
    saved = load_plan(planfile) if planfile is not None else None
    balance = None
    pays = saved is None or any(change.action.paid for change in saved.changes)
    if request.balance_check and pays and (auto_approve or saved is not None):
        # Nobody will be asked to approve: ask for the balance now, on a thread, while the
        # rest of the start-up (imports, lock, plan) runs. See reconciler.api.prefetch.
        from reconciler.api.prefetch import BalancePrefetch

        balance = BalancePrefetch.start(settings.api_url, key)
    from reconciler.cli.output import observing, print_result

    app = obj.app

    def review(the_plan: Plan) -> AbstractContextManager[Observer] | None:
        _emit(the_plan, "text")
        if saved is None:
            if not the_plan.has_changes:
                return None
            if not auto_approve:
                _approve()
        # The videos this run takes somewhere: without --wait, running tasks are left alone.
        follows = {Action.WAIT, Action.DOWNLOAD} if request.wait else {Action.DOWNLOAD}
        followed = sum(
            1 for change in the_plan.changes if change.action.paid or change.action in follows
        )
        return observing(total=followed, wait=request.wait)

    try:
        result = app.apply(
            request,
            review,
            saved=saved,
            plan_request=PlanRequest(
                targets=target,
                excludes=exclude,
                replace=replace,
                retry_uncertain=retry_uncertain,
                max_cost=max_cost,
            ),
            balance=balance,
        )
    except StalePlan as error:
        if planfile is None:
            raise
        raise StalePlan(f"{planfile}: {error.message}", hint=error.hint) from None
    if result is None:
        return 0
    print_result(result)
    return result.exit_code


@click.command()
@click.option(
    "--wait/--no-wait",
    default=True,
    help="Poll until every task is finished [default], or look once at each.",
)
@click.option("--lock-timeout", type=float, default=0.0, help="Seconds to wait for the lock.")
@click.pass_obj
def refresh(obj: LazyApp, wait: bool, lock_timeout: float) -> int:
    """Poll running tasks and download the finished videos."""
    from reconciler.cli.output import observing, print_result

    with observing(total=None, wait=True) as observer:
        result = obj.app.refresh(observer=observer, lock_timeout=lock_timeout, wait=wait)
    print_result(result)
    return result.exit_code


@click.command()
@click.argument("planfile", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=FORMATS, default="text", show_default=True)
def show(planfile: Path, fmt: str) -> None:
    """Render a saved plan."""
    _emit(load_plan(planfile), fmt)


def load_plan(path: Path) -> Plan:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(
            f"cannot read the plan file {path}: {error}",
            hint="pass the file written by `reconciler plan --out FILE`",
        ) from None
    try:
        return Plan.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise PlanError(
            f"{path} is not a valid plan file (format {PLAN_FORMAT_VERSION}): "
            f"{where}: {first['msg']}",
            hint="plan files must not be edited; run `reconciler plan --out FILE` again",
        ) from None


def _approve() -> None:
    if not sys.stdin.isatty():
        raise PlanError(
            "apply needs approval and there is no terminal to ask",
            hint="review the plan and pass --auto-approve, or apply a saved plan file",
        )
    if not click.confirm("Apply these changes? This spends money.", err=True):
        raise click.Abort()


@click.command("adopt")
@click.argument("address")
@click.argument("task_id")
@click.option("--lock-timeout", type=float, default=0.0, help="Seconds to wait for the lock.")
@click.pass_obj
def adopt(obj: LazyApp, address: str, task_id: str, lock_timeout: float) -> None:
    """Record an existing task TASK_ID for ADDRESS, after checking it with the API."""
    click.echo(obj.app.adopt(address, task_id, lock_timeout=lock_timeout))
