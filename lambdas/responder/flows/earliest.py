"""The earliest triggers (contract "Containment that holds"), and persistence calls under an open incident.

* AWS attaches its own quarantine policy (``arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine``, V2, V3, V4 ...)
  to a user within about a minute of finding its key in public - long before the Health notice. CloudTrail records
  the ``AttachUserPolicy`` as an AWS-internal caller (``sourceIPAddress: AWS Internal``); a person attaching it
  means the same, so the caller is not looked at: every access key of that user gets the full containment.
* While an incident is open, an IAM persistence call (``CreateUser``, ``CreateAccessKey``, ``CreateLoginProfile``,
  ``Attach/Put*Policy`` ...) by its credential is contained at once: what it created is neutralised as the
  persistence sweep would (keys Inactive, users and roles quarantined, login profiles removed, policies listed).
"""

from __future__ import annotations

import re

from ..core.model import Principal
from ..core.timeutil import iso
from ..evidence.backdoors import backdoors_from, plan_backdoors
from ..parse.cloudtrail_records import IAM_PERSISTENCE_EVENTS, CallRecord
from ..record.joining import incident_of_call
from ..report import Report
from ..shell.context import ResponseContext
from .keys import contain_access_key
from .notices import notify_only

AWS_QUARANTINE = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/AWSCompromisedKeyQuarantine")
FOUND_IN_PUBLIC = "AWS found in public (it attached AWSCompromisedKeyQuarantine)"


def aws_quarantined_user(rec: CallRecord) -> str | None:
    """The user AWS's own quarantine policy was attached to by this call, if it is such a call."""
    if rec.event_name != "AttachUserPolicy" or rec.error_code:
        return None
    policy = str(rec.details.get("policy") or "")
    return str(rec.details.get("userName") or "") or None if AWS_QUARANTINE.match(policy) else None


def contain_quarantined_user(ctx: ResponseContext, rec: CallRecord, user: str) -> Report:
    """Every access key of the user AWS quarantined: the full containment (the first key's, the others deactivated
    with it, before the regions are swept)."""
    iam = ctx.clients.get("iam", ctx.settings.home_region)
    keys = [
        (str(k["AccessKeyId"]), str(k.get("Status")))
        for page in iam.get_paginator("list_access_keys").paginate(UserName=user)
        for k in page.get("AccessKeyMetadata", [])
    ]
    facts = {
        "notice": f"AWS attached {rec.details.get('policy')} to user {user} at {iso(rec.time)}: AWS found an access "
        "key of this user in public (the earliest signal, before the Health notice)",
        "attachedBy": f"{rec.principal_arn or rec.identity_type or 'unknown'} from {rec.source_ip}",
        "keysOfUser": ", ".join(f"{k} ({s})" for k, s in keys) or "none",
    }
    if not keys:
        return notify_only(
            ctx,
            f"AWS quarantined user {user} (key found in public) but it has no access key: nothing to deactivate",
            "critical",
            facts,
            [f"Find where {user}'s credentials leaked; check its console password and what it did."],
        )
    ordered = sorted(keys, key=lambda k: k[1] != "Active")  # an active key first: the one most likely abused
    first, others = ordered[0][0], tuple(k for k, _ in ordered[1:])
    return contain_access_key(
        ctx, first, window=ctx.window(rec.time), what=FOUND_IN_PUBLIC, facts=facts, other_keys=others
    )


def persistence_under_incident(ctx: ResponseContext, report: Report, rec: CallRecord) -> Report:
    """An IAM persistence call by a credential under an open incident: neutralise what it created, at once."""
    if rec.kind != "persistence" or rec.event_name not in IAM_PERSISTENCE_EVENTS or ctx.incidents is None:
        return report
    incident = incident_of_call(ctx, rec)
    if not incident:
        return report
    who = rec.principal_arn or rec.principal_name or "unknown principal"
    principal = Principal(rec.identity_type or "Unknown", rec.principal_name or "unknown", rec.principal_arn)
    report.principal = Principal(principal.type, principal.name, principal.arn, rec.access_key_id)
    found = backdoors_from([rec], "event")
    report.add(ctx.run(plan_backdoors(found, ctx.policy, principal)))
    responses = {o.step.target: f"{o.step.action}: {o.status}" for o in report.outcomes}
    report.findings.extend(b.to_json(responses.get(b.target)) for b in found)
    report.severity = "critical"
    report.status = "planned" if ctx.dry_run else "contained"
    report.subject = f"{rec.event_name} by {principal.name} (key {rec.access_key_id}, open incident {incident})"
    report.done_word = "contained"
    report.facts["incident"] = f"{who} is under open incident {incident}: what it creates is contained at once"
    report.todo = [f"{who} still acts after containment: check that its keys are Inactive and its quarantine attached."]
    return report
