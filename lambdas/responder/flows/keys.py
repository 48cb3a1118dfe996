"""Access keys: the full containment of an exposed or abused key, the region sweep, the backdoor sweep."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from ..actions import ActionName
from ..actions.iam import DeactivateAccessKey, QuarantineUser
from ..aws import describe_error
from ..core.model import GLOBAL, Outcome, Principal, Step, Window
from ..core.timeutil import iso, utcnow
from ..decide.planner import plan_key_containment
from ..evidence import probes
from ..evidence.activity import KEY_ACTIVITY
from ..evidence.backdoors import gather_backdoors, plan_backdoors
from ..evidence.probes import key_owner
from ..record.joining import ChainParent, chain_parent, claim_containment, join
from ..report import Report
from ..report.needs_human import key_todo, protected_key_todo, unknown_key_todo
from ..shell.context import ResponseContext
from ..sweep import SweepRequest, enabled_regions
from .activity import read_key_activity
from .base import BACKDOORS, RECORD, SWEEP, Flow
from .chain import CHAIN, ChainFollowing, chain_activity, finish_chain
from .holding import HOLDS, also_deactivate, attacker_acted_after_containment, finish_recheck, start_recheck

KEY_CONTAINMENT = Flow(
    "access-key-containment",
    (
        probes.KEY_OWNER,
        DeactivateAccessKey.capability,
        QuarantineUser.capability,
        *SWEEP,
        *BACKDOORS,
        *HOLDS,
        KEY_ACTIVITY,
        *CHAIN,
        *RECORD,
    ),
    "contract: containment of an exposed or abused access key, the credential chain, checked again, then what the key did",
)
REGION_SWEEP = Flow("region-sweep", (probes.KEY_OWNER, *SWEEP, *RECORD), "stop rogue capacity, no IAM change")
BACKDOOR_SWEEP = Flow("backdoor-sweep", (probes.KEY_OWNER, *BACKDOORS, *RECORD), "the persistence sweep alone")


def contain_access_key(
    ctx: ResponseContext,
    access_key_id: str,
    *,
    window: Window,
    what: str,
    facts: dict[str, Any] | None = None,
    other_keys: tuple[str, ...] = (),
) -> Report:
    """Contract "Containment of an exposed or abused access key", steps 1-4 (5-6 in the entrypoint); ``other_keys``
    of the same user are deactivated with the door (AWS quarantined the user: every key of it)."""
    report = ctx.new_report()
    report.window = window
    report.facts.update(facts or {})
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="bg") as background:
        regions_future = background.submit(enabled_regions, ctx.clients, ctx.settings)
        owner = ctx.ahead(  # read beside the idempotency record (entrypoint.read_ahead)
            "owner", access_key_id, lambda: key_owner(ctx.clients, ctx.settings.home_region, access_key_id, ctx.account)
        )
        if owner.principal is None:
            parent = chain_parent(ctx, access_key_id)  # a session or token key the chain of an open incident minted
            if parent is not None:
                return _chain_credential(ctx, report, access_key_id, parent, what)
            return _unknown_key(ctx, report, access_key_id, what)
        principal = owner.principal
        report.principal = principal
        if owner.last_used:
            report.facts["keyLastUsed"] = _last_used(owner.last_used)
        joined = claim_containment(ctx, report, access_key_id, principal, what)  # one incident per credential
        if joined is not None:
            return joined

        door_closed = utcnow()
        door = plan_key_containment(access_key_id, principal, ctx.policy)
        report.add(ctx.run(door + also_deactivate(door, principal, other_keys)))  # the door closes first
        ctx.log("key containment", steps=[(o.step.action, o.status) for o in report.outcomes])

        if ctx.policy.is_protected_principal(principal.name, principal.arn) and principal.type != "Root":
            report.severity = "critical"
            report.status = "notified"
            report.headline = f"{what} key {access_key_id} of PROTECTED principal {principal.name}: nothing changed"
            report.todo = protected_key_todo(principal, access_key_id)
            return report

        backdoors: Future[list[Outcome]] | None = None
        if principal.type == "IAMUser":
            backdoors = background.submit(_neutralise_backdoors, ctx, report, principal, window)
        recheck = start_recheck(ctx, report, background, principal, access_key_id, door_closed, backdoors)
        try:
            regions = regions_future.result()
        except Exception as exc:  # noqa: BLE001 - still sweep backdoors; the failure is reported
            report.errors.append(f"could not list enabled regions: {describe_error(exc)}")
            regions = []
        following = ChainFollowing(ctx, background, access_key_id, principal, window, regions)  # what it became
        results = ctx.region_sweep().run(regions, following.sweep_request, ctx.progress)  # waits for the reading
        chain = following.result(report)  # every derived credential cut
        report.add_regions(results)
        following.sweep_what_came_late(report, chain)  # when the regions did not wait for the whole reading
        # the door is closed and the regions are swept: only now read what the key did (it never delays them)
        if chain.chain.links:
            report.activity = chain_activity(ctx, chain.chain, window, regions)
        else:
            report.activity = read_key_activity(ctx, access_key_id, window, regions)
        if backdoors is not None:
            report.add(backdoors.result())
        finish_chain(ctx, report, chain, principal)
        finish_recheck(report, recheck, door_closed)

    door_shut = report.status_of(ActionName.DEACTIVATE_ACCESS_KEY) == "done"
    bought = any(o.step.action == "review-purchase" for o in report.outcomes)  # cannot be undone: AWS Support
    report.severity = (
        "critical" if principal.type == "Root" or bought or not (door_shut or ctx.dry_run) else report.severity
    )
    report.subject = f"{what} key {access_key_id} ({principal.name})"
    report.done_word = "contained" if principal.type == "IAMUser" else "swept (root key still active)"
    report.todo = [*key_todo(principal, access_key_id, report), *report.todo]  # then the chain's (flows/chain.py)
    attacker_acted_after_containment(report)
    return report


def _unknown_key(ctx: ResponseContext, report: Report, access_key_id: str, what: str) -> Report:
    report.status = "notified"
    report.headline = f"{what} key {access_key_id} is not in this account: nothing changed"
    why = f"key not found in this account {ctx.account or ''} (GetAccessKeyLastUsed: NoSuchEntity)"
    report.add(
        [Step(ActionName.DEACTIVATE_ACCESS_KEY, access_key_id, GLOBAL, why, status="skipped").outcome("skipped")]
    )
    report.todo = unknown_key_todo(access_key_id)
    return report


def _chain_credential(ctx: ResponseContext, report: Report, key: str, parent: ChainParent, what: str) -> Report:
    """A temporary key of an open incident's chain (no IAM user owns it): the incident already cut it (contract "One
    incident per compromise": the trigger joins it; nothing new to do)."""
    link = parent.link
    report.status = "joined"
    report.facts["chainOf"] = (
        f"{link.get('kind')} {key} obtained by {link.get('parent')} ({link.get('via')} at {link.get('at')}), "
        f"a credential of the chain of incident {parent.incident_id}: its cut is {link.get('status')} there"
    )
    if not ctx.dry_run:  # a dry-run never writes into an incident
        join(ctx, parent.incident_id, key, parent.root)
        report.incident_id = parent.incident_id
        report.facts["joinedIncident"] = parent.incident_id
    report.headline = f"{what} key {key}: a credential of the chain of open incident {parent.incident_id}; joined it"
    if link.get("status") != "done":
        report.severity = "critical"
        report.todo.append(
            f"The cut of {key} in incident {parent.incident_id} is {link.get('status')}: see that incident's report."
        )
    return report


def _last_used(last: dict[str, Any]) -> str:
    when = last.get("LastUsedDate")
    when_text = iso(when) if isinstance(when, datetime) else when or "never"
    return f"{when_text} ({last.get('ServiceName', 'N/A')}, {last.get('Region', 'N/A')})"


def _neutralise_backdoors(ctx: ResponseContext, report: Report, principal: Principal, window: Window) -> list[Outcome]:
    found, note = gather_backdoors(ctx, principal, window)
    if note:
        report.facts["persistenceSweep"] = note
    steps = plan_backdoors(found, ctx.policy, principal)
    removes = any(s.action == ActionName.DELETE_LOGIN_PROFILE and s.status == "planned" for s in steps)
    if removes and ctx.incidents and not ctx.dry_run:
        ctx.incidents.save_findings(ctx.incident_id, [b.to_json() for b in found])  # recorded before removing
    outcomes = ctx.run(steps)
    responses = {o.step.target: f"{o.step.action}: {o.status}" for o in outcomes}
    report.findings.extend(b.to_json(responses.get(b.target)) for b in found)
    return outcomes


def sweep_backdoors(ctx: ResponseContext, principal: Principal, window: Window) -> Report:
    """The persistence sweep alone (runbook ``sweep-persistence``)."""
    report = ctx.new_report()
    report.principal = principal
    report.window = window
    report.add(_neutralise_backdoors(ctx, report, principal, window))
    report.subject = f"Persistence sweep of {principal.name} ({len(report.findings)} found)"
    return report


def sweep_regions(ctx: ResponseContext, access_key_id: str | None, window: Window) -> Report:
    """Stop rogue capacity only (no IAM change): by attribution to a key, or by the window rule alone."""
    report = ctx.new_report()
    report.window = window
    if access_key_id:
        owner = key_owner(ctx.clients, ctx.settings.home_region, access_key_id, ctx.account)
        report.principal = owner.principal or Principal("Unknown", "unknown", None, access_key_id)
    regions = enabled_regions(ctx.clients, ctx.settings)
    report.add_regions(
        ctx.region_sweep().run(regions, SweepRequest(window=window, access_key_id=access_key_id), ctx.progress)
    )
    report.subject = f"Region sweep{' for ' + access_key_id if access_key_id else ''}"
    report.status = "planned" if ctx.dry_run else "notified"
    return report
