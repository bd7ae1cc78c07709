"""How an apply's options come together: flag > reconciler.yaml > default."""

from __future__ import annotations

from pathlib import Path

from reconciler.api.retry import RetryPolicy
from reconciler.app import Reconciler
from reconciler.app.facade import ApplyRequest
from reconciler.app.settings import Flags, resolve


def app_with(root: Path, config: str) -> Reconciler:
    (root / "reconciler.yaml").write_text(config)
    return Reconciler(resolve(Flags(project_dir=str(root)), environ={}))


def test_the_rate_cap_comes_from_the_flag_then_the_config_then_none(tmp_path: Path) -> None:
    app = app_with(tmp_path, "rate_limit: 3\n")
    assert app._options(ApplyRequest()).rate_limit == 3
    assert app._options(ApplyRequest(rate_limit=0.5)).rate_limit == 0.5
    assert app_with(tmp_path, "parallelism: 2\n")._options(ApplyRequest()).rate_limit is None


def test_the_retry_policy_defaults_to_the_clients_and_can_be_injected(tmp_path: Path) -> None:
    app = app_with(tmp_path, "poll_interval: 1\n")
    assert app._options(ApplyRequest()).retry == RetryPolicy()
    fast = RetryPolicy(base_delay=0.01, max_delay=0.01)
    assert app._options(ApplyRequest(retry=fast)).retry is fast
