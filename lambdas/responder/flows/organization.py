"""The organization sweep: ``sweep-regions`` in every account of the organization, fault-isolated per account.

Up to ORGANIZATION_INLINE_ACCOUNTS accounts are swept in this invocation, accounts in parallel (each one's
regions in parallel too). Beyond that, the runbook starts the Step Functions Distributed Map
(ORGANIZATION_SWEEP_STATE_MACHINE): each item is one account swept by the organization function
(``sweep_account``), which stores its result with the incident; the last state folds them into one report
and one notification (``account_results`` -> ``fold``). Both paths run the same ``sweep_account``.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from .. import accounts, store
from .. import capabilities as cap
from ..aws import describe_error
from ..context import ResponseContext
from ..events import BadInput, SweepOrganization
from ..model import Outcome, Window
from ..report import Report, outcome_from_json
from .base import RECORD, Flow
from .keys import REGION_SWEEP, sweep_regions

START_SWEEP = cap.declare(
    "record",
    "start-organization-sweep",
    ("states:StartExecution",),
    cap.SWEEP_STATE_MACHINE,
    "the Distributed Map over the organization's accounts",
)
ORGANIZATION_SWEEP = Flow(
    "organization-sweep",
    (accounts.ORGANIZATION_ACCOUNTS, accounts.MEMBER_ROLE, START_SWEEP, *REGION_SWEEP.uses),
    "contract: sweep-organization",
)
ACCOUNT_SWEEP = Flow(
    "account-sweep",
    (accounts.ORGANIZATION_ACCOUNTS, accounts.MEMBER_ROLE, *REGION_SWEEP.uses, store.INCIDENTS_WRITE, *RECORD),
    "one item of the Distributed Map, and the report folded from every item",
)
PARALLEL_ACCOUNTS = 8  # accounts swept at once in one invocation (each sweeps its regions in parallel)


def sweep_organization(ctx: ResponseContext, command: SweepOrganization) -> Report:
    if not ctx.settings.organization:
        raise BadInput("runbook sweep-organization: field 'runbook': needs organization mode (MEMBER_ROLE_NAME)")
    region = ctx.settings.home_region
    if command.accounts:
        for i, account in enumerate(command.accounts):
            if account != ctx.own_account:
                accounts.verify_member(ctx.home, region, account, f"accounts[{i}]", "runbook sweep-organization")
        named = list(dict.fromkeys(command.accounts))
    else:
        named = accounts.active_accounts(ctx.home, region)
    protected = [a for a in named if a in ctx.settings.protected_accounts]
    targets = [a for a in named if a not in protected]
    window = ctx.window(ctx.now, command.sinceHours)
    machine = ctx.settings.organization_state_machine
    if machine and len(targets) > ctx.settings.organization_inline_accounts:
        return _start(ctx, command, targets, protected, window, machine)
    with ThreadPoolExecutor(
        max_workers=max(1, min(PARALLEL_ACCOUNTS, len(targets))), thread_name_prefix="acct"
    ) as pool:
        results = list(pool.map(lambda a: sweep_account(ctx, a, command.accessKeyId, window), targets))
    return fold(ctx, [r.to_json() for r in results], protected, command.accessKeyId, window)


def sweep_account(ctx: ResponseContext, account: str, access_key_id: str | None, window: Window) -> Report:
    """One account's region sweep, through its member role; a role that cannot be assumed fails this account
    alone (the report says so), never the others."""
    member = replace(ctx, account=account, journal=None, progress=None)
    problem = accounts.act_in(member)
    if problem:
        report = member.new_report()
        report.account = account
        report.account_errors[account] = problem
        return report
    try:
        report = sweep_regions(member, access_key_id, window)
    except Exception as exc:  # noqa: BLE001 - fault isolation: one account never stops the others
        report = member.new_report()
        report.account_errors[account] = describe_error(exc)
    report.account = account
    return report


def fold(
    ctx: ResponseContext,
    results: list[dict[str, Any]],
    protected: list[str],
    access_key_id: str | None,
    window: Window,
) -> Report:
    """One report for the organization from every account's: ``accounts: {account: {region: status}}``."""
    report = ctx.new_report()
    report.window = window
    for result in results:
        account = str(result.get("account"))
        report.accounts[account] = dict(result.get("regions") or {})
        for error_account, error in (result.get("accountErrors") or {}).items():
            report.account_errors[error_account] = error
            # not swept at all: every region it would have swept failed
            report.accounts[error_account] = dict.fromkeys(ctx.settings.sweep_regions or ("all",), "failed")
        for region, error in (result.get("regionErrors") or {}).items():
            report.region_errors[f"{account}/{region}"] = error
        report.add([_in_account(outcome_from_json(a, 0, keep_detail=True), account) for a in result.get("actions", [])])
    for account in protected:
        report.accounts[account] = {}
    if protected:
        report.facts["protectedAccounts"] = f"{', '.join(protected)}: PROTECTED_ACCOUNTS, nothing changed there"
    report.facts["accountsSwept"] = len(results)
    report.subject = f"Organization sweep of {len(results)} accounts" + (
        f" for {access_key_id}" if access_key_id else ""
    )
    report.status = "planned" if ctx.dry_run else "notified"
    return report


def _in_account(outcome: Outcome, account: str) -> Outcome:
    step = replace(outcome.step, params={**outcome.step.params, "account": account})
    return replace(outcome, step=step)


def _start(
    ctx: ResponseContext,
    command: SweepOrganization,
    targets: list[str],
    protected: list[str],
    window: Window,
    machine: str,
) -> Report:
    """Too many accounts for one invocation: the Distributed Map sweeps them; its last state notifies."""
    payload = {
        "incidentId": ctx.incident_id,
        "accounts": targets,
        "protected": protected,
        "accessKeyId": command.accessKeyId,
        "sinceHours": command.sinceHours,
        "dryRun": ctx.dry_run,
    }
    started = ctx.home.get("stepfunctions", ctx.settings.home_region).start_execution(
        stateMachineArn=machine, name=ctx.incident_id, input=json.dumps(payload)
    )
    report = ctx.new_report(
        headline=f"Organization sweep of {len(targets)} accounts started on Step Functions: the report follows",
        severity="info",
    )
    report.window = window
    report.facts.update(execution=started["executionArn"], accountsToSweep=len(targets))
    report.status = "notified"
    return report
