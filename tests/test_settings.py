"""Settings precedence (DESIGN §3): flag > environment > reconciler.yaml > default."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.app.settings import DEFAULT_API_URL, Flags, default_state_url, resolve
from reconciler.errors import ConfigError, SpecError


def project(tmp_path: Path, config: str | None = None) -> Path:
    (tmp_path / "specs").mkdir()
    if config is not None:
        (tmp_path / "reconciler.yaml").write_text(config)
    return tmp_path


def test_defaults(tmp_path: Path) -> None:
    settings = resolve(Flags(project_dir=str(project(tmp_path))), environ={})
    assert settings.state_url == default_state_url(tmp_path.resolve())
    assert settings.api_url == DEFAULT_API_URL
    assert settings.specs_dir == (tmp_path / "specs").resolve()
    assert settings.output_dir == (tmp_path / "out").resolve()
    assert settings.parallelism == 4
    assert settings.api_key() is None


def test_config_beats_default_env_beats_config_flag_beats_env(tmp_path: Path) -> None:
    root = project(
        tmp_path,
        "state_url: sqlite:///from-config.db\napi_url: http://config.example\n"
        "specs_dir: config-specs\noutput_dir: videos\nparallelism: 9\n",
    )
    from_config = resolve(Flags(project_dir=str(root)), environ={})
    assert from_config.state_url == f"sqlite:///{(root / 'from-config.db').as_posix()}"
    assert from_config.api_url == "http://config.example"
    assert from_config.specs_dir == (root / "config-specs").resolve()
    assert from_config.output_dir == (root / "videos").resolve()
    assert from_config.parallelism == 9

    env = {"RECONCILER_STATE_URL": "sqlite:///from-env.db", "SEEDANCE_API_URL": "http://env.x/"}
    from_env = resolve(Flags(project_dir=str(root)), environ=env)
    assert from_env.state_url == "sqlite:///from-env.db"
    assert from_env.api_url == "http://env.x"

    flags = Flags(
        project_dir=str(root), specs="flag-specs", state="sqlite:///flag.db", api_url="http://f.x"
    )
    from_flags = resolve(flags, environ=env)
    assert from_flags.state_url == "sqlite:///flag.db"
    assert from_flags.api_url == "http://f.x"
    assert from_flags.specs_dir == (root / "flag-specs").resolve()


def test_the_key_comes_from_the_environment_only(tmp_path: Path) -> None:
    settings = resolve(
        Flags(project_dir=str(project(tmp_path))), environ={"SEEDANCE_API_KEY": "sk-secret"}
    )
    key = settings.api_key()
    assert key is not None
    assert "sk-secret" not in repr(key) + str(key) + repr(settings)
    with pytest.raises(ConfigError, match="SEEDANCE_API_KEY is not set"):
        resolve(Flags(project_dir=str(tmp_path)), environ={}).require_api_key()


def test_bad_settings_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        resolve(Flags(project_dir=str(tmp_path / "nope")), environ={})
    root = project(tmp_path)
    with pytest.raises(ConfigError, match="not an http"):
        resolve(Flags(project_dir=str(root)), environ={"SEEDANCE_API_URL": "ftp://x"})
    (root / "reconciler.yaml").write_text("parallelism: many\n")
    with pytest.raises(SpecError):
        resolve(Flags(project_dir=str(root)), environ={})


def test_a_relative_sqlite_path_in_the_config_is_relative_to_the_project(tmp_path: Path) -> None:
    root = project(tmp_path, "state_url: sqlite:///state/team.db\n")
    settings = resolve(Flags(project_dir=str(root)), environ={})
    assert (
        settings.state_url == f"sqlite:///{(tmp_path.resolve() / 'state' / 'team.db').as_posix()}"
    )
