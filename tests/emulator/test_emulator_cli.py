"""`emulator serve` through click: flag validation in-process, and a real subprocess run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from reconciler.cli.emulator_cmd import emulator

LAUNCH = "from reconciler.cli.emulator_cmd import emulator; emulator()"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--host", "0.0.0.0"], "not a loopback address"),
        (["--host", "example.com"], "not an IP address"),
        (["--fail-rate", "1.5"], "fail-rate"),
        (["--port", "70000"], "70000"),
        (["--burst-429", "-1"], "burst-429"),
    ],
)
def test_bad_flags_are_usage_errors(args: list[str], fragment: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(emulator, ["serve", "--data", str(tmp_path / "s.db"), *args])
    assert result.exit_code == 2
    assert fragment in result.output
    assert "Traceback" not in result.output


def test_serve_subprocess_prints_url_and_stops_on_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready.txt"
    data = tmp_path / "state.db"
    command = [sys.executable, "-c", LAUNCH, "serve", "--data", str(data)]
    command += ["--ready-file", str(ready), "--api-key", "sk-cli", "--run-seconds", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "0"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline().strip()
            assert line.startswith("emulator listening on http://127.0.0.1:")
            url = line.rsplit(" ", 1)[1]
            assert ready.read_text(encoding="utf-8").strip() == url
            headers = {"Authorization": "Bearer sk-cli"}
            body = {"model": "seedance2.0-std", "prompt": "a harbour", "duration": 5}
            reply = httpx.post(
                f"{url}/api/open-api/v1/seedance/videos", json=body, headers=headers, timeout=5
            )
            assert reply.json()["code"] == "20000"
        finally:
            process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if process.poll() is None:
                process.kill()
        assert process.wait(timeout=5) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()
    assert data.exists()
