"""The credential chain in a key containment: read what the key became, cut each derived credential, attribute
what the chain did to the key, undo what it left behind (contract: "The credential chain", "What the attacker
left behind"). Hooks of ``flows.keys.contain_access_key``: ``ChainFollowing`` beside the region sweep (which waits
for its reading), ``finish_chain`` once the regions and the persistence sweep are done."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from ..actions import ActionName
from ..actions.iam import DeactivateAccessKey, QuarantineRole, QuarantineUser, RevokeRoleSessions
from ..actions.role_session import RevokeSession
from ..actions.undo import (
    DisableSerialConsole,
    DisableTrustAnchor,
    RemoveDbSnapshotShare,
    RemoveImageShare,
    RemoveLambdaPermission,
    RemoveSnapshotShare,
    RestartTrailLogging,
    RestoreTrustPolicy,
    RevokeIngress,
)
from ..actions.undo_flow_logs import RecreateFlowLog
from ..actions.undo_trail_deleted import RecreateTrail
from ..actions.undo_trail_selectors import RestoreEventSelectors
from ..aws import describe_error
from ..core.model import Outcome, Principal, Suspect, Window
from ..core.timeutil import iso
from ..decide.left_behind import LeftBehind, left_behind_from, plan_undos, previous_trust, without_outside_principals
from ..evidence.activity import read_activity
from ..evidence.backdoors import backdoors_from, plan_backdoors
from ..evidence.chain import (
    CHAIN_READ,
    Chain,
    chain_launch_calls,
    chain_report,
    chain_suspects,
    minted_link,
    plan_cuts,
    read_chain,
)
from ..evidence.left_behind_tags import LEFT_BEHIND_TAGS, guard_protected, read_tags
from ..parse.cloudtrail_records import CHAIN_EVENTS, CallRecord, launch_events
from ..record.joining import incident_of_call, join
from ..report import Report
from ..shell.context import ResponseContext
from ..sweep import SweepRequest
from . import history_undos

IAM_REGION = "us-east-1"  # IAM (global) records its calls there

CHAIN = (
    CHAIN_READ,
    LEFT_BEHIND_TAGS,
    RevokeSession.capability,
    RevokeRoleSessions.capability,
    DeactivateAccessKey.capability,
    QuarantineUser.capability,
    QuarantineRole.capability,
    RemoveLambdaPermission.capability,
    RevokeIngress.capability,
    RemoveSnapshotShare.capability,
    RemoveImageShare.capability,
    RemoveDbSnapshotShare.capability,
    DisableSerialConsole.capability,
    RestoreTrustPolicy.capability,
    DisableTrustAnchor.capability,
    RestartTrailLogging.capability,
    RestoreEventSelectors.capability,
    RecreateTrail.capability,
    RecreateFlowLog.capability,
)
TRUST_HISTORY_DAYS = 90  # CloudTrail's event history
MINTED_CUTS = (RevokeSession.capability, RevokeRoleSessions.capability, QuarantineUser.capability)


@dataclass
class ChainResponse:
    chain: Chain
    suspects: dict[str, dict[str, Suspect]] = field(default_factory=dict)
    cuts: list[Outcome] = field(default_factory=list)  # each derived credential cut (or listed)
    error: str | None = None  # why the chain could not be read at all

    def sweep_request(self, window: Window, access_key_id: str) -> SweepRequest:
        """The region sweep for C: what any credential of the chain launched is attributed to C (rule 1); C's own
        calls as the chain read them (the sweep does not ask CloudTrail again where they were read)."""
        chain = self.chain
        ledger = frozenset(r for r, found in self.suspects.items() if any(s.source == "ledger" for s in found.values()))
        read = chain.by_region.get(access_key_id, {})
        return SweepRequest(
            window=window,
            access_key_id=access_key_id,
            suspects=self.suspects,
            ledger_regions=ledger,
            chain_launches=chain_launch_calls(chain),
            looked_up={r: chain.calls_in(access_key_id, r, launch_events()) or [] for r in read},
            ledger_calls=chain.ledger_calls.get(access_key_id),
        )


SWEEP_WAIT_SECONDS = 10.0  # the longest the region sweep waits for the chain's reading (paced: ~20 pages a region)


class ChainFollowing:
    """The chain of C, read and cut in the background while the regions are swept: each region describes what
    runs there meanwhile and waits only for the reading (``sweep_request``), not for the cuts.

    A busy key's reading can take the whole activity budget (LookupEvents gives 50 calls a page, 2 pages a second
    per region), and the capacity kill must not wait for it: after SWEEP_WAIT_SECONDS the regions are swept with
    what has been read (a region whose reading of C is not done asks CloudTrail itself), and what the rest of the
    reading attributes to the chain is stopped in a second, scoped pass (``late_request``)."""

    def __init__(
        self,
        ctx: ResponseContext,
        background: Executor,
        access_key_id: str,
        principal: Principal,
        window: Window,
        regions: Sequence[str],
    ) -> None:
        self.ctx = ctx
        self.access_key_id = access_key_id
        self.window = window
        self.wait_seconds = SWEEP_WAIT_SECONDS
        self.used: SweepRequest | None = None  # what the sweep was given
        self.early = False  # the sweep went on before the reading ended
        self._chain = Chain(access_key_id)  # filled by the reading; its snapshot serves a sweep that cannot wait
        self._read: Future[ChainResponse] = Future()
        self._cut = background.submit(self._follow, principal, regions)

    def _follow(self, principal: Principal, regions: Sequence[str]) -> ChainResponse:
        ctx = self.ctx
        try:
            chain = read_chain(
                ctx.clients,
                regions,
                self.access_key_id,
                self.window,
                account=ctx.account,
                partition=ctx.settings.partition,
                budget_seconds=ctx.settings.activity_budget_seconds,
                max_workers=ctx.settings.max_workers,
                ledger=ctx.ledger,
                log=ctx.log,
                into=self._chain,
            )
            response = ChainResponse(chain, chain_suspects(chain))
        except Exception as exc:  # noqa: BLE001 - the sweep goes on with C's own attribution; the failure is named
            response = ChainResponse(Chain(self.access_key_id), error=describe_error(exc))
        self._read.set_result(response)
        # keys C created itself are the persistence sweep's (the same step twice would be sent twice)
        own = {x.credential for x in response.chain.links if x.kind == "access-key" and x.parent == self.access_key_id}
        contained = principal.name if principal.type == "IAMUser" else None
        response.cuts = ctx.run(plan_cuts(response.chain, ctx.policy, contained, ctx.now, skip_keys=own))
        return response

    def sweep_request(self) -> SweepRequest:
        """The region sweep's request, once the chain is read, or with what was read after SWEEP_WAIT_SECONDS."""
        try:
            response = self._read.result(timeout=self.wait_seconds)
        except TimeoutError:
            self.early = True
            read = self._chain.snapshot()
            response = ChainResponse(read, chain_suspects(read))
        self.used = response.sweep_request(self.window, self.access_key_id)
        return self.used

    def sweep_what_came_late(self, report: Any, response: ChainResponse) -> None:
        """If the sweep went on before the reading ended: what the reading attributed since is judged now, in a
        second pass over its regions (said in ``facts.chainLate``)."""
        if not self.early:
            return
        late = self.late_request(response)
        found = sum(len(v) for v in late.suspects.values()) if late else 0
        stopped = f"{found} resource(s) it attributed later judged in a second pass" if late else "nothing more"
        report.facts["chainLate"] = (
            f"the credential chain's reading outlasted {self.wait_seconds:g} s: the regions were swept with what it "
            f"had read by then; {stopped}"
        )
        if late is not None:
            report.add_second_pass(self.ctx.region_sweep().run(sorted(late.suspects), late, self.ctx.progress))

    def late_request(self, response: ChainResponse) -> SweepRequest | None:
        """The second pass, when the sweep went on before the reading ended: only what the whole chain attributes
        and the sweep was not given, in its regions. None when there is nothing more."""
        given = self.used.suspects if self.used is not None else {}
        late = {
            region: {rid: s for rid, s in found.items() if rid not in given.get(region, {})}
            for region, found in response.suspects.items()
        }
        late = {region: found for region, found in late.items() if found}
        if not late:
            return None
        return SweepRequest(
            window=self.window,
            scope={region: frozenset(found) for region, found in late.items()},
            suspects=late,
            use_lookup=False,
            chain_launches=chain_launch_calls(response.chain),
        )

    def result(self, report: Any) -> ChainResponse:
        """Wait for the cuts; their outcomes and what the reading could not do go into the report."""
        try:
            response = self._cut.result()
        except Exception as exc:  # noqa: BLE001 - the cuts failed as a whole: named, the response goes on
            response = self._read.result()
            report.errors.append(f"credential chain not cut: {describe_error(exc)}")
        if response.error:
            report.errors.append(f"credential chain not read: {response.error}")
        if response.chain.unread:
            report.facts["chainUnread"] = "; ".join(f"{k}: {v}" for k, v in sorted(response.chain.unread.items()))[:600]
        report.add(response.cuts)
        if any(o.step.status == "skipped" for o in response.cuts):
            report.severity = "critical"
            report.facts["chainProtected"] = "a credential of the chain belongs to a protected principal: not touched"
        return response


def cut_minted(ctx: ResponseContext, report: Report, rec: CallRecord) -> Report:
    """An STS call by a credential of an open incident's chain that its containment did not read (CloudTrail's
    event history lags; EventBridge delivered it later): the credential it minted is cut at once, as the chain's
    are (contract "Containment that holds": while an incident is open, what its chain does is contained at once).
    The trigger joins the incident; it pages only by the incident's digest."""
    if rec.event_name not in CHAIN_EVENTS or rec.error_code or not rec.access_key_id:
        return report
    links = [minted_link(rec, rec.access_key_id, key, 1) for kind, key in rec.resources if kind == "credential"]
    incident = incident_of_call(ctx, rec) if links else None
    if incident is None:
        return report
    report.facts["underIncident"] = incident
    if not ctx.dry_run:  # a dry-run never writes into an incident
        join(ctx, incident, rec.access_key_id)
        report.incident_id = incident
    new = Chain(rec.access_key_id, links)
    outcomes = ctx.run(plan_cuts(new, ctx.policy, None, ctx.now))
    report.add(outcomes)
    report.chain = chain_report(new, outcomes, ctx.dry_run)
    report.status = "planned" if ctx.dry_run else "contained"
    report.severity = "critical"
    minted = ", ".join(x.credential for x in links)
    report.subject = f"{rec.event_name} by {rec.access_key_id} (open incident {incident}): {minted}"
    report.done_word = "cut"
    report.todo = [
        f"{rec.access_key_id}, a credential of open incident {incident}, obtained {minted} with {rec.event_name} "
        f"at {iso(rec.time)}: see that incident for everything its chain did."
    ]
    return report


def finish_chain(ctx: ResponseContext, report: Any, response: ChainResponse, principal: Principal) -> None:
    """After the sweep: the derived credentials' persistence, what the chain left behind, the report's ``chain``."""
    chain = response.chain
    derived = chain.calls(derived_only=True)
    found = [b for b in backdoors_from(derived, "chain") if b.event_name != "CreateAccessKey"]
    if found:
        report.add(ctx.run(plan_backdoors(found, ctx.policy, principal)))
        report.findings.extend(b.to_json() for b in found)
    records = [d for records in chain.records.values() for d in records]
    left = left_behind_from(records)
    if left:  # a target with the protect tag, or a protected principal, is never changed: listed
        tags = read_tags(ctx.clients, [i for i in left if i.undo], ctx.account, ctx.settings.partition, ctx.log)
        guarded = guard_protected(left, tags, ctx.policy)
        left = [history_undos.resolve(ctx, _resolve_trust(ctx, item, chain), chain.keys) for item in guarded]
    if left:
        _remember(ctx, report, left)
        outcomes = ctx.run(plan_undos(left))
        report.add(outcomes)
        by_target = {(o.step.action, o.step.target, o.step.region): o for o in outcomes}
        report.left_behind = [
            item.to_json(
                _response(by_target.get((item.undo or ActionName.REVIEW_LEFT_BEHIND, item.target, item.region)))
            )
            for item in left
        ]
    # a key C created that the persistence sweep did not see (its source unreadable): cut here
    missing = [
        x
        for x in chain.links
        if x.kind == "access-key"
        and not any(
            o.step.action == ActionName.DEACTIVATE_ACCESS_KEY and o.step.target == x.credential for o in report.outcomes
        )
    ]
    if missing:
        report.add(ctx.run(plan_cuts(Chain(chain.root, missing), ctx.policy, None, ctx.now)))
    report.chain = chain_report(chain, report.outcomes, ctx.dry_run)
    for link in chain.links:
        if link.kind == "role-session" and ctx.policy.is_protected_principal(link.role_name, link.principal):
            report.todo.append(
                f"CRITICAL: role session {link.credential} of PROTECTED role {link.role_name} was obtained by "
                f"{link.parent} ({link.via} at {link.at}): not touched; revoke it by hand if it is not yours."
            )
        elif link.kind != "role-session" and ctx.policy.is_protected_principal(link.user_name, link.principal):
            report.todo.append(
                f"CRITICAL: {link.kind} {link.credential} of PROTECTED user {link.user_name} was obtained by "
                f"{link.parent} ({link.via}): not touched; deactivate it by hand if it is not yours."
            )
    for item in left:
        if item.protected:
            report.todo.append(
                f"Left behind on a PROTECTED target, not changed: {item.why}; undo it by hand if it is not yours "
                f"({item.target}, {item.region})."
            )
        elif item.undo is None:
            report.todo.append(f"Left behind, for a human: {item.why} - target {item.target} ({item.region}).")


def _resolve_trust(ctx: ResponseContext, item: LeftBehind, chain: Chain) -> LeftBehind:
    """A trust policy the chain replaced: what to put back (the last one set outside the chain, from CloudTrail's
    event history, else the attacker's without the principals outside the account)."""
    if item.undo != ActionName.RESTORE_TRUST_POLICY or item.protected:
        return item
    document = str(item.before.get("trustPolicy") or "{}")
    found = None
    try:
        records = _role_history(ctx, item.target, item.at)
        found = previous_trust(records, item.target, item.at, chain.keys)
    except Exception as exc:  # noqa: BLE001 - the fallback below still closes the door
        ctx.log("trust history unreadable", role=item.target, error=describe_error(exc))
    if found is not None:
        previous, detail = found
        restored = f"put back as set by {detail.get('eventName')} at {detail.get('eventTime')}"
        params = {"document": previous, "restored": restored}
    else:
        try:
            cleaned, removed = without_outside_principals(document, ctx.account)
        except (ValueError, AttributeError, TypeError):
            return replace(item, undo=None, why=f"{item.why}: unreadable document, review it")
        restored = f"no earlier policy in the event history: outside principals {', '.join(removed) or 'none'} removed"
        params = {"document": cleaned, "restored": restored}
    until = iso(ctx.now) or ""
    return replace(item, why=f"{item.why}: {restored}; sessions issued since revoked",
                   params={**item.params, **params, "until": until})  # fmt: skip


def _role_history(ctx: ResponseContext, role: str, before: Any) -> list[dict[str, Any]]:
    """CreateRole / UpdateAssumeRolePolicy records of the role (LookupEvents by ResourceName, us-east-1)."""
    trail = ctx.clients.get("cloudtrail", IAM_REGION)
    end = before or ctx.now
    kwargs = {
        "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": role}],
        "StartTime": end - timedelta(days=TRUST_HISTORY_DAYS),
        "EndTime": end,
        "PaginationConfig": {"MaxItems": 500},
    }
    out = []
    for page in trail.get_paginator("lookup_events").paginate(**kwargs):
        for event in page.get("Events", []):
            if event.get("EventName") in ("CreateRole", "UpdateAssumeRolePolicy"):
                out.append(json.loads(event.get("CloudTrailEvent") or "{}"))
    return out


def _response(outcome: Any) -> str | None:
    return f"{outcome.step.action}: {outcome.status}" if outcome is not None else None


def _remember(ctx: ResponseContext, report: Any, left: Sequence[LeftBehind]) -> None:
    """The state before each undo, in the incident record, before anything is changed."""
    if ctx.dry_run or ctx.incidents is None:
        return
    try:
        ctx.incidents.save_left_behind(ctx.incident_id, [item.to_json() for item in left])
    except Exception as exc:  # noqa: BLE001 - the report holds it too; the failure is named
        report.errors.append(f"could not record the state before the undos: {describe_error(exc)}")


def chain_activity(ctx: ResponseContext, chain: Chain, window: Window, regions: Sequence[str]) -> dict[str, Any]:
    """The report's ``activity`` over every credential of the chain, with ``byCredential``: the keys are read at
    once, each keeping to its share of LookupEvents' quota in a region, within one budget."""
    keys = chain.keys

    def read(key: str) -> dict[str, Any]:
        return read_activity(
            ctx.clients,
            regions,
            key,
            window,
            budget_seconds=ctx.settings.activity_budget_seconds,
            max_workers=ctx.settings.max_workers,
            log=ctx.log,
            share=len(keys),
        )

    with ThreadPoolExecutor(max_workers=len(keys), thread_name_prefix="activity-keys") as pool:
        return merge_activity(dict(zip(keys, pool.map(read, keys), strict=True)))


def merge_activity(per_key: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Several credentials' activity summaries as one, with each one's calls in ``byCredential``. Pure."""
    from collections import Counter

    out: dict[str, Any] = {"calls": 0}
    counters = {k: Counter[str]() for k in ("byService", "byRegion", "byEvent", "writes")}
    ips: list[str] = []
    agents: list[str] = []
    firsts, lasts, unread = [], [], {}
    for key, summary in per_key.items():
        out["calls"] += summary.get("calls", 0)
        for name, counter in counters.items():
            counter.update(summary.get(name) or {})
        ips += [i for i in summary.get("sourceIPs", []) if i not in ips]
        agents += [a for a in summary.get("userAgents", []) if a not in agents]
        firsts += [summary["firstSeen"]] if summary.get("firstSeen") else []
        lasts += [summary["lastSeen"]] if summary.get("lastSeen") else []
        unread.update({f"{r} ({key})": why for r, why in (summary.get("unread") or {}).items()})
    for name, counter in counters.items():
        out[name] = dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    out.update(sourceIPs=ips, userAgents=agents, firstSeen=min(firsts, default=None), lastSeen=max(lasts, default=None))
    out["complete"] = not unread
    if unread:
        out["unread"] = dict(sorted(unread.items()))
    out["byCredential"] = {key: summary.get("calls", 0) for key, summary in per_key.items()}
    return out
