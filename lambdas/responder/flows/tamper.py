"""A tampering incident (contract "Guarding the responder"): a call that blinds or disarms the responder, made
by anyone but a deploy principal or a protected principal. (1) What was switched off is switched back on, what
cannot be is named; (2) the caller's credential is contained as an abused one (an access key: the full
containment; a role session: that session cut); (3) a critical notification names the call, the caller and
what was restored. A deploy principal's or a protected principal's call: notified only."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from ..actions import ActionName
from ..actions.restore import EnableDetector, EnableRule, PutRuleTargets, StartLogging
from ..actions.role_session import RevokeSession
from ..core.model import GLOBAL, Outcome, Principal, Step
from ..core.timeutil import iso
from ..evidence import guard_state as gs
from ..parse.cloudtrail_records import CallRecord
from ..parse.guard_calls import Caller, base_name, caller_of
from ..record import attempts
from ..report import Report
from ..shell.context import ResponseContext
from .base import RECORD, Flow
from .keys import KEY_CONTAINMENT, contain_access_key

RESTORE = tuple(a.capability for a in (StartLogging, EnableDetector, EnableRule, PutRuleTargets))
TAMPER_RESPONSE = Flow(
    "tamper-response",
    (
        *RESTORE,
        RevokeSession.capability,
        gs.TRAIL_STATUS,
        gs.LIST_DETECTORS,
        gs.GET_DETECTOR,
        gs.DESCRIBE_RULE,
        *KEY_CONTAINMENT.uses,
        *RECORD,
    ),
    "contract: Guarding the responder - restore, contain the caller, critical notice",
)
# What cannot be restored by API, per call: the team's part.
NOT_RESTORABLE = {
    "DeleteTrail": f"The responder's trail was deleted: {gs.REDEPLOY}.",
    "UpdateTrail": f"The trail's settings were changed: compare them with the stack, or {gs.REDEPLOY}.",
    "PutEventSelectors": f"The trail's event selectors were changed: {gs.REDEPLOY} to put them back.",
    "DeleteDetector": "GuardDuty's detector was deleted: enable GuardDuty again (its findings history is gone).",
    "DisassociateFromAdministratorAccount": "This account left its GuardDuty administrator: have it invited again.",
    "DeleteRule": f"A responder rule was deleted: {gs.REDEPLOY}.",
    "UpdateFunctionCode": f"A responder function's code was replaced: {gs.REDEPLOY}; treat its runs since as untrusted.",
    "UpdateFunctionConfiguration": f"A responder function's configuration was changed: {gs.REDEPLOY}.",
    "DeleteFunction": f"A responder function was deleted: {gs.REDEPLOY}.",
    "PutFunctionConcurrency": f"A responder function's concurrency was changed (0 stops it): {gs.REDEPLOY}.",
    "RemovePermission": f"A responder function lost an invoke permission: {gs.REDEPLOY}.",
    "DeleteTopic": f"The team topic was deleted: {gs.REDEPLOY}, then confirm the e-mail subscriptions.",
    "Unsubscribe": "A subscription of the team topic was removed: subscribe it again (and confirm it).",
    "SetTopicAttributes": f"The team topic's attributes (policy, encryption) were changed: {gs.REDEPLOY}.",
    "PutBucketLifecycle": f"A lifecycle rule was put on the trail bucket (it may expire the logs): {gs.REDEPLOY}.",
    "PutBucketPolicy": f"The trail bucket's policy was replaced: {gs.REDEPLOY}.",
    "DeleteBucketPolicy": f"The trail bucket's policy was deleted: {gs.REDEPLOY}.",
    "LeaveOrganization": "This account left the organization: invite it back; its SCPs no longer apply.",
}


def is_tamper(rec: CallRecord) -> bool:
    return rec.kind == "tamper"


def respond_to_tamper(ctx: ResponseContext, rec: CallRecord) -> Report:
    call = base_name(rec.event_name)
    caller = caller_of(rec.identity_type, rec.principal_name, rec.principal_arn, rec.access_key_id, rec.details)
    target = rec.details.get("target") or "the account"
    kind = rec.details.get("targetKind", "")
    who = rec.principal_arn or rec.principal_name or "unknown principal"
    facts = {
        "call": f"{rec.event_name} on {kind} {target} in {rec.region} at {iso(rec.time)}",
        "by": f"{who}" + (f" with key {rec.access_key_id}" if rec.access_key_id else ""),
        "sourceIp": rec.source_ip,
        "userAgent": rec.user_agent,
        "invokedBy": caller.invoked_by,
    }
    if rec.details.get("responders") != "true":
        report = ctx.new_report(headline=f"recorded {rec.event_name} on {kind} {target}: not the responder's")
        report.facts.update(facts)
        report.status = "recorded"
        return report
    protected = ctx.policy.is_protected_principal(rec.principal_arn, rec.principal_name) or (
        caller.role_name is not None and ctx.policy.is_protected_principal(caller.role_name, None)
    )
    if caller.is_deploy or protected:
        return _notify_only(ctx, rec, caller, call, target, facts, deploy=caller.is_deploy)

    if ctx.journal is None and ctx.incidents is not None:  # earlier attempts, read beside the first calls
        incidents = ctx.incidents
        ctx.journal = attempts.load_in_background(lambda: incidents.attempts(ctx.incident_id), ctx.incident_id)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="restore") as pool:  # eyes back and door closed at once
        restoring = pool.submit(_restore, ctx, rec, call)
        report = _contain_caller(ctx, rec, caller)
        checks, restore = restoring.result()
    report.outcomes[:0] = restore  # what was switched back on is listed first
    report.facts.update(facts)
    report.facts["tampered"] = f"{call} on {kind} {target}"
    if checks:
        report.facts["found"] = "; ".join(c.describe() for c in checks)
    report.severity = "critical"
    report.subject = f"TAMPERING: {call} on {target} by {rec.principal_name or who}"
    report.done_word = "restored and contained"
    todo = [t for t in (NOT_RESTORABLE.get(call), *gs.todos(checks)) if t]
    todo.append(f"Find out how {who} got its credentials; review everything it did (the report's activity).")
    report.todo = todo + [t for t in report.todo if t not in todo]
    return report


def _restore(ctx: ResponseContext, rec: CallRecord, call: str) -> tuple[list[gs.Check], list[Outcome]]:
    checks = _checks_after(ctx, rec, call)
    return checks, ctx.run(gs.restore_steps(checks))


def _checks_after(ctx: ResponseContext, rec: CallRecord, call: str) -> list[gs.Check]:
    """What the call may have switched off, looked at now (only what an API call can switch back on)."""
    place = guard_place(ctx)
    target = rec.details.get("target", "")
    if call in ("StopLogging", "UpdateTrail", "PutEventSelectors", "DeleteTrail"):
        return [gs.check_trail(ctx.clients, place)]
    if call in ("UpdateDetector", "DeleteDetector"):
        return gs.check_detectors(ctx.clients, rec.region)
    if call in ("DisableRule", "RemoveTargets"):
        return gs.check_rule(ctx.clients, place, target, rec.region)
    return []


def guard_place(ctx: ResponseContext) -> gs.GuardPlace:
    return gs.GuardPlace(
        account=ctx.account or ctx.own_account or "",
        partition=ctx.settings.partition,
        home_region=ctx.settings.home_region,
        topic_arn=ctx.settings.notify_topic_arn,
    )


def _contain_caller(ctx: ResponseContext, rec: CallRecord, caller: Caller) -> Report:
    """An access key: the full containment; a role session: that session cut; root or other: named."""
    if caller.kind == "IAMUser" and caller.access_key_id and caller.access_key_id.startswith("AKIA"):
        return contain_access_key(
            ctx, caller.access_key_id, window=ctx.window(rec.time), what="Tampering with the responder by"
        )
    report = ctx.new_report()
    report.principal = Principal(caller.kind, caller.name or "unknown", caller.arn, caller.access_key_id)
    if caller.session_id and caller.role_name:
        why = f"its session made {rec.event_name} on the responder"
        step = Step(ActionName.REVOKE_SESSION, caller.role_name, GLOBAL, why, params={"sessionIds": caller.session_id})
        report.add(ctx.run([step]))
        report.todo = [f"Find how a session of role {caller.role_name} was obtained; who may assume it."]
    elif caller.kind == "Root":
        report.todo = ["The ROOT user tampered with the responder: secure root (password, MFA, root keys) now."]
    else:
        report.todo = [f"The caller ({caller.kind}) could not be contained automatically: contain it by hand."]
    return report


def _notify_only(
    ctx: ResponseContext, rec: CallRecord, caller: Caller, call: str, target: str, facts: Mapping[str, object], *,
    deploy: bool,
) -> Report:  # fmt: skip
    who = rec.principal_name or rec.principal_arn or "unknown"
    if deploy:
        headline = f"{call} on {target} by deploy principal {who}: expected during a deploy, nothing changed"
        severity = "medium"
        todo = [f"Confirm a deploy of the responder was running at {iso(rec.time)}; if not, {gs.REDEPLOY}."]
    else:
        headline = f"{call} on {target} by PROTECTED principal {who}: nothing changed"
        severity = "high"
        todo = [f"Confirm with the owner of {who} that {call} on the responder was intended.",
                NOT_RESTORABLE.get(call) or f"If it was not, {gs.REDEPLOY}."]  # fmt: skip
    report = ctx.new_report(headline=headline, severity=severity)
    report.principal = Principal(caller.kind, caller.name or "unknown", caller.arn, caller.access_key_id)
    report.facts.update(facts)
    report.todo = todo
    report.status = "notified"
    return report


__all__ = ["TAMPER_RESPONSE", "is_tamper", "respond_to_tamper"]
