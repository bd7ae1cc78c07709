"""Settings: one place that applies the precedence of DESIGN §3.

command-line flag > environment variable > ``reconciler.yaml`` > built-in default.
The API key is the exception: it comes from ``SEEDANCE_API_KEY`` only, and never from a
flag or a file, so it cannot end up in shell history, a config in git, or the state.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.api import ApiKey
from reconciler.errors import ConfigError
from reconciler.spec import ProjectConfig, load_config

DEFAULT_API_URL = "https://www.jimmyai.cn"
ENV_API_KEY = "SEEDANCE_API_KEY"
ENV_API_URL = "SEEDANCE_API_URL"
ENV_STATE_URL = "RECONCILER_STATE_URL"


@dataclass(frozen=True)
class Flags:
    """What the global command-line options said (None: not given)."""

    project_dir: str | None = None
    specs: str | None = None
    state: str | None = None
    api_url: str | None = None
    debug: bool = False


@dataclass(frozen=True)
class Settings:
    project_root: Path
    specs_dir: Path
    state_url: str
    api_url: str
    output_dir: Path
    parallelism: int
    poll_interval: float
    max_attempts: int
    budget: float | None
    config: ProjectConfig
    debug: bool = False
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)

    def api_key(self) -> ApiKey | None:
        value = self.environ.get(ENV_API_KEY, "").strip()
        return ApiKey(value) if value else None

    def require_api_key(self) -> ApiKey:
        key = self.api_key()
        if key is None:
            raise ConfigError(
                f"{ENV_API_KEY} is not set",
                hint=f"export {ENV_API_KEY}=<your key> (the key is read from the environment only)",
            )
        return key

    @property
    def default_state(self) -> bool:
        return self.state_url == default_state_url(self.project_root)


def default_state_url(project_root: Path) -> str:
    return f"sqlite:///{(project_root / '.reconciler' / 'state.db').as_posix()}"


def _from_root(url: str | None, root: Path) -> str | None:
    """A relative SQLite path in ``reconciler.yaml`` is relative to the project root,
    not to wherever the command happens to run."""
    prefix = "sqlite:///"
    if url is None or not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    return prefix + (root / url.removeprefix(prefix)).as_posix()


def resolve(flags: Flags, environ: Mapping[str, str] | None = None) -> Settings:
    """Apply flag > environment > config file > default."""
    env = dict(os.environ if environ is None else environ)
    root = Path(flags.project_dir or ".").resolve()
    if not root.is_dir():
        raise ConfigError(
            f"project directory {root} does not exist",
            hint="pass --project-dir DIR pointing at the folder that holds specs/",
        )
    config = load_config(root)
    specs = flags.specs or config.specs_dir
    state_url = flags.state or env.get(ENV_STATE_URL) or _from_root(config.state_url, root)
    api_url = flags.api_url or env.get(ENV_API_URL) or config.api_url or DEFAULT_API_URL
    if not api_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"API URL {api_url!r} is not an http(s) URL",
            hint=f"set {ENV_API_URL} or --api-url to e.g. {DEFAULT_API_URL}",
        )
    return Settings(
        project_root=root,
        specs_dir=(root / specs).resolve(),
        state_url=state_url or default_state_url(root),
        api_url=api_url.rstrip("/"),
        output_dir=(root / config.output_dir).resolve(),
        parallelism=config.parallelism,
        poll_interval=config.poll_interval,
        max_attempts=config.max_attempts,
        budget=config.budget,
        config=config,
        debug=flags.debug,
        environ=env,
    )
