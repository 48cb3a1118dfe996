"""The launch watcher: record every watched CloudTrail call; contain a launch that is clearly abuse."""

from __future__ import annotations

from ..core.model import Principal, Suspect
from ..core.timeutil import iso
from ..parse.cloudtrail_records import CHAIN_EVENTS, WATCHED_EVENTS, CallRecord
from ..parse.guard_calls import is_tamper_call
from ..record import store
from ..record.joining import incident_of_call, join
from ..report import Report
from ..report.needs_human import purchase_todo
from ..shell.context import ResponseContext
from .base import DESCRIBE, RECORD, STOP, Flow
from .chain import MINTED_CUTS, cut_minted
from .earliest import persistence_under_incident
from .instances import stop_these
from .left_running import hold_or_page
from .swarm import contain_swarm, swarm_of
from .tamper import respond_to_tamper

LAUNCH_CONTAINMENT = Flow(
    "launch-containment",
    (store.LEDGER_WRITE, store.LEDGER_READ, store.INCIDENTS_READ, *DESCRIBE, *STOP, *MINTED_CUTS, *RECORD),
    "contract: CloudTrail launch events; a credential minted by an open incident's chain cut at once",
)


def watch_call(ctx: ResponseContext, rec: CallRecord) -> Report:
    """Contract "CloudTrail launch events": record every watched call; contain a launch outside a
    non-empty ALLOWED_REGIONS or by a credential under an open incident; notify a suspicious type."""
    report = ctx.new_report()
    report.status = "recorded"  # nothing changed and nobody notified, unless decided below
    who = rec.principal_arn or rec.principal_name or "unknown principal"
    report.facts.update(
        call=f"{rec.event_name} in {rec.region} at {iso(rec.time)}",
        by=f"{who} with key {rec.access_key_id}",
        sourceIp=rec.source_ip,
        userAgent=rec.user_agent,
        resources=", ".join(rec.resource_ids) or None,
        instanceType=rec.instance_type,
        errorCode=rec.error_code,
    )
    if is_tamper_call(rec.event_name, rec.event_source):  # "Guarding the responder"
        if rec.kind == "tamper":
            tampered = respond_to_tamper(ctx, rec)  # restoring and containing first; then the ledger
            if ctx.ledger is not None:
                ctx.ledger.record(rec)
            return tampered
        if ctx.ledger is not None:
            ctx.ledger.record(rec)
        report.headline = f"recorded failed {rec.event_name} by {who}: nothing changed"
        return report
    if rec.event_name not in WATCHED_EVENTS and rec.kind != "launch":  # a kind beyond EC2's launch is watched too
        report.headline = f"ignored {rec.event_name}: not a launch or persistence call"
        return report
    if ctx.ledger is not None:
        ctx.ledger.record(rec)
    report.headline = f"recorded {rec.event_name} ({rec.kind}) by {who} in {rec.region}"
    if rec.event_name in CHAIN_EVENTS:  # a credential minted by an open incident's chain: cut at once
        return cut_minted(ctx, report, rec)
    if rec.kind != "launch":  # failed attempts are only recorded; persistence calls too, unless under an incident
        return persistence_under_incident(ctx, report, rec)

    report.principal = Principal(
        rec.identity_type or "Unknown", rec.principal_name or "unknown", rec.principal_arn, rec.access_key_id
    )
    incident = incident_of_call(ctx, rec)
    protected = ctx.policy.is_protected_principal(rec.principal_arn, rec.principal_name)
    outside = ctx.policy.region_outside_allowed(rec.region)
    suspicious = bool(rec.instance_type) and ctx.policy.is_suspicious([rec.instance_type or ""])
    if incident:
        join(ctx, incident, rec.access_key_id)  # a trigger of that incident: recorded there, no page by itself
        report.incident_id = incident
        why = f"launched by {rec.access_key_id} ({who}), a credential under open incident {incident}"
        _contain_launch(ctx, report, rec, why, compromised=True)
        report.severity = "critical"
    elif outside and not protected:
        why = f"launched in {rec.region}, outside ALLOWED_REGIONS, by {who}"
        _contain_launch(ctx, report, rec, why, compromised=False)
    elif suspicious and (swarm := swarm_of(ctx, rec, protected)):
        return contain_swarm(ctx, rec, swarm, _under_incident)
    elif outside or suspicious:
        report.status = "notified"
        report.severity = "medium"
        what = f"{rec.instance_type} " if rec.instance_type else ""
        where = "outside ALLOWED_REGIONS" if outside else "allowed region"
        report.headline = f"{what}launch left running: {rec.principal_name or who} in {rec.region} ({where})"
        report.todo = [
            f"{who} is a protected principal: confirm the launch is intended."
            if protected
            else f"Confirm with {who} that the {rec.instance_type} launch is intended (suspicious type, allowed region)."
        ]
        return hold_or_page(ctx, report, rec, _under_incident)
    return report


def _under_incident(ctx: ResponseContext, report: Report, rec: CallRecord, why: str) -> None:
    _contain_launch(ctx, report, rec, why, compromised=True)


def _contain_launch(ctx: ResponseContext, report: Report, rec: CallRecord, why: str, *, compromised: bool) -> None:
    """Stop exactly what one launch created (cancel first, then terminate), in its region."""
    suspect = Suspect(why, "launch-event", compromised=compromised)
    stop_these(ctx, report, rec.region, frozenset(rec.resource_ids), suspect, rec.termination_protected)
    report.status = "planned" if ctx.dry_run else "contained"
    report.subject = f"{rec.event_name} by {report.principal.name if report.principal else '?'} in {rec.region}"
    report.done_word = "contained"
    report.todo = [
        *purchase_todo(report),  # a purchase cannot be stopped: AWS Support
        f"Find out why {rec.access_key_id} launched in {rec.region}; if it is compromised, run contain-access-key.",
    ]
