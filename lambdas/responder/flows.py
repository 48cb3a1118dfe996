"""The responses, each a fixed sequence of engine pieces (parse -> evidence -> plan -> execute).

Every flow declares the capabilities it may use (``USES``); ``responder.catalog`` maps handlers
to flows, and the stack turns that into each function's IAM policy.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from .actions import FINDING_TAG, ISOLATED_TAG, ORIGINAL_GROUPS_TAG, QUARANTINE_POLICY_NAME, original_groups_from
from .aws import describe_error
from .cloudtrail_records import WATCHED_EVENTS, CallRecord
from .context import ResponseContext
from .model import GLOBAL, Instance, Outcome, Principal, Step, Suspect, Window
from .persistence import gather_findings, plan_persistence
from .planner import plan_key_containment
from .probes import describe_instances, key_owner
from .report import Report
from .sweep import SweepRequest, enabled_regions
from .timeutil import iso

# --- capability sets per flow ------------------------------------------------------------
_RECORD = ("notify", "incidents-write")
_DESCRIBE = (
    "describe-instances",
    "describe-spot-requests",
    "describe-spot-fleets",
    "describe-ec2-fleets",
    "describe-auto-scaling-groups",
)
_STOP = (
    "cancel-spot-fleet",
    "delete-ec2-fleet",
    "cancel-spot-request",
    "scale-asg-to-zero",
    "disable-termination-protection",
    "terminate-instance",
)
_SWEEP = ("describe-regions", *_DESCRIBE, "lookup-events", "ledger-read", *_STOP)
_PERSISTENCE = (
    "ledger-read",
    "lookup-events",
    "deactivate-access-key",
    "quarantine-user",
    "quarantine-role",
    "delete-login-profile",
    "incidents-write",
)
_ISOLATE = ("describe-instances", "isolate-instance", "snapshot-volume")
USES: dict[str, tuple[str, ...]] = {
    "contain-access-key": ("key-owner", "deactivate-access-key", "quarantine-user", *_SWEEP, *_PERSISTENCE, *_RECORD),
    "sweep-regions": ("key-owner", *_SWEEP, *_RECORD),
    "sweep-persistence": ("key-owner", *_PERSISTENCE, *_RECORD),
    "revoke-role-sessions": ("revoke-role-sessions", *_ISOLATE, *_RECORD),
    "isolate-instance": (*_ISOLATE, "ledger-read", "incidents-read", *_DESCRIBE, *_STOP, *_RECORD),
    "release-instance": ("describe-instances", "release-instance", *_RECORD),
    "contain-launch": ("ledger-write", "incidents-read", *_DESCRIBE, *_STOP, *_RECORD),
    "notify-only": _RECORD,
}


# --- access keys ---------------------------------------------------------------------------
def contain_access_key(
    ctx: ResponseContext,
    access_key_id: str,
    *,
    window: Window,
    what: str,
    facts: dict[str, Any] | None = None,
) -> Report:
    """Contract "Containment of an exposed or abused access key", steps 1-4 (5-6 in the runtime)."""
    report = ctx.new_report()
    report.window = window
    report.facts.update(facts or {})
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="bg") as background:
        regions_future = background.submit(enabled_regions, ctx.clients, ctx.settings)
        owner = key_owner(ctx.clients, ctx.settings.home_region, access_key_id, ctx.account)
        if owner.principal is None:
            return _unknown_key(ctx, report, access_key_id, what)
        principal = owner.principal
        report.principal = principal
        if owner.last_used:
            report.facts["keyLastUsed"] = _last_used(owner.last_used)

        steps = plan_key_containment(access_key_id, principal, ctx.policy)
        report.add(ctx.run(steps))  # the door closes first, before any region sweep
        ctx.log("key containment", steps=[(o.step.action, o.status) for o in report.outcomes])

        if ctx.policy.is_protected_principal(principal.name, principal.arn) and principal.type != "Root":
            report.severity = "critical"
            report.status = "notified"
            report.headline = f"{what} key {access_key_id} of PROTECTED principal {principal.name}: nothing changed"
            report.todo = [
                f"{principal.name} is in PROTECTED_PRINCIPALS (break-glass): decide by hand whether to deactivate "
                f"{access_key_id} (IAM console: Users > {principal.name} > Security credentials > Actions > Deactivate).",
                "Run the sweep-regions runbook (dryRun first) to see rogue capacity launched with this key.",
            ]
            return report

        persistence: Future[list[Outcome]] | None = None
        if principal.type == "IAMUser":
            persistence = background.submit(_persistence, ctx, report, principal, window)
        try:
            regions = regions_future.result()
        except Exception as exc:  # noqa: BLE001 - still run persistence; the failure is reported
            report.errors.append(f"could not list enabled regions: {describe_error(exc)}")
            regions = []
        results = ctx.region_sweep().run(
            regions, SweepRequest(window=window, access_key_id=access_key_id), ctx.progress
        )
        report.add_regions(results)
        if persistence is not None:
            report.add(persistence.result())

    door_closed = _status_of(report, "deactivate-access-key") == "done"
    report.severity = "critical" if principal.type == "Root" or not (door_closed or ctx.dry_run) else "high"
    report.subject = f"{what} key {access_key_id} ({principal.name})"
    report.done_word = "contained" if principal.type == "IAMUser" else "swept (root key still active)"
    report.todo = _key_todo(principal, access_key_id, report)
    return report


def _status_of(report: Report, action: str) -> str | None:
    """The status of the report's (first) step of this action, if it has one."""
    return next((o.status for o in report.outcomes if o.step.action == action), None)


def _unknown_key(ctx: ResponseContext, report: Report, access_key_id: str, what: str) -> Report:
    report.status = "notified"
    report.headline = f"{what} key {access_key_id} is not in this account: nothing changed"
    report.add(
        [
            Step(
                "deactivate-access-key",
                access_key_id,
                GLOBAL,
                f"key not found in this account {ctx.account or ''} (GetAccessKeyLastUsed: NoSuchEntity)",
                status="skipped",
            ).outcome("skipped")
        ]
    )
    report.todo = [
        f"Find which AWS account owns {access_key_id} (aws sts get-access-key-info --access-key-id {access_key_id}) "
        "and contain it there."
    ]
    return report


def _last_used(last: dict[str, Any]) -> str:
    when = last.get("LastUsedDate")
    return f"{iso(when) if isinstance(when, datetime) else when or 'never'} ({last.get('ServiceName', 'N/A')}, {last.get('Region', 'N/A')})"


def _key_todo(principal: Principal, access_key_id: str, report: Report) -> list[str]:
    """What a human must do, worded from what AWS confirmed: never "it is Inactive" unless it is."""
    todo = []
    key_step, quarantine_step = _status_of(report, "deactivate-access-key"), _status_of(report, "quarantine-user")
    if principal.type == "Root":
        todo += [
            f"ROOT KEY: sign in as root and delete access key {access_key_id} now (a role cannot deactivate root keys).",
            "Enable MFA on the root user and stop using root keys.",
        ]
    elif key_step == "done":
        todo.append(
            f"Rotate: create a new key for {principal.name}'s legitimate use, update where it is used, then delete "
            f"{access_key_id} (it is Inactive, not deleted)."
        )
    elif key_step != "planned":
        todo.append(
            f"KEY {access_key_id} IS STILL ACTIVE: deactivate it by hand now (IAM console: Users > {principal.name} > "
            "Security credentials > Actions > Deactivate), then find out why the responder could not."
        )
    if principal.type != "Root" and quarantine_step == "done":
        todo.append(f"Remove the inline policy {QUARANTINE_POLICY_NAME} from {principal.name} once it is safe.")
    elif principal.type != "Root" and quarantine_step != "planned":
        todo.append(f"{principal.name} has NO quarantine policy: attach a deny-all policy by hand if the key was used.")
    todo.append(f"Review CloudTrail for everything {access_key_id} did (data read or deleted, resources created).")
    if any(o.step.action == "review-persistence" for o in report.outcomes):
        todo.append("Review the persistence findings marked review-persistence (policies, trust changes, key pairs).")
    return todo


def _persistence(ctx: ResponseContext, report: Report, principal: Principal, window: Window) -> list[Outcome]:
    findings, note = gather_findings(ctx, principal, window)
    if note:
        report.facts["persistenceSweep"] = note
    steps = plan_persistence(findings, ctx.policy, principal)
    if (
        any(s.action == "delete-login-profile" and s.status == "planned" for s in steps)
        and ctx.incidents
        and not ctx.dry_run
    ):
        ctx.incidents.save_findings(ctx.incident_id, [f.to_json() for f in findings])  # record before removing
    outcomes = ctx.run(steps)
    responses = {o.step.target: f"{o.step.action}: {o.status}" for o in outcomes}
    report.findings.extend(f.to_json(responses.get(f.target)) for f in findings)
    return outcomes


def sweep_persistence(ctx: ResponseContext, principal: Principal, window: Window) -> Report:
    report = ctx.new_report()
    report.principal = principal
    report.window = window
    report.add(_persistence(ctx, report, principal, window))
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


# --- roles and instances -----------------------------------------------------------------
def revoke_role_sessions(ctx: ResponseContext, role_name: str, reason: str) -> list[Outcome]:
    if ctx.policy.is_protected_principal(role_name, ctx.iam_arn("role", role_name)):
        step = Step(
            "revoke-role-sessions",
            role_name,
            GLOBAL,
            f"{role_name} is a protected principal: not touched",
            status="skipped",
        )
    else:
        step = Step("revoke-role-sessions", role_name, GLOBAL, reason, params={"issuedBefore": iso(ctx.now)})
    return ctx.run([step])


def plan_isolation(
    ctx: ResponseContext, instance_id: str, region: str, reason: str, tags: dict[str, str]
) -> list[Step]:
    """Snapshot every volume (evidence first), then swap the groups for the quarantine group."""
    found = describe_instances(ctx.clients, region, [instance_id])
    return plan_isolation_of(found[0] if found else None, instance_id, region, reason, tags, ctx)


def plan_isolation_of(
    inst: Instance | None, instance_id: str, region: str, reason: str, tags: dict[str, str], ctx: ResponseContext
) -> list[Step]:
    def skipped(why: str) -> list[Step]:
        return [Step("isolate-instance", instance_id, region, why, status="skipped")]

    if inst is None:
        return skipped("instance not found (or terminated): nothing to isolate")
    if ctx.policy.has_protect_tag(inst.tags):
        return skipped(f"carries the protect tag {ctx.policy.protect_tag_key}=true: not touched")
    if ISOLATED_TAG in inst.tags:
        return skipped(
            f"already carries the responder's isolation tag (incident {inst.tags[ISOLATED_TAG]}): nothing to redo"
        )
    if not inst.vpc_id:
        return skipped("not in a VPC: cannot isolate with a security group")
    snapshot_tags = {"instanceId": instance_id, "incidentId": ctx.incident_id, **tags}
    steps = [
        Step("snapshot-volume", volume, region, f"forensic copy before isolation: {reason}", params=snapshot_tags)
        for volume in inst.volumes
    ]
    steps.append(
        Step(
            "isolate-instance",
            instance_id,
            region,
            reason,
            params={
                "vpcId": inst.vpc_id,
                "interfaces": inst.network_interfaces,
                "incidentId": ctx.incident_id,
                "findingId": tags.get("findingId", ""),
            },
        )
    )
    return steps


def isolate_instance(
    ctx: ResponseContext, instance_id: str, region: str, reason: str, tags: dict[str, str]
) -> list[Outcome]:
    return ctx.run(plan_isolation(ctx, instance_id, region, reason, tags))


def release_instance(ctx: ResponseContext, instance_id: str, region: str) -> Report:
    """Undo an isolation: restore the security groups recorded when it was isolated."""
    report = ctx.new_report(severity="info")
    found = describe_instances(ctx.clients, region, [instance_id])
    inst = found[0] if found else None
    restore = original_groups_from(inst.tags) if inst else []
    if inst is None or ISOLATED_TAG not in inst.tags or not restore:
        why = "instance not found" if inst is None else "no isolation by the responder recorded on it (no saved groups)"
        step = Step("release-instance", instance_id, region, why, status="skipped")
    else:
        keys = [k for k in inst.tags if k.startswith((ORIGINAL_GROUPS_TAG, ISOLATED_TAG, FINDING_TAG))]
        step = Step(
            "release-instance",
            instance_id,
            region,
            "restore the security groups recorded at isolation",
            params={"restore": restore, "tagKeys": keys},
        )
    report.add(ctx.run([step]))
    report.subject = f"Release of {instance_id} ({region})"
    report.status = "notified"
    return report


def stop_these(
    ctx: ResponseContext, report: Report, region: str, ids: frozenset[str], suspect: Suspect, protected: bool = False
) -> None:
    """Stop exactly these resources and what launched them, in one region (cancel first, then terminate)."""
    request = SweepRequest(
        window=None,
        scope={region: ids},
        suspects={region: dict.fromkeys(ids, suspect)},
        termination_protected=ids if protected else frozenset(),
        use_lookup=False,
    )
    report.add_regions(ctx.region_sweep().run([region], request))


def terminate_attributed_instance(ctx: ResponseContext, instance_id: str, region: str, why: str) -> Report:
    """An instance launched by a credential under an open incident is rogue: stop it and what launched it."""
    report = ctx.new_report()
    stop_these(ctx, report, region, frozenset({instance_id}), Suspect(why, "ledger", compromised=True))
    report.subject = f"Rogue instance {instance_id} ({region})"
    return report


# --- launch watcher ----------------------------------------------------------------------
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
    if rec.event_name not in WATCHED_EVENTS:
        report.headline = f"ignored {rec.event_name}: not a launch or persistence call"
        return report
    if ctx.ledger is not None:
        ctx.ledger.record(rec)
    report.headline = f"recorded {rec.event_name} ({rec.kind}) by {who} in {rec.region}"
    if rec.kind != "launch":
        return report  # failed attempts and persistence calls are only recorded

    report.principal = Principal(
        rec.identity_type or "Unknown", rec.principal_name or "unknown", rec.principal_arn, rec.access_key_id
    )
    incident = ctx.incidents.open_incident(rec.access_key_id, rec.principal_arn) if ctx.incidents else None
    protected = ctx.policy.is_protected_principal(rec.principal_arn, rec.principal_name)
    outside = ctx.policy.region_outside_allowed(rec.region)
    suspicious = bool(rec.instance_type) and ctx.policy.is_suspicious([rec.instance_type or ""])
    if incident:
        why = f"launched by {rec.access_key_id} ({who}), a credential under open incident {incident}"
        _contain_launch(ctx, report, rec, why, compromised=True)
        report.severity = "critical"
    elif outside and not protected:
        why = f"launched in {rec.region}, outside ALLOWED_REGIONS, by {who}"
        _contain_launch(ctx, report, rec, why, compromised=False)
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
    return report


def _contain_launch(ctx: ResponseContext, report: Report, rec: CallRecord, why: str, *, compromised: bool) -> None:
    """Stop exactly what one launch created (cancel first, then terminate), in its region."""
    suspect = Suspect(why, "launch-event", compromised=compromised)
    stop_these(ctx, report, rec.region, frozenset(rec.resource_ids), suspect, rec.termination_protected)
    report.status = "planned" if ctx.dry_run else "contained"
    report.subject = f"{rec.event_name} by {report.principal.name if report.principal else '?'} in {rec.region}"
    report.done_word = "contained"
    report.todo = [
        f"Find out why {rec.access_key_id} launched in {rec.region}; if it is compromised, run contain-access-key.",
    ]


def notify_only(ctx: ResponseContext, headline: str, severity: str, facts: dict[str, Any], todo: list[str]) -> Report:
    report = ctx.new_report(headline=headline, severity=severity)
    report.facts.update(facts)
    report.todo = todo
    report.status = "notified"
    return report
