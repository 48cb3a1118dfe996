"""The organization sweep's Step Functions states (organization mode): one account per Distributed Map item,
then one report for the whole organization."""

from __future__ import annotations

from responder.context import ResponseContext
from responder.entrypoint import entrypoint
from responder.events import AccountSweepStep, OrganizationStep, parse_organization_step
from responder.flows.organization import fold, sweep_account
from responder.report import Report


@entrypoint(
    "organization",
    parse_organization_step,
    incident=lambda step: step.incidentId,
    dry_run=lambda step: step.dryRun,
    idempotent=False,
    eager_journal=False,
)
def handler(step: OrganizationStep, ctx: ResponseContext) -> Report:
    """``{"step": "sweep-account", "accountId": ...}`` -> that account's part, stored with the incident;
    ``{"step": "report", "accounts": [...]}`` -> every part folded into one report, notified once."""
    window = ctx.window(ctx.now, step.sinceHours)
    if isinstance(step, AccountSweepStep):
        report = sweep_account(ctx, step.accountId, step.accessKeyId, window)
        if ctx.incidents is not None:
            ctx.incidents.save_account_result(ctx.incident_id, step.accountId, report.to_json())
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
