"""The one exception tree of reconciler.

Every error a user can cause or fix is a ``ReconcilerError``: it carries a message and a
hint that names the fix, and the CLI prints both (``Error: ...`` / ``hint: ...``) and
exits 1. Anything else that escapes is a bug and is reported as an internal error.

    ReconcilerError
    ├── SpecError            one or more spec/config diagnostics, each at path:line:col
    ├── ConfigError          a bad setting (flag, environment variable, reconciler.yaml)
    ├── StateError           the state database
    │   ├── StateUnavailable     cannot open / connect
    │   ├── StateVersionError    schema behind or ahead of the code
    │   ├── StateLocked          another writer holds the lock
    │   └── StateConflict        an address/task that the operation cannot apply to
    ├── PlanError
    │   ├── StalePlan            a saved plan no longer matches state/specs/pricing
    │   └── BudgetExceeded       the plan costs more than allowed
    ├── ApiError             the remote API (see ``FailureClass``)
    │   ├── ApiNotCreated        definitely not created (4xx, 20001, 20002, not sent)
    │   │   └── ApiUnreachable       the connection failed before anything was sent
    │   ├── ApiRetryable         429, 5xx, code -1: safe to try again later
    │   └── ApiOutcomeUnknown    sent, then lost: the task may exist
    └── Interrupted          the user pressed Ctrl-C

Messages never contain the API key: the client redacts it before raising.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ReconcilerError(Exception):
    """Base of every expected error. ``hint`` says how to fix it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a file, at a 1-based line and column."""

    path: str
    line: int
    col: int
    message: str
    hint: str | None = None

    def render(self) -> str:
        text = f"{self.path}:{self.line}:{self.col}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class SpecError(ReconcilerError):
    """All the problems found in the specs (and config) in one run."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = sorted(diagnostics, key=lambda d: (d.path, d.line, d.col, d.message))
        count = len(self.diagnostics)
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"{count} {noun} in the specs",
            hint="fix the places listed above, then run `reconciler validate`",
        )


class ConfigError(ReconcilerError):
    """A setting is invalid."""


class StateError(ReconcilerError):
    """The state database cannot do what was asked."""


class StateUnavailable(StateError):
    """The state database cannot be opened or reached."""


class StateVersionError(StateError):
    """The state schema is behind or ahead of this version of reconciler."""


class StateLocked(StateError):
    """Another process holds the state lock."""


class StateConflict(StateError):
    """The state does not allow this operation (unknown address, taken address, ...)."""


class PlanError(ReconcilerError):
    """The plan cannot be made or applied."""


class StalePlan(PlanError):
    """A saved plan no longer matches the state, the specs or the pricing."""


class BudgetExceeded(PlanError):
    """The plan's estimated cost is over the budget."""


class FailureClass(enum.StrEnum):
    """What a failed API call means for money: the executor's decisions depend on it."""

    NOT_CREATED = "not_created"  # nothing happened remotely; safe to record as failed
    RETRYABLE = "retryable"  # nothing happened remotely; the same call may succeed later
    OUTCOME_UNKNOWN = "outcome_unknown"  # the request may have taken effect


class ApiError(ReconcilerError):
    """A call to the remote API failed."""

    failure_class: FailureClass = FailureClass.NOT_CREATED

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        http_status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.http_status = http_status
        self.code = code


class ApiNotCreated(ApiError):
    """The API refused the request; nothing was created."""

    failure_class = FailureClass.NOT_CREATED


class ApiUnreachable(ApiNotCreated):
    """The connection failed before the request was sent."""


class ApiRetryable(ApiError):
    """A transient refusal (429, 5xx, code -1); nothing was created."""

    failure_class = FailureClass.RETRYABLE

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        http_status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, hint, http_status=http_status, code=code)
        self.retry_after = retry_after


class ApiOutcomeUnknown(ApiError):
    """The request was sent and the answer was lost; the task may exist."""

    failure_class = FailureClass.OUTCOME_UNKNOWN


class Interrupted(ReconcilerError):
    """The user interrupted the run."""

    exit_code = 130
