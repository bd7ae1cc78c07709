"""What every command gets from the group: settings and the facade, built on first use.

Nothing heavy is imported here: ``validate`` needs only the settings, and importing the
facade (and with it SQLAlchemy) is left to commands that use it. The facade itself
imports the executor and httpx only when a command talks to the API.
"""

from __future__ import annotations

import gc
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.app.facade import Reconciler
    from reconciler.app.settings import Flags, Settings


class LazyApp:
    """Resolves settings on first use, so `--help` and `emulator` need no project."""

    def __init__(self, flags: Flags, *, freeze_imports: bool = False) -> None:
        self.flags = flags
        # True when this process is the command itself (see ``ReconcilerGroup``).
        self.freeze_imports = freeze_imports
        self._settings: Settings | None = None
        self._app: Reconciler | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from reconciler.app.settings import resolve

            self._settings = resolve(self.flags)
        return self._settings

    @property
    def app(self) -> Reconciler:
        if self._app is None:
            from reconciler.app.facade import Reconciler

            self._app = Reconciler(self.settings)
            if self.freeze_imports:
                # The facade's imports (SQLAlchemy and the rest) live until exit, like the
                # command's own: out of the cyclic collector's sight (cli.main).
                gc.freeze()
        return self._app
