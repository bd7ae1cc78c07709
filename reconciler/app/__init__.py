"""The application facade the CLI stands on."""

from reconciler.app.facade import ApplyRequest, PlanRequest, Reconciler
from reconciler.app.settings import Flags, Settings, resolve

__all__ = ["ApplyRequest", "Flags", "PlanRequest", "Reconciler", "Settings", "resolve"]
