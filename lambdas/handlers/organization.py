"""The organization sweep's Step Functions states (organization mode): one account per Distributed Map item,
the outcome of an item that ended in an error, then one report for the whole organization."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from responder.flows.organization import fold, record_outcome, sweep_item
from responder.parse.events import AccountOutcomeStep, AccountSweepStep, OrganizationStep, parse_organization_step
from responder.record.account_parts import AccountSweepInProgress
from responder.report import Report
from responder.shell.context import ResponseContext
from responder.shell.entrypoint import entrypoint

DEFAULT_SECONDS = 900.0  # the function's timeout, when the invocation does not say how long it has left
_remaining = ContextVar("remaining_seconds", default=DEFAULT_SECONDS)
IN_PROGRESS = "leaseHeldElsewhere"


@entrypoint(
    "organization",
    parse_organization_step,
    incident=lambda step: step.incidentId,
    dry_run=lambda step: step.dryRun,
    idempotent=False,
    eager_journal=False,
)
def respond(step: OrganizationStep, ctx: ResponseContext) -> Report:
    """``{"step": "sweep-account", "accountId": ...}`` -> that account's part, stored with the incident;
    ``{"step": "account-outcome", ...}`` -> an item's error recorded with its part;
    ``{"step": "report", "accounts": [...]}`` -> every part folded into one report, notified once."""
    if isinstance(step, AccountOutcomeStep):
        report = record_outcome(ctx, step.accountId, step.error, step.cause)
        report.status = "recorded"
        return report
    window = ctx.window(ctx.now, step.sinceHours)
    if isinstance(step, AccountSweepStep):
        owner = ctx.request_id or ctx.incident_id
        try:
            report = sweep_item(ctx, step.accountId, step.accessKeyId, window, owner=owner, seconds=_remaining.get())
        except AccountSweepInProgress as exc:  # raised past the entrypoint (which reports failures): see handler
            report = ctx.new_report()
            report.facts[IN_PROGRESS] = str(exc)
        report.status = "recorded"  # a part: the report step notifies for the whole organization
        return report
    results = ctx.incidents.account_results(ctx.incident_id) if ctx.incidents is not None else []
    found = {str(r.get("account")) for r in results}
    missing = [a for a in step.accounts if a not in found]
    report = fold(ctx, results, step.protected, step.accessKeyId, window)
    for account in missing:  # the map gave up on it (tolerated failure): say so
        report.account_errors[account] = "no result: its Distributed Map item failed after its retries"
        report.accounts[account] = dict.fromkeys(ctx.settings.sweep_regions or ("all",), "failed")
    return report


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The lease lasts as long as this invocation may still run; an account another invocation is sweeping
    raises ``AccountSweepInProgress`` (the state machine waits and asks again), having swept nothing."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    token = _remaining.set(remaining() / 1000 if callable(remaining) else DEFAULT_SECONDS)
    try:
        data = respond(event, context)
    finally:
        _remaining.reset(token)
    held = (data.get("facts") or {}).get(IN_PROGRESS)
    if held:
        raise AccountSweepInProgress(str(held))
    return data
