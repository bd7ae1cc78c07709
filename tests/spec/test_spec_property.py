"""Property: any mutation of a valid spec loads or fails with SpecError, never otherwise."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.errors import SpecError
from reconciler.spec import ProjectConfig, load_config, load_desired

VALID = (Path(__file__).parent / "cases" / "good" / "routes.yaml").read_text("utf-8")

_YAMLISH = st.sampled_from(
    [
        ":",
        "-",
        " ",
        "\n",
        "\t",
        "[",
        "]",
        "{",
        "}",
        "&a",
        "*a",
        "!!",
        '"',
        "'",
        "#",
        "0",
        "?",
        "|",
        ">",
        "\\",
        "%",
        "@",
        "`",
        ",",
        "\x00",
        "\u2028",
        "é",
        "99999999999999999999",
    ]
)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = VALID
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "swap_lines"]))
        at = draw(st.integers(min_value=0, max_value=max(len(text) - 1, 0)))
        if kind == "insert":
            text = text[:at] + draw(_YAMLISH | st.text(max_size=5)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 20)) :]
        elif kind == "replace":
            text = text[:at] + draw(_YAMLISH) + text[at + 1 :]
        else:
            lines = text.splitlines()
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutations_only_raise_spec_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "specs").mkdir()
        (root / "specs" / "a.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            desired = load_desired(root, root / "specs", ProjectConfig())
        except SpecError as exc:
            assert exc.diagnostics
            for diagnostic in exc.diagnostics:
                assert diagnostic.path == "specs/a.yaml"
                assert diagnostic.line >= 1 and diagnostic.col >= 1
                assert diagnostic.message
        else:
            assert all(v.fingerprint for v in desired.videos)
        shutil.rmtree(root / "specs")


CONFIG = """\
specs_dir: specs
parallelism: 8
poll_interval: 2.5
budget: 10
pricing:
  seedance2.0-std: {mode: per_task, unit_price: 1.2}
  seedance2.0-mini-720p: 0.05
models:
  custom: {like: seedance2.0-std, max_images: 2}
"""


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_config_mutations_only_raise_spec_error(data: st.DataObject) -> None:
    text = CONFIG
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        at = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
        text = text[:at] + data.draw(_YAMLISH | st.text(max_size=3)) + text[at + 1 :]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_config(root)
        except SpecError as exc:
            assert exc.diagnostics
            assert all(d.path == "reconciler.yaml" for d in exc.diagnostics)
