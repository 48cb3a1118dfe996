"""What a key did: the activity summary, after a key containment or by hand (runbook ``activity``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..aws import describe_error
from ..core.model import Principal, Window
from ..evidence import probes
from ..evidence.activity import KEY_ACTIVITY, read_activity
from ..evidence.probes import key_owner
from ..report import Report
from ..report.needs_human import activity_todo
from ..shell.context import ResponseContext
from ..sweep import enabled_regions
from .base import RECORD, Flow

ACTIVITY_SUMMARY = Flow(
    "activity-summary",
    (probes.KEY_OWNER, probes.DESCRIBE_REGIONS, KEY_ACTIVITY, *RECORD),
    "what a key did (CloudTrail LookupEvents in every region); changes nothing",
)


def read_key_activity(
    ctx: ResponseContext, access_key_id: str, window: Window, regions: Sequence[str]
) -> dict[str, Any]:
    """The report's ``activity``: a read within ACTIVITY_BUDGET_SECONDS that never fails the response."""
    return read_activity(
        ctx.clients,
        regions,
        access_key_id,
        window,
        budget_seconds=ctx.settings.activity_budget_seconds,
        max_workers=ctx.settings.max_workers,
        log=ctx.log,
    )


def key_activity(ctx: ResponseContext, access_key_id: str, window: Window) -> Report:
    """Runbook ``activity``: what the key did in ``[now - sinceHours, now]``. A key IAM no longer knows (deleted,
    or another account's) is still read: CloudTrail keeps what a deleted key did for 90 days."""
    report = ctx.new_report(severity="info")
    report.window = window
    report.status = "planned" if ctx.dry_run else "notified"
    owner = key_owner(ctx.clients, ctx.settings.home_region, access_key_id, ctx.account)
    report.principal = owner.principal or Principal("Unknown", "unknown", None, access_key_id)
    if owner.principal is None:
        report.facts["keyOwner"] = "not found in this account (deleted, or another account's key)"
    try:
        regions = enabled_regions(ctx.clients, ctx.settings)
    except Exception as exc:  # noqa: BLE001 - said in the activity ("unread"), and in the facts
        report.facts["regions"] = f"could not list the enabled regions: {describe_error(exc)}"
        regions = []
    report.activity = read_key_activity(ctx, access_key_id, window, regions)
    calls, complete = report.activity["calls"], report.activity["complete"]
    report.headline = (
        f"What key {access_key_id} ({report.principal.name}) did: {calls} CloudTrail call{'s' * (calls != 1)}"
        + ("" if complete else f", {len(report.activity.get('unread', {}))} region(s) NOT read")
        + " (nothing changed)"
    )
    report.todo = activity_todo(access_key_id, report.activity)
    return report
