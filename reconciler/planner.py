"""The planner: a pure function from (desired, snapshot, options) to a ``Plan``.

No I/O, no clock, no environment: ``now`` and the completed videos whose file is not
downloaded (none recorded, or deleted since) are passed in. Same inputs, same plan,
byte for byte.

Decisions worth knowing (each has a case in tests/planner/cases):

* A rename is a ``move`` only when the fingerprint is unchanged; renamed *and* edited is
  a ``forget`` of the old address and a ``create`` of the new one.
* One address may get several changes, so one apply converges: a ``move`` first, then
  what the renamed record still needs, then an ``update`` when the description or labels
  changed beside a change that does not write them (wait, download, blocked).
* Uncertain records are never moved, forgotten, replaced or retried unless asked with
  ``retry_uncertain``: a person must say whether the earlier create exists.
* A target, exclude, replace or retry-uncertain address that names nothing is an error.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

from pydantic import JsonValue

from reconciler.errors import BudgetExceeded, PlanError
from reconciler.model import Desired, DesiredVideo, LinkForm, Price, media_refs
from reconciler.plan import (
    Action,
    AssetAction,
    AssetChange,
    Change,
    Cost,
    CostSummary,
    FieldDiff,
    Plan,
    Reason,
    Selection,
    pricing_digest,
)
from reconciler.stateview import Snapshot, VideoRecord, VideoStatus

_UNCERTAIN_HINT = (
    "resolve it with `reconciler state adopt {address} TASK_ID` if the task exists, "
    "or `reconciler apply --retry-uncertain {address}` to send it again"
)


@dataclass(frozen=True)
class PlanOptions:
    """What narrows or forces a plan, and the facts it needs from outside."""

    now: datetime
    targets: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    replace: tuple[str, ...] = ()
    retry_uncertain: tuple[str, ...] = ()
    max_attempts: int = 3
    pricing: Mapping[str, Price] = field(default_factory=dict)
    currency: str = "JimiCoin"
    # Completed videos whose file is not there (``stateview.not_downloaded``): the few
    # that need a download, rather than the many that do not.
    not_downloaded: frozenset[str] = frozenset()


def build_plan(desired: Desired, snapshot: Snapshot, options: PlanOptions) -> Plan:
    """Compare what the specs ask for with what the state holds."""
    records = {record.address: record for record in snapshot.videos}
    wanted = desired.video_map()
    _check_addresses(options, wanted, records)
    moves = _find_moves(wanted, records)
    moved_from = {record.address for record in moves.values()}

    changes: list[Change] = []
    for address, video in wanted.items():
        record = records.get(address)
        downloaded = address not in options.not_downloaded
        if address in moves:
            # A rename: move the record, then plan the new address as if it had always
            # been called so (it may still need waiting, downloading, a retry or new
            # labels), so that one apply converges.
            prior = moves[address]
            changes.append(_move(video, prior))
            record = prior._replace(address=address)
            downloaded = prior.address not in options.not_downloaded
        changes.extend(_changes_for(video, record, options, downloaded=downloaded))
    for address, record in records.items():
        if address not in wanted and address not in moved_from:
            changes.append(_gone(record))

    # The changes after a move on the same address stand or fall with the move: without
    # it, they would act on a record that is still under the old address.
    with_move = {c.address: _selected(c, options) for c in changes if c.action is Action.MOVE}
    selected = sorted(
        (c for c in changes if with_move.get(c.address, _selected(c, options))),
        key=lambda c: (c.address, _RANK.get(c.action, 1), c.action),
    )
    return Plan(
        lineage=snapshot.lineage,
        serial=snapshot.serial,
        specs_digest=desired.specs_digest,
        pricing_digest=pricing_digest(options.pricing, options.currency),
        selection=Selection(
            targets=options.targets,
            excludes=options.excludes,
            replace=options.replace,
            retry_uncertain=options.retry_uncertain,
        ),
        changes=tuple(selected),
        assets=_asset_changes(desired, snapshot, selected),
        summary=_summary(selected),
        cost=_cost_summary(selected, options.currency),
    )


# Several changes on one address come in this order: the move first (apply renames
# before anything else), the main change, then a metadata update.
_RANK = {Action.MOVE: 0, Action.UPDATE: 2}

# Changes that leave the record's description and labels as they were, so a metadata
# edit made meanwhile needs an ``update`` beside them. Paid changes write the metadata
# with the new task; ``uncertain`` waits for a person.
_KEEPS_METADATA = (Action.WAIT, Action.DOWNLOAD, Action.BLOCKED)


def _changes_for(
    video: DesiredVideo, record: VideoRecord | None, options: PlanOptions, *, downloaded: bool
) -> list[Change]:
    """The main change for one wanted address, plus an ``update`` when one is needed."""
    change = _change_for(video, record, options, downloaded=downloaded)
    out = [change] if change is not None else []
    if (
        record is not None
        and (change is None or change.action in _KEEPS_METADATA)
        and (video.description, video.labels) != (record.description, record.labels)
    ):
        out.append(
            _follow(
                video,
                record,
                Action.UPDATE,
                Reason.METADATA_CHANGED,
                "description or labels changed",
            )
        )
    return out


def _change_for(
    video: DesiredVideo, record: VideoRecord | None, options: PlanOptions, *, downloaded: bool
) -> Change | None:
    if record is None:
        return _paid(video, options, Action.CREATE, Reason.NEW, "not in the state yet")
    if record.status in (VideoStatus.CREATING, VideoStatus.UNCERTAIN):
        if video.address in options.retry_uncertain:
            return _paid(
                video,
                options,
                Action.RETRY,
                Reason.RETRY_UNCERTAIN,
                "sending again as asked: the earlier create's outcome is unknown",
                record,
            )
        return _uncertain(record)
    if video.address in options.replace:
        return _paid(video, options, Action.REPLACE, Reason.FORCED, "replace was asked", record)
    if record.fingerprint != video.fingerprint:
        return _paid(
            video,
            options,
            Action.REPLACE,
            Reason.FINGERPRINT_CHANGED,
            "the generative fields changed",
            record,
            diffs=_diffs(record.spec, video.spec_view()),
        )
    if record.status in (VideoStatus.FAILED, VideoStatus.REJECTED):
        return _retry_or_block(video, record, options)
    if record.status.in_flight:
        return _follow(video, record, Action.WAIT, Reason.TASK_RUNNING, "the task is running")
    if record.status is VideoStatus.COMPLETED and not downloaded:
        expires = record.result_expires_at
        if record.result_url and (expires is None or expires > options.now):
            return _follow(
                video,
                record,
                Action.DOWNLOAD,
                Reason.RESULT_NOT_DOWNLOADED,
                "the video is ready and not downloaded",
            )
        return _follow(
            video,
            record,
            Action.BLOCKED,
            Reason.RESULT_EXPIRED,
            "the result URL expired before the video was downloaded; "
            f"`--replace {video.address}` generates it again (and is paid again)",
        )
    return None


def _retry_or_block(video: DesiredVideo, record: VideoRecord, options: PlanOptions) -> Change:
    reason = Reason.TASK_FAILED if record.status is VideoStatus.FAILED else Reason.CREATE_REJECTED
    vendor = record.error_message or "no message"
    if record.attempts >= options.max_attempts:
        return _follow(
            video,
            record,
            Action.BLOCKED,
            Reason.ATTEMPTS_EXHAUSTED,
            f"{record.attempts} attempts failed (limit {options.max_attempts}); "
            f"last error: {vendor}; change the spec or pass `--replace {video.address}`",
        )
    return _paid(
        video,
        options,
        Action.RETRY,
        reason,
        f"attempt {record.attempts + 1} of {options.max_attempts}; last error: {vendor}",
        record,
    )


def _paid(
    video: DesiredVideo,
    options: PlanOptions,
    action: Action,
    reason: Reason,
    detail: str,
    record: VideoRecord | None = None,
    diffs: tuple[FieldDiff, ...] = (),
) -> Change:
    return Change(
        address=video.address,
        action=action,
        reason=reason,
        detail=detail,
        fingerprint=video.fingerprint,
        prior_fingerprint=record.fingerprint if record else None,
        spec=video.spec_view(),
        link_form=video.link_form,
        description=video.description,
        labels=video.labels,
        diffs=diffs,
        cost=_cost(video, options.pricing),
        task_id=record.task_id if record else None,
        error_message=record.error_message if record else None,
    )


def _follow(
    video: DesiredVideo, record: VideoRecord, action: Action, reason: Reason, detail: str
) -> Change:
    return Change(
        address=video.address,
        action=action,
        reason=reason,
        detail=detail,
        fingerprint=record.fingerprint,
        prior_fingerprint=record.fingerprint,
        description=video.description,
        labels=video.labels,
        task_id=record.task_id,
        error_message=record.error_message,
    )


def _uncertain(record: VideoRecord) -> Change:
    return Change(
        address=record.address,
        action=Action.UNCERTAIN,
        reason=Reason.OUTCOME_UNKNOWN,
        detail="a create was sent and its outcome is unknown; "
        + _UNCERTAIN_HINT.format(address=record.address),
        fingerprint=record.fingerprint,
        prior_fingerprint=record.fingerprint,
        task_id=record.task_id,
        error_message=record.error_message,
    )


def _gone(record: VideoRecord) -> Change:
    if record.status in (VideoStatus.CREATING, VideoStatus.UNCERTAIN):
        return _uncertain(record)
    return Change(
        address=record.address,
        action=Action.FORGET,
        reason=Reason.REMOVED,
        detail="no longer in the specs; nothing remote is deleted and files are kept",
        prior_fingerprint=record.fingerprint,
        task_id=record.task_id,
    )


def _move(video: DesiredVideo, record: VideoRecord) -> Change:
    return Change(
        address=video.address,
        action=Action.MOVE,
        reason=Reason.RENAMED,
        detail=f"renamed from {record.address}; same fingerprint, nothing is generated",
        fingerprint=video.fingerprint,
        prior_fingerprint=record.fingerprint,
        prior_address=record.address,
        description=video.description,
        labels=video.labels,
        task_id=record.task_id,
    )


def _find_moves(
    wanted: Mapping[str, DesiredVideo], records: Mapping[str, VideoRecord]
) -> dict[str, VideoRecord]:
    """New addresses whose fingerprint equals that of a vanished address: renames."""
    vanished: dict[str, list[VideoRecord]] = {}
    # Only the vanished addresses are sorted (the state may hold 100,000 others).
    for address in sorted(address for address in records if address not in wanted):
        record = records[address]
        if record.status not in (VideoStatus.CREATING, VideoStatus.UNCERTAIN):
            vanished.setdefault(record.fingerprint, []).append(record)
    moves: dict[str, VideoRecord] = {}
    for video in wanted.values():
        candidates = vanished.get(video.fingerprint)
        if video.address not in records and candidates:
            moves[video.address] = candidates.pop(0)
    return moves


def _asset_changes(
    desired: Desired, snapshot: Snapshot, changes: Iterable[Change]
) -> tuple[AssetChange, ...]:
    """What the paid changes need of their named assets: upload, audit, or nothing."""
    assets = {asset.address: asset for asset in desired.assets}
    known = {record.content_hash: record for record in snapshot.assets}
    users: dict[str, list[Change]] = {}
    for change in changes:
        if change.action.paid and change.spec:
            for _field, ref in media_refs(change.spec):
                if ref in assets:
                    users.setdefault(ref, []).append(change)
    planned = []
    for address in sorted(users):
        asset = assets[address]
        record = known.get(asset.content_hash)
        upload = asset.file is not None and not (record and record.uploaded_url)
        audited = bool(
            record and record.audit_asset_id and (record.audit_status or "").lower() == "active"
        )
        audit = not audited and any(c.link_form is LinkForm.ASSET_AUDIT for c in users[address])
        action = {
            (False, False): AssetAction.REUSE,
            (True, False): AssetAction.UPLOAD,
            (False, True): AssetAction.AUDIT,
            (True, True): AssetAction.UPLOAD_AND_AUDIT,
        }[(upload, audit)]
        planned.append(
            AssetChange(
                address=address,
                action=action,
                content_hash=asset.content_hash,
                type=asset.type.value,
                file=asset.file,
                url=asset.url,
                used_by=tuple(sorted({c.address for c in users[address]})),
            )
        )
    return tuple(planned)


def _diffs(
    before: Mapping[str, JsonValue], after: Mapping[str, JsonValue]
) -> tuple[FieldDiff, ...]:
    keys = sorted(set(before) | set(after))
    return tuple(
        FieldDiff(field=key, before=before.get(key), after=after.get(key))
        for key in keys
        if before.get(key) != after.get(key)
    )


def _cost(video: DesiredVideo, pricing: Mapping[str, Price]) -> Cost:
    billing = video.billing
    price = pricing.get(billing.price_key)
    amount: float | None = None
    if price is not None:
        amount = round(billing.units * price.unit_price, 6)
    return Cost(mode=billing.mode, units=billing.units, price_key=billing.price_key, amount=amount)


def _cost_summary(changes: Iterable[Change], currency: str) -> CostSummary:
    units: dict[str, float] = {}
    total = 0.0
    unpriced: set[str] = set()
    for change in changes:
        if change.cost is None:
            continue
        units[change.cost.mode] = units.get(change.cost.mode, 0.0) + change.cost.units
        if change.cost.amount is None:
            unpriced.add(change.cost.price_key)
        else:
            total += change.cost.amount
    return CostSummary(
        currency=currency,
        total=None if unpriced else round(total, 6),
        units=dict(sorted(units.items())),
        unpriced=tuple(sorted(unpriced)),
    )


def _summary(changes: Iterable[Change]) -> dict[str, int]:
    counts = dict.fromkeys((action.value for action in Action), 0)
    for change in changes:
        counts[change.action] += 1
    return counts


def _selected(change: Change, options: PlanOptions) -> bool:
    """Whether --target / --exclude keep ``change``. A move answers to both its addresses."""
    addresses = [change.address]
    if change.action is Action.MOVE and change.prior_address:
        addresses.append(change.prior_address)
    if options.targets and not any(
        _matches(address, t) for t in options.targets for address in addresses
    ):
        return False
    return not any(_matches(address, e) for e in options.excludes for address in addresses)


def _check_addresses(
    options: PlanOptions, wanted: Mapping[str, DesiredVideo], records: Mapping[str, VideoRecord]
) -> None:
    """A mistyped address must not quietly give an empty or narrower plan."""
    for flag, patterns in (("--target", options.targets), ("--exclude", options.excludes)):
        for pattern in patterns:
            if not any(_matches(address, pattern) for address in chain(wanted, records)):
                raise PlanError(
                    f"{flag} {pattern} matches no video in the specs or the state",
                    hint=_did_you_mean(pattern, wanted, records),
                )
    for flag, addresses in (
        ("--replace", options.replace),
        ("--retry-uncertain", options.retry_uncertain),
    ):
        for address in addresses:
            if address in wanted:
                continue
            instances = [a for a in wanted if _matches(a, address)]
            if instances:
                hint = f"{flag} takes one address; this one has instances, e.g. {instances[0]}"
            elif address in records:
                hint = (
                    "it is no longer in the specs, so it cannot be generated; "
                    f"`reconciler state rm {address}` drops it from the state"
                )
            else:
                hint = _did_you_mean(address, wanted, records)
            raise PlanError(f"{flag} {address} is not a video in the specs", hint=hint)


def _did_you_mean(address: str, *addresses: Iterable[str]) -> str:
    known = sorted(set(chain(*addresses)))
    close = difflib.get_close_matches(address, known, n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    return "addresses look like video.<name>; `reconciler state list` shows the state's"


def _matches(address: str, pattern: str) -> bool:
    """``video.x`` selects itself and its instances (``video.x[..]``, ``video.x#2``)."""
    return address == pattern or address.startswith((pattern + "[", pattern + "#"))


def check_budget(plan: Plan, limit: float | None) -> None:
    """Refuse a plan whose estimated cost is over ``limit``, before anything is spent."""
    if limit is None:
        return
    cost = plan.cost
    if cost.unpriced:
        raise BudgetExceeded(
            f"cannot check the budget of {limit:g} {cost.currency}: no price for "
            + ", ".join(cost.unpriced),
            hint="add these models to `pricing:` in reconciler.yaml "
            "(`reconciler pricing pull` fetches the vendor's catalog)",
        )
    if cost.total is not None and cost.total > limit:
        raise BudgetExceeded(
            f"the plan costs {cost.total:g} {cost.currency}, over the budget of "
            f"{limit:g} {cost.currency}",
            hint="narrow it with --target, or raise `budget:` / --max-cost if this is intended",
        )
