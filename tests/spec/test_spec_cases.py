"""The corpus of spec files: every bad case fails with exactly the expected diagnostics.

Each ``cases/bad/<name>.yaml`` is loaded as the only spec of a fresh project; its sibling
``<name>.expected`` lists one diagnostic per line as ``LINE:COL: text`` where ``text``
must occur in the message. Set ``SPEC_CASES_UPDATE=1`` to (re)write the expected files
from the current output, then review the diff.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec import ProjectConfig, load_desired

CASES = Path(__file__).parent / "cases"
BAD = sorted((CASES / "bad").glob("*.yaml"))
GOOD = sorted((CASES / "good").glob("*.yaml"))


def _load(tmp_path: Path, case: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    shutil.copyfile(case, specs / case.name)
    load_desired(tmp_path, specs, ProjectConfig())


@pytest.mark.parametrize("case", BAD, ids=[c.stem for c in BAD])
def test_bad_case(tmp_path: Path, case: Path) -> None:
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, case)
    shown = f"specs/{case.name}"
    got = caught.value.diagnostics
    assert all(d.path == shown for d in got), [d.render() for d in got]
    rendered = [
        f"{d.line}:{d.col}: {d.message}" + (f"\n  hint: {d.hint}" if d.hint else "") for d in got
    ]
    expected_file = case.with_suffix(".expected")
    if os.environ.get("SPEC_CASES_UPDATE") == "1":
        expected_file.write_text("\n".join(rendered) + "\n", encoding="utf-8")
    expected = _entries(expected_file.read_text("utf-8"))
    assert len(got) == len(expected), "\n".join(rendered)
    for (want, want_hint), diagnostic in zip(expected, got, strict=True):
        position, _, text = want.partition(": ")
        assert position == f"{diagnostic.line}:{diagnostic.col}", (want, diagnostic.render())
        assert text in diagnostic.message, (want, diagnostic.render())
        if want_hint is not None:
            assert diagnostic.hint is not None and want_hint in diagnostic.hint


def _entries(text: str) -> list[tuple[str, str | None]]:
    """``LINE:COL: message`` lines, each optionally followed by ``  hint: text``."""
    entries: list[tuple[str, str | None]] = []
    for line in text.splitlines():
        if line.startswith("  hint: ") and entries:
            entries[-1] = (entries[-1][0], line.removeprefix("  hint: "))
        elif line.strip():
            entries.append((line, None))
    return entries


@pytest.mark.parametrize("case", GOOD, ids=[c.stem for c in GOOD])
def test_good_case(tmp_path: Path, case: Path) -> None:
    _load(tmp_path, case)


def test_corpus_is_not_empty() -> None:
    assert len(BAD) >= 20
    assert GOOD
