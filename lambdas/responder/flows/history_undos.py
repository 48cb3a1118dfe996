"""What to put back for the undos that need the state before the chain's call, beyond the contract's table: a
trail's event selectors, a trail bucket's lifecycle, a deleted VPC flow log. The state before is read from
CloudTrail's event history (``LookupEvents`` by event name in the region of the call, 90 days before it: the thin
reader here); each undo's own module decides (``actions/undo_trail_selectors.py``, ``actions/undo_trail_bucket.py``,
``actions/undo_flow_logs.py``, pure). The item's reason then says exactly what will be done; an item that cannot be put
back exactly and safely becomes one for a human, the reason saying why."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

from ..actions import ActionName, undo_flow_logs, undo_trail_bucket, undo_trail_selectors
from ..aws import describe_error
from ..context import ResponseContext
from ..left_behind import LeftBehind

HISTORY_DAYS = 90  # CloudTrail's event history
HISTORY_ITEMS = 500  # records read per event name (newest first)
RESOLVED = frozenset(
    {ActionName.RESTORE_EVENT_SELECTORS, ActionName.RESTORE_BUCKET_LIFECYCLE, ActionName.RECREATE_FLOW_LOG}
)


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
    if item.undo not in RESOLVED or item.protected:
        return item
    try:
        if item.undo == ActionName.RESTORE_EVENT_SELECTORS:
            return _selectors(ctx, item, chain_keys)
        if item.undo == ActionName.RESTORE_BUCKET_LIFECYCLE:
            return _lifecycle(ctx, item, chain_keys)
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
    buckets = undo_trail_bucket.trail_buckets(ctx.clients.get("cloudtrail", item.region))
    if item.target not in buckets:
        when = item.why.split(" by ", 1)[-1]
        why = (
            f"bucket lifecycle rules replaced (they may expire data; no trail of {item.region} logs to it): review them"
        )
        return replace(item, undo=None, why=f"{why} ({when})")
    records = history(ctx, item.region, undo_trail_bucket.HISTORY, item.at)
    try:
        found = undo_trail_bucket.previous_lifecycle(records, item.target, item.at, chain_keys)
    except ValueError as exc:  # the earlier rules hold an element not read: not guessed at
        found, note = None, f" (the earlier configuration is not read: {exc})"
    else:
        note = ""
    if found is not None:
        rules, detail = found
        verb = "its rules put back" if rules else "no lifecycle, as it deleted them"
        what = f"the trail bucket's lifecycle as {detail.get('eventName')} at {detail.get('eventTime')} left it: {verb}"
    else:
        rules = None
        what = (
            f"no earlier lifecycle change in the event history (90 days){note}: the call's configuration deleted, "
            "so no log expires (rules the team set earlier are for a human to put back); objects untouched"
        )
    params = {**item.params, "rules": json.dumps(rules), "restored": what}
    return replace(item, why=f"{item.why}: {what}", params=params)


def _flow_log(ctx: ResponseContext, item: LeftBehind, chain_keys: Sequence[str]) -> LeftBehind:
    records = history(ctx, item.region, undo_flow_logs.HISTORY, item.at)
    args, what = undo_flow_logs.creation_of(records, item.target, item.at, chain_keys)
    if args is None:
        return replace(item, undo=None, why=f"{item.why}: {what}")
    token = hashlib.sha256(f"{ctx.incident_id}:{item.target}".encode()).hexdigest()[:32]  # AWS: at most 64 ASCII
    params = {**item.params, "create": json.dumps(args), "token": token, "resourceId": args["ResourceIds"][0]}
    return replace(item, why=f"{item.why}: {what}", params=params)
