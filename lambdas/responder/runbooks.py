"""Manual runbooks (contract: "Runbook events"): the same engine, invoked by an on-call engineer."""

from __future__ import annotations

from .context import ResponseContext
from .events import (
    BadInput,
    CloseIncident,
    ContainAccessKey,
    IsolateInstance,
    KeyActivity,
    ReleaseInstance,
    ReleasePrincipal,
    RevokeRoleSessions,
    RunbookBase,
    SweepOrganization,
    SweepPersistence,
    SweepRegions,
)
from .flows import (
    close_incident,
    contain_access_key,
    isolate_instance,
    key_activity,
    release_instance,
    release_principal,
    revoke_role_sessions,
    sweep_backdoors,
    sweep_regions,
)
from .flows.organization import sweep_organization
from .model import Principal
from .probes import key_owner
from .report import Report


def run_runbook(ctx: ResponseContext, command: RunbookBase) -> Report:
    """Window for sweeps: [now - sinceHours, now], sinceHours defaulting to INCIDENT_LOOKBACK_HOURS."""
    facts = {"runbook": type(command).__name__, "reason": command.reason}
    if isinstance(command, ContainAccessKey):
        window = ctx.window(ctx.now, command.sinceHours)
        return contain_access_key(ctx, command.accessKeyId, window=window, what="Runbook:", facts=facts)
    if isinstance(command, SweepRegions):
        report = sweep_regions(ctx, command.accessKeyId, ctx.window(ctx.now, command.sinceHours))
    elif isinstance(command, SweepPersistence):
        report = sweep_backdoors(ctx, _principal(ctx, command), ctx.window(ctx.now, command.sinceHours))
    elif isinstance(command, RevokeRoleSessions):
        report = revoke_role_sessions(ctx, command.roleName, command.reason or "revoke-role-sessions runbook")
        report.subject = f"Runbook: {report.subject}"
        report.status = "planned" if ctx.dry_run else "notified"
    elif isinstance(command, IsolateInstance):
        reason = command.reason or "isolate-instance runbook"
        report = isolate_instance(ctx, command.instanceId, command.region, reason, {})
        report.subject = f"Runbook: {report.subject}"
        report.status = "planned" if ctx.dry_run else "notified"
    elif isinstance(command, SweepOrganization):
        report = sweep_organization(ctx, command)
    elif isinstance(command, ReleaseInstance):
        report = release_instance(ctx, command.instanceId, command.region)
    elif isinstance(command, CloseIncident):
        report = close_incident(
            ctx, access_key_id=command.accessKeyId, incident_id=command.incidentId, reason=command.reason
        )
    elif isinstance(command, ReleasePrincipal):
        report = release_principal(
            ctx, user_name=command.userName, role_name=command.roleName, force=command.force, reason=command.reason
        )
    elif isinstance(command, KeyActivity):
        report = key_activity(ctx, command.accessKeyId, ctx.window(ctx.now, command.sinceHours))
    else:  # pragma: no cover - parse_runbook only returns the models above
        raise ValueError(f"runbook event: field 'runbook': no runner for {type(command).__name__}")
    report.facts.update(facts)
    return report


def _principal(ctx: ResponseContext, command: SweepPersistence) -> Principal:
    if command.accessKeyId:
        owner = key_owner(ctx.clients, ctx.settings.home_region, command.accessKeyId, ctx.account).principal
        if owner is None:
            raise BadInput(
                f"runbook sweep-persistence: field 'accessKeyId': {command.accessKeyId} is not in this account"
            )
        return owner
    if command.roleName:
        return Principal("Role", command.roleName, ctx.iam_arn("role", command.roleName))
    name = command.userName or ""
    return Principal("IAMUser", name, ctx.iam_arn("user", name))
