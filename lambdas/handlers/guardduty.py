"""GuardDuty finding -> the response of its family (responder.findings: one module per family)."""

from __future__ import annotations

from responder.findings.dispatch import respond_to_finding
from responder.parse.events import GuardDutyEvent, parse_guardduty
from responder.report import Report
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint


@entrypoint("guardduty", parse_guardduty, account=lambda event: event.detail.accountId or event.account)
def handler(event: GuardDutyEvent, ctx: ResponseContext) -> Report:
    """Window for credential findings: [service.eventFirstSeen - INCIDENT_LOOKBACK_HOURS, now]."""
    return respond_to_finding(ctx, event.detail, event.region)
