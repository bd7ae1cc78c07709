"""End-to-end harness: the real CLI in a subprocess against a real emulator process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

API_KEY = "sk-emulator-key"


@dataclass
class Emulator:
    url: str
    process: subprocess.Popen[bytes]

    def stats(self) -> dict[str, object]:
        response = httpx.get(f"{self.url}/_emulator/stats", timeout=5)
        response.raise_for_status()
        data: dict[str, object] = response.json()
        return data

    def admin(self, **knobs: object) -> None:
        httpx.post(f"{self.url}/_emulator/admin", json=knobs, timeout=5).raise_for_status()


def start_emulator(data: Path, *flags: str) -> Emulator:
    ready = data.parent / f"{data.name}.url"
    ready.unlink(missing_ok=True)
    command = [sys.executable, "-m", "reconciler", "emulator", "serve", "--port", "0"]
    command += ["--data", str(data), "--ready-file", str(ready), *flags]
    log = data.parent / f"{data.name}.log"
    with log.open("wb") as sink:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if ready.exists() and ready.read_text().strip():
            return Emulator(ready.read_text().strip(), process)
        if process.poll() is not None:
            raise RuntimeError(f"emulator exited: {log.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("emulator did not start within 15 s")


@contextmanager
def running_emulator(data: Path, *flags: str) -> Iterator[Emulator]:
    """An emulator process for the length of a ``with`` block."""
    running = start_emulator(data, *flags)
    try:
        yield running
    finally:
        stop_emulator(running)


def stop_emulator(emulator: Emulator) -> None:
    emulator.process.send_signal(signal.SIGTERM)
    try:
        emulator.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        emulator.process.kill()
        emulator.process.wait(timeout=10)


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str


@dataclass
class Project:
    root: Path
    env: dict[str, str]

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def run(self, *args: str, timeout: float = 60) -> Result:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "--project-dir", str(self.root), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        return Result(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def new_project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    root.mkdir()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SEEDANCE_", "RECONCILER_"))
    }
    env["SEEDANCE_API_KEY"] = API_KEY
    env["SEEDANCE_API_URL"] = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return Project(root, env)
