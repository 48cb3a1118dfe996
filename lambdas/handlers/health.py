"""AWS Health credential-risk notice (``AWS_RISK_CREDENTIALS_EXPOSED`` ...) -> contain the key."""

from __future__ import annotations

import os
from typing import Any

from responder.flows import contain_access_key
from responder.flows.console import console_compromise
from responder.parse.events import CONSOLE_COMPROMISE, HEALTH_NOTICES, HealthEvent, parse_health
from responder.parse.notice_identity import keyed_by_notice
from responder.report import Report
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint


def handler(event: Any, context: Any) -> dict[str, Any]:
    """Organization mode: answered once per notice, not per delivery - every member forwards the notice from
    us-east-1 and from its us-west-2 backup (responder.parse.notice_identity). A single account has one Health rule."""
    if os.environ.get("MEMBER_ROLE_NAME"):
        event = keyed_by_notice(event, os.environ.get("RESPONSE_MODE", "enforce"))
    return respond(event, context)


@entrypoint("health", parse_health, account=lambda event: event.account, first_key=lambda event: _key_of(event))
def respond(event: HealthEvent, ctx: ResponseContext) -> Report:
    """Window: [notice startTime - INCIDENT_LOOKBACK_HOURS, now]."""
    if event.detail.eventTypeCode == CONSOLE_COMPROMISE:  # a console sign-in: the user, not a key
        return console_compromise(ctx, event)
    facts = {
        "notice": f"AWS Health {event.detail.eventTypeCode} ({event.detail.eventArn})",
        "noticeStart": event.detail.startTime.isoformat() if event.detail.startTime else None,
        "noticeSays": event.description()[:500] or None,
        "noticeNames": event.user_hint(),
    }
    return contain_access_key(
        ctx,
        event.access_key_id(),
        window=ctx.window(event.detail.startTime or event.time),
        what=HEALTH_NOTICES[event.detail.eventTypeCode],
        facts=facts,
    )


def _key_of(event: HealthEvent) -> str | None:
    """The key whose owner is read first (beside the idempotency record); a console notice names a user."""
    return None if event.detail.eventTypeCode == CONSOLE_COMPROMISE else event.access_key_id()
