"""The executor: carries out a ``Plan`` against the API and the state, journaled step by step."""

from reconciler.executor.events import Event, EventKind, Observer
from reconciler.executor.run import ApplyOptions, ApplyResult, Executor

__all__ = ["ApplyOptions", "ApplyResult", "Event", "EventKind", "Executor", "Observer"]
