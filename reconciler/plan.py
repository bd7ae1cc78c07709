"""The plan: frozen, serialisable data that a reviewer approves and apply executes.

A ``Plan`` is a sorted tuple of ``Change``s, each with an ``Action`` and a ``Reason``,
plus what is needed to tell later whether it went stale (state lineage and serial, the
digests of the specs and of the pricing). Rendering is done elsewhere, from this data.
``PLAN_FORMAT_VERSION`` is bumped on any incompatible change of this schema, which is
documented field by field in docs/plan-json.md (a test keeps the two in step).
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping

from pydantic import JsonValue, field_validator

from reconciler.model import BillingMode, Frozen, LinkForm, Price

PLAN_FORMAT_VERSION = 1


class Action(enum.StrEnum):
    """What apply will do to one address. Order here is the order of the summary."""

    CREATE = "create"
    REPLACE = "replace"
    RETRY = "retry"
    UPDATE = "update"
    MOVE = "move"
    FORGET = "forget"
    WAIT = "wait"
    DOWNLOAD = "download"
    UNCERTAIN = "uncertain"
    BLOCKED = "blocked"

    @property
    def paid(self) -> bool:
        """Whether this action creates a task, which costs money."""
        return self in (Action.CREATE, Action.REPLACE, Action.RETRY)

    @property
    def pending(self) -> bool:
        """Whether apply has work to do for it (``--detailed-exitcode`` 2).

        ``uncertain`` counts: a human must resolve it. ``blocked`` does not: nothing that
        apply can do changes it until the spec changes or ``--replace`` is given.
        """
        return self is not Action.BLOCKED


class Reason(enum.StrEnum):
    """Why an action was chosen; stable identifiers for machines (JSON) and tests."""

    NEW = "new"
    FINGERPRINT_CHANGED = "fingerprint_changed"
    FORCED = "forced"
    TASK_FAILED = "task_failed"
    CREATE_REJECTED = "create_rejected"
    RETRY_UNCERTAIN = "retry_uncertain"
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    METADATA_CHANGED = "metadata_changed"
    RENAMED = "renamed"
    REMOVED = "removed_from_specs"
    TASK_RUNNING = "task_running"
    RESULT_NOT_DOWNLOADED = "result_not_downloaded"
    RESULT_EXPIRED = "result_expired"
    OUTCOME_UNKNOWN = "outcome_unknown"


class AssetAction(enum.StrEnum):
    """What apply does for an asset that a paid change uses."""

    REUSE = "reuse"  # the state has what the videos need
    UPLOAD = "upload"  # a local file without an uploaded URL
    AUDIT = "audit"  # a Full-route video needs it audited (asset://ID, Active)
    UPLOAD_AND_AUDIT = "upload_and_audit"


class AssetChange(Frozen):
    """An asset used by the plan's paid changes. Holds no uploaded (signed) URL: apply
    reads those from the state under the lock."""

    address: str
    action: AssetAction
    content_hash: str
    type: str
    file: str | None = None
    url: str | None = None
    used_by: tuple[str, ...]


class FieldDiff(Frozen):
    """One generative field that differs between the state and the specs."""

    field: str
    before: JsonValue = None
    after: JsonValue = None


class Cost(Frozen):
    """The estimated cost of one paid change."""

    mode: BillingMode
    units: float
    price_key: str
    amount: float | None = None  # None when the price table does not know ``price_key``


class Change(Frozen):
    """One thing apply will do (or refuses to do) to one address."""

    address: str
    action: Action
    reason: Reason
    detail: str
    fingerprint: str | None = None
    prior_fingerprint: str | None = None
    prior_address: str | None = None  # for ``move``
    spec: dict[str, JsonValue] | None = None  # the create body, media as references
    link_form: LinkForm | None = None  # how the route wants media referenced
    description: str | None = None
    labels: dict[str, str] = {}
    diffs: tuple[FieldDiff, ...] = ()
    cost: Cost | None = None
    task_id: str | None = None
    error_message: str | None = None  # the vendor's message, for retry / blocked


class CostSummary(Frozen):
    """The estimated cost of the whole plan."""

    currency: str
    total: float | None  # None when some paid change has no price
    units: dict[str, float]  # billing mode -> units
    unpriced: tuple[str, ...] = ()  # price keys missing from the price table


class Selection(Frozen):
    """The options a plan was made with, so apply can make it again and compare."""

    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    retry_uncertain: tuple[str, ...] = ()


class Plan(Frozen):
    """Everything apply needs, and everything needed to tell whether it went stale."""

    format_version: int = PLAN_FORMAT_VERSION
    lineage: str
    serial: int
    specs_digest: str
    pricing_digest: str
    selection: Selection = Selection()
    changes: tuple[Change, ...]
    assets: tuple[AssetChange, ...] = ()
    summary: dict[str, int]
    cost: CostSummary

    @field_validator("format_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        # A saved plan of another version is refused, not half-understood.
        if value != PLAN_FORMAT_VERSION:
            raise ValueError(
                f"plan format {value} is not supported (this reconciler reads format "
                f"{PLAN_FORMAT_VERSION})"
            )
        return value

    @property
    def has_changes(self) -> bool:
        return any(change.action.pending for change in self.changes)

    def to_json(self) -> str:
        """Canonical JSON: the same plan always gives the same bytes."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, indent=2) + "\n"


def pricing_digest(pricing: Mapping[str, Price], currency: str) -> str:
    """A digest of the price table, so a saved plan can tell when prices moved."""
    canonical = json.dumps(
        {
            "currency": currency,
            "prices": {key: price.model_dump(mode="json") for key, price in pricing.items()},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
