"""Run every check of the project: lint, format, types, layers, tests.

Used by `scripts/test` (the README's test command) and so by `.ci/run`. Exits non-zero
when any check fails, and when pytest ran no test at all.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run(name: str, *command: str) -> bool:
    print(f"==> {name}: {' '.join(command)}", flush=True)
    done = subprocess.run(command, cwd=ROOT, check=False)
    if done.returncode == 5 and name == "pytest":
        print("pytest collected no tests: that is a failure here", flush=True)
    return done.returncode == 0


def main(argv: list[str]) -> int:
    checks = [
        ("ruff", str(BIN / "ruff"), "check", "."),
        ("ruff format", str(BIN / "ruff"), "format", "--check", "."),
        ("mypy", str(BIN / "mypy")),
        ("import-linter", str(BIN / "lint-imports")),
        ("pytest", sys.executable, "-m", "pytest", *argv),
    ]
    failed = [name for name, *command in checks if not run(name, *command)]
    if failed:
        print(f"FAILED: {', '.join(failed)}", flush=True)
        return 1
    print("all checks passed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
