"""CloudTrail launch / IAM persistence API calls (every region, forwarded to the home bus) -> ledger,
and instant containment of a launch that is clearly abuse."""

from __future__ import annotations

from responder.flows import watch_call
from responder.flows.earliest import aws_quarantined_user, contain_quarantined_user
from responder.parse.cloudtrail_records import CallRecord, parse_call_event
from responder.report import Report
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint


@entrypoint("cloudtrail", parse_call_event, account=lambda call: call.account, eager_journal=False)
def handler(call: CallRecord, ctx: ResponseContext) -> Report:
    """Record every watched call; contain a launch outside ALLOWED_REGIONS or by a credential under an open incident."""
    user = aws_quarantined_user(call)  # AWS attached its quarantine: the earliest sign of a key found in public
    return contain_quarantined_user(ctx, call, user) if user else watch_call(ctx, call)
