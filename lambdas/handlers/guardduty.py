"""GuardDuty finding -> the containment that fits it (responder.findings.FINDING_RESPONSES)."""

from __future__ import annotations

from responder.context import ResponseContext
from responder.entrypoint import entrypoint
from responder.events import GuardDutyEvent, parse_guardduty
from responder.finding_responses import respond_to_finding
from responder.report import Report


@entrypoint("guardduty", parse_guardduty, account=lambda event: event.detail.accountId or event.account)
def handler(event: GuardDutyEvent, ctx: ResponseContext) -> Report:
    """Window for credential findings: [service.eventFirstSeen - INCIDENT_LOOKBACK_HOURS, now]."""
    return respond_to_finding(ctx, event.detail, event.region)
