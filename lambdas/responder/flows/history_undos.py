"""What to put back for the undos that need the state before the chain's call, beyond the contract's table: a
trail's event selectors, a deleted trail, a deleted VPC flow log - and, for the human who puts it back, a bucket's
earlier lifecycle. The state before is read from CloudTrail's event history (``LookupEvents`` by event name in the
region of the call, 90 days before it: the thin reader here); each undo's own module decides, pure
(``actions/undo_trail_selectors.py``, ``actions/undo_trail_deleted.py``, ``actions/undo_flow_logs.py``,
``bucket_lifecycle.py``). The item's reason then says exactly what will be done; an item that cannot be put back
exactly and safely becomes one for a human, the reason saying why."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..actions import ActionName, undo_flow_logs, undo_trail_deleted, undo_trail_selectors
from ..aws import describe_error
from ..decide import bucket_lifecycle
from ..decide.left_behind import LeftBehind
from ..shell.context import ResponseContext

HISTORY_DAYS = 90  # CloudTrail's event history
HISTORY_ITEMS = 500  # records read per event name (newest first)
RESOLVED = frozenset({ActionName.RESTORE_EVENT_SELECTORS, ActionName.RECREATE_TRAIL, ActionName.RECREATE_FLOW_LOG})
LIFECYCLE_CALL = f"s3:{bucket_lifecycle.EVENT}"


def history(ctx: ResponseContext, region: str, names: Sequence[str], end: Any) -> list[dict[str, Any]]:
    """The records of ``names`` in ``region`` over the 90 days before ``end`` (one LookupEvents query per name)."""
    trail = ctx.clients.get("cloudtrail", region)
    end = end or ctx.now
    out: list[dict[str, Any]] = []
    for name in names:
        pages = trail.get_paginator("lookup_events").paginate(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
            StartTime=end - timedelta(days=HISTORY_DAYS),
            EndTime=end,
            PaginationConfig={"MaxItems": HISTORY_ITEMS},
        )
        for page in pages:
            for event in page.get("Events", []):
                detail = json.loads(event.get("CloudTrailEvent") or "{}")
                if isinstance(detail, dict):
                    out.append(detail)
    return out


def resolve(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    """``item`` with what its undo will do (params, reason), or for a human when that cannot be known."""
    lifecycle = item.call == LIFECYCLE_CALL and item.undo is None
    if (item.undo not in RESOLVED and not lifecycle) or item.protected:
        return item
    try:
        if lifecycle:
            return _lifecycle(ctx, item, chain_keys)
        if item.undo == ActionName.RESTORE_EVENT_SELECTORS:
            return _selectors(ctx, item, chain_keys)
        if item.undo == ActionName.RECREATE_TRAIL:
            return _trail(ctx, item, chain_keys)
        return _flow_log(ctx, item, chain_keys)
    except Exception as exc:  # noqa: BLE001 - a read: without it the item is for a human, the reason says why
        ctx.log("left-behind history unreadable", target=item.target, error=describe_error(exc))
        return replace(item, undo=None, why=f"{item.why}: the state before could not be read ({describe_error(exc)})")


def _selectors(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    records = history(ctx, item.region, undo_trail_selectors.HISTORY, item.at)
    found = undo_trail_selectors.previous_selectors(records, item.target, item.at, chain_keys)
    if found is not None:
        selectors, detail = found
        what = f"put back as {detail.get('eventName')} at {detail.get('eventTime')} left them"
    else:
        selectors, what = undo_trail_selectors.management_restored(dict(item.before))
        what = f"no earlier selectors in the event history (90 days): {what}"
    params = {**item.params, "selectors": json.dumps(selectors), "restored": what}
    return replace(item, why=f"{item.why}: {what}", params=params)


def _lifecycle(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    """For the human: the lifecycle the team had, as the event history shows it (never put back by the responder)."""
    records = history(ctx, item.region, bucket_lifecycle.HISTORY, item.at)
    try:
        found = bucket_lifecycle.previous_lifecycle(records, item.target, item.at, chain_keys)
    except ValueError as exc:  # an element not read: not guessed at
        return replace(item, why=f"{item.why} (the earlier configuration in the event history is not read: {exc})")
    if found is None:
        return replace(item, why=f"{item.why} (no earlier lifecycle change in the event history, 90 days)")
    rules, detail = found
    if rules:
        ids = ", ".join(str(r.get("ID") or "?") for r in rules)
        what = (
            f"as {detail.get('eventName')} at {detail.get('eventTime')} left it: rules {ids} (in the incident record)"
        )
    else:
        what = f"as {detail.get('eventName')} at {detail.get('eventTime')} left it: no lifecycle (delete the call's)"
    return replace(item, why=f"{item.why}: {what}", before={**item.before, "earlierRules": rules})


def _trail(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    records = history(ctx, item.region, undo_trail_deleted.HISTORY, item.at)
    plan, what = undo_trail_deleted.recreation_of(records, item.target, item.at, chain_keys)
    if plan is None:
        return replace(item, undo=None, why=f"{item.why}: {what}")
    return replace(item, why=f"{item.why}: {what}", params={**item.params, "recreate": json.dumps(plan)})


def _flow_log(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    records = history(ctx, item.region, undo_flow_logs.HISTORY, item.at)
    args, what = undo_flow_logs.creation_of(records, item.target, item.at, chain_keys)
    if args is None:
        return replace(item, undo=None, why=f"{item.why}: {what}")
    token = hashlib.sha256(f"{ctx.incident_id}:{item.target}".encode()).hexdigest()[:32]  # AWS: at most 64 ASCII
    params = {**item.params, "create": json.dumps(args), "token": token, "resourceId": args["ResourceIds"][0]}
    return replace(item, why=f"{item.why}: {what}", params=params)
