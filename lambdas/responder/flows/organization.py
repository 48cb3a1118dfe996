"""The organization sweep: ``sweep-regions`` in every account of the organization, fault-isolated per account.

Up to ORGANIZATION_INLINE_ACCOUNTS accounts are swept in this invocation, accounts in parallel (each one's
regions in parallel too). Beyond that, the runbook starts the Step Functions Distributed Map
(ORGANIZATION_SWEEP_STATE_MACHINE): each item is one account swept by the organization function
(``sweep_account``), which stores its result with the incident; the last state folds them into one report
and one notification (``account_results`` -> ``fold``). Both paths run the same ``sweep_account``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..aws import clean_text, describe_error
from ..core import capabilities as cap
from ..core.model import Outcome, RegionResult, Window
from ..core.timeutil import iso, utcnow
from ..parse.events import BadInput
from ..record import store
from ..record.account_parts import part_of, release_lease, save_part, take_lease
from ..report import Report, outcome_from_json
from ..shell import accounts
from ..shell.context import ResponseContext
from ..sweep import enabled_regions
from .base import RECORD, Flow
from .keys import REGION_SWEEP, sweep_regions

if TYPE_CHECKING:
    from ..runbooks.sweep_organization import SweepOrganization

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
# An account's part: being swept (written as each region finishes), swept whole, or cut short.
RUNNING, FINISHED, TIMED_OUT, FAILED = "running", "finished", "timed out", "failed"
# Step Functions' names for an item cut by a limit: its task's TimeoutSeconds, the function's own timeout, a lease
# that outlived the retries. ``Lambda.Unknown`` (any unhandled error) counts as a timeout when its cause says so.
TIMEOUT_ERRORS = ("States.Timeout", "Sandbox.Timedout", "AccountSweepInProgress")
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


def sweep_account(
    ctx: ResponseContext,
    account: str,
    access_key_id: str | None,
    window: Window,
    *,
    progress: Callable[[RegionResult], None] | None = None,
    planned: Callable[[tuple[str, ...]], None] | None = None,
) -> Report:
    """One account's region sweep, through its member role; a role that cannot be assumed fails this account
    alone (the report says so), never the others. ``planned`` is told the regions it will sweep, ``progress``
    each region as it finishes."""
    member = replace(ctx, account=account, journal=None, progress=progress)
    problem = accounts.act_in(member)
    if problem:
        report = member.new_report()
        report.account = account
        report.account_errors[account] = problem
        return report
    try:
        regions = tuple(enabled_regions(member.clients, member.settings))
        if planned is not None:
            planned(regions)
        member = replace(member, settings=replace(member.settings, sweep_regions=regions))
        report = sweep_regions(member, access_key_id, window)
    except Exception as exc:  # noqa: BLE001 - fault isolation: one account never stops the others
        report = member.new_report()
        report.account_errors[account] = describe_error(exc)
    report.account = account
    return report


def sweep_item(
    ctx: ResponseContext, account: str, access_key_id: str | None, window: Window, *, owner: str, seconds: float
) -> Report:
    """One item of the Distributed Map: the account swept under its lease (never twice at once), its part
    recorded as each region finishes (what was done survives a cut), then whole. An account already swept
    whole in this incident is not swept again; a part cut short or failed is swept again, keeping what it did."""
    incidents = ctx.incidents
    if incidents is None:  # no incident table (a local run): nothing to lease or record in
        return sweep_account(ctx, account, access_key_id, window)
    take_lease(incidents, ctx.incident_id, account, owner, seconds)  # AccountSweepInProgress: nothing swept
    try:
        earlier = part_of(incidents, ctx.incident_id, account)
        if earlier and earlier.get("state") == FINISHED and not part_failed(earlier):
            report = ctx.new_report()
            report.facts["alreadySwept"] = f"account {account} was swept whole earlier in this incident"
            report.account = account
            return report
        started = iso(utcnow())
        regions: list[str] = []
        done: list[RegionResult] = []

        def record(state: str, report: Report) -> None:
            part = merge_parts(earlier, {**report.to_json(), "state": state, "startedAt": started})
            save_part(incidents, ctx.incident_id, account, {**part, "regionsPlanned": regions})

        def progress(result: RegionResult) -> None:
            done.append(result)
            partial = ctx.new_report()
            partial.add_regions(list(done))
            record(RUNNING, partial)

        report = sweep_account(ctx, account, access_key_id, window, progress=progress, planned=regions.extend)
        record(FINISHED, report)
        return report
    finally:
        release_lease(incidents, ctx.incident_id, account, owner)


def part_failed(part: Mapping[str, Any]) -> bool:
    """The part names a failure: the account, a region or a step (a retry sweeps such an account again)."""
    return bool(
        part.get("accountErrors")
        or part.get("regionErrors")
        or any(a.get("status") == "failed" for a in part.get("actions") or [])
    )


def merge_parts(earlier: Mapping[str, Any] | None, part: dict[str, Any]) -> dict[str, Any]:
    """A sweep again of an account keeps what an earlier, cut or failed, sweep of it did: its done actions that
    this one did not repeat, and its regions this one has not (yet) finished."""
    if not earlier:
        return part
    key = ("action", "target", "region")
    seen = {tuple(a.get(k) for k in key) for a in part.get("actions") or []}
    kept = [
        a
        for a in earlier.get("actions") or []
        if a.get("status") == "done" and tuple(a.get(k) for k in key) not in seen
    ]
    regions = dict(earlier.get("regions") or {})
    for region, status in (part.get("regions") or {}).items():  # a region contained earlier stays contained
        regions[region] = "contained" if status == "clean" and regions.get(region) == "contained" else status
    return {**part, "actions": kept + list(part.get("actions") or []), "regions": regions}


def record_outcome(ctx: ResponseContext, account: str, error: str, cause: str | None) -> Report:
    """A map item that ended in an error (Step Functions' Catch). A part the function finished already says what
    failed; any other is marked timed out (or failed) with the error, keeping what it recorded before the cut."""
    report = ctx.new_report()
    report.account = account
    if ctx.incidents is None:
        return report
    part = part_of(ctx.incidents, ctx.incident_id, account)
    if part and part.get("state") == FINISHED:
        report.facts["outcome"] = f"the sweep of {account} finished; its part names what failed"
        return report
    timed_out = error in TIMEOUT_ERRORS or "timed out" in (cause or "").lower()
    state = TIMED_OUT if timed_out else FAILED
    marked = {**(part or {"regions": {}, "actions": []}), "state": state, "error": error,
              "cause": clean_text(_cause_text(cause), 300)}  # fmt: skip
    save_part(ctx.incidents, ctx.incident_id, account, marked)
    report.facts["outcome"] = f"the sweep of {account} {state}: {error}"
    return report


def _cause_text(cause: str | None) -> str:
    """Step Functions' cause of a Lambda error is the function's error JSON: its message is what a person reads."""
    try:
        parsed = json.loads(cause or "")
    except ValueError:
        return cause or ""
    return str(parsed.get("errorMessage") or cause) if isinstance(parsed, dict) else str(cause)


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
        if result.get("state") in (RUNNING, TIMED_OUT, FAILED):
            _cut_short(ctx, report, account, result)
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


def _cut_short(ctx: ResponseContext, report: Report, account: str, part: Mapping[str, Any]) -> None:
    """An account whose sweep did not finish: what it did before the cut stays (its finished regions and their
    actions); every region it had not finished is ``failed``, and the account is named with the error."""
    finished = dict(part.get("regions") or {})
    planned = list(part.get("regionsPlanned") or ctx.settings.sweep_regions or ())
    unfinished = [r for r in planned if r not in finished]
    if part.get("state") == RUNNING:  # the report came first: no outcome was recorded for its item
        what, error = "was cut or lost", "no outcome recorded for its Distributed Map item"
    else:
        what, error = ("timed out" if part.get("state") == TIMED_OUT else "failed"), str(part.get("error"))
    cause = f": {part['cause']}" if part.get("cause") else ""
    for region in unfinished:
        report.accounts[account][region] = "failed"
        report.region_errors[f"{account}/{region}"] = f"not finished: the account's sweep {what}"
    report.account_errors[account] = (
        f"sweep {what} ({error}{cause}); {len(finished)} of {len(planned) or '?'} regions finished before the cut "
        f"(their actions are listed): run sweep-regions with accountId {account} for the rest"
    )
    if what == "timed out":
        report.facts.setdefault("accountsTimedOut", []).append(account)


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
