"""The API key never reaches the output, the state or a plan file, even with --debug."""

from __future__ import annotations

from tests.e2e.harness import Emulator, Project
from tests.e2e.test_first_slice import CONFIG, SPECS


def test_key_never_leaks_under_debug_and_faults(project: Project, emulator: Emulator) -> None:
    key = "sk-emulator-key"
    project.env["SEEDANCE_API_URL"] = emulator.url
    project.write("specs/videos.yaml", SPECS)
    project.write("reconciler.yaml", CONFIG)
    emulator.admin(error_5xx_rate=0.3, code_minus1_rate=0.2, burst_429=2, retry_after=0)
    planfile = project.root / "plan.json"
    outputs = [project.run("--debug", "plan", "--out", str(planfile))]
    outputs.append(project.run("--debug", "apply", str(planfile), "--wait"))
    outputs.append(project.run("--debug", "state", "list", "--format", "json"))
    outputs.append(project.run("--debug", "history"))
    assert outputs[1].code in (0, 1), outputs[1].stderr
    assert "DEBUG" in outputs[1].stderr, "debug logging was on"
    for result in outputs:
        assert key not in result.stdout
        assert key not in result.stderr
        assert "Traceback" not in result.stderr
    assert key.encode() not in planfile.read_bytes()
    for path in (project.root / ".reconciler").rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
