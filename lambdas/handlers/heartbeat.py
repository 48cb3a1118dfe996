"""Every 5 minutes (EventBridge schedule): check the responder's own trail, detector, rules, functions and
topic; switch back on what can be; notify what was found; publish the heartbeat metric."""

from __future__ import annotations

from responder.flows.heartbeat import Beat, heartbeat, parse_beat
from responder.report import Report
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint


@entrypoint("heartbeat", parse_beat, idempotent=False, eager_journal=False)
def handler(beat: Beat, ctx: ResponseContext) -> Report:
    return heartbeat(ctx, beat)
