"""What every command gets from the group: the facade, built on first use."""

from __future__ import annotations

from reconciler.app import Flags, Reconciler, resolve


class LazyApp:
    """Resolves settings on first use, so `--help` and `emulator` need no project."""

    def __init__(self, flags: Flags) -> None:
        self.flags = flags
        self._app: Reconciler | None = None

    @property
    def app(self) -> Reconciler:
        if self._app is None:
            self._app = Reconciler(resolve(self.flags))
        return self._app
