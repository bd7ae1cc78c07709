"""docs/plan-json.md documents every field and every enum value of the plan, and no more."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from reconciler.model import BillingMode, LinkForm
from reconciler.plan import (
    PLAN_FORMAT_VERSION,
    Action,
    AssetAction,
    AssetChange,
    Change,
    Cost,
    CostSummary,
    FieldDiff,
    Plan,
    Reason,
    Selection,
)
from reconciler.planner import build_plan
from tests.planner.casedata import build_inputs
from tests.planner.test_cases import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "plan-json.md"

# Where each model's fields live in the document.
PREFIXES: dict[type[BaseModel], str] = {
    Plan: "",
    Change: "changes[].",
    FieldDiff: "changes[].diffs[].",
    Cost: "changes[].cost.",
    CostSummary: "cost.",
    AssetChange: "assets[].",
    Selection: "selection.",
}


def documented_paths() -> set[str]:
    """The first cell of every table row that is a `code` path."""
    text = DOC.read_text("utf-8")
    return set(re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE))


def test_every_field_is_documented_and_nothing_else() -> None:
    fields = {prefix + name for model, prefix in PREFIXES.items() for name in model.model_fields}
    values = {member.value for enum in (Action, Reason, AssetAction) for member in enum}
    documented = documented_paths()
    assert fields - documented == set(), "fields missing from docs/plan-json.md"
    assert documented - fields - values == set(), "docs/plan-json.md names unknown fields"
    assert values - documented == set(), "enum values missing from docs/plan-json.md"


def test_the_enums_the_doc_names_inline_exist() -> None:
    text = DOC.read_text("utf-8")
    for member in (*BillingMode, *LinkForm):
        assert f"`{member.value}`" in text
    assert f"# The plan as JSON (format version {PLAN_FORMAT_VERSION})" in text


def test_a_plan_has_exactly_the_documented_top_level_keys() -> None:
    plan = build_plan_of("every_action_order")
    document = json.loads(plan.to_json())
    top = {path for path in documented_paths() if re.fullmatch(r"[a-z_]+", path)}
    assert set(document) == top & set(Plan.model_fields)
    assert set(document["summary"]) == {action.value for action in Action}


def test_another_format_version_is_refused() -> None:
    document = json.loads(build_plan_of("create").to_json())
    document["format_version"] = PLAN_FORMAT_VERSION + 1
    with pytest.raises(ValidationError, match="plan format 2 is not supported"):
        Plan.model_validate_json(json.dumps(document))


def build_plan_of(name: str) -> Plan:
    return build_plan(*build_inputs(load(name)))
