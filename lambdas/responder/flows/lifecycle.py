"""An incident's life after containment: close it (later launches by its credential are no longer contained at
once), release a principal (the responder's own quarantine policy removed, nothing else).

Both are recorded in the incidents they concern (who, when, why: ``Report.lifecycle``; the entrypoint writes
it) and notified, and both take ``dryRun``. Neither touches anything else: a closed incident's key stays
Inactive and its quarantine policies stay until someone releases them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..actions import ActionName
from ..actions.iam import QUARANTINE_POLICY_NAME, REVOKE_SESSIONS_POLICY_NAME, ReleaseRole, ReleaseUser
from ..actions.lifecycle import CloseIncident
from ..core.model import GLOBAL, Principal, Step
from ..core.timeutil import iso
from ..evidence import probes
from ..evidence.probes import attached_policy, inline_policy
from ..parse.events import BadInput
from ..record import store
from ..record.securityhub import IMPORT_FINDING, RESOLVE_FINDING
from ..report import Report
from ..shell.context import ResponseContext
from .base import RECORD, Flow

INCIDENT_CLOSE = Flow(
    "incident-close",
    (store.INCIDENTS_READ, CloseIncident.capability, *RECORD),
    "contract: close-incident marks the credential's open incident closed and changes nothing else",
    security_hub=(IMPORT_FINDING, RESOLVE_FINDING),
)
PRINCIPAL_RELEASE = Flow(
    "principal-release",
    (
        store.INCIDENTS_READ,
        probes.USER_POLICY,
        probes.ROLE_POLICY,
        probes.ATTACHED_USER_POLICIES,
        probes.ATTACHED_ROLE_POLICIES,
        ReleaseUser.capability,
        ReleaseRole.capability,
        *RECORD,
    ),
    "contract: release-principal removes the responder's own quarantine policy, and nothing else",
)


def lifecycle_report(ctx: ResponseContext, runbook: str, reason: str) -> Report:
    """A report about incidents that already exist: who did it, when and why."""
    report = ctx.new_report(severity="info")
    report.lifecycle = {"runbook": runbook, "by": ctx.caller, "at": iso(ctx.now), "reason": reason}
    report.status = "planned" if ctx.dry_run else "notified"
    return report


def _stored_report(item: Mapping[str, Any]) -> dict[str, Any]:
    try:
        found = json.loads(str(item.get("report") or "{}"))
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _close_step(ctx: ResponseContext, item: Mapping[str, Any], reason: str) -> Step:
    incident_id, status = str(item["incidentId"]), item.get("status")
    if status == "closed":
        why = f"already closed at {item.get('closedAt')} by {item.get('closedBy')} ({item.get('closeReason')})"
        return Step(ActionName.CLOSE_INCIDENT, incident_id, GLOBAL, why, status="skipped")
    if status == "planned":
        why = "a dry-run plan, not an incident (it never opened): nothing to close"
        return Step(ActionName.CLOSE_INCIDENT, incident_id, GLOBAL, why, status="skipped")
    params = {
        "incidentsTable": ctx.settings.incidents_table,
        "closedAt": iso(ctx.now),
        "closedBy": ctx.caller,
        "pointers": store.pointers_of(item),
    }
    return Step(ActionName.CLOSE_INCIDENT, incident_id, GLOBAL, reason, params=params)


def close_incident(ctx: ResponseContext, *, access_key_id: str | None, incident_id: str | None, reason: str) -> Report:
    """Contract "Runbook events": ``close-incident`` by ``incidentId``, or every open incident of ``accessKeyId``."""
    report = lifecycle_report(ctx, "close-incident", reason)
    report.subject = "Runbook close-incident"
    incidents = ctx.incidents
    items: list[dict[str, Any]] = []
    missing = "no incidents table (INCIDENTS_TABLE) to read: nothing to close"
    if incidents is not None and incident_id:
        found = incidents.get(incident_id)
        items = [found] if found else []
        missing = f"no incident {incident_id} in the incidents table: nothing to close"
    elif incidents is not None and access_key_id:
        items = [i for i in (incidents.get(n) for n in incidents.open_of_credential(access_key_id)) if i]
        missing = f"no open incident for key {access_key_id}: nothing to close"
    steps = [_close_step(ctx, item, reason) for item in items] or [
        Step(ActionName.CLOSE_INCIDENT, str(incident_id or access_key_id), GLOBAL, missing, status="skipped")
    ]
    report.add(ctx.run(steps))
    report.concerns = [str(item["incidentId"]) for item in items]
    if report.concerns:
        report.incident_id = report.concerns[0]  # the notification threads with the incident it closes
    for item in items:
        stored = _stored_report(item)
        report.facts[f"incident {item['incidentId']}"] = (
            f"{item.get('status')} since {item.get('startedAt')}: {stored.get('headline') or item.get('headline')}"
        )
        if item.get("accessKeyId") and not report.principal:
            principal = stored.get("principal") or {}
            report.principal = Principal(
                str(principal.get("type") or "IAMUser"),
                str(principal.get("name") or item.get("principalName") or "unknown"),
                item.get("principalArn"),
                str(item["accessKeyId"]),
            )
    report.todo = _close_todo(ctx, report, items)
    return report


def _close_todo(ctx: ResponseContext, report: Report, items: list[dict[str, Any]]) -> list[str]:
    """What the close did not do: keys stay Inactive, quarantine policies stay until released."""
    closed = {o.step.target for o in report.outcomes if o.status == ("planned" if ctx.dry_run else "done")}
    todo = []
    for item in items:
        if item["incidentId"] not in closed:
            continue
        if item.get("accessKeyId"):
            todo.append(
                f"Later launches by {item['accessKeyId']} are no longer contained at once; a new exposure notice or "
                "finding opens a new incident."
            )
            others = sorted(
                set(ctx.incidents.open_of_credential(item["accessKeyId"]) if ctx.incidents else []) - closed
            )
            if others:
                todo.append(f"{item['accessKeyId']} is still under open incident {', '.join(others)}: close it too.")
        for action in _stored_report(item).get("actions") or []:
            if action.get("status") != "done":
                continue
            if action.get("action") == ActionName.DEACTIVATE_ACCESS_KEY:
                todo.append(
                    f"Key {action['target']}: closing leaves it as the incident left it; delete it once its "
                    "replacement works."
                )
            if action.get("action") in (ActionName.QUARANTINE_USER, ActionName.QUARANTINE_ROLE):
                kind = "user" if action["action"] == ActionName.QUARANTINE_USER else "role"
                todo.append(
                    f"{kind.capitalize()} {action['target']}: the incident attached {QUARANTINE_POLICY_NAME} and closing "
                    f"leaves it; when it is safe, release it (responder release --{kind} {action['target']} "
                    "--reason '...')."
                )
    return list(dict.fromkeys(todo))


def release_principal(
    ctx: ResponseContext, *, user_name: str | None, role_name: str | None, force: bool, reason: str
) -> Report:
    """Contract "Runbook events": ``release-principal`` removes the responder's own quarantine policy from a user
    or role, and nothing else; refused while an open incident concerns the principal, unless ``force``."""
    kind, name = ("user", str(user_name)) if user_name else ("role", str(role_name))
    arn = ctx.iam_arn(kind, name)
    report = lifecycle_report(ctx, "release-principal", reason)
    report.principal = Principal("IAMUser" if kind == "user" else "Role", name, arn)
    report.subject = "Runbook release-principal"
    concerned = ctx.incidents.concerning(arn) if ctx.incidents is not None and arn else None
    open_now = sorted(i for i, status in (concerned or {}).items() if status == "open")
    where = "runbook release-principal: field 'force'"
    if not force and concerned is None:
        raise BadInput(
            f"{where}: cannot tell whether an open incident concerns {kind} {name} (no incidents table or unknown "
            "account); give force: true to release it anyway"
        )
    if not force and open_now:
        raise BadInput(
            f"{where}: {kind} {name} is under open incident {', '.join(open_now)}: close it first (close-incident) "
            "or give force: true to release it anyway"
        )
    if open_now:
        report.severity = "high"
        report.facts["forced"] = f"force: true given while incident {', '.join(open_now)} is open"
    present, absent = inline_policy(ctx.clients, ctx.settings.home_region, kind, name, QUARANTINE_POLICY_NAME)
    managed = ctx.quarantine_arn
    attached = bool(managed) and attached_policy(ctx.clients, ctx.settings.home_region, kind, name, str(managed))
    action = ActionName.RELEASE_USER if kind == "user" else ActionName.RELEASE_ROLE
    if present or attached:
        params = {**({"policyArn": managed} if attached else {}), **({"inline": True} if present else {})}
        step = Step(action, name, GLOBAL, reason, params=params)
    else:
        step = Step(action, name, GLOBAL, f"no {QUARANTINE_POLICY_NAME} policy to remove ({absent})", status="skipped")
    report.add(ctx.run([step]))
    report.concerns = sorted(concerned or {})
    if report.concerns:
        report.incident_id = report.concerns[-1]  # the most recent incident about it (ids start with the date)
    if kind == "role":
        revoked, _ = inline_policy(ctx.clients, ctx.settings.home_region, kind, name, REVOKE_SESSIONS_POLICY_NAME)
        if revoked:
            report.facts["leftInPlace"] = (
                f"{REVOKE_SESSIONS_POLICY_NAME} stays on {name}: it denies only sessions issued before the incident, "
                "and removing it would make a stolen session valid again until it expires (up to 12 hours)"
            )
            report.todo.append(
                f"Delete {REVOKE_SESSIONS_POLICY_NAME} from role {name} by hand once every session issued before the "
                "incident has expired (12 hours at most)."
            )
    if report.status_of(action) == "done":
        report.todo.append(
            f"{name}'s own policies, keys and passwords are as they were: re-activate or rotate its credentials by hand "
            "where it needs them."
        )
    return report
