"""``reconciler pricing pull`` against the emulator's catalog, and its merge into the file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.api.models import CatalogEntry
from reconciler.app import Flags, PlanRequest, Reconciler, Settings, resolve
from reconciler.app.pricing import (
    PriceChange,
    catalog_prices,
    merge_into_config,
    price_keys,
    pull_pricing,
)
from reconciler.model import BillingMode, Price
from reconciler.spec import builtin_table, load_config
from tests.e2e.harness import Emulator, Project, new_project, running_emulator

CONFIG = """\
# Project settings, reviewed in pull requests.
poll_interval: 0.2  # fast, for tests
pricing:
  sd2_mx_720p: 0.09  # negotiated, but the catalog says otherwise
  my-own-model: {mode: per_task, unit_price: 2}
budget: 100
"""


SPEC = """\
videos:
  boat:
    model: seedance2.0-mini
    prompt: a boat
    duration: 5
"""


def settings_of(project: Project) -> Settings:
    return resolve(Flags(project_dir=str(project.root)), environ=project.env)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    # One for the module: the catalog is read-only.
    with running_emulator(tmp_path_factory.mktemp("emulator") / "emulator.db") as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, emulator: Emulator) -> Project:
    made = new_project(tmp_path)
    made.env["SEEDANCE_API_URL"] = emulator.url
    del made.env["SEEDANCE_API_KEY"]  # the catalog is public: no key needed
    return made


def test_pull_writes_sorted_prices_and_keeps_the_rest(project: Project) -> None:
    path = project.write("reconciler.yaml", CONFIG)
    dry = project.run("pricing", "pull", "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "~ sd2_mx_720p: 0.09 per_second -> 0.1 per_second" in dry.stdout
    assert "+ seedance2.0-mini-720p: 0.05 per_second" in dry.stdout
    assert "Dry run, reconciler.yaml not written" in dry.stdout
    assert path.read_text() == CONFIG

    done = project.run("pricing", "pull")
    assert done.code == 0, done.stderr
    assert "Wrote reconciler.yaml" in done.stdout
    assert "no catalog price for" in done.stderr  # said on stderr, not mixed with the result
    text = path.read_text()
    assert text.startswith("# Project settings, reviewed in pull requests.\n")
    assert "poll_interval: 0.2  # fast, for tests\n" in text
    assert text.rstrip().endswith("budget: 100")
    config = load_config(project.root)
    assert config.budget == 100
    assert config.pricing["my-own-model"] == Price(mode=BillingMode.PER_TASK, unit_price=2)
    assert config.pricing["sd2_mx_720p"] == Price(mode=BillingMode.PER_SECOND, unit_price=0.1)
    assert config.pricing["seedance2.0-std"] == Price(mode=BillingMode.PER_TASK, unit_price=0.8)
    # Rounded to the catalog's digits, not JSON float noise.
    assert "0.12000000000000001" not in text
    assert list(config.pricing) == sorted(config.pricing)
    assert set(config.pricing) - {"my-own-model"} <= set(price_keys(builtin_table()))

    again = pull_pricing(settings_of(project))  # in process: faster than a subprocess
    assert (again.changes, again.written) == ((), False)
    assert again.unchanged == len(config.pricing) - 1
    assert path.read_text() == text


def test_pulled_prices_price_the_plan(project: Project) -> None:
    project.write("specs/v.yaml", SPEC)
    app = Reconciler(settings_of(project))
    assert app.plan(PlanRequest()).cost.unpriced == ("seedance2.0-mini-720p",)
    pull_pricing(app.settings, search="mini")
    priced = Reconciler(settings_of(project)).plan(PlanRequest())
    assert priced.cost.total == pytest.approx(0.25)


def test_catalog_rows_with_unknown_modes_are_skipped_with_a_note() -> None:
    wanted = {"a": BillingMode.PER_SECOND, "b": BillingMode.PER_TASK, "c": BillingMode.PER_TASK}
    rows = [
        CatalogEntry(model_name="a", price_mode="per_second", unit_price=0.1),
        CatalogEntry(model_name="b", price_mode="per_10k_char", unit_price=1.0),
        CatalogEntry(model_name="c", price_mode="per_second", unit_price=0.3),
        CatalogEntry(model_name="d", price_mode="per_task", unit_price=9.0),
        CatalogEntry(model_name="e", price_mode="pay_as_you_go"),
    ]
    prices, notes = catalog_prices(rows, wanted)
    assert prices == {
        "a": Price(mode=BillingMode.PER_SECOND, unit_price=0.1),
        "c": Price(mode=BillingMode.PER_SECOND, unit_price=0.3),
    }
    assert "skipped b: unknown price mode 'per_10k_char'" in notes
    assert any(n.startswith("note c: the catalog bills it per_second") for n in notes)
    assert any("no catalog price for 1 price keys" in n and ": b" in n for n in notes)
    assert "ignored 2 catalog entries that no known model bills as" in notes


def test_merge_into_an_empty_or_pricing_less_file() -> None:
    change = PriceChange(key="k", before=None, after=Price(mode=BillingMode.PER_TASK, unit_price=1))
    assert merge_into_config("", [change]) == "pricing:\n  k: {mode: per_task, unit_price: 1.0}\n"
    merged = merge_into_config("# top\ncurrency: JimiCoin  # ours\n", [change])
    assert merged == (
        "# top\ncurrency: JimiCoin  # ours\npricing:\n  k: {mode: per_task, unit_price: 1.0}\n"
    )


def test_every_capability_price_key_has_a_billing_mode() -> None:
    keys = price_keys(builtin_table())
    assert "seedance2.0-mini-720p" in keys
    assert keys["seedance2.0-mini-sp-480p"] is BillingMode.PER_TASK
    assert all("{" not in key for key in keys)


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (
            "pricing:\n  mm: 0.5  # half\n\n# Money\nbudget: 100\n",
            "pricing:\n  mm: 0.5  # half\n  zz: {mode: per_second, unit_price: 0.1}\n\n"
            "# Money\nbudget: 100\n",
        ),
        (
            "pricing:\n  mm: 0.5\n\n# Money\nbudget: 100\n",
            "pricing:\n  mm: 0.5\n  zz: {mode: per_second, unit_price: 0.1}\n\n"
            "# Money\nbudget: 100\n",
        ),
        (
            "pricing:\n  # prices\n  mm: 0.5\n  aa: 1  # a\nbudget: 100  # b\n",
            "pricing:\n  # prices\n  aa: 1  # a\n  mm: 0.5\n"
            "  zz: {mode: per_second, unit_price: 0.1}\nbudget: 100  # b\n",
        ),
    ],
    ids=["inline-and-trailing", "trailing", "heading"],
)
def test_sorting_keeps_comments_where_they_belong(before: str, after: str) -> None:
    change = PriceChange(
        key="zz", before=None, after=Price(mode=BillingMode.PER_SECOND, unit_price=0.1)
    )
    assert merge_into_config(before, [change]) == after
