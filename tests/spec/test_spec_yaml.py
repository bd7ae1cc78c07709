"""The YAML reader: located values built from parser events, and its guards.

The bad cases (``cases/bad``) pin the messages; these pin the corners of anchors and
aliases around dropped entries, the order of errors, and the pure-Python fallback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import Diagnostic
from reconciler.spec import yamlnodes
from reconciler.spec.yamlnodes import Pos, YamlReader, YMap, YNode, YScalar, YSeq

CASES = Path(__file__).parent / "cases"


def _parse(text: str) -> tuple[YNode | None, list[str]]:
    diags: list[Diagnostic] = []
    root = YamlReader().parse(text, "f.yaml", diags)
    return root, sorted(f"{d.line}:{d.col}: {d.message}" for d in diags)


def test_values_are_located_and_typed() -> None:
    root, diags = _parse("a: 1\nb: [x, '2', ~]\nc: {d: 1.5, e: true}\n")
    assert diags == []
    assert isinstance(root, YMap)
    assert root.key_pos("b") == Pos(2, 1)
    assert root.get("a") == YScalar(1, Pos(1, 4), "1")
    assert root.get("b") == YSeq(
        (
            YScalar("x", Pos(2, 5), "x"),
            YScalar("2", Pos(2, 8), "2"),
            YScalar(None, Pos(2, 13), "~"),
        ),
        Pos(2, 4),
    )
    inner = root.get("c")
    assert isinstance(inner, YMap)
    assert [value for _, _, value in inner.entries] == [
        YScalar(1.5, Pos(3, 8), "1.5"),
        YScalar(True, Pos(3, 16), "true"),
    ]


def test_an_alias_shares_the_collection_it_names() -> None:
    root, diags = _parse("a: &x [1, 2]\nb: *x\nk: &s v\n*s : w\n")
    assert diags == []
    assert isinstance(root, YMap)
    assert root.get("b") is root.get("a")
    # An aliased scalar key is read as written at its anchor (which starts at `&`).
    assert root.key_pos("v") == Pos(3, 4)


def test_a_reused_anchor_and_a_second_document_are_errors() -> None:
    assert _parse("a: &x 1\nb: &x 2\n")[1] == [
        "2:4: YAML syntax error: second occurrence (found duplicate anchor; first occurrence)"
    ]
    assert _parse("a: 1\n---\nb: 2\n")[1] == [
        "2:1: YAML syntax error: but found another document "
        "(expected a single document in the stream)"
    ]


def test_a_syntax_error_after_a_refused_value_is_what_is_reported() -> None:
    # The document is never read whole, so the syntax error is the one problem.
    text = "a: &v [*v]\nb: [\n"
    root, diags = _parse(text)
    assert root is None
    assert len(diags) == 1
    assert "YAML syntax error" in diags[0]


def test_problems_inside_a_dropped_value_are_not_reported() -> None:
    # The merge key's value refers to the mapping that contains it: a cycle, but one
    # the document never keeps, so only the merge key is a problem.
    root, diags = _parse("base: &b\n  m: 1\n  <<: *b\nother: *b\n")
    assert diags == ["3:3: YAML merge keys (<<) are not supported"]
    assert isinstance(root, YMap)
    assert root.get("other") is root.get("base")
    _, diags = _parse("a: 1\na: !!binary eA==\n")
    assert diags == ["2:1: duplicate key 'a' (first at line 1, col 1)"]
    _, diags = _parse("a: 1\na: " + "[" * 100 + "]" * 100 + "\n")
    assert diags == ["2:1: duplicate key 'a' (first at line 1, col 1)"]


def test_a_dropped_value_is_refused_where_an_alias_keeps_it() -> None:
    _, diags = _parse("a: 1\na: &x [*x]\nb: *x\n")
    assert diags == [
        "2:1: duplicate key 'a' (first at line 1, col 1)",
        "2:4: an alias refers to the value that contains it",
    ]
    _, diags = _parse("a: 1\na: &x " + "[" * 100 + "]" * 100 + "\nb: *x\n")
    assert diags == [
        "2:1: duplicate key 'a' (first at line 1, col 1)",
        f"2:4: document is nested more than {yamlnodes.MAX_DEPTH} levels deep",
    ]


def test_aliases_that_expand_past_the_limit_are_refused_quickly() -> None:
    lines = ["a: &a [" + ",".join(["x"] * 10) + "]"]
    lines += [
        f"l{i}: &l{i} [" + ",".join([f"*{'a' if i == 0 else f'l{i - 1}'}"] * 10) + "]"
        for i in range(40)
    ]
    root, diags = _parse("\n".join(lines) + "\n")
    assert root is None
    assert diags == [f"1:1: document expands to more than {yamlnodes.MAX_NODES} values"]


@pytest.mark.parametrize("case", sorted((CASES / "good").glob("*.yaml")), ids=lambda p: p.stem)
def test_the_pure_python_parser_gives_the_same_values(
    case: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = case.read_text("utf-8")
    with_c = _parse(text)
    monkeypatch.setattr(yamlnodes, "CParser", None)
    assert _parse(text) == with_c
