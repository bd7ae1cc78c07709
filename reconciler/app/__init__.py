"""The application facade the CLI stands on.

The facade (and with it SQLAlchemy) is imported on first use of its names, so
``from reconciler.app.settings import ...`` stays cheap for light commands; the facade
imports the executor and httpx only in the methods that talk to the API.
"""

from typing import TYPE_CHECKING

from reconciler.app.requests import ApplyRequest, PlanRequest
from reconciler.app.settings import Flags, Settings, resolve

if TYPE_CHECKING:
    from reconciler.app.facade import Reconciler

__all__ = ["ApplyRequest", "Flags", "PlanRequest", "Reconciler", "Settings", "resolve"]

_FACADE = frozenset({"Reconciler"})


def __getattr__(name: str) -> object:
    if name in _FACADE:
        from reconciler.app import facade

        return getattr(facade, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
