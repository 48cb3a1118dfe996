""" "Left running" notices (contract: "One incident per compromise"): a suspicious launch in an allowed region
changes nothing in AWS and is notified - at most once per principal every NOTIFY_DIGEST_MINUTES, with counts,
and never about a launch an open incident is stopping.

Before it pages, the watcher waits GRACE_SECONDS and looks again for an open incident of the launching
credential: a notice and an exposure notice arriving together (the storm) must not page "left running" about
instances the incident's sweep terminates a second later - the launch is then stopped under that incident.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ..core.model import Window
from ..core.timeutil import iso, parse_time, utcnow
from ..parse.cloudtrail_records import CallRecord, creator_arn
from ..record.joining import incident_of_call, join
from ..report import Report
from ..shell.context import ResponseContext

GRACE_SECONDS = 1.5
NOTICE_SK = "left-running"


def notice_key(rec: CallRecord) -> str:
    return f"notice#{creator_arn(rec.principal_arn) or rec.access_key_id or 'unknown'}"


def hold_or_page(
    ctx: ResponseContext,
    report: Report,
    rec: CallRecord,
    contain_launch: Callable[[ResponseContext, Report, CallRecord, str], None],
) -> Report:
    """The notice ``report`` (already worded for this launch): stopped under an incident that opened meanwhile,
    paged with the counts since the principal's last notice, or held (recorded) until the next one is due."""
    if ctx.incidents is None or ctx.dry_run:
        return report
    due, last = _notice_due(ctx, rec)
    if not due:
        report.status = "recorded"
        report.headline += f" - held: one notice per {ctx.settings.notify_digest_minutes:g} min for this principal"
        return report
    if GRACE_SECONDS:  # only a notice that would page waits
        time.sleep(GRACE_SECONDS)
    incident = incident_of_call(ctx, rec)
    if incident:
        join(ctx, incident, rec.access_key_id)
        report.incident_id = incident
        report.todo = []
        why = f"launched by {rec.access_key_id}, a credential under open incident {incident}"
        contain_launch(ctx, report, rec, why)
        report.severity = "critical"
        return report
    launches = _launches_since(ctx, rec, last)
    if len(launches) > 1:
        regions = sorted({c.region for c in launches})
        types = sorted({c.instance_type for c in launches if c.instance_type})
        who = rec.principal_name or rec.principal_arn or "unknown principal"
        report.headline = (
            f"{len(launches)} launches left running: {who}, {', '.join(types) or 'capacity'} in "
            f"{len(regions)} region{'s' if len(regions) != 1 else ''} since {iso(launches[0].time)}"
        )
        report.facts["leftRunning"] = [
            f"{c.event_name} {c.instance_type or ''} in {c.region} at {iso(c.time)}: {', '.join(c.resource_ids)}"
            for c in launches[:50]
        ]
    return report


def _notice_due(ctx: ResponseContext, rec: CallRecord) -> tuple[bool, tuple[Any, str] | None]:
    """One conditional update per notice: (due, the last notice's launch: its event time and id)."""
    assert ctx.incidents is not None
    now = utcnow()
    cutoff = now - timedelta(minutes=ctx.settings.notify_digest_minutes)
    try:
        resp = ctx.incidents.client.update_item(
            TableName=ctx.incidents.name,
            Key={"pk": {"S": notice_key(rec)}, "sk": {"S": NOTICE_SK}},
            UpdateExpression="SET lastNoticeAt = :now, lastEventAt = :event, lastEventId = :id ADD notices :one",
            ConditionExpression="attribute_not_exists(lastNoticeAt) OR lastNoticeAt < :cutoff",
            ExpressionAttributeValues={
                ":now": {"S": iso(now)},
                ":event": {"S": iso(rec.time or now)},
                ":id": {"S": rec.event_id or "-"},
                ":one": {"N": "1"},
                ":cutoff": {"S": iso(cutoff)},
            },
            ReturnValues="ALL_OLD",  # the whole item: an attribute set to its own value is still read back
        )
    except Exception as exc:
        if getattr(exc, "response", {}).get("Error", {}).get("Code") == "ConditionalCheckFailedException":
            return False, None
        raise
    old = resp.get("Attributes") or {}
    at = old.get("lastEventAt", {}).get("S")
    return True, (parse_time(at), str(old.get("lastEventId", {}).get("S"))) if at else None


def _launches_since(ctx: ResponseContext, rec: CallRecord, last: tuple[Any, str] | None) -> list[CallRecord]:
    """The principal's launches this notice covers: since the last notice's launch (or one digest period)."""
    if ctx.ledger is None or rec.time is None:
        return [rec]
    period = timedelta(minutes=max(ctx.settings.notify_digest_minutes, 1))
    since, noticed = last if last is not None else (None, None)
    start = since if since is not None and since > rec.time - timedelta(days=1) else None
    window = Window(start or rec.time - period, rec.time + timedelta(seconds=1))
    creator = creator_arn(rec.principal_arn)
    calls = ctx.ledger.calls_by_creator(creator, window) if creator else [rec]
    found = sorted(
        (c for c in calls if c.kind == "launch" and c.event_id != noticed and _notable(ctx, c)),
        key=lambda c: (iso(c.time) or "", c.event_id),
    )
    return found or [rec]


def _notable(ctx: ResponseContext, call: CallRecord) -> bool:
    """A launch a "left running" notice is about: a suspicious type, or a region outside ALLOWED_REGIONS."""
    return ctx.policy.region_outside_allowed(call.region) or ctx.policy.is_suspicious([call.instance_type or ""])
