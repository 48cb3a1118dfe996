"""Roles: deny every session of a role issued before now (its credentials were abused) - or, when the abused key is
a session of an open incident's chain, that session only, as a trigger of that incident (contract "One incident per
compromise")."""

from __future__ import annotations

from ..actions import ActionName
from ..actions.iam import RevokeRoleSessions
from ..actions.role_session import RevokeSession
from ..core.arns import role_of_session
from ..core.model import GLOBAL, Principal, Step
from ..core.timeutil import iso
from ..record.joining import chain_parent, join
from ..report import Report
from ..shell.context import ResponseContext
from .base import RECORD, Flow

SESSION_REVOCATION = Flow(
    "session-revocation",
    (RevokeRoleSessions.capability, RevokeSession.capability, *RECORD),
    "deny older sessions, or the one session of an open incident's chain",
)


def revoke_role_sessions(ctx: ResponseContext, role_name: str, reason: str, access_key_id: str | None = None) -> Report:
    report = ctx.new_report()
    arn = ctx.iam_arn("role", role_name)
    report.principal = Principal("Role", role_name, arn, access_key_id)
    parent = chain_parent(ctx, access_key_id) if access_key_id else None
    session = str(parent.link.get("session") or "") if parent else ""
    if parent and not (session and role_of_session(str(parent.link.get("principal") or "")) == role_name):
        parent = None  # not that role's session as the incident knows it: the finding is handled on its own
    if ctx.policy.is_protected_principal(role_name, arn):
        why = f"{role_name} is a protected principal: not touched"
        step = Step(ActionName.REVOKE_ROLE_SESSIONS, role_name, GLOBAL, why, status="skipped")
    elif parent is not None:
        why = (
            f"{reason}: session {session} ({access_key_id}) of the chain of open incident {parent.incident_id}, "
            f"obtained by {parent.link.get('parent')}: deny-all for that session only (aws:userid); the role's "
            "other sessions keep working"
        )
        step = Step(ActionName.REVOKE_SESSION, role_name, GLOBAL, why, params={"sessionIds": session})
        report.facts["chainOf"] = f"{access_key_id} is a role session of the chain of incident {parent.incident_id}"
        if not ctx.dry_run:  # a dry-run never writes into an incident
            join(ctx, parent.incident_id, access_key_id, parent.root)
            report.incident_id = parent.incident_id
            report.facts["joinedIncident"] = parent.incident_id
    else:
        step = Step(ActionName.REVOKE_ROLE_SESSIONS, role_name, GLOBAL, reason, params={"issuedBefore": iso(ctx.now)})
    report.add(ctx.run([step]))
    report.subject = f"Role {role_name}, " + (f"session {session}" if parent else "sessions issued before now")
    report.todo = [f"Find how {role_name}'s credentials were taken; rotate what they could reach."]
    return report
