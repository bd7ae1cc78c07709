"""Hypothesis: structured nonsense in specs, in reconciler.yaml and in the environment.

tests/spec/test_spec_property.py mutates the text of a valid file; here the documents are
well-formed YAML whose *values* are arbitrary (wrong types, huge numbers, nesting, odd
keys), which reaches the validation layers rather than the parser. The properties: the
loader raises SpecError (with a place) or loads; settings raise a ReconcilerError or
resolve; the real CLI exits 0 or 1, never with a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.app.settings import Flags, resolve
from reconciler.errors import ReconcilerError, SpecError
from reconciler.spec import ProjectConfig, load_desired

VIDEO_KEYS = [
    "model",
    "prompt",
    "duration",
    "ratio",
    "resolution",
    "orientation",
    "takes",
    "labels",
    "matrix",
    "extends",
    "description",
    "images",
    "first_image",
    "last_image",
    "generate_audio",
    "reference_mode",
]
CONFIG_KEYS = [
    "specs_dir",
    "state_url",
    "api_url",
    "output_dir",
    "parallelism",
    "poll_interval",
    "max_attempts",
    "pricing",
    "currency",
    "budget",
    "rate_limit",
    "models",
]
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
    | st.sampled_from(["seedance2.0-mini", "16:9", "720p", "5", "asset://x", "https://e/x.png"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
NAMES = st.sampled_from(["a", "b", "hero", "Bad Name", "x" * 70, "1", ""]) | st.text(max_size=8)


def _video() -> st.SearchStrategy[dict[str, object]]:
    return st.dictionaries(st.sampled_from(VIDEO_KEYS) | st.text(max_size=6), VALUES, max_size=6)


SPEC_DOCS = st.fixed_dictionaries(
    {},
    optional={
        "defaults": _video(),
        "videos": st.dictionaries(NAMES, _video() | VALUES, max_size=3),
        "assets": st.dictionaries(NAMES, VALUES, max_size=2),
    },
)
CONFIG_DOCS = st.dictionaries(
    st.sampled_from(CONFIG_KEYS) | st.text(max_size=6), VALUES, max_size=5
)


def _dump(document: object) -> str:
    # JSON is YAML; non-finite floats are written the YAML way.
    text = json.dumps(document, ensure_ascii=False)
    return text.replace("NaN", ".nan").replace("-Infinity", "-.inf").replace("Infinity", ".inf")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPEC_DOCS)
def test_structured_specs_load_or_raise_spec_error(document: dict[str, object]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "specs").mkdir()
        (root / "specs" / "a.yaml").write_text(_dump(document), encoding="utf-8")
        try:
            load_desired(root, root / "specs", ProjectConfig())
        except SpecError as exc:
            assert exc.diagnostics
            for diagnostic in exc.diagnostics:
                assert diagnostic.path == "specs/a.yaml" and diagnostic.line >= 1
                assert diagnostic.message


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    CONFIG_DOCS,
    st.dictionaries(
        st.sampled_from(["SEEDANCE_API_URL", "RECONCILER_STATE_URL", "SEEDANCE_API_KEY"]),
        st.text(max_size=20).filter(lambda s: "\x00" not in s),
        max_size=3,
    ),
)
def test_structured_config_and_environment_resolve_or_raise(
    document: dict[str, object], environ: dict[str, str]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "reconciler.yaml").write_text(_dump(document), encoding="utf-8")
        try:
            resolve(Flags(project_dir=str(root)), environ)
        except ReconcilerError as exc:
            assert exc.message
            if isinstance(exc, SpecError):
                assert all(d.path == "reconciler.yaml" for d in exc.diagnostics)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SPEC_DOCS, CONFIG_DOCS)
def test_the_cli_never_shows_a_traceback(
    spec: dict[str, object], config: dict[str, object]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "specs").mkdir()
        (root / "specs" / "a.yaml").write_text(_dump(spec), encoding="utf-8")
        (root / "reconciler.yaml").write_text(_dump(config), encoding="utf-8")
        for command in (["validate"], ["plan"]):
            done = subprocess.run(
                [sys.executable, "-m", "reconciler", "--project-dir", str(root), *command],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
                env={"PATH": "/usr/bin:/bin", "SEEDANCE_API_URL": "http://127.0.0.1:9"},
            )
            assert done.returncode in (0, 1), (command, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr, done.stderr
            if done.returncode == 1:
                assert "Error" in done.stderr or "error" in done.stderr, done.stderr
