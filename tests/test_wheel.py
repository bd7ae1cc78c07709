"""The built wheel works outside the checkout: migrations ship inside it.

Builds the wheel, installs it into a fresh virtual environment in a temporary folder (its
dependencies are borrowed from the running environment through a path file, so the test
needs no network), and runs ``reconciler db upgrade`` on an empty SQLite file from a folder
where the checkout's sources cannot be imported.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = dist.glob("reconciler-*.whl")
    return built


def test_wheel_ships_the_migrations(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "reconciler/_migrations/env.py" in names
    assert any(n.startswith("reconciler/_migrations/versions/") for n in names)


def test_db_upgrade_from_an_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # Dependencies come from the test's own environment; reconciler itself from the wheel.
    (Path(site) / "borrowed-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A PYTHONPATH naming a checkout would put it before the wheel in the new environment.
    clean = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    database = elsewhere / "state.db"
    url = f"sqlite:///{database}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), "-m", "reconciler", "--state", url, *args],
            cwd=elsewhere,
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    where = subprocess.run(
        [str(python), "-c", "import reconciler; print(reconciler.__file__)"],
        cwd=elsewhere,
        env=clean,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert where.startswith(site), f"imported the checkout, not the wheel: {where}"
    upgraded = run("db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert database.exists()
    current = run("db", "current")
    assert current.returncode == 0, current.stderr
    assert "head" in current.stdout.lower() or "0001" in current.stdout
